package cmdmon

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

// TestServerUnixExchange checks the raw-syscall Unix endpoint: a bound
// client (path or abstract name) gets each reply, an unbound one none, and
// the server keeps serving after both.
func TestServerUnixExchange(t *testing.T) {
	_, sock, _ := testServer(t, &fixture{}, DispatcherConfig{})
	remote := &net.UnixAddr{Name: sock, Net: "unixgram"}
	tests := []struct {
		name  string
		local *net.UnixAddr // nil: unbound client
		reply bool
	}{
		{name: "bound to a path", local: &net.UnixAddr{Name: filepath.Join(t.TempDir(), "c.sock"), Net: "unixgram"}, reply: true},
		{name: "abstract name", local: &net.UnixAddr{Name: "@chronygo-test-" + t.Name(), Net: "unixgram"}, reply: true},
		{name: "unbound", local: nil, reply: false},
		{name: "bound again after an unbound one", local: &net.UnixAddr{Name: filepath.Join(t.TempDir(), "d.sock"), Net: "unixgram"}, reply: true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.DialUnix("unixgram", tc.local, remote)
			require.NoError(t, err)
			defer conn.Close()
			for round := range 3 { // several round trips on one client
				seq := uint32(100*i + round)
				req, err := candm.Request{Command: candm.ReqTracking, Sequence: seq}.Encode()
				require.NoError(t, err)
				_, err = conn.Write(req)
				require.NoError(t, err)
				wait := 5 * time.Second
				if !tc.reply {
					wait = 200 * time.Millisecond
				}
				require.NoError(t, conn.SetReadDeadline(time.Now().Add(wait)))
				buf := make([]byte, 2048)
				n, err := conn.Read(buf)
				if !tc.reply {
					require.Error(t, err, "an unbound client gets no reply")
					return
				}
				require.NoError(t, err)
				p, err := candm.DecodeReply(buf[:n])
				require.NoError(t, err)
				assert.Equal(t, seq, p.Sequence)
				assert.Equal(t, candm.StatusSuccess, p.Status)
				assert.Equal(t, uint16(3), p.Body.(candm.Tracking).Stratum)
			}
		})
	}
}

func TestUnixEndpointPeerName(t *testing.T) {
	tests := []struct {
		name string
		path string // bytes of sun_path the kernel reported
		want string
	}{
		{name: "unbound", path: "", want: ""},
		{name: "path", path: "/run/chrony/chronyc.123.sock\x00", want: "/run/chrony/chronyc.123.sock"},
		{name: "abstract", path: "\x00chronyc", want: "@chronyc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e unixEndpoint
			for i := range len(tc.path) {
				e.from.Path[i] = int8(tc.path[i])
			}
			e.fromLen = sunPathOffset + uint32(len(tc.path))
			assert.Equal(t, tc.want, e.peerName())
		})
	}
}
