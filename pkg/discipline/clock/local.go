package clock

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrStepFailed is returned when the driver could not step the clock.
var ErrStepFailed = errors.New("could not step system clock")

// Local implements Clock over a system-specific driver: it keeps the
// absolute frequency, enforces maxdrift, checks offsets for sanity and
// dispatches change notifications, like chronyd's local.c.
type Local struct {
	drv           driver
	freqPPM       float64
	maxFreqPPM    float64
	maxClockError float64
	precision     float64
	precisionLog  int8
	changes       []ChangeHandler
	dispersions   []DispersionHandler
	log           Logger
}

func newLocal(opts Options) *Local {
	opts = opts.withDefaults()
	l := &Local{
		maxFreqPPM:    opts.MaxDrift,
		maxClockError: opts.MaxClockError * 1e-6,
		log:           opts.Logger,
	}
	l.precision, l.precisionLog = PrecisionFromQuantum(opts.Precision)
	return l
}

// attach connects the driver and reads its initial frequency.
func (l *Local) attach(d driver) {
	l.drv = d
	l.freqPPM = d.readFrequency()
}

// ReadRaw implements Clock.
func (l *Local) ReadRaw() time.Time { return l.drv.readRaw() }

// OffsetCorrection implements Clock.
func (l *Local) OffsetCorrection(raw time.Time) (float64, float64) {
	return l.drv.offsetCorrection(raw)
}

// Cook implements Clock.
func (l *Local) Cook(raw time.Time) time.Time {
	corr, _ := l.drv.offsetCorrection(raw)
	return addSeconds(raw, corr)
}

// ReadCooked implements Clock.
func (l *Local) ReadCooked() time.Time { return l.Cook(l.ReadRaw()) }

// Correction implements Clock.
func (l *Local) Correction() Correction { return l.drv.correction() }

// Frequency implements Clock.
func (l *Local) Frequency() float64 { return l.freqPPM }

func (l *Local) clampFreq(ppm float64) float64 {
	if ppm <= l.maxFreqPPM && ppm >= -l.maxFreqPPM {
		return ppm
	}
	l.log.Warnf("Frequency %.1f ppm exceeds allowed maximum", ppm)
	return math.Max(-l.maxFreqPPM, math.Min(ppm, l.maxFreqPPM))
}

func (l *Local) rawAndCooked() (time.Time, time.Time) {
	raw := l.drv.readRaw()
	return raw, l.Cook(raw)
}

func (l *Local) notify(c Change) {
	for _, h := range l.changes {
		h(c)
	}
}

func (l *Local) notifyDispersion(d float64) {
	for _, h := range l.dispersions {
		h(d)
	}
}

// SetFrequency implements Clock.
func (l *Local) SetFrequency(ppm float64) {
	ppm = l.drv.setFrequency(l.clampFreq(ppm))
	dfreq := (ppm - l.freqPPM) / (1e6 - l.freqPPM)
	raw, cooked := l.rawAndCooked()
	l.notify(Change{Raw: raw, Cooked: cooked, DFreq: dfreq, Type: ChangeAdjust})
	l.freqPPM = ppm
}

// AccumulateDeltaFrequency implements Clock.
func (l *Local) AccumulateDeltaFrequency(dfreq float64) {
	old := l.freqPPM
	l.freqPPM = l.drv.setFrequency(l.clampFreq(old + dfreq*(1e6-old)))
	dfreq = (l.freqPPM - old) / (1e6 - old)
	raw, cooked := l.rawAndCooked()
	l.notify(Change{Raw: raw, Cooked: cooked, DFreq: dfreq, Type: ChangeAdjust})
}

// offsetSane reports whether t - offset is a usable time (finite, after the
// Unix epoch and before the end of the unsigned 32-bit range chrony allows).
func (l *Local) offsetSane(t time.Time, offset float64) bool {
	if math.IsNaN(offset) || math.IsInf(offset, 0) {
		return false
	}
	s := float64(t.Unix()) + float64(t.Nanosecond())*1e-9 - offset
	if s >= 0 && s < 1<<32 {
		return true
	}
	l.log.Warnf("Adjustment of %.1f seconds is invalid", -offset)
	return false
}

// AccumulateOffset implements Clock.
func (l *Local) AccumulateOffset(offset, corrRate float64) error {
	raw, cooked := l.rawAndCooked()
	if !l.offsetSane(cooked, offset) {
		return fmt.Errorf("invalid adjustment of %.1f seconds", -offset)
	}
	l.drv.accrueOffset(offset, corrRate)
	l.notify(Change{Raw: raw, Cooked: cooked, DOffset: offset, Type: ChangeAdjust})
	return nil
}

// AccumulateFrequencyAndOffset implements Clock.
func (l *Local) AccumulateFrequencyAndOffset(dfreq, offset, corrRate float64) error {
	raw, cooked := l.rawAndCooked()
	if !l.offsetSane(cooked, offset) {
		return fmt.Errorf("invalid adjustment of %.1f seconds", -offset)
	}
	old := l.freqPPM
	l.freqPPM = l.drv.setFrequency(l.clampFreq(old + dfreq*(1e6-old)))
	dfreq = (l.freqPPM - old) / (1e6 - old)
	l.drv.accrueOffset(offset, corrRate)
	l.notify(Change{Raw: raw, Cooked: cooked, DFreq: dfreq, DOffset: offset, Type: ChangeAdjust})
	return nil
}

// ApplyStep implements Clock.
func (l *Local) ApplyStep(offset float64) error {
	raw, cooked := l.rawAndCooked()
	if !l.offsetSane(raw, offset) {
		return fmt.Errorf("invalid step of %.1f seconds", -offset)
	}
	if err := l.drv.applyStep(offset); err != nil {
		l.log.Errorf("Could not step system clock")
		return fmt.Errorf("%w: %w", ErrStepFailed, err)
	}
	l.drv.stepped(offset)
	l.notify(Change{Raw: raw, Cooked: cooked, DOffset: offset, Type: ChangeStep})
	return nil
}

// MakeStep implements Clock: it steps away the whole remaining correction
// and returns the step made (s, positive = clock moved forward), like
// chronyc makestep.
func (l *Local) MakeStep() (float64, error) {
	raw := l.drv.readRaw()
	corr, _ := l.drv.offsetCorrection(raw)
	if !l.offsetSane(raw, -corr) {
		return 0, fmt.Errorf("invalid step of %.1f seconds", corr)
	}
	if err := l.AccumulateOffset(corr, 0); err != nil {
		return 0, err
	}
	if err := l.ApplyStep(-corr); err != nil {
		_ = l.AccumulateOffset(-corr, 0)
		return 0, err
	}
	l.log.Warnf("System clock was stepped by %.6f seconds", corr)
	return corr, nil
}

// CancelOffsetCorrection implements Clock.
func (l *Local) CancelOffsetCorrection() {
	corr, _ := l.drv.offsetCorrection(l.drv.readRaw())
	_ = l.AccumulateOffset(corr, 0)
}

// NotifyExternalStep tells the clock and its handlers that somebody else
// stepped the clock by offset (s) with the given dispersion (s).
func (l *Local) NotifyExternalStep(raw, cooked time.Time, offset, dispersion float64) {
	l.CancelOffsetCorrection()
	l.notify(Change{Raw: raw, Cooked: cooked, DOffset: offset, Type: ChangeUnknownStep})
	l.notifyDispersion(dispersion)
}

// NotifyLeap implements Clock.
func (l *Local) NotifyLeap(leap int) {
	raw, cooked := l.rawAndCooked()
	l.notify(Change{Raw: raw, Cooked: cooked, DOffset: -float64(leap), Type: ChangeStep, Leap: true})
}

// SetSyncStatus implements Clock.
func (l *Local) SetSyncStatus(synchronised bool, estError, maxError float64) {
	l.drv.setSyncStatus(synchronised, estError, maxError)
}

// CanSystemLeap implements Clock.
func (l *Local) CanSystemLeap() bool { return l.drv.canLeap() }

// SetSystemLeap implements Clock.
func (l *Local) SetSystemLeap(leap, taiOffset int) {
	if l.drv.canLeap() {
		l.drv.setLeap(leap, taiOffset)
	}
}

// Precision implements Clock.
func (l *Local) Precision() float64 { return l.precision }

// PrecisionLog implements Clock.
func (l *Local) PrecisionLog() int8 { return l.precisionLog }

// MaxClockError implements Clock.
func (l *Local) MaxClockError() float64 { return l.maxClockError }

// AddChangeHandler implements Clock.
func (l *Local) AddChangeHandler(h ChangeHandler) { l.changes = append(l.changes, h) }

// AddDispersionHandler implements Clock.
func (l *Local) AddDispersionHandler(h DispersionHandler) {
	l.dispersions = append(l.dispersions, h)
}

// NextTimeout implements Clock.
func (l *Local) NextTimeout() (time.Time, bool) { return l.drv.nextTimeout() }

// HandleTimeout implements Clock.
func (l *Local) HandleTimeout() { l.drv.handleTimeout() }

// Close implements Clock.
func (l *Local) Close() { l.drv.close() }

// addSeconds adds a float number of seconds to t, rounded to nanoseconds.
func addSeconds(t time.Time, s float64) time.Time {
	return t.Add(time.Duration(math.Round(s * 1e9)))
}

// diffSeconds returns a - b in seconds.
func diffSeconds(a, b time.Time) float64 { return a.Sub(b).Seconds() }
