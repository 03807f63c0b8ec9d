package candm

import (
	"errors"
	"fmt"
	"time"
)

// RequestBody is the typed data of a request. Commands without data (such as
// TRACKING or REKEY) have a nil body.
type RequestBody interface {
	encode(w *writer)
}

// SourceMask selects sources by address under a mask (ONLINE, OFFLINE):
// chronyc sends both unspecified for "all sources".
type SourceMask struct {
	Mask    IPAddr
	Address IPAddr
}

// Burst asks for a burst of samples from the sources under a mask.
type Burst struct {
	Mask         IPAddr
	Address      IPAddr
	GoodSamples  int32
	TotalSamples int32
}

// SourceParam is a new floating-point value for one parameter of one
// source (MODIFY_MAXDELAY, MODIFY_MAXDELAYRATIO, MODIFY_MAXDELAYDEVRATIO).
type SourceParam struct {
	Address IPAddr
	Value   float64
}

// SourceIntParam is a new integer value for one parameter of one source
// (MODIFY_MINPOLL, MODIFY_MAXPOLL, MODIFY_MINSTRATUM, MODIFY_POLLTARGET).
type SourceIntParam struct {
	Address IPAddr
	Value   int32
}

// Value is a single floating-point argument (MODIFY_MAXUPDATESKEW, DFREQ,
// DOFFSET2, RESELECTDISTANCE).
type Value struct {
	Value float64
}

// Index is a single integer argument: a source index (SOURCE_DATA,
// SOURCESTATS, SELECT_DATA), a manual sample index (MANUAL_DELETE) or an
// option (MANUAL: 0 off, 1 on, 2 reset; SMOOTHTIME: 0 reset, 1 activate).
type Index struct {
	Index int32
}

// Manual options and smoothtime options carried in Index.
const (
	ManualOff          = 0
	ManualOn           = 1
	ManualReset        = 2
	SmoothtimeReset    = 0
	SmoothtimeActivate = 1
)

// Makestep is the MODIFY_MAKESTEP request: step the clock if the offset is
// larger than Threshold seconds in the first Limit updates (-1: any).
type Makestep struct {
	Limit     int32
	Threshold float64
}

// SetTime is a manual time sample (chronyc settime).
type SetTime struct {
	Time time.Time
}

// Local is chronyc's local command (LOCAL3, and LOCAL2 without the last
// three fields).
type Local struct {
	On           bool
	Stratum      int32
	Distance     float64
	Orphan       bool
	Activate     float64
	WaitSynced   float64
	WaitUnsynced float64
	// Legacy marks the LOCAL2 form sent by chronyc 4.0 to 4.5.
	Legacy bool
}

// Subnet is the argument of allow, deny, cmdallow and cmddeny (with or
// without all): an address and a prefix length. chronyc sends an
// unspecified address with 0 bits for "allow" with no subnet.
type Subnet struct {
	IP   IPAddr
	Bits int32
}

// Address is a single address argument (ACCHECK, CMDACCHECK, DEL_SOURCE,
// NTP_DATA, NTP_SOURCE_NAME, AUTH_DATA).
type Address struct {
	IP IPAddr
}

// Source types of ADD_SOURCE.
const (
	SourceTypeServer = 1
	SourceTypePeer   = 2
	SourceTypePool   = 3
)

// Flags of ADD_SOURCE (also used for MODIFY_SELECTOPTS's mask and options).
const (
	AddSrcOnline                = 0x1
	AddSrcAutoOffline           = 0x2
	AddSrcIburst                = 0x4
	AddSrcPrefer                = 0x8
	AddSrcNoselect              = 0x10
	AddSrcTrust                 = 0x20
	AddSrcRequire               = 0x40
	AddSrcInterleaved           = 0x80
	AddSrcBurst                 = 0x100
	AddSrcNTS                   = 0x200
	AddSrcCopy                  = 0x400
	AddSrcExtFieldMonoRoot      = 0x800
	AddSrcExtFieldNetCorrection = 0x1000
	AddSrcIPv4                  = 0x2000
	AddSrcIPv6                  = 0x4000
)

// AddSource is chronyc's add server / add pool / add peer (ADD_SOURCE).
type AddSource struct {
	Type             uint32 // SourceTypeServer, SourceTypePeer or SourceTypePool
	Name             string // host name or address
	Port             uint32
	Minpoll          int32
	Maxpoll          int32
	PresendMinpoll   int32
	MinStratum       uint32
	PollTarget       uint32
	Version          uint32
	MaxSources       uint32
	MinSamples       int32
	MaxSamples       int32
	AuthKey          uint32
	NTSPort          uint32
	MaxDelay         float64
	MaxDelayRatio    float64
	MaxDelayDevRatio float64
	MinDelay         float64
	Asymmetry        float64
	Offset           float64
	Flags            uint32
	FilterLength     int32
	CertSet          uint32
	MaxDelayQuant    float64
	MaxUnreach       int32
	// NameTerminated is false when the received name filled all 256 bytes
	// without a terminating zero (chronyd answers INVALIDNAME).
	NameTerminated bool
}

// addSourceNameLen is the size of ADD_SOURCE's name field.
const addSourceNameLen = 256

// ClientAccessesQuery is the CLIENT_ACCESSES_BY_INDEX3 request (chronyc
// clients).
type ClientAccessesQuery struct {
	FirstIndex uint32
	NClients   uint32
	MinHits    uint32
	Reset      bool
}

// SelectOpts is the MODIFY_SELECTOPTS request (chronyc selectopts) as on
// the wire, where chronyc mixes two encodings: Mask holds SelectOption bits
// (noselect 0x1, prefer 0x2, trust 0x4, require 0x8) and Options holds the
// AddSrc flags (AddSrcNoselect, AddSrcPrefer, AddSrcTrust, AddSrcRequire).
// EffectiveOptions converts Options to SelectOption bits.
type SelectOpts struct {
	Address IPAddr
	RefID   uint32
	Mask    uint32
	Options uint32
}

// EffectiveOptions returns Options as SelectOption bits, as chronyd reads it.
func (b SelectOpts) EffectiveOptions() uint32 { return AddSrcToSelectOptions(b.Options) }

// AddSrcToSelectOptions converts the selection flags of ADD_SOURCE
// (AddSrcNoselect, AddSrcPrefer, AddSrcTrust, AddSrcRequire) to
// SelectOption bits, ignoring the other flags.
func AddSrcToSelectOptions(flags uint32) uint32 {
	var o uint32
	for _, m := range [...][2]uint32{{AddSrcNoselect, SelectOptionNoselect}, {AddSrcPrefer, SelectOptionPrefer},
		{AddSrcTrust, SelectOptionTrust}, {AddSrcRequire, SelectOptionRequire}} {
		if flags&m[0] != 0 {
			o |= m[1]
		}
	}
	return o
}

// ModifyOffset is the MODIFY_OFFSET request (chronyc offset): a source by
// address, or a reference clock by RefID when Address is unspecified.
type ModifyOffset struct {
	Address IPAddr
	RefID   uint32
	Offset  float64
}

// DOffsetLegacy is the DOFFSET request of chronyc 4.0 and older: seconds and
// microseconds.
type DOffsetLegacy struct {
	Sec  int32
	Usec int32
}

func (b SourceMask) encode(w *writer) { w.addr(b.Mask); w.addr(b.Address) }
func (b Burst) encode(w *writer) {
	w.addr(b.Mask)
	w.addr(b.Address)
	w.i32(b.GoodSamples)
	w.i32(b.TotalSamples)
}
func (b SourceParam) encode(w *writer)    { w.addr(b.Address); w.f(b.Value) }
func (b SourceIntParam) encode(w *writer) { w.addr(b.Address); w.i32(b.Value) }
func (b Value) encode(w *writer)          { w.f(b.Value) }
func (b Index) encode(w *writer)          { w.i32(b.Index) }
func (b Makestep) encode(w *writer)       { w.i32(b.Limit); w.f(b.Threshold) }
func (b SetTime) encode(w *writer)        { w.ts(b.Time) }
func (b Local) encode(w *writer) {
	w.i32(boolInt(b.On))
	w.i32(b.Stratum)
	w.f(b.Distance)
	w.i32(boolInt(b.Orphan))
	if !b.Legacy {
		w.f(b.Activate)
		w.f(b.WaitSynced)
		w.f(b.WaitUnsynced)
	}
}
func (b Subnet) encode(w *writer)  { w.addr(b.IP); w.i32(b.Bits) }
func (b Address) encode(w *writer) { w.addr(b.IP) }
func (b AddSource) encode(w *writer) {
	w.u32(b.Type)
	w.name(b.Name, addSourceNameLen)
	for _, v := range []uint32{b.Port, uint32(b.Minpoll), uint32(b.Maxpoll),
		uint32(b.PresendMinpoll), b.MinStratum, b.PollTarget, b.Version,
		b.MaxSources, uint32(b.MinSamples), uint32(b.MaxSamples), b.AuthKey, b.NTSPort} {
		w.u32(v)
	}
	for _, v := range []float64{b.MaxDelay, b.MaxDelayRatio, b.MaxDelayDevRatio,
		b.MinDelay, b.Asymmetry, b.Offset} {
		w.f(v)
	}
	w.u32(b.Flags)
	w.i32(b.FilterLength)
	w.u32(b.CertSet)
	w.f(b.MaxDelayQuant)
	w.i32(b.MaxUnreach)
}
func (b ClientAccessesQuery) encode(w *writer) {
	w.u32(b.FirstIndex)
	w.u32(b.NClients)
	w.u32(b.MinHits)
	w.i32(boolInt(b.Reset))
}
func (b SelectOpts) encode(w *writer) {
	w.addr(b.Address)
	w.u32(b.RefID)
	w.u32(b.Mask)
	w.u32(b.Options)
}
func (b ModifyOffset) encode(w *writer)  { w.addr(b.Address); w.u32(b.RefID); w.f(b.Offset) }
func (b DOffsetLegacy) encode(w *writer) { w.i32(b.Sec); w.i32(b.Usec) }

// dumpBody is DUMP's unused padding word; it decodes to a nil body.
type dumpBody struct{}

func (dumpBody) encode(w *writer) { w.i32(0) }

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

func decodeSourceMask(r *reader) RequestBody { return SourceMask{Mask: r.addr(), Address: r.addr()} }
func decodeBurst(r *reader) RequestBody {
	return Burst{Mask: r.addr(), Address: r.addr(), GoodSamples: r.i32(), TotalSamples: r.i32()}
}
func decodeSourceInt(r *reader) RequestBody {
	return SourceIntParam{Address: r.addr(), Value: r.i32()}
}
func decodeSourceFloat(r *reader) RequestBody { return SourceParam{Address: r.addr(), Value: r.f()} }
func decodeValue(r *reader) RequestBody       { return Value{Value: r.f()} }
func decodeIndex(r *reader) RequestBody       { return Index{Index: r.i32()} }
func decodeMakestep(r *reader) RequestBody    { return Makestep{Limit: r.i32(), Threshold: r.f()} }
func decodeSetTime(r *reader) RequestBody     { return SetTime{Time: r.ts()} }
func decodeLocal3(r *reader) RequestBody {
	return Local{On: r.i32() != 0, Stratum: r.i32(), Distance: r.f(), Orphan: r.i32() != 0,
		Activate: r.f(), WaitSynced: r.f(), WaitUnsynced: r.f()}
}
func decodeLocal2(r *reader) RequestBody {
	return Local{On: r.i32() != 0, Stratum: r.i32(), Distance: r.f(), Orphan: r.i32() != 0, Legacy: true}
}
func decodeSubnet(r *reader) RequestBody  { return Subnet{IP: r.addr(), Bits: r.i32()} }
func decodeAddress(r *reader) RequestBody { return Address{IP: r.addr()} }
func decodeAddSource(r *reader) RequestBody {
	var b AddSource
	b.Type = r.u32()
	raw := r.take(addSourceNameLen)
	b.NameTerminated = raw[addSourceNameLen-1] == 0
	b.Name = (&reader{b: raw}).name(addSourceNameLen)
	b.Port = r.u32()
	b.Minpoll, b.Maxpoll, b.PresendMinpoll = r.i32(), r.i32(), r.i32()
	b.MinStratum, b.PollTarget, b.Version, b.MaxSources = r.u32(), r.u32(), r.u32(), r.u32()
	b.MinSamples, b.MaxSamples = r.i32(), r.i32()
	b.AuthKey, b.NTSPort = r.u32(), r.u32()
	b.MaxDelay, b.MaxDelayRatio, b.MaxDelayDevRatio = r.f(), r.f(), r.f()
	b.MinDelay, b.Asymmetry, b.Offset = r.f(), r.f(), r.f()
	b.Flags = r.u32()
	b.FilterLength = r.i32()
	b.CertSet = r.u32()
	b.MaxDelayQuant = r.f()
	b.MaxUnreach = r.i32()
	return b
}
func decodeClientAccesses(r *reader) RequestBody {
	return ClientAccessesQuery{FirstIndex: r.u32(), NClients: r.u32(), MinHits: r.u32(), Reset: r.u32() != 0}
}
func decodeSelectOpts(r *reader) RequestBody {
	return SelectOpts{Address: r.addr(), RefID: r.u32(), Mask: r.u32(), Options: r.u32()}
}
func decodeModifyOffset(r *reader) RequestBody {
	return ModifyOffset{Address: r.addr(), RefID: r.u32(), Offset: r.f()}
}
func decodeDOffsetLegacy(r *reader) RequestBody { return DOffsetLegacy{Sec: r.i32(), Usec: r.i32()} }
func decodeDump(r *reader) RequestBody          { r.i32(); return nil }

// commandSpec describes one request type.
type commandSpec struct {
	name string
	// data is the request data's length in chrony 4.8's layout; -1 marks a
	// command that is not supported.
	data int
	// replies are the reply formats of a successful answer, newest first;
	// empty for commands answered with RPY_NULL.
	replies []ReplyCode
	decode  func(*reader) RequestBody
}

func spec(name string, data int, dec func(*reader) RequestBody, replies ...ReplyCode) commandSpec {
	return commandSpec{name: name, data: data, replies: replies, decode: dec}
}

func unsupported(name string) commandSpec { return commandSpec{name: name, data: -1} }

var commandSpecs = [numCommands]commandSpec{
	0:                         unsupported("NULL"),
	ReqOnline:                 spec("ONLINE", 40, decodeSourceMask),
	ReqOffline:                spec("OFFLINE", 40, decodeSourceMask),
	ReqBurst:                  spec("BURST", 48, decodeBurst),
	ReqModifyMinpoll:          spec("MODIFY_MINPOLL", 24, decodeSourceInt),
	ReqModifyMaxpoll:          spec("MODIFY_MAXPOLL", 24, decodeSourceInt),
	ReqDump:                   spec("DUMP", 4, decodeDump),
	ReqModifyMaxdelay:         spec("MODIFY_MAXDELAY", 24, decodeSourceFloat),
	ReqModifyMaxdelayratio:    spec("MODIFY_MAXDELAYRATIO", 24, decodeSourceFloat),
	ReqModifyMaxupdateskew:    spec("MODIFY_MAXUPDATESKEW", 4, decodeValue),
	ReqLogon:                  unsupported("LOGON"),
	ReqSettime:                spec("SETTIME", 12, decodeSetTime, RpyManualTimestamp2),
	ReqLocal:                  unsupported("LOCAL"),
	ReqManual:                 spec("MANUAL", 4, decodeIndex),
	ReqNSources:               spec("N_SOURCES", 0, nil, RpyNSources),
	ReqSourceData:             spec("SOURCE_DATA", 4, decodeIndex, RpySourceData),
	ReqRekey:                  spec("REKEY", 0, nil),
	ReqAllow:                  spec("ALLOW", 24, decodeSubnet),
	ReqAllowAll:               spec("ALLOWALL", 24, decodeSubnet),
	ReqDeny:                   spec("DENY", 24, decodeSubnet),
	ReqDenyAll:                spec("DENYALL", 24, decodeSubnet),
	ReqCmdAllow:               spec("CMDALLOW", 24, decodeSubnet),
	ReqCmdAllowAll:            spec("CMDALLOWALL", 24, decodeSubnet),
	ReqCmdDeny:                spec("CMDDENY", 24, decodeSubnet),
	ReqCmdDenyAll:             spec("CMDDENYALL", 24, decodeSubnet),
	ReqAcCheck:                spec("ACCHECK", 20, decodeAddress),
	ReqCmdAcCheck:             spec("CMDACCHECK", 20, decodeAddress),
	ReqAddServer:              unsupported("ADD_SERVER"),
	ReqAddPeer:                unsupported("ADD_PEER"),
	ReqDelSource:              spec("DEL_SOURCE", 20, decodeAddress),
	ReqWriteRTC:               spec("WRITERTC", 0, nil),
	ReqDFreq:                  spec("DFREQ", 4, decodeValue),
	ReqDOffset:                spec("DOFFSET", 8, decodeDOffsetLegacy),
	ReqTracking:               spec("TRACKING", 0, nil, RpyTracking),
	ReqSourceStats:            spec("SOURCESTATS", 4, decodeIndex, RpySourceStats),
	ReqRTCReport:              spec("RTCREPORT", 0, nil, RpyRTC),
	ReqTrimRTC:                spec("TRIMRTC", 0, nil),
	ReqCycleLogs:              spec("CYCLELOGS", 0, nil),
	ReqSubnetsAccessed:        unsupported("SUBNETS_ACCESSED"),
	ReqClientAccesses:         unsupported("CLIENT_ACCESSES"),
	ReqClientAccessesByIndex:  unsupported("CLIENT_ACCESSES_BY_INDEX"),
	ReqManualList:             spec("MANUAL_LIST", 0, nil, RpyManualList2),
	ReqManualDelete:           spec("MANUAL_DELETE", 4, decodeIndex),
	ReqMakeStep:               spec("MAKESTEP", 0, nil),
	ReqActivity:               spec("ACTIVITY", 0, nil, RpyActivity),
	ReqModifyMinstratum:       spec("MODIFY_MINSTRATUM", 24, decodeSourceInt),
	ReqModifyPolltarget:       spec("MODIFY_POLLTARGET", 24, decodeSourceInt),
	ReqModifyMaxdelaydevratio: spec("MODIFY_MAXDELAYDEVRATIO", 24, decodeSourceFloat),
	ReqReselect:               spec("RESELECT", 0, nil),
	ReqReselectDistance:       spec("RESELECTDISTANCE", 4, decodeValue),
	ReqModifyMakestep:         spec("MODIFY_MAKESTEP", 8, decodeMakestep),
	ReqSmoothing:              spec("SMOOTHING", 0, nil, RpySmoothing),
	ReqSmoothtime:             spec("SMOOTHTIME", 4, decodeIndex),
	ReqRefresh:                spec("REFRESH", 0, nil),
	ReqServerStats: spec("SERVER_STATS", 0, nil,
		RpyServerStats4, RpyServerStats3, RpyServerStats2, RpyServerStats),
	ReqClientAccessesByIndex2: unsupported("CLIENT_ACCESSES_BY_INDEX2"),
	ReqLocal2:                 spec("LOCAL2", 16, decodeLocal2),
	ReqNTPData:                spec("NTP_DATA", 20, decodeAddress, RpyNTPData2, RpyNTPData),
	ReqAddServer2:             unsupported("ADD_SERVER2"),
	ReqAddPeer2:               unsupported("ADD_PEER2"),
	ReqAddServer3:             unsupported("ADD_SERVER3"),
	ReqAddPeer3:               unsupported("ADD_PEER3"),
	ReqShutdown:               spec("SHUTDOWN", 0, nil),
	ReqOnOffline:              spec("ONOFFLINE", 0, nil),
	ReqAddSource:              spec("ADD_SOURCE", 352, decodeAddSource),
	ReqNTPSourceName:          spec("NTP_SOURCE_NAME", 20, decodeAddress, RpyNTPSourceName),
	ReqResetSources:           spec("RESET_SOURCES", 0, nil),
	ReqAuthData:               spec("AUTH_DATA", 20, decodeAddress, RpyAuthData),
	ReqClientAccessesByIndex3: spec("CLIENT_ACCESSES_BY_INDEX3", 16, decodeClientAccesses, RpyClientAccessesByIndex3),
	ReqSelectData:             spec("SELECT_DATA", 4, decodeIndex, RpySelectData),
	ReqReloadSources:          spec("RELOAD_SOURCES", 0, nil),
	ReqDOffset2:               spec("DOFFSET2", 4, decodeValue),
	ReqModifySelectOpts:       spec("MODIFY_SELECTOPTS", 32, decodeSelectOpts),
	ReqModifyOffset:           spec("MODIFY_OFFSET", 28, decodeModifyOffset),
	ReqLocal3:                 spec("LOCAL3", 28, decodeLocal3),
}

// Supported reports whether the command is answered (others get INVALID).
func (c Command) Supported() bool {
	return int(c) < numCommands && commandSpecs[c].data >= 0
}

// RequestLen returns the length chronyc 4.8 sends for the command: the
// request data or the largest reply, whichever is longer. It returns 0 for
// an unsupported command.
func RequestLen(c Command) int {
	if !c.Supported() {
		return 0
	}
	s := commandSpecs[c]
	return max(RequestHeaderLen+s.data, ReplyHeaderLen+replyLenOf(s.replies, 0))
}

// MinRequestLen returns the shortest request accepted for the command: long
// enough for its data and for the oldest reply version still supported (so
// that chronyc 4.0 to 4.8 are all answered). It returns 0 for an unsupported
// command.
func MinRequestLen(c Command) int {
	if !c.Supported() {
		return 0
	}
	s := commandSpecs[c]
	return max(RequestHeaderLen+s.data, ReplyHeaderLen+replyLenOf(s.replies, len(s.replies)-1))
}

// ReplyCodes returns the reply formats of a successful answer to the
// command, newest first (nil for commands answered with RPY_NULL).
func ReplyCodes(c Command) []ReplyCode {
	if !c.Supported() {
		return nil
	}
	return append([]ReplyCode(nil), commandSpecs[c].replies...)
}

func replyLenOf(codes []ReplyCode, i int) int {
	if len(codes) == 0 || i < 0 {
		return 0
	}
	return replyDataLen[codes[i]]
}

// Request is a decoded (or to be encoded) request.
type Request struct {
	// Version is the protocol version of the header.
	Version uint8
	// Command is the request code.
	Command Command
	// Attempt counts the client's retransmissions.
	Attempt uint16
	// Sequence is the client's sequence number, echoed in the reply.
	Sequence uint32
	// Length is the length of the received datagram (0 when encoding).
	Length int
	// Body is the typed data, nil for commands without data.
	Body RequestBody
}

// Verdict is the outcome of ParseRequest.
type Verdict int

// Outcomes of ParseRequest.
const (
	// Drop: send nothing (chronyd drops such datagrams silently).
	Drop Verdict = iota
	// Answer: reply with the status only (an error reply).
	Answer
	// Dispatch: a valid request to process.
	Dispatch
)

// ParseRequest checks and decodes a received datagram in chronyd's order:
// datagrams too short for a reply header or longer than chronyd's buffer, of
// another packet type or with non-zero reserved bytes are dropped; another
// protocol version gets BADPKTVERSION (for version 5 and newer; older ones
// are dropped); an unknown command INVALID; a request shorter than the
// command needs BADPKTLENGTH. For Answer, the returned Request carries the
// command and sequence to echo.
func ParseRequest(pkt []byte) (Request, Verdict, Status) {
	if len(pkt) < ReplyHeaderLen || len(pkt) > MaxRequestLen {
		return Request{}, Drop, StatusSuccess
	}
	r := reader{b: pkt}
	version, pktType, res1, res2 := r.u8(), r.u8(), r.u8(), r.u8()
	req := Request{Version: version, Length: len(pkt)}
	req.Command = Command(r.u16())
	req.Attempt = r.u16()
	req.Sequence = r.u32()
	r.skip(8)
	if pktType != PktTypeRequest || res1 != 0 || res2 != 0 {
		return req, Drop, StatusSuccess
	}
	if version != ProtocolVersion {
		if version >= oldestMismatchVersion {
			return req, Answer, StatusBadPktVersion
		}
		return req, Drop, StatusSuccess
	}
	if !req.Command.Supported() {
		return req, Answer, StatusInvalid
	}
	if len(pkt) < MinRequestLen(req.Command) {
		return req, Answer, StatusBadPktLength
	}
	if dec := commandSpecs[req.Command].decode; dec != nil {
		req.Body = dec(&r)
	}
	return req, Dispatch, StatusSuccess
}

// ErrUnsupported is returned when encoding a command this codec cannot send.
var ErrUnsupported = errors.New("unsupported command")

// Encode builds the request as chronyc 4.8 sends it: header, data and zero
// padding up to RequestLen. Sequence and Attempt are taken from the request.
func (q Request) Encode() ([]byte, error) {
	if !q.Command.Supported() {
		return nil, fmt.Errorf("encoding %v: %w", q.Command, ErrUnsupported)
	}
	if err := checkBody(q.Command, q.Body); err != nil {
		return nil, err
	}
	w := writer{b: make([]byte, 0, RequestLen(q.Command))}
	w.u8(ProtocolVersion)
	w.u8(PktTypeRequest)
	w.u16(0)
	w.u16(uint16(q.Command))
	w.u16(q.Attempt)
	w.u32(q.Sequence)
	w.u32(0)
	w.u32(0)
	if q.Body != nil {
		q.Body.encode(&w)
	} else if q.Command == ReqDump {
		dumpBody{}.encode(&w)
	}
	if n := RequestLen(q.Command); len(w.b) < n {
		w.zero(n - len(w.b))
	}
	return w.b, nil
}

// checkBody verifies that the body's type is the one the command carries.
func checkBody(c Command, b RequestBody) error {
	s := commandSpecs[c]
	if s.decode == nil || c == ReqDump {
		if b != nil {
			return fmt.Errorf("encoding %v: command takes no data, got %T", c, b)
		}
		return nil
	}
	want := s.decode(&reader{})
	if b == nil || fmt.Sprintf("%T", want) != fmt.Sprintf("%T", b) {
		return fmt.Errorf("encoding %v: want %T body, got %T", c, want, b)
	}
	if l, ok := b.(Local); ok && l.Legacy != (c == ReqLocal2) {
		return fmt.Errorf("encoding %v: Local.Legacy must be set only for LOCAL2", c)
	}
	return nil
}
