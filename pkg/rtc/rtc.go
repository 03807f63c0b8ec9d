// Package rtc holds chronyd's real-time clock settings and files: which RTC
// mode applies (the kernel's 11-minute mode with rtcsync, RTC tracking with
// rtcfile, or none, in which case chronyc rtcdata gets NORTC), the rtcfile
// coefficients and the hwclock adjtime file. With rtcfile, Driver (sans-IO)
// decides when the RTC is read, feeds the readings to a Tracker, which
// estimates the RTC's offset and gain rate (the chronyc rtcdata report), and
// trims the RTC (trimrtc, rtcautotrim). A Device reads and sets the RTC:
// TrackedDevice is the real one, kept open as chronyd keeps it and only
// read except when trimming; a failed reading is a ReadError whose
// ReadFailure tells the driver what to do next (retry, wait for trimrtc,
// or stop for good). LinuxDevice reads the RTC once for chronyd -s.
//
// rtcsync itself works through the clock driver: clock.Options.RTCSync lets
// the timex driver clear STA_UNSYNC (with the reference's maximum and
// estimated errors) while the reference is synchronised, and sets it again
// when it is not; the kernel then copies the system time to the RTC every
// 11 minutes.
package rtc

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultDevice is rtcdevice's default.
const DefaultDevice = "/dev/rtc"

// Config is the RTC part of chrony.conf.
type Config struct {
	Sync        bool    // rtcsync
	File        string  // rtcfile
	Device      string  // rtcdevice (default /dev/rtc)
	OnUTC       bool    // rtconutc
	AutoTrim    float64 // rtcautotrim threshold (s), 0 off
	HwclockFile string  // hwclockfile
}

// Mode is how the daemon deals with the RTC.
type Mode int

// RTC modes.
const (
	// ModeNone: no RTC handling; cmdmon answers rtcdata with NORTC.
	ModeNone Mode = iota
	// ModeKernelSync: rtcsync, the kernel keeps the RTC in step.
	ModeKernelSync
	// ModeTracking: rtcfile, the daemon measures the RTC's offset and drift.
	ModeTracking
)

// ErrFileWithSync is chronyd's fatal configuration error.
var ErrFileWithSync = errors.New("rtcfile directive cannot be used with rtcsync")

// ChooseMode decides the RTC mode as chronyd does at start. deviceUsable
// reports whether the RTC device can be opened (the I/O shell checks). A
// missing device with rtcfile gives ModeNone and a non-fatal error to log
// ("RTC driver could not be initialised").
func ChooseMode(c Config, deviceUsable func(path string) bool) (Mode, error) {
	if c.File != "" {
		if c.Sync {
			return ModeNone, ErrFileWithSync
		}
		dev := c.Device
		if dev == "" {
			dev = DefaultDevice
		}
		if deviceUsable == nil || !deviceUsable(dev) {
			return ModeNone, fmt.Errorf("RTC driver could not be initialised: %s unusable", dev)
		}
		return ModeTracking, nil
	}
	if c.Sync {
		return ModeKernelSync, nil
	}
	return ModeNone, nil
}

// Coefs are the rtcfile contents: whether they are valid, the reference
// time, the RTC's offset (s, positive = RTC fast) at it and its gain rate.
type Coefs struct {
	Valid       bool
	RefTime     time.Time
	Offset      float64
	GainRatePPM float64
}

// ErrBadCoefs is returned for an rtcfile without four values.
var ErrBadCoefs = errors.New("could not read RTC coefficients")

// ParseCoefs parses an rtcfile ("valid reftime offset rate_ppm").
func ParseCoefs(text string) (Coefs, error) {
	f := strings.Fields(text)
	if len(f) < 4 {
		return Coefs{}, ErrBadCoefs
	}
	valid, err1 := strconv.Atoi(f[0])
	ref, err2 := strconv.ParseFloat(f[1], 64)
	off, err3 := strconv.ParseFloat(f[2], 64)
	rate, err4 := strconv.ParseFloat(f[3], 64)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return Coefs{}, fmt.Errorf("%w: %w", ErrBadCoefs, err)
	}
	// ParseFloat accepts "nan" and "inf"; such values (or a reference time
	// beyond int64 seconds) would poison the RTC correction.
	if !(math.Abs(ref) < 1e15) || math.IsNaN(off) || math.IsInf(off, 0) ||
		math.IsNaN(rate) || math.IsInf(rate, 0) {
		return Coefs{}, fmt.Errorf("%w: non-finite or out-of-range value", ErrBadCoefs)
	}
	return Coefs{Valid: valid != 0, RefTime: time.Unix(int64(ref), 0).UTC(), Offset: off, GainRatePPM: rate}, nil
}

// FormatCoefs renders an rtcfile as chronyd writes it.
func FormatCoefs(c Coefs) string {
	v := 0
	if c.Valid {
		v = 1
	}
	return fmt.Sprintf("%1d %d %.6f %.3f\n", v, c.RefTime.Unix(), c.Offset, c.GainRatePPM)
}

// LoadCoefs reads an rtcfile.
func LoadCoefs(path string) (Coefs, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Coefs{}, fmt.Errorf("rtcfile %s: %w", path, err)
	}
	c, err := ParseCoefs(string(b))
	if err != nil {
		return Coefs{}, fmt.Errorf("rtcfile %s: %w", path, err)
	}
	return c, nil
}

// ParseHwclock reads the LOCAL/UTC setting from the third line of an
// adjtime (hwclockfile) file; ok is false when the line is neither.
func ParseHwclock(text string) (onUTC, ok bool) {
	lines := strings.Split(text, "\n")
	if len(lines) < 3 {
		return false, false
	}
	l := strings.TrimSpace(lines[2])
	switch {
	case strings.HasPrefix(l, "LOCAL"):
		return false, true
	case strings.HasPrefix(l, "UTC"):
		return true, true
	}
	return false, false
}

// Report is what chronyc rtcdata shows.
type Report struct {
	RefTime     time.Time
	Samples     int
	Runs        int
	Span        time.Duration
	SecondsFast float64
	GainRatePPM float64
}

// ReportFromCoefs builds the rtcdata report from stored coefficients before
// any new measurement.
func ReportFromCoefs(c Coefs) Report {
	return Report{RefTime: c.RefTime, SecondsFast: c.Offset, GainRatePPM: c.GainRatePPM}
}
