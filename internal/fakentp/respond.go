package fakentp

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/facebook/time/ntp/protocol"
)

// Kind is one way of answering a request.
type Kind int

// The kinds of behaviour.
const (
	// Good answers like a stratum-1 server whose clock is off by the
	// behaviour's Offset (0 for a truechimer).
	Good Kind = iota
	// Silent never answers, as a vanished server.
	Silent
	// Garbage answers with bytes that are not an NTP reply (random
	// content, of a short, normal or long length in turn).
	Garbage
	// WrongMode answers a good reply but in client mode (3).
	WrongMode
	// WrongOrigin answers a good reply whose origin timestamp is not the
	// request's transmit timestamp.
	WrongOrigin
	// Unsynchronised answers with leap 3 (alarm) and stratum 0.
	Unsynchronised
	// KoDRate answers a Kiss-o'-Death RATE packet.
	KoDRate
	// KoDDeny answers a Kiss-o'-Death DENY packet.
	KoDDeny
)

// String names the kind.
func (k Kind) String() string {
	names := [...]string{"good", "silent", "garbage", "wrong mode", "wrong origin", "unsynchronised", "KoD RATE", "KoD DENY"}
	if k >= 0 && int(k) < len(names) {
		return names[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Behavior says how the server answers.
type Behavior struct {
	// Kind is the kind of answer.
	Kind Kind
	// Offset is added to the server's time in Good (and the other
	// well-formed) answers: a fixed error, as a falseticker has.
	Offset time.Duration
	// StepAfter, when positive, is the number of answers after which
	// StepBy is added to Offset (a server stepping its clock).
	StepAfter int
	// StepBy is the step applied after StepAfter answers.
	StepBy time.Duration
}

// RefID is the reference ID of the fake stratum-1 server ("FAKE").
const RefID = 0x46414B45

const (
	headerLen  = 48
	modeClient = 3
	modeServer = 4
	version4   = 4
)

// settings packs the leap indicator, version and mode.
func settings(leap, version, mode uint8) uint8 { return leap<<6 | version<<3 | mode }

// Respond returns the reply to request under behaviour b, the request's
// receive time rx and the reply's transmit time tx (both true times, the
// behaviour's offsets are applied here), given that answered replies were
// sent before. It returns nil when no reply is due: Silent, or a request
// that is not a client-mode NTP packet. random supplies the garbage bytes.
func Respond(b Behavior, request []byte, rx, tx time.Time, answered int, random func([]byte)) []byte {
	if b.Kind == Silent || len(request) < headerLen {
		return nil
	}
	version := request[0] >> 3 & 7
	if request[0]&7 != modeClient || version < 1 || version > 4 {
		return nil
	}
	if b.Kind == Garbage {
		sizes := [...]int{13, headerLen, 200}
		out := make([]byte, sizes[answered%len(sizes)])
		random(out)
		return out
	}
	offset := b.Offset
	if b.StepAfter > 0 && answered >= b.StepAfter {
		offset += b.StepBy
	}
	rx, tx = rx.Add(offset), tx.Add(offset)
	origin := binary.BigEndian.Uint64(request[40:48])
	reply := protocol.Packet{
		Settings:       settings(0, version, modeServer),
		Stratum:        1,
		Poll:           int8(request[2]),
		Precision:      -20,
		RootDelay:      0,
		RootDispersion: 1 << 4, // about 0.25 ms
		ReferenceID:    RefID,
		OrigTimeSec:    uint32(origin >> 32),
		OrigTimeFrac:   uint32(origin),
	}
	reply.RefTimeSec, reply.RefTimeFrac = protocol.Time(rx.Add(-time.Second))
	reply.RxTimeSec, reply.RxTimeFrac = protocol.Time(rx)
	reply.TxTimeSec, reply.TxTimeFrac = protocol.Time(tx)
	switch b.Kind {
	case WrongMode:
		reply.Settings = settings(0, version, modeClient)
	case WrongOrigin:
		reply.OrigTimeSec ^= 0x5a5a5a5a
		reply.OrigTimeFrac ^= 0xa5a5a5a5
	case Unsynchronised:
		reply.Settings = settings(3, version, modeServer)
		reply.Stratum = 0
	case KoDRate, KoDDeny:
		reply.Settings = settings(3, version, modeServer)
		reply.Stratum = 0
		reply.ReferenceID = binary.BigEndian.Uint32([]byte("RATE"))
		if b.Kind == KoDDeny {
			reply.ReferenceID = binary.BigEndian.Uint32([]byte("DENY"))
		}
	}
	out, err := reply.Bytes()
	if err != nil {
		return nil
	}
	return out
}
