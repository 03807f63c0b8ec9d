package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/chronygo/chronygo/internal/testutil"
)

// binary is the chronygo executable built once for all tests.
var binary string

func TestMain(m *testing.M) {
	bin, cleanup, err := testutil.BuildChronygoTemp("chronygo-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// result is a finished run of the binary.
type result struct {
	status         int
	stdout, stderr string
}

// runBinary runs chronygo to completion (bounded to 30 s).
func runBinary(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	status := 0
	if err != nil {
		exitErr, ok := err.(*exec.ExitError)
		require.True(t, ok, "running chronygo: %v", err)
		status = exitErr.ExitCode()
	}
	return result{status: status, stdout: stdout.String(), stderr: stderr.String()}
}

// private is a daemon's private folder layout.
type private struct {
	dir, conf, pid, sock, log string
}

// newPrivate writes a configuration whose pid file and command socket live
// in a fresh 0700 folder (in a sub-folder the daemon creates, so that a
// daemon that drops root owns it), serving NTP on an unprivileged loopback
// port unless extra sets port.
func newPrivate(t *testing.T, extra ...string) private {
	t.Helper()
	dir := testutil.PrivateDir(t)
	run := filepath.Join(dir, "run")
	p := private{
		dir:  dir,
		conf: filepath.Join(dir, "chrony.conf"),
		pid:  filepath.Join(run, "chronyd.pid"),
		sock: filepath.Join(run, "chronyd.sock"),
		log:  filepath.Join(dir, "chronygo.log"),
	}
	lines := []string{"pidfile " + p.pid, "bindcmdaddress " + p.sock, "cmdport 0", "user root"}
	hasPort := false
	for _, l := range extra {
		hasPort = hasPort || strings.HasPrefix(l, "port ")
	}
	if !hasPort {
		lines = append(lines, "bindaddress 127.0.0.1", "port "+strconv.Itoa(testutil.FreeUDPPort(t, "127.0.0.1")))
	}
	lines = append(lines, extra...)
	require.NoError(t, os.WriteFile(p.conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	return p
}

// readPid returns the pid in the pid file, or 0.
func readPid(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// alive reports whether pid runs (and is not a zombie).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

// killAtCleanup makes sure pid is gone when the test ends.
func killAtCleanup(t *testing.T, pid func() int) {
	t.Cleanup(func() {
		if p := pid(); p > 0 && alive(p) {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	})
}

// running is a started process and the outcome of waiting for it.
type running struct {
	done chan struct{}
	err  error
}

// startCmd starts cmd and kills it at cleanup if it still runs.
func startCmd(t *testing.T, cmd *exec.Cmd) *running {
	t.Helper()
	require.NoError(t, cmd.Start())
	r := &running{done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
		}
	})
	return r
}

// startForeground starts the daemon in the foreground and kills it at
// cleanup.
func startForeground(t *testing.T, env []string, args ...string) (*exec.Cmd, *testutil.SyncBuffer, *running) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	return cmd, out, startCmd(t, cmd)
}

// waitExit waits (bounded) for the foreground daemon to exit and returns
// its status.
func waitExit(t *testing.T, r *running) int {
	t.Helper()
	select {
	case <-r.done:
		if r.err == nil {
			return 0
		}
		exitErr, ok := r.err.(*exec.ExitError)
		require.True(t, ok, "waiting for chronygo: %v", r.err)
		return exitErr.ExitCode()
	case <-time.After(15 * time.Second):
		t.Fatal("chronygo did not exit within 15 s")
		return -1
	}
}

func TestCommandLineExits(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		status     int
		stdoutHas  string
		stderrHas  string
		stderrNone bool
	}{
		{"help", []string{"-h"}, 0, "Usage: ", "", true},
		{"long help", []string{"--help"}, 0, "-x\t\tDon't control clock", "", true},
		{"version", []string{"-v"}, 0, "chronygo (chronygo) version ", "", true},
		{"long version", []string{"--version"}, 0, "follows chrony 4.8)", "", false},
		{"invalid option", []string{"-z"}, 1, "Usage: ", "invalid option -- 'z'\n", false},
		{"missing argument", []string{"-u"}, 1, "Usage: ", "option requires an argument -- 'u'\n", false},
		{"bad number", []string{"-L", "x", "-p"}, 1, "", "Fatal error : Invalid argument x\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBinary(t, nil, tt.args...)
			assert.Equal(t, tt.status, r.status)
			assert.Contains(t, r.stdout, tt.stdoutHas)
			assert.Contains(t, r.stderr, tt.stderrHas)
			if tt.stderrNone {
				assert.Empty(t, r.stderr)
			}
		})
	}
}

func TestPrintConfig(t *testing.T) {
	r := runBinary(t, nil, "-p", "-f", "../../testdata/chrony.conf")
	require.Equal(t, 0, r.status, r.stderr)
	assert.Contains(t, r.stdout, "local stratum 10\n")
	assert.Contains(t, r.stdout, "allow 2603:7080:7407:dd36::/64\n")

	r = runBinary(t, nil, "-p", "local stratum 3", "allow 198.51.100.0/24")
	require.Equal(t, 0, r.status, r.stderr)
	assert.Contains(t, r.stdout, "local stratum 3\n")
}

func TestBadConfigStartsNothing(t *testing.T) {
	testutil.RequireRoot(t)
	tests := []struct {
		name string
		args func(p private) []string
	}{
		{"print", func(p private) []string { return []string{"-p", "-f", p.conf} }},
		{"foreground", func(p private) []string { return []string{"-d", "-x", "-f", p.conf} }},
		{"detached", func(p private) []string { return []string{"-x", "-f", p.conf} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPrivate(t, "local stratum 10", "nosuchdirective 1")
			lines := strings.Count(mustRead(t, p.conf), "\n")
			r := runBinary(t, nil, tt.args(p)...)
			assert.Equal(t, 1, r.status)
			assert.Contains(t, r.stderr, fmt.Sprintf("at line %d in file %s", lines, p.conf))
			assert.NoFileExists(t, p.pid)
			assert.NoFileExists(t, p.sock)
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

func TestDetachPidFileAndSecondInstance(t *testing.T) {
	testutil.RequireRoot(t)
	p := newPrivate(t, "local stratum 10")
	killAtCleanup(t, func() int { return readPid(p.pid) })

	start := time.Now()
	r := runBinary(t, nil, "-x", "-l", p.log, "-f", p.conf)
	require.Equal(t, 0, r.status, "stderr: %s log: %s", r.stderr, readLog(p.log))
	assert.Less(t, time.Since(start), 20*time.Second)
	assert.Empty(t, r.stderr)

	pid := readPid(p.pid)
	require.NotZero(t, pid, "pid file written before the parent returned")
	require.True(t, alive(pid), "daemon running")
	sid, err := unix.Getsid(pid)
	require.NoError(t, err)
	assert.Equal(t, pid, sid, "daemon leads its own session")
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	require.NoError(t, err)
	assert.Equal(t, "/", cwd)
	for fd := 0; fd <= 2; fd++ {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
		require.NoError(t, err)
		assert.Equal(t, os.DevNull, target, "standard stream %d detached", fd)
	}
	assert.True(t, testutil.WaitFor(5*time.Second, func() bool {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/3", pid))
		return err != nil || !strings.HasPrefix(target, "pipe:")
	}), "the readiness pipe is closed once reported")

	r = runBinary(t, nil, "-x", "-d", "-f", p.conf)
	assert.Equal(t, 1, r.status)
	assert.Contains(t, r.stderr, fmt.Sprintf("Fatal error : Another chronyd may already be running (pid=%d), check %s", pid, p.pid))
	r = runBinary(t, nil, "-x", "-f", p.conf)
	assert.Equal(t, 1, r.status)
	assert.Equal(t, fmt.Sprintf("Another chronyd may already be running (pid=%d), check %s\n", pid, p.pid), r.stderr, "detached failure reported by the parent")
	assert.Equal(t, pid, readPid(p.pid), "the refused instance leaves the pid file alone")

	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	require.True(t, testutil.WaitFor(10*time.Second, func() bool { return !alive(pid) }), "daemon stops on SIGTERM")
	assert.NoFileExists(t, p.pid)
	assert.Contains(t, readLog(p.log), "chronygo exiting")
}

func readLog(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

func TestSignalsShutDownCleanly(t *testing.T) {
	testutil.RequireRoot(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			p := newPrivate(t, "local stratum 10")
			cmd, out, done := startForeground(t, nil, "-d", "-x", "-f", p.conf)
			require.True(t, testutil.WaitFor(10*time.Second, func() bool { return readPid(p.pid) == cmd.Process.Pid }), out.String())
			require.NoError(t, cmd.Process.Signal(sig))
			assert.Equal(t, 0, waitExit(t, done), out.String())
			assert.NoFileExists(t, p.pid)
			assert.Contains(t, out.String(), "chronygo exiting")
		})
	}
}

func TestNotifyReadyAndStopping(t *testing.T) {
	testutil.RequireRoot(t)
	p := newPrivate(t, "local stratum 10")
	addr := filepath.Join(p.dir, "notify.sock")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	require.NoError(t, err)
	defer l.Close()
	cmd, out, done := startForeground(t, []string{"NOTIFY_SOCKET=" + addr}, "-n", "-x", "-l", p.log, "-f", p.conf)
	read := func() string {
		require.NoError(t, l.SetReadDeadline(time.Now().Add(10*time.Second)))
		buf := make([]byte, 256)
		n, err := l.Read(buf)
		require.NoError(t, err, "log: %s output: %s", readLog(p.log), out.String())
		return string(buf[:n])
	}
	assert.Equal(t, "READY=1", read())
	assert.Equal(t, cmd.Process.Pid, readPid(p.pid), "pid file written before READY=1")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, "STOPPING=1", read())
	assert.Equal(t, 0, waitExit(t, done))
}

func TestTimeoutExitStatus(t *testing.T) {
	testutil.RequireRoot(t)
	tests := []struct {
		name   string
		extra  []string
		status int
	}{
		{"local reference is synchronised", []string{"local stratum 10"}, 0},
		{"no reference", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPrivate(t, tt.extra...)
			r := runBinary(t, nil, "-d", "-x", "-t", "0", "-f", p.conf)
			assert.Equal(t, tt.status, r.status, r.stderr)
			assert.Contains(t, r.stderr, "Timeout reached")
			assert.NoFileExists(t, p.pid)
		})
	}
}

func TestOneShotModesWithoutSources(t *testing.T) {
	testutil.RequireRoot(t)
	for _, flag := range []string{"-q", "-Q"} {
		t.Run(flag, func(t *testing.T) {
			p := newPrivate(t)
			r := runBinary(t, nil, flag, "-x", "-f", p.conf)
			assert.Equal(t, 1, r.status)
			assert.Contains(t, r.stderr, "No suitable source for synchronisation")
			assert.NoFileExists(t, p.pid)
		})
	}
}

func TestUnsupportedDirectivesAndFilterLogged(t *testing.T) {
	testutil.RequireRoot(t)
	p := newPrivate(t, "local stratum 10", "log refclocks", "log tempcomp", "hwclockfile /etc/adjtime", "rtcsync", "driftfile /nonexistent/drift")
	r := runBinary(t, nil, "-d", "-x", "-t", "0", "-F", "1", "-r", "-s", "-f", p.conf)
	require.Equal(t, 0, r.status, r.stderr)
	assert.NotContains(t, r.stderr, "Option -r", "the engine reloads dump files")
	assert.NotContains(t, r.stderr, "Option -s", "the engine sets the clock from the drift file's time")
	assert.NotContains(t, r.stderr, "Option -R")
	assert.Equal(t, 1, strings.Count(r.stderr, "Directive log is only partly supported by chronygo"), "named once however often it appears")
	assert.NotContains(t, r.stderr, "Directive hwclockfile", "acted on")
	assert.Contains(t, r.stderr, "Directive rtcsync is only partly supported by chronygo")
	assert.NotContains(t, r.stderr, "Directive driftfile")
	assert.NotContains(t, r.stderr, "Directive pidfile ")
	assert.Contains(t, r.stderr, "System call filter (-F 1) is not supported by chronygo and was not applied")
}

func TestLogSeverityOption(t *testing.T) {
	testutil.RequireRoot(t)
	p := newPrivate(t, "local stratum 10", "rtcsync")
	r := runBinary(t, nil, "-d", "-x", "-t", "0", "-L", "2", "-f", p.conf)
	require.Equal(t, 0, r.status, r.stderr)
	assert.NotContains(t, r.stderr, "starting", "info filtered out by -L 2")
	assert.NotContains(t, r.stderr, "not supported", "warnings filtered out by -L 2")
	r = runBinary(t, nil, "-d", "-d", "-x", "-t", "0", "-f", p.conf)
	require.Equal(t, 0, r.status, r.stderr)
	assert.Contains(t, r.stderr, "Disabled control of system clock")
}

// procStatus returns the named fields of /proc/PID/task/TID/status for
// every thread of pid.
func procStatus(t *testing.T, pid int, fields ...string) []map[string]string {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	require.NoError(t, err)
	var out []map[string]string
	for _, task := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil {
			continue // thread gone
		}
		m := map[string]string{}
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			for _, f := range fields {
				if k == f {
					m[k] = strings.Join(strings.Fields(v), " ")
				}
			}
		}
		out = append(out, m)
	}
	return out
}

func TestDropRootKeepsCapabilities(t *testing.T) {
	testutil.RequireRoot(t)
	ns := testutil.NewNetns(t, "dm")
	// The default NTP port 123 is privileged: the daemon must keep
	// CAP_NET_BIND_SERVICE; with -x it must not keep CAP_SYS_TIME.
	p := newPrivate(t, "local stratum 10", "port 123", "user nobody")
	// Let the unprivileged user reach the folder the daemon creates for its
	// pid file, as it reaches /run/chrony in a real deployment.
	for dir := p.dir; dir != os.TempDir() && dir != "/"; dir = filepath.Dir(dir) {
		require.NoError(t, os.Chmod(dir, 0o711))
	}
	cmd := ns.Command(binary, "-n", "-x", "-l", p.log, "-f", p.conf)
	done := startCmd(t, cmd)
	// The command socket is opened after root is dropped.
	require.True(t, testutil.WaitFor(10*time.Second, func() bool {
		return testutil.FileExists(p.sock)
	}), readLog(p.log))
	pid := cmd.Process.Pid
	threads := procStatus(t, pid, "Uid", "Gid", "CapEff", "CapPrm", "Groups")
	require.NotEmpty(t, threads)
	for _, th := range threads {
		assert.Equal(t, "65534 65534 65534 65534", th["Uid"])
		assert.Equal(t, "65534 65534 65534 65534", th["Gid"])
		assert.Equal(t, "", th["Groups"])
		assert.Equal(t, fmt.Sprintf("%016x", 1<<10), th["CapEff"], "only CAP_NET_BIND_SERVICE")
		assert.Equal(t, fmt.Sprintf("%016x", 1<<10), th["CapPrm"])
	}
	assert.NotContains(t, readLog(p.log), "Running with root privileges")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, waitExit(t, done), readLog(p.log))
	assert.NoFileExists(t, p.pid, "the daemon's user owns the folder it created and removes its pid file")
}

// schedPolicy returns the scheduling policy (field 41 of /proc/PID/task/TID/stat)
// of every thread of pid.
func schedPolicies(t *testing.T, pid int) []string {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	require.NoError(t, err)
	var out []string
	for _, task := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			continue
		}
		s := string(data)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		// fields[0] is field 3 (state); policy is field 41.
		out = append(out, fields[41-3])
	}
	return out
}

func TestSchedPriorityAndLockMemory(t *testing.T) {
	testutil.RequireRoot(t)
	tests := []struct {
		name  string
		args  []string
		extra []string
	}{
		{"options", []string{"-P", "1", "-m"}, nil},
		{"directives", nil, []string{"sched_priority 1", "lock_all"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPrivate(t, append([]string{"local stratum 10"}, tt.extra...)...)
			cmd, out, done := startForeground(t, nil, append([]string{"-d", "-d", "-x", "-f", p.conf}, tt.args...)...)
			// Logged once the process is tuned and root is dropped.
			require.True(t, testutil.WaitFor(10*time.Second, func() bool {
				return strings.Contains(out.String(), "Running with root privileges")
			}), out.String())
			log := out.String()
			if strings.Contains(log, "sched_setscheduler() failed") {
				t.Logf("the kernel refused SCHED_FIFO (container limits?): %s", log)
			} else {
				assert.Contains(t, log, "Enabled SCHED_FIFO with priority 1")
				for _, policy := range schedPolicies(t, cmd.Process.Pid) {
					assert.Equal(t, "1", policy, "SCHED_FIFO on every thread")
				}
			}
			if strings.Contains(log, "mlockall() failed") || strings.Contains(log, "setrlimit() failed") {
				t.Logf("the kernel refused mlockall (memlock limit?): %s", log)
			} else {
				assert.Contains(t, log, "Successfully locked into RAM")
				status := procStatus(t, cmd.Process.Pid, "VmLck")
				require.NotEmpty(t, status)
				assert.NotEqual(t, "0 kB", status[0]["VmLck"])
			}
			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			assert.Equal(t, 0, waitExit(t, done))
		})
	}
}

func TestBadSchedPriorityIsFatal(t *testing.T) {
	testutil.RequireRoot(t)
	p := newPrivate(t, "local stratum 10")
	r := runBinary(t, nil, "-d", "-x", "-t", "0", "-P", "200", "-f", p.conf)
	assert.Equal(t, 1, r.status)
	assert.Contains(t, r.stderr, "Fatal error : Bad scheduler priority: 200")
	assert.NoFileExists(t, p.pid, "removed on the way out")
}

func TestRootCheck(t *testing.T) {
	testutil.RequireRoot(t)
	setpriv := testutil.RequireTool(t, "setpriv")
	dir := testutil.PrivateDir(t)
	require.NoError(t, os.Chown(dir, 65534, 65534))
	for d := filepath.Dir(dir); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		require.NoError(t, os.Chmod(d, 0o711))
	}
	lines := []string{"local stratum 10", "pidfile " + filepath.Join(dir, "chronyd.pid"), "bindcmdaddress /", "cmdport 0", "port 0", "user nobody"}
	asNobody := func(args ...string) result {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", binary}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		status := 0
		if exitErr, ok := err.(*exec.ExitError); ok {
			status = exitErr.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return result{status: status, stdout: stdout.String(), stderr: stderr.String()}
	}

	r := asNobody(append([]string{"-d", "-x", "-t", "0"}, lines...)...)
	assert.Equal(t, 1, r.status)
	assert.Regexp(t, `Z Fatal error : Not superuser\n$`, r.stderr)
	assert.NoFileExists(t, filepath.Join(dir, "chronyd.pid"))

	r = asNobody(append([]string{"-U", "-d", "-x", "-t", "0"}, lines...)...)
	assert.Equal(t, 0, r.status, r.stderr)
	assert.Contains(t, r.stderr, "Timeout reached")
	assert.NotContains(t, r.stderr, "Running with root privileges")

	r = asNobody("-p", "local stratum 10")
	assert.Equal(t, 0, r.status, "-p needs no root: %s", r.stderr)
}
