package conf

import (
	"bytes"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseString(t *testing.T, text string) (*Config, error) {
	t.Helper()
	return Parse(strings.NewReader(text), "F")
}

// TestParseTable covers every directive with a valid line and with missing,
// extra and malformed arguments; errors are compared in full (message, line
// and file).
func TestParseTable(t *testing.T) {
	type check func(t *testing.T, c *Config)
	tests := []struct {
		in    string
		err   string // "" when the input is valid
		check check
	}{
		// Lines, comments, case.
		{"", "", func(t *testing.T, c *Config) { assert.Empty(t, c.Directives()) }},
		{"# c\n% c\n! c\n; c\n \t# c\n\n", "", func(t *testing.T, c *Config) { assert.Empty(t, c.Directives()) }},
		{"rtcsync\nfoo\n", "Invalid directive foo at line 2 in file F", nil},
		{"\n\nFoo 1", "Invalid directive Foo at line 3 in file F", nil},
		{"RTCSYNC", "", func(t *testing.T, c *Config) { assert.True(t, c.RTCSync) }},
		{strings.Repeat("x", 2047) + "\n", "String too long at line 1 in file F", nil},
		{strings.Repeat("x", 2046) + "\n", "Invalid directive " + strings.Repeat("x", 2046) + " at line 1 in file F", nil},
		{"rtcsync\r\n", "", func(t *testing.T, c *Config) { assert.True(t, c.RTCSync) }},
		{"rtcsync\x00garbage\n", "", func(t *testing.T, c *Config) { assert.True(t, c.RTCSync) }},

		// server / pool / peer.
		{"server 192.0.2.1", "", func(t *testing.T, c *Config) {
			require.Len(t, c.Sources, 1)
			s := c.Sources[0]
			assert.Equal(t, Source{Kind: KindServer, Name: "192.0.2.1", Port: 123, Options: DefaultSourceOptions()}, s)
			assert.Equal(t, 6, s.Options.MinPoll)
			assert.Equal(t, 10, s.Options.MaxPoll)
			assert.Equal(t, 0, s.Options.Version)
			assert.Equal(t, 4, s.Options.MaxSources)
		}},
		{"server 192.0.2.1 port 1123 minpoll 4 maxpoll 9 iburst burst key 7 maxdelay 0.5 maxdelayratio 2 " +
			"maxdelaydevratio 5 maxdelayquant 0.2 mindelay 0.001 asymmetry 0.5 offset 0.01 minsamples 4 maxsamples 32 " +
			"maxunreach 9 filter 3 offline auto_offline prefer noselect trust require xleave polltarget 16 presend 9 " +
			"minstratum 2 version 3 copy extfield F323 extfield 0xf324 nts ntsport 4461 certset 2 ipv6", "",
			func(t *testing.T, c *Config) {
				s := c.Sources[0]
				assert.Equal(t, SourceOptions{MinPoll: 4, MaxPoll: 9, IBurst: true, Burst: true, Key: 7,
					MaxDelay: 0.5, MaxDelayRatio: 2, MaxDelayDevRatio: 5, MaxDelayQuant: 0.2, MinDelay: 0.001,
					Asymmetry: 0.5, Offset: 0.01, MinSamples: 4, MaxSamples: 32, MaxUnreach: 9, Filter: 3,
					Offline: true, AutoOffline: true, Prefer: true, NoSelect: true, Trust: true, Require: true,
					XLeave: true, PollTarget: 16, Presend: 9, MinStratum: 2, Version: 3, Copy: true,
					ExtFieldMonoRoot: true, ExtFieldNetCorr: true, NTS: true, NTSPort: 4461, CertSet: 2,
					MaxSources: 4}, s.Options)
				assert.Equal(t, 1123, s.Port)
				assert.Equal(t, FamilyIPv6, s.Family)
			}},
		{"pool pool.example.org maxsources 2 ipv4", "", func(t *testing.T, c *Config) {
			assert.Equal(t, KindPool, c.Sources[0].Kind)
			assert.Equal(t, 2, c.Sources[0].Options.MaxSources)
			assert.Equal(t, FamilyIPv4, c.Sources[0].Family)
		}},
		{"peer 198.51.100.7 xleave", "", func(t *testing.T, c *Config) { assert.Equal(t, KindPeer, c.Sources[0].Kind) }},
		{"server", "Invalid syntax for server directive at line 1 in file F", nil},
		{"pool", "Invalid syntax for pool directive at line 1 in file F", nil},
		{"peer", "Invalid syntax for peer directive at line 1 in file F", nil},
		{"server a foo", "Invalid option in server directive at line 1 in file F", nil},
		{"Server a foo", "Invalid option in Server directive at line 1 in file F", nil},
		{"server a minpoll", "Invalid value in server directive at line 1 in file F", nil},
		{"server a minpoll 99", "", func(t *testing.T, c *Config) { assert.Equal(t, 99, c.Sources[0].Options.MinPoll) }},
		{"server a maxpoll 33", "Invalid value in server directive at line 1 in file F", nil},
		{"server a maxpoll -32", "", nil},
		{"server a maxpoll 6x", "Invalid option in server directive at line 1 in file F", nil},
		{"server a maxdelay 1e", "", func(t *testing.T, c *Config) { assert.Equal(t, 1.0, c.Sources[0].Options.MaxDelay) }},
		{"server a key 0", "Invalid value in server directive at line 1 in file F", nil},
		{"server a key 4294967296", "Invalid value in server directive at line 1 in file F", nil},
		{"server a version 0", "Invalid value in server directive at line 1 in file F", nil},
		{"server a version 4", "", func(t *testing.T, c *Config) { assert.Equal(t, 4, c.Sources[0].Options.Version) }},
		{"server a extfield F325", "Invalid value in server directive at line 1 in file F", nil},
		{"server a port 65536", "Invalid value in server directive at line 1 in file F", nil},
		{"server a ntsport -1", "Invalid value in server directive at line 1 in file F", nil},
		{"server a polltarget 0", "Invalid value in server directive at line 1 in file F", nil},
		{"server a presend 33", "Invalid value in server directive at line 1 in file F", nil},
		{"server a minstratum 16", "", nil},
		{"server a minstratum 17", "Invalid value in server directive at line 1 in file F", nil},
		{"server a filter -1", "Invalid value in server directive at line 1 in file F", nil},
		{"pool a maxsources 0", "Invalid value in pool directive at line 1 in file F", nil},

		// Access rules.
		{"allow", "", func(t *testing.T, c *Config) {
			assert.Equal(t, []AccessRule{{Allow: true, Directive: "allow", File: "F", Line: 1}}, c.Allow)
		}},
		{"allow all", "", func(t *testing.T, c *Config) {
			assert.Equal(t, []AccessRule{{Allow: true, All: true, Directive: "allow", File: "F", Line: 1}}, c.Allow)
		}},
		{"deny all 192.0.2.0/24", "", func(t *testing.T, c *Config) {
			assert.Equal(t, []AccessRule{{All: true, Subnet: "192.0.2.0/24", Bits: 24, Addr: netip.MustParseAddr("192.0.2.0"),
				Prefix: netip.MustParsePrefix("192.0.2.0/24"), Directive: "deny", File: "F", Line: 1}}, c.Allow)
		}},
		{"allow 1.2", "", func(t *testing.T, c *Config) {
			assert.Equal(t, netip.MustParsePrefix("1.2.0.0/16"), c.Allow[0].Prefix)
			assert.Equal(t, 16, c.Allow[0].Bits)
		}},
		{"allow 10", "", func(t *testing.T, c *Config) { assert.Equal(t, netip.MustParsePrefix("10.0.0.0/8"), c.Allow[0].Prefix) }},
		{"allow 1.2.3/20", "", func(t *testing.T, c *Config) { assert.Equal(t, netip.MustParsePrefix("1.2.0.0/20"), c.Allow[0].Prefix) }},
		{"allow 192.0.2.1", "", func(t *testing.T, c *Config) {
			assert.Equal(t, netip.MustParsePrefix("192.0.2.1/32"), c.Allow[0].Prefix)
		}},
		{"allow 2001:db8::/32", "", func(t *testing.T, c *Config) {
			assert.Equal(t, netip.MustParsePrefix("2001:db8::/32"), c.Allow[0].Prefix)
		}},
		{"allow 2001:db8::1", "", func(t *testing.T, c *Config) { assert.Equal(t, 128, c.Allow[0].Bits) }},
		{"allow 1.2.3.4/40", "", func(t *testing.T, c *Config) {
			assert.Equal(t, 40, c.Allow[0].Bits)
			assert.False(t, c.Allow[0].Prefix.IsValid())
		}},
		{"\nALLOW ntp.example.org", "", func(t *testing.T, c *Config) {
			assert.Equal(t, "Could not parse ALLOW directive at line 2 in file F", c.Allow[0].ResolveError().Error())
			assert.True(t, c.Allow[0].Host)
			assert.Equal(t, "ntp.example.org", c.Allow[0].Subnet)
		}},
		{"cmdallow 127.0.0.1\ncmddeny all", "", func(t *testing.T, c *Config) {
			require.Len(t, c.CmdAllow, 2)
			assert.True(t, c.CmdAllow[0].Allow)
			assert.False(t, c.CmdAllow[1].Allow)
			assert.True(t, c.CmdAllow[1].All)
		}},
		{"allow 1.2.3.4 x", "Could not parse allow directive at line 1 in file F", nil},
		{"allow 256", "Could not parse allow directive at line 1 in file F", nil},
		{"allow 1.256", "Could not parse allow directive at line 1 in file F", nil},
		{"allow -1", "Could not parse allow directive at line 1 in file F", nil},
		{"allow host/24", "Could not parse allow directive at line 1 in file F", nil},
		{"allow 1.2.3.4/", "Could not parse allow directive at line 1 in file F", nil},
		{"allow fe80::1%eth0", "Could not parse allow directive at line 1 in file F", nil},
		{"deny 1.2.3.4.5", "Could not parse deny directive at line 1 in file F", nil},
		{"cmdallow all 1.2.3.4 x", "Could not parse cmdallow directive at line 1 in file F", nil},
		{"cmddeny a b", "Could not parse cmddeny directive at line 1 in file F", nil},

		// Integers with ranges.
		{"port 0", "", func(t *testing.T, c *Config) { assert.Equal(t, 0, c.Port) }},
		{"port 65536", "Invalid value 65536 in port directive (min 0, max 65535) at line 1 in file F", nil},
		{"port -1", "Invalid value -1 in port directive (min 0, max 65535) at line 1 in file F", nil},
		{"port 1x", "Could not parse port directive at line 1 in file F", nil},
		{"port 99999999999999999999", "Could not parse port directive at line 1 in file F", nil},
		{"port", "Missing arguments for port directive at line 1 in file F", nil},
		{"port 1 2", "Too many arguments for port directive at line 1 in file F", nil},
		{"cmdport 0", "", func(t *testing.T, c *Config) { assert.Equal(t, 0, c.CmdPort) }},
		{"acquisitionport 1123", "", func(t *testing.T, c *Config) { assert.Equal(t, 1123, c.AcquisitionPort) }},
		{"dscp 46", "", func(t *testing.T, c *Config) { assert.Equal(t, 46, c.DSCP) }},
		{"dscp 64", "Invalid value 64 in dscp directive (min 0, max 63) at line 1 in file F", nil},
		{"minsources 3", "", func(t *testing.T, c *Config) { assert.Equal(t, 3, c.MinSources) }},
		{"minsources 0", "Invalid value 0 in minsources directive (min 1, max 2147483647) at line 1 in file F", nil},
		{"maxsamples 10", "", func(t *testing.T, c *Config) { assert.Equal(t, 10, c.MaxSamples) }},
		{"minsamples -1", "Invalid value -1 in minsamples directive (min 0, max 2147483647) at line 1 in file F", nil},
		{"logbanner 2147483648", "Invalid value 2147483648 in logbanner directive (min 0, max 2147483647) at line 1 in file F", nil},
		{"sched_priority 50", "", func(t *testing.T, c *Config) { assert.Equal(t, 50, c.SchedPriority) }},
		{"ptpport 319\nptpdomain 255", "", func(t *testing.T, c *Config) {
			assert.Equal(t, 319, c.PTPPort)
			assert.Equal(t, 255, c.PTPDomain)
		}},
		{"ptpdomain 256", "Invalid value 256 in ptpdomain directive (min 0, max 255) at line 1 in file F", nil},
		{"ntsprocesses 1001", "Invalid value 1001 in ntsprocesses directive (min 0, max 1000) at line 1 in file F", nil},
		{"maxntsconnections 0", "Invalid value 0 in maxntsconnections directive (min 1, max 2147483647) at line 1 in file F", nil},
		{"refresh 0\nntsrefresh 5\nntsrotate 6\nnocerttimecheck 2\nntsport 0", "", func(t *testing.T, c *Config) {
			assert.Equal(t, []int{0, 5, 6, 2, 0}, []int{c.Refresh, c.NTSRefresh, c.NTSRotate, c.NoCertTimeCheck, c.NTSPort})
		}},
		{"ntsaeads 15 30", "", func(t *testing.T, c *Config) { assert.Equal(t, []int{15, 30}, c.NTSAEADs) }},
		{"ntsaeads", "", func(t *testing.T, c *Config) { assert.Empty(t, c.NTSAEADs) }},
		{"ntsaeads 1 -1", "Invalid value -1 in ntsaeads directive (min 0, max 2147483647) at line 1 in file F", nil},

		// Floating-point directives.
		{"maxdistance 16", "", func(t *testing.T, c *Config) { assert.Equal(t, 16.0, c.MaxDistance) }},
		{"maxdistance 3x", "", func(t *testing.T, c *Config) { assert.Equal(t, 3.0, c.MaxDistance) }},
		{"maxdistance x", "Could not parse maxdistance directive at line 1 in file F", nil},
		{"maxjitter", "Missing arguments for maxjitter directive at line 1 in file F", nil},
		{"maxjitter 1 2", "Too many arguments for maxjitter directive at line 1 in file F", nil},
		{"maxupdateskew 10\ncorrtimeratio 2\nmaxclockerror 3\nmaxdrift 4\nmaxslewrate 5\nclockprecision 6\n" +
			"reselectdist 7\nstratumweight 8\ncombinelimit 9\nlogchange 10\nhwtstimeout 11\nrtcautotrim 12", "",
			func(t *testing.T, c *Config) {
				assert.Equal(t, []float64{10, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
					[]float64{c.MaxUpdateSkew, c.CorrTimeRatio, c.MaxClockError, c.MaxDrift, c.MaxSlewRate,
						c.ClockPrecision, c.ReselectDist, c.StratumWeight, c.CombineLimit, c.LogChange,
						c.HWTSTimeout, c.RTCAutoTrim})
			}},
		{"maxjitter inf", "", func(t *testing.T, c *Config) { assert.True(t, math.IsInf(c.MaxJitter, 1)) }},

		// Flags and strings.
		{"manual\nrtconutc\nnoclientlog\nlock_all\nnosystemcert\ndumponexit", "", func(t *testing.T, c *Config) {
			assert.True(t, c.Manual && c.RTCOnUTC && c.NoClientLog && c.LockAll && c.NoSystemCert)
		}},
		{"rtcsync 1", "Too many arguments for rtcsync directive at line 1 in file F", nil},
		{"manual x", "Too many arguments for manual directive at line 1 in file F", nil},
		{"keyfile /k\ndumpdir /d\nlogdir /l\nuser u\nrtcfile /r\nrtcdevice /dev/rtc1\nhwclockfile /h\nleapsectz right/UTC\n" +
			"leapseclist /ls\nntsdumpdir /n\nntsntpserver s\nntpsigndsocket /sock\nbinddevice e0\nbindacqdevice e1\nbindcmddevice lo",
			"", func(t *testing.T, c *Config) {
				assert.Equal(t, []string{"/k", "/d", "/l", "u", "/r", "/dev/rtc1", "/h", "right/UTC", "/ls", "/n", "s", "/sock", "e0", "e1", "lo"},
					[]string{c.KeyFile, c.DumpDir, c.LogDir, c.User, c.RTCFile, c.RTCDevice, c.HWClockFile, c.LeapSecTZ,
						c.LeapSecList, c.NTSDumpDir, c.NTSNTPServer, c.NTPSigndSocket, c.BindDevice, c.BindAcqDevice, c.BindCmdDevice})
			}},
		{"ntscachedir /c", "", func(t *testing.T, c *Config) { assert.Equal(t, "/c", c.NTSDumpDir) }},
		{"keyfile", "Missing arguments for keyfile directive at line 1 in file F", nil},
		{"user a b", "Too many arguments for user directive at line 1 in file F", nil},
		{"ntsservercert /a\nntsservercert /b\nntsserverkey /k", "", func(t *testing.T, c *Config) {
			assert.Equal(t, []string{"/a", "/b"}, c.NTSServerCerts)
			assert.Equal(t, []string{"/k"}, c.NTSServerKeys)
		}},
		{"ntsserverkey", "Missing arguments for ntsserverkey directive at line 1 in file F", nil},
		{"ntstrustedcerts /c\nntstrustedcerts 3 /d", "", func(t *testing.T, c *Config) {
			assert.Equal(t, []TrustedCerts{{Path: "/c"}, {SetID: 3, Path: "/d"}}, c.NTSTrustedCerts)
		}},
		{"ntstrustedcerts x /d", "Could not parse ntstrustedcerts directive at line 1 in file F", nil},
		{"ntstrustedcerts", "Missing arguments for ntstrustedcerts directive at line 1 in file F", nil},
		{"pidfile /run/x.pid", "", func(t *testing.T, c *Config) { assert.Equal(t, "/run/x.pid", c.PidFile) }},
		{"pidfile /", "", func(t *testing.T, c *Config) { assert.Empty(t, c.PidFile) }},
		{"pidfile", "Missing arguments for pidfile directive at line 1 in file F", nil},

		// Addresses.
		{"bindaddress 192.0.2.1\nbindaddress 2001:db8::1", "", func(t *testing.T, c *Config) {
			assert.Equal(t, netip.MustParseAddr("192.0.2.1"), c.BindAddress4)
			assert.Equal(t, netip.MustParseAddr("2001:db8::1"), c.BindAddress6)
		}},
		{"bindacqaddress 0.0.0.0", "", func(t *testing.T, c *Config) { assert.Equal(t, netip.IPv4Unspecified(), c.BindAcqAddress4) }},
		{"bindaddress eth0", "Could not parse bindaddress directive at line 1 in file F", nil},
		{"bindacqaddress", "Missing arguments for bindacqaddress directive at line 1 in file F", nil},
		{"bindcmdaddress /tmp/s.sock\nbindcmdaddress 192.0.2.1", "", func(t *testing.T, c *Config) {
			assert.Equal(t, "/tmp/s.sock", c.BindCmdPath)
			assert.Equal(t, netip.MustParseAddr("192.0.2.1"), c.BindCmdAddress4)
			assert.Equal(t, netip.IPv6Loopback(), c.BindCmdAddress6)
		}},
		{"bindcmdaddress /", "", func(t *testing.T, c *Config) { assert.Empty(t, c.BindCmdPath) }},
		{"bindcmdaddress a b", "Too many arguments for bindcmdaddress directive at line 1 in file F", nil},
		{"broadcast 64 192.0.2.255", "", func(t *testing.T, c *Config) {
			assert.Equal(t, []Broadcast{{Interval: 64, Addr: netip.MustParseAddr("192.0.2.255"), Port: 123}}, c.Broadcasts)
		}},
		{"broadcast 64 192.0.2.255 1123", "", func(t *testing.T, c *Config) { assert.Equal(t, 1123, c.Broadcasts[0].Port) }},
		{"broadcast", "Could not parse broadcast directive at line 1 in file F", nil},
		{"broadcast 64", "Could not parse broadcast directive at line 1 in file F", nil},
		{"broadcast 64 192.0.2.255 x", "Could not parse broadcast directive at line 1 in file F", nil},

		// Multi-argument directives.
		{"makestep 0.1 3", "", func(t *testing.T, c *Config) { assert.Equal(t, MakeStep{Threshold: 0.1, Limit: 3}, c.MakeStep) }},
		{"makestep 1 -1", "", func(t *testing.T, c *Config) { assert.Equal(t, -1, c.MakeStep.Limit) }},
		{"makestep 1", "Missing arguments for makestep directive at line 1 in file F", nil},
		{"makestep 1 2 3", "Too many arguments for makestep directive at line 1 in file F", nil},
		{"makestep 1x 2", "Could not parse makestep directive at line 1 in file F", nil},
		{"maxchange 1000 1 2", "", func(t *testing.T, c *Config) {
			assert.Equal(t, MaxChange{Offset: 1000, Delay: 1, Ignore: 2}, c.MaxChange)
		}},
		{"maxchange 1 2 x", "Could not parse maxchange directive at line 1 in file F", nil},
		{"maxchange 1 2 3 4", "Too many arguments for maxchange directive at line 1 in file F", nil},
		{"fallbackdrift 16 19", "", func(t *testing.T, c *Config) { assert.Equal(t, FallbackDrift{16, 19}, c.FallbackDrift) }},
		{"fallbackdrift 16", "Missing arguments for fallbackdrift directive at line 1 in file F", nil},
		{"fallbackdrift a b", "Could not parse fallbackdrift directive at line 1 in file F", nil},
		{"mailonchange root 0.5", "", func(t *testing.T, c *Config) { assert.Equal(t, MailOnChange{"root", 0.5}, c.MailOnChange) }},
		{"mailonchange root", "Missing arguments for mailonchange directive at line 1 in file F", nil},
		{"mailonchange root x", "Could not parse mailonchange directive at line 1 in file F", nil},
		{"clientloglimit 100000", "", func(t *testing.T, c *Config) { assert.Equal(t, uint64(100000), c.ClientLogLimit) }},
		{"clientloglimit -1", "", func(t *testing.T, c *Config) { assert.Equal(t, uint64(math.MaxUint64), c.ClientLogLimit) }},
		{"clientloglimit x", "Could not parse clientloglimit directive at line 1 in file F", nil},
		{"smoothtime 400 0.001 leaponly", "", func(t *testing.T, c *Config) {
			assert.Equal(t, SmoothTime{MaxFreq: 400, MaxWander: 0.001, LeapOnly: true}, c.SmoothTime)
		}},
		{"smoothtime 400", "Missing arguments for smoothtime directive at line 1 in file F", nil},
		{"smoothtime 400 1 x", "Could not parse smoothtime directive at line 1 in file F", nil},
		{"smoothtime 1 2 3 4", "Too many arguments for smoothtime directive at line 1 in file F", nil},
		{"tempcomp /s 30 26000 0 0.000183 0", "", func(t *testing.T, c *Config) {
			assert.Equal(t, &TempComp{SensorFile: "/s", Interval: 30, T0: 26000, K1: 0.000183}, c.TempComp)
		}},
		{"tempcomp /s 30 /p", "", func(t *testing.T, c *Config) {
			assert.Equal(t, &TempComp{SensorFile: "/s", Interval: 30, PointFile: "/p"}, c.TempComp)
		}},
		{"tempcomp /s 30", "Missing arguments for tempcomp directive at line 1 in file F", nil},
		{"tempcomp /s 30 1 2 3 4 5", "Too many arguments for tempcomp directive at line 1 in file F", nil},
		{"initstepslew 10 192.0.2.1 192.0.2.2", "", func(t *testing.T, c *Config) {
			assert.Equal(t, &InitStepSlew{Threshold: 10, Hosts: []string{"192.0.2.1", "192.0.2.2"}}, c.InitStepSlew)
		}},
		{"initstepslew x 192.0.2.1", "Could not parse initstepslew directive at line 1 in file F", nil},
		{"driftfile /d interval 60", "", func(t *testing.T, c *Config) { assert.Equal(t, DriftFile{"/d", 60}, c.DriftFile) }},
		{"driftfile /d", "", func(t *testing.T, c *Config) { assert.Equal(t, DriftFile{"/d", 3600}, c.DriftFile) }},
		{"driftfile", "Could not parse driftfile directive at line 1 in file F", nil},
		{"driftfile /d interval", "Could not parse driftfile directive at line 1 in file F", nil},
		{"driftfile /d interval 6 7", "Could not parse driftfile directive at line 1 in file F", nil},

		// Keyword directives.
		{"leapsecmode SLEW", "", func(t *testing.T, c *Config) { assert.Equal(t, "slew", c.LeapSecMode) }},
		{"leapsecmode", "Could not parse leapsecmode directive at line 1 in file F", nil},
		{"leapsecmode slew x", "Could not parse leapsecmode directive at line 1 in file F", nil},
		{"authselectmode ignore", "", func(t *testing.T, c *Config) { assert.Equal(t, "ignore", c.AuthSelectMode) }},
		{"authselectmode x", "Could not parse authselectmode directive at line 1 in file F", nil},
		{"opencommands clients Tracking clients", "", func(t *testing.T, c *Config) {
			assert.Equal(t, []string{"clients", "tracking"}, c.OpenCommands)
		}},
		{"opencommands x", "Could not parse opencommands directive at line 1 in file F", nil},

		// local.
		{"local", "", func(t *testing.T, c *Config) {
			assert.Equal(t, Local{Enabled: true, Stratum: 10, Distance: 1}, c.Local)
		}},
		{"local stratum 3 orphan distance 0.5 activate 0.1 waitsynced 5", "", func(t *testing.T, c *Config) {
			assert.Equal(t, Local{Enabled: true, Stratum: 3, Orphan: true, Distance: 0.5, Activate: 0.1,
				WaitSynced: 5, WaitUnsynced: 300}, c.Local)
		}},
		{"local waitunsynced 7", "", func(t *testing.T, c *Config) { assert.Equal(t, 7.0, c.Local.WaitUnsynced) }},
		{"local stratum 16", "Invalid value in local directive at line 1 in file F", nil},
		{"local stratum", "Invalid value in local directive at line 1 in file F", nil},
		{"local foo", "Invalid option in local directive at line 1 in file F", nil},

		// Rate limits.
		{"ratelimit", "", func(t *testing.T, c *Config) {
			assert.Equal(t, RateLimit{Enabled: true, Interval: 3, Burst: 8, Leak: 2}, c.RateLimit)
		}},
		{"ratelimit interval 1 burst 4 leak 3 kod 2", "", func(t *testing.T, c *Config) {
			assert.Equal(t, RateLimit{Enabled: true, Interval: 1, Burst: 4, Leak: 3, KoD: 2}, c.RateLimit)
		}},
		{"ntsratelimit interval 8", "", func(t *testing.T, c *Config) {
			assert.Equal(t, RateLimit{Enabled: true, Interval: 8, Burst: 8, Leak: 2}, c.NTSRateLimit)
		}},
		{"cmdratelimit burst 2", "", func(t *testing.T, c *Config) {
			assert.Equal(t, RateLimit{Enabled: true, Interval: -4, Burst: 2, Leak: 2}, c.CmdRateLimit)
		}},
		{"ntsratelimit kod 1", "Could not parse ntsratelimit directive at line 1 in file F", nil},
		{"ratelimit interval", "Could not parse ratelimit directive at line 1 in file F", nil},
		{"ratelimit interval 33", "Could not parse ratelimit directive at line 1 in file F", nil},
		{"ratelimit foo 1", "Could not parse ratelimit directive at line 1 in file F", nil},

		// log.
		{"log measurements\nlog rawmeasurements tracking", "", func(t *testing.T, c *Config) {
			assert.Equal(t, LogSet{Measurements: true, RawMeasurements: true, Tracking: true}, c.Log)
		}},
		{"log Tracking", "Invalid log parameter at line 1 in file F", nil},

		// hwtimestamp.
		{"hwtimestamp eth0", "", func(t *testing.T, c *Config) {
			assert.Equal(t, []HWTimestamp{{Interface: "eth0", MaxPoll: 1, MinSamples: 2, MaxSamples: 16,
				Precision: 100e-9, RxFilter: "any"}}, c.HWTimestamps)
		}},
		{"hwtimestamp * minpoll -2 maxpoll 4 rxfilter ntp nocrossts txcomp 1e-6", "", func(t *testing.T, c *Config) {
			h := c.HWTimestamps[0]
			assert.Equal(t, []any{"*", -2, 4, "ntp", true, 1e-6}, []any{h.Interface, h.MinPoll, h.MaxPoll, h.RxFilter, h.NoCrossTS, h.TxComp})
		}},
		{"hwtimestamp", "Could not parse hwtimestamp directive at line 1 in file F", nil},
		{"hwtimestamp eth0 rxfilter foo", "Could not parse hwtimestamp directive at line 1 in file F", nil},
		{"hwtimestamp eth0 minpoll 33", "Could not parse hwtimestamp directive at line 1 in file F", nil},

		// refclock.
		{"refclock PPS /dev/pps0", "", func(t *testing.T, c *Config) {
			assert.Equal(t, []RefClock{{Driver: "PPS", Parameter: "/dev/pps0", Poll: 4, Filter: 64, MinSamples: -1,
				MaxSamples: -1, MaxUnreach: 100000, MaxLockAge: 2, Delay: 1e-9}}, c.RefClocks)
		}},
		{"refclock SHM 0 refid GPS lock PPS poll 2 dpoll -1 filter 16 rate 2 minsamples 1 maxsamples 9 maxunreach 3 " +
			"maxlockage 4 offset 0.5 delay 0.1 precision 1e-6 maxdispersion 0.2 stratum 2 width 0.3 local pps tai prefer noselect trust require",
			"", func(t *testing.T, c *Config) {
				assert.Equal(t, RefClock{Driver: "SHM", Parameter: "0", RefID: 0x47505300, Lock: 0x50505300, Poll: 2,
					DriverPoll: -1, Filter: 16, Rate: 2, MinSamples: 1, MaxSamples: 9, MaxUnreach: 3, MaxLockAge: 4,
					Offset: 0.5, Delay: 0.1, Precision: 1e-6, MaxDispersion: 0.2, Stratum: 2, Width: 0.3, Local: true,
					PPSForced: true, TAI: true, Prefer: true, NoSelect: true, Trust: true, Require: true}, c.RefClocks[0])
			}},
		{"refclock", "Could not parse refclock directive at line 1 in file F", nil},
		{"refclock PPS", "Could not parse refclock directive at line 1 in file F", nil},
		{"refclock PPS /dev/pps0 foo", "Invalid option in refclock directive at line 1 in file F", nil},
		{"refclock PPS /dev/pps0 refid ABCDE", "Invalid value in refclock directive at line 1 in file F", nil},
		{"refclock PPS /dev/pps0 poll", "Invalid value in refclock directive at line 1 in file F", nil},

		// Obsolete and ignored.
		{"commandkey 1\nlinux_hz 100", "", func(t *testing.T, c *Config) {
			assert.Equal(t, []string{"commandkey directive is no longer supported", "linux_hz directive is no longer supported"}, c.Warnings)
		}},

		// sourcedir / include / confdir syntax.
		{"sourcedir /a /b\nsourcedir", "", func(t *testing.T, c *Config) { assert.Equal(t, []string{"/a /b", ""}, c.SourceDirs) }},
		{"include", "Missing arguments for include directive at line 1 in file F", nil},
		{"confdir", "Could not parse confdir directive at line 1 in file F", nil},
		{"confdir 1 2 3 4 5 6 7 8 9 10 11", "Could not parse confdir directive at line 1 in file F", nil},
	}
	require.GreaterOrEqual(t, len(tests), 100)
	for _, tc := range tests {
		name := tc.in
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			c, err := parseString(t, tc.in)
			if tc.err != "" {
				require.Error(t, err)
				assert.Equal(t, tc.err, err.Error())
				return
			}
			require.NoError(t, err)
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := parseString(t, "")
	require.NoError(t, err)
	assert.Equal(t, NewConfig(), c)
	assert.Equal(t, "/run/chrony/chronyd.pid", c.PidFile)
	assert.Equal(t, "/run/chrony/chronyd.sock", c.BindCmdPath)
	assert.Equal(t, 123, c.Port)
	assert.Equal(t, 323, c.CmdPort)
	assert.Equal(t, -1, c.AcquisitionPort)
	assert.Equal(t, MakeStep{}, c.MakeStep)
	assert.Equal(t, RateLimit{Interval: 3, Burst: 8, Leak: 2}, c.RateLimit)
	assert.Equal(t, []string{"activity", "manual", "rtcdata", "smoothing", "sourcename", "sources", "sourcestats", "tracking"}, c.OpenCommands)
	assert.Equal(t, 6, c.MinSamples)
}

func TestDirectivesFirstSeenOrder(t *testing.T) {
	c, err := parseString(t, "server a\nRTCSYNC\nserver b\nmakestep 1 3\nrtcsync\n")
	require.NoError(t, err)
	assert.Equal(t, []string{"server", "rtcsync", "makestep"}, c.Directives())
}

func TestPrintNormalizes(t *testing.T) {
	c, err := parseString(t, "# comment\n  Server\t192.0.2.1   iburst \n\nrtcsync\n")
	require.NoError(t, err)
	var b bytes.Buffer
	c.Print(&b)
	assert.Equal(t, "Server 192.0.2.1 iburst\nrtcsync\n", b.String())
}

func TestLoadCommandLineLines(t *testing.T) {
	c, err := Load("/nonexistent/file.conf", []string{"server 192.0.2.1 iburst", "  makestep 1 3"})
	require.NoError(t, err, "the file is not read when directives are given")
	assert.Len(t, c.Sources, 1)
	assert.Equal(t, 3, c.MakeStep.Limit)

	_, err = Load("/nonexistent/file.conf", []string{"rtcsync", "makestep 1"})
	require.Error(t, err)
	assert.Equal(t, "Missing arguments for makestep directive at line 2", err.Error())
	var ce *Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, Error{File: "", Line: 2, Msg: "Missing arguments for makestep directive"}, *ce)
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("/nonexistent/chrony.conf", nil)
	require.Error(t, err)
	assert.Equal(t, "Could not open /nonexistent/chrony.conf : No such file or directory", err.Error())
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestIncludeAndConfDir(t *testing.T) {
	t.Chdir(testdataDir)
	c, err := Load("valid_include.conf", nil)
	require.NoError(t, err)
	names := []string{}
	for _, s := range c.Sources {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"192.0.2.1", "192.0.2.10"}, names)
	assert.True(t, c.Log.Tracking)
	assert.Equal(t, []string{"server", "include", "log", "makestep"}, c.Directives())
	assert.Equal(t, []string{"valid_include.conf", "inc/a.inc", "inc/b.inc"}, c.Files)

	c, err = Load("valid_confdir.conf", nil)
	require.NoError(t, err)
	names = names[:0]
	for _, s := range c.Sources {
		names = append(names, s.Name)
	}
	// 10-a.conf from dirA wins over dirB's; 20-b from dirB; 30-c from dirA;
	// hidden and non-.conf files are skipped.
	assert.Equal(t, []string{"192.0.2.21", "192.0.2.22", "192.0.2.23"}, names)
	var b bytes.Buffer
	c.Print(&b)
	assert.Equal(t, "server 192.0.2.21\nserver 192.0.2.22\nserver 192.0.2.23\nrtcsync\n", b.String())
}

func TestIncludeDepthLimit(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "loop.conf")
	require.NoError(t, os.WriteFile(self, []byte("include "+self+"\n"), 0o600))
	_, err := Load(self, nil)
	require.Error(t, err)
	assert.Equal(t, "Maximum include level reached", err.Error())
}

func TestLoadSourceDirs(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	write := func(dir, name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600))
	}
	write(a, "1.sources", "server 192.0.2.1 iburst\n# comment\nbogus line\nserver\nserver 192.0.2.9 foo\npool p.example.org maxsources 2\n")
	write(a, "2.sources", "peer 192.0.2.3\nserver 192.0.2.4")                // last line unterminated: ignored
	write(b, "1.sources", "server 198.51.100.1\n")                           // shadowed by a/1.sources
	write(b, "3.sources", "server 198.51.100.3\x00x\nserver 198.51.100.4\n") // NUL ends reading
	write(b, "x.conf", "server 198.51.100.5\n")
	srcs, err := LoadSourceDirs([]string{a + " " + b, "/nonexistent"})
	require.NoError(t, err)
	names := []string{}
	for _, s := range srcs {
		names = append(names, string(s.Kind)+" "+s.Name)
	}
	assert.Equal(t, []string{"server 192.0.2.1", "pool p.example.org", "peer 192.0.2.3"}, names)
	assert.Equal(t, 2, srcs[1].Options.MaxSources)
}

func TestDeploymentConfig(t *testing.T) {
	c, err := Load("../../testdata/chrony.conf", nil)
	require.NoError(t, err)
	assert.Len(t, c.Sources, 4)
	assert.Equal(t, 2, c.MinSources)
	assert.Equal(t, MakeStep{Threshold: 1, Limit: 3}, c.MakeStep)
	assert.True(t, c.Local.Enabled)
	assert.Equal(t, 10, c.Local.Stratum)
	require.Len(t, c.Allow, 3)
	assert.Equal(t, netip.MustParsePrefix("172.16.0.0/16"), c.Allow[1].Prefix)
}
