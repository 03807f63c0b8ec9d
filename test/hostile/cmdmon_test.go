package hostile

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chronygo/chronygo/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// controlCommands are chronyc commands that change the daemon: over UDP
// chronyd refuses every one of them with "501 Not authorised".
var controlCommands = []string{
	"makestep", "makestep 0.1 1", "burst 1/2", "offline", "online", "onoffline",
	"dump", "writertc", "trimrtc", "cyclelogs", "rekey", "reselect", "refresh",
	"local stratum 5", "local off", "manual on", "settime 12:00:00",
	"allow 203.0.113.0/24", "deny all", "cmdallow all", "cmddeny all",
	"maxpoll 127.0.0.1 10", "minpoll 127.0.0.1 4", "maxdelay 127.0.0.1 1",
	"polltarget 127.0.0.1 10", "minstratum 127.0.0.1 3",
	"delete 127.0.0.1", "add server 198.51.100.1", "reload sources",
	"smoothtime reset", "reset sources", "shutdown",
}

// TestCmdmonUDPRefusesControlCommands sends every control command over
// UDP with the stock chronyc: each must be refused with "501 Not
// authorised", the daemon must keep running, keep answering a monitoring
// command over UDP, and still authorise control over its Unix socket.
func TestCmdmonUDPRefusesControlCommands(t *testing.T) {
	d := startDaemon(t)
	d.requireDirectives(t, "cmdport", "bindcmdaddress")
	for _, cmd := range controlCommands {
		out, _ := d.chronyc(t, true, cmd)
		assert.Contains(t, out, "501 Not authorised", "chronyc %q over UDP", cmd)
	}
	require.True(t, d.alive(), "chronygo died from refused commands")
	out, err := d.chronyc(t, true, "tracking")
	require.NoError(t, err, "tracking over UDP: %s", out)
	assert.Contains(t, out, "Reference ID")
	// Over the Unix socket the same command is authorised (it may still
	// fail for other reasons while the engine is not wired).
	out, _ = d.chronyc(t, false, "cyclelogs")
	assert.NotContains(t, out, "501 Not authorised", "control over the Unix socket must be authorised")
	assert.Regexp(t, `^(200 OK|500 Failure)`, strings.TrimSpace(out), "cyclelogs over the Unix socket")
}

// cmdmonRequest builds a control protocol request header (version,
// request type 1, command, sequence) followed by payload.
func cmdmonRequest(version byte, command uint16, seq uint32, payload []byte) []byte {
	p := make([]byte, 20, 20+len(payload))
	p[0] = version
	p[1] = 1
	binary.BigEndian.PutUint16(p[4:], command)
	binary.BigEndian.PutUint32(p[8:], seq)
	return append(p, payload...)
}

// TestCmdmonHostileDatagrams throws random and malformed control requests
// at the UDP command port (bounded in count and time): no reply may be
// larger than its request (no amplification), and the daemon must keep
// answering chronyc afterwards.
func TestCmdmonHostileDatagrams(t *testing.T) {
	d := startDaemon(t)
	d.requireDirectives(t, "cmdport")
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: d.cmdPort})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()

	r := rand.New(rand.NewPCG(7, 11))
	requests := []func(i int) []byte{
		func(int) []byte { return randomBytes(r, r.IntN(600)) },
		func(i int) []byte {
			return cmdmonRequest(6, uint16(r.IntN(90)), uint32(i), randomBytes(r, r.IntN(500)))
		},
		func(i int) []byte {
			return cmdmonRequest([]byte{0, 1, 5, 7, 255}[i%5], uint16(r.IntN(90)), uint32(i), make([]byte, r.IntN(500)))
		},
		func(i int) []byte { return cmdmonRequest(6, uint16(r.IntN(90)), uint32(i), nil)[:r.IntN(20)] },
		func(i int) []byte { return cmdmonRequest(6, 33, uint32(i), make([]byte, 8000)) }, // huge tracking
	}
	const maxRequests = 20000
	// A reply is matched to its request by the sequence number it echoes
	// (bytes 16-19 of a reply, 8-11 of a request); requests sharing one
	// (random ones) count with the longest.
	longest := map[uint32]int{}
	replies := make(chan []byte, maxRequests)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 65536)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			replies <- append([]byte(nil), buf[:n]...)
		}
	}()
	deadline := time.Now().Add(3 * time.Second)
	sent := 0
	for i := 0; i < maxRequests && time.Now().Before(deadline); i++ {
		req := requests[i%len(requests)](i)
		if len(req) >= 12 {
			seq := binary.BigEndian.Uint32(req[8:])
			longest[seq] = max(longest[seq], len(req))
		}
		if _, err := c.Write(req); err == nil {
			sent++
		}
		if i%200 == 199 {
			time.Sleep(2 * time.Millisecond) // let the daemon keep up
		}
	}
	time.Sleep(300 * time.Millisecond)
	_ = c.SetReadDeadline(time.Now())
	<-readerDone
	close(replies)
	var count, bad int
	for reply := range replies {
		count++
		limit := -1
		if len(reply) >= 20 {
			if l, ok := longest[binary.BigEndian.Uint32(reply[16:])]; ok {
				limit = l
			}
		}
		if len(reply) > limit {
			bad++
			if bad <= 5 {
				t.Errorf("a %d-byte reply (% x...) exceeds its request (%d bytes; -1: no request has its sequence)",
					len(reply), reply[:min(len(reply), 20)], limit)
			}
		}
	}
	t.Logf("sent %d hostile control requests, got %d replies", sent, count)
	require.Positive(t, sent)
	assert.Zero(t, bad, "replies larger than requests amplify attacks")
	require.True(t, d.alive(), "chronygo died from hostile control requests")
	out, err := d.chronyc(t, true, "tracking")
	require.NoError(t, err, "tracking over UDP after the attack: %s", out)
	out, err = d.chronyc(t, false, "tracking")
	require.NoError(t, err, "tracking over the Unix socket after the attack: %s", out)
}

// TestUnixSocketPermissions compares the command socket with chronyd's:
// the same mode on the socket file, and, in a folder that others can
// enter, chronyd's refusal ("Wrong permissions on ...", "Disabled command
// socket ...") with no socket.
func TestUnixSocketPermissions(t *testing.T) {
	testutil.RequireRoot(t)
	ref := testutil.StartChronyd(t, nil, "cmdport 0", "port 0")
	refInfo, err := os.Stat(ref.Socket)
	require.NoError(t, err)

	d := startDaemon(t)
	d.requireDirectives(t, "bindcmdaddress")
	info, err := os.Stat(d.socket)
	require.NoError(t, err, "chronygo did not create its command socket")
	assert.Equal(t, refInfo.Mode(), info.Mode(), "socket mode differs from chronyd's")
	dirInfo, err := os.Stat(d.dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), dirInfo.Mode().Perm(), "the daemon changed its socket folder's mode")

	for _, mode := range []os.FileMode{0o755, 0o701, 0o777} {
		t.Run(mode.String(), func(t *testing.T) {
			open := t.TempDir()
			require.NoError(t, os.Chmod(open, mode))
			bad := newDaemon(t)
			bad.socket = filepath.Join(open, "chronyd.sock")
			bad.launch(t)
			for _, line := range []string{"Wrong permissions on " + open, "Disabled command socket " + bad.socket} {
				assert.True(t, testutil.WaitFor(2*time.Second, func() bool {
					return strings.Contains(bad.log.String(), line)
				}), "chronyd logs %q; chronygo logged:\n%s", line, bad.log.String())
			}
			assert.False(t, testutil.FileExists(bad.socket), "a socket in a folder open to others must not be created")
		})
	}
}

// cmdmonExchange sends req from local to 127.0.0.1:port and returns the
// reply, or nil when none came within timeout.
func cmdmonExchange(t *testing.T, local string, port int, req []byte, timeout time.Duration) []byte {
	t.Helper()
	c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(local)}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	_, err = c.Write(req)
	require.NoError(t, err)
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// replyStatus is the status field of a control reply, -1 without a reply.
func replyStatus(reply []byte) int {
	if len(reply) < 10 {
		return -1
	}
	return int(binary.BigEndian.Uint16(reply[8:]))
}

// TestCmdmonAccessMatchesChronyd sends the same control datagrams from
// 127.0.0.1 and from 127.0.0.2 to chronyd and to chronygo: monitoring and
// control requests, bad versions and bad lengths. Each must get the same
// status (or the same silence) from both, and never a reply larger than
// the request.
func TestCmdmonAccessMatchesChronyd(t *testing.T) {
	testutil.RequireRoot(t)
	refPort := testutil.FreeUDPPortBoth(t)
	testutil.StartChronyd(t, nil, "port 0", fmt.Sprintf("cmdport %d", refPort))
	d := startDaemon(t)
	d.requireDirectives(t, "cmdport")
	const (
		reqTracking = 33
		reqMakeStep = 54
		reqDump     = 40
	)
	tests := []struct {
		name string
		req  []byte
	}{
		{"tracking", cmdmonRequest(6, reqTracking, 1, make([]byte, 84))},
		{"makestep", cmdmonRequest(6, reqMakeStep, 2, make([]byte, 84))},
		{"dump", cmdmonRequest(6, reqDump, 3, make([]byte, 84))},
		{"tracking, version 5", cmdmonRequest(5, reqTracking, 4, make([]byte, 84))},
		{"tracking, too short", cmdmonRequest(6, reqTracking, 5, make([]byte, 10))},
		{"unknown command", cmdmonRequest(6, 999, 6, make([]byte, 84))},
		{"reply type", func() []byte { p := cmdmonRequest(6, reqTracking, 7, make([]byte, 84)); p[1] = 2; return p }()},
	}
	for _, local := range []string{"127.0.0.1", "127.0.0.2"} {
		for _, tc := range tests {
			t.Run(local+" "+tc.name, func(t *testing.T) {
				want := cmdmonExchange(t, local, refPort, tc.req, 300*time.Millisecond)
				got := cmdmonExchange(t, local, d.cmdPort, tc.req, 300*time.Millisecond)
				t.Logf("chronyd status %d (%d bytes), chronygo status %d (%d bytes)", replyStatus(want), len(want), replyStatus(got), len(got))
				assert.Equal(t, replyStatus(want), replyStatus(got), "status (-1: no reply); chronyd replied %d bytes, chronygo %d", len(want), len(got))
				assert.LessOrEqual(t, len(got), len(tc.req), "reply larger than the request")
			})
		}
	}
}
