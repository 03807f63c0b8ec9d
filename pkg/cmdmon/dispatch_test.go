package cmdmon

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/ntp/access"
)

var (
	unixCh   = Channel{Unix: true}
	local4   = Channel{Addr: netip.MustParseAddr("127.0.0.1")}
	local6   = Channel{Addr: netip.MustParseAddr("::1")}
	remote   = Channel{Addr: netip.MustParseAddr("203.0.113.10")}
	remote6  = Channel{Addr: netip.MustParseAddr("2001:db8::10")}
	mapped   = Channel{Addr: netip.MustParseAddr("::ffff:203.0.113.10")}
	testTime = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
)

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetLevel(logrus.PanicLevel)
	return l
}

func newTestDispatcher(t *testing.T, h Handler, cfg DispatcherConfig) *Dispatcher {
	t.Helper()
	cfg.Log = quietLog()
	d, err := NewDispatcher(h, cfg)
	require.NoError(t, err)
	return d
}

func encode(t *testing.T, c candm.Command, body candm.RequestBody) []byte {
	t.Helper()
	pkt, err := candm.Request{Command: c, Sequence: 0x01020304, Body: body}.Encode()
	require.NoError(t, err)
	return pkt
}

// exchange runs one request through the dispatcher and decodes the reply.
func exchange(t *testing.T, d *Dispatcher, ch Channel, pkt []byte) (candm.Reply, bool) {
	t.Helper()
	out := d.Handle(pkt, ch, testTime)
	if out == nil {
		return candm.Reply{}, false
	}
	require.LessOrEqual(t, len(out), len(pkt), "reply longer than request")
	p, err := candm.DecodeReply(out)
	require.NoError(t, err)
	assert.Equal(t, uint32(0x01020304), p.Sequence)
	return p, true
}

func TestDispatchStatusPaths(t *testing.T) {
	tracking := encode(t, candm.ReqTracking, nil)
	withVersion := func(v byte) []byte {
		b := append([]byte(nil), tracking...)
		b[0] = v
		return b
	}
	withCommand := func(c uint16) []byte {
		b := append([]byte(nil), tracking...)
		b[4], b[5] = byte(c>>8), byte(c)
		return b
	}
	src := candm.AddrFrom(netip.MustParseAddr("198.51.100.99"))
	cases := []struct {
		name   string
		h      Handler
		ch     Channel
		pkt    []byte
		status candm.Status
		code   candm.ReplyCode
	}{
		{"success", &fixture{}, unixCh, tracking, candm.StatusSuccess, candm.RpyTracking},
		{"success over UDP", &fixture{}, local4, tracking, candm.StatusSuccess, candm.RpyTracking},
		{"success over UDP ::1", &fixture{}, local6, tracking, candm.StatusSuccess, candm.RpyTracking},
		{"version 5", &fixture{}, unixCh, withVersion(5), candm.StatusBadPktVersion, candm.RpyNull},
		{"version 7", &fixture{}, local4, withVersion(7), candm.StatusBadPktVersion, candm.RpyNull},
		{"unknown command", &fixture{}, unixCh, withCommand(200), candm.StatusInvalid, candm.RpyNull},
		{"obsolete command", &fixture{}, unixCh, withCommand(uint16(candm.ReqLogon)), candm.StatusInvalid, candm.RpyNull},
		{"short", &fixture{}, unixCh, tracking[:60], candm.StatusBadPktLength, candm.RpyNull},
		{"control over UDP", &fixture{}, local4, encode(t, candm.ReqMakeStep, nil), candm.StatusUnauth, candm.RpyNull},
		{"closed monitoring over UDP", &fixture{}, local4, encode(t, candm.ReqServerStats, nil), candm.StatusUnauth, candm.RpyNull},
		{"accheck over UDP", &fixture{}, local4, encode(t, candm.ReqAcCheck, candm.Address{IP: src}), candm.StatusUnauth, candm.RpyNull},
		{"accheck allowed", &fixture{}, unixCh, encode(t, candm.ReqAcCheck, candm.Address{IP: candm.AddrFrom(netip.MustParseAddr("203.0.113.1"))}), candm.StatusAccessAllowed, candm.RpyNull},
		{"accheck denied", &fixture{}, unixCh, encode(t, candm.ReqAcCheck, candm.Address{IP: src}), candm.StatusAccessDenied, candm.RpyNull},
		{"cmdaccheck denied", &fixture{}, unixCh, encode(t, candm.ReqCmdAcCheck, candm.Address{IP: src}), candm.StatusAccessDenied, candm.RpyNull},
		{"no such source", &UnsyncedHandler{}, unixCh, encode(t, candm.ReqSourceData, candm.Index{Index: 0}), candm.StatusNoSuchSource, candm.RpyNull},
		{"not enabled", &UnsyncedHandler{}, unixCh, encode(t, candm.ReqSmoothing, nil), candm.StatusNotEnabled, candm.RpyNull},
		{"settime not enabled", &UnsyncedHandler{}, unixCh, encode(t, candm.ReqSettime, candm.SetTime{Time: testTime}), candm.StatusNotEnabled, candm.RpyNull},
		{"no rtc", &UnsyncedHandler{}, unixCh, encode(t, candm.ReqRTCReport, nil), candm.StatusNoRTC, candm.RpyNull},
		{"trimrtc no rtc", &UnsyncedHandler{}, unixCh, encode(t, candm.ReqTrimRTC, nil), candm.StatusNoRTC, candm.RpyNull},
		{"bad sample", &UnsyncedHandler{}, unixCh, encode(t, candm.ReqManualDelete, candm.Index{Index: 1}), candm.StatusBadSample, candm.RpyNull},
		{"failed", &UnsyncedHandler{}, unixCh, encode(t, candm.ReqMakeStep, nil), candm.StatusFailed, candm.RpyNull},
		{"source already known", &fixture{}, unixCh, encode(t, candm.ReqAddSource, candm.AddSource{Type: candm.SourceTypeServer, Name: "198.51.100.7", NameTerminated: true}), candm.StatusSourceAlreadyKnown, candm.RpyNull},
		{"bad source type", &fixture{}, unixCh, encode(t, candm.ReqAddSource, candm.AddSource{Type: 9, Name: "x"}), candm.StatusInvalid, candm.RpyNull},
		{"bad manual option", &fixture{}, unixCh, encode(t, candm.ReqManual, candm.Index{Index: 7}), candm.StatusInvalid, candm.RpyNull},
		{"bad smoothtime option", &fixture{}, unixCh, encode(t, candm.ReqSmoothtime, candm.Index{Index: 2}), candm.StatusInvalid, candm.RpyNull},
		{"bad subnet bits", &fixture{}, unixCh, encode(t, candm.ReqAllow, candm.Subnet{IP: src, Bits: 33}), candm.StatusBadSubnet, candm.RpyNull},
		{"bad subnet negative", &fixture{}, unixCh, encode(t, candm.ReqCmdDeny, candm.Subnet{IP: src, Bits: -1}), candm.StatusBadSubnet, candm.RpyNull},
		{"bad subnet unspec", &fixture{}, unixCh, encode(t, candm.ReqDeny, candm.Subnet{Bits: 8}), candm.StatusBadSubnet, candm.RpyNull},
		{"bad subnet ID", &fixture{}, unixCh, encode(t, candm.ReqCmdAllow, candm.Subnet{IP: candm.AddrFromID(1)}), candm.StatusBadSubnet, candm.RpyNull},
		{"version-negotiated serverstats", &fixture{}, unixCh, encode(t, candm.ReqServerStats, nil)[:72], candm.StatusSuccess, candm.RpyServerStats3},
		{"4.8 serverstats", &fixture{}, unixCh, encode(t, candm.ReqServerStats, nil), candm.StatusSuccess, candm.RpyServerStats4},
		{"4.3 ntpdata", &fixture{}, unixCh, encode(t, candm.ReqNTPData, candm.Address{IP: candm.AddrFrom(fixtureSource)})[:152], candm.StatusSuccess, candm.RpyNTPData},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDispatcher(t, tc.h, DispatcherConfig{})
			p, ok := exchange(t, d, tc.ch, tc.pkt)
			require.True(t, ok, "no reply")
			assert.Equal(t, tc.status, p.Status)
			assert.Equal(t, tc.code, p.Code)
		})
	}
}

func TestDispatchAddSourceInvalidName(t *testing.T) {
	pkt := encode(t, candm.ReqAddSource, candm.AddSource{Type: candm.SourceTypeServer, Name: "x"})
	for i := 24; i < 24+256; i++ { // fill the whole name field
		pkt[i] = 'a'
	}
	f := &fixture{}
	p, ok := exchange(t, newTestDispatcher(t, f, DispatcherConfig{}), unixCh, pkt)
	require.True(t, ok)
	assert.Equal(t, candm.StatusInvalidName, p.Status)
	assert.Empty(t, f.lastCall(), "the handler is not called")
}

func TestDispatchDrops(t *testing.T) {
	d := newTestDispatcher(t, &fixture{}, DispatcherConfig{})
	tracking := encode(t, candm.ReqTracking, nil)
	assert.Nil(t, d.Handle(tracking, remote, testTime), "host not admitted by cmdallow")
	assert.Nil(t, d.Handle(tracking, remote6, testTime))
	assert.Nil(t, d.Handle(tracking, Channel{Addr: netip.MustParseAddr("127.0.0.2")}, testTime),
		"only 127.0.0.1 itself is localhost")
	assert.Nil(t, d.Handle(tracking[:27], unixCh, testTime))
	bad := append([]byte(nil), tracking...)
	bad[1] = candm.PktTypeReply
	assert.Nil(t, d.Handle(bad, unixCh, testTime))
	bad[1], bad[0] = candm.PktTypeRequest, 4
	assert.Nil(t, d.Handle(bad, unixCh, testTime), "versions before 5 get no answer")
	hits, drops := d.CommandStats()
	assert.Equal(t, uint64(0), hits)
	assert.Equal(t, uint64(0), drops)
}

func TestDispatchCmdAllow(t *testing.T) {
	d := newTestDispatcher(t, &fixture{}, DispatcherConfig{CmdRules: []access.Rule{
		{Allow: true, Prefix: netip.MustParsePrefix("203.0.113.0/24")}}})
	tracking := encode(t, candm.ReqTracking, nil)
	p, ok := exchange(t, d, remote, tracking)
	require.True(t, ok)
	assert.Equal(t, candm.StatusSuccess, p.Status)
	p, ok = exchange(t, d, mapped, tracking)
	require.True(t, ok, "IPv4-mapped clients are looked up as IPv4")
	assert.Equal(t, candm.StatusSuccess, p.Status)
	_, ok = exchange(t, d, remote6, tracking)
	assert.False(t, ok)

	// chronyc cmddeny over the Unix socket closes it again, cmdaccheck sees it.
	check := encode(t, candm.ReqCmdAcCheck, candm.Address{IP: candm.AddrFrom(remote.Addr)})
	p, _ = exchange(t, d, unixCh, check)
	assert.Equal(t, candm.StatusAccessAllowed, p.Status)
	p, _ = exchange(t, d, unixCh, encode(t, candm.ReqCmdDenyAll,
		candm.Subnet{IP: candm.AddrFrom(netip.MustParseAddr("203.0.113.0")), Bits: 24}))
	assert.Equal(t, candm.StatusSuccess, p.Status)
	p, _ = exchange(t, d, unixCh, check)
	assert.Equal(t, candm.StatusAccessDenied, p.Status)
	_, ok = exchange(t, d, remote, tracking)
	assert.False(t, ok)
	// cmdallow with no subnet admits everything.
	p, _ = exchange(t, d, unixCh, encode(t, candm.ReqCmdAllowAll, candm.Subnet{}))
	assert.Equal(t, candm.StatusSuccess, p.Status)
	_, ok = exchange(t, d, remote6, tracking)
	assert.True(t, ok)
}

func TestDispatchRateLimit(t *testing.T) {
	d := newTestDispatcher(t, &fixture{}, DispatcherConfig{
		CmdRules:  []access.Rule{{Allow: true, Any: true}},
		RateLimit: RateLimit{Enabled: true, Interval: 0, Burst: 3, Leak: 2}})
	tracking := encode(t, candm.ReqTracking, nil)
	answered := 0
	for range 10 {
		if d.Handle(tracking, remote, testTime) != nil {
			answered++
		}
	}
	assert.Equal(t, 3, answered, "burst")
	assert.NotNil(t, d.Handle(tracking, remote, testTime.Add(time.Second)), "one token per second")
	assert.Nil(t, d.Handle(tracking, remote, testTime.Add(time.Second)))
	for range 10 {
		assert.NotNil(t, d.Handle(tracking, local4, testTime), "localhost is never limited")
		assert.NotNil(t, d.Handle(tracking, unixCh, testTime))
	}
	hits, drops := d.CommandStats()
	assert.Equal(t, uint64(32), hits)
	assert.Equal(t, uint64(8), drops)
}

func TestOpenCommands(t *testing.T) {
	_, err := ParseOpenCommands([]string{"tracking", "bogus"})
	assert.Error(t, err)
	_, err = NewDispatcher(&fixture{}, DispatcherConfig{OpenCommands: []string{"nope"}})
	assert.Error(t, err)
	set, err := ParseOpenCommands(DefaultOpenCommands)
	require.NoError(t, err)
	assert.Equal(t, OpenCommandSet{candm.ReqActivity: true, candm.ReqManualList: true,
		candm.ReqRTCReport: true, candm.ReqSmoothing: true, candm.ReqNTPSourceName: true,
		candm.ReqNSources: true, candm.ReqSourceData: true, candm.ReqSourceStats: true,
		candm.ReqTracking: true}, set)
	set, err = ParseOpenCommands([]string{"SelectData", "clients", "authdata"})
	require.NoError(t, err)
	assert.True(t, set[candm.ReqSelectData] && set[candm.ReqClientAccessesByIndex3] && set[candm.ReqAuthData] && set[candm.ReqNSources])
	// An empty list closes UDP to everything.
	d := newTestDispatcher(t, &fixture{}, DispatcherConfig{OpenCommands: []string{}})
	p, _ := exchange(t, d, local4, encode(t, candm.ReqTracking, nil))
	assert.Equal(t, candm.StatusUnauth, p.Status)
}

func TestSubnetRule(t *testing.T) {
	r, ok := SubnetRule(true, false, candm.Subnet{IP: candm.AddrFrom(netip.MustParseAddr("198.51.100.77")), Bits: 24})
	require.True(t, ok)
	assert.Equal(t, access.Rule{Allow: true, Prefix: netip.MustParsePrefix("198.51.100.0/24")}, r)
	r, ok = SubnetRule(false, true, candm.Subnet{})
	require.True(t, ok)
	assert.Equal(t, access.Rule{All: true, Any: true}, r)
	_, ok = SubnetRule(true, false, candm.Subnet{IP: candm.AddrFrom(netip.MustParseAddr("2001:db8::")), Bits: 129})
	assert.False(t, ok)
	r, ok = SubnetRule(true, false, candm.Subnet{IP: candm.AddrFrom(netip.MustParseAddr("2001:db8::")), Bits: 128})
	assert.True(t, ok)
	assert.Equal(t, 128, r.Prefix.Bits())
}

// FuzzDispatch runs arbitrary datagrams through the whole policy: no panic
// and never a reply longer than the request, on every channel.
func FuzzDispatch(f *testing.F) {
	for c := candm.Command(0); c < 80; c++ {
		n := max(candm.RequestLen(c), candm.ReplyHeaderLen)
		b := make([]byte, n)
		b[0], b[1], b[5] = candm.ProtocolVersion, candm.PktTypeRequest, byte(c)
		f.Add(b)
	}
	d, err := NewDispatcher(&fixture{}, DispatcherConfig{Log: quietLog(),
		CmdRules: []access.Rule{{Allow: true, Any: true}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		for _, ch := range []Channel{unixCh, local4, remote} {
			out := d.Handle(pkt, ch, testTime)
			if len(out) > len(pkt) {
				t.Fatalf("%d-byte reply to %d-byte request", len(out), len(pkt))
			}
			if out != nil {
				if _, err := candm.DecodeReply(out); err != nil {
					t.Fatalf("undecodable reply: %v", err)
				}
			}
		}
	})
}

// statusHandler answers every call with one status.
type statusHandler struct {
	UnsyncedHandler
	status candm.Status
}

func (s *statusHandler) AddSource(candm.AddSource) candm.Status { return s.status }
func (s *statusHandler) Run(Action) candm.Status                { return s.status }
func (s *statusHandler) ClientAccesses(candm.ClientAccessesQuery) (candm.ClientAccesses, candm.Status) {
	return candm.ClientAccesses{}, s.status
}

// TestHandlerStatusesPassThrough checks each status a Handler can give
// reaches chronyc unchanged, without data.
func TestHandlerStatusesPassThrough(t *testing.T) {
	requests := [][]byte{
		encode(t, candm.ReqAddSource, candm.AddSource{Type: candm.SourceTypePool, Name: "pool.example.net", NameTerminated: true}),
		encode(t, candm.ReqWriteRTC, nil),
		encode(t, candm.ReqClientAccessesByIndex3, candm.ClientAccessesQuery{NClients: 8}),
	}
	for _, st := range []candm.Status{candm.StatusSuccess, candm.StatusFailed, candm.StatusInvalid,
		candm.StatusNoSuchSource, candm.StatusInvalidTS, candm.StatusNotEnabled,
		candm.StatusNoHostAccess, candm.StatusSourceAlreadyKnown, candm.StatusTooManySources,
		candm.StatusNoRTC, candm.StatusBadRTCFile, candm.StatusInactive, candm.StatusInvalidAF,
		candm.StatusInvalidName} {
		d := newTestDispatcher(t, &statusHandler{status: st}, DispatcherConfig{})
		for _, pkt := range requests {
			p, ok := exchange(t, d, unixCh, pkt)
			require.True(t, ok)
			assert.Equal(t, st, p.Status)
			if st != candm.StatusSuccess {
				assert.Equal(t, candm.RpyNull, p.Code)
			}
		}
	}
}

// TestDispatchNewerAndOlderForms covers requests chronyc 4.3 cannot send
// (4.4+ selectopts and offset, 4.6+ LOCAL3) and the DOFFSET of chronyc 4.0.
func TestDispatchNewerAndOlderForms(t *testing.T) {
	src := candm.AddrFrom(fixtureSource)
	cases := []struct {
		cmd  candm.Command
		body candm.RequestBody
		call string
	}{
		{candm.ReqModifySelectOpts, candm.SelectOpts{Address: src, Mask: candm.SelectOptionPrefer | candm.SelectOptionTrust,
			Options: candm.AddSrcPrefer}, "selectopts 198.51.100.7 6 2"},
		{candm.ReqModifyOffset, candm.ModifyOffset{Address: src, Offset: 0.25}, "offset 198.51.100.7 0.25"},
		{candm.ReqLocal3, candm.Local{On: true, Stratum: 5, Distance: 0.5, WaitSynced: 100}, "local true 5 0.5 false legacy=false 0 100 0"},
		{candm.ReqDOffset, candm.DOffsetLegacy{Sec: 1, Usec: 250000}, "tune 4 1.25"},
		{candm.ReqModifyMakestep, candm.Makestep{Limit: -1, Threshold: 0.125}, "makestep 0.125 -1"},
		{candm.ReqAllowAll, candm.Subnet{}, "ntpaccess allow all"},
	}
	for _, tc := range cases {
		f := &fixture{}
		d := newTestDispatcher(t, f, DispatcherConfig{})
		p, ok := exchange(t, d, unixCh, encode(t, tc.cmd, tc.body))
		require.True(t, ok)
		assert.Equal(t, candm.StatusSuccess, p.Status, "%v", tc.cmd)
		assert.Equal(t, tc.call, f.lastCall(), "%v", tc.cmd)
		// Never over UDP, even from localhost.
		p, ok = exchange(t, d, local4, encode(t, tc.cmd, tc.body))
		require.True(t, ok)
		assert.Equal(t, candm.StatusUnauth, p.Status)
	}
}

// TestDispatchConcurrent runs requests and access changes from several
// goroutines at once (meaningful under -race).
func TestDispatchConcurrent(t *testing.T) {
	d := newTestDispatcher(t, &fixture{}, DispatcherConfig{RateLimit: RateLimit{Enabled: true, Burst: 4}})
	tracking := encode(t, candm.ReqTracking, nil)
	allow := encode(t, candm.ReqCmdAllow, candm.Subnet{IP: candm.AddrFrom(remote.Addr), Bits: 32})
	deny := encode(t, candm.ReqCmdDeny, candm.Subnet{IP: candm.AddrFrom(remote.Addr), Bits: 32})
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 50 {
				now := testTime.Add(time.Duration(i) * time.Second)
				switch g {
				case 0:
					d.Handle(allow, unixCh, now)
					d.Handle(deny, unixCh, now)
				case 1:
					d.Handle(tracking, remote, now)
				default:
					if d.Handle(tracking, local4, now) == nil {
						t.Error("localhost not answered")
					}
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	hits, _ := d.CommandStats()
	assert.GreaterOrEqual(t, hits, uint64(200), "every Unix and localhost request counts")
}
