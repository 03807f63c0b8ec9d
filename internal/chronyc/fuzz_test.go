package chronyc

import (
	"testing"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

// anyDaemon answers every request with a zero-valued reply of the format
// the command expects (or a bare success).
func anyDaemon(q candm.Request) (candm.Reply, error) {
	switch q.Command {
	case candm.ReqNSources:
		return ok(candm.NSources{N: 2})
	case candm.ReqSourceData:
		return ok(candm.SourceData{IPAddr: ip("203.0.113.1")})
	case candm.ReqSourceStats:
		return ok(candm.SourceStats{})
	case candm.ReqSelectData:
		return ok(candm.SelectData{})
	case candm.ReqTracking:
		return ok(candm.Tracking{RefID: 1, IPAddr: ip("203.0.113.1")})
	case candm.ReqNTPData:
		return ok(candm.NTPData{})
	case candm.ReqAuthData:
		return ok(candm.AuthData{})
	case candm.ReqNTPSourceName:
		return ok(candm.SourceName{Name: "x"})
	case candm.ReqClientAccessesByIndex3:
		return ok(candm.ClientAccesses{})
	case candm.ReqServerStats:
		return ok(candm.ServerStats{})
	case candm.ReqActivity:
		return ok(candm.Activity{})
	case candm.ReqSmoothing:
		return ok(candm.Smoothing{})
	case candm.ReqRTCReport:
		return ok(candm.RTCReport{})
	case candm.ReqManualList:
		return ok(candm.ManualList{})
	case candm.ReqSettime:
		return ok(candm.ManualTimestamp{})
	}
	return candm.Reply{}, nil
}

// FuzzSessionLine runs arbitrary command lines: none may panic, and every
// request built must encode.
func FuzzSessionLine(f *testing.F) {
	for _, seed := range []string{"sources -a -v", "burst 1/2 10.0.0.0/8", "allow all 1.2.3/24",
		"add peer 203.0.113.1 key 5 maxpoll 4", "selectopts ID#1 +prefer", "offset ABCD 1e-3",
		"local stratum 3 orphan waitunsynced 10", "clients -p 5 -k", "waitsync 1 0.1", "keygen 3 SHA256 256",
		"settime Jan 1, 2020 00:00:00", "manual delete -1", "ntpdata ::1", "offline 1.2.3.4/::1", "dns -6"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		s, _, _, _ := newTestSession(Options{NoDNS: true}, anyDaemon)
		s.Line(line)
	})
}
