package clientio

import (
	"encoding/binary"
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

func TestReceiveWindowClosesSocket(t *testing.T) {
	sh := New(Config{})
	t.Cleanup(func() { sh.Close() })
	to := netip.MustParseAddrPort("127.0.0.1:9")
	_, err := sh.Send(source.Transmit{To: to, Packet: make([]byte, 48), ReceiveWindow: 50 * time.Millisecond})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		sh.mu.Lock()
		defer sh.mu.Unlock()
		return sh.conns[to] == nil
	}, 5*time.Second, 10*time.Millisecond)
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
