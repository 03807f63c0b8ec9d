package faults

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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
	lock, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		env.busy = fmt.Sprintf("cannot open %s: %v", lockPath, err)
		return m.Run()
	}
	defer lock.Close()
	if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		env.busy = "another run of the fault tests holds " + lockPath
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
// package's prefix that a crashed earlier run left, killing the processes
// still inside them.
func sweepLeftovers() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 || !strings.HasPrefix(fields[0], nsPrefix) {
				continue
			}
			testutil.KillNetnsProcesses("ip", fields[0])
			if out, err := exec.Command("ip", "netns", "del", fields[0]).CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "faults: sweeping namespace %s: %v: %s\n", fields[0], err, out)
			}
		}
	}
	dirs, _ := filepath.Glob(filepath.Join("/etc/netns", nsPrefix+"*"))
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			fmt.Fprintf(os.Stderr, "faults: sweeping %s: %v\n", d, err)
		}
	}
}
