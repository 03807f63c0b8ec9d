package reference

import (
	"math"
	"testing"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/stretchr/testify/assert"
)

// TestClosedLoop feeds the reference ideal measurements of a virtual clock
// and checks that the clock converges: it exercises the signs of offset and
// frequency end to end through the slewing driver.
func TestClosedLoop(t *testing.T) {
	tests := []struct {
		name             string
		timeErr, freqErr float64
	}{
		{"fast clock", 0.1, 100e-6},
		{"slow clock", -0.05, -300e-6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &world{t: testStart}
			v, err := clock.NewVirtual(w.now, tc.timeErr, tc.freqErr, clock.Options{})
			assert.NoError(t, err)
			w.clk = v
			w.ref = New(w.t, v, Options{Rand: func() float64 { return 0 }})
			for i := 0; i < 40; i++ {
				w.advance(63)
				e0 := v.TrueCookedError()
				w.advance(1)
				e1 := v.TrueCookedError()
				u := Update{Stratum: 1, Leap: discipline.LeapNormal, RefTime: v.ReadCooked(),
					Offset: e1, OffsetSD: 1e-6, Frequency: e1 - e0, Skew: 1e-8,
					RootDelay: 1e-4, RootDispersion: 1e-5}
				w.ref.SetReference(w.t, u)
			}
			w.advance(64)
			assert.Less(t, math.Abs(v.TrueTimeError()), 1e-4)
			assert.Less(t, math.Abs(v.TrueCookedError()), 1e-4)
			assert.Less(t, math.Abs(v.TrueFrequencyError()), 1e-7)
			assert.InDelta(t, tc.freqErr*1e6, w.ref.Tracking(w.t).FreqPPM, 0.1)
		})
	}
}

// TestCookedTimeContinuous checks that the cooked time of the system driver
// has no jumps when slews start and end.
func TestCookedTimeContinuous(t *testing.T) {
	w := &world{t: testStart}
	v, err := clock.NewVirtual(w.now, 0.5, 0, clock.Options{})
	assert.NoError(t, err)
	w.clk = v
	assert.NoError(t, v.AccumulateOffset(0.5, 10))
	prev := v.TrueCookedError()
	for i := 0; i < 200; i++ {
		w.advance(0.25)
		e := v.TrueCookedError()
		assert.InDelta(t, prev, e, 1e-8, "step %d", i)
		prev = e
	}
	assert.InDelta(t, 0, prev, 1e-8)
}
