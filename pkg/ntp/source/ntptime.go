package source

import (
	"math"
	"net/netip"
	"time"

	"github.com/chronygo/chronygo/pkg/ntp/wire"
)

// toNTP64 converts a time to the NTP 64-bit format; the zero time maps to 0.
func toNTP64(t time.Time) uint64 { return uint64(wire.FromTime(t)) }

// fromNTP64 converts an NTP timestamp to the time nearest to pivot that
// has these low 32 bits of seconds, so any NTP era works.
func fromNTP64(v uint64, pivot time.Time) time.Time { return wire.Timestamp(v).Time(pivot) }

// ntpShortToSeconds converts the 16.16 root delay/dispersion format.
func ntpShortToSeconds(v uint32) float64 { return wire.ShortToSeconds(v) }

// secondsToNTPShort converts to 16.16, rounding up and saturating.
func secondsToNTPShort(x float64) uint32 { return wire.ShortFromSeconds(x) }

// log2ToSeconds converts a log2 interval (poll, precision) to seconds.
func log2ToSeconds(l int) float64 { return math.Ldexp(1, l) }

// RefIDOfAddr is the NTP reference ID of an address: the IPv4 address
// itself, or the first 4 bytes of the MD5 digest of an IPv6 address.
func RefIDOfAddr(a netip.Addr) uint32 { return wire.RefIDOf(a) }

// secondsToDuration converts float seconds to a Duration, rounding.
func secondsToDuration(s float64) time.Duration {
	return time.Duration(math.Round(s * 1e9))
}

// diffSeconds is a-b in seconds.
func diffSeconds(a, b time.Time) float64 { return a.Sub(b).Seconds() }

// averageAndDiff returns the midpoint of a and b and b-a in seconds.
func averageAndDiff(a, b time.Time) (time.Time, float64) {
	d := b.Sub(a)
	return a.Add(d / 2), d.Seconds()
}
