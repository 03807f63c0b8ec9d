package reference

import (
	"math"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline/clock"
)

// unlockSkewWanderRatio is the skew/maxwander ratio below which smoothing
// starts following the clock's corrections.
const unlockSkewWanderRatio = 10000

// smoothStage is one stage of the smoothing: the frequency changes at
// wander (s/s²) for length seconds.
type smoothStage struct {
	wander float64
	length float64
}

// SmoothState is an immutable picture of the time smoothing (smoothtime)
// at its last update, enough to compute the smoothing offset at any time
// without the Smoother; the serving path can hold one.
type SmoothState struct {
	stages     [3]smoothStage
	offset     float64
	freq       float64
	lastUpdate time.Time
}

// at returns offset (s), frequency (s/s) and wander (s/s²) at cooked now.
func (s SmoothState) at(now time.Time) (offset, freq, wander float64) {
	elapsed := now.Sub(s.lastUpdate).Seconds()
	offset, freq = s.offset, s.freq
	for _, st := range s.stages {
		if elapsed <= 0 {
			break
		}
		length := math.Min(st.length, elapsed)
		wander = st.wander
		offset -= length * (2*freq + wander*length) / 2
		freq += wander * length
		elapsed -= length
	}
	if elapsed > 0 {
		wander = 0
		offset -= elapsed * freq
	}
	return offset, freq, wander
}

// Offset returns the smoothing offset (s) to add to cooked time now for
// what the server hands out.
func (s SmoothState) Offset(now time.Time) float64 {
	o, _, _ := s.at(now)
	return o
}

// SmoothingReport is what chronyc smoothing shows.
type SmoothingReport struct {
	Active        bool
	LeapOnly      bool
	Offset        float64 // s
	FreqPPM       float64 // positive = smoothed time runs faster
	WanderPPM     float64 // ppm per second
	LastUpdateAgo float64 // s
	RemainingTime float64 // s
}

// Smoother is chronyd's smoothtime: it spreads the clock's corrections
// (offset and frequency) into a frequency ramp limited by maxfreq and
// maxwander, so that served time has no jumps.
type Smoother struct {
	maxFreq   float64 // s/s
	maxWander float64 // s/s²
	leapOnly  bool
	locked    bool
	skew      func() float64
	log       Logger
	state     SmoothState
}

// NewSmoother creates the smoothing for smoothtime MAXFREQ MAXWANDER
// [leaponly] (ppm and ppm/s); skew returns the reference's skew (s/s). It
// returns nil when either limit is not positive (smoothing off). The caller
// registers HandleChange on the clock.
func NewSmoother(maxFreqPPM, maxWanderPPM float64, leapOnly bool, skew func() float64, log Logger) *Smoother {
	if maxFreqPPM <= 0 || maxWanderPPM <= 0 {
		return nil
	}
	if log == nil {
		log = discardLogger{}
	}
	return &Smoother{maxFreq: maxFreqPPM * 1e-6, maxWander: maxWanderPPM * 1e-6, leapOnly: leapOnly,
		locked: true, skew: skew, log: log}
}

// State returns the current immutable smoothing state.
func (s *Smoother) State() SmoothState { return s.state }

// Offset returns the smoothing offset (s) at cooked now.
func (s *Smoother) Offset(now time.Time) float64 { return s.state.Offset(now) }

func (s *Smoother) updateStages() {
	st := &s.state
	s1 := st.offset / s.maxWander
	s2 := st.freq * st.freq / (2 * s.maxWander * s.maxWander)
	var l1t, l3t, errs [2]float64
	for i, dir := 0, -1.0; i <= 1; i, dir = i+1, dir+2 {
		v := dir*s1 + s2
		if v < 0 {
			errs[i] += -v
			v = 0
		}
		l3t[i] = math.Sqrt(v)
		l1t[i] = l3t[i] - dir*st.freq/s.maxWander
		if l1t[i] < 0 {
			errs[i] += l1t[i] * l1t[i]
			l1t[i] = 0
		}
	}
	l1, l3, dir := l1t[1], l3t[1], 1.0
	if errs[0] < errs[1] {
		l1, l3, dir = l1t[0], l3t[0], -1
	}
	l2 := 0.0
	if f := dir*st.freq + l1*s.maxWander - s.maxFreq; f > 0 {
		lc := f / s.maxWander
		f2 := s.maxFreq
		if lc > l1 {
			lc = l1
			f2 = dir * st.freq
		}
		l2 = lc * (2 + f/f2)
		l1 -= lc
		l3 -= lc
	}
	st.stages = [3]smoothStage{{dir * s.maxWander, l1}, {0, l2}, {-dir * s.maxWander, l3}}
}

func (s *Smoother) update(now time.Time, offset, freq float64) {
	if s.locked {
		if s.skew()/s.maxWander < unlockSkewWanderRatio || s.leapOnly {
			s.Activate(now)
		}
		return
	}
	o, f, _ := s.state.at(now)
	s.state.offset = o + offset
	s.state.freq = (f - freq) / (1 - freq)
	s.state.lastUpdate = now
	s.updateStages()
}

// HandleChange follows the clock's corrections (register on the Clock).
// Steps reset the smoothing; leap notifications are smoothed in leaponly
// mode.
func (s *Smoother) HandleChange(c clock.Change) {
	switch {
	case c.Type == clock.ChangeAdjust && s.leapOnly:
		s.update(c.Cooked, 0, 0)
	case c.Type == clock.ChangeAdjust:
		s.update(c.Cooked, c.DOffset, c.DFreq)
	case c.Leap:
		if s.leapOnly {
			s.update(c.Cooked, -c.DOffset, 0)
		}
	case c.Type == clock.ChangeStep:
		s.Reset(c.Cooked)
	}
	if !s.state.lastUpdate.IsZero() {
		elapsed := s.state.lastUpdate.Sub(c.Cooked).Seconds()
		s.state.lastUpdate = addSeconds(s.state.lastUpdate, elapsed*c.DFreq-c.DOffset)
	}
}

// Activate starts smoothing (chronyc smoothtime activate).
func (s *Smoother) Activate(now time.Time) {
	if !s.locked {
		return
	}
	what := ""
	if s.leapOnly {
		what = " (leap seconds only)"
	}
	s.log.Infof("Activated time smoothing%s", what)
	s.locked = false
	s.state.lastUpdate = now
}

// Reset drops the smoothed offset and frequency (chronyc smoothtime reset).
func (s *Smoother) Reset(now time.Time) {
	s.state = SmoothState{lastUpdate: now}
	s.log.Infof("Reset time smoothing")
}

// Report returns chronyc smoothing's fields at cooked now.
func (s *Smoother) Report(now time.Time) SmoothingReport {
	o, f, w := s.state.at(now)
	r := SmoothingReport{Active: !s.locked, LeapOnly: s.leapOnly, Offset: o, FreqPPM: -1e6 * f, WanderPPM: -1e6 * w}
	elapsed := now.Sub(s.state.lastUpdate).Seconds()
	if !s.locked && elapsed >= 0 {
		total := 0.0
		for _, st := range s.state.stages {
			total += st.length
		}
		r.LastUpdateAgo = elapsed
		r.RemainingTime = math.Max(0, total-elapsed)
	}
	return r
}
