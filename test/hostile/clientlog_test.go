package hostile

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/chronygo/chronygo/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/ipv4"
)

// Bounds of the many-sources flood.
const (
	manySources        = 200000
	manySourcesTimeout = 8 * time.Second
)

// spoofer sends UDP datagrams with any 127/8 source address through a raw
// socket (root only).
type spoofer struct {
	conn *ipv4.RawConn
	port int
}

func newSpoofer(t *testing.T, port int) *spoofer {
	t.Helper()
	testutil.RequireRoot(t)
	pc, err := net.ListenPacket("ip4:udp", "127.0.0.1")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("opening a raw socket: %v", err)
		}
		t.Skipf("cannot open a raw socket: %v", err)
	}
	rc, err := ipv4.NewRawConn(pc)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rc.Close() })
	return &spoofer{conn: rc, port: port}
}

// send sends payload from src:40000 to 127.0.0.1:port (UDP checksum 0,
// allowed over IPv4).
func (s *spoofer) send(src net.IP, payload []byte) error {
	udp := make([]byte, 8+len(payload))
	udp[0], udp[1] = 40000>>8, 40000&0xff
	udp[2], udp[3] = byte(s.port>>8), byte(s.port)
	udp[4], udp[5] = byte(len(udp)>>8), byte(len(udp))
	copy(udp[8:], payload)
	h := &ipv4.Header{Version: 4, Len: ipv4.HeaderLen, TotalLen: ipv4.HeaderLen + len(udp),
		TTL: 64, Protocol: 17, Src: src, Dst: net.IPv4(127, 0, 0, 1)}
	return s.conn.WriteTo(h, udp, nil)
}

// TestManySourcesStayWithinClientLogLimit sends one request from each of
// 200 000 spoofed loopback addresses with "clientloglimit 1048576": the
// daemon must keep serving a good client, replace client records (counted
// as "Client log records dropped") instead of growing, and keep its memory
// bounded.
func TestManySourcesStayWithinClientLogLimit(t *testing.T) {
	d := startDaemon(t, "allow 127.0.0.0/8", "clientloglimit 1048576")
	d.requireDirectives(t, "allow", "clientloglimit")
	sp := newSpoofer(t, d.port)
	rssStart := d.vmRSS(t)
	before := d.serverStats(t)

	good := startGoodClient(d.port, 100*time.Millisecond)
	sent := 0
	deadline := time.Now().Add(manySourcesTimeout)
	for i := 0; i < manySources && time.Now().Before(deadline); i++ {
		// 127.1.0.0 upwards, avoiding 127.0.0.x used by the good client.
		src := net.IPv4(127, byte(1+i>>16), byte(i>>8), byte(i))
		if err := sp.send(src, clientRequest(ntpNow())); err == nil {
			sent++
		}
		if i%2000 == 1999 {
			// Let the daemon keep up: the kernel drops what its socket
			// buffer cannot hold, which would test nothing.
			time.Sleep(5 * time.Millisecond)
		}
	}
	time.Sleep(300 * time.Millisecond)
	attempts, served := good.finish()
	require.True(t, d.alive(), "chronygo died during the flood")
	after := d.serverStats(t)
	rssEnd := d.vmRSS(t)
	received := after["NTP packets received"] - before["NTP packets received"]
	recordDrops := after["Client log records dropped"] - before["Client log records dropped"]
	t.Logf("sent %d from distinct addresses in %v; daemon received %d, replaced %d client records; good client %d of %d; VmRSS %d -> %d KiB",
		sent, manySourcesTimeout, received, recordDrops, served, attempts, rssStart, rssEnd)
	require.Greater(t, received, 20000, "too few packets reached the daemon to fill its client log")
	assert.GreaterOrEqual(t, served, attempts/2, "the good client must be served during the flood")
	_, err := queryNTP(d.port, "127.0.0.1", time.Second)
	require.NoError(t, err, "the good client must be served after the flood")
	assert.Positive(t, recordDrops, "a full client log must replace records and count them")
	assert.Less(t, rssEnd-rssStart, 48*1024, "memory grew by more than 48 MiB with a 1 MiB client log limit")
}
