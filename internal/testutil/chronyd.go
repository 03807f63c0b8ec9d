package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Chronyd is a real chronyd started for a test.
type Chronyd struct {
	// Dir is its private 0700 folder holding the configuration, pid file
	// and command socket.
	Dir string
	// Socket is the command socket path (for chronyc -h).
	Socket string
	// PidFile is its pid file.
	PidFile string
	// Cmd is the running process.
	Cmd *exec.Cmd
	// Log collects its output (it runs with -d).
	Log *SyncBuffer
}

// SyncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// PrivateDirectives returns the directives that keep a chronyd (or
// chronygo) to the private 0700 folder dir: its pid file and its Unix
// command socket there. It also returns the socket's path.
func PrivateDirectives(dir string) (lines []string, socket string) {
	socket = filepath.Join(dir, "chronyd.sock")
	return []string{
		"pidfile " + filepath.Join(dir, "chronyd.pid"),
		"bindcmdaddress " + socket,
	}, socket
}

// SafeDaemonArgs returns the arguments running a chronyd (or chronygo)
// with the configuration file conf safely for a test: in the foreground
// (-d), never touching the clock (-x), as root (-u root, so that a private
// socket folder owned by root is accepted).
func SafeDaemonArgs(conf string) []string {
	return []string{"-d", "-x", "-u", "root", "-f", conf}
}

// StartChronyd starts /usr/sbin/chronyd safely: in the foreground (-d),
// never touching the clock (-x), as root (-u root, so that the private
// socket folder is accepted), with its own pid file and command socket in a
// fresh 0700 folder, and the given extra directives (which must not set
// pidfile or bindcmdaddress). ns, when not nil, is the namespace to run in.
// The process is killed at cleanup. It waits until the command socket
// exists.
func StartChronyd(t testing.TB, ns *Netns, directives ...string) *Chronyd {
	t.Helper()
	RequireRoot(t)
	bin := RequireTool(t, "chronyd")
	dir := PrivateDir(t)
	c := &Chronyd{
		Dir:     dir,
		Socket:  filepath.Join(dir, "chronyd.sock"),
		PidFile: filepath.Join(dir, "chronyd.pid"),
		Log:     &SyncBuffer{},
	}
	private, _ := PrivateDirectives(dir)
	lines := append(append(private, "driftfile "+filepath.Join(dir, "drift")), directives...)
	conf := filepath.Join(dir, "chrony.conf")
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("writing %s: %v", conf, err)
	}
	args := SafeDaemonArgs(conf)
	if ns != nil {
		c.Cmd = ns.Command(bin, args...)
	} else {
		c.Cmd = exec.Command(bin, args...)
	}
	c.Cmd.Stderr = c.Log
	c.Cmd.Stdout = c.Log
	c.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.Cmd.Start(); err != nil {
		t.Fatalf("starting chronyd: %v", err)
	}
	t.Cleanup(func() {
		_ = c.Cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.Cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = c.Cmd.Process.Kill()
			<-done
		}
	})
	if !WaitFor(10*time.Second, func() bool { return FileExists(c.Socket) }) {
		t.Fatalf("chronyd did not open %s within 10 s; log:\n%s", c.Socket, c.Log.String())
	}
	return c
}
