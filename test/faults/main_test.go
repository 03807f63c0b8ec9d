package faults

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chronygo/chronygo/internal/testutil"
)

// nsPrefix starts the name of every network namespace (and /etc/netns
// folder) this package creates.
const nsPrefix = "ft"

// lockPath marks a running instance of the package: only its holder may
// sweep leftovers, so that a second run cannot remove the first one's
// namespaces.
const lockPath = "/run/chronygo-faults.lock"

// suite is what TestMain prepares for the tests.
type suite struct {
	// chronygo is the executable built from ./cmd/chronygo.
	chronygo string
	// busy, when not empty, says why this run must not build networks.
	busy string
}

// env is set once by TestMain before any test runs and only read after.
var env suite

func TestMain(m *testing.M) { os.Exit(run(m)) }

// run takes the lock, sweeps leftovers and builds chronygo (as root only:
// without root every test skips).
func run(m *testing.M) int {
	if os.Geteuid() != 0 {
		return m.Run()
	}
	release, busy := testutil.LockSuite(lockPath, "the fault tests")
	defer release()
	if env.busy = busy; busy != "" {
		return m.Run()
	}
	sweepLeftovers()
	bin, cleanup, err := testutil.BuildChronygoTemp("chronygo-faults-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	defer cleanup()
	env.chronygo = bin
	return m.Run()
}

// sweepLeftovers removes namespaces and /etc/netns folders with this
// package's prefix that a crashed earlier run left.
func sweepLeftovers() {
	testutil.SweepNetns("faults", func(name string) bool { return strings.HasPrefix(name, nsPrefix) }, nsPrefix)
}
