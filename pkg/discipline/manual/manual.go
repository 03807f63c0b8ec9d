package manual

import (
	"errors"
	"time"
)

// MaxSamples is how many manual samples are kept; the oldest goes first.
const MaxSamples = 16

// MinSeparation is the least time between two accepted samples.
const MinSeparation = time.Second

// regressionTolerance is the precision of the fitted frequency (s/s).
const regressionTolerance = 1e-8

// Skew is the skew (s/s) a manual reference is given: 0.1, printed as
// 0.099999999 in the logs as chronyd does.
const Skew = 0.099999999

// maxSaneOffset is the largest offset (s) an entered time may be from the
// clock: 2^32 s, chronyd's limit.
const maxSaneOffset = 1 << 32

// Errors of Accept and Delete.
var (
	// ErrDisabled: manual input is off.
	ErrDisabled = errors.New("manual input disabled")
	// ErrTooSoon: less than MinSeparation after the previous sample.
	ErrTooSoon = errors.New("manual sample too close to the previous one")
	// ErrInsane: the entered time is not a plausible time.
	ErrInsane = errors.New("manual sample out of range")
	// ErrBadIndex: no sample with that index.
	ErrBadIndex = errors.New("manual sample index out of range")
)

// Sample is one manual entry.
type Sample struct {
	// When is the (cooked) local time it was entered, moved with the
	// clock's corrections since.
	When time.Time
	// Offset is how far the clock was ahead of the entered time (s),
	// corrected for the clock's changes since (chronyc's "slewed").
	Offset float64
	// OrigOffset is Offset as entered.
	OrigOffset float64
	// Residual is the sample's distance from the last fit (measured minus
	// predicted, s).
	Residual float64
}

// Estimate is what the samples say about the clock; the caller applies it
// as a manual reference at its time: slew the clock by Slew and change its
// frequency by Frequency.
type Estimate struct {
	// Slew is the offset (s, positive: clock ahead) to correct.
	Slew float64
	// Offset is the fitted offset at the newest sample (s); with a single
	// sample, the entered offset.
	Offset float64
	// Frequency is how much faster than true time the clock runs (s/s)
	// by the fit (0 without one): the reference's frequency estimate,
	// which it corrects; chronyc prints it as the frequency change.
	Frequency float64
	// Fitted tells whether the frequency comes from a fit (two samples or
	// more).
	Fitted bool
}

// Input is the state of manual time input. It is not safe for concurrent
// use: the engine's loop owns it.
type Input struct {
	enabled bool
	samples []Sample
}

// New returns the manual input, enabled by the manual directive.
func New(enabled bool) *Input { return &Input{enabled: enabled} }

// Enabled tells whether settime is accepted.
func (m *Input) Enabled() bool { return m.enabled }

// SetEnabled turns manual input on or off (chronyc manual on/off); the
// samples stay.
func (m *Input) SetEnabled(on bool) { m.enabled = on }

// Reset forgets every sample (chronyc manual reset, an unknown clock step).
func (m *Input) Reset() { m.samples = m.samples[:0] }

// Samples returns a copy of the samples, oldest first.
func (m *Input) Samples() []Sample { return append([]Sample(nil), m.samples...) }

// Accept takes the true time entered at the local cooked time now (chronyc
// settime) and returns the estimate to apply.
func (m *Input) Accept(now, entered time.Time) (Estimate, error) {
	if !m.enabled {
		return Estimate{}, ErrDisabled
	}
	if entered.Unix() <= 0 {
		return Estimate{}, ErrInsane
	}
	if n := len(m.samples); n > 0 && now.Sub(m.samples[n-1].When) < MinSeparation {
		return Estimate{}, ErrTooSoon
	}
	offset := now.Sub(entered).Seconds()
	if !(offset > -maxSaneOffset && offset < maxSaneOffset) {
		return Estimate{}, ErrInsane
	}
	if len(m.samples) == MaxSamples {
		m.samples = append(m.samples[:0], m.samples[1:]...)
	}
	m.samples = append(m.samples, Sample{When: now, Offset: offset, OrigOffset: offset})
	return m.estimate(offset, true), nil
}

// Delete removes the sample with index i (chronyc manual delete) and
// returns the new estimate from the samples left.
func (m *Input) Delete(i int) (Estimate, error) {
	if i < 0 || i >= len(m.samples) {
		return Estimate{}, ErrBadIndex
	}
	m.samples = append(m.samples[:i], m.samples[i+1:]...)
	return m.estimate(0, false), nil
}

// estimate fits the samples: the frequency from a robust fit when there
// are two or more, the slew from the entered offset when given, else from
// the fit. It stores the residuals.
func (m *Input) estimate(entered float64, haveEntered bool) Estimate {
	n := len(m.samples)
	est := Estimate{}
	var b0, b1 float64
	if haveEntered {
		b0 = entered
	}
	ago := make([]float64, n)
	off := make([]float64, n)
	for i, s := range m.samples {
		ago[i] = m.samples[n-1].When.Sub(s.When).Seconds()
		off[i] = s.Offset
	}
	if n > 1 {
		if line, ok := RobustFit(ago, off, regressionTolerance); ok {
			// The offset is the newest entry as typed (an outlier is
			// simply entered again); only the frequency is fitted.
			b0, b1 = line.Intercept, line.Slope
			est.Frequency, est.Fitted = -b1, true
		}
	}
	est.Offset = b0
	est.Slew = b0
	if haveEntered {
		est.Slew = entered
	}
	if n == 1 && !haveEntered {
		// A single sample left by a deletion: nothing to fit or slew.
		off[0] = 0
	}
	for i := range m.samples {
		m.samples[i].Residual = off[i] - (b0 + ago[i]*b1)
	}
	return est
}

// Slew moves the samples with a clock correction made at cooked time
// when: a frequency change dfreq (s/s) and an offset doffset (s) (the
// engine's clock change handler).
func (m *Input) Slew(when time.Time, dfreq, doffset float64) {
	for i := range m.samples {
		s := &m.samples[i]
		elapsed := when.Sub(s.When).Seconds()
		delta := elapsed*dfreq - doffset
		s.When = s.When.Add(time.Duration(delta * float64(time.Second)))
		s.Offset += delta
	}
}
