//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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

	dir, err := os.MkdirTemp("", "chronygo-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	chronygoBinary = filepath.Join(dir, "chronygo")
	build := exec.Command("go", "build", "-o", chronygoBinary, "../../cmd/chronygo")
	// Without cgo the runtime can change credentials on every thread.
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building ./cmd/chronygo: %v\n%s", err, out)
		return 1
	}
	return m.Run()
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
			killNamespaceProcesses(name)
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

// killNamespaceProcesses kills every process inside namespace name, trying
// a bounded number of times.
func killNamespaceProcesses(name string) {
	for i := 0; i < 50; i++ {
		out, _ := exec.Command("ip", "netns", "pids", name).Output()
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}
