package server

import (
	"net/netip"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/access"
	"github.com/chronygo/chronygo/pkg/ntp/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rampSmoothing started 100 s before t0 with offset 0.25 s and no
// frequency; its first stage raised the frequency at 1 ppm/s for 50 s (to
// 50 ppm), which then stayed. At t0 (hand-computed): 0.25 - 50²·1e-6/2 -
// 50·50e-6 = 0.24625 s.
func rampSmoothing() *discipline.Smoothing {
	return &discipline.Smoothing{
		Offset:     0.25,
		LastUpdate: t0.Add(-100 * time.Second),
		Stages:     [3]discipline.SmoothStage{{Wander: 1e-6, Length: 50}},
		Quantum:    1e-8,
	}
}

const rampOffsetAtT0 = 0.24625

func TestSmoothingAppliedToServedTimestamps(t *testing.T) {
	tests := []struct {
		name      string
		smoothing *discipline.Smoothing
		leap      discipline.LeapStatus
		mode      wire.Mode
		wantShift float64 // s added to rx, tx and reference time
		wantRefID uint32
		wantLeap  uint8
	}{
		{"no smoothtime", nil, discipline.LeapNormal, wire.ModeClient, 0, 0xC6336401, 0},
		{"ramp offset served", rampSmoothing(), discipline.LeapNormal, wire.ModeClient, rampOffsetAtT0, wire.RefIDSmooth, 0},
		{"offset within precision", &discipline.Smoothing{Offset: 5e-9, Quantum: 1e-8, LastUpdate: t0},
			discipline.LeapNormal, wire.ModeClient, 0, 0xC6336401, 0},
		{"negative offset", &discipline.Smoothing{Offset: -0.75, Quantum: 1e-8, LastUpdate: t0},
			discipline.LeapNormal, wire.ModeClient, -0.75, wire.RefIDSmooth, 0},
		{"smeared leap hidden", &discipline.Smoothing{Offset: 0.5, LastUpdate: t0, SuppressLeap: true},
			discipline.LeapInsertSecond, wire.ModeClient, 0.5, wire.RefIDSmooth, 0},
		{"leap announced without slew mode", &discipline.Smoothing{Offset: 0.5, LastUpdate: t0},
			discipline.LeapDeleteSecond, wire.ModeClient, 0.5, wire.RefIDSmooth, 2},
		{"symmetric passive not smoothed", rampSmoothing(), discipline.LeapInsertSecond, wire.ModeActive, 0, 0xC6336401, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{})
			snap := syncedSnapshot()
			snap.Leap = tc.leap
			snap.Smoothing = tc.smoothing
			p, v, d := f.handle(t, request(reqOpts{mode: tc.mode, tx: 42}), "198.51.100.2:40000", snap)
			require.Equal(t, VerdictRespond, v, d.String())
			assert.Equal(t, tc.wantRefID, p.ReferenceID)
			assert.Equal(t, tc.wantLeap, wire.LeapOf(p.Settings))
			assert.Equal(t, uint8(3), p.Stratum)
			assert.Equal(t, wire.ShortFromSeconds(0.010), p.RootDelay)
			assert.Equal(t, wire.ShortFromSeconds(0.001+100*1e-5), p.RootDispersion)
			assert.InDelta(t, -100+tc.wantShift, wire.RefTime(&p).Time(t0).Sub(t0).Seconds(), 1e-7)
			assert.InDelta(t, tc.wantShift, wire.RxTime(&p).Time(t0).Sub(t0).Seconds(), 1e-7)
			assert.InDelta(t, 50e-6+tc.wantShift, wire.TxTime(&p).Time(t0).Sub(t0).Seconds(), 1e-7)
		})
	}
}

func TestSmoothingLocalReference(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	snap := localSnapshot(10)
	snap.Smoothing = &discipline.Smoothing{Offset: 2, LastUpdate: t0}
	p, v, _ := f.handle(t, request(reqOpts{tx: 9}), "198.51.100.2:123", snap)
	require.Equal(t, VerdictRespond, v)
	assert.Equal(t, wire.RefIDSmooth, p.ReferenceID)
	assert.InDelta(t, 2, wire.RxTime(&p).Time(t0).Sub(t0).Seconds(), 1e-7)
	age := wire.RxTime(&p).Time(t0).Sub(wire.RefTime(&p).Time(t0))
	assert.True(t, age >= time.Second && age <= localRefInterval+time.Second, "reference time %v old", age)
}

// TestSmoothingInterleaved checks that the transmit time saved for an
// interleaved response is the smoothed one, from the daemon and from the
// kernel.
func TestSmoothingInterleaved(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	snap := localSnapshot(10)
	snap.Smoothing = &discipline.Smoothing{Offset: 0.5, LastUpdate: t0}
	from := "198.51.100.2:123"
	r1, _, _ := f.handle(t, request(reqOpts{tx: wire.FromTime(t0)}), from, snap)
	f.now = t0.Add(time.Second)
	r2, _, _ := f.handle(t, request(reqOpts{orig: wire.RxTime(&r1), rx: 11, tx: 12}), from, snap)
	f.now = t0.Add(2 * time.Second)
	r3, v, _ := f.handle(t, request(reqOpts{orig: wire.RxTime(&r2), rx: 13, tx: 14}), from, snap)
	require.Equal(t, VerdictRespond, v)
	assert.Equal(t, wire.Timestamp(13), wire.OrigTime(&r3), "interleaved")
	assert.InDelta(t, 1.50005, wire.TxTime(&r3).Time(t0).Sub(t0).Seconds(), 1e-6)

	ramp := syncedSnapshot()
	ramp.Smoothing = rampSmoothing()
	assert.InDelta(t, rampOffsetAtT0, servedKernelTx(ramp, t0).Sub(t0).Seconds(), 1e-9)
	ramp.Smoothing = nil
	assert.Equal(t, t0, servedKernelTx(ramp, t0))
}

func TestHandleWithSmoothingDoesNotAllocate(t *testing.T) {
	f := newFixture(t, fixtureOpts{limit: RateLimit{Enabled: true, Interval: -19, Burst: 255, Leak: 2}})
	snap := syncedSnapshot()
	snap.Smoothing = rampSmoothing()
	req := &Request{Data: request(reqOpts{tx: 5, orig: 7, rx: 9}), From: netip.MustParseAddrPort("198.51.100.2:123"), RxRaw: t0}
	out := make([]byte, wire.MaxPacketLen)
	allocs := testing.AllocsPerRun(200, func() {
		if _, v, d := f.resp.Handle(req, snap, f.clock, out); v != VerdictRespond {
			t.Fatalf("dropped: %s", d)
		}
	})
	assert.Zero(t, allocs)
}

// BenchmarkHandleSmoothing measures the responder's core without and with
// a smoothing state in the snapshot.
func BenchmarkHandleSmoothing(b *testing.B) {
	for _, tc := range []struct {
		name      string
		smoothing *discipline.Smoothing
	}{{"off", nil}, {"on", rampSmoothing()}} {
		b.Run(tc.name, func(b *testing.B) {
			stats := &Stats{}
			log := NewClientLog(ClientLogConfig{Disabled: true}, 1, stats)
			shared := &Shared{Access: access.NewTable(), Log: log, Tx: NewTxMemory(log.MaxRecords(), stats), Stats: stats}
			if err := shared.Access.Apply(access.Rule{Allow: true, All: true, Any: true}); err != nil {
				b.Fatal(err)
			}
			resp := NewResponder(shared, NewSeededRandom(1, 2))
			clock := func() time.Time { return t0.Add(50 * time.Microsecond) }
			snap := syncedSnapshot()
			snap.Smoothing = tc.smoothing
			req := &Request{Data: request(reqOpts{tx: 5}), From: netip.MustParseAddrPort("198.51.100.2:123"), RxRaw: t0}
			out := make([]byte, wire.MaxPacketLen)
			b.ReportAllocs()
			for b.Loop() {
				if _, v, d := resp.Handle(req, snap, clock, out); v != VerdictRespond {
					b.Fatalf("dropped: %s", d)
				}
			}
		})
	}
}
