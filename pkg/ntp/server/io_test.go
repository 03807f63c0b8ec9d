//go:build linux

package server

import (
	"context"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chronygo/chronygo/internal/testutil"
	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/access"
	"github.com/chronygo/chronygo/pkg/ntp/wire"
	"github.com/facebook/time/ntp/protocol"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func startLoopback(t *testing.T, rules []string, peer PeerFunc) *Server {
	t.Helper()
	tab := access.NewTable()
	for _, s := range rules {
		f := splitWords(s)
		r, err := access.ParseRule(f[0] == "allow", f[1:], nil)
		require.NoError(t, err)
		require.NoError(t, tab.Apply(r))
	}
	ref := &atomic.Pointer[discipline.ReferenceSnapshot]{}
	ref.Store(localSnapshot(10))
	srv, err := Start(context.Background(), Config{
		Port:      -1,
		Workers:   2,
		BatchSize: 8,
		Access:    tab,
		Reference: ref,
		Peer:      peer,
		DSCP:      46,
	})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

func exchange(t *testing.T, server netip.AddrPort, req []byte) (protocol.Packet, bool) {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(server))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(req)
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		return protocol.Packet{}, false
	}
	p, _, err := wire.Decode(buf[:n])
	require.NoError(t, err)
	return p, true
}

func TestLoopbackServe(t *testing.T) {
	srv := startLoopback(t, []string{"allow 127.0.0.1", "allow ::1"}, nil)
	addrs := srv.LocalAddrs()
	require.NotEmpty(t, addrs)
	port := addrs[0].Port()
	for _, a := range addrs {
		assert.Equal(t, port, a.Port())
	}
	targets := []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)}
	if len(addrs) == 2 {
		targets = append(targets, netip.AddrPortFrom(netip.MustParseAddr("::1"), port))
	}
	for _, target := range targets {
		before := time.Now()
		clientTx := wire.FromTime(before)
		p, ok := exchange(t, target, request(reqOpts{tx: clientTx}))
		require.True(t, ok, "response from %s", target)
		assert.Equal(t, uint8(10), p.Stratum)
		assert.Equal(t, uint32(0x7F7F0101), p.ReferenceID)
		assert.Equal(t, clientTx, wire.OrigTime(&p))
		rx := wire.RxTime(&p).Time(before)
		assert.WithinDuration(t, before, rx, time.Second)
	}
	s := srv.Stats()
	assert.Equal(t, uint64(len(targets)), s.NTPKernelRx, "kernel receive timestamps")
	assert.Equal(t, uint64(len(targets)), s.Responses)
	reps, _ := srv.Clients(0, 1000, false, 0, time.Now())
	assert.Len(t, reps, len(targets))
}

func TestLoopbackDenyAndForward(t *testing.T) {
	var mu sync.Mutex
	var got []byte
	peer := func(b []byte, from netip.AddrPort, rx time.Time) {
		mu.Lock()
		defer mu.Unlock()
		got = append([]byte(nil), b...)
	}
	srv := startLoopback(t, []string{"allow 198.51.100.0/24"}, peer)
	addrs := srv.LocalAddrs()
	require.Len(t, addrs, 1, "only IPv4 allowed: no IPv6 socket")
	target := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), addrs[0].Port())
	_, ok := exchange(t, target, request(reqOpts{tx: 5}))
	assert.False(t, ok, "denied client gets nothing")
	_, ok = exchange(t, target, request(reqOpts{mode: wire.ModeServer, tx: 6}))
	assert.False(t, ok)
	mu.Lock()
	assert.Len(t, got, 48, "mode 4 packet handed to the peer callback")
	mu.Unlock()
	s := srv.Stats()
	assert.Equal(t, uint64(1), s.DropsByReason["denied"])

	// Denying everything closes the sockets; allowing opens them again.
	require.NoError(t, srv.Access().Apply(access.Rule{Allow: false, All: true, Any: true}))
	require.NoError(t, srv.Refresh())
	assert.Empty(t, srv.LocalAddrs())
	require.NoError(t, srv.Access().Apply(access.Rule{Allow: true, Prefix: netip.MustParsePrefix("127.0.0.0/8")}))
	require.NoError(t, srv.Refresh())
	require.Len(t, srv.LocalAddrs(), 1)
	target = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), srv.LocalAddrs()[0].Port())
	_, ok = exchange(t, target, request(reqOpts{tx: 7}))
	assert.True(t, ok)
}

func TestPortZeroOpensNothing(t *testing.T) {
	srv, err := Start(context.Background(), Config{Port: 0, Access: access.NewTable()})
	require.NoError(t, err)
	defer srv.Close()
	assert.Empty(t, srv.LocalAddrs())
	_, err = Start(context.Background(), Config{Port: 70000})
	assert.Error(t, err)
}

func TestParseControlAndPktinfo(t *testing.T) {
	b := make([]byte, oobSize)
	n := putPktinfo(b, true, netip.MustParseAddr("198.51.100.1"), 3)
	data := cmsgAlign(unix.SizeofCmsghdr)
	assert.Equal(t, []byte{198, 51, 100, 1}, b[data+4:data+8], "spec_dst")
	// A received in_pktinfo carries the header destination after spec_dst.
	copy(b[data+8:data+12], b[data+4:data+8])
	_, _, dst, ifindex := parseControl(b[:n])
	assert.Equal(t, netip.MustParseAddr("198.51.100.1"), dst)
	assert.Equal(t, uint32(3), ifindex)
	n = putPktinfo(b, false, netip.MustParseAddr("2001:db8::1"), 4)
	_, _, dst, ifindex = parseControl(b[:n])
	assert.Equal(t, netip.MustParseAddr("2001:db8::1"), dst)
	assert.Equal(t, uint32(4), ifindex)
	assert.Zero(t, putPktinfo(b, true, netip.Addr{}, 0))
	rx, _, _, _ := parseControl([]byte{1, 2, 3})
	assert.True(t, rx.IsZero())
}

func TestLoopbackInterleavedKernelTx(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) { testInterleavedKernelTx(t, netip.MustParseAddr(host)) })
	}
}

func testInterleavedKernelTx(t *testing.T, host netip.Addr) {
	srv := startLoopback(t, []string{"allow " + host.String()}, nil)
	addrs := srv.LocalAddrs()
	if len(addrs) == 0 && host.Is6() {
		t.Skip("no IPv6 loopback")
	}
	require.Len(t, addrs, 1)
	target := netip.AddrPortFrom(host, addrs[0].Port())
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(target))
	require.NoError(t, err)
	defer c.Close()
	ask := func(o reqOpts) (protocol.Packet, wire.Timestamp) {
		_, err := c.Write(request(o))
		require.NoError(t, err)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Second)))
		buf := make([]byte, 2048)
		n, err := c.Read(buf)
		require.NoError(t, err)
		recv := wire.FromTime(time.Now())
		p, _, err := wire.Decode(buf[:n])
		require.NoError(t, err)
		return p, recv
	}
	r1, rx1 := ask(reqOpts{tx: wire.FromTime(time.Now())})
	tx2 := wire.FromTime(time.Now())
	r2, rx2 := ask(reqOpts{orig: wire.RxTime(&r1), rx: rx1, tx: tx2})
	assert.Equal(t, tx2, wire.OrigTime(&r2), "second response is basic")
	// Give the kernel's transmit timestamp of r2 time to be queued.
	time.Sleep(20 * time.Millisecond)
	tx3 := wire.FromTime(time.Now())
	r3, _ := ask(reqOpts{orig: wire.RxTime(&r2), rx: rx2, tx: tx3})
	assert.Equal(t, rx2, wire.OrigTime(&r3), "third response is interleaved")
	// The interleaved transmit timestamp is when r2 left: after the server
	// received the second request and before the client got r2.
	txOfR2 := wire.TxTime(&r3)
	assert.Greater(t, txOfR2.Sub(wire.RxTime(&r2)), 0.0)
	assert.Less(t, txOfR2.Sub(wire.RxTime(&r2)), 0.1)
	assert.LessOrEqual(t, txOfR2.Sub(rx2), 1e-6)
	s := srv.Stats()
	assert.Equal(t, uint64(1), s.NTPInterleavedHits)
	assert.Equal(t, uint64(1), s.NTPKernelTx, "kernel transmit timestamp used")
}

func TestStartRejectsBadConfig(t *testing.T) {
	tests := []Config{
		{Port: 70000},
		{Port: -2},
		{Port: 123, DSCP: 64},
		{Port: 123, Workers: 2000},
		{Port: 123, ClientLog: ClientLogConfig{Disabled: true, NTP: RateLimit{Enabled: true}}},
	}
	for _, cfg := range tests {
		_, err := Start(context.Background(), cfg)
		assert.Error(t, err, "%+v", cfg)
	}
}

func TestSocketOptions(t *testing.T) {
	requireTool(t, os.Geteuid() == 0, "root (SO_BINDTODEVICE)")
	tab := access.NewTable()
	require.NoError(t, tab.Apply(access.Rule{Allow: true, Any: true}))
	srv, err := Start(context.Background(), Config{
		Port: -1, Workers: 2, Access: tab, DSCP: 46, BindDevice: "lo",
		Reference: StaticReference(*localSnapshot(10)),
	})
	require.NoError(t, err)
	defer srv.Close()
	srv.mu.Lock()
	for fam, ws := range srv.sockets {
		for _, w := range ws {
			require.NoError(t, w.raw.Control(func(fd uintptr) {
				level, opt := unix.IPPROTO_IP, unix.IP_TOS
				if fam == 1 {
					level, opt = unix.IPPROTO_IPV6, unix.IPV6_TCLASS
					v6only, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
					assert.NoError(t, err)
					assert.Equal(t, 1, v6only)
				}
				tos, err := unix.GetsockoptInt(int(fd), level, opt)
				assert.NoError(t, err)
				assert.Equal(t, 46<<2, tos)
				dev, err := unix.GetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
				assert.NoError(t, err)
				assert.Equal(t, "lo", dev)
				reuse, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT)
				assert.NoError(t, err)
				assert.Equal(t, 1, reuse)
			}))
		}
	}
	srv.mu.Unlock()
	target := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), srv.LocalAddrs()[0].Port())
	_, ok := exchange(t, target, request(reqOpts{tx: 1}))
	assert.True(t, ok)
}

// TestServeWithoutAllocation checks that the whole serving path (receive,
// respond, send) allocates nothing per packet.
func TestServeWithoutAllocation(t *testing.T) {
	srv := startLoopback(t, []string{"allow 127.0.0.1"}, nil)
	target := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), srv.LocalAddrs()[0].Port())
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(target))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
	req := request(reqOpts{tx: 5})
	buf := make([]byte, 2048)
	exchangeN := func(n int) {
		for i := 0; i < n; i++ {
			_, err := c.Write(req)
			require.NoError(t, err)
			_, err = c.Read(buf)
			require.NoError(t, err)
		}
	}
	exchangeN(100)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 2000
	exchangeN(n)
	runtime.ReadMemStats(&after)
	perPacket := float64(after.Mallocs-before.Mallocs) / n
	assert.Less(t, perPacket, 0.1, "allocations per exchange")
}

// TestSocketsThatCannotOpen: a socket that cannot be bound is logged with
// chronyd's message and the server starts without it; only with
// SocketsRequired (chronyd's acquisitionport equal to port) is that fatal.
func TestSocketsThatCannotOpen(t *testing.T) {
	port := testutil.TakenUDPPort(t)
	tab := access.NewTable()
	require.NoError(t, tab.Apply(access.Rule{Allow: true, Any: true}))
	for _, required := range []bool{false, true} {
		log, hook := logtest.NewNullLogger()
		srv, err := Start(context.Background(), Config{
			Port: port, BindAddress4: netip.MustParseAddr("127.0.0.1"), DisableIPv6: true,
			Access: tab, Log: log, SocketsRequired: required,
		})
		var msgs []string
		for _, e := range hook.AllEntries() {
			msgs = append(msgs, e.Message)
		}
		assert.Contains(t, msgs, "Could not open NTP socket on 127.0.0.1:"+strconv.Itoa(port), "required=%v", required)
		if required {
			assert.Error(t, err)
			continue
		}
		require.NoError(t, err)
		assert.Empty(t, srv.LocalAddrs())
		srv.Close()
	}
}
