package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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
	lock, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		busyReason = fmt.Sprintf("cannot open %s: %v", lockPath, err)
		return m.Run()
	}
	defer lock.Close()
	if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		busyReason = "another run of the e2e suite holds " + lockPath
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
// suite's prefix that a crashed earlier run left behind, killing the
// processes still inside them.
func sweepLeftovers() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 || !strings.HasPrefix(fields[0], nsPrefix) {
				continue
			}
			name := fields[0]
			testutil.KillNetnsProcesses("ip", name)
			if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "e2e: sweeping namespace %s: %v: %s\n", name, err, out)
			} else {
				fmt.Fprintf(os.Stderr, "e2e: swept leftover namespace %s\n", name)
			}
		}
	}
	dirs, _ := filepath.Glob(filepath.Join("/etc/netns", nsPrefix+"*"))
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: sweeping %s: %v\n", d, err)
		}
	}
}
