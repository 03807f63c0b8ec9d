package source

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/auth"
	"github.com/chronygo/chronygo/pkg/ntp/wire"
	"github.com/facebook/time/ntp/protocol"
)

// Constants of chronyd's NTP core.
const (
	initialDelay           = 0.2
	minSamplingSeparation  = 0.002
	maxSamplingSeparation  = 0.2
	samplingRandomness     = 0.02
	peerSamplingAdj        = 1.1
	maxBurstInterval       = 2.0
	maxBurstPollRatio      = 0.25
	iburstGoodSamples      = 4
	iburstTotalSamples     = reachBits
	burstGoodSamples       = 1
	maxBurstTotalSamples   = 4
	warmUpDelay            = 2.0
	maxDispersion          = 16.0
	maxServerInterval      = 4.0
	maxTxDelay             = 1.0
	minNonLANPoll          = 0
	maxLANPeerDelay        = 0.01
	maxClientInterleavedTx = 4
	maxInterleavedL2LRatio = 0.1
	maxTimeOffset          = 4294967296.0
	reachBits              = 8
	maxMonoDoffset         = 16.0
	defaultMaxClockError   = 1e-6

	modeActive  = 1
	modePassive = 2
	modeClient  = 3
	modeServer  = 4
)

// Kiss-o'-Death codes handled.
const (
	kodRate = 0x52415445 // RATE
	kodDeny = 0x44454E59 // DENY
	kodRstr = 0x52535452 // RSTR
)

type opMode int

const (
	opOffline opMode = iota
	opOnline
	opBurstWasOnline
	opBurstWasOffline
)

// Source is the state machine of one NTP server or peer. It is not safe
// for concurrent use: the engine goroutine owns it.
type Source struct {
	opts   Options
	remote netip.AddrPort
	env    Env
	rng    *rand.Rand
	key    *auth.Key
	quant  *quantileEstimator

	version    int
	localPoll  int
	pollScore  float64
	op         opMode
	started    bool
	stopped    bool
	burstGood  int
	burstTotal int

	// Timer state: the desired timer and whether it must be (re)announced.
	timerArmed bool
	timerAt    time.Time
	timerSep   time.Duration
	timerDirty bool

	txCount, prevTxCount, presendDone int
	remotePoll                        int
	remoteStratum                     int
	remoteRootDelay, remoteRootDisp   float64
	validRx, validTimestamps          bool
	remoteNTPRx, remoteNTPTx          uint64
	localNTPRx, localNTPTx            uint64
	localRx, localTx, prevLocalTx     LocalTimestamp
	prevLocalPoll                     int
	updatedInit                       bool
	initRemoteNTPTx                   uint64
	initLocalRx                       LocalTimestamp
	localAddr                         netip.Addr
	remoteMonoEpoch                   uint32
	remoteNTPMonoRx                   uint64
	monoDoffset                       float64

	reach          uint8
	reachSize      int
	unreachableRun int

	txSeq      uint64
	report     NTPReport
	counters   Counters
	lastSample *discipline.Sample
}

// New creates a source for the address addr (the port comes from
// opts.Port). It starts neither polling nor timers: call Start.
func New(addr netip.Addr, opts Options, env Env) (*Source, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("source %s: %w", addr, err)
	}
	if !addr.IsValid() {
		return nil, errors.New("source: invalid address")
	}
	o := opts.normalized()
	s := &Source{opts: o, remote: netip.AddrPortFrom(addr.Unmap(), o.Port), env: env}
	if s.env.MaxClockError == 0 {
		s.env.MaxClockError = defaultMaxClockError
	}
	s.rng = env.Rand
	if s.rng == nil {
		// The request cookies protect against off-path spoofing, so they
		// must be unpredictable: seed from the system's secure source.
		var seed [32]byte
		_, _ = crand.Read(seed[:])
		s.rng = rand.New(rand.NewChaCha8(seed))
	}
	if o.Key != 0 {
		if k, ok := env.Keys.Lookup(o.Key); ok {
			s.key = k
		}
	}
	switch {
	case o.ExtFields != 0 || o.XLeave:
		s.version = 4
	case o.Key != 0:
		s.version = auth.SuggestedVersion(s.key)
	default:
		s.version = 4
	}
	if o.Version != 0 {
		s.version = clamp(1, o.Version, 4)
	}
	if o.MaxDelayQuant > 0 {
		k := int(math.Round(clamp(0.05, o.MaxDelayQuant, 0.95) * delayQuantQ))
		s.quant = newQuantileEstimator(k, max(env.Precision, 1e-9)/2, s.rng)
	}
	s.localPoll = max(o.MinPoll, minNonLANPoll)
	s.resetInstance()
	s.resetReport()
	return s, nil
}

// Remote is the source's address and port.
func (s *Source) Remote() netip.AddrPort { return s.remote }

// Options returns the normalised options in use.
func (s *Source) Options() Options { return s.opts }

// KeyMissing reports a configured key that is not in the keyfile
// (chronyd warns "Key N is missing"; requests are then not sent).
func (s *Source) KeyMissing() bool { return s.opts.Key != 0 && s.key == nil }

// Counters returns the drop counters.
func (s *Source) Counters() Counters { return s.counters }

// NTPReport returns the data of `chronyc ntpdata`.
func (s *Source) NTPReport() NTPReport {
	r := s.report
	if s.env.Stats != nil {
		r.JitterAsymmetry = s.env.Stats.JitterAsymmetry()
	}
	return r
}

// Report returns the NTP part of a `chronyc sources` line.
func (s *Source) Report() SourceReport {
	r := SourceReport{
		Mode:    s.opts.Mode,
		Poll:    s.transmitPoll(),
		Reach:   s.reach,
		Online:  s.op == opOnline || s.op == opBurstWasOnline,
		Stopped: s.stopped,
	}
	if s.lastSample != nil {
		cp := *s.lastSample
		r.LastSample = &cp
		r.LastRx = cp.Time
	}
	return r
}

// Poll is the current local polling interval (log2 s).
func (s *Source) Poll() int { return s.localPoll }

// Reach returns the reachability register and its valid size.
func (s *Source) Reach() (uint8, int) { return s.reach, s.reachSize }

// Start enables transmissions; the source goes online unless it was
// configured offline.
func (s *Source) Start(now time.Time) []Action {
	var acts []Action
	s.started = true
	if !s.opts.Offline {
		acts = s.setConnectivity(now, true, acts)
	}
	return s.flushTimer(acts)
}

// SetConnectivity takes the source online or offline (chronyc
// online/offline, auto_offline).
func (s *Source) SetConnectivity(now time.Time, online bool) []Action {
	return s.flushTimer(s.setConnectivity(now, online, nil))
}

// Burst starts a burst of requests (chronyc burst good/total).
func (s *Source) Burst(now time.Time, good, total int) []Action {
	return s.flushTimer(s.initiateBurst(now, good, total, nil))
}

// ResetPoll returns the polling interval to minpoll.
func (s *Source) ResetPoll(now time.Time) []Action {
	s.resetPoll(now)
	return s.flushTimer(nil)
}

// ChangeAddress moves the source to a new address (pool replacement or a
// re-resolved name), dropping the protocol state and statistics.
func (s *Source) ChangeAddress(now time.Time, addr netip.Addr) []Action {
	s.resetInstance()
	s.remote = netip.AddrPortFrom(addr.Unmap(), s.remote.Port())
	if s.reach != 0 {
		s.resetPoll(now)
	}
	wasStopped := s.stopped
	s.stopped = false
	s.resetReport()
	s.lastSample = nil
	acts := []Action{CloseClientSocket{}, ResetStatistics{}}
	if wasStopped && s.started && !s.opts.Offline {
		acts = s.setConnectivity(now, true, acts)
	}
	return s.flushTimer(acts)
}

// HandleSendError tells the source that its last packet could not be
// sent; with auto_offline this takes it offline.
func (s *Source) HandleSendError(now time.Time) []Action {
	if s.report.TotalTx > 0 {
		s.report.TotalTx--
	}
	if !s.opts.AutoOffline {
		return nil
	}
	return s.flushTimer(s.setConnectivity(now, false, nil))
}

// HandleTxTimestamp improves the transmit time of the last request with
// the time the shell took just before sending or the kernel's timestamp.
func (s *Source) HandleTxTimestamp(tx TxInfo) {
	if tx.Seq != s.txSeq || s.localTx.Time.IsZero() {
		return
	}
	d := diffSeconds(tx.Time, s.localTx.Time)
	if d < 0 || d > maxTxDelay {
		return
	}
	s.localTx = LocalTimestamp{Time: tx.Time, Err: tx.Err, Source: tx.Source}
	switch tx.Source {
	case TimestampKernel:
		s.report.TotalKernelTx++
	case TimestampHardware:
		s.report.TotalHardwareTx++
	}
}

func (s *Source) resetInstance() {
	s.txCount, s.presendDone = 0, 0
	s.remotePoll, s.remoteStratum = 0, 0
	s.remoteRootDelay, s.remoteRootDisp = 0, 0
	s.validRx, s.validTimestamps = false, false
	s.remoteNTPRx, s.remoteNTPTx, s.localNTPRx, s.localNTPTx = 0, 0, 0, 0
	s.localRx, s.prevLocalTx = LocalTimestamp{}, LocalTimestamp{}
	s.prevLocalPoll, s.prevTxCount = 0, 0
	s.updatedInit, s.initRemoteNTPTx, s.initLocalRx = false, 0, LocalTimestamp{}
	s.remoteMonoEpoch, s.remoteNTPMonoRx, s.monoDoffset = 0, 0, 0
	if s.quant != nil {
		s.quant.reset()
	}
}

func (s *Source) resetReport() {
	s.report = NTPReport{RemoteAddr: s.remote.Addr(), RemotePort: s.remote.Port()}
}

func (s *Source) resetPoll(now time.Time) {
	s.pollScore = 0
	if s.localPoll != s.opts.MinPoll {
		s.localPoll = s.opts.MinPoll
		if s.timerArmed {
			s.restartTimer(now, s.transmitDelay(now, false))
		}
	}
}

// flushTimer appends the timer action if the timer changed.
func (s *Source) flushTimer(acts []Action) []Action {
	if !s.timerDirty {
		return acts
	}
	s.timerDirty = false
	if s.timerArmed {
		return append(acts, SetTimer{At: s.timerAt, Separation: s.timerSep, Peer: s.opts.Mode == ModePeer})
	}
	return append(acts, CancelTimer{})
}

func (s *Source) restartTimer(now time.Time, delay float64) {
	if !s.started {
		return
	}
	r := 1 + samplingRandomness*s.rng.Float64()
	s.timerAt = now.Add(secondsToDuration(delay * r))
	s.timerSep = secondsToDuration(separation(s.localPoll) * r)
	s.timerArmed = true
	s.timerDirty = true
}

func (s *Source) cancelTimer() {
	if s.timerArmed {
		s.timerArmed = false
		s.timerDirty = true
	}
}

// separation is chronyd's minimum spacing of timers for a poll.
func separation(poll int) float64 {
	return clamp(minSamplingSeparation, log2ToSeconds(poll-3), maxSamplingSeparation)
}

func (s *Source) startInitialTimeout(now time.Time) {
	delay := 0.0
	if !s.localTx.Time.IsZero() {
		delay = s.transmitDelay(now, false)
	}
	s.restartTimer(now, max(delay, initialDelay))
}

func (s *Source) takeOffline(acts []Action) []Action {
	s.op = opOffline
	s.cancelTimer()
	s.reach, s.reachSize = 0, 0
	s.resetInstance()
	s.unreachableRun = 0
	return append(acts, Reachability{Reset: true}, CloseClientSocket{})
}

func (s *Source) setConnectivity(now time.Time, online bool, acts []Action) []Action {
	if online {
		switch s.op {
		case opOffline:
			if s.stopped {
				return acts
			}
			s.op = opOnline
			s.resetInstance()
			s.startInitialTimeout(now)
			if s.opts.IBurst {
				acts = s.initiateBurst(now, iburstGoodSamples, iburstTotalSamples, acts)
			}
		case opBurstWasOffline:
			s.op = opBurstWasOnline
		}
		return acts
	}
	switch s.op {
	case opOnline:
		acts = s.takeOffline(acts)
	case opBurstWasOnline:
		s.op = opBurstWasOffline
	}
	return acts
}

func (s *Source) initiateBurst(now time.Time, good, total int, acts []Action) []Action {
	if s.opts.Mode != ModeClient {
		return acts
	}
	switch s.op {
	case opOnline, opOffline:
		if s.op == opOnline {
			s.op = opBurstWasOnline
		} else {
			s.op = opBurstWasOffline
		}
		s.burstGood, s.burstTotal = good, total
		s.startInitialTimeout(now)
	}
	return acts
}

func (s *Source) reachable() bool { return s.reach != 0 }

func (s *Source) updateReach(ok bool, acts []Action) []Action {
	s.reach <<= 1
	if ok {
		s.reach |= 1
	}
	if s.reachSize < reachBits {
		s.reachSize++
	}
	if s.reach == 0 {
		s.unreachableRun++
	} else {
		s.unreachableRun = 0
	}
	return append(acts, Reachability{
		Reach:          s.reach,
		Size:           s.reachSize,
		Unreachable:    s.reach == 0 && s.reachSize == reachBits,
		UnreachableRun: s.unreachableRun,
	})
}

func (s *Source) selected() bool { return s.env.Stats != nil && s.env.Stats.Selected() }

func (s *Source) adjustPoll(adj float64) {
	s.pollScore += adj
	if s.pollScore >= 1 {
		s.localPoll += int(s.pollScore)
		s.pollScore -= float64(int(s.pollScore))
	}
	if s.pollScore < 0 {
		n := int(s.pollScore - 1)
		s.localPoll += n
		s.pollScore -= float64(n)
	}
	if s.localPoll < s.opts.MinPoll {
		s.localPoll = s.opts.MinPoll
		s.pollScore = 0
	} else if s.localPoll > s.opts.MaxPoll {
		s.localPoll = s.opts.MaxPoll
		s.pollScore = 1
	}
	if s.localPoll < minNonLANPoll {
		minDelay := 0.0
		if s.env.Stats != nil {
			minDelay = s.env.Stats.MinRoundTripDelay()
		}
		if !s.reachable() || minDelay > maxLANPeerDelay {
			s.localPoll = minNonLANPoll
		}
	}
}

// pollAdjustment is chronyd's get_poll_adj: back off when the prediction
// misses by more than the peer distance, else steer the number of samples
// towards polltarget.
func (s *Source) pollAdjustment(errorInEstimate, peerDistance float64, samples int) float64 {
	if errorInEstimate > peerDistance {
		return -math.Log2(errorInEstimate / peerDistance)
	}
	t := float64(s.opts.PollTarget)
	adj := (float64(samples)/t - 1) / t
	if float64(samples) < t {
		adj *= 2
	}
	return adj
}

func (s *Source) transmitPoll() int {
	poll := s.localPoll
	if s.opts.Mode == ModePeer && poll > s.remotePoll && s.reachable() {
		poll = max(s.remotePoll, s.opts.MinPoll)
	}
	return poll
}

func (s *Source) ourStratum() int {
	if ref := s.reference(); ref != nil && ref.Synchronised {
		return int(ref.Stratum)
	}
	return maxStratum
}

func (s *Source) reference() *discipline.ReferenceSnapshot {
	if s.env.Reference == nil {
		return nil
	}
	return s.env.Reference()
}

func (s *Source) transmitDelay(now time.Time, onTx bool) float64 {
	lastTx := 0.0
	if !onTx && !s.localTx.Time.IsZero() {
		lastTx = diffSeconds(now, s.localTx.Time)
	}
	delay := log2ToSeconds(s.transmitPoll())
	switch s.op {
	case opOnline:
		if s.opts.Mode == ModeClient {
			if s.presendDone > 0 {
				delay = warmUpDelay
			}
		} else {
			diff := s.remoteStratum - s.ourStratum()
			if (diff > 0 && lastTx*peerSamplingAdj < delay) ||
				(!onTx && diff == 0 && lastTx/delay > peerSamplingAdj-0.5) {
				delay *= peerSamplingAdj
			}
		}
	case opBurstWasOnline, opBurstWasOffline:
		delay = min(maxBurstInterval, maxBurstPollRatio*delay)
	}
	if lastTx > 0 {
		delay -= lastTx
	}
	return max(delay, 0)
}

// HandleTimer runs the transmit timeout: it sends the next request (or
// burst request) and schedules the following one.
func (s *Source) HandleTimer(now time.Time) []Action {
	if !s.timerArmed {
		return nil
	}
	s.timerArmed = false
	var acts []Action
	switch s.op {
	case opBurstWasOnline:
		if s.burstTotal <= 1 {
			s.op = opOnline
		}
	case opBurstWasOffline:
		if s.burstTotal <= 0 {
			acts = s.takeOffline(acts)
		}
	case opOnline:
		if s.opts.Burst && s.localPoll > s.opts.MinPoll {
			acts = s.initiateBurst(now, burstGoodSamples,
				min(1<<(s.localPoll-s.opts.MinPoll), maxBurstTotalSamples), acts)
		}
	}
	if s.op == opOffline {
		s.timerDirty = false
		return acts
	}

	interleaved := s.opts.XLeave &&
		((s.opts.Mode == ModeClient && s.txCount < maxClientInterleavedTx) ||
			(s.opts.Mode == ModePeer && s.prevTxCount == 1 && s.txCount == 0))
	initial := s.opts.Mode == ModePeer && !s.validRx && s.initRemoteNTPTx != 0
	s.validRx = false
	s.updatedInit = false
	if initial {
		s.validTimestamps = false
	}
	if s.opts.Presend <= s.localPoll && s.presendDone == 0 && s.burstTotal == 0 {
		s.presendDone = 1
		if interleaved {
			s.presendDone = 2
		}
	} else if s.presendDone > 0 {
		s.presendDone--
	}

	pkt, ok := s.buildPacket(now, interleaved, initial)
	s.txCount++
	if ok {
		s.txSeq++
		s.report.TotalTx++
		acts = append(acts, Transmit{
			To:            s.remote,
			Packet:        pkt,
			Seq:           s.txSeq,
			Peer:          s.opts.Mode == ModePeer,
			ReceiveWindow: secondsToDuration(s.opts.MaxDelay + maxServerInterval),
		})
	}
	if s.txCount >= 2 {
		if ok {
			if s.selected() {
				s.adjustPoll(0.1)
			} else {
				s.adjustPoll(0.25)
			}
		}
		acts = s.updateReach(false, acts)
	}
	if !ok && s.opts.AutoOffline {
		acts = s.setConnectivity(now, false, acts)
	}
	switch s.op {
	case opBurstWasOnline:
		if ok || s.reachable() {
			s.burstTotal--
		}
	case opBurstWasOffline:
		s.burstTotal--
	case opOffline:
		return s.flushTimer(acts)
	}
	s.restartTimer(now, s.transmitDelay(now, true))
	return s.flushTimer(acts)
}

// fuzz returns random bits below the given precision (log2 s), which
// chronyd XORs into timestamps it sends; precision 32 gives 64 bits.
func (s *Source) fuzz(precision int) uint64 {
	return uint64(wire.Fuzz(precision, s.rng.Uint64()))
}

// buildPacket forms the request (client) or symmetric packet and updates
// the local transmit state, as chronyd's transmit_packet.
func (s *Source) buildPacket(now time.Time, interleaved, initial bool) ([]byte, bool) {
	var p protocol.Packet
	precision := 32
	mode := uint8(modeClient)
	leap := discipline.LeapNormal
	remoteNTPRx, remoteNTPTx, localRx := s.remoteNTPRx, s.remoteNTPTx, s.localRx
	if initial {
		interleaved = false
		remoteNTPTx, localRx = s.initRemoteNTPTx, s.initLocalRx
	}
	if interleaved && s.localTx.Time.IsZero() {
		interleaved = false
	}
	if s.opts.Mode == ModePeer {
		mode = modeActive
		ref := s.reference()
		precision = int(wire.PrecisionLog2(secondsToDuration(s.env.Precision)))
		if ref != nil {
			precision = int(ref.Precision)
		}
		if ref != nil && ref.Synchronised {
			leap = ref.Leap
			if ref.Stratum < maxStratum {
				p.Stratum = ref.Stratum
			}
			p.ReferenceID = ref.RefID
			if !ref.RefTime.IsZero() {
				rt := toNTP64(ref.RefTime)
				p.RefTimeSec, p.RefTimeFrac = uint32(rt>>32), uint32(rt)
			}
			p.RootDelay = secondsToNTPShort(ref.RootDelay)
			p.RootDispersion = secondsToNTPShort(ref.RootDispersionAt(now))
		} else {
			// chronyd's values when not synchronised.
			leap = discipline.LeapUnsynchronised
			p.RootDelay = secondsToNTPShort(1)
			p.RootDispersion = secondsToNTPShort(1)
		}
	}
	p.Settings = uint8(leap)<<6 | uint8(s.version)<<3 | mode
	p.Poll = int8(s.localPoll)
	p.Precision = int8(precision)

	var origin, receive, transmit uint64
	if s.opts.Mode == ModePeer || interleaved {
		if interleaved {
			origin = remoteNTPRx
		} else {
			origin = remoteNTPTx
		}
		for i := 0; i < 100; i++ {
			receive = toNTP64(localRx.Time)
			if receive != 0 {
				receive ^= s.fuzz(precision)
			}
			if receive == 0 || (receive != origin && receive != s.localNTPRx) {
				break
			}
		}
	}
	txTime := now
	if interleaved {
		txTime = s.localTx.Time
	}
	for i := 0; i < 100; i++ {
		transmit = toNTP64(txTime) ^ s.fuzz(precision)
		if transmit != 0 && transmit != receive && transmit != origin && transmit != s.localNTPTx {
			break
		}
	}
	p.OrigTimeSec, p.OrigTimeFrac = uint32(origin>>32), uint32(origin)
	p.RxTimeSec, p.RxTimeFrac = uint32(receive>>32), uint32(receive)
	p.TxTimeSec, p.TxTimeFrac = uint32(transmit>>32), uint32(transmit)
	buf, err := p.Bytes()
	if err != nil {
		return nil, false
	}
	if s.opts.ExtFields&ExtFieldMonoRoot != 0 {
		buf = appendMonoRootRequest(buf)
	}
	if s.opts.Key != 0 {
		if s.key == nil {
			return nil, false
		}
		if buf, err = auth.Sign(buf, s.key); err != nil {
			return nil, false
		}
	}
	s.localTx = LocalTimestamp{Time: now, Source: TimestampDaemon}
	s.localNTPRx, s.localNTPTx = receive, transmit
	return buf, true
}

// header is the decoded fixed part of a received packet.
type header struct {
	leap      discipline.LeapStatus
	version   int
	mode      int
	stratum   int
	poll      int
	precision int
	rootDelay float64
	rootDisp  float64
	rawDelay  uint32
	refID     uint32
	refTime   uint64
	origin    uint64
	receive   uint64
	transmit  uint64
	monoRoot  *monoRoot
}

func decodeHeader(b []byte) header {
	u64 := func(o int) uint64 { return binary.BigEndian.Uint64(b[o:]) }
	h := header{
		leap:      discipline.LeapStatus(b[0] >> 6),
		version:   int(b[0]>>3) & 7,
		mode:      int(b[0] & 7),
		stratum:   int(b[1]),
		poll:      int(int8(b[2])),
		precision: int(int8(b[3])),
		rawDelay:  binary.BigEndian.Uint32(b[4:]),
		refID:     binary.BigEndian.Uint32(b[12:]),
		refTime:   u64(16),
		origin:    u64(24),
		receive:   u64(32),
		transmit:  u64(40),
	}
	h.rootDelay = ntpShortToSeconds(h.rawDelay)
	h.rootDisp = ntpShortToSeconds(binary.BigEndian.Uint32(b[8:]))
	return h
}

// HandleIncoming processes a packet from the network addressed to this
// source: a server response in client mode, a mode 1 or 2 packet in
// symmetric mode. Other packets are dropped and counted.
func (s *Source) HandleIncoming(pkt []byte, from netip.AddrPort, rx RxInfo) []Action {
	s.report.TotalRx++
	switch rx.Source {
	case TimestampKernel:
		s.report.TotalKernelRx++
	case TimestampHardware:
		s.report.TotalHardwareRx++
	}
	if from.Addr().Unmap() != s.remote.Addr() || from.Port() != s.remote.Port() {
		s.counters.WrongAddress++
		return nil
	}
	pa, err := auth.LocateMAC(pkt)
	if err != nil {
		s.counters.Malformed++
		return nil
	}
	h := decodeHeader(pkt)
	if s.opts.ExtFields&ExtFieldMonoRoot != 0 {
		h.monoRoot = findMonoRoot(pkt, pa)
		if h.monoRoot != nil {
			h.rootDelay = h.monoRoot.rootDelay
			h.rootDisp = h.monoRoot.rootDisp
		}
	}
	proc := false
	switch s.opts.Mode {
	case ModeClient:
		proc = h.mode == modeServer
	case ModePeer:
		proc = h.mode == modeActive || h.mode == modePassive
	}
	if !proc {
		s.counters.WrongMode++
		return nil
	}
	if s.op == opOffline || !s.started || s.stopped {
		s.counters.Offline++
		return nil
	}
	return s.flushTimer(s.processResponse(pkt, pa, h, rx, nil))
}

func (s *Source) checkAuth(pkt []byte, pa auth.PacketAuth) bool {
	if s.opts.Key == 0 {
		return pa.Mode == auth.ModeNone
	}
	if pa.Mode != auth.ModeSymmetric || s.key == nil {
		return false
	}
	want := s.opts.Key
	return s.env.Keys.Verify(pkt, pa, &want)
}

func (s *Source) stats() Stats {
	if s.env.Stats == nil {
		return noStats{}
	}
	return s.env.Stats
}

func (s *Source) checkDelayRatio(t time.Time, delay float64) bool {
	if s.opts.MaxDelayRatio < 1 {
		return true
	}
	d, ok := s.stats().DelayTestData(t)
	if !ok {
		return true
	}
	maxDelay := d.MinDelay*s.opts.MaxDelayRatio + d.LastSampleAgo*(d.Skew+s.env.MaxClockError)
	return delay <= maxDelay
}

func (s *Source) checkDelayDevRatio(t time.Time, offset, delay float64) bool {
	d, ok := s.stats().DelayTestData(t)
	if !ok {
		return true
	}
	maxDelta := d.StdDev*s.opts.MaxDelayDevRatio + d.LastSampleAgo*(d.Skew+s.env.MaxClockError)
	delta := (delay - d.MinDelay) / 2
	if delta <= maxDelta {
		return true
	}
	errorInEstimate := offset + d.PredictedOffset
	return math.Abs(errorInEstimate)-delta > maxDelta
}

func (s *Source) checkSyncLoop(h header, rx RxInfo) bool {
	if !s.env.ServerSocketOpen {
		return true
	}
	if h.stratum > 1 && rx.Local.IsValid() && h.refID == RefIDOfAddr(rx.Local) {
		return false
	}
	ref := s.reference()
	if ref == nil {
		return true
	}
	ourStratum := maxStratum
	if ref.Synchronised {
		ourStratum = int(ref.Stratum)
	}
	if h.stratum == ourStratum && h.refID == ref.RefID &&
		h.rawDelay == secondsToNTPShort(ref.RootDelay) && h.refTime != 0 &&
		h.refTime == toNTP64(ref.RefTime) {
		return false
	}
	return true
}

func isTimeOffsetSane(offset float64) bool {
	return offset > -maxTimeOffset && offset < maxTimeOffset
}

func kodName(refID uint32) string {
	b := []byte{byte(refID >> 24), byte(refID >> 16), byte(refID >> 8), byte(refID)}
	return string(b)
}

// processResponse is chronyd's process_response: the packet tests, the
// measurement, the timestamp bookkeeping and the follow-up actions.
func (s *Source) processResponse(pkt []byte, pa auth.PacketAuth, h header, rx RxInfo, acts []Action) []Action {
	var t Tests
	now := rx.Time
	t.T1 = h.receive != s.remoteNTPRx || h.transmit != s.remoteNTPTx
	test2n := h.origin == s.localNTPTx
	test2i := s.opts.XLeave && h.origin == s.localNTPRx
	t.T2 = test2n || test2i
	interleavedPkt := !test2n && test2i
	t.T3 = h.origin != 0 && h.receive != 0 && h.transmit != 0
	t.T5 = s.checkAuth(pkt, pa)
	t.T6 = h.leap != discipline.LeapUnsynchronised && h.stratum < maxStratum && h.stratum != 0
	t.T7 = h.rootDelay/2+h.rootDisp < maxDispersion
	valid := t.T1 && t.T2 && t.T3 && t.T5
	synced := valid && t.T6 && t.T7
	if !t.T5 {
		s.counters.AuthFailed++
	} else if !t.T1 {
		s.counters.Duplicate++
	} else if !t.T2 || !t.T3 {
		s.counters.Bogus++
	}

	kod := uint32(0)
	if t.T1 && t.T2 && t.T5 && h.leap == discipline.LeapUnsynchronised && h.stratum == 0 {
		switch h.refID {
		case kodRate, kodDeny, kodRstr:
			kod = h.refID
		}
	}

	var smp discipline.Sample
	var theta, peerDelay, peerDisp, responseTime float64
	localReceive, localTransmit := LocalTimestamp{Time: rx.Time, Err: rx.Err, Source: rx.Source}, s.localTx
	good := false
	monoDoffset := 0.0
	if synced && (!interleavedPkt || s.validTimestamps) {
		if mr := h.monoRoot; mr != nil && s.remoteMonoEpoch == mr.epoch && mr.monoRx != 0 && s.remoteNTPMonoRx != 0 {
			monoDoffset = ntpDiff(mr.monoRx, s.remoteNTPMonoRx) - ntpDiff(h.receive, s.remoteNTPRx)
			if math.Abs(monoDoffset) > maxMonoDoffset {
				monoDoffset = 0
			}
		}
		var remoteReceive, remoteTransmit, remoteRequestReceive, prevRemoteTransmit time.Time
		var rootDelay, rootDisp float64
		if interleavedPkt {
			if !s.prevLocalTx.Time.IsZero() &&
				maxInterleavedL2LRatio*diffSeconds(s.localTx.Time, s.localRx.Time) >
					diffSeconds(s.localRx.Time, s.prevLocalTx.Time) {
				remoteReceive = fromNTP64(s.remoteNTPRx, now).Add(-secondsToDuration(monoDoffset))
				remoteRequestReceive = remoteReceive
				localTransmit = s.prevLocalTx
				rootDelay, rootDisp = s.remoteRootDelay, s.remoteRootDisp
			} else {
				remoteReceive = fromNTP64(h.receive, now)
				remoteRequestReceive = fromNTP64(s.remoteNTPRx, now)
				localTransmit = s.localTx
				rootDelay = max(h.rootDelay, s.remoteRootDelay)
				rootDisp = max(h.rootDisp, s.remoteRootDisp)
			}
			remoteTransmit = fromNTP64(h.transmit, now).Add(-secondsToDuration(monoDoffset))
			prevRemoteTransmit = fromNTP64(s.remoteNTPTx, now)
			localReceive = s.localRx
		} else {
			remoteReceive = fromNTP64(h.receive, now)
			remoteTransmit = fromNTP64(h.transmit, now)
			remoteRequestReceive = remoteReceive
			localTransmit = s.localTx
			rootDelay, rootDisp = h.rootDelay, h.rootDisp
		}
		remoteAverage, remoteInterval := averageAndDiff(remoteReceive, remoteTransmit)
		localAverage, localInterval := averageAndDiff(localTransmit.Time, localReceive.Time)
		responseTime = math.Abs(diffSeconds(remoteTransmit, remoteRequestReceive))
		precision := s.env.Precision + log2ToSeconds(h.precision)

		peerDelay = max(math.Abs(localInterval-remoteInterval), precision)
		theta = diffSeconds(remoteAverage, localAverage) + s.opts.Offset
		lo, hi := s.stats().FrequencyRange()
		skew := (hi - lo) / 2
		peerDisp = max(precision, localTransmit.Err, localReceive.Err) + skew*math.Abs(localInterval)
		prevRemotePollInterval := log2ToSeconds(min(s.remotePoll, s.prevLocalPoll))

		client := s.opts.Mode == ModeClient
		peer := s.opts.Mode == ModePeer
		t.A = peerDelay-peerDisp <= s.opts.MaxDelay &&
			precision <= s.opts.MaxDelay &&
			s.presendDone <= 0 &&
			isTimeOffsetSane(theta) &&
			!(client && responseTime > maxServerInterval) &&
			!(client && interleavedPkt && s.prevLocalTx.Time.IsZero() &&
				localTransmit.Time.Equal(s.localTx.Time)) &&
			!(peer && interleavedPkt &&
				(peerDelay > 0.5*prevRemotePollInterval ||
					h.receive <= h.transmit ||
					(s.remotePoll <= s.prevLocalPoll &&
						diffSeconds(remoteTransmit, prevRemoteTransmit) > 1.5*prevRemotePollInterval)))
		t.B = s.checkDelayRatio(localAverage, peerDelay)
		if s.quant != nil {
			t.C = peerDelay <= s.quant.quantile()+s.quant.minStep/2
		} else {
			t.C = s.checkDelayDevRatio(localAverage, theta, peerDelay)
		}
		t.D = s.checkSyncLoop(h, rx)
		smp = discipline.Sample{
			Time:           localAverage,
			Offset:         -theta,
			PeerDelay:      peerDelay,
			PeerDispersion: peerDisp,
			RootDelay:      rootDelay + peerDelay,
			RootDispersion: rootDisp + peerDisp,
			Leap:           h.leap,
		}
	} else {
		smp.Time = rx.Time
		localReceive = LocalTimestamp{Time: rx.Time, Err: rx.Err, Source: rx.Source}
		localTransmit = s.localTx
	}
	good = t.A && t.B && t.C && t.D

	peerMode := s.opts.Mode == ModePeer
	if (!peerMode && valid && !s.validRx) ||
		(peerMode && valid && (!s.validRx || s.remoteNTPTx < h.transmit)) {
		s.remoteNTPRx, s.remoteNTPTx = h.receive, h.transmit
		s.localRx = LocalTimestamp{Time: rx.Time, Err: rx.Err, Source: rx.Source}
		s.validTimestamps = synced
		s.initRemoteNTPTx, s.initLocalRx, s.updatedInit = 0, LocalTimestamp{}, false
		if mr := h.monoRoot; mr != nil && mr.monoRx != 0 {
			s.remoteMonoEpoch, s.remoteNTPMonoRx = mr.epoch, mr.monoRx
			s.monoDoffset += monoDoffset
		} else {
			s.remoteMonoEpoch, s.remoteNTPMonoRx, s.monoDoffset = 0, 0, 0
		}
		if interleavedPkt || !good {
			s.prevLocalTx = s.localTx
		} else {
			s.prevLocalTx = LocalTimestamp{}
		}
	} else if peerMode && t.T1 && h.transmit != 0 && t.T5 &&
		(!s.updatedInit || s.initRemoteNTPTx < h.transmit) {
		s.initRemoteNTPTx = h.transmit
		s.initLocalRx = LocalTimestamp{Time: rx.Time, Err: rx.Err, Source: rx.Source}
		s.updatedInit = true
	}

	if s.validRx {
		t.T2, t.T3 = false, false
		valid, synced, good = false, false, false
	} else if valid {
		s.validRx = true
	}

	if valid {
		s.remotePoll = h.poll
		if h.stratum != 0 {
			s.remoteStratum = min(h.stratum, maxStratum)
		} else {
			s.remoteStratum = maxStratum
		}
		s.remoteRootDelay, s.remoteRootDisp = h.rootDelay, h.rootDisp
		s.prevLocalPoll = s.localPoll
		s.prevTxCount = s.txCount
		s.txCount = 0
		acts = s.updateReach(synced, acts)

		var copyRefID uint32
		if s.opts.Copy {
			if synced && s.remoteStratum > 0 {
				s.remoteStratum--
				copyRefID = h.refID
			} else {
				acts = append(acts, ResetStatistics{})
			}
		}
		if synced {
			acts = append(acts, StatusUpdate{
				Stratum: max(s.remoteStratum, s.opts.MinStratum),
				Leap:    h.leap,
				RefID:   copyRefID,
			})
			if s.quant != nil {
				s.quant.accumulate(peerDelay)
			}
		}
		if good {
			smp.Stratum = max(s.remoteStratum, s.opts.MinStratum)
			st := s.stats()
			errorInEstimate := math.Abs(-theta - st.PredictOffset(smp.Time))
			if s.monoDoffset != 0 && math.Abs(s.monoDoffset) <= maxMonoDoffset {
				acts = append(acts, CorrectOffset{Delta: s.monoDoffset})
			}
			s.monoDoffset = 0
			acts = append(acts, DeliverSample{Sample: smp})
			cp := smp
			s.lastSample = &cp
			s.adjustPoll(s.pollAdjustment(errorInEstimate, peerDisp+0.5*peerDelay, st.SamplesAfter(smp)))
			if s.op == opBurstWasOnline || s.op == opBurstWasOffline {
				s.burstGood--
				if s.burstGood <= 0 {
					if s.op == opBurstWasOnline {
						s.op = opOnline
					} else {
						acts = s.takeOffline(acts)
					}
				}
			}
		} else if t.D {
			s.adjustPoll(0.02)
		} else {
			s.adjustPoll(0.1)
		}
		if !peerMode {
			acts = append(acts, CloseClientSocket{})
		}
		s.localAddr = rx.Local

		if s.op != opOffline {
			delay := s.transmitDelay(now, false)
			if kod == kodRate {
				delay += 4 * log2ToSeconds(s.localPoll)
				if s.op == opBurstWasOffline || s.op == opBurstWasOnline {
					s.burstGood = 0
				}
			}
			s.restartTimer(now, delay)
		}
		if kod != 0 {
			stop := kod == kodDeny || kod == kodRstr
			acts = append(acts, KissOfDeath{Code: kodName(kod), Stopped: stop})
			if stop {
				acts = s.takeOffline(acts)
				s.stopped = true
			}
		}

		r := &s.report
		r.LocalAddr = rx.Local
		r.Leap = h.leap
		r.Version = h.version
		r.Mode = h.mode
		r.Stratum = h.stratum
		r.Poll = h.poll
		r.Precision = h.precision
		r.RootDelay, r.RootDispersion = h.rootDelay, h.rootDisp
		r.RefID = h.refID
		r.RefTime = time.Time{}
		if h.refTime != 0 {
			r.RefTime = fromNTP64(h.refTime, now)
		}
		r.Offset = theta
		r.PeerDelay, r.PeerDispersion = peerDelay, peerDisp
		r.ResponseTime = responseTime
		r.Tests = t
		r.Interleaved = interleavedPkt
		r.Authenticated = s.opts.Key != 0
		r.TxTimestamp = localTransmit.Source
		if r.TxTimestamp == 0 {
			r.TxTimestamp = TimestampDaemon
		}
		r.RxTimestamp = localReceive.Source
		if r.RxTimestamp == 0 {
			r.RxTimestamp = TimestampDaemon
		}
		r.TotalValid++
		if good {
			r.TotalGood++
		}
	}

	acts = append(acts, Measurement{
		Synced: synced,
		Record: MeasurementRecord{
			Time:           smp.Time,
			Remote:         s.remote.Addr(),
			Leap:           h.leap,
			Stratum:        h.stratum,
			Tests:          t,
			LocalPoll:      s.localPoll,
			RemotePoll:     h.poll,
			PollScore:      s.pollScore,
			Offset:         theta,
			PeerDelay:      peerDelay,
			PeerDispersion: peerDisp,
			RootDelay:      h.rootDelay,
			RootDispersion: h.rootDisp,
			RefID:          h.refID,
			Mode:           h.mode,
			Interleaved:    interleavedPkt,
			TxSource:       orDaemon(localTransmit.Source),
			RxSource:       orDaemon(localReceive.Source),
		},
	})
	return acts
}

func orDaemon(t TimestampSource) TimestampSource {
	if t == 0 {
		return TimestampDaemon
	}
	return t
}

// noStats stands in when the caller gives no statistics.
type noStats struct{}

func (noStats) Samples() int                                  { return 0 }
func (noStats) SamplesAfter(discipline.Sample) int            { return 1 }
func (noStats) PredictOffset(time.Time) float64               { return 0 }
func (noStats) DelayTestData(time.Time) (DelayTestData, bool) { return DelayTestData{}, false }
func (noStats) FrequencyRange() (float64, float64)            { return 0, 0 }
func (noStats) MinRoundTripDelay() float64                    { return 0 }
func (noStats) JitterAsymmetry() float64                      { return 0 }
func (noStats) Selected() bool                                { return false }
