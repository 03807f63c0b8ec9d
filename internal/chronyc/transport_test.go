package chronyc

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

// serveOnce answers requests on conn with a tracking reply, dropping the
// first `drop` datagrams and first sending a reply with a wrong sequence.
func serve(t *testing.T, conn net.PacketConn, drop int) {
	t.Helper()
	go func() {
		buf := make([]byte, 1024)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if drop > 0 {
				drop--
				continue
			}
			req, verdict, _ := candm.ParseRequest(buf[:n])
			if verdict != candm.Dispatch {
				continue
			}
			wrong, _ := candm.Reply{Command: req.Command, Sequence: req.Sequence + 1, Body: candm.Tracking{Stratum: 1}}.Encode(n)
			_, _ = conn.WriteTo(wrong, from)
			pkt, _ := candm.Reply{Command: req.Command, Sequence: req.Sequence, Body: candm.Tracking{Stratum: 7}}.Encode(n)
			_, _ = conn.WriteTo(pkt, from)
		}
	}()
}

func TestTransportUnixSocket(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	path := filepath.Join(dir, "chronyd.sock")
	conn, err := net.ListenPacket("unixgram", path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	serve(t, conn, 0)

	tr := NewTransport([]Target{{Path: filepath.Join(dir, "missing.sock")}, {Path: path}}, os.Stderr)
	require.True(t, tr.Open())
	own, err := filepath.Glob(filepath.Join(dir, "chronyc.*", "*", "sock"))
	require.NoError(t, err)
	require.Len(t, own, 1, "client socket bound in DIR/chronyc.PID/RANDOM/sock")
	st, err := os.Stat(own[0])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o666), st.Mode().Perm())

	rep, err := tr.Exchange(candm.Request{Command: candm.ReqTracking}, 0)
	require.NoError(t, err)
	assert.Equal(t, uint16(7), rep.Body.(candm.Tracking).Stratum, "the reply with the wrong sequence is ignored")

	tr.Close()
	left, _ := filepath.Glob(filepath.Join(dir, "chronyc.*"))
	assert.Empty(t, left, "client socket and folders removed")
}

func TestTransportUDPRetry(t *testing.T) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	serve(t, conn, 1)
	ap := netip.MustParseAddrPort(conn.LocalAddr().String())
	tr := NewTransport([]Target{{Addr: ap}}, os.Stderr)
	tr.SetTimeout(100 * time.Millisecond)
	require.True(t, tr.Open())
	defer tr.Close()
	start := time.Now()
	rep, err := tr.Exchange(candm.Request{Command: candm.ReqTracking}, 0)
	require.NoError(t, err)
	assert.Equal(t, uint16(7), rep.Body.(candm.Tracking).Stratum)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "answered on the second attempt")
}

func TestTransportUnreachable(t *testing.T) {
	// A UDP port with nothing behind it: every attempt is refused at once.
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	ap := netip.MustParseAddrPort(conn.LocalAddr().String())
	require.NoError(t, conn.Close())
	tr := NewTransport([]Target{{Addr: ap}}, os.Stderr)
	tr.SetTimeout(100 * time.Millisecond)
	require.True(t, tr.Open())
	defer tr.Close()
	_, err = tr.Exchange(candm.Request{Command: candm.ReqTracking}, 0)
	assert.ErrorIs(t, err, ErrUnreachable)

	none := NewTransport([]Target{{Path: filepath.Join(t.TempDir(), "none.sock")}}, os.Stderr)
	assert.False(t, none.Open(), "a missing Unix socket cannot be opened")
}

func TestMatchesRequest(t *testing.T) {
	req := candm.Request{Command: candm.ReqTracking, Sequence: 42}
	pkt, err := candm.Reply{Command: candm.ReqTracking, Sequence: 42}.Encode(100)
	require.NoError(t, err)
	assert.True(t, MatchesRequest(pkt, req))
	assert.False(t, MatchesRequest(pkt, candm.Request{Command: candm.ReqTracking, Sequence: 43}))
	assert.False(t, MatchesRequest(pkt, candm.Request{Command: candm.ReqActivity, Sequence: 42}))
	assert.False(t, MatchesRequest(pkt[:20], req))
}
