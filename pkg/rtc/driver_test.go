package rtc

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/pkg/discipline/clock"
)

// linearRTC is an RTC fast by fast0 seconds at start, gaining gain s/s: a
// reading at a whole RTC second r was taken at system time r - fast.
type linearRTC struct {
	start int64
	fast0 float64
	gain  float64
	// alternate, when set, adds ±alternate s to every other reading so
	// that the residuals change sign at every sample (no run is rejected).
	alternate float64
}

func (l linearRTC) sample(r int64) (time.Time, time.Time) {
	fast := l.fast0 + l.gain*float64(r-l.start)
	if (r-l.start)%2 == 0 {
		fast += l.alternate
	} else {
		fast -= l.alternate
	}
	return time.Unix(r, 0), time.Unix(r, 0).Add(-time.Duration(math.Round(fast * 1e9)))
}

func TestDriverPeriodGrowsWithSamples(t *testing.T) {
	tests := []struct {
		samples int
		want    time.Duration
	}{
		{1, 15 * time.Second}, {3, 15 * time.Second}, {4, 30 * time.Second}, {5, 30 * time.Second},
		{6, 60 * time.Second}, {9, 60 * time.Second}, {10, 120 * time.Second}, {13, 120 * time.Second},
		{14, 240 * time.Second}, {40, 240 * time.Second},
	}
	for _, tc := range tests {
		d := NewDriver(0)
		l := linearRTC{start: 1700000000, fast0: 0.25, gain: 5e-6, alternate: 1e-3}
		var out Outcome
		for i := 0; i < tc.samples; i++ {
			out = d.HandleReading(l.reading(l.start + int64(i)*61))
		}
		assert.Equal(t, tc.want, out.Next, "%d samples", tc.samples)
		assert.Equal(t, tc.want, d.Period(), "%d samples", tc.samples)
	}
}

// HandleReading with the synchronised flag set, for the table above.
func (l linearRTC) reading(r int64) (time.Time, time.Time, bool) {
	a, b := l.sample(r)
	return a, b, true
}

func TestDriverStartsWithoutCoefficients(t *testing.T) {
	d := NewDriver(0)
	_, ok := d.Coefs()
	assert.False(t, ok, "coefficients are only valid once measured")
	assert.Equal(t, Report{RefTime: time.Unix(0, 0).UTC()}, d.Report())
}

func TestDriverAutoTrim(t *testing.T) {
	tests := []struct {
		name         string
		fast         float64
		threshold    float64
		synchronised bool
		want         bool
	}{
		{"above the threshold", 12, 10, true, true},
		{"below the threshold", 8, 10, true, false},
		{"slow RTC above the threshold", -12, 10, true, true},
		{"not synchronised", 12, 10, false, false},
		{"autotrim off", 12, 0, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDriver(tc.threshold)
			l := linearRTC{start: 1700000000, fast0: tc.fast, gain: 2e-6}
			first := d.HandleReading(l.reading(l.start))
			assert.False(t, first.Trim, "one sample gives no fit")
			rt, sys := l.sample(l.start + 15)
			out := d.HandleReading(rt, sys, tc.synchronised)
			assert.Equal(t, tc.want, out.Trim)
		})
	}
}

func TestDriverTrimThenRelock(t *testing.T) {
	d := NewDriver(0)
	l := linearRTC{start: 1700000000, fast0: 30.25, gain: 12e-6}
	for i := int64(0); i < 6; i++ {
		d.HandleReading(l.reading(l.start + i*60))
	}
	require.Equal(t, 6, d.Report().Samples)
	gain := d.Report().GainRatePPM
	require.InDelta(t, 12, gain, 1e-3)

	// The system time is 0.3 s past a second when the RTC is set.
	now := time.Unix(1700000400, 300000000)
	setTo, fast, ok := d.Trim(now)
	require.True(t, ok)
	assert.Equal(t, time.Unix(1700000400, 0).UTC(), setTo)
	assert.InDelta(t, 30.25+12e-6*300, fast, 1e-6)
	assert.True(t, d.Rapid())
	rep := d.Report()
	assert.Equal(t, 0, rep.Samples, "trimming drops the samples")
	assert.InDelta(t, 0.2, rep.SecondsFast, 1e-9, "estimate: the RTC ticks half a second after being set")
	assert.Equal(t, now.Unix(), rep.RefTime.Unix())

	// Set to 1700000400 at .3, the RTC ticks 401 at .8: 0.2 s fast.
	after := linearRTC{start: 1700000401, fast0: 0.2, gain: 12e-6}
	for i := int64(0); i < samplesAfterTrim-1; i++ {
		out := d.HandleReading(after.reading(after.start + i))
		assert.Zero(t, out.Next, "reading %d: rapid sampling goes on", i)
		assert.Nil(t, out.Save)
		assert.False(t, out.Trim)
	}
	out := d.HandleReading(after.reading(after.start + samplesAfterTrim - 1))
	require.NotNil(t, out.Save, "the relocked offset is saved")
	assert.True(t, out.Save.Valid)
	assert.InDelta(t, 0.2+12e-6*7, out.Save.Offset, 1e-6)
	assert.Equal(t, gain, out.Save.GainRatePPM, "the gain rate from before the trim is kept")
	assert.Equal(t, after.start+samplesAfterTrim-1, out.Save.RefTime.Unix())
	assert.Equal(t, 15*time.Second, out.Next)
	assert.False(t, d.Rapid())
	_, valid := d.Coefs()
	assert.False(t, valid, "the tracking starts again after the relock")
	assert.Equal(t, 0, d.Report().Samples)
}

func TestDriverTrimWithinASecondDoesNothing(t *testing.T) {
	d := NewDriver(0)
	l := linearRTC{start: 1700000000, fast0: 0.75, gain: 0}
	for i := int64(0); i < 3; i++ {
		d.HandleReading(l.reading(l.start + i*15))
	}
	_, _, ok := d.Trim(time.Unix(1700000100, 0))
	assert.False(t, ok)
	assert.False(t, d.Rapid())
	assert.Equal(t, 3, d.Report().Samples)
}

func TestDriverErrorEndsRapidSampling(t *testing.T) {
	d := NewDriver(0)
	l := linearRTC{start: 1700000000, fast0: 5, gain: 0}
	d.HandleReading(l.reading(l.start))
	d.HandleReading(l.reading(l.start + 15))
	_, _, ok := d.Trim(time.Unix(1700000020, 0))
	require.True(t, ok)
	assert.Equal(t, 15*time.Second, d.HandleError())
	assert.False(t, d.Rapid())
}

// TestDriverFileFormat checks the rtcfile a driver writes against a
// hand-written file in chronyd's format: valid flag, reference time in
// whole seconds, offset with 6 decimals, gain rate in ppm with 3.
func TestDriverFileFormat(t *testing.T) {
	d := NewDriver(0)
	l := linearRTC{start: 1700000000, fast0: -1.2345672, gain: -7.25e-6}
	for i := int64(0); i <= 10; i++ {
		d.HandleReading(l.reading(l.start + i*60))
	}
	c, ok := d.Coefs()
	require.True(t, ok)
	// At 1700000600: -1.2345672 - 7.25e-6*600 = -1.2389172.
	const want = "1 1700000600 -1.238917 -7.250\n"
	assert.Equal(t, want, FormatCoefs(c))
	back, err := ParseCoefs(want)
	require.NoError(t, err)
	assert.Equal(t, FormatCoefs(back), FormatCoefs(c))
}

func TestDriverFollowsClockSteps(t *testing.T) {
	d := NewDriver(0)
	l := linearRTC{start: 1700000000, fast0: 2, gain: 0}
	for i := int64(0); i < 4; i++ {
		d.HandleReading(l.reading(l.start + i*15))
	}
	before := d.Report().SecondsFast
	// The system clock was 1 s ahead and is stepped back: the RTC is now
	// 1 s further ahead of it.
	d.HandleChange(clock.Change{Cooked: time.Unix(1700000050, 0), DOffset: 1, Type: clock.ChangeStep})
	assert.InDelta(t, before+1, d.Report().SecondsFast, 1e-9)
	// The next reading agrees with the shifted samples.
	rt, sys := l.sample(l.start + 60)
	d.HandleReading(rt, sys.Add(-time.Second), false)
	assert.InDelta(t, before+1, d.Report().SecondsFast, 1e-6)
	assert.Equal(t, 5, d.Report().Samples)
}

func TestDriverLogLines(t *testing.T) {
	d := NewDriver(0)
	l := linearRTC{start: 1700000000, fast0: 1.5, gain: 10e-6}
	tests := []struct {
		at   int64
		want string
	}{
		// One sample: no fit yet, the period logged is the one in force.
		{1700000000, "2023-11-14 22:13:18       1.500000 0        0.000000         0.000   1   0   15"},
		{1700000015, "2023-11-14 22:13:33       1.500150 1        1.500150        10.000   2   0   15"},
	}
	for _, tc := range tests {
		out := d.HandleReading(l.reading(tc.at))
		assert.Equal(t, tc.want, out.Log)
	}
	assert.Equal(t, "   Date (UTC) Time   RTC fast (s) Val   Est fast (s)   Slope (ppm)  Ns  Nr Meas", LogHeader)
}

func TestDriverInitialSetting(t *testing.T) {
	file := Coefs{Valid: true, RefTime: time.Unix(1700000000, 0), Offset: 10, GainRatePPM: 5}
	tests := []struct {
		name      string
		coefs     Coefs
		sysAhead  float64
		wantValid bool
	}{
		{"system clock ahead", file, 0.3, true},
		{"system clock behind", file, -0.45, true},
		{"no valid coefficients", Coefs{}, 0.3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDriver(0)
			d.StartInitial(tc.coefs)
			assert.True(t, d.Rapid())
			// The RTC gains as the file says; the system clock is off by
			// sysAhead, so the RTC is less fast than predicted by it.
			l := linearRTC{start: 1700000000, fast0: 10 - tc.sysAhead, gain: 5e-6}
			start := int64(1700086400)
			for i := int64(0); i < samplesAfterTrim-1; i++ {
				out := d.HandleReading(l.reading(start + i))
				assert.Nil(t, out.Initial)
				assert.Zero(t, out.Next)
			}
			out := d.HandleReading(l.reading(start + samplesAfterTrim - 1))
			require.NotNil(t, out.Initial)
			assert.Equal(t, tc.wantValid, out.Initial.Valid)
			if tc.wantValid {
				assert.InDelta(t, tc.sysAhead, out.Initial.Offset, 1e-6)
			}
			assert.Equal(t, 15*time.Second, out.Next, "normal measurements follow")
			assert.False(t, d.Rapid())
			_, valid := d.Coefs()
			assert.False(t, valid)
			assert.Zero(t, d.Report().Samples)
		})
	}
}

func TestDriverInitialEnds(t *testing.T) {
	l := linearRTC{start: 1700000000, fast0: 2, gain: 0}
	tests := []struct {
		name     string
		readings int64
		fail     bool
	}{
		{"after eight readings", samplesAfterTrim, false},
		{"at a failed reading", 3, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDriver(0)
			assert.False(t, d.Initial(), "no fine setting without StartInitial")
			d.StartInitial(Coefs{Valid: true, RefTime: time.Unix(1690000000, 0), Offset: 2})
			for i := int64(0); i < tc.readings-1; i++ {
				d.HandleReading(l.reading(l.start + i))
				assert.True(t, d.Initial(), "reading %d", i)
			}
			if tc.fail {
				d.HandleError()
			} else {
				out := d.HandleReading(l.reading(l.start + tc.readings - 1))
				require.NotNil(t, out.Initial)
			}
			assert.False(t, d.Initial())
		})
	}
}
