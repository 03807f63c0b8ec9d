package sim

import (
	"net/netip"
	"time"

	"github.com/facebook/time/ntp/protocol"
)

// IdealServer is a simulated stratum-1 NTP server whose clock is true time
// plus a fixed Offset (non-zero for a falseticker). It answers client
// (mode 3) requests in basic mode, and in interleaved mode when the request
// carries the receive timestamp of the previous exchange as its origin
// timestamp, as chronyd does.
type IdealServer struct {
	addr   netip.AddrPort
	net    *Network
	now    func() time.Time
	offset time.Duration
	// Served counts the responses sent.
	Served int
	// last holds, per client address, the receive and transmit
	// timestamps of the previous exchange (for interleaved mode).
	last map[netip.AddrPort]exchange
}

type exchange struct {
	rxSec, rxFrac uint32
	tx            time.Time
}

// clknetsimPrecisionLog is the precision (log2 s) a chronyd server
// announces under clknetsim (see clknetsimPrecision).
const clknetsimPrecisionLog = -23

// NewIdealServer creates a server at addr on net; now reads true time.
func NewIdealServer(addr netip.AddrPort, net *Network, now func() time.Time, offset time.Duration) *IdealServer {
	s := &IdealServer{addr: addr, net: net, now: now, offset: offset, last: map[netip.AddrPort]exchange{}}
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
	prev, seen := s.last[from]
	if seen && version == 4 && req.OrigTimeFrac&1 == 1 &&
		req.OrigTimeSec == prev.rxSec && req.OrigTimeFrac == prev.rxFrac &&
		(req.RxTimeSec != req.TxTimeSec || req.RxTimeFrac != req.TxTimeFrac) {
		// Interleaved: echo the origin and send the transmit timestamp of
		// the previous response.
		resp.OrigTimeSec, resp.OrigTimeFrac = req.OrigTimeSec, req.OrigTimeFrac
		txStamp = prev.tx
	}
	resp.TxTimeSec, resp.TxTimeFrac = protocol.Time(txStamp)
	s.last[from] = exchange{rxSec: rxSec, rxFrac: rxFrac, tx: rx}
	out, err := resp.Bytes()
	if err != nil {
		return
	}
	s.Served++
	s.net.Send(out, s.addr, from)
}
