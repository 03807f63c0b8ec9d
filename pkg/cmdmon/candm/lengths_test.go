package candm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chrony48Lengths are the request lengths chronyc 4.8 sends (pktlength.c:
// the request data or the expected reply, whichever is longer); 0 marks a
// command chronyd 4.8 does not support.
var chrony48Lengths = map[Command]int{
	ReqOnline: 60, ReqOffline: 60, ReqBurst: 68, ReqModifyMinpoll: 44, ReqModifyMaxpoll: 44,
	ReqDump: 28, ReqModifyMaxdelay: 44, ReqModifyMaxdelayratio: 44, ReqModifyMaxupdateskew: 28,
	ReqLogon: 0, ReqSettime: 40, ReqLocal: 0, ReqManual: 28, ReqNSources: 32, ReqSourceData: 76,
	ReqRekey: 28, ReqAllow: 44, ReqAllowAll: 44, ReqDeny: 44, ReqDenyAll: 44, ReqCmdAllow: 44,
	ReqCmdAllowAll: 44, ReqCmdDeny: 44, ReqCmdDenyAll: 44, ReqAcCheck: 40, ReqCmdAcCheck: 40,
	ReqAddServer: 0, ReqAddPeer: 0, ReqDelSource: 40, ReqWriteRTC: 28, ReqDFreq: 28,
	ReqTracking: 104, ReqSourceStats: 84, ReqRTCReport: 56, ReqTrimRTC: 28, ReqCycleLogs: 28,
	ReqSubnetsAccessed: 0, ReqClientAccesses: 0, ReqClientAccessesByIndex: 0, ReqManualList: 416,
	ReqManualDelete: 28, ReqMakeStep: 28, ReqActivity: 48, ReqModifyMinstratum: 44,
	ReqModifyPolltarget: 44, ReqModifyMaxdelaydevratio: 44, ReqReselect: 28,
	ReqReselectDistance: 28, ReqModifyMakestep: 28, ReqSmoothing: 52, ReqSmoothtime: 28,
	ReqRefresh: 28, ReqServerStats: 196, ReqClientAccessesByIndex2: 0, ReqNTPData: 172,
	ReqAddServer2: 0, ReqAddPeer2: 0, ReqAddServer3: 0, ReqAddPeer3: 0, ReqShutdown: 28,
	ReqOnOffline: 28, ReqAddSource: 372, ReqNTPSourceName: 284, ReqResetSources: 28,
	ReqAuthData: 52, ReqClientAccessesByIndex3: 520, ReqSelectData: 76, ReqReloadSources: 28,
	ReqDOffset2: 28, ReqModifySelectOpts: 52, ReqModifyOffset: 48, ReqLocal3: 48,
	// Not supported by chronyd 4.8 but still sent by older chronyc.
	ReqDOffset: 28, ReqLocal2: 36,
}

// olderMinimum are the commands whose shortest accepted request is that of
// an older chronyc (a smaller reply version).
var olderMinimum = map[Command]int{
	ReqServerStats: ReplyHeaderLen + 20,  // SERVER_STATS of chrony 3.x
	ReqNTPData:     ReplyHeaderLen + 124, // NTP_DATA of chrony 4.0 to 4.5
}

func TestRequestLengthTableCoversEveryCommand(t *testing.T) {
	for c := Command(0); c < numCommands; c++ {
		_, ok := chrony48Lengths[c]
		if c == 0 {
			continue
		}
		assert.True(t, ok, "command %v missing from the table", c)
	}
}

func TestRequestLengths(t *testing.T) {
	for c := Command(1); c < numCommands; c++ {
		want := chrony48Lengths[c]
		t.Run(c.String(), func(t *testing.T) {
			require.Equal(t, want, RequestLen(c))
			if want == 0 {
				// Unsupported: INVALID whatever the length.
				for _, n := range []int{ReplyHeaderLen, 100, MaxRequestLen} {
					_, v, st := ParseRequest(rawRequest(c, n))
					assert.Equal(t, Answer, v)
					assert.Equal(t, StatusInvalid, st)
				}
				return
			}
			minLen := want
			if m, ok := olderMinimum[c]; ok {
				minLen = m
			}
			assert.Equal(t, minLen, MinRequestLen(c))

			req, v, st := ParseRequest(rawRequest(c, want))
			assert.Equal(t, Dispatch, v, "exact length")
			assert.Equal(t, StatusSuccess, st)
			assert.Equal(t, want, req.Length)

			_, v, st = ParseRequest(rawRequest(c, want+1))
			assert.Equal(t, Dispatch, v, "one byte long")
			assert.Equal(t, StatusSuccess, st)

			req, v, st = ParseRequest(rawRequest(c, minLen-1))
			if minLen-1 < ReplyHeaderLen {
				assert.Equal(t, Drop, v)
			} else {
				assert.Equal(t, Answer, v, "one byte short")
				assert.Equal(t, StatusBadPktLength, st)
				assert.Equal(t, c, req.Command)
			}
		})
	}
}

// rawRequest is a zeroed version-6 request of command c and length n.
func rawRequest(c Command, n int) []byte {
	b := make([]byte, n)
	b[0] = ProtocolVersion
	b[1] = PktTypeRequest
	b[4], b[5] = byte(c>>8), byte(c)
	b[8], b[9], b[10], b[11] = 0xde, 0xad, 0xbe, 0xef
	return b
}

func TestParseRequestDropsAndErrors(t *testing.T) {
	valid := rawRequest(ReqTracking, 104)
	mod := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), valid...))
	}
	cases := []struct {
		name   string
		pkt    []byte
		v      Verdict
		status Status
	}{
		{"valid", valid, Dispatch, StatusSuccess},
		{"shorter than a reply header", valid[:ReplyHeaderLen-1], Drop, 0},
		{"longer than chronyd's buffer", mod(func(b []byte) []byte { return append(b, make([]byte, MaxRequestLen)...) }), Drop, 0},
		{"largest accepted", mod(func(b []byte) []byte { return append(b, make([]byte, MaxRequestLen-len(b))...) }), Dispatch, StatusSuccess},
		{"reply packet type", mod(func(b []byte) []byte { b[1] = PktTypeReply; return b }), Drop, 0},
		{"res1 set", mod(func(b []byte) []byte { b[2] = 1; return b }), Drop, 0},
		{"res2 set", mod(func(b []byte) []byte { b[3] = 1; return b }), Drop, 0},
		{"version 5", mod(func(b []byte) []byte { b[0] = 5; return b }), Answer, StatusBadPktVersion},
		{"version 7", mod(func(b []byte) []byte { b[0] = 7; return b }), Answer, StatusBadPktVersion},
		{"version 4", mod(func(b []byte) []byte { b[0] = 4; return b }), Drop, 0},
		{"command 0", mod(func(b []byte) []byte { b[5] = 0; return b }), Answer, StatusInvalid},
		{"command 75", mod(func(b []byte) []byte { b[5] = 75; return b }), Answer, StatusInvalid},
		{"command 65535", mod(func(b []byte) []byte { b[4], b[5] = 0xff, 0xff; return b }), Answer, StatusInvalid},
		{"too short", valid[:103], Answer, StatusBadPktLength},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, v, st := ParseRequest(tc.pkt)
			assert.Equal(t, tc.v, v)
			if tc.v == Answer {
				assert.Equal(t, tc.status, st)
				assert.Equal(t, uint32(0xdeadbeef), req.Sequence)
				out, err := Reply{Command: req.Command, Sequence: req.Sequence, Status: st}.Encode(len(tc.pkt))
				require.NoError(t, err)
				assert.Len(t, out, ReplyHeaderLen, "error replies are header-only")
				assert.Equal(t, byte(ProtocolVersion), out[0], "chronyd answers with its own version")
			}
		})
	}
}

// TestChronyc43Lengths checks the lengths captured from chronyc 4.3 are
// accepted, with the reply versions chronyc 4.3 expects.
func TestChronyc43Lengths(t *testing.T) {
	captured := map[Command]int{ReqTracking: 104, ReqNSources: 32, ReqServerStats: 72,
		ReqNTPData: 152, ReqActivity: 48, ReqLocal2: 36, ReqDOffset2: 28, ReqAddSource: 372,
		ReqClientAccessesByIndex3: 520, ReqManualList: 416, ReqSettime: 40, ReqRTCReport: 56,
		ReqSmoothing: 52, ReqNTPSourceName: 284, ReqDump: 28, ReqOnline: 60, ReqBurst: 68,
		ReqModifyMinpoll: 44, ReqModifyMakestep: 28, ReqAllow: 44, ReqCmdAcCheck: 40}
	for c, n := range captured {
		_, v, st := ParseRequest(rawRequest(c, n))
		assert.Equal(t, Dispatch, v, "%v", c)
		assert.Equal(t, StatusSuccess, st, "%v", c)
	}
	versions := []struct {
		body ReplyBody
		len  int
		code ReplyCode
	}{
		{ServerStats{}, 72, RpyServerStats3},  // chronyc 4.2, 4.3
		{ServerStats{}, 196, RpyServerStats4}, // chronyc 4.4 to 4.8
		{ServerStats{}, 60, RpyServerStats2},  // chronyc 4.0, 4.1
		{ServerStats{}, 48, RpyServerStats},   // chronyc 3.x
		{ServerStats{}, 416, RpyServerStats4}, // facebook/time's fixed-size requests
		{NTPData{}, 152, RpyNTPData},          // chronyc 4.0 to 4.5
		{NTPData{}, 172, RpyNTPData2},         // chronyc 4.6 to 4.8
	}
	for _, v := range versions {
		out, err := Reply{Command: ReqServerStats, Body: v.body}.Encode(v.len)
		require.NoError(t, err)
		p, err := DecodeReply(out)
		require.NoError(t, err)
		assert.Equal(t, v.code, p.Code, "request length %d", v.len)
		assert.LessOrEqual(t, len(out), v.len)
	}
	_, err := Reply{Command: ReqServerStats, Body: ServerStats{}}.Encode(47)
	assert.ErrorIs(t, err, ErrReplyTooLong)
}
