package source

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInterleavedClient(t *testing.T) {
	opts := DefaultOptions(ModeClient)
	opts.XLeave = true
	h := newHarness(t, opts, env())
	h.srv.interleaved = true
	h.srv.offset = -0.003
	h.txOffset = 300 * time.Microsecond
	var interleaved []bool
	for i := 0; i < 5; i++ {
		h.step()
		interleaved = append(interleaved, h.src.NTPReport().Interleaved)
	}
	assert.Equal(t, []bool{false, true, true, true, true}, interleaved)
	// The first interleaved response follows a basic one and fails test A;
	// the others give exact measurements of the previous exchange.
	require.Len(t, h.samples, 4)
	for _, s := range h.samples {
		assert.InDelta(t, 0.003, s.Offset, 1e-8)
		assert.InDelta(t, 0.001, s.PeerDelay, 1e-8)
	}
	r := h.src.NTPReport()
	assert.InDelta(t, 30e-6, r.ResponseTime, 1e-8)
	assert.Equal(t, TimestampKernel, r.TxTimestamp)

	// The interleaved request carries cookies, never our clock.
	req := decodeHeader(h.sent[2].Packet)
	assert.NotZero(t, req.origin)
	assert.NotZero(t, req.receive)
	assert.NotEqual(t, toNTP64(h.src.localRx.Time), req.receive)
}

func TestInterleavedClientBasicServer(t *testing.T) {
	// A server without interleaved support answers in basic mode: every
	// response is still good.
	opts := DefaultOptions(ModeClient)
	opts.XLeave = true
	h := newHarness(t, opts, env())
	for i := 0; i < 3; i++ {
		h.step()
	}
	assert.Len(t, h.samples, 3)
	assert.False(t, h.src.NTPReport().Interleaved)
}

// peerNet connects two symmetric peers with clocks offset from true time.
type peerNet struct {
	t       *testing.T
	peers   [2]*Source
	offsets [2]time.Duration
	timers  [2]time.Time
	armed   [2]bool
	samples [2][]discipline.Sample
	delay   time.Duration
	queue   []inflight
	lastPkt []byte
	trueNow time.Time
}

type inflight struct {
	to      int
	at      time.Time // true arrival time
	pkt     []byte
	fromAdr netip.AddrPort
}

var peerAddrs = [2]netip.Addr{netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")}

func newPeerNet(t *testing.T, xleave bool, offsetB time.Duration) *peerNet {
	n := &peerNet{t: t, delay: 200 * time.Microsecond, trueNow: t0}
	n.offsets[1] = offsetB
	for i := range n.peers {
		i := i
		opts := DefaultOptions(ModePeer)
		opts.XLeave = xleave
		opts.MinPoll, opts.MaxPoll = 4, 4
		ref := &discipline.ReferenceSnapshot{Synchronised: true, Stratum: 2, RefID: 0xCB007101 + uint32(i),
			RefTime: t0, Precision: -20, RootDelay: 1e-4, RootDispersion: 1e-5}
		e := env()
		e.Reference = func() *discipline.ReferenceSnapshot { return ref }
		p, err := New(peerAddrs[1-i], opts, e)
		require.NoError(t, err)
		n.peers[i] = p
		n.apply(i, p.Start(n.local(i, n.trueNow)))
	}
	return n
}

func (n *peerNet) local(i int, trueTime time.Time) time.Time { return trueTime.Add(n.offsets[i]) }

func (n *peerNet) apply(i int, acts []Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case SetTimer:
			n.timers[i], n.armed[i] = a.At.Add(-n.offsets[i]), true // stored in true time
		case CancelTimer:
			n.armed[i] = false
		case DeliverSample:
			n.samples[i] = append(n.samples[i], a.Sample)
		case Transmit:
			require.True(n.t, a.Peer)
			require.Equal(n.t, peerAddrs[1-i], a.To.Addr())
			n.lastPkt = a.Packet
			n.queue = append(n.queue, inflight{to: 1 - i, at: n.trueNow.Add(n.delay), pkt: a.Packet,
				fromAdr: netip.AddrPortFrom(peerAddrs[i], 123)})
		}
	}
}

// run processes events in time order until the true time limit.
func (n *peerNet) run(until time.Time) {
	for iter := 0; iter < 100000; iter++ {
		next, kind, idx := until, -1, -1
		for i := range n.peers {
			if n.armed[i] && n.timers[i].Before(next) {
				next, kind, idx = n.timers[i], 0, i
			}
		}
		for qi, f := range n.queue {
			if f.at.Before(next) {
				next, kind, idx = f.at, 1, qi
			}
		}
		if kind < 0 {
			return
		}
		n.trueNow = next
		if kind == 0 {
			n.armed[idx] = false
			n.apply(idx, n.peers[idx].HandleTimer(n.local(idx, next)))
			continue
		}
		f := n.queue[idx]
		n.queue = append(n.queue[:idx], n.queue[idx+1:]...)
		n.apply(f.to, n.peers[f.to].HandleIncoming(f.pkt, f.fromAdr,
			RxInfo{Time: n.local(f.to, next), Source: TimestampKernel}))
	}
	n.t.Fatal("event loop did not finish")
}

func TestSymmetricPeers(t *testing.T) {
	for _, xleave := range []bool{false, true} {
		t.Run(map[bool]string{false: "basic", true: "interleaved"}[xleave], func(t *testing.T) {
			n := newPeerNet(t, xleave, 7*time.Millisecond)
			n.run(t0.Add(10 * time.Minute))
			for i := range n.peers {
				r := n.peers[i].NTPReport()
				t.Logf("peer %d valid %d good %d tests %010b interleaved %v", i, r.TotalValid, r.TotalGood, r.Tests.Bits(), r.Interleaved)
			}
			for i, want := range []float64{-0.007, 0.007} {
				require.GreaterOrEqual(t, len(n.samples[i]), 20, "peer %d samples", i)
				for _, s := range n.samples[i] {
					assert.InDelta(t, want, s.Offset, 2e-6, "peer %d offset", i)
					assert.InDelta(t, 0.0004, s.PeerDelay, 2e-6, "peer %d delay", i)
				}
				r := n.peers[i].NTPReport()
				assert.Equal(t, modeActive, r.Mode)
				assert.Equal(t, 2, r.Stratum)
				assert.Equal(t, uint16(0x3ff), r.Tests.Bits())
				assert.Equal(t, xleave, r.Interleaved)
				assert.Equal(t, 4, n.peers[i].Report().Poll)
			}
			req := decodeHeader(n.lastPkt)
			assert.Equal(t, 2, req.stratum, "peer packets carry our reference")
			assert.Equal(t, -20, req.precision)
		})
	}
}

func TestPeerIgnoresBurstAndUnsyncedPeer(t *testing.T) {
	n := newPeerNet(t, false, 0)
	n.peers[0].Burst(t0, 4, 8)
	assert.Equal(t, opOnline, n.peers[0].op, "no bursts in symmetric mode")
	// An unsynchronised peer is heard (valid) but not used (test 6).
	n.peers[1].env.Reference = func() *discipline.ReferenceSnapshot { return nil }
	n.run(t0.Add(3 * time.Minute))
	assert.Empty(t, n.samples[0])
	r := n.peers[0].NTPReport()
	assert.NotZero(t, r.TotalValid)
	assert.False(t, r.Tests.T6)
	assert.Equal(t, uint8(0), n.peers[0].reach, "unsynchronised responses do not make the peer reachable")
}

func FuzzHandleIncoming(f *testing.F) {
	h := newHarness(f, DefaultOptions(ModeClient), env())
	h.now = h.timer
	txs := h.apply(h.src.HandleTimer(h.now))
	good := h.srv.respond(f, txs[0].Packet, h.now, h.now)
	f.Add(good, false)
	f.Add(append(good, make([]byte, 24)...), true)
	f.Add(good[:47], false)
	f.Fuzz(func(t *testing.T, pkt []byte, xleave bool) {
		opts := DefaultOptions(ModeClient)
		opts.XLeave = xleave
		for _, mode := range []Mode{ModeClient, ModePeer} {
			opts.Mode = mode
			if xleave {
				opts.ExtFields = ExtFieldMonoRoot
			}
			s, err := New(serverAddr, opts, Env{Precision: 1e-8, Stats: &fakeStats{haveDelay: true}})
			require.NoError(t, err)
			now := t0
			s.Start(now)
			s.HandleTimer(now.Add(time.Second))
			for i := 0; i < 2; i++ {
				for _, a := range s.HandleIncoming(pkt, s.Remote(), RxInfo{Time: now.Add(time.Second + time.Millisecond)}) {
					if ds, ok := a.(DeliverSample); ok {
						assert.False(t, ds.Sample.PeerDelay < 0, "negative delay")
					}
				}
			}
			r := s.NTPReport()
			assert.LessOrEqual(t, r.TotalGood, r.TotalValid)
			assert.LessOrEqual(t, r.TotalValid, uint32(1), "at most one valid response per request")
		}
	})
}

func TestExtFieldMonoRoot(t *testing.T) {
	opts := DefaultOptions(ModeClient)
	opts.ExtFields = ExtFieldMonoRoot
	h := newHarness(t, opts, env())
	h.srv.monoEpoch = 0x1234
	h.srv.rootDisp = 1.2345678e-5
	h.step()
	mr := findMonoRoot(h.sent[0].Packet, mustLocate(t, h.sent[0].Packet))
	require.NotNil(t, mr, "request carries F323")
	assert.Zero(t, mr.monoRx, "a client reveals nothing")
	assert.Equal(t, 4, decodeHeader(h.sent[0].Packet).version)
	require.Len(t, h.samples, 1)
	assert.InDelta(t, 1.2345678e-5, h.src.NTPReport().RootDispersion, 1e-8, "finer 4.28 root dispersion")

	// The server steps its clock by +0.1 s: its monotonic clock does not.
	h.srv.offset += 0.1
	h.srv.monoOffset -= 0.1
	h.step()
	require.Len(t, h.samples, 2)
	require.Len(t, h.corrections, 1)
	assert.InDelta(t, -0.1, h.corrections[0], 1e-8, "stored offsets follow the step")
	assert.InDelta(t, -0.1, h.samples[1].Offset, 1e-8)

	// A new epoch (server restart) gives no correction.
	h.srv.monoEpoch = 0x9999
	h.srv.offset += 0.05
	h.step()
	h.step()
	// Later exchanges may see a correction of one NTP fraction (2^-32 s)
	// from rounding; none may follow the restarted server's offset step.
	for _, c := range h.corrections[1:] {
		assert.Less(t, math.Abs(c), 1e-9, "no correction for a new epoch")
	}
}

func mustLocate(t *testing.T, pkt []byte) auth.PacketAuth {
	t.Helper()
	pa, err := auth.LocateMAC(pkt)
	require.NoError(t, err)
	return pa
}
