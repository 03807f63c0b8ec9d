package chronyc

import (
	"fmt"
	"math"

	"github.com/chronygo/chronygo/pkg/discipline"
)

// Unit thresholds: a value is shown in the largest unit in which it still
// fits the column after rounding (chronyc rounds at .5 of the last digit).
const (
	secondsPerMinute = 60
	secondsPerHour   = 3600
	secondsPerDay    = 86400
	secondsPerYear   = 365 * secondsPerDay
)

// FormatInterval renders an interval in whole seconds in four columns as
// chronyc's LastRx/Last/Span columns do: seconds below 20 minutes, then
// minutes, hours, days and years. 0xffffffff (unknown) is "   -".
func FormatInterval(s uint32) string {
	switch {
	case s == math.MaxUint32:
		return "   -"
	case s < 1200:
		return fmt.Sprintf("%4d", s)
	case s < 36000:
		return fmt.Sprintf("%3dm", s/secondsPerMinute)
	case s < 345600:
		return fmt.Sprintf("%3dh", s/secondsPerHour)
	}
	days := s / secondsPerDay
	if days > 999 {
		return fmt.Sprintf("%3dy", days/365)
	}
	return fmt.Sprintf("%3dd", days)
}

// timeUnit is one step of the ns/us/ms/s/m/h/d/y ladder.
type timeUnit struct {
	below  float64 // applies to magnitudes below this many seconds
	scale  float64 // seconds per displayed unit
	suffix string
	prec   int // digits after the point
	width  int // columns of the unsigned number (the signed one takes one more)
}

// unitFor picks the step of the ns/us/ms/s/m/h/d ladder of chronyc's offset
// columns for a magnitude (years beyond it).
func unitFor(x float64) timeUnit {
	ladder := [...]timeUnit{
		{9999.5e-9, 1e-9, "ns", 0, 4},
		{9999.5e-6, 1e-6, "us", 0, 4},
		{9999.5e-3, 1e-3, "ms", 0, 4},
		{999.5, 1, "s", 1, 5},
		{99999.5, 1, "s", 0, 5},
		{99999.5 * secondsPerMinute, secondsPerMinute, "m", 0, 5},
		{99999.5 * secondsPerHour, secondsPerHour, "h", 0, 5},
		{99999.5 * secondsPerDay, secondsPerDay, "d", 0, 5},
	}
	for _, u := range ladder {
		if x < u.below {
			return u
		}
	}
	return timeUnit{scale: secondsPerYear, suffix: "y", width: 5}
}

// FormatDuration renders the magnitude of s seconds in six columns with a
// unit suffix (e.g. "  12us", " 1.5s"), as chronyc's error and deviation
// columns.
func FormatDuration(s float64) string {
	x := math.Abs(s)
	u := unitFor(x)
	return fmt.Sprintf("%*.*f%s", u.width, u.prec, x/u.scale, u.suffix)
}

// FormatSignedDuration renders s seconds with its sign in seven columns with
// a unit suffix (e.g. " +123us", "  -1.5s"), as chronyc's offset columns.
func FormatSignedDuration(s float64) string {
	u := unitFor(math.Abs(s))
	return fmt.Sprintf("%+*.*f%s", u.width+1, u.prec, s/u.scale, u.suffix)
}

// FormatFreq renders a frequency in ppm in ten columns (three decimals
// below 99999.5 ppm), optionally with its sign.
func FormatFreq(ppm float64, signed bool) string {
	prec := 3
	if math.Abs(ppm) >= 99999.5 {
		prec = 0
	}
	if signed {
		return fmt.Sprintf("%+10.*f", prec, ppm)
	}
	return fmt.Sprintf("%10.*f", prec, ppm)
}

// FormatClientInterval renders a log2 rate interval of chronyc clients in
// two columns, " -" when unknown (127).
func FormatClientInterval(rate int8) string {
	if rate == 127 {
		return " -"
	}
	return fmt.Sprintf("%2d", rate)
}

// LeapName returns the leap status as chronyc words it (long form) or as
// its one-character column (short form).
// The long form is discipline.LeapStatus's wording; a value outside the
// four leap indicators is "Invalid" ("?" in the column).
func LeapName(leap int, short bool) string {
	const columns = "N+-?" // indexed by the leap indicator
	if leap < 0 || leap >= len(columns) {
		if short {
			return "?"
		}
		return "Invalid"
	}
	if short {
		return columns[leap : leap+1]
	}
	return discipline.LeapStatus(leap).String()
}

// NTP modes shown by ntpdata.
const (
	ntpModeActive  = 1
	ntpModePassive = 2
	ntpModeServer  = 4
)

// ModeName returns the name of an NTP association mode as in ntpdata.
func ModeName(mode int) string {
	switch mode {
	case ntpModeActive:
		return "Symmetric active"
	case ntpModePassive:
		return "Symmetric passive"
	case ntpModeServer:
		return "Server"
	}
	return "Invalid"
}

// TimestampSourceName returns the name of a timestamping source character
// ('D', 'K', 'H') as in ntpdata.
func TimestampSourceName(c byte) string {
	switch c {
	case 'D':
		return "Daemon"
	case 'K':
		return "Kernel"
	case 'H':
		return "Hardware"
	}
	return "Invalid"
}

// RefIDText returns the printable characters of a reference ID (for
// reference clocks and stratum-1 servers), skipping the others.
func RefIDText(id uint32) string {
	var b []byte
	for shift := 24; shift >= 0; shift -= 8 {
		if c := byte(id >> uint(shift)); c >= 0x20 && c < 0x7f {
			b = append(b, c)
		}
	}
	return string(b)
}
