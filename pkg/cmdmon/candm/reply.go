package candm

import (
	"errors"
	"fmt"
	"time"
)

// ReplyBody is the typed data of a successful reply. A reply without data
// (RPY_NULL) has a nil body.
type ReplyBody interface {
	// codes returns the reply formats able to carry the body, newest first.
	codes() []ReplyCode
	encode(w *writer, code ReplyCode)
}

// NSources is the N_SOURCES reply: the number of sources.
type NSources struct {
	N uint32
}

// Source modes of SourceData.
const (
	SourceModeClient = 0
	SourceModePeer   = 1
	SourceModeRef    = 2
)

// Source states of SourceData (chronyc's *, ?, x, ~, +, -).
const (
	SourceStateSelected      = 0
	SourceStateNonselectable = 1
	SourceStateFalseticker   = 2
	SourceStateJittery       = 3
	SourceStateUnselected    = 4
	SourceStateSelectable    = 5
)

// SourceData is one line of chronyc sources (SOURCE_DATA reply).
type SourceData struct {
	IPAddr         IPAddr
	Poll           int16
	Stratum        uint16
	State          uint16 // SourceState*
	Mode           uint16 // SourceMode*
	Flags          uint16
	Reachability   uint16
	SinceSample    uint32  // seconds since the last sample
	OrigLatestMeas float64 // measured offset of the last sample, seconds
	LatestMeas     float64 // adjusted offset of the last sample, seconds
	LatestMeasErr  float64 // its error estimate, seconds
}

// Tracking is chronyc tracking (TRACKING reply).
type Tracking struct {
	RefID              uint32
	IPAddr             IPAddr
	Stratum            uint16
	LeapStatus         uint16 // 0 normal, 1 insert, 2 delete, 3 unsynchronised
	RefTime            time.Time
	CurrentCorrection  float64
	LastOffset         float64
	RMSOffset          float64
	FreqPPM            float64
	ResidFreqPPM       float64
	SkewPPM            float64
	RootDelay          float64
	RootDispersion     float64
	LastUpdateInterval float64
}

// SourceStats is one line of chronyc sourcestats (SOURCESTATS reply).
type SourceStats struct {
	RefID        uint32
	IPAddr       IPAddr
	NSamples     uint32
	NRuns        uint32
	SpanSeconds  uint32
	SD           float64
	ResidFreqPPM float64
	SkewPPM      float64
	EstOffset    float64
	EstOffsetErr float64
}

// RTCReport is chronyc rtcdata (RTC reply).
type RTCReport struct {
	RefTime        time.Time
	NSamples       uint16
	NRuns          uint16
	SpanSeconds    uint32
	RTCSecondsFast float64
	RTCGainRatePPM float64
}

// ManualTimestamp answers settime (MANUAL_TIMESTAMP2 reply).
type ManualTimestamp struct {
	Offset      float64
	DFreqPPM    float64
	NewAFreqPPM float64
}

// MaxClientAccesses is the most clients one CLIENT_ACCESSES_BY_INDEX3 reply
// carries.
const MaxClientAccesses = 8

// ClientAccess is one client of chronyc clients.
type ClientAccess struct {
	IP                 IPAddr
	NTPHits            uint32
	NKEHits            uint32
	CmdHits            uint32
	NTPDrops           uint32
	NKEDrops           uint32
	CmdDrops           uint32
	NTPInterval        int8
	NKEInterval        int8
	CmdInterval        int8
	NTPTimeoutInterval int8
	LastNTPHitAgo      uint32
	LastNKEHitAgo      uint32
	LastCmdHitAgo      uint32
}

// ClientAccesses is a page of chronyc clients (CLIENT_ACCESSES_BY_INDEX3).
type ClientAccesses struct {
	NIndices  uint32
	NextIndex uint32
	Clients   []ClientAccess // at most MaxClientAccesses
}

// ServerStats is chronyc serverstats. Older reply versions carry fewer
// fields, as 32-bit counters (truncated when encoded).
type ServerStats struct {
	NTPHits               uint64
	NKEHits               uint64
	CmdHits               uint64
	NTPDrops              uint64
	NKEDrops              uint64
	CmdDrops              uint64
	LogDrops              uint64
	NTPAuthHits           uint64
	NTPInterleavedHits    uint64
	NTPTimestamps         uint64
	NTPSpanSeconds        uint64
	NTPDaemonRxTimestamps uint64
	NTPDaemonTxTimestamps uint64
	NTPKernelRxTimestamps uint64
	NTPKernelTxTimestamps uint64
	NTPHwRxTimestamps     uint64
	NTPHwTxTimestamps     uint64
}

// MaxManualSamples is the most samples of a MANUAL_LIST2 reply.
const MaxManualSamples = 16

// ManualSample is one sample of chronyc manual list.
type ManualSample struct {
	When         time.Time
	SlewedOffset float64
	OrigOffset   float64
	Residual     float64
}

// ManualList is chronyc manual list (MANUAL_LIST2 reply).
type ManualList struct {
	Samples []ManualSample // at most MaxManualSamples
}

// Activity is chronyc activity (ACTIVITY reply).
type Activity struct {
	Online       int32
	Offline      int32
	BurstOnline  int32
	BurstOffline int32
	Unresolved   int32
}

// Smoothing is chronyc smoothing (SMOOTHING reply).
type Smoothing struct {
	Active        bool
	LeapOnly      bool
	Offset        float64
	FreqPPM       float64
	WanderPPM     float64
	LastUpdateAgo float64
	RemainingTime float64
}

// Flags of NTPData.Flags: the ten test bits (chronyc shows them as
// "Test result"), interleaved mode and authentication.
const (
	NTPFlagsTests        = 0x3ff
	NTPFlagInterleaved   = 0x4000
	NTPFlagAuthenticated = 0x8000
)

// NTPData is chronyc ntpdata for one source (NTP_DATA2, or NTP_DATA for
// chronyc 4.5 and older, which lacks the timestamp counters).
type NTPData struct {
	RemoteAddr      IPAddr
	LocalAddr       IPAddr
	RemotePort      uint16
	Leap            uint8
	Version         uint8
	Mode            uint8
	Stratum         uint8
	Poll            int8
	Precision       int8
	RootDelay       float64
	RootDispersion  float64
	RefID           uint32
	RefTime         time.Time
	Offset          float64
	PeerDelay       float64
	PeerDispersion  float64
	ResponseTime    float64
	JitterAsymmetry float64
	Flags           uint16
	TxTssChar       uint8
	RxTssChar       uint8
	TotalTxCount    uint32
	TotalRxCount    uint32
	TotalValidCount uint32
	TotalGoodCount  uint32
	TotalKernelTxTS uint32
	TotalKernelRxTS uint32
	TotalHWTxTS     uint32
	TotalHWRxTS     uint32
}

// SourceName is chronyc sourcename (NTP_SOURCE_NAME reply).
type SourceName struct {
	Name string
}

// Authentication modes of AuthData.
const (
	AuthModeNone      = 0
	AuthModeSymmetric = 1
	AuthModeNTS       = 2
)

// AuthData is chronyc authdata for one source (AUTH_DATA reply).
type AuthData struct {
	Mode         uint16
	KeyType      uint16
	KeyID        uint32
	KeyLength    uint16
	KEAttempts   uint16
	LastKEAgo    uint32
	Cookies      uint16
	CookieLength uint16
	NAK          uint16
}

// Selection options of SelectData.
const (
	SelectOptionNoselect = 0x1
	SelectOptionPrefer   = 0x2
	SelectOptionTrust    = 0x4
	SelectOptionRequire  = 0x8
)

// SelectData is one line of chronyc selectdata (SELECT_DATA reply).
type SelectData struct {
	RefID          uint32
	IPAddr         IPAddr
	StateChar      uint8
	Authentication uint8
	Leap           uint8
	ConfOptions    uint16
	EffOptions     uint16
	LastSampleAgo  uint32
	Score          float64
	LoLimit        float64
	HiLimit        float64
}

func (NSources) codes() []ReplyCode        { return []ReplyCode{RpyNSources} }
func (SourceData) codes() []ReplyCode      { return []ReplyCode{RpySourceData} }
func (Tracking) codes() []ReplyCode        { return []ReplyCode{RpyTracking} }
func (SourceStats) codes() []ReplyCode     { return []ReplyCode{RpySourceStats} }
func (RTCReport) codes() []ReplyCode       { return []ReplyCode{RpyRTC} }
func (ManualTimestamp) codes() []ReplyCode { return []ReplyCode{RpyManualTimestamp2} }
func (ClientAccesses) codes() []ReplyCode  { return []ReplyCode{RpyClientAccessesByIndex3} }
func (ServerStats) codes() []ReplyCode {
	return []ReplyCode{RpyServerStats4, RpyServerStats3, RpyServerStats2, RpyServerStats}
}
func (ManualList) codes() []ReplyCode { return []ReplyCode{RpyManualList2} }
func (Activity) codes() []ReplyCode   { return []ReplyCode{RpyActivity} }
func (Smoothing) codes() []ReplyCode  { return []ReplyCode{RpySmoothing} }
func (NTPData) codes() []ReplyCode    { return []ReplyCode{RpyNTPData2, RpyNTPData} }
func (SourceName) codes() []ReplyCode { return []ReplyCode{RpyNTPSourceName} }
func (AuthData) codes() []ReplyCode   { return []ReplyCode{RpyAuthData} }
func (SelectData) codes() []ReplyCode { return []ReplyCode{RpySelectData} }

func (b NSources) encode(w *writer, _ ReplyCode) { w.u32(b.N) }

func (b SourceData) encode(w *writer, _ ReplyCode) {
	w.addr(b.IPAddr)
	w.u16(uint16(b.Poll))
	w.u16(b.Stratum)
	w.u16(b.State)
	w.u16(b.Mode)
	w.u16(b.Flags)
	w.u16(b.Reachability)
	w.u32(b.SinceSample)
	w.f(b.OrigLatestMeas)
	w.f(b.LatestMeas)
	w.f(b.LatestMeasErr)
}

func (b Tracking) encode(w *writer, _ ReplyCode) {
	w.u32(b.RefID)
	w.addr(b.IPAddr)
	w.u16(b.Stratum)
	w.u16(b.LeapStatus)
	w.ts(b.RefTime)
	for _, v := range []float64{b.CurrentCorrection, b.LastOffset, b.RMSOffset, b.FreqPPM,
		b.ResidFreqPPM, b.SkewPPM, b.RootDelay, b.RootDispersion, b.LastUpdateInterval} {
		w.f(v)
	}
}

func (b SourceStats) encode(w *writer, _ ReplyCode) {
	w.u32(b.RefID)
	w.addr(b.IPAddr)
	w.u32(b.NSamples)
	w.u32(b.NRuns)
	w.u32(b.SpanSeconds)
	for _, v := range []float64{b.SD, b.ResidFreqPPM, b.SkewPPM, b.EstOffset, b.EstOffsetErr} {
		w.f(v)
	}
}

func (b RTCReport) encode(w *writer, _ ReplyCode) {
	w.ts(b.RefTime)
	w.u16(b.NSamples)
	w.u16(b.NRuns)
	w.u32(b.SpanSeconds)
	w.f(b.RTCSecondsFast)
	w.f(b.RTCGainRatePPM)
}

func (b ManualTimestamp) encode(w *writer, _ ReplyCode) {
	w.f(b.Offset)
	w.f(b.DFreqPPM)
	w.f(b.NewAFreqPPM)
}

// clientAccessLen is the wire size of one client entry.
const clientAccessLen = 60

func (b ClientAccesses) encode(w *writer, _ ReplyCode) {
	n := min(len(b.Clients), MaxClientAccesses)
	w.u32(b.NIndices)
	w.u32(b.NextIndex)
	w.u32(uint32(n))
	for _, c := range b.Clients[:n] {
		w.addr(c.IP)
		for _, v := range []uint32{c.NTPHits, c.NKEHits, c.CmdHits, c.NTPDrops, c.NKEDrops, c.CmdDrops} {
			w.u32(v)
		}
		for _, v := range []int8{c.NTPInterval, c.NKEInterval, c.CmdInterval, c.NTPTimeoutInterval} {
			w.u8(uint8(v))
		}
		w.u32(c.LastNTPHitAgo)
		w.u32(c.LastNKEHitAgo)
		w.u32(c.LastCmdHitAgo)
	}
	w.zero((MaxClientAccesses - n) * clientAccessLen)
}

func (b ServerStats) encode(w *writer, code ReplyCode) {
	all := []uint64{b.NTPHits, b.NKEHits, b.CmdHits, b.NTPDrops, b.NKEDrops, b.CmdDrops,
		b.LogDrops, b.NTPAuthHits, b.NTPInterleavedHits, b.NTPTimestamps, b.NTPSpanSeconds,
		b.NTPDaemonRxTimestamps, b.NTPDaemonTxTimestamps, b.NTPKernelRxTimestamps,
		b.NTPKernelTxTimestamps, b.NTPHwRxTimestamps, b.NTPHwTxTimestamps}
	switch code {
	case RpyServerStats4:
		for _, v := range all {
			w.u64(v)
		}
		w.fill(4*8, 0xff) // reserved, as chronyd fills it
	case RpyServerStats:
		for _, v := range []uint64{b.NTPHits, b.CmdHits, b.NTPDrops, b.CmdDrops, b.LogDrops} {
			w.u32(uint32(v))
		}
	default:
		n := 8 // SERVER_STATS2
		if code == RpyServerStats3 {
			n = 11
		}
		for _, v := range all[:n] {
			w.u32(uint32(v))
		}
	}
}

// manualSampleLen is the wire size of one manual list sample.
const manualSampleLen = 24

func (b ManualList) encode(w *writer, _ ReplyCode) {
	n := min(len(b.Samples), MaxManualSamples)
	w.u32(uint32(n))
	for _, s := range b.Samples[:n] {
		w.ts(s.When)
		w.f(s.SlewedOffset)
		w.f(s.OrigOffset)
		w.f(s.Residual)
	}
	w.zero((MaxManualSamples - n) * manualSampleLen)
}

func (b Activity) encode(w *writer, _ ReplyCode) {
	for _, v := range []int32{b.Online, b.Offline, b.BurstOnline, b.BurstOffline, b.Unresolved} {
		w.i32(v)
	}
}

// Smoothing flags on the wire.
const (
	smoothingFlagActive   = 0x1
	smoothingFlagLeapOnly = 0x2
)

func (b Smoothing) encode(w *writer, _ ReplyCode) {
	var flags uint32
	if b.Active {
		flags |= smoothingFlagActive
	}
	if b.LeapOnly {
		flags |= smoothingFlagLeapOnly
	}
	w.u32(flags)
	for _, v := range []float64{b.Offset, b.FreqPPM, b.WanderPPM, b.LastUpdateAgo, b.RemainingTime} {
		w.f(v)
	}
}

func (b NTPData) encode(w *writer, code ReplyCode) {
	w.addr(b.RemoteAddr)
	w.addr(b.LocalAddr)
	w.u16(b.RemotePort)
	w.u8(b.Leap)
	w.u8(b.Version)
	w.u8(b.Mode)
	w.u8(b.Stratum)
	w.u8(uint8(b.Poll))
	w.u8(uint8(b.Precision))
	w.f(b.RootDelay)
	w.f(b.RootDispersion)
	w.u32(b.RefID)
	w.ts(b.RefTime)
	for _, v := range []float64{b.Offset, b.PeerDelay, b.PeerDispersion, b.ResponseTime, b.JitterAsymmetry} {
		w.f(v)
	}
	w.u16(b.Flags)
	w.u8(b.TxTssChar)
	w.u8(b.RxTssChar)
	w.u32(b.TotalTxCount)
	w.u32(b.TotalRxCount)
	w.u32(b.TotalValidCount)
	w.u32(b.TotalGoodCount)
	if code == RpyNTPData {
		w.zero(3 * 4) // reserved
		return
	}
	w.u32(b.TotalKernelTxTS)
	w.u32(b.TotalKernelRxTS)
	w.u32(b.TotalHWTxTS)
	w.u32(b.TotalHWRxTS)
	w.fill(4*4, 0xff) // reserved, as chronyd fills it
}

// sourceNameLen is the size of the NTP_SOURCE_NAME reply's name.
const sourceNameLen = 256

func (b SourceName) encode(w *writer, _ ReplyCode) { w.name(b.Name, sourceNameLen) }

func (b AuthData) encode(w *writer, _ ReplyCode) {
	w.u16(b.Mode)
	w.u16(b.KeyType)
	w.u32(b.KeyID)
	w.u16(b.KeyLength)
	w.u16(b.KEAttempts)
	w.u32(b.LastKEAgo)
	w.u16(b.Cookies)
	w.u16(b.CookieLength)
	w.u16(b.NAK)
	w.u16(0)
}

func (b SelectData) encode(w *writer, _ ReplyCode) {
	w.u32(b.RefID)
	w.addr(b.IPAddr)
	w.u8(b.StateChar)
	w.u8(b.Authentication)
	w.u8(b.Leap)
	w.u8(0)
	w.u16(b.ConfOptions)
	w.u16(b.EffOptions)
	w.u32(b.LastSampleAgo)
	w.f(b.Score)
	w.f(b.LoLimit)
	w.f(b.HiLimit)
}

// Reply is a reply to encode or a decoded one.
type Reply struct {
	// Command is the request code being answered.
	Command Command
	// Sequence echoes the request's sequence number.
	Sequence uint32
	// Status is the outcome.
	Status Status
	// Code is the reply format. Encode chooses it (RPY_NULL without a
	// body); DecodeReply fills it in.
	Code ReplyCode
	// Body is the data of a successful reply (nil for RPY_NULL).
	Body ReplyBody
}

// ErrReplyTooLong is returned by Encode when no version of the reply fits in
// the request's length.
var ErrReplyTooLong = errors.New("reply longer than request")

// Encode builds the reply datagram. limit is the length of the request
// being answered: the newest reply version that fits in it is chosen, and
// ErrReplyTooLong is returned if none does (chronyd then sends nothing). A
// reply with a status other than success, access allowed or access denied
// carries no data.
func (p Reply) Encode(limit int) ([]byte, error) {
	code := RpyNull
	body := p.Body
	if p.Status != StatusSuccess {
		body = nil
	}
	if body != nil {
		code = 0
		for _, c := range body.codes() {
			if ReplyLen(c) <= limit {
				code = c
				break
			}
		}
		if code == 0 {
			return nil, fmt.Errorf("encoding %v reply: %w", p.Command, ErrReplyTooLong)
		}
	} else if limit < ReplyHeaderLen {
		return nil, fmt.Errorf("encoding %v reply: %w", p.Command, ErrReplyTooLong)
	}
	w := writer{b: make([]byte, 0, ReplyLen(code))}
	w.u8(ProtocolVersion)
	w.u8(PktTypeReply)
	w.u16(0)
	w.u16(uint16(p.Command))
	w.u16(uint16(code))
	w.u16(uint16(p.Status))
	w.zero(6)
	w.u32(p.Sequence)
	w.zero(8)
	if body != nil {
		body.encode(&w, code)
	}
	return w.b, nil
}

// ErrBadReply is wrapped by DecodeReply's errors.
var ErrBadReply = errors.New("bad reply")

// DecodeReply parses a reply datagram as chronyc does: the header must be a
// reply of this protocol version (or a BADPKTVERSION answer of version 4 or
// newer) and the datagram must be as long as its format requires.
func DecodeReply(pkt []byte) (Reply, error) {
	if len(pkt) < ReplyHeaderLen {
		return Reply{}, fmt.Errorf("%w: %d bytes", ErrBadReply, len(pkt))
	}
	r := reader{b: pkt}
	version, pktType, res1, res2 := r.u8(), r.u8(), r.u8(), r.u8()
	p := Reply{Command: Command(r.u16()), Code: ReplyCode(r.u16()), Status: Status(r.u16())}
	r.skip(6)
	p.Sequence = r.u32()
	r.skip(8)
	if pktType != PktTypeReply || res1 != 0 || res2 != 0 {
		return p, fmt.Errorf("%w: not a reply", ErrBadReply)
	}
	if version != ProtocolVersion && !(version >= 4 && p.Status == StatusBadPktVersion) {
		return p, fmt.Errorf("%w: version %d", ErrBadReply, version)
	}
	n := ReplyLen(p.Code)
	if n == 0 {
		return p, fmt.Errorf("%w: unknown reply format %d", ErrBadReply, p.Code)
	}
	if len(pkt) < n {
		return p, fmt.Errorf("%w: %d bytes for format %d of %d bytes", ErrBadReply, len(pkt), p.Code, n)
	}
	p.Body = decodeReplyBody(&r, p.Code)
	return p, nil
}

func decodeReplyBody(r *reader, code ReplyCode) ReplyBody {
	switch code {
	case RpyNSources:
		return NSources{N: r.u32()}
	case RpySourceData:
		return SourceData{IPAddr: r.addr(), Poll: int16(r.u16()), Stratum: r.u16(), State: r.u16(),
			Mode: r.u16(), Flags: r.u16(), Reachability: r.u16(), SinceSample: r.u32(),
			OrigLatestMeas: r.f(), LatestMeas: r.f(), LatestMeasErr: r.f()}
	case RpyTracking:
		return Tracking{RefID: r.u32(), IPAddr: r.addr(), Stratum: r.u16(), LeapStatus: r.u16(),
			RefTime: r.ts(), CurrentCorrection: r.f(), LastOffset: r.f(), RMSOffset: r.f(),
			FreqPPM: r.f(), ResidFreqPPM: r.f(), SkewPPM: r.f(), RootDelay: r.f(),
			RootDispersion: r.f(), LastUpdateInterval: r.f()}
	case RpySourceStats:
		return SourceStats{RefID: r.u32(), IPAddr: r.addr(), NSamples: r.u32(), NRuns: r.u32(),
			SpanSeconds: r.u32(), SD: r.f(), ResidFreqPPM: r.f(), SkewPPM: r.f(), EstOffset: r.f(),
			EstOffsetErr: r.f()}
	case RpyRTC:
		return RTCReport{RefTime: r.ts(), NSamples: r.u16(), NRuns: r.u16(), SpanSeconds: r.u32(),
			RTCSecondsFast: r.f(), RTCGainRatePPM: r.f()}
	case RpyManualTimestamp2:
		return ManualTimestamp{Offset: r.f(), DFreqPPM: r.f(), NewAFreqPPM: r.f()}
	case RpyClientAccessesByIndex3:
		return decodeClientAccesses3(r)
	case RpyServerStats, RpyServerStats2, RpyServerStats3, RpyServerStats4:
		return decodeServerStats(r, code)
	case RpyManualList2:
		n := min(int(r.u32()), MaxManualSamples)
		var b ManualList
		for range n {
			b.Samples = append(b.Samples, ManualSample{When: r.ts(), SlewedOffset: r.f(),
				OrigOffset: r.f(), Residual: r.f()})
		}
		return b
	case RpyActivity:
		return Activity{Online: r.i32(), Offline: r.i32(), BurstOnline: r.i32(),
			BurstOffline: r.i32(), Unresolved: r.i32()}
	case RpySmoothing:
		flags := r.u32()
		return Smoothing{Active: flags&smoothingFlagActive != 0, LeapOnly: flags&smoothingFlagLeapOnly != 0,
			Offset: r.f(), FreqPPM: r.f(), WanderPPM: r.f(), LastUpdateAgo: r.f(), RemainingTime: r.f()}
	case RpyNTPData, RpyNTPData2:
		return decodeNTPData(r, code)
	case RpyNTPSourceName:
		return SourceName{Name: r.name(sourceNameLen)}
	case RpyAuthData:
		return AuthData{Mode: r.u16(), KeyType: r.u16(), KeyID: r.u32(), KeyLength: r.u16(),
			KEAttempts: r.u16(), LastKEAgo: r.u32(), Cookies: r.u16(), CookieLength: r.u16(), NAK: r.u16()}
	case RpySelectData:
		b := SelectData{RefID: r.u32(), IPAddr: r.addr(), StateChar: r.u8(), Authentication: r.u8(), Leap: r.u8()}
		r.u8()
		b.ConfOptions, b.EffOptions, b.LastSampleAgo = r.u16(), r.u16(), r.u32()
		b.Score, b.LoLimit, b.HiLimit = r.f(), r.f(), r.f()
		return b
	default:
		return nil
	}
}

func decodeClientAccesses3(r *reader) ClientAccesses {
	b := ClientAccesses{NIndices: r.u32(), NextIndex: r.u32()}
	n := min(int(r.u32()), MaxClientAccesses)
	for range n {
		c := ClientAccess{IP: r.addr(), NTPHits: r.u32(), NKEHits: r.u32(), CmdHits: r.u32(),
			NTPDrops: r.u32(), NKEDrops: r.u32(), CmdDrops: r.u32()}
		c.NTPInterval, c.NKEInterval = int8(r.u8()), int8(r.u8())
		c.CmdInterval, c.NTPTimeoutInterval = int8(r.u8()), int8(r.u8())
		c.LastNTPHitAgo, c.LastNKEHitAgo, c.LastCmdHitAgo = r.u32(), r.u32(), r.u32()
		b.Clients = append(b.Clients, c)
	}
	return b
}

func decodeServerStats(r *reader, code ReplyCode) ServerStats {
	var b ServerStats
	fields := []*uint64{&b.NTPHits, &b.NKEHits, &b.CmdHits, &b.NTPDrops, &b.NKEDrops, &b.CmdDrops,
		&b.LogDrops, &b.NTPAuthHits, &b.NTPInterleavedHits, &b.NTPTimestamps, &b.NTPSpanSeconds,
		&b.NTPDaemonRxTimestamps, &b.NTPDaemonTxTimestamps, &b.NTPKernelRxTimestamps,
		&b.NTPKernelTxTimestamps, &b.NTPHwRxTimestamps, &b.NTPHwTxTimestamps}
	switch code {
	case RpyServerStats4:
		for _, f := range fields {
			*f = r.u64()
		}
	case RpyServerStats:
		for _, f := range []*uint64{&b.NTPHits, &b.CmdHits, &b.NTPDrops, &b.CmdDrops, &b.LogDrops} {
			*f = uint64(r.u32())
		}
	default:
		n := 8
		if code == RpyServerStats3 {
			n = 11
		}
		for _, f := range fields[:n] {
			*f = uint64(r.u32())
		}
	}
	return b
}

func decodeNTPData(r *reader, code ReplyCode) NTPData {
	b := NTPData{RemoteAddr: r.addr(), LocalAddr: r.addr(), RemotePort: r.u16(), Leap: r.u8(),
		Version: r.u8(), Mode: r.u8(), Stratum: r.u8(), Poll: int8(r.u8()), Precision: int8(r.u8()),
		RootDelay: r.f(), RootDispersion: r.f(), RefID: r.u32(), RefTime: r.ts(), Offset: r.f(),
		PeerDelay: r.f(), PeerDispersion: r.f(), ResponseTime: r.f(), JitterAsymmetry: r.f(),
		Flags: r.u16(), TxTssChar: r.u8(), RxTssChar: r.u8(), TotalTxCount: r.u32(),
		TotalRxCount: r.u32(), TotalValidCount: r.u32(), TotalGoodCount: r.u32()}
	if code == RpyNTPData2 {
		b.TotalKernelTxTS, b.TotalKernelRxTS = r.u32(), r.u32()
		b.TotalHWTxTS, b.TotalHWRxTS = r.u32(), r.u32()
	}
	return b
}
