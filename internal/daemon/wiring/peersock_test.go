package wiring

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/daemon"
	"github.com/chronygo/chronygo/internal/testutil"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/ntp/source"
)

func TestPeerSocketsKnown(t *testing.T) {
	cfg, err := conf.Load("", []string{
		"peer 198.51.100.5", "peer 2001:db8::5", "peer ntp.example.net", "server 198.51.100.6",
	})
	require.NoError(t, err)
	tests := []struct {
		family daemon.AddressFamily
		addr   string
		want   bool
	}{
		{daemon.FamilyAny, "198.51.100.5", true},
		{daemon.FamilyAny, "::ffff:198.51.100.5", true},
		{daemon.FamilyAny, "2001:db8::5", true},
		{daemon.FamilyAny, "198.51.100.6", false},
		{daemon.FamilyIPv4, "2001:db8::5", false},
		{daemon.FamilyIPv6, "198.51.100.5", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			p := newPeerSockets(cfg, tt.family, time.Now)
			assert.Equal(t, tt.want, p.known(netip.MustParseAddr(tt.addr)))
		})
	}
}

// received is what a peer socket delivered.
type received struct {
	data  string
	from  netip.AddrPort
	local netip.Addr
	// rxSource tells where the receive time came from.
	rxSource source.TimestampSource
}

func TestPeerSocketsShareServerPort(t *testing.T) {
	port := testutil.FreeUDPPort(t, "127.0.0.1")
	cfg, err := conf.Load("", []string{"peer 127.0.0.1", "bindaddress 127.0.0.1", "port " + strconv.Itoa(port)})
	require.NoError(t, err)
	// A fake raw clock years off the real one: times near the real time
	// can only be the kernel's timestamps from the control messages and
	// the error queue, not clock reads after Read returned or before
	// Write was called.
	fake := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	p := newPeerSockets(cfg, daemon.FamilyAny, func() time.Time { return fake })
	defer p.close()

	// The server's socket on the same port, as pkg/ntp/server opens it.
	lc := net.ListenConfig{Control: p.control}
	srv, err := lc.ListenPacket(context.Background(), "udp4", "127.0.0.1:"+strconv.Itoa(port))
	require.NoError(t, err)
	defer srv.Close()

	remote, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer remote.Close()
	remoteAddr := remote.LocalAddr().(*net.UDPAddr).AddrPort()

	var mu sync.Mutex
	var got []received
	var rxTimes []time.Time
	p.start(func(b []byte, from netip.AddrPort, rx source.RxInfo) {
		mu.Lock()
		got = append(got, received{string(b), from, rx.Local, rx.Source})
		rxTimes = append(rxTimes, rx.Time)
		mu.Unlock()
	})
	start := time.Now()
	sent, txSource, err := p.send([]byte("hello"), remoteAddr)
	require.NoError(t, err)
	assert.Equal(t, source.TimestampKernel, txSource, "kernel software TX timestamp")
	assert.WithinDuration(t, start, sent, 2*time.Second, "the kernel's time, not the clock read before sending")

	buf := make([]byte, 64)
	require.NoError(t, remote.SetReadDeadline(time.Now().Add(5*time.Second)))
	n, from, err := remote.ReadFromUDPAddrPort(buf)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(buf[:n]))
	assert.Equal(t, uint16(port), from.Port(), "sent from the NTP port")

	for i := 0; i < 3; i++ {
		_, err := remote.WriteToUDPAddrPort([]byte("reply"+strconv.Itoa(i)), from)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 3
	}, 5*time.Second, 5*time.Millisecond)
	mu.Lock()
	for i, g := range got {
		assert.Equal(t, received{"reply" + strconv.Itoa(i), remoteAddr, netip.MustParseAddr("127.0.0.1"), source.TimestampKernel}, g)
		assert.WithinDuration(t, start, rxTimes[i], 2*time.Second, "the kernel's time, not the clock read after Read")
	}
	mu.Unlock()

	require.NoError(t, srv.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	_, _, err = srv.ReadFrom(buf)
	assert.Error(t, err, "the peer's packets go to its connected socket, not to the server's")

	p.close()
	_, _, err = p.send([]byte("late"), remoteAddr)
	assert.Error(t, err, "closed")
}

func TestPeerSocketsLearnNamedPeers(t *testing.T) {
	cfg, err := conf.Load("", []string{"peer peer.example", "bindaddress 127.0.0.1", "port 0"})
	require.NoError(t, err)
	p := newPeerSockets(cfg, daemon.FamilyAny, time.Now)
	defer p.close()
	require.NoError(t, p.open(), "nothing to open for a name")
	remote, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer remote.Close()
	to := remote.LocalAddr().(*net.UDPAddr).AddrPort()
	assert.False(t, p.known(to.Addr()))
	_, _, err = p.send([]byte("x"), to)
	require.NoError(t, err)
	assert.True(t, p.known(to.Addr()), "the resolved address of a named peer is known once sent to")
}
