package reference

import (
	"math"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
)

// isLeapSecondDay allows leap seconds only on 30 June and 31 December.
func isLeapSecondDay(t time.Time) bool {
	u := t.UTC()
	return (u.Month() == time.June && u.Day() == 30) || (u.Month() == time.December && u.Day() == 31)
}

// updateLeapStatus merges the sources' leap indicator with the leap second
// database and arms the leap timer. raw zero means "no current time".
func (r *Reference) updateLeapStatus(leap discipline.LeapStatus, raw time.Time, reset bool) {
	leapSec, tai := 0, 0
	if !raw.IsZero() {
		dbLeap, dbTAI := r.leaps.get(raw)
		tai = dbTAI
		if leap == discipline.LeapNormal {
			leap = dbLeap
		}
	}
	if leap == discipline.LeapInsertSecond || leap == discipline.LeapDeleteSecond {
		if !raw.IsZero() && isLeapSecondDay(raw) {
			leapSec = 1
			if leap == discipline.LeapDeleteSecond {
				leapSec = -1
			}
		} else {
			leap = discipline.LeapNormal
		}
	}
	if (leapSec != r.leapSec || tai != r.taiOffset) && !r.leapClose(raw) {
		r.leapSec, r.taiOffset = leapSec, tai
		if r.opts.LeapMode == LeapModeSystem {
			r.clk.SetSystemLeap(leapSec, tai)
		}
		r.setLeapTimeout(raw)
	} else if reset {
		r.setLeapTimeout(raw)
	}
	r.leap = leap
}

// setLeapTimeout arms the timer for the leap second's start.
func (r *Reference) setLeapTimeout(raw time.Time) {
	r.leapTimer = time.Time{}
	r.leapEnd = false
	r.leapActive = false
	if r.leapSec == 0 || raw.IsZero() {
		return
	}
	r.leapWhen = (raw.Unix()/86400 + 1) * 86400
	when := time.Unix(r.leapWhen, 0)
	if r.leapSec < 0 {
		when = when.Add(-time.Second)
	}
	if r.opts.LeapMode == LeapModeSystem {
		when = when.Add(-time.Second / 2)
	}
	r.leapTimer = when
}

func (r *Reference) isLeapClose(t int64) bool {
	return r.leapWhen != 0 && t >= r.leapWhen-leapSecondClose && t < r.leapWhen+leapSecondClose
}

func (r *Reference) leapClose(raw time.Time) bool {
	if raw.IsZero() {
		raw = r.clk.ReadRaw()
	}
	return r.isLeapClose(raw.Unix()) || r.isLeapClose(r.clk.Cook(raw).Unix())
}

// IsLeapSecondClose reports whether the time ts (or ts+offset) or now is
// within 5 s of a leap second, when sources must not be trusted.
func (r *Reference) IsLeapSecondClose(ts time.Time, offset float64) bool {
	if r.leapClose(time.Time{}) {
		return true
	}
	if ts.IsZero() {
		return false
	}
	return r.isLeapClose(ts.Unix()) || r.isLeapClose(addSeconds(ts, offset).Unix())
}

// TAIOffset returns TAI-UTC at t from the leap second database (0 unknown).
func (r *Reference) TAIOffset(t time.Time) int {
	_, tai := r.leaps.get(t)
	return tai
}

func (r *Reference) leapStart() {
	r.leapActive = true
	switch r.opts.LeapMode {
	case LeapModeSystem:
	case LeapModeSlew:
		r.clk.NotifyLeap(r.leapSec)
		_ = r.clk.AccumulateOffset(float64(r.leapSec), 0)
		r.log.Warnf("Adjusting system clock for leap second")
	case LeapModeStep:
		r.clk.NotifyLeap(r.leapSec)
		_ = r.clk.ApplyStep(float64(r.leapSec))
		r.log.Warnf("System clock was stepped for leap second")
	case LeapModeIgnore:
		r.log.Warnf("Ignoring leap second")
	}
	r.leapTimer = r.clk.ReadCooked().Add(2 * time.Second)
	r.leapEnd = true
}

func (r *Reference) leapFinish() {
	r.leapTimer = time.Time{}
	r.leapEnd = false
	r.leapActive = false
	if r.taiOffset != 0 {
		r.taiOffset += r.leapSec
	}
	r.leapSec = 0
	if r.opts.LeapMode == LeapModeSystem {
		r.clk.SetSystemLeap(0, r.taiOffset)
	}
	if r.leap == discipline.LeapInsertSecond || r.leap == discipline.LeapDeleteSecond {
		r.leap = discipline.LeapNormal
	}
}

// NextTimeout returns the cooked time at which HandleTimeout must run (the
// leap second timers and the fallback drift timer), if any.
func (r *Reference) NextTimeout() (time.Time, bool) {
	var next time.Time
	for _, t := range []time.Time{r.leapTimer, r.fbTimer} {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next, !next.IsZero()
}

// HandleTimeout runs the timers that are due at the clock's cooked time.
func (r *Reference) HandleTimeout(now time.Time) {
	cooked := r.clk.ReadCooked()
	if !r.leapTimer.IsZero() && !cooked.Before(r.leapTimer) {
		if r.leapEnd {
			r.leapFinish()
		} else {
			r.leapStart()
		}
	}
	if !r.fbTimer.IsZero() && !cooked.Before(r.fbTimer) {
		r.fbTimer = time.Time{}
		r.clk.SetFrequency(r.fbDrifts[r.nextFbDrift-r.opts.FallbackDriftMin].freq)
		r.SetUnsynchronised(now)
	}
}

// updateFbDrifts feeds the fallback drift averages.
func (r *Reference) updateFbDrifts(freqPPM, interval float64) {
	if r.nextFbDrift > 0 {
		r.nextFbDrift = 0
	}
	r.fbTimer = time.Time{}
	// chronyd compares with last_ref_update_interval after it already holds
	// the current interval, so in effect only short intervals are skipped.
	if interval < 1 || interval > r.lastRefUpdateInterval*4 {
		return
	}
	for i := range r.fbDrifts {
		secs := float64(int(1) << (i + r.opts.FallbackDriftMin))
		d := &r.fbDrifts[i]
		if d.secs < secs {
			d.freq = (d.freq*d.secs + interval*0.5*freqPPM) / (interval*0.5 + d.secs)
			d.secs += interval * 0.5
		} else {
			d.freq += (1 - 1/math.Exp(interval/secs)) * (freqPPM - d.freq)
		}
	}
}

// scheduleFbDrift switches to the best fallback drift for the time without
// synchronisation and arms the timer for the next one.
func (r *Reference) scheduleFbDrift(now, cooked time.Time) {
	if !r.fbTimer.IsZero() || now.IsZero() {
		return
	}
	unsync := 0.0
	if !r.lastRefUpdate.IsZero() {
		unsync = now.Sub(r.lastRefUpdate).Seconds()
	}
	c, secs := 0, 0
	i := r.opts.FallbackDriftMin
	for ; i <= r.opts.FallbackDriftMax; i++ {
		secs = 1 << i
		if r.fbDrifts[i-r.opts.FallbackDriftMin].secs < float64(secs) {
			continue
		}
		if unsync < float64(secs) && i > r.nextFbDrift {
			break
		}
		c = i
	}
	if c > r.nextFbDrift {
		r.clk.SetFrequency(r.fbDrifts[c-r.opts.FallbackDriftMin].freq)
		r.nextFbDrift = c
	}
	if i <= r.opts.FallbackDriftMax {
		r.nextFbDrift = i
		r.fbTimer = addSeconds(cooked, float64(secs)-unsync)
	}
}
