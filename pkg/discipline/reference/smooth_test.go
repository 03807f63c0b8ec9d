package reference

import (
	"testing"
	"time"

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
