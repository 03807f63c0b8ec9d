package cmdmon

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"golang.org/x/sys/unix"

	"github.com/chronygo/chronygo/internal/testutil"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

func logged(hook *logtest.Hook) []string {
	var out []string
	for _, e := range hook.AllEntries() {
		out = append(out, e.Message)
	}
	return out
}

func TestSocketFolderPermissions(t *testing.T) {
	uid, gid := os.Getuid(), os.Getgid()
	cases := []struct {
		name string
		mode os.FileMode
		ok   bool
	}{
		{"0700", 0o700, true},
		{"0750", 0o750, true},
		{"0770", 0o770, true},
		{"0755", 0o755, false},
		{"0701", 0o701, false},
		{"0777", 0o777, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			require.NoError(t, os.Mkdir(dir, 0o700))
			require.NoError(t, os.Chmod(dir, tc.mode))
			log, hook := logtest.NewNullLogger()
			sock := filepath.Join(dir, "chronyd.sock")
			srv, err := NewServer(&fixture{}, Config{SocketPath: sock, UID: uid, GID: gid, Log: log})
			require.NoError(t, err)
			err = srv.OpenUnix()
			t.Cleanup(func() { assert.NoError(t, srv.Close()) })
			if tc.ok {
				require.NoError(t, err)
				fi, err := os.Stat(sock)
				require.NoError(t, err)
				assert.Equal(t, os.ModeSocket, fi.Mode().Type())
				return
			}
			require.Error(t, err)
			var de *SocketDirError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, []string{"Wrong permissions on " + dir, "Disabled command socket " + sock}, logged(hook))
			assert.Equal(t, logrus.WarnLevel, hook.LastEntry().Level)
			assert.Empty(t, srv.UnixPath())
			_, err = os.Stat(sock)
			assert.ErrorIs(t, err, os.ErrNotExist)
		})
	}
}

func TestSocketFolderOwner(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root on CI")
		}
		t.Skip("needs root to chown")
	}
	dir := filepath.Join(t.TempDir(), "run")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.Chown(dir, 65534, 0))
	log, hook := logtest.NewNullLogger()
	srv, err := NewServer(&fixture{}, Config{SocketPath: filepath.Join(dir, "s.sock"), UID: 0, GID: 0, Log: log})
	require.NoError(t, err)
	assert.Error(t, srv.OpenUnix())
	assert.Contains(t, logged(hook), "Wrong owner of "+dir+" (UID != 0)")
	require.NoError(t, srv.Close())

	require.NoError(t, os.Chown(dir, 0, 65534))
	hook.Reset()
	srv, err = NewServer(&fixture{}, Config{SocketPath: filepath.Join(dir, "s.sock"), UID: 0, GID: 0, Log: log})
	require.NoError(t, err)
	assert.Error(t, srv.OpenUnix())
	assert.Contains(t, logged(hook), "Wrong owner of "+dir+" (GID != 0)")
	require.NoError(t, srv.Close())
}

func TestSocketFolderCreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	sock := filepath.Join(dir, "chronyd.sock")
	log, _ := logtest.NewNullLogger()
	srv, err := NewServer(&fixture{}, Config{SocketPath: sock, UID: os.Getuid(), GID: os.Getgid(), Log: log})
	require.NoError(t, err)
	require.NoError(t, srv.OpenUnix())
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, 0o770&^umask(t), fi.Mode().Perm(), "mode 0770 less the umask, as chronyd")
	// A stale socket file from a previous run is replaced.
	require.NoError(t, srv.Close())
	_, err = os.Stat(sock)
	assert.ErrorIs(t, err, os.ErrNotExist, "Close removes the socket")
	require.NoError(t, os.WriteFile(sock, nil, 0o600))
	srv, err = NewServer(&fixture{}, Config{SocketPath: sock, UID: os.Getuid(), GID: os.Getgid(), Log: log})
	require.NoError(t, err)
	require.NoError(t, srv.OpenUnix())
	require.NoError(t, srv.Close())
}

// umask returns the bits the process umask removes from 0777.
func umask(t *testing.T) os.FileMode {
	t.Helper()
	f := filepath.Join(t.TempDir(), "probe")
	require.NoError(t, os.Mkdir(f, 0o777))
	fi, err := os.Stat(f)
	require.NoError(t, err)
	return 0o777 &^ fi.Mode().Perm()
}

func TestServerChannelsDisabled(t *testing.T) {
	log, hook := logtest.NewNullLogger()
	srv, err := NewServer(&fixture{}, Config{Log: log})
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	assert.Empty(t, srv.UDPAddrs())
	assert.Empty(t, srv.UnixPath())
	assert.Empty(t, hook.AllEntries())
	require.NoError(t, srv.Close())
}

func TestServerUDPPortBusy(t *testing.T) {
	port := testutil.TakenUDPPort(t)
	log, hook := logtest.NewNullLogger()
	srv, err := NewServer(&fixture{}, Config{Port: port, NoIPv6: true, Log: log})
	require.NoError(t, err)
	assert.Error(t, srv.OpenUDP())
	assert.Contains(t, logged(hook), "Could not open command socket on 127.0.0.1:"+itoa(port))
	require.NoError(t, srv.Close())
}

func itoa(n int) string { return strconv.Itoa(n) }

// udpTracking sends a tracking request to a UDP command socket at to, from
// a socket connected to it, and returns the decoded reply.
func udpTracking(t *testing.T, to netip.AddrPort) candm.Reply {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
	require.NoError(t, err)
	defer conn.Close()
	req, err := candm.Request{Command: candm.ReqTracking, Sequence: 11}.Encode()
	require.NoError(t, err)
	_, err = conn.Write(req)
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	buf := make([]byte, 1024)
	n, err := conn.Read(buf)
	require.NoError(t, err, "no reply via %s", to)
	p, err := candm.DecodeReply(buf[:n])
	require.NoError(t, err)
	return p
}

// TestServerUDPExchange sends raw datagrams over a real UDP socket,
// including ones chronyd ignores.
func TestServerUDPExchange(t *testing.T) {
	_, _, port := testServer(t, &fixture{}, DispatcherConfig{})
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	require.NoError(t, err)
	defer conn.Close()
	buf := make([]byte, 2048)

	tooLong := make([]byte, candm.MaxRequestLen+1)
	tooLong[0], tooLong[1], tooLong[5] = candm.ProtocolVersion, candm.PktTypeRequest, byte(candm.ReqTracking)
	_, err = conn.Write(tooLong)
	require.NoError(t, err)

	req, err := candm.Request{Command: candm.ReqTracking, Sequence: 5}.Encode()
	require.NoError(t, err)
	_, err = conn.Write(req)
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	n, err := conn.Read(buf)
	require.NoError(t, err)
	p, err := candm.DecodeReply(buf[:n])
	require.NoError(t, err)
	assert.Equal(t, uint32(5), p.Sequence, "the over-long datagram got no answer")
	assert.Equal(t, candm.StatusSuccess, p.Status)
	assert.Equal(t, uint16(3), p.Body.(candm.Tracking).Stratum)
}

// TestServerWildcardRepliesFromRequestAddress binds the wildcard address
// and sends to 127.0.0.2 from 127.0.0.1: the reply must come from 127.0.0.2
// for the connected client socket to accept it.
func TestServerWildcardRepliesFromRequestAddress(t *testing.T) {
	port := freeUDPPort(t)
	log, _ := logtest.NewNullLogger()
	srv, err := NewServer(&fixture{}, Config{Port: port, BindAddr4: netip.IPv4Unspecified(),
		BindAddr6: netip.IPv6Unspecified(), Log: log})
	require.NoError(t, err)
	require.NoError(t, srv.OpenUDP())
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })

	for _, dst := range []string{"127.0.0.2", "127.0.0.1", "::1"} {
		p := udpTracking(t, netip.AddrPortFrom(netip.MustParseAddr(dst), uint16(port)))
		assert.Equal(t, candm.StatusSuccess, p.Status, "via %s", dst)
	}
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	assert.Equal(t, "/run/chrony/chronyd.sock", c.SocketPath)
	assert.Equal(t, 323, c.Port)
	assert.False(t, c.Policy.RateLimit.Enabled)
	assert.Equal(t, -4, c.Policy.RateLimit.Interval)
	assert.Nil(t, c.Policy.OpenCommands)
}

// TestServerBindCmdDevice: with bindcmddevice the UDP command sockets are
// bound to the interface (SO_BINDTODEVICE, which needs CAP_NET_RAW) and
// still answer through it; an interface that does not exist leaves the
// socket closed with chronyd's message.
func TestServerBindCmdDevice(t *testing.T) {
	testutil.RequireRoot(t)
	tests := []struct {
		name, device string
		opens        bool
	}{
		{"loopback", "lo", true},
		{"missing interface", "chronygo-nodev0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := freeUDPPort(t)
			log, hook := logtest.NewNullLogger()
			srv, err := NewServer(&fixture{}, Config{Port: port, NoIPv6: true, BindDevice: tt.device, Log: log})
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, srv.Close()) })
			err = srv.OpenUDP()
			if !tt.opens {
				assert.Error(t, err)
				assert.Contains(t, logged(hook), "Could not open command socket on 127.0.0.1:"+itoa(port))
				return
			}
			require.NoError(t, err)
			srv.mu.Lock()
			conn := srv.udp[0]
			srv.mu.Unlock()
			raw, err := conn.SyscallConn()
			require.NoError(t, err)
			var bound string
			var sockErr error
			require.NoError(t, raw.Control(func(fd uintptr) {
				bound, sockErr = unix.GetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
			}))
			require.NoError(t, sockErr)
			assert.Equal(t, tt.device, bound)

			p := udpTracking(t, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port)))
			assert.Equal(t, candm.StatusSuccess, p.Status)
		})
	}
}
