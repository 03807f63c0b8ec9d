package rtc

import (
	"fmt"
	"math"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline/clock"
)

// samplesAfterTrim is how many readings, one per RTC second, are taken
// after the RTC was set before its new offset is fitted and saved.
const samplesAfterTrim = 8

// TrimThreshold is the RTC error (s) below which trimrtc does nothing: the
// RTC can only be set to a whole second.
const TrimThreshold = 1.0

// Driver is the sans-IO RTC driver of rtcfile (chronyd's Linux RTC
// driver without its device): it decides when the RTC is read next, feeds
// the readings to a Tracker, applies rtcautotrim, and after a trim samples
// the RTC every second to relearn its offset, then asks for the rtcfile to
// be saved. The caller reads and sets the device, runs the timers and
// writes the file.
type Driver struct {
	tr        *Tracker
	autoTrim  float64
	afterTrim bool
	// initial is set during chronyd -s's fine setting, with the rtcfile's
	// coefficients in fileCoefs.
	initial   bool
	fileCoefs Coefs
	// savedGain is the gain rate (s/s) remembered at a trim, written with
	// the offset measured after it.
	savedGain float64
	// period is the measurement period set after the last reading.
	period time.Duration
}

// LogHeader is the column header of rtc.log (log rtc).
const LogHeader = "   Date (UTC) Time   RTC fast (s) Val   Est fast (s)   Slope (ppm)  Ns  Nr Meas"

// NewDriver starts a driver with rtcautotrim's threshold (s, 0 off). Like
// chronyd, it starts without valid coefficients: those of the rtcfile only
// serve chronyd -s.
func NewDriver(autoTrim float64) *Driver {
	return &Driver{tr: NewTracker(Coefs{}), autoTrim: autoTrim, period: MinMeasurementPeriod * time.Second}
}

// Outcome is what the caller does after a reading.
type Outcome struct {
	// Next is the delay before the next reading; zero asks for a reading
	// at the RTC's very next second (rapid sampling after a trim).
	Next time.Duration
	// Trim asks for the RTC to be trimmed now (rtcautotrim): call Trim.
	Trim bool
	// Save, when not nil, are coefficients to write to the rtcfile now.
	Save *Coefs
	// Log is the reading's rtc.log line (without a newline).
	Log string
	// Initial, when not nil, ends chronyd -s's fine setting (StartInitial).
	Initial *InitialResult
}

// InitialResult is the end of chronyd -s's fine setting: how far the
// system clock is off (s, positive: ahead), to be slewed away. Valid is
// false without valid rtcfile coefficients ("No valid rtcfile
// coefficients"), when nothing is to be done.
type InitialResult struct {
	Valid  bool
	Offset float64
}

// StartInitial begins chronyd -s's fine setting, once the clock was set
// from the RTC to about a second: the RTC is read every second, and after
// eight readings its measured offset is compared with the one the
// rtcfile's coefficients c predict; the difference is the system clock's
// error (Outcome.Initial).
func (d *Driver) StartInitial(c Coefs) {
	d.initial, d.afterTrim = true, false
	d.fileCoefs = c
	d.tr.reset()
}

// Period is the interval between readings in normal operation: 15 s
// while there are few samples, doubling up to 240 s as they accumulate.
func (d *Driver) Period() time.Duration {
	n := len(d.tr.rtc)
	shift := 4
	switch {
	case n < 4:
		shift = 0
	case n < 6:
		shift = 1
	case n < 10:
		shift = 2
	case n < 14:
		shift = 3
	}
	return time.Duration(MinMeasurementPeriod<<shift) * time.Second
}

// Initial reports whether chronyd -s's fine setting is under way
// (StartInitial was called and neither its eighth reading nor an error
// ended it).
func (d *Driver) Initial() bool { return d.initial }

// Rapid reports whether the driver is sampling every second: after a
// trim, or during chronyd -s's fine setting.
func (d *Driver) Rapid() bool { return d.afterTrim || d.initial }

// HandleReading takes a reading: the RTC showed rtcTime (a whole second)
// at its second boundary, when the cooked system time was sys.
// synchronised tells whether the daemon has a reference (stratum below
// 16), which rtcautotrim requires.
func (d *Driver) HandleReading(rtcTime, sys time.Time, synchronised bool) Outcome {
	out := d.process(rtcTime, sys, synchronised)
	out.Log = d.logLine(rtcTime, sys)
	d.period = d.Period()
	if !d.Rapid() {
		out.Next = d.period
	}
	return out
}

func (d *Driver) process(rtcTime, sys time.Time, synchronised bool) Outcome {
	var out Outcome
	if d.initial {
		return d.processInitial(rtcTime, sys)
	}
	if !d.afterTrim {
		d.tr.AddSample(rtcTime, sys)
		out.Trim = d.tr.NeedsTrim(d.autoTrim, synchronised)
		return out
	}
	d.tr.accumulate(rtcTime, sys)
	if d.tr.sinceFit < samplesAfterTrim {
		return out
	}
	if ref, fast, _, ok := d.tr.regress(); ok {
		out.Save = &Coefs{Valid: true, RefTime: time.Unix(ref, 0).UTC(), Offset: fast, GainRatePPM: 1e6 * d.savedGain}
	}
	d.tr.valid = false
	d.tr.reset()
	d.afterTrim = false
	return out
}

// processInitial takes a reading of the fine setting.
func (d *Driver) processInitial(rtcTime, sys time.Time) Outcome {
	d.tr.accumulate(rtcTime, sys)
	if d.tr.sinceFit < samplesAfterTrim {
		return Outcome{}
	}
	res := &InitialResult{}
	if ref, fast, _, ok := d.tr.regress(); ok && d.fileCoefs.Valid {
		c := d.fileCoefs
		rtcError := c.Offset + 1e-6*c.GainRatePPM*float64(ref-c.RefTime.Unix())
		res.Valid, res.Offset = true, rtcError-fast
	}
	d.tr.valid = false
	d.tr.reset()
	d.initial = false
	return Outcome{Initial: res}
}

// logLine formats a reading for rtc.log: the system time, how fast the
// RTC read, whether the coefficients are valid, the estimated offset and
// gain rate, the samples and runs and the measurement period.
func (d *Driver) logLine(rtcTime, sys time.Time) string {
	valid := 0
	if d.tr.valid {
		valid = 1
	}
	fast := float64(rtcTime.Unix()-sys.Unix()) - float64(sys.Nanosecond())*1e-9
	return fmt.Sprintf("%s %14.6f %1d  %14.6f  %12.3f  %2d  %2d %4d",
		sys.UTC().Format("2006-01-02 15:04:05"), fast, valid, d.tr.secondsFst,
		1e6*d.tr.gainRate, len(d.tr.rtc), d.tr.runs, int(d.period/time.Second))
}

// HandleError takes a failed reading: rapid sampling ends and the next
// reading is due after the returned delay.
func (d *Driver) HandleError() time.Duration {
	d.afterTrim = false
	d.initial = false
	return d.Period()
}

// Trim is trimrtc at the cooked time now. When the RTC is more than a
// second off, it remembers the gain rate, drops the samples, estimates
// the offset the RTC will have once set (it ticks half a second after
// being set) and returns the time to set it to (now's whole second);
// the caller sets the device and then reads it every second. fast is the
// error (s) that was trimmed. ok is false when there is nothing to do.
func (d *Driver) Trim(now time.Time) (setTo time.Time, fast float64, ok bool) {
	d.savedGain = d.tr.gainRate
	fast = d.tr.secondsFst
	if math.Abs(fast) <= TrimThreshold {
		return time.Time{}, fast, false
	}
	d.tr.reset()
	d.afterTrim = true
	d.initial = false
	d.tr.secondsFst = 0.5 - float64(now.Nanosecond())*1e-9
	d.tr.refTime = now.Unix()
	return time.Unix(now.Unix(), 0).UTC(), fast, true
}

// Coefs returns the coefficients for writertc and the exit; ok is false
// while they are not valid, in which case the rtcfile is left as it is.
func (d *Driver) Coefs() (Coefs, bool) {
	c := d.tr.Coefs()
	return c, c.Valid
}

// Report returns chronyc rtcdata's fields.
func (d *Driver) Report() Report { return d.tr.Report() }

// HandleChange follows a correction of the system clock (register it on
// the Clock).
func (d *Driver) HandleChange(c clock.Change) { d.tr.HandleChange(c) }
