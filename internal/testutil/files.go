package testutil

import (
	"os"
	"testing"
	"time"
)

// PrivateDir returns a fresh folder with mode 0700, removed after the test.
// chronyd and chronygo accept a command socket only in such a folder.
func PrivateDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatalf("chmod %s: %v", dir, err)
	}
	return dir
}

// WaitFor polls cond every 20 ms until it holds or timeout passes, and
// reports whether it held.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	return WaitEvery(timeout, 20*time.Millisecond, cond)
}

// WaitEvery calls cond until it holds or timeout passes, pausing pause
// between calls, and reports whether it held. A slow cond (one running
// chronyc, say) wants a longer pause than WaitFor's.
func WaitEvery(timeout, pause time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
	}
}

// FileExists reports whether path exists.
func FileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
