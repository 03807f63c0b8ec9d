package candm

import "fmt"

// ProtocolVersion is the version of the protocol spoken (chrony 3.x and 4.x).
const ProtocolVersion = 6

// oldestMismatchVersion is the oldest request version that still gets a
// BADPKTVERSION answer; older ones are dropped as chronyd drops them.
const oldestMismatchVersion = 5

// Packet types of the header.
const (
	PktTypeRequest = 1
	PktTypeReply   = 2
)

// Fixed sizes of the protocol.
const (
	// RequestHeaderLen is the size of a request header.
	RequestHeaderLen = 20
	// ReplyHeaderLen is the size of a reply header (and of a reply without
	// data, such as an error).
	ReplyHeaderLen = 28
	// MaxRequestLen is the size of chronyd's request buffer: longer
	// datagrams are dropped.
	MaxRequestLen = 860
	// MaxReplyLen is the size of the longest reply.
	MaxReplyLen = ReplyHeaderLen + 492
	// DefaultPort is the default UDP command port.
	DefaultPort = 323
)

// Command is a request code.
type Command uint16

// Request codes of chrony 4.8 (candm.h). Codes marked obsolete are not
// answered by chronyd 4.8 (INVALID); LOCAL2 and DOFFSET are still accepted
// here because chronyc 4.0 to 4.5 send them.
const (
	ReqOnline                 Command = 1
	ReqOffline                Command = 2
	ReqBurst                  Command = 3
	ReqModifyMinpoll          Command = 4
	ReqModifyMaxpoll          Command = 5
	ReqDump                   Command = 6
	ReqModifyMaxdelay         Command = 7
	ReqModifyMaxdelayratio    Command = 8
	ReqModifyMaxupdateskew    Command = 9
	ReqLogon                  Command = 10 // obsolete
	ReqSettime                Command = 11
	ReqLocal                  Command = 12 // obsolete
	ReqManual                 Command = 13
	ReqNSources               Command = 14
	ReqSourceData             Command = 15
	ReqRekey                  Command = 16
	ReqAllow                  Command = 17
	ReqAllowAll               Command = 18
	ReqDeny                   Command = 19
	ReqDenyAll                Command = 20
	ReqCmdAllow               Command = 21
	ReqCmdAllowAll            Command = 22
	ReqCmdDeny                Command = 23
	ReqCmdDenyAll             Command = 24
	ReqAcCheck                Command = 25
	ReqCmdAcCheck             Command = 26
	ReqAddServer              Command = 27 // obsolete
	ReqAddPeer                Command = 28 // obsolete
	ReqDelSource              Command = 29
	ReqWriteRTC               Command = 30
	ReqDFreq                  Command = 31
	ReqDOffset                Command = 32 // chrony 4.0 and older
	ReqTracking               Command = 33
	ReqSourceStats            Command = 34
	ReqRTCReport              Command = 35
	ReqTrimRTC                Command = 36
	ReqCycleLogs              Command = 37
	ReqSubnetsAccessed        Command = 38 // obsolete
	ReqClientAccesses         Command = 39 // obsolete
	ReqClientAccessesByIndex  Command = 40 // obsolete
	ReqManualList             Command = 41
	ReqManualDelete           Command = 42
	ReqMakeStep               Command = 43
	ReqActivity               Command = 44
	ReqModifyMinstratum       Command = 45
	ReqModifyPolltarget       Command = 46
	ReqModifyMaxdelaydevratio Command = 47
	ReqReselect               Command = 48
	ReqReselectDistance       Command = 49
	ReqModifyMakestep         Command = 50
	ReqSmoothing              Command = 51
	ReqSmoothtime             Command = 52
	ReqRefresh                Command = 53
	ReqServerStats            Command = 54
	ReqClientAccessesByIndex2 Command = 55 // obsolete
	ReqLocal2                 Command = 56 // chrony 4.0 to 4.5
	ReqNTPData                Command = 57
	ReqAddServer2             Command = 58 // obsolete
	ReqAddPeer2               Command = 59 // obsolete
	ReqAddServer3             Command = 60 // obsolete
	ReqAddPeer3               Command = 61 // obsolete
	ReqShutdown               Command = 62
	ReqOnOffline              Command = 63
	ReqAddSource              Command = 64
	ReqNTPSourceName          Command = 65
	ReqResetSources           Command = 66
	ReqAuthData               Command = 67
	ReqClientAccessesByIndex3 Command = 68
	ReqSelectData             Command = 69
	ReqReloadSources          Command = 70
	ReqDOffset2               Command = 71
	ReqModifySelectOpts       Command = 72
	ReqModifyOffset           Command = 73
	ReqLocal3                 Command = 74
	numCommands                       = 75
)

// String returns the command's name as in candm.h.
func (c Command) String() string {
	if int(c) < len(commandSpecs) && commandSpecs[c].name != "" {
		return commandSpecs[c].name
	}
	return fmt.Sprintf("COMMAND_%d", uint16(c))
}

// ReplyCode is the format of a reply's data.
type ReplyCode uint16

// Reply codes (candm.h).
const (
	RpyNull                   ReplyCode = 1
	RpyNSources               ReplyCode = 2
	RpySourceData             ReplyCode = 3
	RpyManualTimestamp        ReplyCode = 4 // obsolete
	RpyTracking               ReplyCode = 5
	RpySourceStats            ReplyCode = 6
	RpyRTC                    ReplyCode = 7
	RpySubnetsAccessed        ReplyCode = 8  // obsolete
	RpyClientAccesses         ReplyCode = 9  // obsolete
	RpyClientAccessesByIndex  ReplyCode = 10 // obsolete
	RpyManualList             ReplyCode = 11 // obsolete
	RpyActivity               ReplyCode = 12
	RpySmoothing              ReplyCode = 13
	RpyServerStats            ReplyCode = 14 // chrony 3.x
	RpyClientAccessesByIndex2 ReplyCode = 15 // obsolete
	RpyNTPData                ReplyCode = 16 // chrony 4.0 to 4.5
	RpyManualTimestamp2       ReplyCode = 17
	RpyManualList2            ReplyCode = 18
	RpyNTPSourceName          ReplyCode = 19
	RpyAuthData               ReplyCode = 20
	RpyClientAccessesByIndex3 ReplyCode = 21
	RpyServerStats2           ReplyCode = 22 // chrony 4.0 and 4.1
	RpySelectData             ReplyCode = 23
	RpyServerStats3           ReplyCode = 24 // chrony 4.2 and 4.3
	RpyServerStats4           ReplyCode = 25 // chrony 4.4 and later
	RpyNTPData2               ReplyCode = 26 // chrony 4.6 and later
)

// replyDataLen is the length of each reply format's data (0 for RPY_NULL and
// -1 for formats this package does not know).
var replyDataLen = [...]int{
	0: -1, RpyNull: 0, RpyNSources: 4, RpySourceData: 48, RpyManualTimestamp: -1,
	RpyTracking: 76, RpySourceStats: 56, RpyRTC: 28, RpySubnetsAccessed: -1,
	RpyClientAccesses: -1, RpyClientAccessesByIndex: -1, RpyManualList: -1,
	RpyActivity: 20, RpySmoothing: 24, RpyServerStats: 20,
	RpyClientAccessesByIndex2: -1, RpyNTPData: 124, RpyManualTimestamp2: 12,
	RpyManualList2: 388, RpyNTPSourceName: 256, RpyAuthData: 24,
	RpyClientAccessesByIndex3: 492, RpyServerStats2: 32, RpySelectData: 48,
	RpyServerStats3: 44, RpyServerStats4: 168, RpyNTPData2: 144,
}

// ReplyLen returns the full length of a reply of the given format, or 0 if
// the format is unknown.
func ReplyLen(c ReplyCode) int {
	if int(c) >= len(replyDataLen) || replyDataLen[c] < 0 {
		return 0
	}
	return ReplyHeaderLen + replyDataLen[c]
}

// Status is the status code of a reply.
type Status uint16

// Status codes (candm.h), with chronyc's wording in String.
const (
	StatusSuccess            Status = 0
	StatusFailed             Status = 1
	StatusUnauth             Status = 2
	StatusInvalid            Status = 3
	StatusNoSuchSource       Status = 4
	StatusInvalidTS          Status = 5
	StatusNotEnabled         Status = 6
	StatusBadSubnet          Status = 7
	StatusAccessAllowed      Status = 8
	StatusAccessDenied       Status = 9
	StatusNoHostAccess       Status = 10 // deprecated
	StatusSourceAlreadyKnown Status = 11
	StatusTooManySources     Status = 12
	StatusNoRTC              Status = 13
	StatusBadRTCFile         Status = 14
	StatusInactive           Status = 15
	StatusBadSample          Status = 16
	StatusInvalidAF          Status = 17
	StatusBadPktVersion      Status = 18
	StatusBadPktLength       Status = 19
	StatusInvalidName        Status = 21
)

// String returns the line chronyc prints for the status.
func (s Status) String() string {
	switch s {
	case StatusSuccess:
		return "200 OK"
	case StatusAccessAllowed:
		return "208 Access allowed"
	case StatusAccessDenied:
		return "209 Access denied"
	case StatusFailed:
		return "500 Failure"
	case StatusUnauth:
		return "501 Not authorised"
	case StatusInvalid:
		return "502 Invalid command"
	case StatusNoSuchSource:
		return "503 No such source"
	case StatusInvalidTS:
		return "504 Duplicate or stale logon detected"
	case StatusNotEnabled:
		return "505 Facility not enabled in daemon"
	case StatusBadSubnet:
		return "507 Bad subnet"
	case StatusNoHostAccess:
		return "510 No command access from this host"
	case StatusSourceAlreadyKnown:
		return "511 Source already present"
	case StatusTooManySources:
		return "512 Too many sources present"
	case StatusNoRTC:
		return "513 RTC driver not running"
	case StatusBadRTCFile:
		return "514 Can't write RTC parameters"
	case StatusInvalidAF:
		return "515 Invalid address family"
	case StatusBadSample:
		return "516 Sample index out of range"
	case StatusBadPktVersion:
		return "517 Protocol version mismatch"
	case StatusBadPktLength:
		return "518 Packet length mismatch"
	case StatusInactive:
		return "519 Client logging is not active in the daemon"
	case StatusInvalidName:
		return "521 Invalid name"
	default:
		return "520 Got unexpected error from daemon"
	}
}
