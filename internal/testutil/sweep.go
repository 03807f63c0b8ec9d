package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// LockSuite takes the exclusive lock at path that marks a running instance
// of a namespace suite: only the holder may sweep leftovers and build
// networks, so that a second "go test" started meanwhile cannot remove the
// first one's namespaces. busy says why the lock was not taken (the suite
// then skips its network tests); release frees it.
func LockSuite(path, suite string) (release func(), busy string) {
	lock, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return func() {}, fmt.Sprintf("cannot open %s: %v", path, err)
	}
	if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		lock.Close()
		return func() {}, fmt.Sprintf("another run of %s holds %s", suite, path)
	}
	return func() { lock.Close() }, ""
}

// SweepNetns removes the network namespaces whose names match, and the
// /etc/netns folders of those with the prefix, that a crashed earlier run
// left behind, killing the processes still inside them. Problems are
// reported on standard error, prefixed with suite.
func SweepNetns(suite string, match func(name string) bool, etcPrefix string) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 || !match(fields[0]) {
				continue
			}
			name := fields[0]
			KillNetnsProcesses("ip", name)
			if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "%s: sweeping namespace %s: %v: %s\n", suite, name, err, out)
			} else {
				fmt.Fprintf(os.Stderr, "%s: swept leftover namespace %s\n", suite, name)
			}
		}
	}
	if etcPrefix == "" {
		return
	}
	dirs, _ := filepath.Glob(filepath.Join("/etc/netns", etcPrefix+"*"))
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			fmt.Fprintf(os.Stderr, "%s: sweeping %s: %v\n", suite, d, err)
		}
	}
}
