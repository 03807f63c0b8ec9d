package chronycdiff

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// step is one chronyc command run against the reference chronyd and
// chronygo, whose exit status and masked output must agree.
type step struct {
	args []string
	via  transport
	// fails is set when chronyd answers with an error (chronyc exits 1).
	fails bool
	// want are substrings of chronyd's answer, checked in both outputs
	// (the status message of a refused command, a count that matters).
	want []string
	// since44 marks commands chronyc 4.3 lacks (it rejects them itself).
	since44 bool
	// when tells a repeated command apart in the subtest name.
	when string
}

// name is the subtest name of the step.
func (s step) name() string {
	name := s.via.String() + "/" + strings.Join(s.args, "_")
	if s.when != "" {
		name += "/" + s.when
	}
	return name
}

// unix, udp and refused build steps.
func unix(args ...string) step { return step{args: args} }

func udp(args ...string) step { return step{args: args, via: viaUDP4} }

func refused(args ...string) step {
	return step{args: args, via: viaUDP4, fails: true, want: []string{"501 Not authorised"}}
}

// src is the upstream's address, the argument of the per-source commands.
const src = upstream4

// nowArg stands for the current local time in a step's arguments (the
// settime argument: a manual sample far from the true time would shift
// chronyd's idea of time for the rest of the run).
const nowArg = "<now>"

// withNow replaces nowArg in args by the current time as chronyc's
// settime takes it.
func withNow(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == nowArg {
			a = time.Now().Format("Jan 2, 2006 15:04:05")
		}
		out[i] = a
	}
	return out
}

// smallDistance is a local distance (1 µs) below any root distance.
const smallDistance = "0.000001"

// inBurst is chronyc's activity line of one source in a burst.
const inBurst = "1 sources doing burst (return to online)\n"

// monitoringSteps read the daemons' state without changing it; they run
// while both are synchronised to the upstream.
var monitoringSteps = []step{
	unix("tracking"),
	unix("sources"),
	unix("sources", "-v"),
	unix("sourcestats"),
	unix("sourcestats", "-v"),
	unix("selectdata"),
	unix("selectdata", "-v"),
	unix("ntpdata"),
	unix("ntpdata", src),
	{args: []string{"ntpdata", "198.51.100.9"}, fails: true, want: []string{"503 No such source"}},
	{args: []string{"activity"}, want: []string{"200 OK\n1 sources online\n0 sources offline\n"}},
	unix("serverstats"),
	unix("clients"),
	unix("authdata"),
	unix("authdata", "-v"),
	unix("sources", "-a", "-v"),
	unix("sourcestats", "-a"),
	unix("selectdata", "-a"),
	unix("authdata", "-a"),
	unix("clients", "-p", "1"),
	unix("clients", "-k"),
	{args: []string{"sourcename", src}, want: []string{src}},
	{args: []string{"sourcename", "198.51.100.9"}, fails: true, want: []string{"503 No such source"}},
	{args: []string{"rtcdata"}, fails: true, want: []string{"513 RTC driver not running"}},
	{args: []string{"smoothing"}, fails: true, want: []string{"505 Facility not enabled in daemon"}},
	{args: []string{"manual", "list"}, want: []string{"210 n_samples = 0"}},
	{args: []string{"waitsync", "1"}, want: []string{"refid: " + upstreamRefID}},
	{args: []string{"accheck", "198.51.100.9"}, want: []string{"208 Access allowed"}},
	// chronyd admits localhost apart from its cmdallow table, which
	// cmdaccheck consults alone.
	{args: []string{"cmdaccheck", "127.0.0.1"}, want: []string{"209 Access denied"}},
	{args: []string{"cmdaccheck", "198.51.100.9"}, want: []string{"209 Access denied"}},
	// The CSV forms scripts parse.
	unix("-c", "tracking"),
	unix("-c", "sources"),
	unix("-c", "sourcestats"),
	unix("-c", "selectdata"),
	unix("-c", "ntpdata", src),
	unix("-c", "activity"),
	unix("-c", "serverstats"),
	unix("-c", "authdata"),
	unix("-c", "manual", "list"),

	udp("tracking"),
	{args: []string{"tracking"}, via: viaUDP6},
	udp("sources"),
	{args: []string{"sources"}, via: viaUDP6},
	{args: []string{"-c", "sources"}, via: viaUDP4},
	udp("sources", "-v"),
	udp("sourcestats"),
	udp("activity"),
	udp("manual", "list"),
	{args: []string{"rtcdata"}, via: viaUDP4, fails: true, want: []string{"513 RTC driver not running"}},
	{args: []string{"smoothing"}, via: viaUDP4, fails: true, want: []string{"505 Facility not enabled in daemon"}},
	{args: []string{"sourcename", src}, via: viaUDP4, want: []string{src}},
	refused("serverstats"),
	refused("ntpdata"),
	refused("selectdata"),
	refused("clients"),
	refused("authdata"),
	refused("accheck", "198.51.100.9"),
	refused("cmdaccheck", "127.0.0.1"),
	refused("makestep"),
	refused("settime", nowArg),
	refused("manual", "on"),
	refused("local", "stratum", "5"),
	refused("add", "server", "198.51.100.9"),
	refused("delete", src),
	refused("offline"),
	refused("burst", "1/2"),
	refused("maxpoll", src, "3"),
	refused("allow", "203.0.113.0/24"),
	refused("cmdallow", "all"),
	refused("dump"),
	refused("reselect"),
	refused("reset", "sources"),
	refused("shutdown"),
	{args: []string{"shutdown"}, via: viaUDP6, fails: true, want: []string{"501 Not authorised"}},
	{args: []string{"serverstats"}, via: viaUDP6, fails: true, want: []string{"501 Not authorised"}},
	// Command clients show up in the client log once UDP was used.
	{args: []string{"clients"}, when: "after UDP commands"},
	{args: []string{"serverstats"}, when: "after UDP commands"},
}

// controlSteps change the daemons' state, leaving it as configured.
var controlSteps = []step{
	{args: []string{"settime", nowArg}, fails: true, want: []string{"505 Facility not enabled in daemon"}},
	{args: []string{"manual", "on"}, want: []string{"200 OK"}},
	{args: []string{"settime", nowArg}, want: []string{"Clock was"}, when: "manual on"},
	{args: []string{"manual", "list"}, want: []string{"210 n_samples = 1"}, when: "one sample"},
	{args: []string{"manual", "delete", "0"}, want: []string{"200 OK"}},
	{args: []string{"manual", "delete", "0"}, fails: true, want: []string{"516 Sample index out of range"}, when: "no sample"},
	{args: []string{"settime", nowArg}, want: []string{"Clock was"}, when: "again"},
	{args: []string{"manual", "reset"}, want: []string{"200 OK"}},
	{args: []string{"manual", "list"}, want: []string{"210 n_samples = 0"}, when: "after reset"},
	{args: []string{"manual", "off"}, want: []string{"200 OK"}},
	// Without clock control (-x) chronyd cannot step.
	{args: []string{"makestep"}, fails: true, want: []string{"500 Failure"}},
	{args: []string{"makestep", "0.1", "3"}, want: []string{"200 OK"}},
	{args: []string{"dfreq", "0.001"}, want: []string{"200 OK"}},
	{args: []string{"doffset", "0.0001"}, want: []string{"200 OK"}},
	{args: []string{"offset", src, "0"}, want: []string{"200 OK"}, since44: true},
	{args: []string{"maxdelay", src, "1"}, want: []string{"200 OK"}},
	{args: []string{"maxdelayratio", src, "100"}, want: []string{"200 OK"}},
	{args: []string{"maxdelaydevratio", src, "10"}, want: []string{"200 OK"}},
	{args: []string{"minpoll", src, "0"}, want: []string{"200 OK"}},
	{args: []string{"maxpoll", src, "2"}, want: []string{"200 OK"}},
	{args: []string{"polltarget", src, "8"}, want: []string{"200 OK"}},
	{args: []string{"minstratum", src, "1"}, want: []string{"200 OK"}},
	{args: []string{"maxpoll", "198.51.100.9", "2"}, fails: true, want: []string{"503 No such source"}},
	{args: []string{"maxupdateskew", "1000"}, want: []string{"200 OK"}},
	{args: []string{"selectopts", src, "+prefer"}, want: []string{"200 OK"}, since44: true},
	{args: []string{"offline", src}, want: []string{"200 OK"}},
	{args: []string{"activity"}, want: []string{"200 OK\n0 sources online\n1 sources offline\n"}, when: "offline"},
	{args: []string{"online", src}, want: []string{"200 OK"}},
	// Back online, an iburst source starts a burst.
	{args: []string{"activity"}, want: []string{"200 OK\n0 sources online\n0 sources offline\n" + inBurst}, when: "online"},
	{args: []string{"offline"}, want: []string{"200 OK"}},
	{args: []string{"online"}, want: []string{"200 OK"}},
	{args: []string{"onoffline"}, want: []string{"200 OK"}},
	{args: []string{"burst", "1/2"}, want: []string{"200 OK"}},
	{args: []string{"burst", "1/2", src + "/32"}, want: []string{"200 OK"}},
	{args: []string{"allow", "203.0.113.0/24"}, want: []string{"200 OK"}},
	{args: []string{"deny", "203.0.113.128/25"}, want: []string{"200 OK"}},
	{args: []string{"accheck", "203.0.113.5"}, want: []string{"208 Access allowed"}},
	{args: []string{"accheck", "203.0.113.200"}, want: []string{"209 Access denied"}},
	{args: []string{"deny", "all", "2001:db8:1::/48"}, want: []string{"200 OK"}},
	{args: []string{"allow", "2001:db8:1:1::/64"}, want: []string{"200 OK"}},
	{args: []string{"accheck", "2001:db8:1:1::5"}, want: []string{"208 Access allowed"}},
	{args: []string{"accheck", "2001:db8:1:2::5"}, want: []string{"209 Access denied"}},
	{args: []string{"allow", "all", "2001:db8:1::/48"}, want: []string{"200 OK"}},
	{args: []string{"accheck", "2001:db8:1:2::5"}, want: []string{"208 Access allowed"}},
	{args: []string{"cmdallow", "203.0.113.0/24"}, want: []string{"200 OK"}},
	{args: []string{"cmddeny", "203.0.113.0/25"}, want: []string{"200 OK"}},
	{args: []string{"cmdaccheck", "203.0.113.200"}, want: []string{"208 Access allowed"}},
	{args: []string{"cmdaccheck", "203.0.113.5"}, want: []string{"209 Access denied"}},
	{args: []string{"cmdallow", "all", "2001:db8:2::/48"}, want: []string{"200 OK"}},
	{args: []string{"cmddeny", "all", "2001:db8:2:1::/64"}, want: []string{"200 OK"}},
	{args: []string{"cmdaccheck", "2001:db8:2:1::5"}, want: []string{"209 Access denied"}},
	{args: []string{"cmdaccheck", "2001:db8:2:2::5"}, want: []string{"208 Access allowed"}},
	{args: []string{"cmdaccheck", "127.0.0.1"}, want: []string{"209 Access denied"}, when: "cmdallow changed"},
	{args: []string{"local", "off"}, want: []string{"200 OK"}},
	{args: []string{"local", "stratum", "10"}, want: []string{"200 OK"}},
	{args: []string{"reselectdist", "0.0001"}, want: []string{"200 OK"}},
	{args: []string{"reselect"}, want: []string{"200 OK"}},
	{args: []string{"refresh"}, want: []string{"200 OK"}},
	{args: []string{"reload", "sources"}, want: []string{"200 OK"}},
	{args: []string{"rekey"}, want: []string{"200 OK"}},
	{args: []string{"cyclelogs"}, want: []string{"200 OK"}},
	{args: []string{"dump"}, want: []string{"200 OK"}},
	{args: []string{"trimrtc"}, fails: true, want: []string{"513 RTC driver not running"}},
	{args: []string{"writertc"}, fails: true, want: []string{"513 RTC driver not running"}},
	{args: []string{"smoothtime", "reset"}, fails: true, want: []string{"505 Facility not enabled in daemon"}},
	{args: []string{"reset", "sources"}, want: []string{"200 OK"}},
	{args: []string{"sourcestats"}, when: "reset"},
	{args: []string{"delete", src}, want: []string{"200 OK"}},
	{args: []string{"delete", src}, fails: true, want: []string{"503 No such source"}, when: "deleted"},
	{args: []string{"sources"}, when: "deleted"},
	{args: []string{"activity"}, want: []string{"200 OK\n0 sources online\n0 sources offline\n"}, when: "deleted"},
	{args: []string{"add", "server", src, "iburst", "minpoll", "0", "maxpoll", "2"}, want: []string{"200 OK"}},
	{args: []string{"add", "server", src}, fails: true, want: []string{"511 Source already present"}},
	{args: []string{"activity"}, want: []string{"200 OK\n0 sources online\n0 sources offline\n" + inBurst}, when: "added"},
}

// fallbackSteps run once both daemons fell back to the local reference.
var fallbackSteps = []step{
	{args: []string{"tracking"}, want: []string{"Reference ID    : 7F7F0101 ()", "Stratum         : 10"}},
	unix("sources"),
	unix("selectdata"),
	udp("tracking"),
	// waitsync does not count the local reference as synchronised.
	{args: []string{"waitsync", "1"}, fails: true, want: []string{"refid: " + localRefID}},
	// Without the local reference chronyd reports its last reference
	// again; so it does after "local" with the default distance (1 s).
	{args: []string{"local", "off"}, want: []string{"200 OK"}},
	{args: []string{"tracking"}, want: []string{"Reference ID    : " + upstreamRefID + " (" + upstream4 + ")", "Stratum         : 2"},
		when: "local off"},
	{args: []string{"waitsync", "1"}, want: []string{"refid: " + upstreamRefID}, when: "local off"},
	{args: []string{"local", "stratum", "10"}, want: []string{"200 OK"}},
	{args: []string{"tracking"}, want: []string{"Reference ID    : " + upstreamRefID + " (" + upstream4 + ")", "Stratum         : 2"},
		when: "local distance 1"},
	{args: []string{"local", "stratum", "10", "distance", smallDistance}, want: []string{"200 OK"}},
	{args: []string{"tracking"}, want: []string{"Reference ID    : 7F7F0101 ()", "Stratum         : 10"}, when: "local distance small"},
}

// TestChronyc runs the stock chronyc against chronygo and a reference
// chronyd with the same configuration, command by command, and checks
// chronygo's values: the configured source, the stratum and reference ID
// synchronised and on the local reference. The steps share one fixture and
// run in order; the last one shuts both daemons down.
func TestChronyc(t *testing.T) {
	f := newFixture(t)
	is43 := strings.Contains(f.ref.chronyc(t, viaUnix, "-v").out, "version 4.3")

	t.Run("values/configured source listed", func(t *testing.T) {
		rows, err := readSources(t, f.sut)
		require.NoError(t, err)
		require.Len(t, rows, 1, "chronygo must list exactly the configured source; got %v", rows)
		assert.Equal(t, byte('^'), rows[0].mode, "source mode of %v", rows[0])
		assert.Equal(t, upstream4, rows[0].addr)
	})
	// The reference must synchronise for the differential to mean
	// anything; chronygo is checked for the same below.
	if rows, tr, ok, err := waitSynchronised(t, f.ref, 30*time.Second); !ok {
		t.Fatalf("the reference chronyd did not synchronise to %s within 30 s (sources %v, tracking %v, %v)", upstream4, rows, tr, err)
	}
	t.Run("values/synchronised", func(t *testing.T) { checkSynchronised(t, f, 30*time.Second) })
	// The initial burst (iburst) must be over on both for the activity
	// reports to agree.
	for _, d := range []*daemon{f.ref, f.sut} {
		if !poll(20*time.Second, func() bool {
			return !strings.Contains(d.chronyc(t, viaUnix, "activity").out, inBurst)
		}) {
			t.Errorf("%s still reports a burst 20 s after selecting its source", d.name)
		}
	}

	for _, s := range monitoringSteps {
		t.Run(s.name(), func(t *testing.T) { runStep(t, f, s, is43) })
	}
	for _, s := range controlSteps {
		t.Run(s.name(), func(t *testing.T) { runStep(t, f, s, is43) })
	}

	if rows, tr, ok, err := waitSynchronised(t, f.ref, 30*time.Second); !ok {
		t.Fatalf("the reference chronyd did not synchronise to %s again within 30 s after add server (sources %v, tracking %v, %v)",
			upstream4, rows, tr, err)
	}
	t.Run("values/synchronised after add server", func(t *testing.T) { checkSynchronised(t, f, 30*time.Second) })
	t.Run("values/dump files", func(t *testing.T) { checkDumpFiles(t, f) })

	f.upstream.stop()
	t.Run("values/upstream stopped", func(t *testing.T) { checkUpstreamStopped(t, f) })
	// chronyd activates the local reference only once the root distance
	// reaches the local directive's distance (1 s by default, hours away
	// here); a distance below any root distance activates it at once.
	t.Run("unix/local_stratum_10_distance", func(t *testing.T) {
		runStep(t, f, step{args: []string{"local", "stratum", "10", "distance", smallDistance}, want: []string{"200 OK"}}, is43)
	})
	t.Run("values/local reference", func(t *testing.T) { checkLocalReference(t, f, 30*time.Second) })
	for _, s := range fallbackSteps {
		t.Run("local/"+s.name(), func(t *testing.T) { runStep(t, f, s, is43) })
	}

	t.Run("unix/shutdown", func(t *testing.T) {
		runStep(t, f, step{args: []string{"shutdown"}, want: []string{"200 OK"}}, is43)
		for _, d := range []*daemon{f.ref, f.sut} {
			if assert.True(t, d.waitExit(5*time.Second), "%s still runs 5 s after chronyc shutdown", d.name) {
				assert.Equal(t, 0, d.cmd.ProcessState.ExitCode(), "exit status of %s after shutdown", d.name)
			}
		}
	})
}

// checkSynchronised waits for chronygo to select the upstream (^*) and
// report it in tracking, then checks the tracking report over the Unix
// socket and UDP: stratum 2 and the upstream's reference ID.
func checkSynchronised(t *testing.T, f *fixture, timeout time.Duration) {
	rows, tr, ok, err := waitSynchronised(t, f.sut, timeout)
	require.True(t, ok, "chronygo did not synchronise to the upstream (^* %s and its reference ID %s in tracking) within %v, "+
		"while the reference chronyd did; last sources: %v, tracking: %v, %v", upstream4, upstreamRefID, timeout, rows, tr, err)
	for _, via := range []transport{viaUnix, viaUDP4, viaUDP6} {
		// The same request to the reference keeps the daemons' client
		// logs alike (both log command clients over UDP).
		_, refErr := readTracking(t, f.ref, via)
		require.NoError(t, refErr)
		tr, err := readTracking(t, f.sut, via)
		require.NoError(t, err)
		assert.Equal(t, upstreamRefID, tr.refID, "chronygo's reference ID over %s (%v)", via, tr)
		assert.Equal(t, upstream4, tr.refName, "chronygo's reference over %s (%v)", via, tr)
		assert.Equal(t, 2, tr.stratum, "chronygo's stratum over %s (%v)", via, tr)
		assert.Equal(t, "Normal", tr.leap, "chronygo's leap status over %s (%v)", via, tr)
	}
}

// checkUpstreamStopped waits for both daemons to see the upstream
// unreachable and checks that chronygo, like chronyd with the default
// local distance, still reports the upstream as its reference.
func checkUpstreamStopped(t *testing.T, f *fixture) {
	for _, d := range []*daemon{f.ref, f.sut} {
		var rows []sourceRow
		var err error
		// Eight missed polls of at most 4 s (maxpoll 2) clear the
		// reachability register.
		ok := poll(45*time.Second, func() bool {
			rows, err = readSources(t, d)
			return err == nil && len(rows) == 1 && rows[0].reach == 0
		})
		require.True(t, ok, "%s did not see %s unreachable within 45 s of its stop: %v %v", d.name, upstream4, rows, err)
	}
	ref, err := readTracking(t, f.ref, viaUnix)
	require.NoError(t, err)
	require.Equal(t, upstreamRefID, ref.refID, "the reference chronyd keeps its reference while the root distance is small")
	sut, err := readTracking(t, f.sut, viaUnix)
	require.NoError(t, err)
	assert.Equal(t, ref.refID, sut.refID, "chronygo's reference ID with the upstream unreachable (chronyd: %v; chronygo: %v)", ref, sut)
	assert.Equal(t, ref.stratum, sut.stratum, "chronygo's stratum with the upstream unreachable (chronyd: %v; chronygo: %v)", ref, sut)
}

// checkLocalReference waits for both daemons to serve the local reference:
// stratum 10 with reference ID 7F7F0101.
func checkLocalReference(t *testing.T, f *fixture, timeout time.Duration) {
	var sut, ref tracking
	var sutErr, refErr error
	var sutAt, refAt time.Duration
	start := time.Now()
	poll(timeout, func() bool {
		if refAt == 0 {
			if ref, refErr = readTracking(t, f.ref, viaUnix); refErr == nil && onLocalReference(ref) {
				refAt = time.Since(start)
			}
		}
		if sutAt == 0 {
			if sut, sutErr = readTracking(t, f.sut, viaUnix); sutErr == nil && onLocalReference(sut) {
				sutAt = time.Since(start)
			}
		}
		return refAt != 0 && sutAt != 0
	})
	require.NotZero(t, refAt, "the reference chronyd did not switch to local stratum %d within %v: %v %v", localStratum, timeout, ref, refErr)
	assert.NotZero(t, sutAt, "chronygo did not switch to the local reference (stratum %d, reference ID %s) within %v, "+
		"while the reference chronyd did after %v; last tracking: %v %v", localStratum, localRefID, timeout, refAt, sut, sutErr)
	t.Logf("local reference active after %v (chronyd) and %v (chronygo)", refAt.Round(time.Millisecond), sutAt.Round(time.Millisecond))
	for _, via := range []transport{viaUDP4, viaUDP6} {
		tr, err := readTracking(t, f.sut, via)
		require.NoError(t, err)
		assert.True(t, onLocalReference(tr), "chronygo's tracking over %s: %v", via, tr)
	}
}

// checkDumpFiles runs chronyc dump against both daemons and compares the
// files they write into their dumpdir (one per source, named after it).
func checkDumpFiles(t *testing.T, f *fixture) {
	dumps := func(d *daemon) []string {
		r := d.chronyc(t, viaUnix, "dump")
		require.Equal(t, 0, r.code, "chronyc dump against %s: %s", d.name, r.out)
		names, err := filepath.Glob(filepath.Join(d.dir, "*.dat"))
		require.NoError(t, err)
		for i, n := range names {
			names[i] = filepath.Base(n)
		}
		return names
	}
	want := dumps(f.ref)
	entries, _ := os.ReadDir(f.ref.dir)
	require.Equal(t, []string{upstream4 + ".dat"}, want, "the reference chronyd's dump files (folder: %v)", entries)
	assert.Equal(t, want, dumps(f.sut), "chronygo's dump files after chronyc dump")
}

// runStep runs one step against both daemons and compares them.
func runStep(t *testing.T, f *fixture, s step, is43 bool) {
	t.Helper()
	if s.since44 && is43 {
		t.Skipf("chronyc 4.3 has no %q command", s.args[0])
	}
	ref := f.ref.chronyc(t, s.via, withNow(s.args)...)
	sut := f.sut.chronyc(t, s.via, withNow(s.args)...)
	wantCode := 0
	if s.fails {
		wantCode = 1
	}
	// The reference first: a surprise there is a wrong assumption of the
	// suite, not a difference of chronygo.
	require.Equal(t, wantCode, ref.code, "the reference chronyd's exit status; output:\n%s", ref.out)
	for _, w := range s.want {
		require.Contains(t, ref.out, w, "the reference chronyd's output")
	}
	assert.Equal(t, ref.code, sut.code, "chronygo's exit status; chronyd said:\n%s\nchronygo said:\n%s", ref.out, sut.out)
	for _, w := range s.want {
		assert.Contains(t, sut.out, w, "chronygo's output")
	}
	refLines := newMasker(f.ref.addr4, f.ref.addr6).output(ref.out)
	sutLines := newMasker(f.sut.addr4, f.sut.addr6).output(sut.out)
	assert.Equal(t, strings.Join(refLines, "\n"), strings.Join(sutLines, "\n"),
		"masked layout differs (- chronyd, + chronygo); raw outputs:\nchronyd:\n%s\nchronygo:\n%s", ref.out, sut.out)
}
