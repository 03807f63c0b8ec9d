package cmdmon

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const chronycPath = "/usr/bin/chronyc"

// requireTool skips the test when a tool is missing, or fails it on CI.
func requireTool(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required on CI: %v", path, err)
		}
		t.Skipf("%s not installed: %v", path, err)
	}
}

// freeUDPPort returns a port free on both 127.0.0.1 and ::1 (at the time
// of the call).
func freeUDPPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		c4, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		require.NoError(t, err)
		port := c4.LocalAddr().(*net.UDPAddr).Port
		c6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback, Port: port})
		c4.Close()
		if err == nil {
			c6.Close()
			return port
		}
	}
	t.Fatal("no free UDP port")
	return 0
}

// testServer runs a Server with h on a private socket folder and a free
// port, closed at the end of the test.
func testServer(t *testing.T, h Handler, policy DispatcherConfig) (*Server, string, int) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	sock := filepath.Join(dir, "chronyd.sock")
	port := freeUDPPort(t)
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	srv, err := NewServer(h, Config{SocketPath: sock, Port: port, UID: os.Getuid(), GID: os.Getgid(),
		Policy: policy, Log: log})
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	require.Equal(t, sock, srv.UnixPath())
	require.Len(t, srv.UDPAddrs(), 2)
	return srv, sock, port
}

// runChronyc runs chronyc with a bounded time and returns its output and
// exit status.
func runChronyc(t *testing.T, args ...string) (string, int) {
	t.Helper()
	return runChronycBin(t, chronycPath, args...)
}

// runChronycBin runs the given chronyc binary.
func runChronycBin(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	require.NoError(t, ctx.Err(), "chronyc %v timed out", args)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return string(out), code
}

type chronycCase struct {
	args []string
	// udp runs the command over UDP 127.0.0.1 instead of the Unix socket.
	udp  bool
	fail bool     // chronyc exits with status 1
	want []string // substrings of the output
	call string   // the Handler call recorded last ("" = none checked)
	// since44 marks commands chronyc 4.3 does not have.
	since44 bool
	// wantNew are substrings expected from chronyc newer than 4.3.
	wantNew []string
}

// chronycBinaries returns the chronyc binaries to test: Debian's (4.3) and,
// if CHRONYGO_EXTRA_CHRONYC names one (for example a chronyc 4.8 built from
// source), that one too.
func chronycBinaries(t *testing.T) []string {
	requireTool(t, chronycPath)
	bins := []string{chronycPath}
	if extra := os.Getenv("CHRONYGO_EXTRA_CHRONYC"); extra != "" {
		requireTool(t, extra)
		bins = append(bins, extra)
	}
	return bins
}

func TestChronycEndToEnd(t *testing.T) {
	for _, bin := range chronycBinaries(t) {
		t.Run(filepath.Base(filepath.Dir(bin))+"_"+filepath.Base(bin), func(t *testing.T) {
			testChronycEndToEnd(t, bin)
		})
	}
}

func testChronycEndToEnd(t *testing.T, bin string) {
	f := &fixture{}
	_, sock, port := testServer(t, f, DispatcherConfig{})
	version, _ := runChronycBin(t, bin, "-v")
	is43 := strings.Contains(version, "version 4.3")

	cases := []chronycCase{
		{args: []string{"tracking"}, want: []string{"Reference ID    : C6336407 (198.51.100.7)",
			"Stratum         : 3", "Ref time (UTC)  : Wed Nov 25 12:34:56 2026",
			"Frequency       : 12.345 ppm slow", "Skew            : 0.123 ppm",
			"Root delay      : 0.012300", "Update interval : 64.5 seconds", "Leap status     : Normal"}},
		{args: []string{"sources"}, want: []string{"^* 198.51.100.7", "377"}},
		{args: []string{"sources", "-v"}, want: []string{"Source mode", "^* 198.51.100.7"}},
		{args: []string{"-N", "sources"}, want: []string{"^* ntp1.example.net"}},
		{args: []string{"-N", "sourcestats"}, want: []string{"ntp1.example.net"}},
		{args: []string{"sourcestats"}, want: []string{"198.51.100.7", " 11 ", "  7 "}},
		{args: []string{"selectdata"}, want: []string{"198.51.100.7", "*"}},
		{args: []string{"ntpdata", "198.51.100.7"}, want: []string{"Remote address  : 198.51.100.7 (C6336407)",
			"Local address   : 198.51.100.1", "Stratum         : 2", "Precision       : -23",
			"Reference ID    : CB007105", "Total TX        : 101", "Total RX        : 99",
			"Total valid RX  : 98"}, wantNew: []string{"Total good RX   : 97", "Total kernel TX : 96",
			"Total kernel RX : 95"}},
		{args: []string{"ntpdata"}, want: []string{"Remote address  : 198.51.100.7"}},
		{args: []string{"ntpdata", "198.51.100.99"}, fail: true, want: []string{"503 No such source"}},
		{args: []string{"sourcename", "198.51.100.7"}, want: []string{"ntp1.example.net"}},
		{args: []string{"authdata"}, want: []string{"198.51.100.7", "SK", "4242"}},
		{args: []string{"activity"}, want: []string{"5 sources online", "4 sources offline",
			"3 sources doing burst (return to online)", "2 sources doing burst (return to offline)",
			"1 sources with unknown address"}},
		{args: []string{"serverstats"}, want: []string{"NTP packets received       : 1234567",
			"NTP packets dropped        : 33", "Command packets received   : 222",
			"Command packets dropped    : 55", "Client log records dropped : 66",
			"Authenticated NTP packets  : 77", "Interleaved NTP packets    : 88",
			"NTP timestamps held        : 99", "NTP timestamp span         : 1111",
			"NTS-KE connections accepted: 11"}, wantNew: []string{"NTP daemon RX timestamps   : 12",
			"NTP kernel TX timestamps   : 15", "NTP hardware TX timestamps : 17"}},
		{args: []string{"clients"}, want: []string{"203.0.113.9", "4321"}},
		{args: []string{"clients", "-k", "-r", "-p", "2"}, want: []string{"203.0.113.9"}},
		{args: []string{"sources", "-a", "-v"}, want: []string{"^* 198.51.100.7"}},
		{args: []string{"sourcestats", "-a", "-v"}, want: []string{"Number of sample points", "198.51.100.7"}},
		{args: []string{"selectdata", "-a", "-v"}, want: []string{"198.51.100.7"}},
		{args: []string{"authdata", "-a", "-v"}, want: []string{"198.51.100.7", "4242"}},
		{args: []string{"manual", "list"}, want: []string{"0 ", "0.75"}},
		{args: []string{"rtcdata"}, want: []string{"RTC ref time (UTC) : Wed Nov 25 12:34:56 2026",
			"Number of samples  : 6", "Number of runs     : 4", "Sample span period :  60m",
			"RTC is fast by     :     1.500000 seconds", "RTC gains time at  :    -2.250 ppm"}},
		{args: []string{"smoothing"}, want: []string{"Active         : Yes",
			"Offset         : +0.250000000 seconds"}},
		{args: []string{"waitsync", "1"}, want: []string{"refid: C6336407, correction: 0.000012500, skew: 0.123"}},

		{args: []string{"accheck", "203.0.113.5"}, want: []string{"208 Access allowed"}, call: "accheck 203.0.113.5"},
		{args: []string{"accheck", "198.51.100.5"}, want: []string{"209 Access denied"}},
		{args: []string{"cmdaccheck", "198.51.100.5"}, want: []string{"209 Access denied"}},
		{args: []string{"allow", "198.51.100.0/24"}, want: []string{"200 OK"}, call: "ntpaccess allow 198.51.100.0/24"},
		{args: []string{"allow", "all", "2001:db8::/32"}, want: []string{"200 OK"}, call: "ntpaccess allow all 2001:db8::/32"},
		{args: []string{"deny"}, want: []string{"200 OK"}, call: "ntpaccess deny"},
		{args: []string{"deny", "all", "198.51.100.128/25"}, want: []string{"200 OK"}, call: "ntpaccess deny all 198.51.100.128/25"},
		{args: []string{"cmdallow", "203.0.113.0/24"}, want: []string{"200 OK"}},
		{args: []string{"cmdaccheck", "203.0.113.4"}, want: []string{"208 Access allowed"}},
		{args: []string{"cmddeny", "all", "203.0.113.0/24"}, want: []string{"200 OK"}},
		{args: []string{"cmdallow", "all"}, want: []string{"200 OK"}},
		{args: []string{"cmddeny", "0/0"}, want: []string{"200 OK"}},
		{args: []string{"add", "server", "198.51.100.8", "minpoll", "4", "maxpoll", "9", "iburst"},
			want: []string{"200 OK"}, call: "add 1 198.51.100.8 4 9 5"},
		{args: []string{"add", "pool", "198.51.100.20", "maxsources", "2"}, want: []string{"200 OK"}, call: "add 3 198.51.100.20 6 10 1"},
		{args: []string{"add", "peer", "198.51.100.9"}, want: []string{"200 OK"}, call: "add 2 198.51.100.9 6 10 1"},
		{args: []string{"add", "server", "198.51.100.7"}, fail: true, want: []string{"511 Source already present"}},
		{args: []string{"delete", "198.51.100.7"}, want: []string{"200 OK"}, call: "delete 198.51.100.7"},
		{args: []string{"delete", "198.51.100.99"}, fail: true, want: []string{"503 No such source"}},
		{args: []string{"burst", "2/4"}, want: []string{"200 OK"}, call: "burst 2/4 [UNSPEC]/[UNSPEC]"},
		{args: []string{"burst", "3/5", "198.51.100.0/24"}, want: []string{"200 OK"}, call: "burst 3/5 198.51.100.0/255.255.255.0"},
		{args: []string{"online"}, want: []string{"200 OK"}, call: "connectivity true [UNSPEC]/[UNSPEC]"},
		{args: []string{"offline", "198.51.100.7"}, want: []string{"200 OK"}, call: "connectivity false 198.51.100.7/255.255.255.255"},
		{args: []string{"onoffline"}, want: []string{"200 OK"}, call: "run onoffline"},
		{args: []string{"minpoll", "198.51.100.7", "5"}, want: []string{"200 OK"}, call: "modify 1 198.51.100.7 5"},
		{args: []string{"maxpoll", "198.51.100.7", "9"}, want: []string{"200 OK"}, call: "modify 2 198.51.100.7 9"},
		{args: []string{"maxdelay", "198.51.100.7", "0.25"}, want: []string{"200 OK"}, call: "modify 3 198.51.100.7 0.25"},
		{args: []string{"maxdelayratio", "198.51.100.7", "3"}, want: []string{"200 OK"}, call: "modify 4 198.51.100.7 3"},
		{args: []string{"maxdelaydevratio", "198.51.100.7", "5"}, want: []string{"200 OK"}, call: "modify 5 198.51.100.7 5"},
		{args: []string{"minstratum", "198.51.100.7", "4"}, want: []string{"200 OK"}, call: "modify 6 198.51.100.7 4"},
		{args: []string{"polltarget", "198.51.100.7", "12"}, want: []string{"200 OK"}, call: "modify 7 198.51.100.7 12"},
		{args: []string{"minpoll", "198.51.100.99", "5"}, fail: true, want: []string{"503 No such source"}},
		{args: []string{"maxupdateskew", "50"}, want: []string{"200 OK"}, call: "tune 1 50"},
		{args: []string{"reselectdist", "0.5"}, want: []string{"200 OK"}, call: "tune 2 0.5"},
		{args: []string{"dfreq", "1.5"}, want: []string{"200 OK"}, call: "tune 3 1.5"},
		{args: []string{"doffset", "-0.125"}, want: []string{"200 OK"}, call: "tune 4 -0.125"},
		{args: []string{"makestep"}, want: []string{"200 OK"}, call: "run makestep"},
		{args: []string{"makestep", "0.5", "3"}, want: []string{"200 OK"}, call: "makestep 0.5 3"},
		{args: []string{"local", "stratum", "8", "orphan"}, want: []string{"200 OK"}, call: "local true 8 1 true legacy="},
		{args: []string{"local", "off"}, want: []string{"200 OK"}, call: "local false 0 0 false legacy="},
		{args: []string{"manual", "on"}, want: []string{"200 OK"}, call: "manual 1"},
		{args: []string{"manual", "off"}, want: []string{"200 OK"}, call: "manual 0"},
		{args: []string{"manual", "reset"}, want: []string{"200 OK"}, call: "manual 2"},
		{args: []string{"manual", "delete", "0"}, want: []string{"200 OK"}, call: "manualdelete 0"},
		{args: []string{"manual", "delete", "3"}, fail: true, want: []string{"516 Sample index out of range"}},
		{args: []string{"settime", "Nov 25, 2026 13:00:00"}, want: []string{"Clock was 0.50 seconds fast.",
			"Frequency change = 1.25ppm, new frequency = -3.50ppm"}, call: "settime"},
		{args: []string{"smoothtime", "reset"}, want: []string{"200 OK"}, call: "smoothtime false"},
		{args: []string{"smoothtime", "activate"}, want: []string{"200 OK"}, call: "smoothtime true"},
		{args: []string{"reselect"}, want: []string{"200 OK"}, call: "run reselect"},
		{args: []string{"refresh"}, want: []string{"200 OK"}, call: "run refresh"},
		{args: []string{"reload", "sources"}, want: []string{"200 OK"}, call: "run reload sources"},
		{args: []string{"reset", "sources"}, want: []string{"200 OK"}, call: "run reset sources"},
		{args: []string{"rekey"}, want: []string{"200 OK"}, call: "run rekey"},
		{args: []string{"cyclelogs"}, want: []string{"200 OK"}, call: "run cyclelogs"},
		{args: []string{"dump"}, want: []string{"200 OK"}, call: "run dump"},
		{args: []string{"trimrtc"}, fail: true, want: []string{"513 RTC driver not running"}, call: "run trimrtc"},
		{args: []string{"writertc"}, fail: true, want: []string{"513 RTC driver not running"}, call: "run writertc"},
		{args: []string{"shutdown"}, want: []string{"200 OK"}, call: "run shutdown"},
		{since44: true, args: []string{"selectopts", "198.51.100.7", "+prefer", "-trust"}, want: []string{"200 OK"},
			call: "selectopts 198.51.100.7 6 2"},
		{since44: true, args: []string{"offset", "198.51.100.7", "0.125"}, want: []string{"200 OK"},
			call: "offset 198.51.100.7 0.125"},
		{since44: true, args: []string{"local", "stratum", "9", "distance", "0.5", "activate", "0.25",
			"waitsynced", "100", "waitunsynced", "300"}, want: []string{"200 OK"},
			call: "local true 9 0.5 false legacy=false 0.25 100 300"},

		// Over UDP: the open monitoring commands are answered, the rest refused.
		{udp: true, args: []string{"tracking"}, want: []string{"Reference ID    : C6336407"}},
		{udp: true, args: []string{"sources"}, want: []string{"^* 198.51.100.7"}},
		{udp: true, args: []string{"sourcestats"}, want: []string{"198.51.100.7"}},
		{udp: true, args: []string{"activity"}, want: []string{"5 sources online"}},
		{udp: true, args: []string{"rtcdata"}, want: []string{"Number of samples  : 6"}},
		{udp: true, args: []string{"smoothing"}, want: []string{"Active         : Yes"}},
		{udp: true, args: []string{"manual", "list"}, want: []string{"0.75"}},
		{udp: true, args: []string{"sourcename", "198.51.100.7"}, want: []string{"ntp1.example.net"}},
		{udp: true, args: []string{"serverstats"}, fail: true, want: []string{"501 Not authorised"}},
		{udp: true, args: []string{"ntpdata", "198.51.100.7"}, fail: true, want: []string{"501 Not authorised"}},
		{udp: true, args: []string{"selectdata"}, fail: true, want: []string{"501 Not authorised"}},
		{udp: true, args: []string{"authdata"}, fail: true, want: []string{"501 Not authorised"}},
		{udp: true, args: []string{"clients"}, fail: true, want: []string{"501 Not authorised"}},
		{udp: true, args: []string{"accheck", "203.0.113.5"}, fail: true, want: []string{"501 Not authorised"}},
		{udp: true, args: []string{"cmdaccheck", "203.0.113.5"}, fail: true, want: []string{"501 Not authorised"}},
		{udp: true, args: []string{"makestep"}, fail: true, want: []string{"501 Not authorised"}},
		{udp: true, args: []string{"shutdown"}, fail: true, want: []string{"501 Not authorised"}},
		{udp: true, args: []string{"add", "server", "198.51.100.8"}, fail: true, want: []string{"501 Not authorised"}},
		{udp: true, args: []string{"local", "stratum", "10"}, fail: true, want: []string{"501 Not authorised"}},
	}
	for _, tc := range cases {
		name := tc.args[0]
		for _, a := range tc.args[1:] {
			name += "_" + a
		}
		if tc.udp {
			name = "udp/" + name
		}
		t.Run(name, func(t *testing.T) {
			if tc.since44 && is43 {
				t.Skip("not in chronyc 4.3")
			}
			args := []string{"-n", "-h", sock}
			if tc.udp {
				args = []string{"-n", "-h", "127.0.0.1", "-p", strconv.Itoa(port)}
			}
			before := f.lastCall()
			out, code := runChronycBin(t, bin, append(args, tc.args...)...)
			if tc.fail {
				assert.Equal(t, 1, code, out)
			} else {
				assert.Equal(t, 0, code, out)
			}
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
			if !is43 {
				for _, w := range tc.wantNew {
					assert.Contains(t, out, w)
				}
			}
			if tc.call != "" {
				got := f.lastCall()
				assert.Contains(t, got, tc.call)
				if tc.call == "settime" {
					assert.NotEqual(t, before, got)
				}
			}
		})
	}
}

// TestChronycIPv6UDP checks the ::1 socket answers chronyc.
func TestChronycIPv6UDP(t *testing.T) {
	requireTool(t, chronycPath)
	_, _, port := testServer(t, &fixture{}, DispatcherConfig{})
	out, code := runChronyc(t, "-n", "-h", "::1", "-p", strconv.Itoa(port), "tracking")
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "Stratum         : 3")
}

// TestChronycOpenCommands opens serverstats and ntpdata over UDP; each
// chronyc version gets the reply version it expects.
func TestChronycOpenCommands(t *testing.T) {
	_, _, port := testServer(t, &fixture{}, DispatcherConfig{
		OpenCommands: []string{"serverstats", "ntpdata", "tracking"}})
	p := strconv.Itoa(port)
	for _, bin := range chronycBinaries(t) {
		out, code := runChronycBin(t, bin, "-n", "-h", "127.0.0.1", "-p", p, "serverstats")
		assert.Equal(t, 0, code, out)
		assert.Contains(t, out, "NTP packets received       : 1234567")
		out, code = runChronycBin(t, bin, "-n", "-h", "127.0.0.1", "-p", p, "ntpdata", "198.51.100.7")
		assert.Equal(t, 0, code, out)
		assert.Contains(t, out, "Total valid RX  : 98")
		out, code = runChronycBin(t, bin, "-n", "-h", "127.0.0.1", "-p", p, "sources")
		assert.Equal(t, 1, code, out)
		assert.Contains(t, out, "501 Not authorised")
	}
}

// TestChronycUnsyncedHandler shows chronyc's view of the default handler.
func TestChronycUnsyncedHandler(t *testing.T) {
	requireTool(t, chronycPath)
	_, sock, _ := testServer(t, &UnsyncedHandler{}, DispatcherConfig{})
	out, code := runChronyc(t, "-n", "-h", sock, "tracking")
	assert.Equal(t, 0, code, out)
	for _, w := range []string{"Reference ID    : 00000000 ()", "Stratum         : 0",
		"Root delay      : 1.000000000 seconds", "Leap status     : Not synchronised"} {
		assert.Contains(t, out, w)
	}
	out, code = runChronyc(t, "-n", "-h", sock, "sources")
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "MS Name/IP address")
	assert.NotContains(t, out, "^")
	out, code = runChronyc(t, "-n", "-h", sock, "rtcdata")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "513 RTC driver not running")
	out, code = runChronyc(t, "-n", "-h", sock, "smoothing")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "505 Facility not enabled in daemon")
}

// TestCommandAccessFromAddress checks that only localhost is admitted over
// UDP without cmdallow.
func TestCommandAccessFromAddress(t *testing.T) {
	d, err := NewDispatcher(&fixture{}, DispatcherConfig{})
	require.NoError(t, err)
	assert.True(t, d.CommandAllowed(netip.MustParseAddr("127.0.0.1")))
	assert.True(t, d.CommandAllowed(netip.MustParseAddr("::1")))
	assert.False(t, d.CommandAllowed(netip.MustParseAddr("198.51.100.3")))
}
