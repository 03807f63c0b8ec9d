package source

import (
	"encoding/binary"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env() Env { return Env{Precision: 1e-8} }

func TestBasicExchange(t *testing.T) {
	h := newHarness(t, DefaultOptions(ModeClient), env())
	h.srv.offset = 0.25
	require.True(t, h.armed)
	assert.InDelta(t, 0.2, h.timer.Sub(t0).Seconds(), 0.2*0.021, "initial delay")
	h.step()
	require.Len(t, h.sent, 1)
	req := decodeHeader(h.sent[0].Packet)
	assert.Equal(t, 4, req.version)
	assert.Equal(t, modeClient, req.mode)
	assert.Zero(t, req.origin, "client request hides origin")
	assert.Zero(t, req.receive, "client request hides receive")
	assert.NotZero(t, req.transmit)
	assert.Equal(t, 0, req.stratum)
	assert.Equal(t, 32, req.precision)

	require.Len(t, h.samples, 1)
	s := h.samples[0]
	assert.InDelta(t, -0.25, s.Offset, 1e-8, "chrony sign: local behind source is negative")
	assert.InDelta(t, 0.001, s.PeerDelay, 1e-8)
	assert.Equal(t, 1, s.Stratum)
	assert.InDelta(t, 0.001, s.RootDelay, 1e-8)
	assert.InDelta(t, 1e-5+s.PeerDispersion, s.RootDispersion, 2e-5)
	assert.Equal(t, discipline.LeapNormal, s.Leap)

	r := h.src.NTPReport()
	assert.Equal(t, uint16(0x3ff), r.Tests.Bits())
	assert.Equal(t, uint32(1), r.TotalTx)
	assert.Equal(t, uint32(1), r.TotalRx)
	assert.Equal(t, uint32(1), r.TotalValid)
	assert.Equal(t, uint32(1), r.TotalGood)
	assert.Equal(t, uint32(1), r.TotalKernelRx)
	assert.Equal(t, 4, r.Mode)
	assert.InDelta(t, 0.25, r.Offset, 1e-8)
	assert.InDelta(t, 30e-6, r.ResponseTime, 1e-8)
	assert.Equal(t, clientAddr, r.LocalAddr)
	assert.Equal(t, TimestampDaemon, r.TxTimestamp)
	assert.Equal(t, TimestampKernel, r.RxTimestamp)
	assert.Equal(t, uint32(0x47505300), r.RefID)
	require.Len(t, h.reach, 1)
	assert.Equal(t, uint8(1), h.reach[0].Reach)

	waited := h.step()
	assert.InDelta(t, 64, waited.Seconds(), 64*0.021, "next poll at minpoll")
	require.Len(t, h.samples, 2)
	assert.Equal(t, uint8(3), h.src.Report().Reach)
	assert.Equal(t, 6, h.src.Report().Poll)
	assert.Equal(t, h.samples[1].Time, h.src.Report().LastRx)
}

func TestTxTimestampImprovesMeasurement(t *testing.T) {
	h := newHarness(t, DefaultOptions(ModeClient), env())
	h.txOffset = 300 * time.Microsecond
	h.step()
	require.Len(t, h.samples, 1)
	assert.InDelta(t, 0, h.samples[0].Offset, 1e-8)
	assert.InDelta(t, 0.001, h.samples[0].PeerDelay, 1e-8)
	r := h.src.NTPReport()
	assert.Equal(t, TimestampKernel, r.TxTimestamp)
	assert.Equal(t, uint32(1), r.TotalKernelTx)

	// A TX time for another request, or far off, is ignored.
	before := h.src.localTx
	h.src.HandleTxTimestamp(TxInfo{Seq: h.src.txSeq + 1, Time: before.Time.Add(time.Millisecond)})
	h.src.HandleTxTimestamp(TxInfo{Seq: h.src.txSeq, Time: before.Time.Add(-time.Millisecond)})
	h.src.HandleTxTimestamp(TxInfo{Seq: h.src.txSeq, Time: before.Time.Add(2 * time.Second)})
	assert.Equal(t, before, h.src.localTx)
}

func setU64(off int, v uint64) func([]byte) {
	return func(b []byte) { binary.BigEndian.PutUint64(b[off:], v) }
}

// TestPacketTests checks each packet test of chronyd (1-3, 5-7, A-D) by
// breaking one property of the response.
func TestPacketTests(t *testing.T) {
	tests := []struct {
		name   string
		opts   func(*Options)
		env    func(*Env, *fakeStats)
		srv    func(*fakeServer)
		bits   uint16 // expected test bits of the last valid response
		valid  bool
		good   bool
		dropAs func(Counters) uint64
	}{
		{name: "all pass", bits: 0x3ff, valid: true, good: true},
		{name: "test2 bogus origin", srv: func(f *fakeServer) { f.mutate = setU64(24, 12345) },
			valid: false, dropAs: func(c Counters) uint64 { return c.Bogus }},
		{name: "test3 zero receive", srv: func(f *fakeServer) { f.mutate = setU64(32, 0) },
			valid: false, dropAs: func(c Counters) uint64 { return c.Bogus }},
		{name: "test5 unexpected MAC", srv: func(f *fakeServer) {
			k, _ := auth.NewKey(1, "MD5", []byte("0123456789"))
			f.key = k
		}, valid: false, dropAs: func(c Counters) uint64 { return c.AuthFailed }},
		{name: "test6 leap unsynchronised", srv: func(f *fakeServer) { f.leap = discipline.LeapUnsynchronised },
			bits: 0x3ff &^ (1 << 5) &^ 0xf, valid: true},
		{name: "test6 stratum 16", srv: func(f *fakeServer) { f.stratum = 16 },
			bits: 0x3ff &^ (1 << 5) &^ 0xf, valid: true},
		{name: "test6 stratum 0", srv: func(f *fakeServer) { f.stratum = 0 },
			bits: 0x3ff &^ (1 << 5) &^ 0xf, valid: true},
		{name: "test7 root distance", srv: func(f *fakeServer) { f.rootDisp = 16 },
			bits: 0x3ff &^ (1 << 4) &^ 0xf, valid: true},
		{name: "testA maxdelay", opts: func(o *Options) { o.MaxDelay = 0.0005 },
			bits: 0x3ff &^ (1 << 3), valid: true},
		{name: "testA server processing time", srv: func(f *fakeServer) {
			f.mutate = func(b []byte) {
				rx := binary.BigEndian.Uint64(b[32:])
				binary.BigEndian.PutUint64(b[32:], rx-5<<32)
			}
		}, bits: 0x3ff &^ (1 << 3), valid: true},
		{name: "testB maxdelayratio", opts: func(o *Options) { o.MaxDelayRatio = 2 },
			env: func(_ *Env, s *fakeStats) {
				s.haveDelay = true
				s.delayData = DelayTestData{MinDelay: 0.0002, LastSampleAgo: 64, StdDev: 1e-3}
			}, bits: 0x3ff &^ (1 << 2), valid: true},
		{name: "testB within ratio", opts: func(o *Options) { o.MaxDelayRatio = 10 },
			env: func(_ *Env, s *fakeStats) {
				s.haveDelay = true
				s.delayData = DelayTestData{MinDelay: 0.0002, LastSampleAgo: 64, StdDev: 1e-3}
			}, bits: 0x3ff, valid: true, good: true},
		{name: "testC maxdelaydevratio", env: func(_ *Env, s *fakeStats) {
			s.haveDelay = true
			s.delayData = DelayTestData{MinDelay: 0.0001, StdDev: 1e-6, LastSampleAgo: 1}
		}, bits: 0x3ff &^ (1 << 1), valid: true},
		{name: "testC offset error larger than delay increase", env: func(_ *Env, s *fakeStats) {
			s.haveDelay = true
			s.delayData = DelayTestData{MinDelay: 0.0001, StdDev: 1e-6, LastSampleAgo: 1, PredictedOffset: 0.5}
		}, bits: 0x3ff, valid: true, good: true},
		{name: "testC maxdelayquant first sample", opts: func(o *Options) { o.MaxDelayQuant = 0.5 },
			bits: 0x3ff &^ (1 << 1), valid: true},
		{name: "testD refid is our address", env: func(e *Env, _ *fakeStats) { e.ServerSocketOpen = true },
			srv: func(f *fakeServer) {
				f.stratum = 3
				f.refID = RefIDOfAddr(clientAddr)
			}, bits: 0x3fe, valid: true},
		{name: "testD server is us", env: func(e *Env, _ *fakeStats) {
			e.ServerSocketOpen = true
			ref := &discipline.ReferenceSnapshot{Synchronised: true, Stratum: 2, RefID: 0x0a0b0c0d,
				RefTime: t0.Add(-time.Minute), RootDelay: 0.001}
			e.Reference = func() *discipline.ReferenceSnapshot { return ref }
		}, srv: func(f *fakeServer) {
			f.stratum = 2
			f.refID = 0x0a0b0c0d
			f.rootDelay = 0.001
			f.mutate = setU64(16, toNTP64(t0.Add(-time.Minute)))
		}, bits: 0x3fe, valid: true},
		{name: "testD disabled without server socket", srv: func(f *fakeServer) {
			f.stratum = 3
			f.refID = RefIDOfAddr(clientAddr)
		}, bits: 0x3ff, valid: true, good: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions(ModeClient)
			if tc.opts != nil {
				tc.opts(&opts)
			}
			st := &fakeStats{}
			e := env()
			e.Stats = st
			if tc.env != nil {
				tc.env(&e, st)
			}
			h := newHarness(t, opts, e)
			if tc.srv != nil {
				tc.srv(h.srv)
			}
			h.step()
			r := h.src.NTPReport()
			if tc.valid {
				assert.Equal(t, uint32(1), r.TotalValid)
				assert.Equalf(t, tc.bits, r.Tests.Bits(), "tests %010b", r.Tests.Bits())
			} else {
				assert.Zero(t, r.TotalValid)
				assert.Equal(t, uint64(1), tc.dropAs(h.src.Counters()))
			}
			if tc.good {
				assert.Len(t, h.samples, 1)
				assert.Equal(t, uint32(1), r.TotalGood)
			} else {
				assert.Empty(t, h.samples)
			}
			require.Len(t, h.meas, 1)
			assert.Equal(t, tc.bits&0x30 == 0x30 && tc.valid, h.meas[0].Synced)
		})
	}
}

func TestDuplicateAndLateResponses(t *testing.T) {
	h := newHarness(t, DefaultOptions(ModeClient), env())
	h.now = h.timer
	h.armed = false
	txs := h.apply(h.src.HandleTimer(h.now))
	require.Len(t, txs, 1)
	resp := h.srv.respond(t, txs[0].Packet, h.now.Add(time.Millisecond), h.now.Add(time.Millisecond))
	rx := RxInfo{Time: h.now.Add(2 * time.Millisecond)}
	h.apply(h.src.HandleIncoming(resp, txs[0].To, rx))
	require.Len(t, h.samples, 1)
	// The same packet again fails test 1.
	h.apply(h.src.HandleIncoming(resp, txs[0].To, rx))
	assert.Len(t, h.samples, 1)
	assert.Equal(t, uint64(1), h.src.Counters().Duplicate)
	assert.Equal(t, uint32(1), h.src.NTPReport().TotalValid)

	// Wrong address, wrong mode, truncated packet.
	other := netip.AddrPortFrom(netip.MustParseAddr("203.0.113.99"), 123)
	h.apply(h.src.HandleIncoming(resp, other, rx))
	bad := append([]byte(nil), resp...)
	bad[0] = bad[0]&^7 | modeClient
	h.apply(h.src.HandleIncoming(bad, txs[0].To, rx))
	h.apply(h.src.HandleIncoming(resp[:40], txs[0].To, rx))
	c := h.src.Counters()
	assert.Equal(t, uint64(1), c.WrongAddress)
	assert.Equal(t, uint64(1), c.WrongMode)
	assert.Equal(t, uint64(1), c.Malformed)
}

func TestAuthenticatedExchange(t *testing.T) {
	for _, typ := range []string{"MD5", "SHA1", "SHA256", "AES128"} {
		t.Run(typ, func(t *testing.T) {
			val := []byte("0123456789abcdef")
			k, err := auth.NewKey(5, typ, val)
			require.NoError(t, err)
			wrong, err := auth.NewKey(5, typ, []byte("fedcba9876543210"))
			require.NoError(t, err)
			opts := DefaultOptions(ModeClient)
			opts.Key = 5
			e := env()
			e.Keys = auth.NewKeySet(k)
			h := newHarness(t, opts, e)
			h.srv.key = k
			h.step()
			require.Len(t, h.samples, 1)
			pa, err := auth.LocateMAC(h.sent[0].Packet)
			require.NoError(t, err)
			assert.Equal(t, uint32(5), pa.KeyID)
			if typ == "SHA256" {
				assert.Equal(t, 3, decodeHeader(h.sent[0].Packet).version, "long MACs use NTPv3")
			}
			assert.True(t, h.src.NTPReport().Authenticated)

			h.srv.key = wrong
			h.step()
			assert.Len(t, h.samples, 1, "wrong key dropped")
			assert.Equal(t, uint64(1), h.src.Counters().AuthFailed)

			h.srv.key = nil
			h.step()
			assert.Len(t, h.samples, 1, "unauthenticated response dropped")
			assert.Equal(t, uint64(2), h.src.Counters().AuthFailed)
		})
	}
	// A key missing from the keyfile: nothing is sent.
	opts := DefaultOptions(ModeClient)
	opts.Key = 9
	h := newHarness(t, opts, env())
	assert.True(t, h.src.KeyMissing())
	h.step()
	assert.Empty(t, h.sent)
}

func TestUnreachableAndBackoff(t *testing.T) {
	h := newHarness(t, DefaultOptions(ModeClient), env())
	h.lost = true
	var polls []int
	for i := 0; i < 9; i++ {
		h.step()
		polls = append(polls, h.src.Poll())
	}
	// Every missed response after the first adds 0.25 to the poll score.
	assert.Equal(t, []int{6, 6, 6, 6, 7, 7, 7, 7, 8}, polls)
	last := h.reach[len(h.reach)-1]
	assert.True(t, last.Unreachable)
	assert.Equal(t, 8, last.Size)
	assert.Len(t, h.reach, 8)
	assert.False(t, h.reach[6].Unreachable)
}

func TestBackoffSelectedSource(t *testing.T) {
	e := env()
	e.Stats = &fakeStats{selected: true}
	h := newHarness(t, DefaultOptions(ModeClient), e)
	h.lost = true
	for i := 0; i < 11; i++ {
		h.step()
	}
	assert.Equal(t, 6, h.src.Poll(), "0.1 per missed response for the selected source")
	h.step()
	h.step()
	assert.Equal(t, 7, h.src.Poll())
}

func TestPollAdjustment(t *testing.T) {
	s, err := New(serverAddr, DefaultOptions(ModeClient), env())
	require.NoError(t, err)
	tests := []struct {
		name      string
		err, dist float64
		samples   int
		want      float64
	}{
		{"prediction off by 4 distances", 0.4, 0.1, 8, -2},
		{"on target", 0.01, 0.1, 8, 0},
		{"too few samples doubles shortening", 0.01, 0.1, 4, 2 * (0.5 - 1) / 8},
		{"too many samples lengthens", 0.01, 0.1, 16, (2.0 - 1) / 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.InDelta(t, tc.want, s.pollAdjustment(tc.err, tc.dist, tc.samples), 1e-12)
		})
	}

	clampTests := []struct {
		name       string
		start      int
		score, adj float64
		wantPoll   int
		wantScore  float64
	}{
		{"up one", 6, 0.5, 0.6, 7, 0.1},
		{"down one", 7, 0.2, -0.5, 6, 0.7},
		{"clamped at maxpoll", 10, 0.9, 0.5, 10, 1},
		{"clamped at minpoll", 6, 0.1, -1.5, 6, 0},
		{"down two", 9, 0.5, -2.2, 7, 0.3},
	}
	for _, tc := range clampTests {
		t.Run(tc.name, func(t *testing.T) {
			s.localPoll, s.pollScore = tc.start, tc.score
			s.adjustPoll(tc.adj)
			assert.Equal(t, tc.wantPoll, s.localPoll)
			assert.InDelta(t, tc.wantScore, s.pollScore, 1e-9)
		})
	}

	// A sub-second poll needs a reachable LAN source.
	opts := DefaultOptions(ModeClient)
	opts.MinPoll, opts.MaxPoll = -4, -2
	st := &fakeStats{minDelay: 0.05}
	e := env()
	e.Stats = st
	lan, err := New(serverAddr, opts, e)
	require.NoError(t, err)
	assert.Equal(t, 0, lan.localPoll, "starts at 0 when minpoll is negative")
	lan.adjustPoll(-1)
	assert.Equal(t, 0, lan.localPoll, "unreachable")
	lan.reach = 1
	lan.adjustPoll(-1)
	assert.Equal(t, 0, lan.localPoll, "delay too long for a LAN")
	st.minDelay = 0.001
	lan.adjustPoll(-1)
	assert.Equal(t, -2, lan.localPoll, "maxpoll -2 clamps, LAN allows")
}

func TestPollTargetConverges(t *testing.T) {
	st := &fakeStats{}
	e := env()
	e.Stats = st
	h := newHarness(t, DefaultOptions(ModeClient), e)
	for i := 0; i < 60; i++ {
		st.samples = min(i, 30)
		h.step()
	}
	assert.Equal(t, 10, h.src.Poll(), "many samples lengthen to maxpoll")
	st.samples = 1
	for i := 0; i < 8; i++ {
		h.step()
	}
	assert.Less(t, h.src.Poll(), 10, "few samples shorten")
}

func TestIBurst(t *testing.T) {
	opts := DefaultOptions(ModeClient)
	opts.IBurst = true
	h := newHarness(t, opts, env())
	var waits []float64
	for i := 0; i < 6; i++ {
		waits = append(waits, h.step().Seconds())
	}
	want := []float64{0.2, 2, 2, 2, 64, 64}
	for i := range want {
		assert.InDelta(t, want[i], waits[i], want[i]*0.021+1e-3, "interval %d", i)
	}
	assert.Len(t, h.samples, 6)
}

func TestIBurstUnreachableSendsEight(t *testing.T) {
	opts := DefaultOptions(ModeClient)
	opts.IBurst = true
	h := newHarness(t, opts, env())
	h.lost = true
	var waits []float64
	for i := 0; i < 10; i++ {
		waits = append(waits, h.step().Seconds())
	}
	for i := 1; i < 8; i++ {
		assert.InDelta(t, 2, waits[i], 0.05, "burst interval %d", i)
	}
	assert.Greater(t, waits[8], 60.0, "back to the poll interval after 8 requests")
}

func TestBurstOption(t *testing.T) {
	opts := DefaultOptions(ModeClient)
	opts.Burst = true
	opts.MinPoll, opts.MaxPoll = 4, 6
	st := &fakeStats{samples: 20}
	e := env()
	e.Stats = st
	h := newHarness(t, opts, e)
	// Reach poll 6 through many samples.
	for i := 0; i < 40 && h.src.Poll() < 6; i++ {
		h.step()
	}
	require.Equal(t, 6, h.src.Poll())
	// With good responses a burst ends at its first good sample.
	before := len(h.samples)
	h.step()
	assert.Equal(t, opOnline, h.src.op)
	assert.Equal(t, before+1, len(h.samples))
	assert.Greater(t, h.timer.Sub(h.now).Seconds(), 60.0)
	// Without responses each poll sends 4 requests 2 s apart.
	h.lost = true
	var waits []float64
	for i := 0; i < 6; i++ {
		waits = append(waits, h.step().Seconds())
	}
	assert.Greater(t, waits[0], 60.0)
	for i := 1; i < 4; i++ {
		assert.InDelta(t, 2, waits[i], 0.05, "burst interval %d", i)
	}
	assert.Greater(t, waits[4], 60.0)
	assert.InDelta(t, 2, waits[5], 0.05)
}

func TestPresend(t *testing.T) {
	opts := DefaultOptions(ModeClient)
	opts.Presend = 6
	h := newHarness(t, opts, env())
	h.step()
	assert.Empty(t, h.samples, "warm-up response fails test A")
	assert.Equal(t, uint16(0x3ff&^(1<<3)), h.src.NTPReport().Tests.Bits())
	w := h.step()
	assert.InDelta(t, 2, w.Seconds(), 0.05, "real request 2 s after the warm-up")
	assert.Len(t, h.samples, 1)
	w = h.step()
	assert.InDelta(t, 64, w.Seconds(), 1.4)
	assert.Len(t, h.samples, 1, "next presend warm-up")
}

func TestKissOfDeath(t *testing.T) {
	kod := func(code uint32) func(b []byte) {
		return func(b []byte) {
			b[0] = b[0]&0x3f | 3<<6
			b[1] = 0
			binary.BigEndian.PutUint32(b[12:], code)
		}
	}
	t.Run("RATE", func(t *testing.T) {
		h := newHarness(t, DefaultOptions(ModeClient), env())
		h.step()
		h.srv.mutate = kod(kodRate)
		h.step()
		require.Len(t, h.kods, 1)
		assert.Equal(t, "RATE", h.kods[0].Code)
		assert.False(t, h.kods[0].Stopped)
		assert.InDelta(t, 64+4*64, h.timer.Sub(h.now).Seconds(), 7)
	})
	for _, code := range []uint32{kodDeny, kodRstr} {
		t.Run(kodName(code), func(t *testing.T) {
			h := newHarness(t, DefaultOptions(ModeClient), env())
			h.srv.mutate = kod(code)
			h.step()
			require.Len(t, h.kods, 1)
			assert.True(t, h.kods[0].Stopped)
			assert.False(t, h.armed, "no more polling")
			assert.True(t, h.src.Report().Stopped)
			assert.Empty(t, h.src.SetConnectivity(h.now, true), "stays stopped")
			acts := h.src.ChangeAddress(h.now, netip.MustParseAddr("203.0.113.2"))
			assert.Contains(t, acts, Action(ResetStatistics{}))
			assert.False(t, h.src.Report().Stopped)
			h.apply(acts)
			assert.True(t, h.armed, "a replaced source polls again")
			assert.Equal(t, netip.MustParseAddr("203.0.113.2"), h.src.Remote().Addr())
		})
	}
}

func TestOfflineOnline(t *testing.T) {
	opts := DefaultOptions(ModeClient)
	opts.Offline = true
	h := newHarness(t, opts, env())
	assert.False(t, h.armed)
	h.apply(h.src.SetConnectivity(h.now, true))
	require.True(t, h.armed)
	h.step()
	assert.Len(t, h.samples, 1)
	h.apply(h.src.SetConnectivity(h.now, false))
	assert.False(t, h.armed)
	assert.Equal(t, uint8(0), h.src.Report().Reach)
	assert.True(t, h.reach[len(h.reach)-1].Reset, "going offline clears the register")

	// auto_offline: a send error takes the source offline.
	opts = DefaultOptions(ModeClient)
	opts.AutoOffline = true
	h = newHarness(t, opts, env())
	h.step()
	h.apply(h.src.HandleSendError(h.now))
	assert.False(t, h.armed)
	assert.False(t, h.src.Report().Online)
}

func TestCopyAndMinStratum(t *testing.T) {
	opts := DefaultOptions(ModeClient)
	opts.Copy = true
	h := newHarness(t, opts, env())
	h.srv.stratum = 3
	h.srv.refID = 0x01020304
	var status []StatusUpdate
	h.src.started = true
	h.now = h.timer
	h.armed = false
	for _, a := range h.src.HandleTimer(h.now) {
		if tx, ok := a.(Transmit); ok {
			resp := h.srv.respond(t, tx.Packet, h.now, h.now)
			for _, b := range h.src.HandleIncoming(resp, tx.To, RxInfo{Time: h.now.Add(time.Millisecond)}) {
				if su, ok := b.(StatusUpdate); ok {
					status = append(status, su)
				}
				if ds, ok := b.(DeliverSample); ok {
					assert.Equal(t, 2, ds.Sample.Stratum)
				}
			}
		}
	}
	require.Len(t, status, 1)
	assert.Equal(t, StatusUpdate{Stratum: 2, Leap: discipline.LeapNormal, RefID: 0x01020304}, status[0])

	opts = DefaultOptions(ModeClient)
	opts.MinStratum = 5
	h = newHarness(t, opts, env())
	h.step()
	require.Len(t, h.samples, 1)
	assert.Equal(t, 5, h.samples[0].Stratum)
}

func TestOptionsValidateAndNormalize(t *testing.T) {
	o := DefaultOptions(ModeClient)
	o.NTS = true
	_, err := New(serverAddr, o, env())
	assert.ErrorIs(t, err, ErrNTSUnsupported)

	o = DefaultOptions(ModePeer)
	o.MinPoll, o.MaxPoll = 30, 3
	o.Presend = 5
	o.Copy = true
	o.MinStratum = 20
	o.MaxDelay = 1e9
	n := o.normalized()
	assert.Equal(t, 24, n.MinPoll)
	assert.Equal(t, 24, n.MaxPoll)
	assert.Equal(t, 25, n.Presend, "presend is for client mode only")
	assert.False(t, n.Copy)
	assert.Equal(t, 15, n.MinStratum)
	assert.Equal(t, 1e3, n.MaxDelay)

	o = DefaultOptions(ModeClient)
	o.Version = 3
	s, err := New(serverAddr, o, env())
	require.NoError(t, err)
	assert.Equal(t, 3, s.version)
	o.Version = 7
	_, err = New(serverAddr, o, env())
	assert.Error(t, err)
}

func TestRefIDOfAddr(t *testing.T) {
	assert.Equal(t, uint32(0xCB007101), RefIDOfAddr(netip.MustParseAddr("203.0.113.1")))
	assert.Equal(t, uint32(0xCB007101), RefIDOfAddr(netip.MustParseAddr("::ffff:203.0.113.1")))
	// MD5 of the 16 address bytes of 2001:db8::1, first 4 bytes.
	assert.Equal(t, uint32(0x39AB9B37), RefIDOfAddr(netip.MustParseAddr("2001:db8::1")))
}

func TestNTPTimeConversions(t *testing.T) {
	tm := time.Date(2036, 2, 7, 6, 28, 20, 500000000, time.UTC) // NTP era 1
	v := toNTP64(tm)
	assert.Equal(t, uint64(4)<<32|1<<31, v)
	assert.True(t, tm.Equal(fromNTP64(v, tm.Add(-time.Hour))))
	assert.True(t, t0.Equal(fromNTP64(toNTP64(t0), t0.Add(time.Hour))))
	old := time.Date(2035, 12, 31, 0, 0, 0, 0, time.UTC) // era 0, pivot in era 1
	assert.True(t, old.Equal(fromNTP64(toNTP64(old), tm)))
	assert.Equal(t, uint32(0), secondsToNTPShort(-1))
	assert.Equal(t, uint32(0xffffffff), secondsToNTPShort(1e6))
	assert.Equal(t, uint32(1), secondsToNTPShort(1e-9), "rounds up")
	assert.InDelta(t, 1.5, ntpShortToSeconds(0x00018000), 0)
	assert.Equal(t, 0.001, clamp(0, 0.001, 1))
	assert.True(t, math.IsInf(log2ToSeconds(2000), 1))
}

func TestFormatMeasurement(t *testing.T) {
	rec := MeasurementRecord{
		Time: time.Date(2026, 11, 25, 12, 0, 5, 0, time.UTC), Remote: serverAddr,
		Leap: discipline.LeapNormal, Stratum: 1,
		Tests:     Tests{true, true, true, true, true, true, true, true, true, true},
		LocalPoll: 6, RemotePoll: 6, PollScore: 0.5,
		Offset: -1.234e-4, PeerDelay: 1e-3, PeerDispersion: 2.5e-7,
		RootDelay: 0, RootDispersion: 1.5e-5, RefID: 0x47505300, Mode: 4,
		TxSource: TimestampDaemon, RxSource: TimestampKernel,
	}
	assert.Equal(t,
		"2026-11-25 12:00:05 203.0.113.1     N  1 111 111 1111   6  6 0.50 -1.234e-04  1.000e-03  2.500e-07  0.000e+00  1.500e-05 47505300 4B D K",
		FormatMeasurement(rec))
	assert.Equal(t, len(MeasurementsHeader), len(FormatMeasurement(rec))+0*1, "columns line up with the header")
	b := LogBanner("ab c")
	assert.Equal(t, "====\nab c\n====\n", b)
}

func TestModify(t *testing.T) {
	s, err := New(serverAddr, DefaultOptions(ModeClient), env())
	require.NoError(t, err)
	assert.False(t, s.SetMinPoll(30))
	assert.True(t, s.SetMinPoll(12))
	assert.Equal(t, 12, s.Options().MaxPoll, "maxpoll follows minpoll up")
	assert.True(t, s.SetMaxPoll(4))
	assert.Equal(t, 4, s.Options().MinPoll, "minpoll follows maxpoll down")
	assert.Equal(t, 1000.0, s.SetMaxDelay(5000))
	assert.Equal(t, 0.0, s.SetMaxDelayRatio(-1))
	assert.Equal(t, 3.5, s.SetMaxDelayDevRatio(3.5))
	assert.Equal(t, 1, s.SetPollTarget(-3))
	s.SetMinStratum(3)
	s.SetOffset(0.25)
	assert.Equal(t, 3, s.Options().MinStratum)
	assert.Equal(t, 0.25, s.Options().Offset)
}

func TestBurstWhileOffline(t *testing.T) {
	opts := DefaultOptions(ModeClient)
	opts.Offline = true
	h := newHarness(t, opts, env())
	require.False(t, h.armed)
	h.apply(h.src.Burst(h.now, 2, 4))
	require.True(t, h.armed)
	h.step()
	assert.True(t, h.armed, "burst continues")
	w := h.step()
	assert.InDelta(t, 2, w.Seconds(), 0.05)
	assert.Len(t, h.samples, 2)
	assert.False(t, h.armed, "back offline after the good samples")
	assert.False(t, h.src.Report().Online)
}

// TestPollFollowsSamplesAfterRegression: the polling interval is adjusted
// with the number of samples held after the new one is accumulated and the
// regression dropped old ones (chronyd's order), not with the count before.
func TestPollFollowsSamplesAfterRegression(t *testing.T) {
	tests := []struct {
		name     string
		held     int
		after    int
		wantPoll int
	}{
		{"regression keeps many: poll climbs to maxpoll", 20, 21, 8},
		{"regression dropped most: poll falls to minpoll", 20, 2, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions(ModeClient)
			opts.MinPoll, opts.MaxPoll = 4, 8
			e := env()
			e.Stats = &fakeStats{samples: tc.held, after: tc.after}
			h := newHarness(t, opts, e)
			for i := 0; i < 60; i++ {
				h.step()
			}
			assert.Equal(t, tc.wantPoll, h.src.Poll())
		})
	}
}
