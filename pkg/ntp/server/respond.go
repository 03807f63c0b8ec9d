package server

import (
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/access"
	"github.com/chronygo/chronygo/pkg/ntp/wire"
	"github.com/facebook/time/ntp/protocol"
)

// Authenticator checks the authentication of requests that carry a MAC or
// NTS fields and authenticates the responses to them (symmetric keys from
// the key file, NTS). Without one, such requests are dropped, as chronyd
// drops requests whose key it does not know.
type Authenticator interface {
	// CheckRequest verifies the request's authentication. When it fails,
	// kod may name a KoD code to answer with (e.g. NTS NAK); 0 means drop.
	CheckRequest(req []byte, info *wire.Info) (ok bool, kod uint32)
	// AuthenticateResponse appends the authentication data of the
	// response (whose header is resp[:wire.HeaderLen]) into resp, up to
	// cap(resp), and returns the response's new length; ok false drops it.
	AuthenticateResponse(req []byte, info *wire.Info, resp []byte, kod uint32) (n int, ok bool)
}

// Shared is the state shared by all the workers of one server: the access
// table, the client log, the interleaved-mode memory and the counters.
type Shared struct {
	Access *access.Table
	Log    *ClientLog
	Tx     *TxMemory
	Stats  *Stats
	// Auth authenticates requests with a MAC or NTS fields (nil: drop them).
	Auth Authenticator
	// KnownPeer reports whether an address is a configured symmetric peer,
	// whose mode 1 and 2 packets go to the peer callback instead of being
	// answered as from an unknown peer. May be nil.
	KnownPeer func(netip.Addr) bool
}

// Request is one received datagram.
type Request struct {
	// Data is the datagram.
	Data []byte
	// From is the sender.
	From netip.AddrPort
	// RxRaw is the raw (uncooked) receive time, ideally from the kernel.
	RxRaw time.Time
	// RxSource says where RxRaw came from.
	RxSource TimestampSource
}

// Verdict is what the I/O shell must do with a request.
type Verdict uint8

// Verdicts.
const (
	// VerdictDrop: nothing to send.
	VerdictDrop Verdict = iota
	// VerdictRespond: send the response built in the output buffer.
	VerdictRespond
	// VerdictForward: hand the packet to the peer callback.
	VerdictForward
)

// Responder builds the server's responses. Each worker has its own (it owns
// random state and scratch space); they share a *Shared.
type Responder struct {
	shared *Shared
	rnd    *Random
	// shard takes this responder's per-response counters; logHits is
	// true when the client log counts its hits there too (it shares the
	// responder's Stats).
	shard   *statShard
	logHits bool
	pkt     protocol.Packet
	info    wire.Info
	savedRx wire.Timestamp
}

// SavedRx returns the receive timestamp of the last response built by
// Handle if its transmit time was saved for interleaved mode (the key under
// which a kernel transmit timestamp should update it), else 0.
func (r *Responder) SavedRx() wire.Timestamp { return r.savedRx }

// NewResponder returns a responder over shared state using rnd.
func NewResponder(shared *Shared, rnd *Random) *Responder {
	r := &Responder{shared: shared, rnd: rnd, shard: &statShard{}}
	if shared.Stats != nil {
		r.shard = shared.Stats.newShard()
		r.logHits = shared.Log != nil && shared.Log.stats == shared.Stats
	}
	return r
}

// maxFuzzTries bounds the loops that redraw a fuzzed timestamp.
const maxFuzzTries = 16

// localRefInterval is how often chronyd moves the reference time of its
// local reference forward.
const localRefInterval = 64 * time.Second

// Handle decides what to do with req and, for VerdictRespond, writes the
// response into out (which must have room for wire.MaxPacketLen octets) and
// returns its length. snap is the reference to serve (nil: unsynchronised);
// clock returns the raw time and is read as late as possible for the
// transmit timestamp. Handle is the pure core of chronyd's
// NCR_ProcessRxUnknown and transmit_packet for client requests.
func (r *Responder) Handle(req *Request, snap *discipline.ReferenceSnapshot, clock func() time.Time, out []byte) (int, Verdict, Drop) {
	st := r.shared.Stats
	p := &r.pkt
	info := &r.info
	r.savedRx = 0
	if err := wire.DecodeHeader(req.Data, p, info); err != nil {
		var de *wire.DecodeError
		if errors.As(err, &de) {
			st.CountMalformed(de.Reason)
		} else {
			st.CountMalformed(wire.DropNone)
		}
		return 0, VerdictDrop, DropMalformed
	}
	addr := req.From.Addr().Unmap()
	// Packets of associations (replies to our requests, symmetric and
	// broadcast packets) go to the sources, which do their own checks.
	switch info.Mode {
	case wire.ModePassive, wire.ModeServer, wire.ModeBroadcast:
		st.CountDrop(DropForwarded)
		return 0, VerdictForward, DropForwarded
	case wire.ModeActive:
		if r.shared.KnownPeer != nil && r.shared.KnownPeer(addr) {
			st.CountDrop(DropForwarded)
			return 0, VerdictForward, DropForwarded
		}
	}
	if !r.shared.Access.Allowed(addr) {
		st.CountDrop(DropDenied)
		return 0, VerdictDrop, DropDenied
	}
	var myMode wire.Mode
	switch info.Mode {
	case wire.ModeClient:
		myMode = wire.ModeServer
	case wire.ModeActive:
		// We are symmetric passive to an unknown active peer.
		myMode = wire.ModePassive
	case wire.ModeUndefined:
		// An NTPv1 client request has no mode; its source port tells.
		if info.Version == 1 && req.From.Port() != wire.Port {
			myMode = wire.ModeServer
			break
		}
		st.CountDrop(DropMode)
		return 0, VerdictDrop, DropMode
	default:
		st.CountDrop(DropControl)
		return 0, VerdictDrop, DropControl
	}

	var hits *atomic.Uint64
	if r.logHits {
		hits = &r.shard.ntpHits
	}
	limit := r.shared.Log.access(ServiceNTP, addr, req.RxRaw, r.rnd, hits)
	if limit == LimitDrop {
		st.CountDrop(DropRateLimit)
		return 0, VerdictDrop, DropRateLimit
	}
	var kod uint32
	authOK := info.Auth == wire.AuthNone
	if !authOK && r.shared.Auth != nil {
		authOK, kod = r.shared.Auth.CheckRequest(req.Data, info)
	}
	if !authOK && kod == 0 {
		st.CountDrop(DropAuth)
		return 0, VerdictDrop, DropAuth
	}
	if limit == LimitKoD {
		if kod != 0 {
			st.CountDrop(DropRateLimit)
			return 0, VerdictDrop, DropRateLimit
		}
		kod = wire.KoDRate
	}

	// Interleaved mode: the origin timestamp has its lowest bit set, so it
	// is one of our receive timestamps.
	orig := wire.OrigTime(p)
	reqRx := wire.RxTime(p)
	reqTx := wire.TxTime(p)
	candidate := kod == 0 && r.shared.Log.Active() && info.Version == 4 &&
		orig&1 == 1 && reqRx != reqTx
	interleaved := false
	var prevTx time.Time
	var prevTxSrc TimestampSource
	if candidate {
		prevTx, prevTxSrc, interleaved = r.shared.Tx.Take(orig)
		if interleaved {
			st.InterleavedHits.Add(1)
		}
	}
	if interleaved && prevTx.IsZero() {
		interleaved = false
	}
	if kod == 0 && info.Auth != wire.AuthNone && info.Auth != wire.AuthMSSNTP {
		st.AuthHits.Add(1)
	}
	if req.RxSource < numTimestampSources {
		r.shard.rxTimestamps[req.RxSource].Add(1)
	}
	if interleaved {
		r.shard.txTimestamps[prevTxSrc].Add(1)
	} else {
		r.shard.txTimestamps[TimestampDaemon].Add(1)
	}

	poll := max(r.shared.Log.MinPoll(), int(p.Poll))
	version := min(info.Version, wire.Version)

	rxCooked := snap.Cook(req.RxRaw)
	params := referenceParams(snap, rxCooked)
	precision := int(params.precision)
	// Clients (not symmetric peers) get smoothed time: the offset is
	// taken once, at the receive time, and moves every timestamp of the
	// response (zero without smoothtime).
	var smooth float64
	if myMode == wire.ModeServer && snap != nil && snap.Smoothing != nil {
		smooth = smoothParams(snap, rxCooked, &params)
	}
	if kod != 0 {
		params.leap = discipline.LeapUnsynchronised
		params.stratum = 0
		params.refID = kod
	}
	if params.stratum >= wire.MaxStratum {
		params.stratum = 0
	}

	resp := &r.pkt
	requestLen := info.Length
	requestAuth := info.Auth
	*resp = protocol.Packet{
		Settings:       wire.LVM(uint8(params.leap), version, myMode),
		Stratum:        uint8(params.stratum),
		Poll:           int8(clamp(-128, poll, 127)),
		Precision:      params.precision,
		RootDelay:      wire.ShortFromSeconds(params.rootDelay),
		RootDispersion: wire.ShortFromSeconds(params.rootDispersion),
		ReferenceID:    params.refID,
	}
	wire.SetRefTime(resp, wire.FromTime(params.refTime))
	respOrig := reqTx
	if interleaved {
		respOrig = reqRx
	}
	wire.SetOrigTime(resp, respOrig)

	var prevRx wire.Timestamp // the "previous receive timestamp" chronyd avoids
	if candidate {
		prevRx = orig
	}
	rxTS := wire.FromTime(smoothed(rxCooked, smooth))
	respRx := rxTS
	for i := 0; i < maxFuzzTries; i++ {
		respRx = fuzzed(rxTS, precision, r.rnd)
		if respRx == 0 || (respRx != respOrig && (prevRx == 0 || respRx != prevRx)) {
			break
		}
	}
	wire.SetRxTime(resp, respRx)

	var txTime time.Time
	if interleaved {
		txTime = prevTx
	} else {
		txTime = smoothed(snap.Cook(clock()), smooth)
	}
	txBase := wire.FromTime(txTime)
	respTx := txBase
	for i := 0; i < maxFuzzTries; i++ {
		respTx = fuzzed(txBase, precision, r.rnd)
		if respTx == 0 || (respTx != respRx && respTx != respOrig) {
			break
		}
	}
	// Mark our receive timestamp so that interleaved requests can be
	// recognised without remembering every timestamp.
	respRx |= 1
	respTx &^= 1
	wire.SetRxTime(resp, respRx)
	wire.SetTxTime(resp, respTx)

	wire.PutHeader(out, resp)
	n := wire.HeaderLen
	if requestAuth != wire.AuthNone {
		if r.shared.Auth == nil {
			st.CountDrop(DropAuth)
			return 0, VerdictDrop, DropAuth
		}
		var ok bool
		n, ok = r.shared.Auth.AuthenticateResponse(req.Data, info, out[:wire.HeaderLen:cap(out)], kod)
		if !ok {
			st.CountDrop(DropAuth)
			return 0, VerdictDrop, DropAuth
		}
	}
	if n > requestLen {
		st.CountDrop(DropResponseTooLong)
		return 0, VerdictDrop, DropResponseTooLong
	}
	if candidate {
		// chronyd reads the clock once more just before sending; the
		// time saved for the next interleaved response is that reading.
		sent := smoothed(snap.Cook(clock()), smooth)
		r.shared.Tx.Save(respRx, sent, TimestampDaemon)
		r.savedRx = respRx
	}
	if kod != 0 {
		st.KoDSent.Add(1)
	}
	r.shard.responses.Add(1)
	return n, VerdictRespond, DropNone
}

// fuzzed randomises the bits of ts below the precision, as chronyd does
// (the zero timestamp stays zero).
func fuzzed(ts wire.Timestamp, precision int, rnd *Random) wire.Timestamp {
	if ts == 0 {
		return 0
	}
	return ts ^ wire.Fuzz(precision, rnd.Uint64())
}

// refParams are the reference fields of a response.
type refParams struct {
	leap           discipline.LeapStatus
	stratum        int
	refID          uint32
	refTime        time.Time
	rootDelay      float64
	rootDispersion float64
	precision      int8
}

// referenceParams derives the reference fields as chronyd's
// REF_GetReferenceParams does, at the cooked time now.
func referenceParams(snap *discipline.ReferenceSnapshot, now time.Time) refParams {
	if snap == nil || !snap.Synchronised {
		prec := int8(-20)
		if snap != nil {
			prec = snap.Precision
		}
		return refParams{
			leap:           discipline.LeapUnsynchronised,
			stratum:        wire.MaxStratum,
			refID:          wire.RefIDUnsync,
			rootDelay:      1,
			rootDispersion: 1,
			precision:      prec,
		}
	}
	p := refParams{
		leap:           snap.Leap,
		stratum:        int(snap.Stratum),
		refID:          snap.RefID,
		refTime:        snap.RefTime,
		rootDelay:      snap.RootDelay,
		rootDispersion: snap.RootDispersionAt(now),
		precision:      snap.Precision,
	}
	if snap.RefID == wire.RefIDLocal {
		// The local reference's time is kept between 1 and 65 s old, so
		// that a client never sees it after the transmit timestamp.
		age := now.Sub(p.refTime)
		if p.refTime.IsZero() || age < time.Second || age > localRefInterval+time.Second {
			p.refTime = now.Add(-time.Second).Truncate(localRefInterval)
		}
		p.rootDispersion = snap.RootDispersion
	}
	return p
}
