package sim

import (
	"net/netip"
	"time"

	"github.com/facebook/time/ntp/protocol"
)

// IdealServer is a simulated stratum-1 NTP server whose clock is true time
// plus a fixed Offset (non-zero for a falseticker). It answers client
// (mode 3) requests in basic mode, and in interleaved mode when the request
// carries as its origin the receive timestamp of an earlier request whose
// transmit timestamp the server still holds, as chronyd does.
type IdealServer struct {
	addr   netip.AddrPort
	net    *Network
	now    func() time.Time
	offset time.Duration
	// Served counts the responses sent.
	Served int
	// sent maps the receive timestamps of requests that may be followed
	// by an interleaved one to the transmit time of their response
	// (chronyd's client log of NTP timestamps); order lists the keys from
	// the oldest, to bound the map.
	sent  map[uint64]savedTx
	order []uint64
}

// savedTx is the transmit time of a response; used marks it as already
// sent in an interleaved response (or ambiguous), so it is not sent again.
type savedTx struct {
	tx   time.Time
	used bool
}

// maxSavedTimestamps bounds the receive/transmit pairs a server keeps.
const maxSavedTimestamps = 4096

// clknetsimPrecisionLog is the precision (log2 s) a chronyd server
// announces under clknetsim (see clknetsimPrecision).
const clknetsimPrecisionLog = -23

// NewIdealServer creates a server at addr on net; now reads true time.
func NewIdealServer(addr netip.AddrPort, net *Network, now func() time.Time, offset time.Duration) *IdealServer {
	s := &IdealServer{addr: addr, net: net, now: now, offset: offset, sent: map[uint64]savedTx{}}
	net.Attach(addr.Addr(), s)
	return s
}

// Addr returns the server's address.
func (s *IdealServer) Addr() netip.AddrPort { return s.addr }

// Deliver implements Endpoint.
func (s *IdealServer) Deliver(payload []byte, from, to netip.AddrPort) {
	var req protocol.Packet
	if err := req.UnmarshalBinary(payload); err != nil {
		return
	}
	mode := req.Settings & 7
	version := (req.Settings >> 3) & 7
	if mode != 3 || version < 1 || version > 4 {
		return
	}
	rx := s.now().Add(s.offset)
	rxSec, rxFrac := protocol.Time(rx)
	// Like chronyd, mark receive timestamps with the lowest bit set so that
	// interleaved requests (origin = our previous receive timestamp) can be
	// told from basic ones.
	rxFrac |= 1
	resp := protocol.Packet{
		Settings:     version<<3 | 4,
		Stratum:      1,
		Poll:         req.Poll,
		Precision:    clknetsimPrecisionLog,
		ReferenceID:  0x7F7F0101,
		OrigTimeSec:  req.TxTimeSec,
		OrigTimeFrac: req.TxTimeFrac,
		RxTimeSec:    rxSec,
		RxTimeFrac:   rxFrac,
	}
	resp.RefTimeSec, resp.RefTimeFrac = protocol.Time(rx.Truncate(time.Second))
	txStamp := rx
	// A request in the interleaved format (version 4, origin marked as one
	// of our receive timestamps, receive and transmit fields differing)
	// gets the transmit time of the response to the request that origin
	// names, once; its own receive time is then remembered for the next.
	saveFormat := version == 4 && req.OrigTimeFrac&1 == 1 &&
		(req.RxTimeSec != req.TxTimeSec || req.RxTimeFrac != req.TxTimeFrac)
	if saveFormat {
		origin := uint64(req.OrigTimeSec)<<32 | uint64(req.OrigTimeFrac)
		if prev, ok := s.sent[origin]; ok && !prev.used {
			// Interleaved: echo the client's receive field as the origin
			// and send the transmit timestamp of the earlier response.
			resp.OrigTimeSec, resp.OrigTimeFrac = req.RxTimeSec, req.RxTimeFrac
			txStamp = prev.tx
			prev.used = true
			s.sent[origin] = prev
		}
	}
	resp.TxTimeSec, resp.TxTimeFrac = protocol.Time(txStamp)
	// Transmit timestamps have the lowest bit clear, so they never look
	// like receive timestamps.
	resp.TxTimeFrac &^= 1
	if saveFormat {
		s.saveTx(uint64(rxSec)<<32|uint64(rxFrac), rx)
	}
	out, err := resp.Bytes()
	if err != nil {
		return
	}
	s.Served++
	s.net.Send(out, s.addr, from)
}

// saveTx remembers the transmit time of the response to the request
// received at rx; a receive timestamp seen twice is made unusable, since
// its transmit time would be ambiguous.
func (s *IdealServer) saveTx(rx uint64, tx time.Time) {
	if prev, ok := s.sent[rx]; ok {
		prev.used = true
		s.sent[rx] = prev
		return
	}
	if len(s.order) >= maxSavedTimestamps {
		delete(s.sent, s.order[0])
		s.order = s.order[1:]
	}
	s.sent[rx] = savedTx{tx: tx}
	s.order = append(s.order, rx)
}
