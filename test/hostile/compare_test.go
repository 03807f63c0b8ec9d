package hostile

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/chronygo/chronygo/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ntpExchange sends pkt from 127.0.0.1 to port and returns the reply, or
// nil after timeout.
func ntpExchange(t *testing.T, port int, pkt []byte, timeout time.Duration) []byte {
	t.Helper()
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	_, err = c.Write(pkt)
	require.NoError(t, err)
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// describe summarises a reply for comparison: its length, mode, stratum
// and version, or "none".
func describe(reply []byte) string {
	if reply == nil {
		return "none"
	}
	if len(reply) < headerLen {
		return fmt.Sprintf("%d bytes", len(reply))
	}
	return fmt.Sprintf("%d bytes, version %d, mode %d, stratum %d", len(reply), reply[0]>>3&7, reply[0]&7, reply[offStratum])
}

// TestHostilePacketsMatchChronyd sends the same few packets of every
// hostile kind to a real chronyd and to chronygo, both with "local stratum
// 10" and "allow 127.0.0.1": each must be answered (length, version, mode,
// stratum) or ignored the same way.
func TestHostilePacketsMatchChronyd(t *testing.T) {
	testutil.RequireRoot(t)
	refPort := testutil.FreeUDPPort(t, "127.0.0.1")
	testutil.StartChronyd(t, nil, fmt.Sprintf("port %d", refPort), "cmdport 0", "local stratum 10", "allow 127.0.0.1")
	d := startDaemon(t)
	if !testutil.WaitFor(5*time.Second, func() bool {
		_, err := queryNTP(refPort, "127.0.0.1", 200*time.Millisecond)
		return err == nil
	}) {
		t.Fatal("chronyd does not answer NTP")
	}
	for _, kind := range floodKinds() {
		t.Run(kind.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, 5))
			for i := 0; i < 4; i++ {
				pkt := kind.make(i, r)
				// Silence takes the whole timeout: keep it short.
				want := describe(ntpExchange(t, refPort, pkt, 150*time.Millisecond))
				got := describe(ntpExchange(t, d.port, pkt, 150*time.Millisecond))
				assert.Equal(t, want, got, "packet %d (%d bytes, first byte %#02x): chronyd vs chronygo", i, len(pkt), firstByte(pkt))
			}
		})
	}
}

func firstByte(p []byte) byte {
	if len(p) == 0 {
		return 0
	}
	return p[0]
}
