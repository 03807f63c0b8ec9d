package auth

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// Packet layout limits used when locating and generating MACs.
const (
	// HeaderLength is the length of the fixed NTP header.
	HeaderLength = 48
	// MinMACLength is the shortest MAC field: key ID plus a 16-byte digest.
	MinMACLength = 4 + 16
	// MaxV4MACLength is the longest MAC field of an NTPv4 packet (RFC 7822).
	MaxV4MACLength = 4 + 20
	// MaxMACLength is the longest MAC field of an NTPv3 packet.
	MaxMACLength = 4 + MaxHashLength
	// minExtFieldLength is the shortest NTPv4 extension field.
	minExtFieldLength = 16
)

// Mode is the kind of authentication a packet carries.
type Mode int

// Authentication modes, as chronyd distinguishes them.
const (
	ModeNone Mode = iota
	ModeSymmetric
	ModeMSSNTP
	ModeMSSNTPExt
	ModeNTS
)

// PacketAuth describes where a packet's MAC is.
type PacketAuth struct {
	// Mode is the authentication the packet carries.
	Mode Mode
	// Version is the packet's NTP version.
	Version int
	// MACStart is the offset of the MAC field (key ID) in the packet; the
	// authenticated data is the packet up to this offset.
	MACStart int
	// MACLength is the length of the MAC field including the key ID.
	MACLength int
	// KeyID is the key ID of the MAC field (0 for a crypto-NAK).
	KeyID uint32
	// ExtFields is the number of extension fields before the MAC.
	ExtFields int
}

// ErrMalformed is returned for packets chronyd's parser rejects.
var ErrMalformed = errors.New("malformed NTP packet")

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// isNTSField reports whether an extension field type belongs to NTS.
func isNTSField(t uint16) bool {
	switch t {
	case 0x0104, 0x0204, 0x0304, 0x0404:
		return true
	}
	return false
}

// LocateMAC parses the part of pkt after the NTP header as chronyd does:
// in NTPv1-3 everything after the header is a MAC; in NTPv4 extension
// fields are skipped until 20-24 bytes remain, which are the MAC, or
// nothing remains.
func LocateMAC(pkt []byte) (PacketAuth, error) {
	var pa PacketAuth
	if len(pkt) < HeaderLength || len(pkt)%4 != 0 {
		return pa, fmt.Errorf("%w: length %d", ErrMalformed, len(pkt))
	}
	pa.Version = int(pkt[0]>>3) & 7
	if pa.Version < 1 || pa.Version > 4 {
		return pa, fmt.Errorf("%w: version %d", ErrMalformed, pa.Version)
	}
	parsed := HeaderLength
	remainder := len(pkt) - parsed
	if remainder == 0 {
		return pa, nil
	}
	if pa.Version <= 3 {
		if remainder < 4 {
			return pa, fmt.Errorf("%w: short MAC", ErrMalformed)
		}
		pa.Mode = ModeSymmetric
		pa.MACStart, pa.MACLength = parsed, remainder
		pa.KeyID = binary.BigEndian.Uint32(pkt[parsed:])
		if pa.Version == 3 && pa.KeyID != 0 {
			if remainder == 20 && isZero(pkt[parsed+4:]) {
				pa.Mode = ModeMSSNTP
			} else if remainder == 72 && isZero(pkt[parsed+8:]) {
				pa.Mode = ModeMSSNTPExt
			}
		}
		return pa, nil
	}
	if remainder == 4 && binary.BigEndian.Uint32(pkt[parsed:]) == 0 {
		pa.Mode = ModeSymmetric
		pa.MACStart, pa.MACLength = parsed, 4
		return pa, nil
	}
	for remainder > 0 {
		if remainder >= MinMACLength && remainder <= MaxV4MACLength {
			break
		}
		if remainder <= MaxV4MACLength {
			return pa, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, remainder)
		}
		typ := binary.BigEndian.Uint16(pkt[parsed:])
		efLen := int(binary.BigEndian.Uint16(pkt[parsed+2:]))
		if efLen < minExtFieldLength || efLen%4 != 0 || efLen > remainder {
			return pa, fmt.Errorf("%w: extension field length %d", ErrMalformed, efLen)
		}
		if isNTSField(typ) {
			pa.Mode = ModeNTS
		}
		pa.ExtFields++
		parsed += efLen
		remainder -= efLen
	}
	if remainder == 0 {
		return pa, nil
	}
	pa.Mode = ModeSymmetric
	pa.MACStart, pa.MACLength = parsed, remainder
	pa.KeyID = binary.BigEndian.Uint32(pkt[parsed:])
	return pa, nil
}

// maxAuthLength is the longest digest put in a packet of this version:
// NTPv4 MACs are truncated to 20 bytes to keep extension fields parsable.
func maxAuthLength(version int) int {
	if version == 4 {
		return MaxV4MACLength - 4
	}
	return MaxMACLength - 4
}

// Sign appends the MAC field (key ID and digest, truncated as chronyd does
// for the packet's version) to pkt, the packet up to and including any
// extension fields, and returns the extended slice.
func Sign(pkt []byte, key *Key) ([]byte, error) {
	if len(pkt) < HeaderLength {
		return nil, fmt.Errorf("%w: length %d", ErrMalformed, len(pkt))
	}
	version := int(pkt[0]>>3) & 7
	mac := key.MAC(pkt)
	if n := maxAuthLength(version); len(mac) > n {
		mac = mac[:n]
	}
	if len(mac) < MinMACLength-4 {
		return nil, fmt.Errorf("key %d gives a %d-byte MAC, too short", key.ID, len(mac))
	}
	out := make([]byte, 0, len(pkt)+4+len(mac))
	out = append(out, pkt...)
	out = binary.BigEndian.AppendUint32(out, key.ID)
	return append(out, mac...), nil
}

// Verify checks the symmetric MAC of a packet located by LocateMAC against
// the key set: the key must be known, and the digest must match the
// (possibly truncated) expected digest in full length. When wantKeyID is
// non-nil, the packet must use that key.
func (ks *KeySet) Verify(pkt []byte, pa PacketAuth, wantKeyID *uint32) bool {
	if pa.Mode != ModeSymmetric || pa.MACLength < MinMACLength ||
		pa.MACStart+pa.MACLength > len(pkt) {
		return false
	}
	if wantKeyID != nil && *wantKeyID != pa.KeyID {
		return false
	}
	key, ok := ks.Lookup(pa.KeyID)
	if !ok {
		return false
	}
	trunc := MaxMACLength
	if pa.Version == 4 && pa.MACLength <= MaxV4MACLength {
		trunc = MaxV4MACLength
	}
	got := pkt[pa.MACStart+4 : pa.MACStart+pa.MACLength]
	want := key.MAC(pkt[:pa.MACStart])
	if n := trunc - 4; len(want) > n {
		want = want[:n]
	}
	return len(want) == len(got) && subtle.ConstantTimeCompare(want, got) == 1
}

// SuggestedVersion is the NTP version chronyd uses by default with a key:
// 3 when the MAC would have to be truncated in NTPv4, else 4.
func SuggestedVersion(key *Key) int {
	if key != nil && key.MACLength()+4 > MaxV4MACLength {
		return 3
	}
	return 4
}
