package reference

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
)

func isBadDrift(err error) bool { return errors.Is(err, ErrBadDriftFile) }

// Params are the reference parameters served at a given cooked time
// (chronyd's REF_GetReferenceParams).
type Params struct {
	// Synchronised is true only for a real source (false for the local
	// reference, as chronyd reports it).
	Synchronised bool
	// Local is true when the local reference is active.
	Local          bool
	Leap           discipline.LeapStatus
	Stratum        int
	RefID          uint32
	RefTime        time.Time
	RootDelay      float64
	RootDispersion float64
}

// Params returns the reference parameters at cooked time cooked; now is the
// engine's event time.
func (r *Reference) Params(now, cooked time.Time) Params {
	var dispersion float64
	var waitOK bool
	if r.synchronised {
		dispersion = r.rootDispersionAt(cooked)
		waitOK = cooked.Sub(r.refTime).Seconds() >= r.local.WaitSynced
	} else {
		waitOK = now.Sub(r.unsyncSince).Seconds() >= r.local.WaitUnsynced
	}
	distance := r.rootDelay/2 + dispersion
	if r.local.Activate == 0 || (r.synchronised && distance < r.local.Activate) {
		r.localActivated = true
	}
	localOK := r.localEnabled && r.localActivated && waitOK

	switch {
	case r.synchronised && !(localOK && distance > r.local.Distance):
		leap := r.leap
		if r.leapActive {
			leap = discipline.LeapUnsynchronised
		}
		return Params{Synchronised: true, Leap: leap, Stratum: r.stratum, RefID: r.refID,
			RefTime: r.refTime, RootDelay: r.rootDelay, RootDispersion: dispersion}
	case localOK:
		delta := cooked.Sub(r.localRefTime).Seconds()
		if r.localRefTime.IsZero() || delta > localRefUpdateInterval || delta < 1 {
			r.localRefTime = addSeconds(cooked, -1-r.rand())
		}
		return Params{Local: true, Leap: discipline.LeapNormal, Stratum: r.local.Stratum,
			RefID: discipline.LocalRefID, RefTime: r.localRefTime}
	default:
		return Params{Leap: discipline.LeapUnsynchronised, Stratum: maxStratum, RefID: refIDUnsync,
			RootDelay: 1, RootDispersion: 1}
	}
}

// Snapshot builds the immutable reference the engine publishes. It must be
// rebuilt after every reference update and clock timeout, because it holds
// the clock's current raw-to-cooked correction.
func (r *Reference) Snapshot(now time.Time) *discipline.ReferenceSnapshot {
	_, cooked, _ := r.now()
	p := r.Params(now, cooked)
	corr := r.clk.Correction()
	s := &discipline.ReferenceSnapshot{
		Synchronised:     p.Synchronised || p.Local,
		Leap:             p.Leap,
		RefID:            p.RefID,
		RefTime:          p.RefTime,
		RootDelay:        p.RootDelay,
		RootDispersion:   p.RootDispersion,
		Precision:        r.clk.PrecisionLog(),
		CorrectionBase:   corr.Base,
		CorrectionOffset: corr.Offset,
		CorrectionFreq:   corr.Freq,
	}
	if s.Synchronised {
		s.Stratum = uint8(p.Stratum)
	}
	if p.Synchronised {
		// Publish the dispersion at RefTime and its growth rate, so that
		// RootDispersionAt gives chronyd's value at any later time.
		s.RootDispersion = r.rootDispersion
		s.DispersionRate = r.skew + math.Abs(r.residualFreq) + r.clk.MaxClockError()
	}
	s.Smoothing = r.smoothingSnapshot()
	return s
}

// Tracking is everything chronyc tracking shows.
type Tracking struct {
	RefID   uint32
	RefIP   netip.Addr // invalid when the reference has no address
	Stratum int
	Leap    discipline.LeapStatus
	RefTime time.Time
	// CurrentCorrection is "System time": the offset (s) still to correct,
	// positive when the clock is slow (cooked - raw).
	CurrentCorrection float64
	LastOffset        float64 // s
	RMSOffset         float64 // s
	FreqPPM           float64 // the clock's absolute frequency
	ResidFreqPPM      float64
	SkewPPM           float64
	RootDelay         float64 // s
	RootDispersion    float64 // s
	UpdateInterval    float64 // s
}

// Tracking returns the tracking report at the engine time now.
func (r *Reference) Tracking(now time.Time) Tracking {
	_, cooked, corr := r.now()
	p := r.Params(now, cooked)
	t := Tracking{
		RefID: p.RefID, Stratum: p.Stratum, Leap: p.Leap, RefTime: p.RefTime,
		RootDelay: p.RootDelay, RootDispersion: p.RootDispersion,
		CurrentCorrection: corr,
		FreqPPM:           r.clk.Frequency(),
		UpdateInterval:    r.lastRefUpdateInterval,
		LastOffset:        r.lastOffset,
		RMSOffset:         math.Sqrt(r.avg2Offset),
	}
	if t.Stratum == maxStratum && !p.Synchronised {
		t.Stratum = 0
	}
	if p.Synchronised {
		t.RefIP = r.refIP
		t.ResidFreqPPM = 1e6 * r.residualFreq
		t.SkewPPM = 1e6 * r.skew
	}
	return t
}

// TrackingLogHeader is the header line of tracking.log.
const TrackingLogHeader = "   Date (UTC) Time     IP Address   St   Freq ppm   Skew ppm     Offset L Co  Offset sd Rem. corr. Root delay Root disp. Max. error"

// TrackingLogLine formats one tracking.log line as chronyd does.
func TrackingLogLine(when time.Time, ref string, stratum int, freqPPM, skewPPM, offset float64,
	leap discipline.LeapStatus, combined int, offsetSD, remCorr, rootDelay, rootDisp, maxError float64) string {
	codes := [4]byte{'N', '+', '-', '?'}
	return fmt.Sprintf("%s %-15s %2d %10.3f %10.3f %10.3e %c %2d %10.3e %10.3e %10.3e %10.3e %10.3e",
		when.UTC().Format("2006-01-02 15:04:05"), ref, stratum, freqPPM, skewPPM, offset,
		codes[leap&3], combined, offsetSD, remCorr, rootDelay, rootDisp, maxError)
}

// RefIDString renders a reference ID as chronyd's logs do: printable ASCII
// characters of the four bytes.
func RefIDString(id uint32) string {
	b := make([]byte, 0, 4)
	for i := 3; i >= 0; i-- {
		c := byte(id >> (8 * i))
		if c >= 32 && c < 127 {
			b = append(b, c)
		}
	}
	return string(b)
}

func (r *Reference) writeLog(cooked time.Time, combined int, freq, offset, offsetSD, uncorrected, origRootDistance float64) {
	if r.opts.TrackingLog == nil {
		return
	}
	maxError := origRootDistance + math.Abs(r.lastSysOffset)
	r.lastSysOffset = offset - uncorrected
	ref := RefIDString(r.refID)
	if r.refIP.IsValid() {
		ref = r.refIP.String()
	}
	r.opts.TrackingLog(TrackingLogLine(cooked, ref, r.stratum, freq, 1e6*r.skew, offset, r.leap,
		combined, offsetSD, uncorrected, r.rootDelay, r.rootDispersionAt(cooked), maxError))
}
