package reference

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSmootherDisabled(t *testing.T) {
	assert.Nil(t, NewSmoother(0, 0.01, false, nil, nil))
	assert.Nil(t, NewSmoother(400, 0, false, nil, nil))
}

func TestSmoothingSpreadsOffset(t *testing.T) {
	tests := []struct {
		name               string
		offset             float64
		maxFreq, maxWander float64 // ppm, ppm/s
	}{
		{"small offset, no frequency limit", 0.001, 400, 0.01},
		{"large offset hits maxfreq", 1, 400, 0.01},
		{"negative offset", -0.5, 100, 0.1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			skew := 1e-9
			s := NewSmoother(tc.maxFreq, tc.maxWander, false, func() float64 { return skew }, nil)
			require.NotNil(t, s)
			t0 := time.Unix(1700000000, 0)
			// The first adjustment unlocks (skew is small enough) without smoothing.
			s.HandleChange(clock.Change{Cooked: t0, Type: clock.ChangeAdjust})
			assert.True(t, s.Report(t0).Active)
			s.HandleChange(clock.Change{Cooked: t0, DOffset: tc.offset, Type: clock.ChangeAdjust})
			// The same instant now reads tc.offset earlier in cooked time.
			t0 = addSeconds(t0, -tc.offset)
			assert.InDelta(t, tc.offset, s.Offset(t0), 1e-12)
			rep := s.Report(t0)
			total := rep.RemainingTime
			require.Positive(t, total)
			// Frequency stays within maxfreq all along and offset moves monotonically to 0.
			prev := s.Offset(t0)
			for i := 1; i <= 100; i++ {
				now := addSeconds(t0, total*float64(i)/100)
				r := s.Report(now)
				assert.LessOrEqual(t, abs(r.FreqPPM), tc.maxFreq*(1+1e-9))
				o := s.Offset(now)
				assert.LessOrEqual(t, abs(o), abs(prev)+1e-12)
				prev = o
			}
			end := addSeconds(t0, total+10)
			assert.InDelta(t, 0, s.Offset(end), 1e-9)
			assert.InDelta(t, 0, s.Report(end).FreqPPM, 1e-6)
			// Steps reset the smoothing.
			s.HandleChange(clock.Change{Cooked: end, DOffset: 2, Type: clock.ChangeStep})
			assert.Zero(t, s.Offset(end.Add(-2*time.Second)))
		})
	}
}

func TestSmoothingLockedUntilSkewSmall(t *testing.T) {
	skew := 1.0
	s := NewSmoother(400, 0.01, false, func() float64 { return skew }, nil)
	t0 := time.Unix(1700000000, 0)
	s.HandleChange(clock.Change{Cooked: t0, DOffset: 0.1, Type: clock.ChangeAdjust})
	assert.False(t, s.Report(t0).Active)
	assert.Zero(t, s.Offset(t0))
	skew = 1e-6
	s.HandleChange(clock.Change{Cooked: t0, DOffset: 0.1, Type: clock.ChangeAdjust})
	assert.True(t, s.Report(t0.Add(-100*time.Millisecond)).Active)
}

func TestSmoothingLeapOnly(t *testing.T) {
	s := NewSmoother(400, 0.01, true, func() float64 { return 1 }, nil)
	t0 := time.Unix(1700000000, 0)
	s.HandleChange(clock.Change{Cooked: t0, DOffset: 0.3, Type: clock.ChangeAdjust})
	assert.True(t, s.Report(t0).LeapOnly)
	assert.Zero(t, s.Offset(t0), "leaponly ignores ordinary corrections")
	s.HandleChange(clock.Change{Cooked: t0, DOffset: -1, Type: clock.ChangeStep, Leap: true})
	assert.InDelta(t, 1, s.Offset(t0.Add(-time.Second)), 1e-9)
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// handSmoothOffset is the smoothing offset t seconds after an offset o was
// handed to smoothtime with frequency limit maxFreq (s/s) and wander limit
// maxWander (s/s²), computed from the trapezoid's geometry: the frequency
// ramps up at maxWander for first seconds (to at most maxFreq), stays for
// middle seconds and ramps down again; the area is |o|.
func handSmoothOffset(o, maxFreq, maxWander, t float64) (offset, first, middle float64) {
	sign, size := 1.0, o
	if o < 0 {
		sign, size = -1, -o
	}
	first = math.Min(math.Sqrt(size/maxWander), maxFreq/maxWander)
	peak := maxWander * first
	middle = (size - peak*first) / peak
	total := 2*first + middle
	var done float64
	switch {
	case t <= first:
		done = maxWander * t * t / 2
	case t <= first+middle:
		done = peak*first/2 + peak*(t-first)
	case t <= total:
		left := total - t
		done = size - maxWander*left*left/2
	default:
		done = size
	}
	return sign * (size - done), first, middle
}

func TestSmoothingStagesMatchHandMath(t *testing.T) {
	tests := []struct {
		name               string
		offset             float64 // s
		maxFreq, maxWander float64 // ppm, ppm/s
		wantFirst, wantMid float64 // s, from the directive's numbers
	}{
		// sqrt(0.001 / 1e-8) s up to 3.16 ppm, below maxfreq.
		{"wander limited", 0.001, 400, 0.01, math.Sqrt(1e5), 0},
		// Up to 50 ppm in 5000 s, 15000 s there, 5000 s down: 0.125+0.75+0.125.
		{"frequency limited", 1, 50, 0.01, 5000, 15000},
		{"frequency limited, negative", -1, 50, 0.01, 5000, 15000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSmoother(tc.maxFreq, tc.maxWander, false, func() float64 { return 0 }, nil)
			require.NotNil(t, s)
			t0 := time.Unix(1700000000, 0)
			s.HandleChange(clock.Change{Cooked: t0, Type: clock.ChangeAdjust}) // unlocks
			s.HandleChange(clock.Change{Cooked: t0, DOffset: tc.offset, Type: clock.ChangeAdjust})
			start := addSeconds(t0, -tc.offset) // the same instant in the corrected time scale
			st := s.State()
			assert.InDelta(t, tc.wantFirst, st.Stages[0].Length, 1e-6)
			assert.InDelta(t, tc.wantMid, st.Stages[1].Length, 1e-6)
			assert.InDelta(t, tc.wantFirst, st.Stages[2].Length, 1e-6)
			total := 2*tc.wantFirst + tc.wantMid
			for _, frac := range []float64{0, 0.1, 0.25, 0.5, 0.7, 0.9, 1, 1.5} {
				at := frac * total
				want, _, _ := handSmoothOffset(tc.offset, tc.maxFreq*1e-6, tc.maxWander*1e-6, at)
				now := addSeconds(start, at)
				assert.InDelta(t, want, s.Offset(now), 1e-9*math.Abs(tc.offset)+1e-12, "at %.0f s", at)
				r := s.Report(now)
				assert.LessOrEqual(t, math.Abs(r.FreqPPM), tc.maxFreq*(1+1e-9))
				assert.InDelta(t, math.Max(0, total-at), r.RemainingTime, 1e-6)
			}
		})
	}
}

// TestLeapSmear runs chrony.conf's recommended leap smear (leapsecmode
// slew, smoothtime 400 0.001024 leaponly) through the reference on a
// virtual clock: the served time (cooked + smoothing offset) does not jump
// at the leap, ordinary corrections are not smoothed, and the second is
// spread over sqrt(4/wander) = 62500 s reaching 32 ppm half-way.
func TestLeapSmear(t *testing.T) {
	tbl, err := ParseLeapSecondsList(strings.NewReader(fullLeapList()))
	require.NoError(t, err)
	start := time.Date(2016, 12, 31, 23, 59, 0, 0, time.UTC)
	w := newWorld(t, start, 0, clock.Options{MaxSlewRate: 1000}, Options{Leap: tbl, LeapMode: LeapModeSlew,
		Smooth: &SmoothOptions{MaxFreqPPM: 400, MaxWanderPPM: 0.001024, LeapOnly: true}})
	sm := w.ref.Smoother()
	require.NotNil(t, sm)
	w.ref.SetReference(w.t, w.update(0.01))
	assert.True(t, sm.Active(), "leaponly activates at the first correction")
	w.advance(5)
	w.ref.SetReference(w.t, w.update(0.02))
	snap := w.ref.Snapshot(w.t)
	require.NotNil(t, snap.Smoothing)
	assert.True(t, snap.Smoothing.SuppressLeap)
	assert.Equal(t, discipline.LeapInsertSecond, snap.Leap, "the server hides it, not the reference")
	assert.Zero(t, snap.ServedOffset(w.clk.ReadCooked()), "ordinary corrections are not smoothed")

	next, ok := w.ref.NextTimeout()
	require.True(t, ok)
	w.advance(next.Sub(w.clk.ReadCooked()).Seconds())
	before := w.ref.Snapshot(w.t)
	servedBefore := addSeconds(w.clk.ReadCooked(), before.ServedOffset(w.clk.ReadCooked()))
	w.ref.HandleTimeout(w.t)
	leapAt := w.clk.ReadCooked()
	after := w.ref.Snapshot(w.t)
	servedAfter := addSeconds(leapAt, after.ServedOffset(leapAt))
	assert.InDelta(t, 0, servedAfter.Sub(servedBefore).Seconds(), 1e-6, "no jump in served time")
	assert.InDelta(t, 1, after.ServedOffset(leapAt), 1e-6)

	w.advance(31250)
	now := w.clk.ReadCooked()
	r := sm.Report(now)
	assert.InDelta(t, 0.5, r.Offset, 1e-3)
	assert.InDelta(t, -32, r.FreqPPM, 0.05)
	assert.InDelta(t, 31250, r.RemainingTime, 1)
	w.advance(31250 + 10)
	assert.InDelta(t, 0, sm.Offset(w.clk.ReadCooked()), 1e-6)
	assert.Zero(t, sm.Report(w.clk.ReadCooked()).RemainingTime)
}

func TestSnapshotSmoothing(t *testing.T) {
	tests := []struct {
		name         string
		smooth       *SmoothOptions
		mode         LeapMode
		wantSuppress bool
	}{
		{"not configured", nil, LeapModeSystem, false},
		{"system leap mode", &SmoothOptions{MaxFreqPPM: 400, MaxWanderPPM: 0.01}, LeapModeSystem, false},
		{"slew leap mode smears", &SmoothOptions{MaxFreqPPM: 400, MaxWanderPPM: 0.01}, LeapModeSlew, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, testStart, 0, clock.Options{Precision: 1e-7}, Options{LeapMode: tc.mode, Smooth: tc.smooth})
			snap := w.ref.Snapshot(w.t)
			if tc.smooth == nil {
				assert.Nil(t, snap.Smoothing)
				assert.Nil(t, w.ref.Smoother())
				assert.Zero(t, snap.ServedOffset(w.t))
				return
			}
			require.NotNil(t, snap.Smoothing)
			assert.Equal(t, 1e-7, snap.Smoothing.Quantum)
			assert.Equal(t, tc.wantSuppress, snap.Smoothing.SuppressLeap)
			sm := w.ref.Smoother()
			sm.Activate(w.clk.ReadCooked())
			require.NoError(t, w.clk.AccumulateOffset(0.01, 0))
			snap = w.ref.Snapshot(w.t)
			w.advance(600)
			now := w.clk.ReadCooked()
			assert.InDelta(t, sm.Offset(now), snap.ServedOffset(now), 1e-12, "the snapshot follows the ramp")
			assert.Greater(t, snap.ServedOffset(now), 0.0)
			// A step resets the smoothing; the published snapshot is not
			// changed by it, a new one is.
			require.NoError(t, w.clk.ApplyStep(0.5))
			now = w.clk.ReadCooked()
			assert.Zero(t, w.ref.Snapshot(w.t).ServedOffset(now))
			assert.NotZero(t, snap.ServedOffset(now))
		})
	}
}
