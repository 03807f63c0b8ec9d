package discipline

import (
	"math"
	"time"
)

// LeapStatus is the leap indicator of a source or of the reference, with the
// values of the NTP LI field.
type LeapStatus uint8

// Leap indicator values.
const (
	LeapNormal         LeapStatus = 0
	LeapInsertSecond   LeapStatus = 1
	LeapDeleteSecond   LeapStatus = 2
	LeapUnsynchronised LeapStatus = 3
)

// String returns the wording of chronyc tracking's "Leap status" line.
func (l LeapStatus) String() string {
	switch l {
	case LeapNormal:
		return "Normal"
	case LeapInsertSecond:
		return "Insert second"
	case LeapDeleteSecond:
		return "Delete second"
	default:
		return "Not synchronised"
	}
}

// Sample is one measurement of a time source, in chrony's terms. Offset uses
// chrony's sign: positive means the local clock is ahead of the source (the
// negative of RFC 5905's theta). All durations are in seconds.
type Sample struct {
	// Time is the local (cooked) time the measurement refers to.
	Time time.Time
	// Offset of the local clock relative to the source, in seconds.
	Offset float64
	// PeerDelay is the round-trip delay to the source, in seconds.
	PeerDelay float64
	// PeerDispersion is the dispersion of this measurement, in seconds.
	PeerDispersion float64
	// RootDelay is the source's root delay plus PeerDelay, in seconds.
	RootDelay float64
	// RootDispersion is the source's root dispersion plus PeerDispersion.
	RootDispersion float64
	// Stratum is the source's stratum as received.
	Stratum int
	// Leap is the source's leap indicator.
	Leap LeapStatus
}

// LocalRefID is the reference ID of the local reference (127.127.1.1).
const LocalRefID uint32 = 0x7F7F0101

// ReferenceSnapshot is the immutable view of the reference that the engine
// publishes (through an atomic pointer) for the NTP server and cmdmon. It is
// never modified after publication: the engine builds a new one instead.
type ReferenceSnapshot struct {
	// Synchronised is true when a source or the local reference is in use.
	Synchronised bool
	// Leap is the leap indicator to serve.
	Leap LeapStatus
	// Stratum is the stratum the server puts in its responses (the
	// reference's stratum plus one, or the local stratum; 0 when
	// unsynchronised).
	Stratum uint8
	// RefID is the reference ID to serve.
	RefID uint32
	// RefTime is the (cooked) time of the last reference update.
	RefTime time.Time
	// RootDelay is the root delay at RefTime, in seconds.
	RootDelay float64
	// RootDispersion is the root dispersion at RefTime, in seconds.
	RootDispersion float64
	// DispersionRate is how fast the root dispersion grows, in s/s
	// (skew plus maxclockerror).
	DispersionRate float64
	// Precision is the log2 of the clock's precision in seconds.
	Precision int8
	// CorrectionBase, CorrectionOffset and CorrectionFreq describe how to
	// turn a raw clock reading into cooked (true-time estimate) time when the
	// system clock is not being adjusted (-x or the virtual clock):
	// cooked = raw + CorrectionOffset + CorrectionFreq*(raw-CorrectionBase).
	// They are zero when the clock itself is disciplined.
	CorrectionBase   time.Time
	CorrectionOffset float64
	CorrectionFreq   float64
	// Smoothing is the time smoothing (smoothtime) the server applies to
	// the timestamps it hands out; nil when smoothtime is not configured.
	Smoothing *Smoothing
}

// Cook converts a raw clock reading into the daemon's best estimate of true
// time using the snapshot's correction.
func (r *ReferenceSnapshot) Cook(raw time.Time) time.Time {
	if r == nil || (r.CorrectionOffset == 0 && r.CorrectionFreq == 0) {
		return raw
	}
	elapsed := raw.Sub(r.CorrectionBase).Seconds()
	corr := r.CorrectionOffset + r.CorrectionFreq*elapsed
	return raw.Add(time.Duration(math.Round(corr * 1e9)))
}

// RootDispersionAt returns the root dispersion grown up to the cooked time now.
func (r *ReferenceSnapshot) RootDispersionAt(now time.Time) float64 {
	age := now.Sub(r.RefTime).Seconds()
	if age < 0 {
		age = 0
	}
	return r.RootDispersion + age*r.DispersionRate
}

// SmoothStage is one piece of the smoothtime ramp: for Length seconds the
// frequency of the smoothing changes at Wander (s/s²).
type SmoothStage struct {
	Wander float64
	Length float64
}

// Smoothing is the state of the time smoothing (smoothtime) at its last
// update: enough to compute the smoothing offset at any later cooked time
// without asking the engine. Served time is cooked time plus OffsetAt.
type Smoothing struct {
	// Offset (s) and Freq (s/s) of the smoothing at LastUpdate (cooked
	// time). A positive Freq shrinks the offset: served time runs slower.
	Offset     float64
	Freq       float64
	LastUpdate time.Time
	// Stages are the ramp's three pieces from LastUpdate on: frequency
	// change up to the maximum, constant frequency, change back to zero.
	Stages [3]SmoothStage
	// Quantum is the clock's precision (s): a smoothing offset no larger
	// is not applied (the server then serves its plain reference).
	Quantum float64
	// SuppressLeap hides an announced leap second from clients
	// (leapsecmode slew with smoothtime: a leap smear).
	SuppressLeap bool
}

// At returns the smoothing offset (s), frequency (s/s) and wander (s/s²)
// at cooked time now, following the stages from LastUpdate.
func (s *Smoothing) At(now time.Time) (offset, freq, wander float64) {
	elapsed := now.Sub(s.LastUpdate).Seconds()
	offset, freq = s.Offset, s.Freq
	for _, st := range s.Stages {
		if elapsed <= 0 {
			break
		}
		length := min(st.Length, elapsed)
		wander = st.Wander
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

// OffsetAt returns the smoothing offset (s) at cooked time now.
func (s *Smoothing) OffsetAt(now time.Time) float64 {
	offset, _, _ := s.At(now)
	return offset
}

// ServedOffset returns the offset (s) the server adds to the timestamps
// of a response made at cooked time now: zero without smoothing or when
// the offset is within the clock's precision.
func (r *ReferenceSnapshot) ServedOffset(now time.Time) float64 {
	if r == nil || r.Smoothing == nil {
		return 0
	}
	offset := r.Smoothing.OffsetAt(now)
	if math.Abs(offset) <= r.Smoothing.Quantum {
		return 0
	}
	return offset
}
