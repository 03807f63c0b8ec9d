package rtc

import (
	"math"
	"sort"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline/clock"
)

// Tracking constants (chronyd's RTC driver).
const (
	// MaxSamples is how many RTC samples are kept.
	MaxSamples = 64
	// dropWhenFull is how many oldest samples go when the buffer is full.
	dropWhenFull = 4
	// MinMeasurementPeriod and MaxMeasurementPeriod bound the interval (s)
	// between RTC readings.
	MinMeasurementPeriod = 15
	MaxMeasurementPeriod = 480
	// regressionTolerance is the slope tolerance of the robust fit.
	regressionTolerance = 1e-9
)

// Tracker follows the RTC against the cooked system time from readings
// taken at the RTC's second boundaries, and estimates how fast the RTC is
// and how fast it gains, as chronyd does with rtcfile. It is sans-IO: the
// I/O shell reads the device and feeds samples.
type Tracker struct {
	rtc    []int64     // RTC readings, Unix seconds
	system []time.Time // cooked system time at each reading
	runs   int

	valid      bool
	refTime    int64
	secondsFst float64
	gainRate   float64 // s/s
	sinceFit   int
}

// NewTracker starts tracking, optionally from coefficients read from the
// rtcfile.
func NewTracker(c Coefs) *Tracker {
	t := &Tracker{}
	if c.Valid {
		t.valid = true
		t.refTime = c.RefTime.Unix()
		t.secondsFst = c.Offset
		t.gainRate = c.GainRatePPM * 1e-6
	}
	return t
}

// AddSample records that the RTC read rtcTime when the cooked system time
// was system, then refits.
func (t *Tracker) AddSample(rtcTime time.Time, system time.Time) {
	t.accumulate(rtcTime, system)
	t.fit()
}

// accumulate stores a sample without refitting.
func (t *Tracker) accumulate(rtcTime time.Time, system time.Time) {
	r := rtcTime.Unix()
	if len(t.rtc) == MaxSamples {
		t.discard(dropWhenFull)
	}
	if n := len(t.rtc); n > 0 && t.rtc[n-1] >= r {
		// The RTC went back (not by us): start again.
		t.rtc, t.system = t.rtc[:0], t.system[:0]
	}
	t.rtc = append(t.rtc, r)
	t.system = append(t.system, system)
	t.sinceFit++
}

// reset drops every sample (the coefficients stay).
func (t *Tracker) reset() {
	t.rtc, t.system = t.rtc[:0], t.system[:0]
	t.sinceFit = 0
}

func (t *Tracker) discard(first int) {
	t.rtc = append(t.rtc[:0], t.rtc[first:]...)
	t.system = append(t.system[:0], t.system[first:]...)
}

// fit runs the robust regression of the RTC's fastness against RTC time,
// dropping the oldest samples while the residuals fail a runs test.
func (t *Tracker) fit() {
	t.sinceFit = 0
	if ref, fast, slope, ok := t.regress(); ok {
		t.valid, t.refTime, t.secondsFst, t.gainRate = true, ref, fast, slope
	}
}

// regress fits the samples, drops the oldest ones the runs test rejects
// and returns the fit (reference RTC second, offset at it, slope) without
// storing it; ok is false with fewer than two samples.
func (t *Tracker) regress() (ref int64, fast, slope float64, ok bool) {
	n := len(t.rtc)
	if n < 2 {
		return 0, 0, 0, false
	}
	ref = t.rtc[n-1]
	x := make([]float64, n)
	y := make([]float64, n)
	for i := range t.rtc {
		x[i] = float64(t.rtc[i] - ref)
		// Whole seconds apart from the fraction: float64 nanoseconds since
		// 1970 would lose a quarter of a microsecond.
		y[i] = float64(t.rtc[i]-t.system[i].Unix()) - float64(t.system[i].Nanosecond())*1e-9
	}
	start, a, b, runs, ok := bestRobustFit(x, y)
	if !ok {
		return 0, 0, 0, false
	}
	t.runs = runs
	if start > 0 {
		t.discard(start)
	}
	return ref, a, b, true
}

// bestRobustFit fits y = a + b·x minimising absolute residuals, starting
// from the oldest point and dropping old points until the residuals show
// enough sign changes. It returns the first point kept.
func bestRobustFit(x, y []float64) (start int, a, b float64, runs int, ok bool) {
	n := len(x)
	if n == 2 {
		b = (y[1] - y[0]) / (x[1] - x[0])
		return 0, y[0] - b*x[0], b, 0, true
	}
	for start = 0; n-start >= 3; start++ {
		a, b = ladFit(x[start:], y[start:])
		resid := make([]float64, 0, n-start)
		for i := start; i < n; i++ {
			resid = append(resid, y[i]-a-b*x[i])
		}
		runs = countRuns(resid)
		if runs > criticalRuns(len(resid)) || n-start == 3 {
			return start, a, b, runs, true
		}
	}
	return 0, 0, 0, 0, false
}

// ladFit finds the least-absolute-deviation line by bisection on the slope:
// for a slope the best intercept is the median of y - b·x, and the slope is
// right where the x-weighted sum of residual signs changes sign.
func ladFit(x, y []float64) (a, b float64) {
	intercept := func(b float64) float64 {
		d := make([]float64, len(x))
		for i := range x {
			d[i] = y[i] - b*x[i]
		}
		return median(d)
	}
	score := func(b float64) float64 {
		a := intercept(b)
		s := 0.0
		for i := range x {
			r := y[i] - a - b*x[i]
			switch {
			case r > 0:
				s += x[i]
			case r < 0:
				s -= x[i]
			}
		}
		return s
	}
	// Start from the least-squares slope and widen until the score brackets 0.
	b0 := lsSlope(x, y)
	span := math.Max(1e-6, math.Abs(b0))
	lo, hi := b0-span, b0+span
	for i := 0; i < 60 && score(lo)*score(hi) > 0; i++ {
		span *= 2
		lo, hi = b0-span, b0+span
	}
	for i := 0; i < 200 && hi-lo > regressionTolerance; i++ {
		mid := (lo + hi) / 2
		if score(lo)*score(mid) <= 0 {
			hi = mid
		} else {
			lo = mid
		}
	}
	b = (lo + hi) / 2
	return intercept(b), b
}

func lsSlope(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	if sxx == 0 {
		return 0
	}
	return sxy / sxx
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// countRuns counts runs of residuals with the same sign.
func countRuns(r []float64) int {
	if len(r) == 0 {
		return 0
	}
	runs := 1
	for i := 1; i < len(r); i++ {
		if (r[i] > 0) != (r[i-1] > 0) {
			runs++
		}
	}
	return runs
}

// criticalRuns is the one-sided 5 % bound of the number of runs of n random
// signs (normal approximation): fewer runs than this mean the line does not
// fit the oldest points.
func criticalRuns(n int) int {
	if n < 3 {
		return 0
	}
	mean := float64(n+1) / 2
	sd := math.Sqrt(float64(n-1)) / 2
	return int(math.Floor(mean - 1.645*sd))
}

// HandleChange keeps the samples and coefficients in the cooked timescale
// when the clock is corrected (register on the Clock).
func (t *Tracker) HandleChange(c clock.Change) {
	if c.Type == clock.ChangeUnknownStep {
		t.rtc, t.system = t.rtc[:0], t.system[:0]
	}
	for i, s := range t.system {
		elapsed := s.Sub(c.Cooked).Seconds()
		t.system[i] = s.Add(time.Duration(math.Round((elapsed*c.DFreq - c.DOffset) * 1e9)))
	}
	if t.valid {
		t.secondsFst += c.DOffset
		t.gainRate += c.DFreq * (1 - t.gainRate)
	}
}

// Coefs returns the current coefficients for the rtcfile.
func (t *Tracker) Coefs() Coefs {
	return Coefs{Valid: t.valid, RefTime: time.Unix(t.refTime, 0).UTC(), Offset: t.secondsFst, GainRatePPM: 1e6 * t.gainRate}
}

// Report returns chronyc rtcdata's fields.
func (t *Tracker) Report() Report {
	r := Report{RefTime: time.Unix(t.refTime, 0).UTC(), Samples: len(t.rtc), Runs: t.runs,
		SecondsFast: t.secondsFst, GainRatePPM: 1e6 * t.gainRate}
	if n := len(t.rtc); n > 0 {
		r.Span = time.Duration(t.rtc[n-1]-t.rtc[0]) * time.Second
	}
	return r
}

// SystemTimeFromRTC returns the true-time estimate for an RTC reading using
// the coefficients (chronyd -s with an rtcfile); ok is false without valid
// coefficients.
func (t *Tracker) SystemTimeFromRTC(rtcTime time.Time) (time.Time, bool) {
	if !t.valid {
		return time.Time{}, false
	}
	fast := t.secondsFst + t.gainRate*float64(rtcTime.Unix()-t.refTime)
	return rtcTime.Add(-time.Duration(math.Round(fast * 1e9))), true
}

// NeedsTrim applies rtcautotrim: the RTC should be set to the system time
// when its offset is above threshold (s), the coefficients are fresh and
// the daemon is synchronised.
func (t *Tracker) NeedsTrim(threshold float64, synchronised bool) bool {
	return threshold > 0 && t.valid && t.sinceFit == 0 && synchronised && math.Abs(t.secondsFst) >= threshold
}
