package candm

import (
	"encoding/binary"
	"math"
	"net/netip"
	"time"
)

// Layout of chrony's 32-bit float: a 7-bit signed exponent above a 25-bit
// signed coefficient without a hidden bit; the value is coef * 2^(exp-25).
const (
	floatExpBits  = 7
	floatCoefBits = 32 - floatExpBits
	floatExpMin   = -(1 << (floatExpBits - 1))
	floatExpMax   = -floatExpMin - 1
	floatCoefMin  = -(1 << (floatCoefBits - 1))
	floatCoefMax  = -floatCoefMin - 1
)

// EncodeFloat converts x to chrony's 32-bit float as chronyd rounds it:
// magnitudes below 1e-100 become zero, overflow saturates and underflow loses
// precision down to zero. NaN is encoded as zero.
func EncodeFloat(x float64) uint32 {
	neg := int64(0)
	if x < 0 {
		x = -x
		neg = 1
	}
	var exp, coef int64
	switch {
	case !(x >= 1e-100): // also catches NaN
		exp, coef = 0, 0
	case x > 1e100:
		exp, coef = floatExpMax, floatCoefMax+neg
	default:
		exp = int64(math.Log(x)/math.Log(2)) + 1
		coef = int64(x*math.Pow(2, float64(-exp+floatCoefBits)) + 0.5)
		for coef > floatCoefMax+neg {
			coef >>= 1
			exp++
		}
		if exp > floatExpMax {
			exp, coef = floatExpMax, floatCoefMax+neg
		} else if exp < floatExpMin {
			if exp+floatCoefBits >= floatExpMin {
				coef >>= uint(floatExpMin - exp)
				exp = floatExpMin
			} else {
				exp, coef = 0, 0
			}
		}
	}
	c := uint32(coef)
	if neg == 1 {
		c = uint32(-coef) << floatExpBits >> floatExpBits
	}
	return uint32(exp)<<floatCoefBits | c&(1<<floatCoefBits-1)
}

// DecodeFloat converts chrony's 32-bit float to a float64.
func DecodeFloat(f uint32) float64 {
	exp := int64(f >> floatCoefBits)
	if exp >= 1<<(floatExpBits-1) {
		exp -= 1 << floatExpBits
	}
	exp -= floatCoefBits
	coef := int64(f % (1 << floatCoefBits))
	if coef >= 1<<(floatCoefBits-1) {
		coef -= 1 << floatCoefBits
	}
	return float64(coef) * math.Pow(2, float64(exp))
}

// noHighSec in the high word of a timespec marks a 32-bit time_t sender.
const noHighSec = 0x7fffffff

// Family is chrony's address family of an IPAddr.
type Family uint16

// Address families.
const (
	FamilyUnspec Family = 0
	FamilyInet4  Family = 1
	FamilyInet6  Family = 2
	// FamilyID is an unresolved source identified by a number.
	FamilyID Family = 3
)

// IPAddr is chrony's IPAddr: an IPv4 or IPv6 address, an unresolved
// source's ID, or unspecified (the zero value).
type IPAddr struct {
	// IP is the address for FamilyInet4 and FamilyInet6.
	IP netip.Addr
	// ID is the source's ID for FamilyID.
	ID uint32
	// IsID marks an unresolved source's ID.
	IsID bool
}

// AddrFrom returns the IPAddr of an IP address (unspecified if a is not
// valid). IPv4-mapped IPv6 addresses stay IPv6, as chronyd keeps them.
func AddrFrom(a netip.Addr) IPAddr { return IPAddr{IP: a} }

// AddrFromID returns the IPAddr of an unresolved source with the given ID.
func AddrFromID(id uint32) IPAddr { return IPAddr{ID: id, IsID: true} }

// Family returns the address family.
func (a IPAddr) Family() Family {
	switch {
	case a.IsID:
		return FamilyID
	case a.IP.Is4():
		return FamilyInet4
	case a.IP.Is6():
		return FamilyInet6
	default:
		return FamilyUnspec
	}
}

// IsUnspecified reports whether no address is given (chronyc sends this
// for "all sources").
func (a IPAddr) IsUnspecified() bool { return a.Family() == FamilyUnspec }

// String formats the address as chronyc does (ID#NNNNNNNNNN for an ID).
func (a IPAddr) String() string {
	switch a.Family() {
	case FamilyID:
		return "ID#" + padID(a.ID)
	case FamilyUnspec:
		return "[UNSPEC]"
	default:
		return a.IP.String()
	}
}

func padID(id uint32) string {
	s := []byte("0000000000")
	for i := len(s) - 1; id > 0; i-- {
		s[i] = byte('0' + id%10)
		id /= 10
	}
	return string(s)
}

// timespecLen is the wire size of a timespec: high and low seconds, nanoseconds.
const timespecLen = 12

// writer appends big-endian fields to a buffer.
type writer struct{ b []byte }

func (w *writer) u8(v uint8)   { w.b = append(w.b, v) }
func (w *writer) u16(v uint16) { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *writer) i32(v int32)  { w.u32(uint32(v)) }
func (w *writer) f(v float64)  { w.u32(EncodeFloat(v)) }
func (w *writer) u64(v uint64) { w.u32(uint32(v >> 32)); w.u32(uint32(v)) }
func (w *writer) zero(n int)   { w.b = append(w.b, make([]byte, n)...) }
func (w *writer) fill(n int, v byte) {
	for range n {
		w.b = append(w.b, v)
	}
}

func (w *writer) addr(a IPAddr) {
	var raw [16]byte
	switch a.Family() {
	case FamilyInet4:
		v := a.IP.As4()
		copy(raw[:], v[:])
	case FamilyInet6:
		raw = a.IP.As16()
	case FamilyID:
		binary.BigEndian.PutUint32(raw[:], a.ID)
	}
	w.b = append(w.b, raw[:]...)
	w.u16(uint16(a.Family()))
	w.u16(0)
}

// ts encodes a time; the zero time.Time is encoded as all zeros, as chronyd
// sends an unset reference time.
func (w *writer) ts(t time.Time) {
	if t.IsZero() {
		w.zero(timespecLen)
		return
	}
	sec := t.Unix()
	w.u32(uint32(uint64(sec) >> 32))
	w.u32(uint32(sec))
	w.u32(uint32(t.Nanosecond()))
}

func (w *writer) name(s string, n int) {
	start := len(w.b)
	w.zero(n)
	copy(w.b[start:], s)
}

// reader takes big-endian fields from a buffer; reads past its end give
// zeros (callers check lengths first).
type reader struct {
	b   []byte
	off int
}

func (r *reader) take(n int) []byte {
	if r.off+n > len(r.b) {
		r.off += n
		return make([]byte, n)
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) u8() uint8   { return r.take(1)[0] }
func (r *reader) u16() uint16 { return binary.BigEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.take(4)) }
func (r *reader) i32() int32  { return int32(r.u32()) }
func (r *reader) f() float64  { return DecodeFloat(r.u32()) }
func (r *reader) u64() uint64 { return uint64(r.u32())<<32 | uint64(r.u32()) }
func (r *reader) skip(n int)  { r.take(n) }

func (r *reader) addr() IPAddr {
	raw := r.take(16)
	fam := Family(r.u16())
	r.u16()
	switch fam {
	case FamilyInet4:
		return IPAddr{IP: netip.AddrFrom4([4]byte(raw[:4]))}
	case FamilyInet6:
		return IPAddr{IP: netip.AddrFrom16([16]byte(raw))}
	case FamilyID:
		return AddrFromID(binary.BigEndian.Uint32(raw))
	default:
		return IPAddr{}
	}
}

func (r *reader) ts() time.Time {
	hi, lo, nsec := r.u32(), r.u32(), r.u32()
	if hi == noHighSec {
		hi = 0
	}
	if hi == 0 && lo == 0 && nsec == 0 {
		return time.Time{}
	}
	return time.Unix(int64(uint64(hi)<<32|uint64(lo)), int64(nsec)).UTC()
}

func (r *reader) name(n int) string {
	raw := r.take(n)
	for i, c := range raw {
		if c == 0 {
			return string(raw[:i])
		}
	}
	return string(raw)
}
