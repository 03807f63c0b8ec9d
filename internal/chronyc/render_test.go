package chronyc

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

func ip(s string) candm.IPAddr { return candm.AddrFrom(netip.MustParseAddr(s)) }

func TestRenderSourceRow(t *testing.T) {
	cases := []struct {
		name      string
		row       SourceRow
		text, csv string
	}{
		{"unreachable", SourceRow{Name: "localhost", Data: candm.SourceData{IPAddr: ip("127.0.0.1"),
			Poll: 6, State: candm.SourceStateNonselectable, SinceSample: math32}},
			"^? localhost                     0   6     0     -     +0ns[   +0ns] +/-    0ns\n",
			"^,?,localhost,0,6,0,4294967295,0.000000000,0.000000000,0.000000000\n"},
		{"selected", SourceRow{Name: "ntp1.example.net", Data: candm.SourceData{IPAddr: ip("203.0.113.1"),
			Poll: 10, Stratum: 2, State: candm.SourceStateSelected, Reachability: 0o377, SinceSample: 1500,
			LatestMeas: -12.4e-6, OrigLatestMeas: 0.0123, LatestMeasErr: 0.25}},
			"^* ntp1.example.net              2  10   377   25m    -12us[  +12ms] +/-  250ms\n",
			"^,*,ntp1.example.net,2,10,377,1500,-0.000012400,0.012300000,0.250000000\n"},
		{"refclock", SourceRow{Name: "GPS", Data: candm.SourceData{Mode: candm.SourceModeRef, Poll: -2,
			State: candm.SourceStateJittery, Reachability: 0o17, SinceSample: 3, LatestMeas: 1.5}},
			"#~ GPS                           0  -2    17     3  +1500ms[   +0ns] +/-    0ns\n",
			"#,~,GPS,0,-2,17,3,1.500000000,0.000000000,0.000000000\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.text, RenderSourceRow(c.row, false))
			assert.Equal(t, c.csv, RenderSourceRow(c.row, true))
		})
	}
}

const math32 = 1<<32 - 1

func TestRenderTables(t *testing.T) {
	assert.Equal(t, "MS Name/IP address         Stratum Poll Reach LastRx Last sample               \n"+
		"===============================================================================\n",
		RenderSources(nil, false, false))
	assert.Equal(t, "", RenderSources(nil, true, true), "no header nor legend in CSV")
	assert.Contains(t, RenderSources(nil, true, false), "||      Log2(Polling interval) --.      |")

	st := SourceStatsRow{Name: "203.0.113.1", Data: candm.SourceStats{NSamples: 12, NRuns: 7, SpanSeconds: 800,
		ResidFreqPPM: -0.031, SkewPPM: 0.457, EstOffset: 3.2e-6, SD: 41e-6}}
	assert.Equal(t, "203.0.113.1                12   7   800     -0.031      0.457  +3200ns    41us\n",
		RenderSourceStatsRow(st, false))
	assert.Equal(t, "203.0.113.1,12,7,800,-0.031,0.457,0.000003200,0.000041000\n", RenderSourceStatsRow(st, true))

	sel := SelectRow{Name: "localhost", Data: candm.SelectData{StateChar: 'M', Leap: 3, Score: 1}}
	assert.Equal(t, "M localhost                 N ----- -----    0   1.0    +0ns    +0ns  ?\n", RenderSelectRow(sel, false))
	sel = SelectRow{Name: "203.0.113.2", Data: candm.SelectData{StateChar: '*', Authentication: 1,
		ConfOptions: candm.SelectOptionPrefer | candm.SelectOptionTrust, EffOptions: candm.SelectOptionNoselect,
		LastSampleAgo: 64, Score: 12.34, LoLimit: -0.002, HiLimit: 0.0031}}
	assert.Equal(t, "* 203.0.113.2               Y -PT-- N----   64  12.3 -2000us +3100us  N\n", RenderSelectRow(sel, false))
	assert.Equal(t, "*,203.0.113.2,Y,-,P,T,-,-,N,-,-,-,-,64,12.3,-0.002000000,0.003100000,Normal\n", RenderSelectRow(sel, true))

	auth := AuthRow{Name: "203.0.113.7", Data: candm.AuthData{LastKEAgo: math32}}
	assert.Equal(t, "203.0.113.7                    -     0    0    0    -    0    0    0    0\n", RenderAuthRow(auth, false))
	auth = AuthRow{Name: "nts.example", Data: candm.AuthData{Mode: candm.AuthModeNTS, KeyType: 30, KeyLength: 256,
		LastKEAgo: 4000, KEAttempts: 1, Cookies: 8, CookieLength: 100}}
	assert.Equal(t, "nts.example                  NTS     0   30  256  66m    1    0    8  100\n", RenderAuthRow(auth, false))

	cl := ClientRow{Name: "203.0.113.9", Data: candm.ClientAccess{NTPHits: 1234, NTPDrops: 5, NTPInterval: 6,
		NTPTimeoutInterval: 127, LastNTPHitAgo: 2, CmdHits: 1, CmdInterval: 127, LastCmdHitAgo: math32,
		NKEHits: 9, NKEInterval: -1, LastNKEHitAgo: 40000}}
	assert.Equal(t, "203.0.113.9                  1234      5   6   -     2       1      0   -     -\n",
		RenderClientRow(cl, false, false))
	assert.Equal(t, "203.0.113.9                  1234      5   6   -     2       9      0  -1   11h\n",
		RenderClientRow(cl, true, false))
	assert.Equal(t, "203.0.113.9,1234,5,6,127,2,1,0,127,4294967295\n", RenderClientRow(cl, false, true))
}

func TestRenderTracking(t *testing.T) {
	v := TrackingView{Data: candm.Tracking{RefID: 0x7f7f0101, Stratum: 10,
		RefTime: time.Date(2026, 11, 25, 18, 55, 2, 123456789, time.UTC)}}
	assert.Equal(t, `Reference ID    : 7F7F0101 ()
Stratum         : 10
Ref time (UTC)  : Wed Nov 25 18:55:02 2026
System time     : 0.000000000 seconds fast of NTP time
Last offset     : +0.000000000 seconds
RMS offset      : 0.000000000 seconds
Frequency       : 0.000 ppm slow
Residual freq   : +0.000 ppm
Skew            : 0.000 ppm
Root delay      : 0.000000000 seconds
Root dispersion : 0.000000000 seconds
Update interval : 0.0 seconds
Leap status     : Normal
`, RenderTracking(v, false))
	v = TrackingView{Name: "ntp1.example.net", Data: candm.Tracking{RefID: 0xcb007101, IPAddr: ip("203.0.113.1"),
		Stratum: 3, LeapStatus: 1, CurrentCorrection: 0.000123, LastOffset: -2.5e-6, RMSOffset: 1e-5,
		FreqPPM: -12.3456, ResidFreqPPM: 0.002, SkewPPM: 0.05, RootDelay: 0.01, RootDispersion: 0.0005,
		LastUpdateInterval: 64.2}}
	text := RenderTracking(v, false)
	assert.Contains(t, text, "Reference ID    : CB007101 (ntp1.example.net)\n")
	assert.Contains(t, text, "Ref time (UTC)  : Thu Jan 01 00:00:00 1970\n")
	assert.Contains(t, text, "System time     : 0.000123000 seconds slow of NTP time\n")
	assert.Contains(t, text, "Frequency       : 12.346 ppm slow\n")
	assert.Contains(t, text, "Last offset     : -0.000002500 seconds\n")
	assert.Contains(t, text, "Update interval : 64.2 seconds\n")
	assert.Contains(t, text, "Leap status     : Insert second\n")
	assert.Equal(t, "CB007101,ntp1.example.net,3,0.000000000,0.000123000,-0.000002500,0.000010000,"+
		"-12.346,0.002,0.050,0.010000000,0.000500000,64.2,Insert second\n", RenderTracking(v, true))
}

func TestRenderOtherReports(t *testing.T) {
	act := candm.Activity{Online: 3, BurstOnline: 2}
	assert.Equal(t, "200 OK\n3 sources online\n0 sources offline\n2 sources doing burst (return to online)\n"+
		"0 sources doing burst (return to offline)\n0 sources with unknown address\n", RenderActivity(act, false))
	assert.Equal(t, "3,0,2,0,0\n", RenderActivity(act, true))

	ss := candm.ServerStats{NTPHits: 10, CmdHits: 172, NTPHwTxTimestamps: 7}
	text := RenderServerStats(ss, candm.RpyServerStats3, false)
	assert.Equal(t, "NTP packets received       : 10\nNTP packets dropped        : 0\n"+
		"Command packets received   : 172\nCommand packets dropped    : 0\n"+
		"Client log records dropped : 0\nNTS-KE connections accepted: 0\nNTS-KE connections dropped : 0\n"+
		"Authenticated NTP packets  : 0\nInterleaved NTP packets    : 0\nNTP timestamps held        : 0\n"+
		"NTP timestamp span         : 0\n", text)
	assert.Equal(t, "10,0,172,0,0,0,0,0,0,0,0,0,0,0,0,0,7\n", RenderServerStats(ss, candm.RpyServerStats4, true))
	assert.Equal(t, "10,0,172,0,0\n", RenderServerStats(ss, candm.RpyServerStats, true))

	sm := candm.Smoothing{Active: true, LeapOnly: true, Offset: -0.5, FreqPPM: 1.25, WanderPPM: 0.0001,
		LastUpdateAgo: 3.04, RemainingTime: 100}
	assert.Equal(t, "Active         : Yes (leap second only)\nOffset         : -0.500000000 seconds\n"+
		"Frequency      : +1.250000 ppm\nWander         : +0.000100 ppm per second\n"+
		"Last update    : 3.0 seconds ago\nRemaining time : 100.0 seconds\n", RenderSmoothing(sm, false))
	assert.Contains(t, RenderSmoothing(candm.Smoothing{}, false), "Active         : No \n")

	rtc := candm.RTCReport{RefTime: time.Unix(1700000000, 0), NSamples: 5, NRuns: 3, SpanSeconds: 4000,
		RTCSecondsFast: -1.2345678, RTCGainRatePPM: 12.3456}
	assert.Equal(t, "RTC ref time (UTC) : Tue Nov 14 22:13:20 2023\nNumber of samples  : 5\n"+
		"Number of runs     : 3\nSample span period :  66m\nRTC is fast by     :    -1.234568 seconds\n"+
		"RTC gains time at  :    12.346 ppm\n", RenderRTC(rtc, false))
	assert.Equal(t, "1700000000.000000000,5,3,4000,-1.234568,12.346\n", RenderRTC(rtc, true))

	ml := candm.ManualList{Samples: []candm.ManualSample{{When: time.Unix(1700000000, 0), SlewedOffset: 1.234,
		OrigOffset: -0.005, Residual: 0}}}
	assert.Equal(t, "210 n_samples = 1\n#    Date     Time(UTC)    Slewed   Original   Residual\n"+
		"=======================================================\n"+
		" 0 2023-11-14 22:13:20       1.23      -0.01       0.00\n", RenderManualList(ml, false))
	assert.Equal(t, "0,2023-11-14 22:13:20,1.23,-0.01,0.00\n", RenderManualList(ml, true))
}

func TestRenderNTPData(t *testing.T) {
	d := candm.NTPData{RemoteAddr: ip("203.0.113.7"), RemotePort: 123, LocalAddr: ip("198.51.100.2"),
		Leap: 0, Version: 4, Mode: 4, Stratum: 1, Poll: 6, Precision: -20, RootDelay: 0.0001,
		RootDispersion: 0.00002, RefID: 0x47505300, RefTime: time.Unix(1700000000, 500000000),
		Offset: -1.5e-5, PeerDelay: 2e-4, PeerDispersion: 1e-6, ResponseTime: 3e-5, JitterAsymmetry: 0.25,
		Flags: 0x3ff | candm.NTPFlagInterleaved, TxTssChar: 'K', RxTssChar: 'H', TotalTxCount: 10,
		TotalRxCount: 9, TotalValidCount: 8, TotalGoodCount: 7, TotalKernelTxTS: 6, TotalHWRxTS: 5}
	text := RenderNTPData(d, true, false)
	for _, line := range []string{
		"Remote address  : 203.0.113.7 (CB007107)\n",
		"Local address   : 198.51.100.2 (C6336402)\n",
		"Mode            : Server\n",
		"Poll interval   : 6 (64 seconds)\n",
		"Precision       : -20 (0.000000954 seconds)\n",
		"Root delay      : 0.000100 seconds\n",
		"Reference ID    : 47505300 (GPS)\n",
		"Reference time  : Tue Nov 14 22:13:20 2023\n",
		"Offset          : -0.000015000 seconds\n",
		"Jitter asymmetry: +0.25\n",
		"NTP tests       : 111 111 1111\n",
		"Interleaved     : Yes\n",
		"Authenticated   : No\n",
		"TX timestamping : Kernel\n",
		"RX timestamping : Hardware\n",
		"Total good RX   : 7\n",
		"Total kernel TX : 6\n",
		"Total HW RX     : 5\n",
	} {
		assert.Contains(t, text, line)
	}
	old := RenderNTPData(d, false, false)
	assert.Contains(t, old, "Total good RX   : 7\n")
	assert.NotContains(t, old, "Total kernel TX")
	assert.Equal(t, "203.0.113.7,CB007107,123,198.51.100.2,C6336402,Normal,4,Server,1,6,64,-20,0.000000954,"+
		"0.000100,0.000020,47505300,GPS,1700000000.500000000,-0.000015000,0.000200000,0.000001000,"+
		"0.000030000,0.25,111,111,1111,Yes,No,Kernel,Hardware,10,9,8,7,6,0,0,5\n", RenderNTPData(d, true, true))
	// An IPv6 address's reference ID is the start of its MD5 digest.
	assert.Equal(t, uint32(0x39ab9b37), AddrRefID(ip("2001:db8::1")))
}

func TestRenderHelp(t *testing.T) {
	h := RenderHelp()
	assert.Contains(t, h, "System clock:               \ntracking                    Display system time information\n")
	assert.Contains(t, h, "waitsync [<max-tries> [<max-correction> [<max-skew> [<interval>]]]]\n"+
		"                            Wait until synchronised in specified limits\n")
	assert.Contains(t, h, "\n                            according to network configuration\n")
}
