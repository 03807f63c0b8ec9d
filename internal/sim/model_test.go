package sim

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/facebook/time/ntp/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/engine"
)

// recorder is an endpoint remembering arrival times.
type recorder struct {
	sched *engine.VirtualScheduler
	got   []time.Time
	data  [][]byte
}

func (r *recorder) Deliver(p []byte, _, _ netip.AddrPort) {
	r.got = append(r.got, r.sched.Now())
	r.data = append(r.data, p)
}

func TestNetworkDelayModel(t *testing.T) {
	tests := []struct {
		name     string
		path     Path
		wantMean float64
		wantLoss float64
	}{
		{"base only", Path{Base: 1e-3, K: 1}, 1e-3, 0},
		{"exponential jitter", Path{Base: 1e-4, Jitter: 1e-4, K: 1}, 2e-4, 0},
		{"asymmetric upstream", Path{Base: 1e-4, Jitter: 5e-4, K: 1 - 2*0.47}, 1e-4 + 0.06*5e-4, 0},
		{"a third lost", Path{Base: 1e-4, K: 1, Loss: 0.33}, 1e-4, 0.33},
		{"cut", Path{Base: 1e-4, K: 1, Cut: true}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sched := engine.NewVirtualScheduler(Epoch)
			n := NewNetwork(sched, Epoch, rand.New(rand.NewPCG(1, 2)), func(_, _ netip.Addr, _ float64) Path { return tc.path })
			r := &recorder{sched: sched}
			dst := netip.MustParseAddrPort("203.0.113.1:123")
			n.Attach(dst.Addr(), r)
			const count = 20000
			for i := 0; i < count; i++ {
				n.Send([]byte{byte(i)}, netip.MustParseAddrPort("198.51.100.1:123"), dst)
				sched.RunUntil(sched.Now().Add(time.Second))
			}
			lost := float64(count-len(r.got)) / count
			assert.InDelta(t, tc.wantLoss, lost, 0.02)
			if len(r.got) == 0 {
				return
			}
			// Packets leave on whole seconds and arrive within the second.
			sum := 0.0
			for _, at := range r.got {
				sum += math.Mod(at.Sub(Epoch).Seconds(), 1)
			}
			assert.InDelta(t, tc.wantMean, sum/float64(len(r.got)), tc.wantMean*0.05+1e-6)
		})
	}
}

func TestCollectorSyncTimeAndStatistics(t *testing.T) {
	l := DefaultLimits()
	c := newCollector(l)
	for s := 1; s <= 1000; s++ {
		te := 1e-4
		if s < 150 {
			te = 0.05
		}
		c.add(float64(s), te, 1e-7)
	}
	r := c.result(1000)
	assert.Equal(t, 150.0, r.SyncTime)
	assert.InDelta(t, 1e-4, r.MaxTime, 1e-12)
	assert.InDelta(t, 1e-4, r.RMSTime, 1e-12)
	assert.InDelta(t, 1e-7, r.MaxFreq, 1e-15)
	assert.Empty(t, r.Check(l))

	never := newCollector(l)
	for s := 1; s <= 500; s++ {
		never.add(float64(s), 0.5, 0)
	}
	r = never.result(500)
	assert.True(t, math.IsInf(r.SyncTime, 1))
	assert.Contains(t, r.Check(l), "sync time")
	assert.Contains(t, r.Check(l), "max time")
}

func TestIdealServerBasicAndInterleaved(t *testing.T) {
	sched := engine.NewVirtualScheduler(Epoch)
	n := NewNetwork(sched, Epoch, rand.New(rand.NewPCG(1, 2)), func(_, _ netip.Addr, _ float64) Path { return Path{Base: 0.01, K: 1} })
	srvAddr := netip.MustParseAddrPort("203.0.113.1:123")
	cli := netip.MustParseAddrPort("198.51.100.1:123")
	NewIdealServer(srvAddr, n, sched.Now, 2*time.Second)
	r := &recorder{sched: sched}
	n.Attach(cli.Addr(), r)

	send := func(orig, rx, tx uint64) protocol.Packet {
		req := protocol.Packet{Settings: 4<<3 | 3, OrigTimeSec: uint32(orig >> 32), OrigTimeFrac: uint32(orig),
			RxTimeSec: uint32(rx >> 32), RxTimeFrac: uint32(rx), TxTimeSec: uint32(tx >> 32), TxTimeFrac: uint32(tx)}
		b, err := req.Bytes()
		require.NoError(t, err)
		n.Send(b, cli, srvAddr)
		sched.RunUntil(sched.Now().Add(time.Second))
		var resp protocol.Packet
		require.NoError(t, resp.UnmarshalBinary(r.data[len(r.data)-1]))
		return resp
	}
	first := send(0, 1, 2)
	assert.EqualValues(t, 1, first.Stratum)
	assert.EqualValues(t, 2, first.OrigTimeFrac, "basic mode echoes the transmit timestamp")
	rxAt := protocol.Unix(first.RxTimeSec, first.RxTimeFrac)
	assert.InDelta(t, 2.01, rxAt.Sub(Epoch).Seconds(), 1e-6, "falseticker clock 2 s off, 10 ms path")
	assert.Equal(t, first.RxTimeSec, first.TxTimeSec)

	// The first request had no origin, so the server kept nothing for it:
	// a request naming it is answered in basic mode.
	rx1 := uint64(first.RxTimeSec)<<32 | uint64(first.RxTimeFrac)
	second := send(rx1, 5, 6)
	assert.EqualValues(t, 6, second.OrigTimeFrac, "basic: nothing saved for a request without origin")
	rx2 := uint64(second.RxTimeSec)<<32 | uint64(second.RxTimeFrac)
	tx2 := uint64(second.TxTimeSec)<<32 | uint64(second.TxTimeFrac)

	third := send(rx2, 7, 8)
	assert.EqualValues(t, 7, third.OrigTimeFrac, "interleaved mode echoes the client's receive field")
	assert.Equal(t, tx2, uint64(third.TxTimeSec)<<32|uint64(third.TxTimeFrac), "and sends the earlier transmit timestamp")
	assert.Zero(t, third.TxTimeFrac&1, "transmit timestamps have the lowest bit clear")
	assert.EqualValues(t, 1, third.RxTimeFrac&1, "receive timestamps have it set")

	// The third response is lost; the client still names the second
	// request, whose transmit timestamp was already sent once: basic.
	again := send(rx2, 9, 10)
	assert.EqualValues(t, 10, again.OrigTimeFrac, "a transmit timestamp is sent only once")

	// An older request whose timestamp was not used yet still gets an
	// interleaved answer after a lost exchange.
	rx4 := uint64(again.RxTimeSec)<<32 | uint64(again.RxTimeFrac)
	send(rx4, 11, 12)
	late := send(rx4, 13, 14)
	assert.EqualValues(t, 14, late.OrigTimeFrac)
	rx6 := uint64(late.RxTimeSec)<<32 | uint64(late.RxTimeFrac)
	fifth := send(rx6, 15, 16)
	assert.EqualValues(t, 15, fifth.OrigTimeFrac, "the saved pair of the previous request answers")

	// A basic-format request (origin not one of our receive timestamps)
	// is answered in basic mode.
	basic := send(2, 17, 18)
	assert.EqualValues(t, 18, basic.OrigTimeFrac)
}

func TestRunsAreDeterministic(t *testing.T) {
	for _, sc := range []Scenario{Catalogue()[0], Deployment()} {
		t.Run(sc.Name, func(t *testing.T) {
			a, err := sc.Run(42)
			require.NoError(t, err)
			b, err := sc.Run(42)
			require.NoError(t, err)
			c, err := sc.Run(43)
			require.NoError(t, err)
			assert.Equal(t, a, b)
			assert.NotEqual(t, a.Results[0].RMSTime, c.Results[0].RMSTime)
		})
	}
}

func TestSimulationIsFast(t *testing.T) {
	sc := Catalogue()[0]
	start := time.Now()
	_, err := sc.Run(1)
	require.NoError(t, err)
	// 10000 simulated seconds per client must take well under a second.
	assert.Less(t, time.Since(start), 2*time.Second)
}
