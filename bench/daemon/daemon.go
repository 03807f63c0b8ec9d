// Package daemon starts the programs under test for the benchmark: the
// real chronyd 4.3 and chronygo, always in the foreground (-d), never
// touching the clock (-x), as root (-u root) with their own pid file and
// command socket in a private 0700 folder and the UDP command port
// closed; and helper processes such as the echo server. Every process is
// killed when the benchmark ends, even on failure (Group.StopAll, and
// SIGKILL at the parent's death).
package daemon

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chronygo/chronygo/internal/procwatch"
)

// Process is a started program.
type Process struct {
	// Name identifies it in messages ("chronyd", "chronygo", "echo").
	Name string
	// Dir is its private folder.
	Dir string
	// Socket is its command socket ("" for helpers).
	Socket string
	// Config is its configuration file ("" for helpers).
	Config string
	cmd    *exec.Cmd
	log    *tailBuffer
	watch  *procwatch.Watched
}

// Pid is the process id (for /proc).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool { return p.watch.Exited() }

// Log returns the end of what the process printed.
func (p *Process) Log() string { return p.log.String() }

// Stop ends the process: SIGTERM, then SIGKILL after two seconds.
func (p *Process) Stop() { p.watch.Stop(2 * time.Second) }

// Group starts processes and stops them all at the end.
type Group struct {
	// Root is the folder under which each process gets its own.
	Root string
	mu   sync.Mutex
	all  []*Process
	seq  int
}

// NewGroup creates a group whose folders live in a fresh temporary
// folder.
func NewGroup() (*Group, error) {
	root, err := os.MkdirTemp("", "bn-bench-")
	if err != nil {
		return nil, fmt.Errorf("daemon: creating a work folder: %w", err)
	}
	return &Group{Root: root}, nil
}

// StopAll stops every process and removes the folders.
func (g *Group) StopAll() {
	g.mu.Lock()
	all := g.all
	g.all = nil
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range all {
		wg.Add(1)
		go func() { defer wg.Done(); p.Stop() }()
	}
	wg.Wait()
	_ = os.RemoveAll(g.Root)
}

// privateDir makes a fresh 0700 folder for a process called name.
func (g *Group) privateDir(name string) (string, error) {
	g.mu.Lock()
	g.seq++
	dir := filepath.Join(g.Root, fmt.Sprintf("%02d-%s", g.seq, name))
	g.mu.Unlock()
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("daemon: %w", err)
	}
	return dir, nil
}

// NTPDaemon describes an NTP daemon to start.
type NTPDaemon struct {
	// Name labels the instance (e.g. "chronyd-upstream").
	Name string
	// Binary is the program (/usr/sbin/chronyd or bin/chronygo).
	Binary string
	// Directives are the configuration lines besides the pid file,
	// command socket and command port, which Start adds.
	Directives []string
	// Wrapper, when set, runs the daemon through a program that execs it
	// (e.g. taskset -c 0), keeping the process id.
	Wrapper []string
}

// StartNTP writes the daemon's configuration into a private folder and
// starts it with -d -x -u root -f CONFIG.
func (g *Group) StartNTP(d NTPDaemon) (*Process, error) {
	dir, err := g.privateDir(d.Name)
	if err != nil {
		return nil, err
	}
	p := &Process{Name: d.Name, Dir: dir, Socket: filepath.Join(dir, "cmd.sock"), Config: filepath.Join(dir, "chrony.conf")}
	lines := append([]string{
		"pidfile " + filepath.Join(dir, "daemon.pid"),
		"bindcmdaddress " + p.Socket,
		"cmdport 0",
	}, d.Directives...)
	if err := os.WriteFile(p.Config, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("daemon: writing %s: %w", p.Config, err)
	}
	argv := append(append([]string{}, d.Wrapper...), d.Binary, "-d", "-x", "-u", "root", "-f", p.Config)
	return p, g.start(p, argv)
}

// StartHelper starts a helper program (e.g. this benchmark's echo mode)
// in a private folder.
func (g *Group) StartHelper(name string, argv ...string) (*Process, error) {
	dir, err := g.privateDir(name)
	if err != nil {
		return nil, err
	}
	p := &Process{Name: name, Dir: dir}
	return p, g.start(p, argv)
}

func (g *Group) start(p *Process, argv []string) error {
	if len(argv) == 0 {
		return errors.New("daemon: nothing to run")
	}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Dir = p.Dir
	p.log = &tailBuffer{limit: 64 << 10}
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("daemon: starting %s: %w", p.Name, err)
	}
	p.watch = procwatch.Watch(p.cmd)
	g.mu.Lock()
	g.all = append(g.all, p)
	g.mu.Unlock()
	return nil
}

// WaitFor polls cond every 20 ms until it holds, the process exits or
// timeout passes.
func (p *Process) WaitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("%s exited (%v); its output ends:\n%s", p.Name, p.watch.Err(), lastLines(p.Log(), 15))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not ready within %v; its output ends:\n%s", p.Name, timeout, lastLines(p.Log(), 15))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.limit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
