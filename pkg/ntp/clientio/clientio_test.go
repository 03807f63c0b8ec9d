package clientio

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/source"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startResponder answers NTP client requests on a loopback address with
// the local clock (stratum 1), until the test ends.
func startResponder(t *testing.T, addr string) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	conn := pc.(*net.UDPConn)
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			rx := time.Now()
			if n < 48 {
				continue
			}
			resp := make([]byte, 48)
			resp[0] = buf[0]&0x38 | 4
			resp[1] = 1
			resp[2] = buf[2]
			resp[3] = 0xe8 // precision -24
			copy(resp[12:], "GPS\x00")
			copy(resp[24:32], buf[40:48])
			putTime(resp[16:], rx.Add(-time.Second))
			putTime(resp[32:], rx)
			putTime(resp[40:], time.Now())
			_, _ = conn.WriteToUDPAddrPort(resp, from)
		}
	}()
	return conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func putTime(b []byte, t time.Time) {
	sec := uint64(t.Unix() + 2208988800)
	frac := (uint64(t.Nanosecond()) << 32) / 1e9
	binary.BigEndian.PutUint64(b, sec<<32|frac)
}

// pollOnce runs one exchange of a source through the shell.
func pollOnce(t *testing.T, sh *Shell, src *source.Source) (*discipline.Sample, source.TxInfo) {
	t.Helper()
	acts := src.HandleTimer(time.Now())
	var tx *source.Transmit
	for _, a := range acts {
		if v, ok := a.(source.Transmit); ok {
			tx = &v
		}
	}
	require.NotNil(t, tx, "request sent")
	info, err := sh.Send(*tx)
	require.NoError(t, err)
	src.HandleTxTimestamp(info)
	select {
	case pkt := <-sh.Received():
		for _, a := range src.HandleIncoming(pkt.Data, pkt.Remote, pkt.Info) {
			if ds, ok := a.(source.DeliverSample); ok {
				return &ds.Sample, info
			}
		}
		t.Fatalf("no sample; tests %010b", src.NTPReport().Tests.Bits())
	case <-time.After(5 * time.Second):
		t.Fatal("no response")
	}
	return nil, info
}

func newSource(t *testing.T, server netip.AddrPort) *source.Source {
	t.Helper()
	opts := source.DefaultOptions(source.ModeClient)
	opts.Port = server.Port()
	src, err := source.New(server.Addr(), opts, source.Env{Precision: 1e-7})
	require.NoError(t, err)
	src.Start(time.Now())
	return src
}

func TestLoopbackExchange(t *testing.T) {
	for _, tc := range []struct {
		name, listen string
		cfg          Config
	}{
		{"ipv4", "127.0.0.1:0", Config{KernelTxTimestamps: true}},
		{"ipv6", "[::1]:0", Config{KernelTxTimestamps: true, DSCP: 46}},
		{"ipv4 daemon tx", "127.0.0.1:0", Config{BindAddress4: netip.MustParseAddr("127.0.0.1")}},
		{"ipv4 acquisitionport", "127.0.0.1:0", Config{AcquisitionPort: freePort(t)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := startResponder(t, tc.listen)
			sh := New(tc.cfg)
			t.Cleanup(func() { sh.Close() })
			src := newSource(t, server)
			for i := 0; i < 3; i++ {
				s, info := pollOnce(t, sh, src)
				assert.Less(t, abs(s.Offset), 0.05, "loopback offset")
				assert.Less(t, s.PeerDelay, 0.5)
				if tc.cfg.KernelTxTimestamps {
					assert.Equal(t, source.TimestampKernel, info.Source)
				} else {
					assert.Equal(t, source.TimestampDaemon, info.Source)
				}
			}
			r := src.NTPReport()
			assert.Equal(t, source.TimestampKernel, r.RxTimestamp, "SO_TIMESTAMPNS")
			assert.Equal(t, uint32(3), r.TotalGood)
			assert.True(t, r.LocalAddr.IsLoopback(), "local address %s", r.LocalAddr)
		})
	}
}

func TestSendAfterClose(t *testing.T) {
	sh := New(Config{})
	require.NoError(t, sh.Close())
	_, err := sh.Send(source.Transmit{To: netip.MustParseAddrPort("127.0.0.1:9"), Packet: make([]byte, 48)})
	assert.Error(t, err)
}

// manualServer is a UDP server on a loopback address that hands the
// test each request and answers only when told to.
type manualServer struct {
	conn     *net.UDPConn
	requests chan netip.AddrPort
}

func newManualServer(t *testing.T, listen string) *manualServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", listen)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", listen, err)
	}
	m := &manualServer{conn: pc.(*net.UDPConn), requests: make(chan netip.AddrPort, 16)}
	t.Cleanup(func() { m.conn.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := m.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			m.requests <- netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		}
	}()
	return m
}

func (m *manualServer) addr() netip.AddrPort {
	a := m.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// request waits for the next request and returns where it came from.
func (m *manualServer) request(t *testing.T) netip.AddrPort {
	t.Helper()
	select {
	case from := <-m.requests:
		return from
	case <-time.After(5 * time.Second):
		t.Fatal("no request reached the server")
	}
	return netip.AddrPort{}
}

func (m *manualServer) reply(t *testing.T, to netip.AddrPort, payload string) {
	t.Helper()
	_, err := m.conn.WriteToUDPAddrPort([]byte(payload), to)
	require.NoError(t, err)
}

// received waits up to d for a packet from the shell; ok is false when
// none came.
func received(sh *Shell, d time.Duration) (Received, bool) {
	select {
	case r := <-sh.Received():
		return r, true
	case <-time.After(d):
		return Received{}, false
	}
}

func openSockets(sh *Shell) int {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return len(sh.conns)
}

func TestReceiveWindow(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(listen, func(t *testing.T) {
			srv := newManualServer(t, listen)
			sh := New(Config{KernelTxTimestamps: true})
			t.Cleanup(func() { _ = sh.Close() })
			send := func(window time.Duration) netip.AddrPort {
				_, err := sh.Send(source.Transmit{To: srv.addr(), Packet: make([]byte, 48), ReceiveWindow: window})
				require.NoError(t, err)
				return srv.request(t)
			}

			// A reply within the window is delivered.
			from := send(5 * time.Second)
			srv.reply(t, from, "in time")
			r, ok := received(sh, 5*time.Second)
			require.True(t, ok, "reply within the window")
			assert.Equal(t, "in time", string(r.Data))
			assert.Equal(t, srv.addr(), r.Remote)
			assert.Equal(t, source.TimestampKernel, r.Info.Source)

			// A reply after the window is dropped and closes the socket.
			from = send(20 * time.Millisecond)
			time.Sleep(60 * time.Millisecond)
			srv.reply(t, from, "too late")
			_, ok = received(sh, 300*time.Millisecond)
			assert.False(t, ok, "a reply after the receive window is dropped")
			require.Eventually(t, func() bool { return openSockets(sh) == 0 }, 5*time.Second, 10*time.Millisecond)

			// A socket whose window ended without a reply is swept at the
			// next send, whoever it goes to.
			send(20 * time.Millisecond)
			require.Equal(t, 1, openSockets(sh))
			time.Sleep(60 * time.Millisecond)
			other := newManualServer(t, listen)
			_, err := sh.Send(source.Transmit{To: other.addr(), Packet: make([]byte, 48)})
			require.NoError(t, err)
			other.request(t)
			sh.mu.Lock()
			_, stale := sh.conns[srv.addr()]
			_, fresh := sh.conns[other.addr()]
			sh.mu.Unlock()
			assert.False(t, stale, "expired socket swept")
			assert.True(t, fresh, "a request without a window keeps its socket")
		})
	}
}

func TestCloseSocketDropsLaterReplies(t *testing.T) {
	srv := newManualServer(t, "127.0.0.1:0")
	sh := New(Config{})
	t.Cleanup(func() { _ = sh.Close() })
	_, err := sh.Send(source.Transmit{To: srv.addr(), Packet: make([]byte, 48), ReceiveWindow: 5 * time.Second})
	require.NoError(t, err)
	from := srv.request(t)
	// An IPv4-mapped form of the address names the same socket.
	sh.CloseSocket(netip.AddrPortFrom(netip.AddrFrom16(srv.addr().Addr().As16()), srv.addr().Port()))
	assert.Equal(t, 0, openSockets(sh))
	srv.reply(t, from, "after close")
	_, ok := received(sh, 300*time.Millisecond)
	assert.False(t, ok, "no delivery from a closed socket")
	sh.CloseSocket(srv.addr()) // no socket left: nothing happens
}

func TestSourcePortChoice(t *testing.T) {
	for _, tc := range []struct {
		name, listen string
		acqPort      bool
	}{
		{"ipv4 random", "127.0.0.1:0", false},
		{"ipv6 random", "[::1]:0", false},
		{"ipv4 acquisitionport", "127.0.0.1:0", true},
		{"ipv6 acquisitionport", "[::1]:0", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newManualServer(t, tc.listen)
			cfg := Config{}
			if tc.acqPort {
				cfg.AcquisitionPort = freePort(t)
			}
			sh := New(cfg)
			t.Cleanup(func() { _ = sh.Close() })
			ports := map[uint16]bool{}
			const requests = 4
			for i := range requests {
				_, err := sh.Send(source.Transmit{To: srv.addr(), Packet: make([]byte, 48), ReceiveWindow: time.Second})
				require.NoError(t, err)
				from := srv.request(t)
				assert.Equal(t, srv.addr().Addr(), from.Addr(), "sent from the server's family and loopback")
				ports[from.Port()] = true
				srv.reply(t, from, fmt.Sprint("reply ", i))
				r, ok := received(sh, 5*time.Second)
				require.True(t, ok, "reply %d", i)
				assert.Equal(t, fmt.Sprint("reply ", i), string(r.Data))
				assert.True(t, r.Info.Local.IsLoopback(), "local address %s", r.Info.Local)
			}
			if tc.acqPort {
				assert.Equal(t, map[uint16]bool{uint16(cfg.AcquisitionPort): true}, ports, "all from acquisitionport")
				assert.Equal(t, 0, openSockets(sh), "no per-request socket")
			} else {
				// Two random ports may coincide by chance, not three.
				assert.GreaterOrEqual(t, len(ports), requests-1, "a new random port per request: %v", ports)
				assert.Equal(t, 1, openSockets(sh), "the previous request's socket is closed")
			}
		})
	}
}

func TestCloseStopsTheShell(t *testing.T) {
	srv := newManualServer(t, "127.0.0.1:0")
	sh := New(Config{})
	_, err := sh.Send(source.Transmit{To: srv.addr(), Packet: make([]byte, 48), ReceiveWindow: 5 * time.Second})
	require.NoError(t, err)
	srv.request(t)
	done := make(chan error)
	go func() { done <- sh.Close() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	assert.Equal(t, 0, openSockets(sh))
	assert.NoError(t, sh.Close(), "a second Close is harmless")
	_, err = sh.Send(source.Transmit{To: srv.addr(), Packet: make([]byte, 48)})
	assert.Error(t, err)
}

func TestSendErrorsAreReported(t *testing.T) {
	sh := New(Config{BindAddress4: netip.MustParseAddr("198.51.100.250")})
	t.Cleanup(func() { _ = sh.Close() })
	_, err := sh.Send(source.Transmit{To: netip.MustParseAddrPort("127.0.0.1:9"), Packet: make([]byte, 48)})
	require.Error(t, err, "bindacqaddress not on this host")
	assert.Contains(t, err.Error(), "198.51.100.250")
	assert.Equal(t, 0, openSockets(sh))
}

func freePort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestSocketOptions(t *testing.T) {
	for _, tc := range []struct {
		name, listen string
		v6           bool
	}{{"ipv4", "127.0.0.1:0", false}, {"ipv6", "[::1]:0", true}} {
		t.Run(tc.name, func(t *testing.T) {
			server := startResponder(t, tc.listen)
			sh := New(Config{DSCP: 46, BindDevice: "lo"})
			t.Cleanup(func() { sh.Close() })
			_, err := sh.Send(source.Transmit{To: server, Packet: make([]byte, 48)})
			if err != nil && os.Geteuid() != 0 {
				t.Skipf("SO_BINDTODEVICE needs privileges: %v", err)
			}
			require.NoError(t, err)
			sh.mu.Lock()
			conn := sh.conns[server]
			sh.mu.Unlock()
			require.NotNil(t, conn)
			tos, dev := getSockOpts(t, conn, tc.v6)
			assert.Equal(t, 46<<2, tos)
			assert.Equal(t, "lo", dev)
			select {
			case pkt := <-sh.Received():
				assert.Equal(t, server, pkt.Remote)
			case <-time.After(5 * time.Second):
				t.Fatal("no response through the bound device")
			}
		})
	}
}

func TestDeliverCallbackTakesResponses(t *testing.T) {
	server := startResponder(t, "127.0.0.1:0")
	got := make(chan Received, 4)
	sh := New(Config{KernelTxTimestamps: true, Deliver: func(r Received) { got <- r }})
	t.Cleanup(func() { _ = sh.Close() })
	req := make([]byte, 48)
	req[0] = 0x23 // version 4, client
	putTime(req[40:], time.Now())
	info, err := sh.Send(source.Transmit{To: server, Packet: req, Seq: 7, ReceiveWindow: 5 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, uint64(7), info.Seq)
	select {
	case r := <-got:
		assert.Equal(t, server, r.Remote)
		require.Len(t, r.Data, 48)
		assert.Equal(t, req[40:48], r.Data[24:32], "the reply echoes our transmit time")
		assert.False(t, r.Info.Time.IsZero())
	case <-time.After(5 * time.Second):
		t.Fatal("the response did not reach Deliver")
	}
	select {
	case r := <-sh.Received():
		t.Fatalf("with Deliver set, the channel stays empty; got a packet from %s", r.Remote)
	default:
	}
}

func TestPeerSockets(t *testing.T) {
	for _, tc := range []struct{ name, loopback string }{{"ipv4", "127.0.0.1"}, {"ipv6", "::1"}} {
		t.Run(tc.name, func(t *testing.T) {
			remote := newManualServer(t, net.JoinHostPort(tc.loopback, "0"))
			lo := netip.MustParseAddr(tc.loopback)
			sh := New(Config{KernelTxTimestamps: true, DSCP: 46})
			t.Cleanup(func() { _ = sh.Close() })

			_, err := sh.Send(source.Transmit{To: remote.addr(), Packet: []byte("x"), Peer: true})
			require.Error(t, err, "no peer socket opened yet")

			// The NTP port, shared with another socket bound to it (the
			// server's in the daemon).
			port := uint16(freePortOn(t, tc.loopback))
			require.NoError(t, sh.OpenPeer(netip.AddrPortFrom(lo, port), remote.addr(), ""))
			require.NoError(t, sh.OpenPeer(netip.AddrPortFrom(lo, port), remote.addr(), ""), "already open")
			other := newManualServer(t, net.JoinHostPort(tc.loopback, "0"))
			require.NoError(t, sh.OpenPeer(netip.AddrPortFrom(lo, port), other.addr(), ""), "a second peer on the same port")

			start := time.Now()
			info, err := sh.Send(source.Transmit{To: remote.addr(), Packet: []byte("hello"), Peer: true, Seq: 3})
			require.NoError(t, err)
			assert.Equal(t, source.TimestampKernel, info.Source)
			assert.Equal(t, uint64(3), info.Seq)
			assert.WithinDuration(t, start, info.Time, time.Second)
			from := remote.request(t)
			assert.Equal(t, netip.AddrPortFrom(lo, port), from, "sent from the shared port")

			for i := range 3 {
				remote.reply(t, from, fmt.Sprint("reply ", i))
				r, ok := received(sh, 5*time.Second)
				require.True(t, ok, "reply %d", i)
				assert.Equal(t, fmt.Sprint("reply ", i), string(r.Data))
				assert.Equal(t, remote.addr(), r.Remote)
				assert.Equal(t, lo, r.Info.Local)
				assert.Equal(t, source.TimestampKernel, r.Info.Source)
			}
			assert.Equal(t, 0, openSockets(sh), "peer sockets are no request sockets")

			// A peer not listening yet makes the kernel report ICMP port
			// unreachable on the connected socket, which stays open.
			gone := other.addr()
			other.conn.Close()
			_, err = sh.Send(source.Transmit{To: gone, Packet: []byte("anyone?"), Peer: true})
			require.NoError(t, err)
			time.Sleep(50 * time.Millisecond)
			_, err = sh.Send(source.Transmit{To: gone, Packet: []byte("again"), Peer: true})
			assert.NoError(t, err, "the peer's socket survives the ICMP error")
			sh.mu.Lock()
			assert.Len(t, sh.peers, 2)
			sh.mu.Unlock()

			require.NoError(t, sh.Close())
			assert.Error(t, sh.OpenPeer(netip.AddrPortFrom(lo, port), remote.addr(), ""), "closed")
		})
	}
}

func freePortOn(t *testing.T, host string) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", host, err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

func TestUnreachableClosesRequestSocket(t *testing.T) {
	gone := newManualServer(t, "127.0.0.1:0")
	to := gone.addr()
	gone.conn.Close()
	sh := New(Config{})
	t.Cleanup(func() { _ = sh.Close() })
	_, err := sh.Send(source.Transmit{To: to, Packet: make([]byte, 48), ReceiveWindow: 5 * time.Second})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return openSockets(sh) == 0 }, 5*time.Second, 10*time.Millisecond,
		"ICMP port unreachable ends the request")
}

func TestBurstOnSharedSocketIsReadInFull(t *testing.T) {
	srv := newManualServer(t, "127.0.0.1:0")
	sh := New(Config{AcquisitionPort: freePort(t)})
	t.Cleanup(func() { _ = sh.Close() })
	_, err := sh.Send(source.Transmit{To: srv.addr(), Packet: make([]byte, 48)})
	require.NoError(t, err)
	from := srv.request(t)
	const burst = 3 * maxReadsPerEvent
	for i := range burst {
		srv.reply(t, from, fmt.Sprint(i))
	}
	for i := range burst {
		r, ok := received(sh, 5*time.Second)
		require.True(t, ok, "datagram %d of a burst larger than one read round", i)
		assert.Equal(t, fmt.Sprint(i), string(r.Data))
	}
}
