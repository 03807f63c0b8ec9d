package e2e

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chronygo/chronygo/internal/testutil"
)

// nsPrefix starts the name of every network namespace (and /etc/netns
// folder) this suite creates.
const nsPrefix = "e2"

// lockPath is the file whose exclusive lock marks a running instance of
// the suite: only the holder may sweep leftovers and build a network, so
// that a second "go test ./..." started meanwhile cannot remove the first
// one's namespaces.
const lockPath = "/run/chronygo-e2e.lock"

var (
	// chronygoBinary is the chronygo executable built once in TestMain.
	chronygoBinary string
	// busyReason, when not empty, says why this run must not build a
	// network (another instance holds the lock).
	busyReason string
)

func TestMain(m *testing.M) {
	if os.Getenv(relayHelperEnv) != "" {
		os.Exit(runRelayHelper())
	}
	os.Exit(run(m))
}

// run prepares the suite and runs the tests. Only as root (without which
// every network test skips) it takes the lock, sweeps leftovers and
// builds chronygo from ./cmd/chronygo.
func run(m *testing.M) int {
	if os.Geteuid() != 0 {
		return m.Run()
	}
	release, busy := testutil.LockSuite(lockPath, "the e2e suite")
	defer release()
	if busyReason = busy; busy != "" {
		return m.Run()
	}
	sweepLeftovers()

	bin, cleanup, err := testutil.BuildChronygoTemp("chronygo-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer cleanup()
	chronygoBinary = bin
	stop := sweepBeforeTimeout()
	defer stop()
	return m.Run()
}

// timeoutMargin is how long before go test's -timeout kills the binary
// (which runs no t.Cleanup) the watchdog removes the test network.
const timeoutMargin = 20 * time.Second

// sweepBeforeTimeout starts a watchdog that sweeps the test network
// (killing every daemon in it) shortly before the -timeout of go test
// panics, so that a run killed by its timeout leaves nothing behind; the
// tests still running then fail on the missing network. The returned
// function ends the watchdog.
func sweepBeforeTimeout() (stop func()) {
	if !flag.Parsed() {
		flag.Parse()
	}
	f := flag.Lookup("test.timeout")
	if f == nil {
		return func() {}
	}
	timeout, err := time.ParseDuration(f.Value.String())
	if err != nil || timeout <= timeoutMargin {
		return func() {}
	}
	timer := time.AfterFunc(timeout-timeoutMargin, func() {
		fmt.Fprintf(os.Stderr, "e2e: the %v timeout is %v away: removing the test network now\n", timeout, timeoutMargin)
		sweepLeftovers()
	})
	return func() { timer.Stop() }
}

// sweepLeftovers removes namespaces and /etc/netns folders with this
// suite's prefix that a crashed earlier run left behind.
func sweepLeftovers() {
	testutil.SweepNetns("e2e", func(name string) bool { return strings.HasPrefix(name, nsPrefix) }, nsPrefix)
}
