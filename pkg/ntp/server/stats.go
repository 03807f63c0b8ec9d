package server

import (
	"sync/atomic"

	"github.com/chronygo/chronygo/pkg/ntp/wire"
)

// TimestampSource says where a timestamp came from.
type TimestampSource uint8

// Timestamp sources, as chronyd counts them.
const (
	TimestampDaemon TimestampSource = iota
	TimestampKernel
	TimestampHardware
	numTimestampSources
)

// Drop is the reason the server did not answer a packet.
type Drop uint8

// Reasons for not answering.
const (
	DropNone Drop = iota
	// DropMalformed: the decoder rejected the packet (see MalformedByReason).
	DropMalformed
	// DropDenied: the client address is not allowed.
	DropDenied
	// DropMode: a mode the server does not answer (0 except NTPv1 requests,
	// 4 and 5 when nobody takes them).
	DropMode
	// DropControl: an ntpd mode 6 or 7 (control, private) request.
	DropControl
	// DropRateLimit: the client exceeded the rate limit.
	DropRateLimit
	// DropAuth: the request's authentication failed or is not supported.
	DropAuth
	// DropResponseTooLong: the response would be longer than the request.
	DropResponseTooLong
	// DropForwarded: not a request for the server; handed to the peer
	// callback.
	DropForwarded
	numDrops
)

// String names the reason.
func (d Drop) String() string {
	switch d {
	case DropNone:
		return "none"
	case DropMalformed:
		return "malformed"
	case DropDenied:
		return "denied"
	case DropMode:
		return "mode"
	case DropControl:
		return "control mode"
	case DropRateLimit:
		return "rate limit"
	case DropAuth:
		return "authentication"
	case DropResponseTooLong:
		return "response too long"
	case DropForwarded:
		return "forwarded"
	default:
		return "unknown"
	}
}

// Stats holds the server's counters (the figures of chronyc serverstats and
// per-reason drop counts). All fields are updated atomically.
type Stats struct {
	hits  [numServices]atomic.Uint64
	drops [numServices]atomic.Uint64
	// LogDrops counts client records replaced for lack of room.
	LogDrops atomic.Uint64
	// AuthHits counts authenticated NTP requests answered.
	AuthHits atomic.Uint64
	// InterleavedHits counts interleaved-mode responses.
	InterleavedHits atomic.Uint64
	// KoDSent counts KoD RATE responses.
	KoDSent atomic.Uint64
	// Responses counts NTP responses sent.
	Responses atomic.Uint64
	// Received counts every datagram read from the server sockets.
	Received atomic.Uint64
	// SendErrors counts failed transmissions.
	SendErrors   atomic.Uint64
	rxTimestamps [numTimestampSources]atomic.Uint64
	txTimestamps [numTimestampSources]atomic.Uint64
	dropped      [numDrops]atomic.Uint64
	malformed    [wire.NumDecodeReasons]atomic.Uint64
	// timestamps is the number of saved interleaved-mode timestamps.
	timestamps atomic.Int64
	// shards hold the counters that every response updates, one shard
	// per responder (round robin), so that workers on different CPUs do
	// not write to the same cache line; Snapshot sums them.
	shards    [statShards]statShard
	nextShard atomic.Uint32
}

// statShards is the number of counter shards.
const statShards = 16

// statShard is one responder's share of the per-response counters, padded
// to its own cache lines.
type statShard struct {
	ntpHits      atomic.Uint64
	responses    atomic.Uint64
	rxTimestamps [numTimestampSources]atomic.Uint64
	txTimestamps [numTimestampSources]atomic.Uint64
	_            [128 - 8*(2+2*numTimestampSources)]byte
}

// newShard returns the shard of a new responder.
func (s *Stats) newShard() *statShard {
	return &s.shards[(s.nextShard.Add(1)-1)%statShards]
}

// CountDrop records a packet dropped for reason d.
func (s *Stats) CountDrop(d Drop) {
	if d < numDrops {
		s.dropped[d].Add(1)
	}
}

// CountMalformed records a packet rejected by the decoder.
func (s *Stats) CountMalformed(r wire.DropReason) {
	s.dropped[DropMalformed].Add(1)
	if int(r) < len(s.malformed) {
		s.malformed[r].Add(1)
	}
}

// StatsSnapshot is a copy of the counters, in chronyc serverstats terms.
type StatsSnapshot struct {
	NTPHits, NKEHits, CmdHits       uint64
	NTPDrops, NKEDrops, CmdDrops    uint64
	LogDrops                        uint64
	NTPAuthHits, NTPInterleavedHits uint64
	NTPTimestamps, NTPSpanSeconds   uint64
	NTPDaemonRx, NTPDaemonTx        uint64
	NTPKernelRx, NTPKernelTx        uint64
	NTPHwRx, NTPHwTx                uint64
	KoDSent, Responses, Received    uint64
	SendErrors                      uint64
	DropsByReason                   map[string]uint64
	MalformedByReason               map[string]uint64
}

// Snapshot copies the counters.
func (s *Stats) Snapshot() StatsSnapshot {
	out := StatsSnapshot{
		NTPHits:            s.hits[ServiceNTP].Load(),
		NKEHits:            s.hits[ServiceNTSKE].Load(),
		CmdHits:            s.hits[ServiceCmdmon].Load(),
		NTPDrops:           s.drops[ServiceNTP].Load(),
		NKEDrops:           s.drops[ServiceNTSKE].Load(),
		CmdDrops:           s.drops[ServiceCmdmon].Load(),
		LogDrops:           s.LogDrops.Load(),
		NTPAuthHits:        s.AuthHits.Load(),
		NTPInterleavedHits: s.InterleavedHits.Load(),
		NTPTimestamps:      uint64(max(s.timestamps.Load(), 0)),
		NTPDaemonRx:        s.rxTimestamps[TimestampDaemon].Load(),
		NTPDaemonTx:        s.txTimestamps[TimestampDaemon].Load(),
		NTPKernelRx:        s.rxTimestamps[TimestampKernel].Load(),
		NTPKernelTx:        s.txTimestamps[TimestampKernel].Load(),
		NTPHwRx:            s.rxTimestamps[TimestampHardware].Load(),
		NTPHwTx:            s.txTimestamps[TimestampHardware].Load(),
		KoDSent:            s.KoDSent.Load(),
		Responses:          s.Responses.Load(),
		Received:           s.Received.Load(),
		SendErrors:         s.SendErrors.Load(),
		DropsByReason:      map[string]uint64{},
		MalformedByReason:  map[string]uint64{},
	}
	for i := range s.shards {
		h := &s.shards[i]
		out.NTPHits += h.ntpHits.Load()
		out.Responses += h.responses.Load()
		out.NTPDaemonRx += h.rxTimestamps[TimestampDaemon].Load()
		out.NTPDaemonTx += h.txTimestamps[TimestampDaemon].Load()
		out.NTPKernelRx += h.rxTimestamps[TimestampKernel].Load()
		out.NTPKernelTx += h.txTimestamps[TimestampKernel].Load()
		out.NTPHwRx += h.rxTimestamps[TimestampHardware].Load()
		out.NTPHwTx += h.txTimestamps[TimestampHardware].Load()
	}
	for d := Drop(1); d < numDrops; d++ {
		if v := s.dropped[d].Load(); v > 0 {
			out.DropsByReason[d.String()] = v
		}
	}
	for r := 1; r < len(s.malformed); r++ {
		if v := s.malformed[r].Load(); v > 0 {
			out.MalformedByReason[wire.DropReason(r).String()] = v
		}
	}
	return out
}
