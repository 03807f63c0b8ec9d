package sim

import "math"

// Limits are a scenario's pass limits, as in chrony's simulation suite.
type Limits struct {
	MinSync, MaxSync float64 // sync time window, seconds
	MaxTime, RMSTime float64 // seconds
	MaxFreq, RMSFreq float64 // s/s
}

// DefaultLimits are the suite's default limits.
func DefaultLimits() Limits {
	return Limits{MinSync: 120, MaxSync: 210, MaxTime: 1e-3, RMSTime: 3e-4, MaxFreq: 5e-4, RMSFreq: 1e-5}
}

// Result holds the statistics of one client over one run.
type Result struct {
	// SyncTime is the first time (s) after which the time and frequency
	// errors stay within the maximum limits; +Inf when they never do.
	SyncTime float64
	// MaxTime and RMSTime are over |true time error| (s), MaxFreq and
	// RMSFreq over |true frequency error| (s/s), both from the scenario's
	// maximum sync time to the end of the run.
	MaxTime, RMSTime, MaxFreq, RMSFreq float64
}

// Check lists the limits a result violates (empty when it passes).
func (r Result) Check(l Limits) []string {
	var bad []string
	if !(r.SyncTime >= l.MinSync && r.SyncTime <= l.MaxSync) {
		bad = append(bad, "sync time")
	}
	if !(r.MaxTime <= l.MaxTime) {
		bad = append(bad, "max time")
	}
	if !(r.RMSTime <= l.RMSTime) {
		bad = append(bad, "rms time")
	}
	if !(r.MaxFreq <= l.MaxFreq) {
		bad = append(bad, "max freq")
	}
	if !(r.RMSFreq <= l.RMSFreq) {
		bad = append(bad, "rms freq")
	}
	return bad
}

// collector accumulates per-second error samples of one client.
type collector struct {
	limits      Limits
	lastBad     float64
	everSampled bool
	n           int
	sumT, sumF  float64
	maxT, maxF  float64
}

func newCollector(l Limits) *collector { return &collector{limits: l, lastBad: math.Inf(-1)} }

// add records the errors at true time t (seconds since the epoch).
func (c *collector) add(t, timeErr, freqErr float64) {
	at, af := math.Abs(timeErr), math.Abs(freqErr)
	c.everSampled = true
	if !(at <= c.limits.MaxTime && af <= c.limits.MaxFreq) {
		c.lastBad = t
	}
	if t < c.limits.MaxSync {
		return
	}
	c.n++
	c.sumT += at * at
	c.sumF += af * af
	c.maxT = math.Max(c.maxT, at)
	c.maxF = math.Max(c.maxF, af)
	if math.IsNaN(at) || math.IsNaN(af) {
		c.maxT, c.maxF = math.Inf(1), math.Inf(1)
	}
}

// result finishes the statistics at the end time end.
func (c *collector) result(end float64) Result {
	r := Result{MaxTime: c.maxT, MaxFreq: c.maxF}
	if c.n > 0 {
		r.RMSTime = math.Sqrt(c.sumT / float64(c.n))
		r.RMSFreq = math.Sqrt(c.sumF / float64(c.n))
	}
	switch {
	case !c.everSampled || c.lastBad >= end-1:
		r.SyncTime = math.Inf(1)
	case math.IsInf(c.lastBad, -1):
		r.SyncTime = 0
	default:
		r.SyncTime = c.lastBad + 1
	}
	return r
}
