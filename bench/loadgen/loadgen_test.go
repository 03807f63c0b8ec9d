package loadgen

import (
	"context"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/chronygo/chronygo/bench/echo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWindowAccounting(t *testing.T) {
	const ms = int64(time.Millisecond)
	w := NewWindow(3, 10*time.Millisecond)
	require.Equal(t, 3, w.Room())
	a, b, c := w.Send(0), w.Send(1*ms), w.Send(2*ms)
	assert.Equal(t, []uint64{0, 1, 2}, []uint64{a, b, c})
	assert.Equal(t, 0, w.Room(), "window full")

	assert.True(t, w.Receive(b), "answered out of order")
	assert.False(t, w.Receive(b), "duplicate")
	assert.False(t, w.Receive(99), "never sent")
	assert.Equal(t, 1, w.Room())

	w.Expire(11 * ms) // a is 11 ms old: lost; c is 9 ms old: still waiting
	assert.Equal(t, Counts{Sent: 3, Received: 1, Lost: 1, Stray: 2}, w.Counts())
	assert.False(t, w.Receive(a), "reply after the timeout is stray")
	assert.True(t, w.Receive(c))
	assert.Equal(t, 0, w.InFlight())

	d := w.Send(20 * ms)
	w.ExpireAll()
	assert.False(t, w.Receive(d))
	assert.Equal(t, Counts{Sent: 4, Received: 2, Lost: 2, Stray: 4}, w.Counts())
	assert.InDelta(t, 0.5, w.Counts().LossRatio(), 1e-9)
}

func TestWindowRingNeverOverwritesLiveRequests(t *testing.T) {
	w := NewWindow(4, time.Hour)
	first := w.Send(0)
	// Keep the first request unanswered while answering everything else.
	for i := 0; i < 100; i++ {
		if w.Room() == 0 {
			break
		}
		assert.True(t, w.Receive(w.Send(0)))
	}
	assert.LessOrEqual(t, int(w.Counts().Sent), len(w.slots), "the ring bounds the spread of sequence numbers")
	assert.True(t, w.Receive(first), "the oldest request is still recognised")
}

func TestPacketKeys(t *testing.T) {
	key := MakeKey(0xabcdef, 12345)
	tag, seq := SplitKey(key)
	assert.Equal(t, uint32(0xabcdef), tag)
	assert.Equal(t, uint64(12345), seq)

	req := make([]byte, RequestSize)
	FillRequest(req, key)
	assert.Equal(t, byte(0x23), req[0], "NTPv4 client")
	got, ok := ReplyKey(req)
	require.True(t, ok, "an echoed request carries its key")
	assert.Equal(t, key, got)

	resp := make([]byte, RequestSize)
	resp[0] = 4<<3 | 4
	binary.BigEndian.PutUint64(resp[24:32], key)
	got, ok = ReplyKey(resp)
	require.True(t, ok)
	assert.Equal(t, key, got)

	_, ok = ReplyKey(resp[:47])
	assert.False(t, ok, "short")
	resp[0] = 4<<3 | 5
	_, ok = ReplyKey(resp)
	assert.False(t, ok, "broadcast mode")
}

func TestCountsAdd(t *testing.T) {
	assert.Equal(t, Counts{3, 5, 7, 9}, Counts{1, 2, 3, 4}.Add(Counts{2, 3, 4, 5}))
	assert.Zero(t, Counts{}.LossRatio())
}

func TestRunAgainstEcho(t *testing.T) {
	tests := []struct {
		name string
		addr string
	}{{"IPv4", "127.0.0.1:0"}, {"IPv6", "[::1]:0"}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := echo.Start(context.Background(), echo.Config{Addrs: []netip.AddrPort{netip.MustParseAddrPort(tc.addr)}})
			if err != nil {
				t.Skipf("no loopback for %s: %v", tc.name, err)
			}
			t.Cleanup(func() { srv.Close(); srv.Wait() })
			res, err := Run(context.Background(), Config{Target: srv.Addrs()[0], Sockets: 2, Window: 16, Batch: 8, Count: 2000})
			require.NoError(t, err)
			assert.Equal(t, uint64(4000), res.Sent)
			assert.Equal(t, res.Sent, res.Received+res.Lost)
			assert.Greater(t, res.Received, uint64(3900))
			assert.Zero(t, res.Stray)
			assert.Greater(t, res.RepliesPerSecond(), 0.0)
		})
	}
}

func TestRunWithSourceAddresses(t *testing.T) {
	srv, err := echo.Start(context.Background(), echo.Config{Addrs: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close(); srv.Wait() })
	src := func(seq uint64) netip.Addr { return netip.AddrFrom4([4]byte{127, 9, byte(seq >> 8), byte(seq)}) }
	res, err := Run(context.Background(), Config{Target: srv.Addrs()[0], Sockets: 1, Window: 32, Count: 500, Source: src})
	require.NoError(t, err)
	assert.Equal(t, uint64(500), res.Sent)
	assert.Greater(t, res.Received, uint64(490), "replies to 127.9.x.y reach the wildcard socket")
}

func TestRunRejectsBadConfig(t *testing.T) {
	_, err := Run(context.Background(), Config{})
	assert.Error(t, err)
	_, err = Run(context.Background(), Config{Target: netip.MustParseAddrPort("127.0.0.1:9")})
	assert.Error(t, err, "neither duration nor count")
}

func TestRunCountsLossAgainstSilence(t *testing.T) {
	// Nothing listens on a port just closed: every request is lost.
	srv, err := echo.Start(context.Background(), echo.Config{Addrs: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}})
	require.NoError(t, err)
	addr := srv.Addrs()[0]
	srv.Close()
	srv.Wait()
	res, err := Run(context.Background(), Config{Target: addr, Sockets: 1, Window: 4, Count: 8, Timeout: 20 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, Counts{Sent: 8, Lost: 8}, res.Counts)
}
