// Package wire holds the NTP wire format helpers shared by the NTP client
// (pkg/ntp/source) and server (pkg/ntp/server): the 64-bit and 32-bit NTP
// time formats, the LI/VN/Mode byte, reference IDs, precision and a
// validating packet decoder that follows chronyd's rules.
//
// The packet type is github.com/facebook/time/ntp/protocol.Packet.
package wire

import (
	"crypto/md5" //#nosec G501 -- chrony's reference ID of an IPv6 address is defined with MD5
	"encoding/binary"
	"math"
	"net/netip"
	"time"
)

// Protocol constants.
const (
	// HeaderLen is the length of the fixed NTP header.
	HeaderLen = 48
	// MaxPacketLen is the longest NTP packet chronyd accepts: the header,
	// 1024 octets of extension fields and the longest MAC.
	MaxPacketLen = HeaderLen + 1024 + MaxMACLen
	// MinMACLen and MaxMACLen bound a legacy MAC: a key ID plus a 16 to 64
	// octet digest.
	MinMACLen = 4 + 16
	MaxMACLen = 4 + 64
	// MaxV4MACLen is the longest MAC RFC 7822 lets follow extension fields
	// in an NTPv4 packet.
	MaxV4MACLen = 4 + 20
	// MinEFLen is the shortest valid extension field.
	MinEFLen = 16
	// Version is the highest protocol version spoken.
	Version = 4
	// MinVersion is the lowest accepted protocol version.
	MinVersion = 1
	// MaxStratum is the NTP "infinity" stratum.
	MaxStratum = 16
	// Port is the NTP port.
	Port = 123
)

// Mode is the NTP association mode.
type Mode uint8

// NTP modes.
const (
	ModeUndefined Mode = 0
	ModeActive    Mode = 1
	ModePassive   Mode = 2
	ModeClient    Mode = 3
	ModeServer    Mode = 4
	ModeBroadcast Mode = 5
	ModeControl   Mode = 6
	ModePrivate   Mode = 7
)

// String names the mode.
func (m Mode) String() string {
	switch m {
	case ModeUndefined:
		return "undefined"
	case ModeActive:
		return "active"
	case ModePassive:
		return "passive"
	case ModeClient:
		return "client"
	case ModeServer:
		return "server"
	case ModeBroadcast:
		return "broadcast"
	case ModeControl:
		return "control"
	default:
		return "private"
	}
}

// LVM packs the leap indicator, version and mode into the first octet.
func LVM(leap uint8, version uint8, mode Mode) uint8 {
	return (leap&3)<<6 | (version&7)<<3 | uint8(mode)&7
}

// LeapOf returns the leap indicator of a first octet.
func LeapOf(lvm uint8) uint8 { return lvm >> 6 }

// VersionOf returns the version of a first octet.
func VersionOf(lvm uint8) uint8 { return (lvm >> 3) & 7 }

// ModeOf returns the mode of a first octet.
func ModeOf(lvm uint8) Mode { return Mode(lvm & 7) }

// Well-known reference IDs.
const (
	RefIDUnsync uint32 = 0
	RefIDLocal  uint32 = 0x7F7F0101
	RefIDSmooth uint32 = 0x7F7F01FF
	// KoD codes used as reference IDs.
	KoDRate uint32 = 0x52415445 // "RATE"
	KoDNTSN uint32 = 0x4E54534E // "NTSN"
	KoDCRYP uint32 = 0x43525950 // "CRYP"
)

// unixToNTP is the number of seconds from the NTP epoch (1900) to the Unix
// epoch (1970).
const unixToNTP = 2208988800

// Timestamp is a 64-bit NTP timestamp: 32 bits of seconds since the start of
// an NTP era and 32 bits of fraction.
type Timestamp uint64

// TimestampOf splits out the seconds and fraction halves.
func TimestampOf(sec, frac uint32) Timestamp { return Timestamp(uint64(sec)<<32 | uint64(frac)) }

// Sec returns the seconds half.
func (ts Timestamp) Sec() uint32 { return uint32(ts >> 32) }

// Frac returns the fraction half.
func (ts Timestamp) Frac() uint32 { return uint32(ts) }

// IsZero reports whether the timestamp is the special zero value.
func (ts Timestamp) IsZero() bool { return ts == 0 }

// FromTime converts a time to an NTP timestamp (truncating below 2^-32 s).
// The zero time.Time maps to the zero timestamp.
func FromTime(t time.Time) Timestamp {
	if t.IsZero() {
		return 0
	}
	sec := uint32(t.Unix() + unixToNTP)
	frac := uint32((uint64(t.Nanosecond()) << 32) / 1e9)
	return TimestampOf(sec, frac)
}

// Time converts the timestamp to a time in the NTP era that puts it closest
// to ref (within 68 years of it). The zero timestamp maps to the zero
// time.Time.
func (ts Timestamp) Time(ref time.Time) time.Time {
	if ts == 0 {
		return time.Time{}
	}
	refSec := ref.Unix() + unixToNTP
	delta := int64(int32(ts.Sec() - uint32(refSec)))
	sec := refSec + delta - unixToNTP
	nsec := (uint64(ts.Frac()) * 1e9) >> 32
	return time.Unix(sec, int64(nsec)).UTC()
}

// Sub returns ts - other as a signed duration in seconds, assuming the two
// are within 68 years of each other.
func (ts Timestamp) Sub(other Timestamp) float64 {
	return float64(int64(ts-other)) / (1 << 32)
}

// Fuzz returns random bits for the part of a timestamp below the clock
// precision (a log2 of seconds in [-32, 32]), taken from rnd, as chronyd adds
// to its receive and transmit timestamps.
func Fuzz(precision int, rnd uint64) Timestamp {
	if precision <= -32 {
		return 0
	}
	if precision >= 32 {
		return Timestamp(rnd)
	}
	bits := uint(precision + 32)
	return Timestamp(rnd & (1<<bits - 1))
}

// ShortToSeconds converts the NTP short format (16.16 fixed point, used for
// root delay and root dispersion) to seconds.
func ShortToSeconds(x uint32) float64 { return float64(x) / 65536 }

// ShortFromSeconds converts seconds to the NTP short format, rounding up
// and saturating as chronyd does.
func ShortFromSeconds(x float64) uint32 {
	if math.IsNaN(x) || x <= 0 {
		return 0
	}
	if x >= 65536 {
		return math.MaxUint32
	}
	v := x * 65536
	r := uint32(v)
	if float64(r) < v {
		r++
	}
	return r
}

// PrecisionLog2 returns the NTP precision of a clock that resolves d, as
// chronyd computes it: the quantum clamped to [1 ns, 1 s] and the log2
// rounded to the nearest integer.
func PrecisionLog2(d time.Duration) int8 {
	q := min(max(d.Seconds(), 1e-9), 1)
	return int8(math.Round(math.Log2(q)))
}

// RefIDOf returns the reference ID identifying an address: the address itself
// for IPv4 (and IPv4-mapped IPv6) and the first four octets of the MD5 digest
// of the 16-octet address for IPv6.
func RefIDOf(a netip.Addr) uint32 {
	a = a.Unmap()
	switch {
	case a.Is4():
		b := a.As4()
		return binary.BigEndian.Uint32(b[:])
	case a.Is6():
		b := a.As16()
		sum := md5.Sum(b[:]) //#nosec G401 -- not a security use
		return binary.BigEndian.Uint32(sum[:4])
	default:
		return 0
	}
}
