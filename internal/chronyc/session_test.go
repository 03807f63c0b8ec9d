package chronyc

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

// fakeDaemon answers requests from a function and records them.
type fakeDaemon struct {
	answer func(q candm.Request) (candm.Reply, error)
	seen   []candm.Request
}

func (f *fakeDaemon) Exchange(q candm.Request, _ int) (candm.Reply, error) {
	f.seen = append(f.seen, q)
	// Round-trip through the codec so that bodies are checked as on the wire.
	if _, err := q.Encode(); err != nil {
		return candm.Reply{}, err
	}
	rep, err := f.answer(q)
	if err != nil {
		return rep, err
	}
	rep.Command = q.Command
	pkt, err := rep.Encode(candm.RequestLen(q.Command))
	if err != nil {
		return candm.Reply{}, err
	}
	return candm.DecodeReply(pkt)
}

// fakeResolver knows a few names.
type fakeResolver struct{}

func (fakeResolver) LookupHost(name string, family int) ([]netip.Addr, error) {
	if name == "ntp.example" && family != 6 {
		return []netip.Addr{netip.MustParseAddr("203.0.113.5")}, nil
	}
	return nil, errors.New("no such host")
}

func (fakeResolver) LookupAddr(a netip.Addr) (string, bool) {
	if a == netip.MustParseAddr("203.0.113.1") {
		return "a-very-long-host-name.ntp.example.net", true
	}
	return "", false
}

// fakeClock counts sleeps and interrupts the 100th (bounding waitsync).
type fakeClock struct{ slept int }

func (c *fakeClock) Now() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
func (c *fakeClock) Sleep(time.Duration) bool {
	c.slept++
	return c.slept < 100
}

func newTestSession(opts Options, answer func(q candm.Request) (candm.Reply, error)) (*Session, *fakeDaemon, *bytes.Buffer, *bytes.Buffer) {
	f := &fakeDaemon{answer: answer}
	var out, errw bytes.Buffer
	s := NewSession(opts, f, fakeResolver{}, &fakeClock{}, strings.NewReader(strings.Repeat("\x01", 600)), &out, &errw)
	return s, f, &out, &errw
}

func ok(body candm.ReplyBody) (candm.Reply, error) { return candm.Reply{Body: body}, nil }

// twoSources is a daemon with a server and an unresolved source.
func twoSources(q candm.Request) (candm.Reply, error) {
	switch q.Command {
	case candm.ReqNSources:
		return ok(candm.NSources{N: 2})
	case candm.ReqSourceData:
		if q.Body.(candm.Index).Index == 0 {
			return ok(candm.SourceData{IPAddr: ip("203.0.113.1"), Poll: 6, Stratum: 2, Reachability: 0o377,
				SinceSample: 30, State: candm.SourceStateSelected, LatestMeas: 1e-6, LatestMeasErr: 1e-3})
		}
		return ok(candm.SourceData{IPAddr: candm.AddrFromID(7), Poll: 6, SinceSample: math32,
			State: candm.SourceStateNonselectable})
	case candm.ReqNTPSourceName:
		return ok(candm.SourceName{Name: "ntp-a.example"})
	}
	return candm.Reply{Status: candm.StatusInvalid}, nil
}

func TestSessionSources(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		line string
		want string
	}{
		{"dns truncated", Options{}, "sources", sourcesHeader + "\n" + strings.Repeat("=", 79) + "\n" +
			"^* a-very-long-host-name.nt>     2   6   377    30  +1000ns[   +0ns] +/- 1000us\n"},
		{"all with -n", Options{NoDNS: true}, "sources -a", sourcesHeader + "\n" + strings.Repeat("=", 79) + "\n" +
			"^* 203.0.113.1                   2   6   377    30  +1000ns[   +0ns] +/- 1000us\n" +
			"^? ID#0000000007                 0   6     0     -     +0ns[   +0ns] +/-    0ns\n"},
		{"source names", Options{SourceNames: true}, "sources", sourcesHeader + "\n" + strings.Repeat("=", 79) + "\n" +
			"^* ntp-a.example                 2   6   377    30  +1000ns[   +0ns] +/- 1000us\n"},
		{"csv ignores -v", Options{CSV: true}, "sources -v",
			"^,*,203.0.113.1,2,6,377,30,0.000001000,0.000000000,0.001000000\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _, out, _ := newTestSession(c.opts, twoSources)
			assert.True(t, s.Line(c.line))
			assert.Equal(t, c.want, out.String())
		})
	}
}

func TestSessionJSON(t *testing.T) {
	s, _, out, _ := newTestSession(Options{JSON: true}, twoSources)
	require.True(t, s.Line("sources -a"))
	var rows []map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &rows))
	require.Len(t, rows, 2)
	assert.Equal(t, "203.0.113.1", rows[0]["address"])
	assert.Equal(t, "selected", rows[0]["state"])
	assert.InDelta(t, 1e-6, rows[0]["adjusted_offset"], 1e-12)
	assert.Nil(t, rows[1]["last_rx"])

	s, _, out, _ = newTestSession(Options{JSON: true}, func(q candm.Request) (candm.Reply, error) {
		return ok(candm.Tracking{RefID: 0x7f7f0101, Stratum: 10, FreqPPM: -2, SkewPPM: 0.5})
	})
	require.True(t, s.Line("tracking"))
	var tr map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &tr))
	assert.Equal(t, "7F7F0101", tr["ref_id"])
	assert.InDelta(t, -2e-6, tr["frequency"], 1e-15)
	assert.Equal(t, "Normal", tr["leap_status"])
}

func TestSessionStatusAndErrors(t *testing.T) {
	unreachable := func(candm.Request) (candm.Reply, error) { return candm.Reply{}, ErrUnreachable }
	status := func(st candm.Status) func(candm.Request) (candm.Reply, error) {
		return func(candm.Request) (candm.Reply, error) { return candm.Reply{Status: st}, nil }
	}
	wrongFormat := func(candm.Request) (candm.Reply, error) { return ok(candm.Activity{}) }
	cases := []struct {
		name    string
		answer  func(candm.Request) (candm.Reply, error)
		line    string
		ok      bool
		out     string
		errText string
	}{
		{"unreachable", unreachable, "tracking", false, "506 Cannot talk to daemon\n", ""},
		{"not authorised", status(candm.StatusUnauth), "tracking", false, "501 Not authorised\n", ""},
		{"bad reply", wrongFormat, "tracking", false, "508 Bad reply from daemon\n", ""},
		{"ok printed", status(candm.StatusSuccess), "rekey", true, "200 OK\n", ""},
		{"access denied ok", status(candm.StatusAccessDenied), "accheck 203.0.113.1", true, "209 Access denied\n", ""},
		{"no such source", status(candm.StatusNoSuchSource), "delete 203.0.113.2", false, "503 No such source\n", ""},
		{"unknown command", status(candm.StatusSuccess), "frobnicate", false, "", "Unrecognized command\n"},
		{"comment", status(candm.StatusSuccess), "# tracking", true, "", ""},
		{"bad burst", status(candm.StatusSuccess), "burst x", false, "", "Invalid syntax for burst command\n"},
		{"bad address", status(candm.StatusSuccess), "minpoll nosuch.invalid 4", false, "", "Could not get address for hostname\n"},
		{"bad value", status(candm.StatusSuccess), "maxpoll 203.0.113.1 x", false, "", "Invalid syntax for address value\n"},
		{"bad add option", status(candm.StatusSuccess), "add server 203.0.113.3 bogus", false, "", "Invalid option in add command\n"},
		{"bad add value", status(candm.StatusSuccess), "add server 203.0.113.3 minpoll x", false, "", "Invalid value in add command\n"},
		{"bad add kind", status(candm.StatusSuccess), "add clock 203.0.113.3", false, "", "Invalid syntax for add command\n"},
		{"bad add name", status(candm.StatusSuccess), "add server nosuch.invalid", false, "", "Invalid host/IP address\n"},
		{"bad settime", status(candm.StatusSuccess), "settime yesterday-ish", false, "510 - Could not parse date string\n", ""},
		{"timeout too short", status(candm.StatusSuccess), "timeout 50", false, "", "Timeout 50 is too short\n"},
		{"auth warning", status(candm.StatusSuccess), "authhash SHA1", true, "", "Authentication is no longer supported\n"},
		{"old local", status(candm.StatusInvalid), "local stratum 3 activate 1", false, "502 Invalid command\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _, out, errw := newTestSession(Options{}, c.answer)
			assert.Equal(t, c.ok, s.Line(c.line))
			assert.Equal(t, c.out, out.String())
			assert.Equal(t, c.errText, errw.String())
		})
	}
}

func TestSessionRequests(t *testing.T) {
	cases := []struct {
		line string
		cmd  candm.Command
		body candm.RequestBody
	}{
		{"online", candm.ReqOnline, candm.SourceMask{}},
		{"offline 255.255.255.0/203.0.113.0", candm.ReqOffline, candm.SourceMask{Mask: ip("255.255.255.0"), Address: ip("203.0.113.0")}},
		{"offline 203.0.113.0/24", candm.ReqOffline, candm.SourceMask{Mask: ip("255.255.255.0"), Address: ip("203.0.113.0")}},
		{"online ntp.example", candm.ReqOnline, candm.SourceMask{Mask: ip("255.255.255.255"), Address: ip("203.0.113.5")}},
		{"burst 2/4 2001:db8::/32", candm.ReqBurst, candm.Burst{Mask: ip("ffff:ffff::"), Address: ip("2001:db8::"), GoodSamples: 2, TotalSamples: 4}},
		{"minpoll ID#12 4", candm.ReqModifyMinpoll, candm.SourceIntParam{Address: candm.AddrFromID(12), Value: 4}},
		{"maxdelayratio 203.0.113.1 1.5", candm.ReqModifyMaxdelayratio, candm.SourceParam{Address: ip("203.0.113.1"), Value: 1.5}},
		{"allow", candm.ReqAllow, candm.Subnet{}},
		{"allow all 198.51", candm.ReqAllowAll, candm.Subnet{IP: ip("198.51.0.0"), Bits: 16}},
		{"cmddeny 2001:db8::/48", candm.ReqCmdDeny, candm.Subnet{IP: ip("2001:db8::"), Bits: 48}},
		{"deny ntp.example", candm.ReqDeny, candm.Subnet{IP: ip("203.0.113.5"), Bits: 32}},
		{"local", candm.ReqLocal3, candm.Local{On: true, Stratum: 10, Distance: 1}},
		{"local stratum 5 orphan distance 0.5", candm.ReqLocal3, candm.Local{On: true, Stratum: 5, Distance: 0.5, Orphan: true, WaitUnsynced: 300}},
		{"local off", candm.ReqLocal3, candm.Local{}},
		{"makestep 0.1 -1", candm.ReqModifyMakestep, candm.Makestep{Limit: -1, Threshold: 0.1}},
		{"manual reset", candm.ReqManual, candm.Index{Index: candm.ManualReset}},
		{"manual delete 3", candm.ReqManualDelete, candm.Index{Index: 3}},
		{"smoothtime activate", candm.ReqSmoothtime, candm.Index{Index: candm.SmoothtimeActivate}},
		{"doffset -0.5", candm.ReqDOffset2, candm.Value{Value: -0.5}},
		{"offset GPS 0.001", candm.ReqModifyOffset, candm.ModifyOffset{RefID: 0x47505300, Offset: 0.001}},
		{"selectopts 203.0.113.1 +prefer -trust +noselect", candm.ReqModifySelectOpts, candm.SelectOpts{Address: ip("203.0.113.1"),
			Mask:    candm.SelectOptionPrefer | candm.SelectOptionTrust | candm.SelectOptionNoselect,
			Options: candm.AddSrcPrefer | candm.AddSrcNoselect}},
		{"settime 16:30:05", candm.ReqSettime, candm.SetTime{Time: time.Date(2026, 1, 2, 16, 30, 5, 0, time.UTC)}},
		{"settime Sep 25, 2015 16:30:05", candm.ReqSettime, candm.SetTime{Time: time.Date(2015, 9, 25, 16, 30, 5, 0, time.UTC)}},
		{"reset sources", candm.ReqResetSources, nil},
		{"dump", candm.ReqDump, nil},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			s, f, _, errw := newTestSession(Options{}, func(q candm.Request) (candm.Reply, error) {
				if q.Command == candm.ReqSettime {
					return ok(candm.ManualTimestamp{Offset: 1.5, DFreqPPM: 0.25, NewAFreqPPM: -3})
				}
				return candm.Reply{}, nil
			})
			assert.True(t, s.Line(c.line), errw.String())
			require.Len(t, f.seen, 1)
			assert.Equal(t, c.cmd, f.seen[0].Command)
			assert.Equal(t, c.body, f.seen[0].Body)
		})
	}
}

func TestSessionAddSource(t *testing.T) {
	s, f, out, errw := newTestSession(Options{}, func(candm.Request) (candm.Reply, error) { return candm.Reply{}, nil })
	require.True(t, s.Line("add pool ntp.example iburst maxsources 3 minpoll 4 prefer ipv4"), errw.String())
	assert.Equal(t, "200 OK\n", out.String())
	b := f.seen[0].Body.(candm.AddSource)
	assert.Equal(t, uint32(candm.SourceTypePool), b.Type)
	assert.Equal(t, "ntp.example", b.Name)
	assert.Equal(t, uint32(123), b.Port)
	assert.Equal(t, int32(4), b.Minpoll)
	assert.Equal(t, int32(10), b.Maxpoll)
	assert.Equal(t, uint32(3), b.MaxSources)
	assert.Equal(t, uint32(candm.AddSrcOnline|candm.AddSrcIburst|candm.AddSrcPrefer|candm.AddSrcIPv4), b.Flags)
}

func TestSessionSettimeAndWaitsync(t *testing.T) {
	s, _, out, _ := newTestSession(Options{}, func(candm.Request) (candm.Reply, error) {
		return ok(candm.ManualTimestamp{Offset: 1.5, DFreqPPM: 0.25, NewAFreqPPM: -3})
	})
	require.True(t, s.Line("settime 16:30"))
	assert.Equal(t, "200 OK\nClock was 1.50 seconds fast.  Frequency change = 0.25ppm, new frequency = -3.00ppm\n", out.String())

	tries := 0
	s, _, out, _ = newTestSession(Options{}, func(candm.Request) (candm.Reply, error) {
		tries++
		if tries < 3 {
			return ok(candm.Tracking{RefID: 0x7f7f0101, CurrentCorrection: -0.5})
		}
		return ok(candm.Tracking{RefID: 0xcb007101, IPAddr: ip("203.0.113.1"), CurrentCorrection: 1e-5, SkewPPM: 0.1})
	})
	require.True(t, s.Line("waitsync 5 0.001 1 0.01"))
	assert.Equal(t, "try: 1, refid: 7F7F0101, correction: 0.500000000, skew: 0.000\n"+
		"try: 2, refid: 7F7F0101, correction: 0.500000000, skew: 0.000\n"+
		"try: 3, refid: CB007101, correction: 0.000010000, skew: 0.100\n", out.String())
	assert.Equal(t, 2, s.clock.(*fakeClock).slept)

	s, _, _, _ = newTestSession(Options{}, func(candm.Request) (candm.Reply, error) {
		return ok(candm.Tracking{RefID: 0x7f7f0101})
	})
	assert.False(t, s.Line("waitsync 2"))
}

func TestSessionLocalFallback(t *testing.T) {
	s, f, out, _ := newTestSession(Options{}, func(q candm.Request) (candm.Reply, error) {
		if q.Command == candm.ReqLocal3 {
			return candm.Reply{Status: candm.StatusInvalid}, nil
		}
		return candm.Reply{}, nil
	})
	require.True(t, s.Line("local stratum 8 orphan"))
	assert.Equal(t, "200 OK\n", out.String())
	require.Len(t, f.seen, 2)
	assert.Equal(t, candm.ReqLocal2, f.seen[1].Command)
	assert.Equal(t, candm.Local{On: true, Stratum: 8, Distance: 1, Orphan: true, Legacy: true}, f.seen[1].Body)
}

func TestSessionClientsPaging(t *testing.T) {
	s, f, out, _ := newTestSession(Options{NoDNS: true}, func(q candm.Request) (candm.Reply, error) {
		first := q.Body.(candm.ClientAccessesQuery).FirstIndex
		var page candm.ClientAccesses
		page.NIndices = 10
		for i := first; i < min(first+8, 10); i++ {
			page.Clients = append(page.Clients, candm.ClientAccess{IP: candm.AddrFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})),
				NTPHits: i, NTPInterval: 127, NTPTimeoutInterval: 127, CmdInterval: 127, LastNTPHitAgo: math32, LastCmdHitAgo: math32})
		}
		page.NextIndex = first + uint32(len(page.Clients))
		return ok(page)
	})
	require.True(t, s.Line("clients -p 3 -r"))
	require.Len(t, f.seen, 2)
	assert.Equal(t, candm.ClientAccessesQuery{FirstIndex: 8, NClients: 8, MinHits: 3, Reset: true}, f.seen[1].Body)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	assert.Len(t, lines, 12)
	assert.Equal(t, "198.51.100.9                    9      0   -   -     -       0      0   -     -", lines[11])
}

func TestKeygen(t *testing.T) {
	rnd := bytes.NewReader(bytes.Repeat([]byte{0xab}, 100))
	line, err := Keygen("", rnd)
	require.NoError(t, err)
	assert.Equal(t, "1 SHA1 HEX:"+strings.Repeat("AB", 20)+"\n", line)
	line, err = Keygen("7 AES128", bytes.NewReader(make([]byte, 100)))
	require.NoError(t, err)
	assert.Equal(t, "7 AES128 HEX:"+strings.Repeat("00", 16)+"\n", line)
	line, err = Keygen("2 SHA256 8", bytes.NewReader(make([]byte, 100)))
	require.NoError(t, err)
	assert.Equal(t, "2 SHA256 HEX:"+strings.Repeat("00", 10)+"\n", line, "at least 10 bytes")
	_, err = Keygen("x", rnd)
	assert.EqualError(t, err, "Invalid syntax for keygen command")
	_, err = Keygen("1 NOPE", rnd)
	assert.EqualError(t, err, "Unknown hash function or cipher NOPE")
}

func TestParseArgs(t *testing.T) {
	c := ParseArgs([]string{"-nc", "-h", "/tmp/x.sock,127.0.0.1", "-p10323", "-o", "json", "-m", "tracking", "-v"})
	assert.True(t, c.Opts.NoDNS)
	assert.True(t, c.Opts.CSV)
	assert.True(t, c.Opts.JSON)
	assert.True(t, c.Multi)
	assert.Equal(t, "/tmp/x.sock,127.0.0.1", c.Hosts)
	assert.Equal(t, uint16(10323), c.Port)
	assert.Equal(t, []string{"tracking", "-v"}, c.Commands, "options end at the first command")
	assert.Equal(t, "invalid option -- 'x'", ParseArgs([]string{"-x"}).BadOption)
	assert.True(t, ParseArgs([]string{"tracking", "--help"}).Help)
	assert.Equal(t, "option requires an argument -- 'h'", ParseArgs([]string{"-h"}).BadOption)
}

func TestResolveTargets(t *testing.T) {
	got := ResolveTargets("/run/x.sock,127.0.0.1,::1,ntp.example,nosuch.invalid", 323, 0, fakeResolver{})
	require.Len(t, got, 4)
	assert.Equal(t, "/run/x.sock", got[0].String())
	assert.Equal(t, "127.0.0.1:323", got[1].String())
	assert.Equal(t, "[::1]:323", got[2].String())
	assert.Equal(t, "203.0.113.5:323", got[3].String())
	assert.Len(t, ResolveTargets("127.0.0.1,::1", 323, 6, fakeResolver{}), 1)
}
