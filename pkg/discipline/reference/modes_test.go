package reference

import (
	"testing"

	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/stretchr/testify/assert"
)

func TestSpecialModes(t *testing.T) {
	tests := []struct {
		name      string
		mode      Mode
		threshold float64
		valid     bool
		offset    float64
		wantStep  bool
		wantOK    bool
		wantError float64 // true time error afterwards (slew included)
	}{
		{"-q steps", ModeUpdateOnce, 0, true, 0.4, true, true, 0},
		{"-Q only prints", ModePrintOnce, 0, true, 0.4, false, true, 0.4},
		{"initstepslew steps above threshold", ModeInitStepSlew, 0.1, true, 0.4, true, true, 0},
		{"initstepslew slews below threshold", ModeInitStepSlew, 1, true, 0.4, false, true, 0},
		{"-q without source", ModeUpdateOnce, 0, false, 0, false, false, 0.4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, testStart, 0.4, clock.Options{}, Options{InitStepThreshold: tc.threshold})
			w.ref.SetMode(tc.mode)
			var res Result
			if tc.valid {
				res = w.ref.SetReference(w.t, w.update(tc.offset))
			} else {
				res = w.ref.SetUnsynchronised(w.t)
			}
			assert.True(t, res.ModeEnded)
			assert.Equal(t, tc.wantOK, res.ModeOK)
			assert.Equal(t, tc.wantStep, res.Step != 0)
			assert.Equal(t, ModeIgnore, w.ref.Mode())
			w.advance(100)
			assert.InDelta(t, tc.wantError, w.clk.TrueTimeError(), 1e-6)
		})
	}
}

func TestNoControlSlewsInsteadOfStep(t *testing.T) {
	w := &world{t: testStart}
	n := clock.NewNoControl(w.now, clock.Options{})
	ref := New(w.t, n, Options{MakeStepThreshold: 0.1, MakeStepLimit: -1, Rand: func() float64 { return 0 }})
	u := Update{Stratum: 1, RefTime: n.ReadCooked(), Offset: 2, Skew: 1e-6, FrequencySD: 0}
	res := ref.SetReference(w.t, u)
	assert.Zero(t, res.Step)
	assert.Equal(t, LeapModeStep, ref.LeapMode())
	snap := ref.Snapshot(w.t)
	assert.InDelta(t, -2, snap.CorrectionOffset, 1e-9)
	assert.Equal(t, n.Cook(w.t), snap.Cook(w.t))
	assert.InDelta(t, -2, ref.Tracking(w.t).CurrentCorrection, 1e-9)
}
