package wire

import (
	"encoding/binary"
	"fmt"

	"github.com/facebook/time/ntp/protocol"
)

// DropReason says why a received packet was not accepted.
type DropReason uint8

// Drop reasons of the decoder and of the server.
const (
	DropNone DropReason = iota
	// DropTooShort: shorter than the 48-octet header.
	DropTooShort
	// DropTooLong: longer than MaxPacketLen.
	DropTooLong
	// DropBadLength: not a multiple of four octets.
	DropBadLength
	// DropBadVersion: version outside 1..4.
	DropBadVersion
	// DropBadExtension: the data after the header is neither valid
	// extension fields nor a MAC.
	DropBadExtension
	numDecodeReasons
)

// String names the reason.
func (r DropReason) String() string {
	switch r {
	case DropNone:
		return "none"
	case DropTooShort:
		return "too short"
	case DropTooLong:
		return "too long"
	case DropBadLength:
		return "length not a multiple of 4"
	case DropBadVersion:
		return "bad version"
	case DropBadExtension:
		return "bad extension field or MAC"
	default:
		return fmt.Sprintf("reason %d", uint8(r))
	}
}

// NumDecodeReasons is one more than the largest DropReason of the decoder,
// for sizing per-reason counter arrays.
const NumDecodeReasons = int(numDecodeReasons)

// DecodeError is the error of a packet that fails validation.
type DecodeError struct {
	Reason DropReason
	Length int
}

// Error implements error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("invalid NTP packet (%d octets): %s", e.Length, e.Reason)
}

// AuthMode is the kind of authentication data a packet carries.
type AuthMode uint8

// Authentication modes, as chronyd classifies them.
const (
	// AuthNone: no MAC and no NTS field.
	AuthNone AuthMode = iota
	// AuthSymmetric: a legacy MAC (key ID and digest), or a crypto-NAK.
	AuthSymmetric
	// AuthMSSNTP: an NTPv3 MS-SNTP authenticator with a zero digest.
	AuthMSSNTP
	// AuthMSSNTPExt: the extended MS-SNTP authenticator.
	AuthMSSNTPExt
	// AuthNTS: NTS extension fields.
	AuthNTS
)

// Extension field types that chronyd recognises.
const (
	EFNTSUniqueIdentifier  uint16 = 0x0104
	EFNTSCookie            uint16 = 0x0204
	EFNTSCookiePlaceholder uint16 = 0x0304
	EFNTSAuthAndEEF        uint16 = 0x0404
	EFExpMonoRoot          uint16 = 0xF323
	EFExpNetCorrection     uint16 = 0xF324
)

// Info describes a decoded packet beyond its header fields.
type Info struct {
	// Length of the whole packet in octets.
	Length int
	Leap   uint8
	// Version is the protocol version (1..4).
	Version uint8
	Mode    Mode
	// ExtFields is the number of extension fields (NTPv4 only).
	ExtFields int
	// NTS is true when an NTS extension field is present.
	NTS bool
	// Auth is the kind of authentication data found.
	Auth AuthMode
	// MACOffset and MACLen locate the legacy MAC (key ID and digest) when
	// Auth is AuthSymmetric, AuthMSSNTP or AuthMSSNTPExt.
	MACOffset, MACLen int
	// KeyID is the MAC's key ID.
	KeyID uint32
}

// DecodeHeader validates b with chronyd's rules and fills p's header fields
// (not ExtensionFields and MAC) and info. It does not allocate.
func DecodeHeader(b []byte, p *protocol.Packet, info *Info) error {
	n := len(b)
	switch {
	case n < HeaderLen:
		return &DecodeError{Reason: DropTooShort, Length: n}
	case n > MaxPacketLen:
		return &DecodeError{Reason: DropTooLong, Length: n}
	case n%4 != 0:
		return &DecodeError{Reason: DropBadLength, Length: n}
	}
	readHeader(b, p)
	*info = Info{
		Length:  n,
		Leap:    LeapOf(b[0]),
		Version: VersionOf(b[0]),
		Mode:    ModeOf(b[0]),
	}
	if info.Version < MinVersion || info.Version > Version {
		return &DecodeError{Reason: DropBadVersion, Length: n}
	}
	rest := n - HeaderLen
	if rest == 0 {
		return nil
	}
	// Before NTPv4 anything after the header is a MAC.
	if info.Version <= 3 {
		setMAC(b, HeaderLen, info)
		if info.Version == 3 && info.KeyID != 0 {
			switch {
			case rest == 20 && allZero(b[HeaderLen+4:]):
				info.Auth = AuthMSSNTP
			case rest == 72 && allZero(b[HeaderLen+8:]):
				info.Auth = AuthMSSNTPExt
			}
		}
		return nil
	}
	// A crypto-NAK: a lone zero key ID.
	if rest == 4 && binary.BigEndian.Uint32(b[HeaderLen:]) == 0 {
		setMAC(b, HeaderLen, info)
		return nil
	}
	pos := HeaderLen
	for n-pos > 0 {
		if r := n - pos; r >= MinMACLen && r <= MaxV4MACLen {
			break
		}
		if n-pos <= MaxV4MACLen || n-pos < 4 {
			return &DecodeError{Reason: DropBadExtension, Length: n}
		}
		typ := binary.BigEndian.Uint16(b[pos:])
		efLen := int(binary.BigEndian.Uint16(b[pos+2:]))
		if efLen < MinEFLen || efLen%4 != 0 || pos+efLen > n {
			return &DecodeError{Reason: DropBadExtension, Length: n}
		}
		switch typ {
		case EFNTSUniqueIdentifier, EFNTSCookie, EFNTSCookiePlaceholder, EFNTSAuthAndEEF:
			info.NTS = true
			info.Auth = AuthNTS
		}
		info.ExtFields++
		pos += efLen
	}
	if pos == n {
		return nil
	}
	if n-pos >= MinMACLen {
		setMAC(b, pos, info)
		return nil
	}
	return &DecodeError{Reason: DropBadExtension, Length: n}
}

// Decode validates b with chronyd's rules: a length that is a multiple of
// four between 48 and MaxPacketLen octets, version 1 to 4, and after the
// header either nothing, a MAC (any length before NTPv4), a crypto-NAK, or
// RFC 7822 extension fields of at least 16 octets optionally followed by a MAC
// of 20 to 24 octets. The returned packet's ExtensionFields bodies and MAC
// alias b. It never panics; a malformed packet gives a *DecodeError.
func Decode(b []byte) (protocol.Packet, Info, error) {
	var p protocol.Packet
	var info Info
	if err := DecodeHeader(b, &p, &info); err != nil {
		return p, info, err
	}
	end := info.Length
	if info.MACLen > 0 {
		end = info.MACOffset
		p.MAC = b[info.MACOffset : info.MACOffset+info.MACLen]
	}
	if info.ExtFields > 0 {
		p.ExtensionFields = make([]protocol.ExtensionField, 0, info.ExtFields)
		for pos := HeaderLen; pos < end; {
			efLen := int(binary.BigEndian.Uint16(b[pos+2:]))
			p.ExtensionFields = append(p.ExtensionFields, protocol.ExtensionField{
				Type: protocol.ExtensionFieldType(binary.BigEndian.Uint16(b[pos:])),
				Body: b[pos+4 : pos+efLen],
			})
			pos += efLen
		}
	}
	return p, info, nil
}

func setMAC(b []byte, off int, info *Info) {
	info.Auth = AuthSymmetric
	info.MACOffset = off
	info.MACLen = len(b) - off
	info.KeyID = binary.BigEndian.Uint32(b[off:])
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// readHeader fills the header fields of p from the first 48 octets of b.
func readHeader(b []byte, p *protocol.Packet) {
	_ = b[HeaderLen-1]
	p.Settings = b[0]
	p.Stratum = b[1]
	p.Poll = int8(b[2])
	p.Precision = int8(b[3])
	p.RootDelay = binary.BigEndian.Uint32(b[4:])
	p.RootDispersion = binary.BigEndian.Uint32(b[8:])
	p.ReferenceID = binary.BigEndian.Uint32(b[12:])
	p.RefTimeSec = binary.BigEndian.Uint32(b[16:])
	p.RefTimeFrac = binary.BigEndian.Uint32(b[20:])
	p.OrigTimeSec = binary.BigEndian.Uint32(b[24:])
	p.OrigTimeFrac = binary.BigEndian.Uint32(b[28:])
	p.RxTimeSec = binary.BigEndian.Uint32(b[32:])
	p.RxTimeFrac = binary.BigEndian.Uint32(b[36:])
	p.TxTimeSec = binary.BigEndian.Uint32(b[40:])
	p.TxTimeFrac = binary.BigEndian.Uint32(b[44:])
}

// PutHeader writes p's 48-octet header into dst, which must be at least
// HeaderLen long, without allocating. Extension fields and MAC are not
// written.
func PutHeader(dst []byte, p *protocol.Packet) {
	_ = dst[HeaderLen-1]
	dst[0] = p.Settings
	dst[1] = p.Stratum
	dst[2] = byte(p.Poll)
	dst[3] = byte(p.Precision)
	binary.BigEndian.PutUint32(dst[4:], p.RootDelay)
	binary.BigEndian.PutUint32(dst[8:], p.RootDispersion)
	binary.BigEndian.PutUint32(dst[12:], p.ReferenceID)
	binary.BigEndian.PutUint32(dst[16:], p.RefTimeSec)
	binary.BigEndian.PutUint32(dst[20:], p.RefTimeFrac)
	binary.BigEndian.PutUint32(dst[24:], p.OrigTimeSec)
	binary.BigEndian.PutUint32(dst[28:], p.OrigTimeFrac)
	binary.BigEndian.PutUint32(dst[32:], p.RxTimeSec)
	binary.BigEndian.PutUint32(dst[36:], p.RxTimeFrac)
	binary.BigEndian.PutUint32(dst[40:], p.TxTimeSec)
	binary.BigEndian.PutUint32(dst[44:], p.TxTimeFrac)
}

// Timestamps of a packet as Timestamp values.

// RefTime returns the packet's reference timestamp.
func RefTime(p *protocol.Packet) Timestamp { return TimestampOf(p.RefTimeSec, p.RefTimeFrac) }

// OrigTime returns the packet's origin timestamp.
func OrigTime(p *protocol.Packet) Timestamp { return TimestampOf(p.OrigTimeSec, p.OrigTimeFrac) }

// RxTime returns the packet's receive timestamp.
func RxTime(p *protocol.Packet) Timestamp { return TimestampOf(p.RxTimeSec, p.RxTimeFrac) }

// TxTime returns the packet's transmit timestamp.
func TxTime(p *protocol.Packet) Timestamp { return TimestampOf(p.TxTimeSec, p.TxTimeFrac) }

// SetRefTime sets the packet's reference timestamp.
func SetRefTime(p *protocol.Packet, ts Timestamp) { p.RefTimeSec, p.RefTimeFrac = ts.Sec(), ts.Frac() }

// SetOrigTime sets the packet's origin timestamp.
func SetOrigTime(p *protocol.Packet, ts Timestamp) {
	p.OrigTimeSec, p.OrigTimeFrac = ts.Sec(), ts.Frac()
}

// SetRxTime sets the packet's receive timestamp.
func SetRxTime(p *protocol.Packet, ts Timestamp) { p.RxTimeSec, p.RxTimeFrac = ts.Sec(), ts.Frac() }

// SetTxTime sets the packet's transmit timestamp.
func SetTxTime(p *protocol.Packet, ts Timestamp) { p.TxTimeSec, p.TxTimeFrac = ts.Sec(), ts.Frac() }
