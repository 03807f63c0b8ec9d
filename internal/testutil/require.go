package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where missing
// prerequisites are failures rather than reasons to skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail skips the test with the message, or fails it under CI.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("prerequisite missing under CI=true: %s", msg)
	}
	t.Skip(msg)
}

// RequireRoot skips (or fails under CI) unless the test runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "needs root")
	}
}

// RequireTool returns the path of an executable, skipping (or failing
// under CI) when it is not installed. Debian tools live in /usr/sbin, which
// may be missing from PATH, so that folder is tried too.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	SkipOrFail(t, "needs %s (run scripts/install-test-deps.sh)", name)
	return ""
}
