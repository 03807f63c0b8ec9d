package source

import (
	"encoding/binary"

	"github.com/chronygo/chronygo/pkg/ntp/auth"
)

// chronyd's experimental F323 extension field: the server's monotonic
// receive timestamp with its epoch and a finer root delay/dispersion.
const (
	efMonoRoot      = 0xF323
	efMonoRootMagic = 0xF5BEDD9A
	efMonoRootBody  = 24
	efHeaderLength  = 4
)

// monoRoot is a parsed F323 field.
type monoRoot struct {
	rootDelay, rootDisp float64
	monoRx              uint64
	epoch               uint32
}

// appendMonoRootRequest adds the F323 field of a client request (magic
// and zeros: a client reveals nothing).
func appendMonoRootRequest(pkt []byte) []byte {
	ef := make([]byte, efHeaderLength+efMonoRootBody)
	binary.BigEndian.PutUint16(ef[0:], efMonoRoot)
	binary.BigEndian.PutUint16(ef[2:], uint16(len(ef)))
	binary.BigEndian.PutUint32(ef[4:], efMonoRootMagic)
	return append(pkt, ef...)
}

// fixed28ToSeconds converts chronyd's 4.28 fixed-point format.
func fixed28ToSeconds(v uint32) float64 { return float64(v) / (1 << 28) }

// findMonoRoot returns the F323 field of a response, if present and
// well-formed.
func findMonoRoot(pkt []byte, pa auth.PacketAuth) *monoRoot {
	end := len(pkt)
	if pa.MACLength > 0 {
		end = pa.MACStart
	}
	if pa.ExtFields == 0 {
		return nil
	}
	for off := auth.HeaderLength; off+efHeaderLength <= end; {
		typ := binary.BigEndian.Uint16(pkt[off:])
		n := int(binary.BigEndian.Uint16(pkt[off+2:]))
		if n < efHeaderLength || off+n > end {
			return nil
		}
		body := pkt[off+efHeaderLength : off+n]
		if typ == efMonoRoot && len(body) == efMonoRootBody && binary.BigEndian.Uint32(body) == efMonoRootMagic {
			return &monoRoot{
				rootDelay: fixed28ToSeconds(binary.BigEndian.Uint32(body[4:])),
				rootDisp:  fixed28ToSeconds(binary.BigEndian.Uint32(body[8:])),
				monoRx:    binary.BigEndian.Uint64(body[12:]),
				epoch:     binary.BigEndian.Uint32(body[20:]),
			}
		}
		off += n
	}
	return nil
}

// ntpDiff is a-b for NTP timestamps in seconds (within 68 years).
func ntpDiff(a, b uint64) float64 { return float64(int64(a-b)) / (1 << 32) }
