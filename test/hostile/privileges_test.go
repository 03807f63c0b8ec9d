package hostile

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

	"github.com/chronygo/chronygo/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dropUser is the account both daemons switch to.
const (
	dropUser = "nobody"
	dropUID  = 65534
)

// privileges is what /proc tells about a process after it dropped root,
// and what it made of its command socket.
type privileges struct {
	uid, gid                 string // real, effective, saved, fs
	capEff, capPrm, capInh   string
	socketMode               os.FileMode
	socketUID, folderUID     uint32
	folderMode               os.FileMode
	socketOK, pidFileWritten bool
}

// runDropped starts bin (chronyd or chronygo) as root with -u nobody and
// -x (the clock is never touched) on unprivileged ports, in a 0700 folder
// owned by nobody, and returns its privileges once its socket exists.
func runDropped(t *testing.T, bin string) privileges {
	t.Helper()
	// The user must reach the socket folder: t.TempDir's parents are 0700.
	dir, err := os.MkdirTemp("", "chronygo-hostile-priv-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	sockDir := filepath.Join(dir, "run")
	require.NoError(t, os.Mkdir(sockDir, 0o700))
	require.NoError(t, os.Chown(sockDir, dropUID, dropUID))
	sock := filepath.Join(sockDir, "chronyd.sock")
	pid := filepath.Join(dir, "chronyd.pid")
	conf := filepath.Join(dir, "chrony.conf")
	lines := []string{
		fmt.Sprintf("port %d", testutil.FreeUDPPort(t, "127.0.0.1")),
		"cmdport 0", "local stratum 10", "allow 127.0.0.1",
		"bindcmdaddress " + sock, "pidfile " + pid,
	}
	require.NoError(t, os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	log := &testutil.SyncBuffer{}
	cmd := exec.Command(bin, "-x", "-d", "-u", dropUser, "-f", conf)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	var p privileges
	p.socketOK = testutil.WaitFor(10*time.Second, func() bool { return testutil.FileExists(sock) })
	// Wait until the process runs as the user (it drops after opening).
	testutil.WaitFor(5*time.Second, func() bool {
		uid, _ := statusLine(cmd.Process.Pid, "Uid")
		return strings.HasPrefix(uid, strconv.Itoa(dropUID))
	})
	p.uid, _ = statusLine(cmd.Process.Pid, "Uid")
	p.gid, _ = statusLine(cmd.Process.Pid, "Gid")
	p.capEff, _ = statusLine(cmd.Process.Pid, "CapEff")
	p.capPrm, _ = statusLine(cmd.Process.Pid, "CapPrm")
	p.capInh, _ = statusLine(cmd.Process.Pid, "CapInh")
	if fi, err := os.Stat(sock); err == nil {
		p.socketMode = fi.Mode()
		p.socketUID = fi.Sys().(*syscall.Stat_t).Uid
	}
	if fi, err := os.Stat(sockDir); err == nil {
		p.folderMode = fi.Mode()
		p.folderUID = fi.Sys().(*syscall.Stat_t).Uid
	}
	p.pidFileWritten = testutil.FileExists(pid)
	t.Logf("%s: %+v\nlog:\n%s", filepath.Base(bin), p, log.String())
	return p
}

// statusLine returns the whitespace-normalised value of a /proc status line.
func statusLine(pid int, name string) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", fmt.Errorf("reading status of %d: %w", pid, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == name {
			return strings.Join(strings.Fields(v), " "), nil
		}
	}
	return "", fmt.Errorf("no %s in /proc/%d/status", name, pid)
}

// TestPrivilegeDropMatchesChronyd starts chronyd and chronygo as root with
// "-u nobody -x": after start both must run as nobody in every uid and gid
// slot, with the same capabilities (none without clock control and
// privileged ports; chronyd keeps CAP_SYS_TIME only when it controls the
// clock, which a test must not do) and the same command socket owner and
// mode.
func TestPrivilegeDropMatchesChronyd(t *testing.T) {
	testutil.RequireRoot(t)
	chronyd := testutil.RequireTool(t, "chronyd")
	want := runDropped(t, chronyd)
	require.True(t, want.socketOK, "chronyd did not open its socket")
	got := runDropped(t, chronygoBinary)
	if !got.socketOK {
		notWired(t, "chronygo -u %s does not open its command socket in a folder owned by %s", dropUser, dropUser)
	}
	id := strconv.Itoa(dropUID)
	assert.Equal(t, strings.Repeat(id+" ", 3)+id, got.uid, "uids after the drop")
	assert.Equal(t, want.uid, got.uid)
	assert.Equal(t, want.gid, got.gid, "gids after the drop")
	assert.Equal(t, want.capEff, got.capEff, "effective capabilities")
	assert.Equal(t, want.capPrm, got.capPrm, "permitted capabilities")
	assert.Equal(t, want.capInh, got.capInh, "inheritable capabilities")
	assert.Equal(t, want.socketMode, got.socketMode, "socket mode")
	assert.Equal(t, want.socketUID, got.socketUID, "socket owner")
	assert.Equal(t, want.folderMode, got.folderMode, "socket folder mode")
	assert.Equal(t, want.folderUID, got.folderUID, "socket folder owner")
	assert.Equal(t, want.pidFileWritten, got.pidFileWritten, "pid file")
}
