package daemon

import (
	"errors"
	"fmt"
	"github.com/chronygo/chronygo/internal/atomicfile"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultPidFile is where chronyd writes its process ID unless the pidfile
// directive says otherwise.
const DefaultPidFile = "/run/chrony/chronyd.pid"

// AlreadyRunningError says the pid file names a live process.
type AlreadyRunningError struct {
	PID  int
	Path string
}

func (e *AlreadyRunningError) Error() string {
	return fmt.Sprintf("Another chronyd may already be running (pid=%d), check %s", e.PID, e.Path)
}

// CheckPidFile refuses to start when the pid file at path names a live
// process (one that has a session, as chronyd checks with getsid). A
// missing, empty or unreadable pid file, or a dead process, is no obstacle.
// An empty path disables the check.
func CheckPidFile(path string) error {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	pid, ok := leadingInt(string(data))
	if !ok || pid <= 0 {
		return nil
	}
	if _, err := unix.Getsid(pid); err != nil {
		return nil
	}
	return &AlreadyRunningError{PID: pid, Path: path}
}

// leadingInt reads the decimal number at the start of s, after white space.
func leadingInt(s string) (int, bool) {
	s = strings.TrimLeft(s, " \t\r\n")
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	return n, err == nil
}

// WritePidFile writes pid to path (mode 0644), replacing any existing file
// rather than writing through it. The folder must exist. An empty path
// writes nothing.
func WritePidFile(path string, pid int) error {
	if path == "" {
		return nil
	}
	if err := atomicfile.Write(path, fmt.Appendf(nil, "%d\n", pid), 0o644); err != nil {
		return fmt.Errorf("could not create pid file %s : %w", path, err)
	}
	return nil
}

// RemovePidFile deletes the pid file if it still names pid, so that a
// daemon never removes the pid file of a newer instance.
func RemovePidFile(path string, pid int) error {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("could not read pid file %s : %w", path, err)
	}
	if n, ok := leadingInt(string(data)); !ok || n != pid {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("could not remove pid file %s : %w", path, err)
	}
	return nil
}
