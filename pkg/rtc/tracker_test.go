package rtc

import (
	"math"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTrackerEstimatesOffsetAndGain(t *testing.T) {
	tests := []struct {
		name     string
		fast     float64 // s at the start
		gainPPM  float64
		outliers bool
	}{
		{"slow RTC gaining", -2.5, 12, false},
		{"fast RTC losing", 1.25, -7.5, false},
		{"with outliers", 0.5, 3, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(Coefs{})
			start := time.Unix(1700000000, 0)
			var lastRTC int64
			for i := 0; i < 40; i++ {
				rtc := start.Unix() + int64(i*60)
				// The RTC shows rtc when the system (true) time is rtc - fast(t).
				fast := tc.fast + tc.gainPPM*1e-6*float64(rtc-start.Unix())
				if tc.outliers && i%9 == 4 {
					fast += 0.3
				}
				sys := time.Unix(rtc, 0).Add(-time.Duration(fast * 1e9))
				tr.AddSample(time.Unix(rtc, 0), sys)
				lastRTC = rtc
			}
			rep := tr.Report()
			wantFast := tc.fast + tc.gainPPM*1e-6*float64(lastRTC-start.Unix())
			assert.InDelta(t, wantFast, rep.SecondsFast, 1e-6)
			assert.InDelta(t, tc.gainPPM, rep.GainRatePPM, 0.01)
			assert.Equal(t, lastRTC, rep.RefTime.Unix())
			assert.Positive(t, rep.Samples)
			est, ok := tr.SystemTimeFromRTC(time.Unix(lastRTC+600, 0))
			require.True(t, ok)
			wantSys := float64(lastRTC+600) - (tc.fast + tc.gainPPM*1e-6*float64(lastRTC+600-start.Unix()))
			assert.InDelta(t, wantSys, float64(est.UnixNano())*1e-9, 1e-5)
		})
	}
}

func TestTrackerBufferAndReset(t *testing.T) {
	tr := NewTracker(Coefs{})
	base := time.Unix(1700000000, 0)
	for i := 0; i < MaxSamples+10; i++ {
		tr.AddSample(base.Add(time.Duration(i)*time.Minute), base.Add(time.Duration(i)*time.Minute))
	}
	assert.LessOrEqual(t, tr.Report().Samples, MaxSamples)
	// The RTC going back drops everything.
	tr.AddSample(base, base)
	assert.Equal(t, 1, tr.Report().Samples)
	tr.HandleChange(clock.Change{Type: clock.ChangeUnknownStep})
	assert.Equal(t, 0, tr.Report().Samples)
}

func TestTrackerFollowsClockCorrections(t *testing.T) {
	tr := NewTracker(Coefs{Valid: true, RefTime: time.Unix(1700000000, 0), Offset: 1, GainRatePPM: 2})
	tr.HandleChange(clock.Change{Cooked: time.Unix(1700000000, 0), DOffset: 0.25, Type: clock.ChangeAdjust})
	c := tr.Coefs()
	assert.InDelta(t, 1.25, c.Offset, 1e-12)
	assert.InDelta(t, 2, c.GainRatePPM, 1e-9)
}

func TestNeedsTrim(t *testing.T) {
	tr := NewTracker(Coefs{})
	base := time.Unix(1700000000, 0)
	for i := 0; i < 5; i++ {
		tr.AddSample(base.Add(time.Duration(i)*time.Minute), base.Add(time.Duration(i)*time.Minute-3*time.Second))
	}
	assert.True(t, tr.NeedsTrim(1, true))
	assert.False(t, tr.NeedsTrim(1, false))
	assert.False(t, tr.NeedsTrim(5, true))
	assert.False(t, tr.NeedsTrim(0, true))
}

func TestLadFitIgnoresOutlier(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4, 5, 6}
	y := []float64{1, 3, 5, 7, 100, 11, 13}
	a, b := ladFit(x, y)
	assert.InDelta(t, 1, a, 1e-6)
	assert.InDelta(t, 2, b, 1e-6)
	assert.False(t, math.IsNaN(a))
}
