package reference

import (
	"math"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
)

// unlockSkewWanderRatio is the skew/maxwander ratio below which smoothing
// starts following the clock's corrections.
const unlockSkewWanderRatio = 10000

// SmoothOptions is the smoothtime directive.
type SmoothOptions struct {
	// MaxFreqPPM is the largest frequency offset of the smoothed time
	// (ppm) and MaxWanderPPM the largest rate of its change (ppm/s).
	MaxFreqPPM, MaxWanderPPM float64
	// LeapOnly smooths leap seconds only (leaponly).
	LeapOnly bool
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
// maxwander, so that served time has no jumps. The ramp has three stages:
// the frequency changes at maxwander up to at most maxfreq, stays there as
// long as needed, and changes back to zero; its integral is the offset to
// smooth out.
type Smoother struct {
	maxFreq   float64 // s/s
	maxWander float64 // s/s²
	leapOnly  bool
	locked    bool
	skew      func() float64
	log       Logger
	state     discipline.Smoothing
}

// NewSmoother creates the smoothing for smoothtime MAXFREQ MAXWANDER
// [leaponly] (ppm and ppm/s); skew returns the reference's skew (s/s). It
// returns nil when either limit is not positive (smoothing off). The caller
// registers HandleChange on the clock.
func NewSmoother(maxFreqPPM, maxWanderPPM float64, leapOnly bool, skew func() float64, log Logger) *Smoother {
	if !(maxFreqPPM > 0) || !(maxWanderPPM > 0) {
		return nil
	}
	if log == nil {
		log = discardLogger{}
	}
	return &Smoother{maxFreq: maxFreqPPM * 1e-6, maxWander: maxWanderPPM * 1e-6, leapOnly: leapOnly,
		locked: true, skew: skew, log: log}
}

// State returns a copy of the smoothing's ramp from its last update
// (Quantum and SuppressLeap are the caller's to fill in).
func (s *Smoother) State() discipline.Smoothing { return s.state }

// Offset returns the smoothing offset (s) at cooked now.
func (s *Smoother) Offset(now time.Time) float64 { return s.state.OffsetAt(now) }

// LeapOnly reports whether only leap seconds are smoothed (leaponly).
func (s *Smoother) LeapOnly() bool { return s.leapOnly }

// Active reports whether the smoothing follows the clock's corrections
// (it starts locked until the skew is small enough or chronyc activates
// it).
func (s *Smoother) Active() bool { return !s.locked }

// updateStages plans the ramp that brings the current offset and
// frequency to zero: the lengths of the first and third stages without a
// frequency limit, then, if the limit is reached, a second stage at the
// maximum frequency instead of their tops.
func (s *Smoother) updateStages() {
	st := &s.state
	offsetTerm := st.Offset / s.maxWander
	freqTerm := st.Freq * st.Freq / (2 * s.maxWander * s.maxWander)
	// Try both directions of the first stage; tiny offsets may give a
	// slightly negative length either way, so keep the smaller error.
	type plan struct{ first, last, err float64 }
	var plans [2]plan
	for i, dir := range [2]float64{-1, 1} {
		v := dir*offsetTerm + freqTerm
		p := plan{}
		if v < 0 {
			p.err -= v
			v = 0
		}
		p.last = math.Sqrt(v)
		p.first = p.last - dir*st.Freq/s.maxWander
		if p.first < 0 {
			p.err += p.first * p.first
			p.first = 0
		}
		plans[i] = p
	}
	dir, chosen := 1.0, plans[1]
	if plans[0].err < plans[1].err {
		dir, chosen = -1, plans[0]
	}
	first, last, middle := chosen.first, chosen.last, 0.0
	if excess := dir*st.Freq + first*s.maxWander - s.maxFreq; excess > 0 {
		cut := excess / s.maxWander
		top := s.maxFreq
		if cut > first {
			// Already above the maximum: no first stage.
			cut = first
			top = dir * st.Freq
		}
		middle = cut * (2 + excess/top)
		first -= cut
		last -= cut
	}
	st.Stages = [3]discipline.SmoothStage{
		{Wander: dir * s.maxWander, Length: first},
		{Length: middle},
		{Wander: -dir * s.maxWander, Length: last},
	}
}

// update folds a correction of the clock (offset s, relative frequency
// dfreq) into the smoothing at cooked now.
func (s *Smoother) update(now time.Time, offset, dfreq float64) {
	if s.locked {
		if s.leapOnly || s.skew()/s.maxWander < unlockSkewWanderRatio {
			s.Activate(now)
		}
		return
	}
	o, f, _ := s.state.At(now)
	s.state.Offset = o + offset
	s.state.Freq = (f - dfreq) / (1 - dfreq)
	s.state.LastUpdate = now
	s.updateStages()
}

// HandleChange follows the clock's corrections (register it on the
// Clock). Steps reset the smoothing; a leap second announced by the clock
// is smoothed in leaponly mode (otherwise its slew arrives as an ordinary
// correction).
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
	if !s.state.LastUpdate.IsZero() {
		elapsed := s.state.LastUpdate.Sub(c.Cooked).Seconds()
		s.state.LastUpdate = addSeconds(s.state.LastUpdate, elapsed*c.DFreq-c.DOffset)
	}
}

// Activate starts smoothing (chronyc smoothtime activate); it does nothing
// when already active.
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
	s.state.LastUpdate = now
}

// Reset drops the smoothed offset and frequency (chronyc smoothtime reset
// and every step of the clock).
func (s *Smoother) Reset(now time.Time) {
	s.state = discipline.Smoothing{LastUpdate: now}
	s.log.Infof("Reset time smoothing")
}

// Report returns chronyc smoothing's fields at cooked now.
func (s *Smoother) Report(now time.Time) SmoothingReport {
	o, f, w := s.state.At(now)
	r := SmoothingReport{Active: !s.locked, LeapOnly: s.leapOnly, Offset: o, FreqPPM: -1e6 * f, WanderPPM: -1e6 * w}
	elapsed := now.Sub(s.state.LastUpdate).Seconds()
	if !s.locked && elapsed >= 0 {
		total := 0.0
		for _, st := range s.state.Stages {
			total += st.Length
		}
		r.LastUpdateAgo = elapsed
		r.RemainingTime = math.Max(0, total-elapsed)
	}
	return r
}

// Smoother returns the smoothtime smoothing, nil when not configured.
func (r *Reference) Smoother() *Smoother { return r.smooth }

// smoothingSnapshot is the smoothing state to publish, nil without
// smoothtime. With leapsecmode slew a leap second is smeared, so clients
// are not told about it.
func (r *Reference) smoothingSnapshot() *discipline.Smoothing {
	if r.smooth == nil {
		return nil
	}
	st := r.smooth.State()
	st.Quantum = r.clk.Precision()
	st.SuppressLeap = r.opts.LeapMode == LeapModeSlew
	return &st
}
