package loadgen

import "encoding/binary"

// RequestSize is the size of an NTP client request without extensions.
const RequestSize = 48

// keyTagShift puts a socket's random tag above the sequence number in the
// key carried by a request.
const keyTagShift = 40

// FillRequest writes an NTPv4 client request (mode 3) carrying key in its
// transmit timestamp into b, which must hold RequestSize bytes. A server
// returns the key in the origin timestamp of its response; an echo
// returns the request itself.
func FillRequest(b []byte, key uint64) {
	clear(b[:RequestSize])
	b[0] = 4<<3 | 3
	binary.BigEndian.PutUint64(b[40:48], key)
}

// ReplyKey returns the key of the request that a reply answers: the
// origin timestamp of a server response (mode 4), or the transmit
// timestamp of an echoed request (mode 3).
func ReplyKey(b []byte) (uint64, bool) {
	if len(b) < RequestSize {
		return 0, false
	}
	switch b[0] & 7 {
	case 4:
		return binary.BigEndian.Uint64(b[24:32]), true
	case 3:
		return binary.BigEndian.Uint64(b[40:48]), true
	}
	return 0, false
}

// MakeKey combines a socket's tag with a sequence number.
func MakeKey(tag uint32, seq uint64) uint64 {
	return uint64(tag)<<keyTagShift | seq&(1<<keyTagShift-1)
}

// SplitKey is the inverse of MakeKey.
func SplitKey(key uint64) (tag uint32, seq uint64) {
	return uint32(key >> keyTagShift), key & (1<<keyTagShift - 1)
}
