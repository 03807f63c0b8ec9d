package daemon

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultConfigPath(t *testing.T) {
	tests := []struct {
		name     string
		existing []string
		want     string
	}{
		{"neither", nil, UpstreamConfigPath},
		{"upstream only", []string{UpstreamConfigPath}, UpstreamConfigPath},
		{"debian only", []string{DebianConfigPath}, DebianConfigPath},
		{"both prefers upstream", []string{UpstreamConfigPath, DebianConfigPath}, UpstreamConfigPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exists := func(p string) bool {
				for _, e := range tt.existing {
					if e == p {
						return true
					}
				}
				return false
			}
			assert.Equal(t, tt.want, DefaultConfigPath(exists))
		})
	}
}

func TestPidFileLifecycle(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "chronyd.pid")

	require.NoError(t, CheckPidFile(path), "missing pid file is no obstacle")
	require.NoError(t, CheckPidFile(""), "disabled pid file")

	require.NoError(t, WritePidFile(path, os.Getpid()))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(os.Getpid())+"\n", string(data))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())

	err = CheckPidFile(path)
	var running *AlreadyRunningError
	require.ErrorAs(t, err, &running)
	assert.Equal(t, "Another chronyd may already be running (pid="+strconv.Itoa(os.Getpid())+"), check "+path, err.Error())

	require.NoError(t, RemovePidFile(path, os.Getpid()+1), "someone else's pid file")
	assert.FileExists(t, path)
	require.NoError(t, RemovePidFile(path, os.Getpid()))
	assert.NoFileExists(t, path)
	require.NoError(t, RemovePidFile(path, os.Getpid()), "already removed")
}

func TestCheckPidFileIgnoresStaleContent(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, content string }{
		{"empty", ""},
		{"garbage", "abc\n"},
		{"zero", "0\n"},
		{"dead process", "999999999\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o644))
			assert.NoError(t, CheckPidFile(path))
		})
	}
}

func TestWritePidFileReplacesSymlinkTarget(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("keep"), 0o600))
	path := filepath.Join(dir, "chronyd.pid")
	require.NoError(t, os.Symlink(victim, path))
	require.NoError(t, WritePidFile(path, 42))
	data, err := os.ReadFile(victim)
	require.NoError(t, err)
	assert.Equal(t, "keep", string(data), "the pid file must not be written through a symlink")
}

func TestLogLevelFiltering(t *testing.T) {
	type msg struct {
		level logrus.Level
		text  string
	}
	all := []msg{
		{logrus.DebugLevel, "debug"}, {logrus.InfoLevel, "info"}, {logrus.WarnLevel, "warn"},
		{logrus.ErrorLevel, "error"}, {logrus.FatalLevel, "fatal"},
	}
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"default -L 0", Options{LogSeverity: SeverityInfo}, []string{"info", "warn", "error", "fatal"}},
		{"-L 1", Options{LogSeverity: SeverityWarn}, []string{"warn", "error", "fatal"}},
		{"-L 2", Options{LogSeverity: SeverityError}, []string{"error", "fatal"}},
		{"-L 3", Options{LogSeverity: SeverityFatal}, []string{"fatal"}},
		{"-L 7 clamps to fatal", Options{LogSeverity: 7}, []string{"fatal"}},
		{"-L -1", Options{LogSeverity: SeverityDebug}, []string{"debug", "info", "warn", "error", "fatal"}},
		{"-d -d", Options{Debug: 2, LogSeverity: SeverityError}, []string{"debug", "info", "warn", "error", "fatal"}},
		{"-d alone", Options{Debug: 1, LogSeverity: SeverityInfo}, []string{"info", "warn", "error", "fatal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			log, closer, err := NewLogger(LogTarget{Stderr: &b, Level: LogLevel(tt.opts.MinSeverity())})
			require.NoError(t, err)
			defer closer.Close()
			for _, m := range all {
				log.Log(m.level, m.text)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
				if line == "" {
					continue
				}
				fields := strings.Fields(line)
				got = append(got, fields[len(fields)-1])
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestTextFormatter(t *testing.T) {
	when := time.Date(2026, 2, 3, 15, 21, 43, 0, time.FixedZone("X", 3600))
	tests := []struct {
		name  string
		level logrus.Level
		data  logrus.Fields
		want  string
	}{
		{"info", logrus.InfoLevel, nil, "2026-02-03T14:21:43Z Selected source 198.51.100.1\n"},
		{"fatal", logrus.FatalLevel, nil, "2026-02-03T14:21:43Z Fatal error : Selected source 198.51.100.1\n"},
		{"fields sorted", logrus.WarnLevel, logrus.Fields{"b": 2, "a": "x"}, "2026-02-03T14:21:43Z Selected source 198.51.100.1 a=x b=2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &logrus.Entry{Time: when, Level: tt.level, Message: "Selected source 198.51.100.1", Data: tt.data}
			out, err := (&TextFormatter{}).Format(e)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(out))
		})
	}
}

func TestLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chronyd.log")
	log, closer, err := NewLogger(LogTarget{File: path, Level: logrus.InfoLevel})
	require.NoError(t, err)
	log.Info("first")
	Fatal(log, "broken %d", 1)
	require.NoError(t, closer.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 2)
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ first$`, lines[0])
	assert.Regexp(t, `Z Fatal error : broken 1$`, lines[1])
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm())

	_, _, err = NewLogger(LogTarget{File: filepath.Join(t.TempDir(), "missing", "x.log")})
	assert.Error(t, err)
}

func TestSystemdNotify(t *testing.T) {
	tests := []struct {
		name string
		addr func(t *testing.T) string
	}{
		{"path", func(t *testing.T) string { return filepath.Join(t.TempDir(), "notify.sock") }},
		{"abstract", func(t *testing.T) string { return "@chronygo-test-" + strconv.Itoa(os.Getpid()) + "-" + t.Name() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := tt.addr(t)
			l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
			require.NoError(t, err)
			defer l.Close()
			require.NoError(t, SystemdNotify(addr, NotifyReady))
			require.NoError(t, l.SetReadDeadline(time.Now().Add(5*time.Second)))
			buf := make([]byte, 64)
			n, err := l.Read(buf)
			require.NoError(t, err)
			assert.Equal(t, "READY=1", string(buf[:n]))
		})
	}
	assert.NoError(t, SystemdNotify("", NotifyReady), "no service manager")
	assert.Error(t, SystemdNotify("relative", NotifyReady))
	assert.Error(t, SystemdNotify(filepath.Join(t.TempDir(), "nobody-listens"), NotifyReady))
}

func TestAwaitReady(t *testing.T) {
	tests := []struct {
		name       string
		pipe       string
		wantStatus int
		wantStderr string
	}{
		{"ready", "\x00", 0, ""},
		{"error message", "Another chronyd may already be running (pid=1), check /run/x.pid\x00", 1, "Another chronyd may already be running (pid=1), check /run/x.pid\n"},
		{"message without terminator", "boom", 1, "boom\n"},
		{"died silently", "", 1, "Daemon process 7 exited before it was ready; see the system log\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			assert.Equal(t, tt.wantStatus, awaitReady(strings.NewReader(tt.pipe), 7, &stderr))
			assert.Equal(t, tt.wantStderr, stderr.String())
		})
	}
}

func TestReadyPipe(t *testing.T) {
	var nilPipe *ReadyPipe
	assert.NoError(t, nilPipe.Ready(), "a daemon that was not detached ignores reports")

	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	p := &ReadyPipe{f: w}
	require.NoError(t, p.Fail("bad"))
	require.NoError(t, p.Ready(), "only the first report is sent")
	var stderr bytes.Buffer
	assert.Equal(t, 1, awaitReady(r, 1, &stderr))
	assert.Equal(t, "bad\n", stderr.String())
}

func TestKeptCapabilities(t *testing.T) {
	tests := []struct {
		name  string
		port  int
		clock bool
		want  []int
	}{
		{"default port with clock control", 123, true, []int{CapNetBindService, CapSysTime}},
		{"unprivileged port with clock control", 11123, true, []int{CapSysTime}},
		{"-x on port 123", 123, false, []int{CapNetBindService}},
		{"-x, server disabled", 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, KeptCapabilities(tt.port, tt.clock))
		})
	}
}

func TestSetSchedulerRefusesBadPriority(t *testing.T) {
	for _, p := range []int{-1, 0, 100} {
		err := SetScheduler(p)
		var bad *BadPriorityError
		require.ErrorAs(t, err, &bad, "priority %d", p)
		assert.Equal(t, "Bad scheduler priority: "+strconv.Itoa(p), err.Error())
	}
}

func TestCreateDirAndCheckPermissions(t *testing.T) {
	base := t.TempDir()
	uid, gid := os.Getuid(), os.Getgid()
	dir := filepath.Join(base, "a", "run")
	require.NoError(t, CreateDir(dir, SocketDirMode, uid, gid))
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o770), st.Mode().Perm())
	assert.NoError(t, CheckDirPermissions(dir, SocketDirMode, uid, gid))

	require.NoError(t, os.Chmod(dir, 0o775))
	assert.EqualError(t, CheckDirPermissions(dir, SocketDirMode, uid, gid), "Wrong permissions on "+dir)
	require.NoError(t, CreateDir(dir, SocketDirMode, uid, gid), "an existing folder is accepted as it is")
	assert.EqualError(t, CheckDirPermissions(dir, 0o777, uid+1, gid), "Wrong owner of "+dir+" (UID != "+strconv.Itoa(uid+1)+")")

	file := filepath.Join(base, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	assert.EqualError(t, CreateDir(file, DataDirMode, uid, gid), file+" is not directory")
	assert.Error(t, CheckDirPermissions(filepath.Join(base, "missing"), SocketDirMode, uid, gid))
}

func TestSyslogPrioritiesAndFacility(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	require.NoError(t, err)
	defer l.Close()
	log, closer, err := NewLogger(LogTarget{Syslog: true, SyslogSocket: sock, Tag: "chronyd", Level: logrus.DebugLevel})
	require.NoError(t, err)
	defer closer.Close()

	// Priority = facility daemon (3) * 8 + severity.
	tests := []struct {
		level logrus.Level
		want  string
	}{
		{logrus.DebugLevel, "<31>"},
		{logrus.InfoLevel, "<30>"},
		{logrus.WarnLevel, "<28>"},
		{logrus.ErrorLevel, "<27>"},
		{logrus.FatalLevel, "<26>"},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			log.Log(tt.level, "Selected source 198.51.100.1")
			require.NoError(t, l.SetReadDeadline(time.Now().Add(5*time.Second)))
			buf := make([]byte, 512)
			n, err := l.Read(buf)
			require.NoError(t, err)
			msg := string(buf[:n])
			assert.True(t, strings.HasPrefix(msg, tt.want), msg)
			assert.Contains(t, msg, "chronyd[")
			if tt.level == logrus.FatalLevel {
				assert.Contains(t, msg, "Fatal error : Selected source 198.51.100.1")
			} else {
				assert.Contains(t, msg, ": Selected source 198.51.100.1")
				assert.NotContains(t, msg, "Fatal error")
			}
		})
	}
}
