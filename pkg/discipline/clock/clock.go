package clock

import (
	"math"
	"time"
)

// ChangeType says how the clock was changed.
type ChangeType int

// Kinds of clock changes.
const (
	// ChangeAdjust is a frequency change or an offset to be slewed.
	ChangeAdjust ChangeType = iota
	// ChangeStep is a step of the clock made by the daemon.
	ChangeStep
	// ChangeUnknownStep is a step made by somebody else (detected).
	ChangeUnknownStep
)

// Change describes one change of the clock's parameters. Raw and Cooked are
// the readings just before the change. DFreq is the relative frequency change
// (s/s) and DOffset the offset (s, positive = clock was ahead) removed from
// the clock.
type Change struct {
	Raw     time.Time
	Cooked  time.Time
	DFreq   float64
	DOffset float64
	Type    ChangeType
	// Leap marks a ChangeStep that announces a leap second (NotifyLeap)
	// rather than a correction of the clock.
	Leap bool
}

// ChangeHandler is told about every change of the clock (chrony's parameter
// change handlers); sources use it to slew their samples.
type ChangeHandler func(Change)

// DispersionHandler is told about extra dispersion (s) introduced by a clock
// operation, to be added to every source's samples.
type DispersionHandler func(dispersion float64)

// Correction is the linear relation between raw and cooked time at the
// moment: cooked = raw + Offset + Freq*(raw-Base) seconds. It matches the
// Correction* fields of discipline.ReferenceSnapshot.
type Correction struct {
	Base   time.Time
	Offset float64
	Freq   float64
}

// At returns the correction (s) to add to the raw time.
func (c Correction) At(raw time.Time) float64 {
	return c.Offset + c.Freq*raw.Sub(c.Base).Seconds()
}

// Clock is the local clock of chronyd's local.c. Every method works on the
// clock's own notion of raw time; timeouts are in raw time too.
type Clock interface {
	// ReadRaw returns the uncorrected clock reading.
	ReadRaw() time.Time
	// OffsetCorrection returns the correction (s) to add to raw to get cooked
	// time and a bound on its error (s).
	OffsetCorrection(raw time.Time) (corr, errBound float64)
	// Cook converts a raw reading into cooked time.
	Cook(raw time.Time) time.Time
	// ReadCooked returns the cooked (corrected) time.
	ReadCooked() time.Time
	// Correction returns the current linear raw-to-cooked correction.
	Correction() Correction

	// Frequency returns the absolute frequency correction in ppm.
	Frequency() float64
	// SetFrequency sets the absolute frequency correction in ppm.
	SetFrequency(ppm float64)
	// AccumulateDeltaFrequency adds dfreq (s/s) to the frequency correction.
	AccumulateDeltaFrequency(dfreq float64)
	// AccumulateOffset adds an offset (s) to be slewed; corrRate is chrony's
	// suggested correction rate (offset × correction time, s²).
	AccumulateOffset(offset, corrRate float64) error
	// AccumulateFrequencyAndOffset does both in one change.
	AccumulateFrequencyAndOffset(dfreq, offset, corrRate float64) error
	// ApplyStep steps the clock by -offset (offset > 0: clock is ahead).
	ApplyStep(offset float64) error
	// MakeStep cancels the offset being slewed by stepping it away.
	MakeStep() (float64, error)
	// CancelOffsetCorrection stops slewing the remaining offset.
	CancelOffsetCorrection()
	// NotifyLeap tells handlers the clock is leaping by leap seconds (+1
	// inserted, -1 deleted) as if it was stepped.
	NotifyLeap(leap int)

	// SetSyncStatus publishes the synchronisation status with estimated and
	// maximum errors (s) to the system (kernel STA_UNSYNC etc.).
	SetSyncStatus(synchronised bool, estError, maxError float64)
	// CanSystemLeap says whether SetSystemLeap reaches a kernel.
	CanSystemLeap() bool
	// SetSystemLeap arms the kernel's leap second (+1 insert, -1 delete, 0
	// none) and sets the TAI-UTC offset if not zero.
	SetSystemLeap(leap, taiOffset int)

	// Precision returns the clock's precision in seconds.
	Precision() float64
	// PrecisionLog returns the precision as a log2 value.
	PrecisionLog() int8
	// MaxClockError returns maxclockerror as s/s.
	MaxClockError() float64

	// AddChangeHandler registers a handler for clock changes.
	AddChangeHandler(h ChangeHandler)
	// AddDispersionHandler registers a handler for added dispersion.
	AddDispersionHandler(h DispersionHandler)

	// NextTimeout returns the raw time at which HandleTimeout must be
	// called (the end of a slew), if any.
	NextTimeout() (time.Time, bool)
	// HandleTimeout runs the driver's timer work (start the next slew).
	HandleTimeout()
	// Close leaves the system clock in a sane state (no slew running).
	Close()
}

// Options are the local clock's settings from chrony.conf.
type Options struct {
	// MaxDrift is maxdrift in ppm (default 500000).
	MaxDrift float64
	// MaxClockError is maxclockerror in ppm (default 1).
	MaxClockError float64
	// Precision is clockprecision in seconds; when zero it must be measured
	// by the caller (see MeasurePrecision) and passed here. Clamped to
	// [1e-9, 1]. Zero with no measurement falls back to 1e-9.
	Precision float64
	// MaxSlewRate is maxslewrate in ppm (default 83333.333), used by the
	// slewing drivers.
	MaxSlewRate float64
	// RTCSync is the rtcsync directive: on Linux the kernel's UNSYNC flag is
	// cleared only with it.
	RTCSync bool
	// Logger receives chronyd-worded warnings; nil discards.
	Logger Logger
}

// Logger is the small logging surface the clock needs (logrus.FieldLogger
// satisfies it).
type Logger interface {
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
}

type discardLogger struct{}

func (discardLogger) Infof(string, ...any)  {}
func (discardLogger) Warnf(string, ...any)  {}
func (discardLogger) Errorf(string, ...any) {}

// Defaults of the clock options (chronyd's).
const (
	DefaultMaxDrift      = 500000.0
	DefaultMaxClockError = 1.0
	DefaultMaxSlewRate   = 1e6 / 12
)

func (o Options) withDefaults() Options {
	if o.MaxDrift == 0 {
		o.MaxDrift = DefaultMaxDrift
	}
	o.MaxDrift = math.Min(math.Max(o.MaxDrift, 0), 500000)
	if o.MaxClockError == 0 {
		o.MaxClockError = DefaultMaxClockError
	}
	if o.MaxSlewRate == 0 {
		o.MaxSlewRate = DefaultMaxSlewRate
	}
	if o.Logger == nil {
		o.Logger = discardLogger{}
	}
	return o
}

// PrecisionFromQuantum clamps a precision in seconds to chronyd's range and
// returns it with its rounded log2.
func PrecisionFromQuantum(q float64) (float64, int8) {
	if !(q > 1e-9) {
		q = 1e-9
	}
	if q > 1 {
		q = 1
	}
	return q, int8(math.Round(math.Log2(q)))
}

// MeasurePrecision estimates the clock's resolution the way chronyd does:
// the smallest positive difference seen between 100 increments of read. The
// number of reads is bounded by maxReads.
func MeasurePrecision(read func() time.Time, maxReads int) float64 {
	best := time.Second
	prev := read()
	seen := 0
	for i := 0; i < maxReads && seen < 100; i++ {
		t := read()
		d := t.Sub(prev)
		prev = t
		if d > 0 {
			seen++
			if d < best {
				best = d
			}
		}
	}
	return best.Seconds()
}
