package candm

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFloatKnownEncodings(t *testing.T) {
	cases := []struct {
		x    float64
		wire uint32
	}{
		{0, 0},
		{1, 0x04800000},
		{-1, 0x03000000}, // the coefficient reaches -2^24 for negatives
		{0.5, 0x02800000},
		{1e-101, 0},
		{math.NaN(), 0},
		{1e101, uint32(floatExpMax)<<floatCoefBits | floatCoefMax},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.wire, EncodeFloat(tc.x), "%g", tc.x)
	}
	assert.Equal(t, 1.0, DecodeFloat(0x04800000))
	assert.Equal(t, -1.0, DecodeFloat(0x03000000))
	assert.Equal(t, -1.0, DecodeFloat(0x05800000))
}

func TestFloatRoundTripPrecision(t *testing.T) {
	for _, x := range []float64{1e-9, 3.3e-7, 1.25e-5, -2.5e-6, 0.0123, 64.5, -12.345, 1e6,
		123456789.0, -0.999999, 1e-19, 2e18} {
		got := DecodeFloat(EncodeFloat(x))
		assert.InEpsilon(t, x, got, 1.0/(1<<23), "%g", x)
	}
	// Underflow below 2^-64 loses precision progressively, then becomes 0.
	assert.Equal(t, 0.0, DecodeFloat(EncodeFloat(1e-40)))
}

func TestIPAddrEncoding(t *testing.T) {
	cases := []IPAddr{
		{},
		AddrFrom(netip.MustParseAddr("198.51.100.7")),
		AddrFrom(netip.MustParseAddr("2001:db8::1")),
		AddrFromID(42),
	}
	for _, a := range cases {
		var w writer
		w.addr(a)
		require.Len(t, w.b, 20)
		r := reader{b: w.b}
		assert.Equal(t, a, r.addr())
	}
	var w writer
	w.addr(AddrFrom(netip.MustParseAddr("198.51.100.7")))
	assert.Equal(t, []byte{198, 51, 100, 7}, w.b[:4])
	assert.Equal(t, []byte{0, 1, 0, 0}, w.b[16:20])
	assert.Equal(t, "ID#0000000042", AddrFromID(42).String())
}

func TestTimespecEncoding(t *testing.T) {
	ts := time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC)
	var w writer
	w.ts(ts)
	w.ts(time.Time{})
	w.ts(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)) // beyond 32 bits
	r := reader{b: w.b}
	assert.True(t, ts.Equal(r.ts()))
	assert.True(t, r.ts().IsZero())
	assert.Equal(t, 2200, r.ts().Year())
	// A 32-bit sender marks the high word with 0x7fffffff.
	b := []byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 100, 0, 0, 0, 5}
	assert.Equal(t, time.Unix(100, 5).UTC(), (&reader{b: b}).ts())
}

var rtAddr = AddrFrom(netip.MustParseAddr("198.51.100.7"))
var rtMask = AddrFrom(netip.MustParseAddr("255.255.255.0"))
var rtTime = time.Date(2026, 11, 25, 12, 34, 56, 500, time.UTC)

// requestSamples has one request body per supported command with data.
var requestSamples = map[Command]RequestBody{
	ReqOnline:                 SourceMask{Mask: rtMask, Address: rtAddr},
	ReqOffline:                SourceMask{},
	ReqBurst:                  Burst{Mask: rtMask, Address: rtAddr, GoodSamples: 2, TotalSamples: 4},
	ReqModifyMinpoll:          SourceIntParam{Address: rtAddr, Value: -3},
	ReqModifyMaxpoll:          SourceIntParam{Address: rtAddr, Value: 10},
	ReqModifyMaxdelay:         SourceParam{Address: rtAddr, Value: 0.25},
	ReqModifyMaxdelayratio:    SourceParam{Address: rtAddr, Value: 3},
	ReqModifyMaxupdateskew:    Value{Value: 100},
	ReqSettime:                SetTime{Time: rtTime},
	ReqManual:                 Index{Index: ManualReset},
	ReqSourceData:             Index{Index: 3},
	ReqAllow:                  Subnet{IP: rtAddr, Bits: 24},
	ReqAllowAll:               Subnet{},
	ReqDeny:                   Subnet{IP: AddrFrom(netip.MustParseAddr("2001:db8::")), Bits: 32},
	ReqDenyAll:                Subnet{IP: rtAddr, Bits: 32},
	ReqCmdAllow:               Subnet{IP: rtAddr, Bits: 8},
	ReqCmdAllowAll:            Subnet{},
	ReqCmdDeny:                Subnet{IP: rtAddr, Bits: 16},
	ReqCmdDenyAll:             Subnet{},
	ReqAcCheck:                Address{IP: rtAddr},
	ReqCmdAcCheck:             Address{IP: rtAddr},
	ReqDelSource:              Address{IP: AddrFromID(5)},
	ReqDFreq:                  Value{Value: -1.5},
	ReqDOffset:                DOffsetLegacy{Sec: 1, Usec: 500000},
	ReqSourceStats:            Index{Index: 1},
	ReqManualDelete:           Index{Index: 2},
	ReqModifyMinstratum:       SourceIntParam{Address: rtAddr, Value: 3},
	ReqModifyPolltarget:       SourceIntParam{Address: rtAddr, Value: 12},
	ReqModifyMaxdelaydevratio: SourceParam{Address: rtAddr, Value: 5},
	ReqReselectDistance:       Value{Value: 0.5},
	ReqModifyMakestep:         Makestep{Limit: 3, Threshold: 0.5},
	ReqSmoothtime:             Index{Index: SmoothtimeActivate},
	ReqLocal2:                 Local{On: true, Stratum: 10, Distance: 1, Orphan: true, Legacy: true},
	ReqNTPData:                Address{IP: rtAddr},
	ReqAddSource: AddSource{Type: SourceTypePool, Name: "pool.example.net", Port: 123, Minpoll: 4,
		Maxpoll: 9, PresendMinpoll: 100, MinStratum: 1, PollTarget: 8, Version: 4, MaxSources: 4,
		MinSamples: -1, MaxSamples: -1, AuthKey: 7, NTSPort: 4460, MaxDelay: 3, MaxDelayRatio: 0,
		MaxDelayDevRatio: 10, MinDelay: 0, Asymmetry: 1, Offset: 0.125, Flags: AddSrcOnline | AddSrcIburst,
		FilterLength: 0, CertSet: 0, MaxDelayQuant: 0, MaxUnreach: 100000, NameTerminated: true},
	ReqNTPSourceName:          Address{IP: rtAddr},
	ReqAuthData:               Address{IP: rtAddr},
	ReqClientAccessesByIndex3: ClientAccessesQuery{FirstIndex: 8, NClients: 8, MinHits: 2, Reset: true},
	ReqSelectData:             Index{Index: 0},
	ReqDOffset2:               Value{Value: 0.25},
	ReqModifySelectOpts:       SelectOpts{Address: rtAddr, RefID: 0x47505300, Mask: AddSrcPrefer, Options: AddSrcPrefer},
	ReqModifyOffset:           ModifyOffset{RefID: 0x50505300, Offset: -0.5},
	ReqLocal3: Local{On: true, Stratum: 10, Distance: 1, Orphan: true, Activate: 0.5,
		WaitSynced: 100, WaitUnsynced: 300},
}

func TestRequestRoundTrip(t *testing.T) {
	for c := Command(1); c < numCommands; c++ {
		if !c.Supported() {
			_, err := Request{Command: c}.Encode()
			assert.ErrorIs(t, err, ErrUnsupported)
			continue
		}
		body := requestSamples[c]
		t.Run(c.String(), func(t *testing.T) {
			q := Request{Command: c, Sequence: 77, Attempt: 1, Body: body}
			pkt, err := q.Encode()
			require.NoError(t, err)
			require.Len(t, pkt, RequestLen(c))
			got, v, st := ParseRequest(pkt)
			require.Equal(t, Dispatch, v)
			require.Equal(t, StatusSuccess, st)
			assert.Equal(t, c, got.Command)
			assert.Equal(t, uint32(77), got.Sequence)
			assert.Equal(t, uint16(1), got.Attempt)
			assert.Equal(t, body, got.Body)
		})
	}
}

func TestRequestEncodeRejectsWrongBody(t *testing.T) {
	_, err := Request{Command: ReqTracking, Body: Value{}}.Encode()
	assert.Error(t, err)
	_, err = Request{Command: ReqDFreq}.Encode()
	assert.Error(t, err)
	_, err = Request{Command: ReqLocal3, Body: Local{Legacy: true}}.Encode()
	assert.Error(t, err)
}

func TestAddSourceUnterminatedName(t *testing.T) {
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'a'
	}
	pkt, err := Request{Command: ReqAddSource, Body: AddSource{Name: string(long)}}.Encode()
	require.NoError(t, err)
	q, v, _ := ParseRequest(pkt)
	require.Equal(t, Dispatch, v)
	assert.False(t, q.Body.(AddSource).NameTerminated)
}

// replySamples has one body per reply format with exactly representable
// values.
var replySamples = []ReplyBody{
	NSources{N: 3},
	SourceData{IPAddr: rtAddr, Poll: -2, Stratum: 2, State: SourceStateJittery, Mode: SourceModePeer,
		Flags: 0, Reachability: 0o377, SinceSample: 17, OrigLatestMeas: 0.5, LatestMeas: -0.25, LatestMeasErr: 0.125},
	Tracking{RefID: 1, IPAddr: rtAddr, Stratum: 3, LeapStatus: 1, RefTime: rtTime, CurrentCorrection: 0.5,
		LastOffset: -0.25, RMSOffset: 0.125, FreqPPM: -12.5, ResidFreqPPM: 0.0625, SkewPPM: 1,
		RootDelay: 0.03125, RootDispersion: 0.5, LastUpdateInterval: 64},
	SourceStats{RefID: 2, IPAddr: rtAddr, NSamples: 11, NRuns: 7, SpanSeconds: 650, SD: 0.5,
		ResidFreqPPM: 0.25, SkewPPM: 2, EstOffset: -4, EstOffsetErr: 0.75},
	RTCReport{RefTime: rtTime, NSamples: 6, NRuns: 4, SpanSeconds: 3600, RTCSecondsFast: 1.5, RTCGainRatePPM: -2.25},
	ManualTimestamp{Offset: 0.5, DFreqPPM: 1.25, NewAFreqPPM: -3.5},
	ClientAccesses{NIndices: 20, NextIndex: 9, Clients: []ClientAccess{
		{IP: rtAddr, NTPHits: 1, NKEHits: 2, CmdHits: 3, NTPDrops: 4, NKEDrops: 5, CmdDrops: 6,
			NTPInterval: -1, NKEInterval: 2, CmdInterval: 3, NTPTimeoutInterval: 4,
			LastNTPHitAgo: 7, LastNKEHitAgo: 8, LastCmdHitAgo: 9},
		{IP: AddrFrom(netip.MustParseAddr("2001:db8::5")), NTPHits: 10}}},
	ServerStats{NTPHits: 1 << 40, NKEHits: 2, CmdHits: 3, NTPDrops: 4, NKEDrops: 5, CmdDrops: 6,
		LogDrops: 7, NTPAuthHits: 8, NTPInterleavedHits: 9, NTPTimestamps: 10, NTPSpanSeconds: 11,
		NTPDaemonRxTimestamps: 12, NTPDaemonTxTimestamps: 13, NTPKernelRxTimestamps: 14,
		NTPKernelTxTimestamps: 15, NTPHwRxTimestamps: 16, NTPHwTxTimestamps: 17},
	ManualList{Samples: []ManualSample{{When: rtTime, SlewedOffset: 0.5, OrigOffset: 0.75, Residual: 0.125}}},
	Activity{Online: 5, Offline: 4, BurstOnline: 3, BurstOffline: 2, Unresolved: 1},
	Smoothing{Active: true, LeapOnly: true, Offset: 0.25, FreqPPM: 10, WanderPPM: 0.5, LastUpdateAgo: 16, RemainingTime: 120},
	NTPData{RemoteAddr: rtAddr, LocalAddr: AddrFrom(netip.MustParseAddr("198.51.100.1")), RemotePort: 123,
		Leap: 0, Version: 4, Mode: 4, Stratum: 2, Poll: 6, Precision: -23, RootDelay: 0.5,
		RootDispersion: 0.25, RefID: 0xCB007105, RefTime: rtTime, Offset: 0.125, PeerDelay: 0.0625,
		PeerDispersion: 0.5, ResponseTime: 0.25, JitterAsymmetry: -0.5, Flags: NTPFlagsTests | NTPFlagInterleaved,
		TxTssChar: 'K', RxTssChar: 'H', TotalTxCount: 101, TotalRxCount: 99, TotalValidCount: 98,
		TotalGoodCount: 97, TotalKernelTxTS: 96, TotalKernelRxTS: 95, TotalHWTxTS: 94, TotalHWRxTS: 93},
	SourceName{Name: "ntp1.example.net"},
	AuthData{Mode: AuthModeNTS, KeyType: 30, KeyID: 4, KeyLength: 256, KEAttempts: 1, LastKEAgo: 500,
		Cookies: 8, CookieLength: 100, NAK: 0},
	SelectData{RefID: 1, IPAddr: rtAddr, StateChar: '*', Authentication: 'Y', Leap: 'N',
		ConfOptions: SelectOptionPrefer, EffOptions: SelectOptionTrust, LastSampleAgo: 33, Score: 1,
		LoLimit: -0.5, HiLimit: 0.5},
}

func TestReplyRoundTrip(t *testing.T) {
	for _, body := range replySamples {
		code := body.codes()[0]
		out, err := Reply{Command: ReqTracking, Sequence: 9, Body: body}.Encode(MaxRequestLen)
		require.NoError(t, err)
		assert.Len(t, out, ReplyLen(code), "%T", body)
		p, err := DecodeReply(out)
		require.NoError(t, err)
		assert.Equal(t, code, p.Code)
		assert.Equal(t, uint32(9), p.Sequence)
		assert.Equal(t, StatusSuccess, p.Status)
		assert.Equal(t, body, p.Body)
		// Truncated replies are rejected as chronyc rejects them.
		_, err = DecodeReply(out[:len(out)-1])
		assert.ErrorIs(t, err, ErrBadReply)
	}
}

func TestOlderReplyVersions(t *testing.T) {
	stats := replySamples[7].(ServerStats)
	cases := []struct {
		limit int
		want  ServerStats
	}{
		{ReplyLen(RpyServerStats3), ServerStats{NTPHits: 0, NKEHits: 2, CmdHits: 3, NTPDrops: 4, NKEDrops: 5,
			CmdDrops: 6, LogDrops: 7, NTPAuthHits: 8, NTPInterleavedHits: 9, NTPTimestamps: 10, NTPSpanSeconds: 11}},
		{ReplyLen(RpyServerStats2), ServerStats{NKEHits: 2, CmdHits: 3, NTPDrops: 4, NKEDrops: 5,
			CmdDrops: 6, LogDrops: 7, NTPAuthHits: 8}},
		{ReplyLen(RpyServerStats), ServerStats{CmdHits: 3, NTPDrops: 4, CmdDrops: 6, LogDrops: 7}},
	}
	for _, tc := range cases {
		out, err := Reply{Command: ReqServerStats, Body: stats}.Encode(tc.limit)
		require.NoError(t, err)
		p, err := DecodeReply(out)
		require.NoError(t, err)
		assert.Equal(t, tc.want, p.Body, "limit %d (32-bit counters truncate 2^40)", tc.limit)
	}
	nd := replySamples[11].(NTPData)
	out, err := Reply{Command: ReqNTPData, Body: nd}.Encode(ReplyLen(RpyNTPData))
	require.NoError(t, err)
	p, err := DecodeReply(out)
	require.NoError(t, err)
	assert.Equal(t, RpyNTPData, p.Code)
	nd.TotalKernelTxTS, nd.TotalKernelRxTS, nd.TotalHWTxTS, nd.TotalHWRxTS = 0, 0, 0, 0
	assert.Equal(t, nd, p.Body)
}

func TestErrorReplyHasNoBody(t *testing.T) {
	out, err := Reply{Command: ReqSourceData, Status: StatusNoSuchSource, Body: SourceData{}}.Encode(76)
	require.NoError(t, err)
	require.Len(t, out, ReplyHeaderLen)
	p, err := DecodeReply(out)
	require.NoError(t, err)
	assert.Equal(t, RpyNull, p.Code)
	assert.Equal(t, StatusNoSuchSource, p.Status)
	assert.Nil(t, p.Body)
}

func TestDecodeReplyHeaderChecks(t *testing.T) {
	good, err := Reply{Command: ReqTracking, Status: StatusBadPktVersion}.Encode(100)
	require.NoError(t, err)
	mod := func(i int, v byte) []byte {
		b := append([]byte(nil), good...)
		b[i] = v
		return b
	}
	_, err = DecodeReply(mod(0, 4)) // BADPKTVERSION from version >= 4 is accepted
	assert.NoError(t, err)
	_, err = DecodeReply(mod(0, 3))
	assert.ErrorIs(t, err, ErrBadReply)
	_, err = DecodeReply(mod(1, PktTypeRequest))
	assert.ErrorIs(t, err, ErrBadReply)
	_, err = DecodeReply(mod(7, 99)) // unknown reply format
	assert.ErrorIs(t, err, ErrBadReply)
	_, err = DecodeReply(good[:10])
	assert.ErrorIs(t, err, ErrBadReply)
}

func TestStatusWording(t *testing.T) {
	assert.Equal(t, "501 Not authorised", StatusUnauth.String())
	assert.Equal(t, "518 Packet length mismatch", StatusBadPktLength.String())
	assert.Equal(t, "521 Invalid name", StatusInvalidName.String())
	assert.Equal(t, "520 Got unexpected error from daemon", Status(20).String())
	assert.Equal(t, "SERVER_STATS", ReqServerStats.String())
	assert.Equal(t, "COMMAND_99", Command(99).String())
}
