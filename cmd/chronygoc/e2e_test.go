package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/testutil"
)

// Stock clients compared with chronygoc. chronyc 4.8 is optional: a local
// build of it may be given in CHRONYC48 (default /tmp/cm-chrony48/chronyc).
const chronyc43 = "/usr/bin/chronyc"

func chronyc48() string {
	if p := os.Getenv("CHRONYC48"); p != "" {
		return p
	}
	return "/tmp/cm-chrony48/chronyc"
}

// daemon is a running chronyd or chronygo with a private socket folder.
type daemon struct {
	socket  string
	cmdPort int
}

// startDaemon runs bin (chronyd or chronygo) in the foreground without
// touching the clock, as root, with its own pid file and command socket
// in a fresh 0700 folder, a local reference and the given directives
// (by default: no NTP port and a loopback source that never answers).
// It is killed at cleanup.
func startDaemon(t *testing.T, bin string, directives ...string) daemon {
	t.Helper()
	dir := testutil.PrivateDir(t)
	d := daemon{socket: filepath.Join(dir, "chronyd.sock"), cmdPort: testutil.FreeUDPPort(t, "127.0.0.1")}
	conf := strings.Join([]string{
		"pidfile " + filepath.Join(dir, "chronyd.pid"),
		"bindcmdaddress " + d.socket,
		"bindcmdaddress 127.0.0.1",
		fmt.Sprintf("cmdport %d", d.cmdPort),
		"driftfile " + filepath.Join(dir, "drift"),
		"local stratum 10",
	}, "\n") + "\n"
	if len(directives) == 0 {
		directives = []string{"port 0", "server 127.0.0.1 port 1 iburst"}
	}
	conf += strings.Join(directives, "\n") + "\n"
	path := filepath.Join(dir, "chrony.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	log := &testutil.SyncBuffer{}
	cmd := exec.Command(bin, "-d", "-x", "-u", "root", "-f", path)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	if !testutil.WaitFor(10*time.Second, func() bool { return testutil.FileExists(d.socket) }) {
		t.Fatalf("%s did not open %s within 10 s; log:\n%s", bin, d.socket, log.String())
	}
	return d
}

// result is what a client printed and its exit status.
type result struct {
	stdout, stderr string
	status         int
}

func run(t *testing.T, bin string, args ...string) result {
	t.Helper()
	return runWithInput(t, "", bin, args...)
}

func runWithInput(t *testing.T, input, bin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(input)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	status := 0
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", bin, err)
	}
	return result{out.String(), errb.String(), status}
}

// volatileLine matches the report lines whose numbers change between two
// calls (clock estimates, times, counters of the requests themselves).
var volatileLine = regexp.MustCompile(`^(Ref time|System time|Last offset|RMS offset|Frequency|` +
	`Residual freq|Skew|Root delay|Root dispersion|Update interval|Command packets received|` +
	`Reference time|Total TX|Total kernel TX|Offset|Peer delay|Peer dispersion|Response time)`)

var digits = regexp.MustCompile(`[0-9]+`)

// mask replaces with '#' the numbers of volatile text lines, of the CSV
// records of reports holding such values, and of the clients rows (whose
// counters include the requests of the comparison itself).
func mask(s string, csvMode bool, args []string) string {
	cmd := ""
	for _, a := range args {
		if !strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "/") && !strings.Contains(a, ".") {
			cmd = a
			break
		}
	}
	maskAll := cmd == "clients" || (csvMode && (cmd == "tracking" || cmd == "serverstats" || cmd == "ntpdata"))
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if maskAll || volatileLine.MatchString(l) {
			lines[i] = digits.ReplaceAllString(l, "#")
		}
	}
	return strings.Join(lines, "\n")
}

// reportCommands are compared with both chronyc versions; versioned ones
// only with the chronyc of the daemon's generation.
var reportCommands = []string{"tracking", "sources", "sources -v", "sources -a", "sourcestats",
	"sourcestats -v", "selectdata", "selectdata -v", "activity", "smoothing", "rtcdata", "manual list",
	"clients", "clients -k", "authdata", "authdata -v", "sourcename 127.0.0.1", "accheck 127.0.0.1",
	"cmdaccheck 127.0.0.1", "ntpdata 198.51.100.1", "minpoll x", "bogus", "manual delete 99"}

// compare runs the stock client and chronygoc with the same arguments and
// checks that they print the same after masking. Values of a live daemon
// may change between the two calls (a new sample arrives), so a mismatch
// is retried a few times before it counts.
func compare(t *testing.T, ref, ours string, args ...string) {
	t.Helper()
	csvMode := args[0] == "-c"
	var want, got result
	for range 3 {
		want, got = run(t, ref, args...), run(t, ours, args...)
		if mask(want.stdout, csvMode, args) == mask(got.stdout, csvMode, args) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.Equal(t, mask(want.stdout, csvMode, args), mask(got.stdout, csvMode, args), "stdout of %v (%s)", args, ref)
	assert.Equal(t, want.stderr, got.stderr, "stderr of %v (%s)", args, ref)
	assert.Equal(t, want.status, got.status, "exit status of %v (%s)", args, ref)
}

// goldenAgainst compares chronygoc with the stock clients on one daemon.
func goldenAgainst(t *testing.T, ours string, d daemon, versioned []string, refForVersioned string) {
	refs := []string{chronyc43}
	if _, err := os.Stat(chronyc48()); err == nil {
		refs = append(refs, chronyc48())
	} else {
		t.Logf("no chronyc 4.8 at %s: comparing with chronyc 4.3 only", chronyc48())
	}
	for _, flags := range [][]string{{}, {"-c"}, {"-n"}, {"-N"}} {
		for _, c := range reportCommands {
			args := append(append([]string{"-h", d.socket}, flags...), strings.Fields(c)...)
			if len(flags) > 0 {
				args = append(flags, append([]string{"-h", d.socket}, strings.Fields(c)...)...)
			}
			for _, ref := range refs {
				compare(t, ref, ours, args...)
			}
		}
		for _, c := range versioned {
			if _, err := os.Stat(refForVersioned); err != nil {
				continue
			}
			args := append(append(append([]string{}, flags...), "-h", d.socket), strings.Fields(c)...)
			compare(t, refForVersioned, ours, args...)
		}
	}
	if len(refs) > 1 {
		compare(t, chronyc48(), ours, "-h", d.socket, "help")
	}
}

func checkCSVAndJSON(t *testing.T, ours string, d daemon) {
	for _, c := range []string{"tracking", "sources", "sourcestats", "selectdata", "activity", "serverstats", "authdata", "ntpdata"} {
		got := run(t, ours, "-c", "-h", d.socket, c)
		require.Equal(t, 0, got.status, c)
		recs, err := csv.NewReader(strings.NewReader(got.stdout)).ReadAll()
		require.NoError(t, err, "CSV of %s", c)
		require.NotEmpty(t, recs, c)
	}
	fields := map[string][]string{
		"tracking":    {"ref_id", "stratum", "ref_time", "system_time_offset", "frequency", "leap_status"},
		"sources":     {"name", "address", "mode", "state", "reachability", "adjusted_offset", "error"},
		"sourcestats": {"samples", "span", "frequency", "offset", "std_dev"},
		"selectdata":  {"state", "score", "low_limit", "high_limit"},
		"activity":    {"online", "offline", "unresolved"},
		"serverstats": {"ntp_hits", "cmd_hits"},
		"ntpdata":     {"remote_address", "poll", "total_tx"},
		"authdata":    {"mode", "key_id"},
	}
	for c, keys := range fields {
		got := run(t, ours, "-o", "json", "-h", d.socket, c)
		require.Equal(t, 0, got.status, c)
		var v any
		require.NoError(t, json.Unmarshal([]byte(got.stdout), &v), "JSON of %s: %s", c, got.stdout)
		obj, ok := v.(map[string]any)
		if list, isList := v.([]any); isList {
			require.NotEmpty(t, list, c)
			obj, ok = list[0].(map[string]any)
		}
		require.True(t, ok, "%s: %s", c, got.stdout)
		for _, k := range keys {
			assert.Contains(t, obj, k, "field %s of %s", k, c)
		}
	}
}

// checkErrorPaths compares the failure messages and exit statuses.
func checkErrorPaths(t *testing.T, ours string, d daemon) {
	port := fmt.Sprint(d.cmdPort)
	// Over UDP monitoring commands are answered, others refused.
	compare(t, chronyc43, ours, "-h", "127.0.0.1", "-p", port, "tracking")
	compare(t, chronyc43, ours, "-n", "-h", "127.0.0.1", "-p", port, "sources")
	compare(t, chronyc43, ours, "-h", "127.0.0.1", "-p", port, "rekey")
	// No daemon behind the socket or the port.
	missing := filepath.Join(t.TempDir(), "none.sock")
	compare(t, chronyc43, ours, "-h", missing, "tracking")
	closed := fmt.Sprint(testutil.FreeUDPPort(t, "127.0.0.1"))
	compare(t, chronyc43, ours, "-h", "127.0.0.1", "-p", closed, "tracking")
	// Bad arguments and -m stopping at the first failure.
	compare(t, chronyc43, ours, "-h", d.socket, "burst", "x")
	compare(t, chronyc43, ours, "-h", d.socket, "-m", "activity", "bogus", "activity")
	// Interactive mode reads commands from standard input (no prompt
	// without a terminal) until quit.
	input := "activity\n\n# comment\nbogus\nsources\nquit\ntracking\n"
	want, gotIn := runWithInput(t, input, chronyc43, "-h", d.socket), runWithInput(t, input, ours, "-h", d.socket)
	assert.Equal(t, want, gotIn, "interactive session")
	got := run(t, ours, "-x")
	assert.Equal(t, 1, got.status)
	assert.Contains(t, got.stderr, "invalid option -- 'x'")
}

func TestGoldenAgainstChronyd(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "chronyd")
	testutil.RequireTool(t, "chronyc")
	ours, err := testutil.BuildCommand(t.TempDir(), "./cmd/chronygoc")
	require.NoError(t, err)
	d := startDaemon(t, "/usr/sbin/chronyd")
	goldenAgainst(t, ours, d, []string{"serverstats", "ntpdata"}, chronyc43)
	checkCSVAndJSON(t, ours, d)
	checkErrorPaths(t, ours, d)
}

// TestGoldenWithSamples compares the reports of a chronyd that has real
// measurements: it polls a second chronyd serving time on loopback.
func TestGoldenWithSamples(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "chronyd")
	testutil.RequireTool(t, "chronyc")
	ours, err := testutil.BuildCommand(t.TempDir(), "./cmd/chronygoc")
	require.NoError(t, err)
	ntpPort := testutil.FreeUDPPort(t, "127.0.0.1")
	startDaemon(t, "/usr/sbin/chronyd", fmt.Sprintf("port %d", ntpPort), "bindaddress 127.0.0.1",
		"allow 127.0.0.1")
	d := startDaemon(t, "/usr/sbin/chronyd", "port 0",
		fmt.Sprintf("server 127.0.0.1 port %d iburst minpoll -1 maxpoll -1", ntpPort))
	synced := testutil.WaitFor(20*time.Second, func() bool {
		return strings.Contains(run(t, chronyc43, "-n", "-h", d.socket, "sourcestats").stdout, "127.0.0.1")
	}) && testutil.WaitFor(20*time.Second, func() bool {
		return strings.HasPrefix(strings.Split(run(t, chronyc43, "-n", "-h", d.socket, "sources").stdout, "\n")[2], "^*")
	})
	require.True(t, synced, "the client chronyd did not select its loopback server:\n%s",
		run(t, chronyc43, "-n", "-h", d.socket, "sources").stdout)
	for _, c := range []string{"sources", "sources -v", "sourcestats", "selectdata", "ntpdata", "tracking", "clients"} {
		for _, flags := range [][]string{{"-n"}, {"-c"}} {
			compare(t, chronyc43, ours, append(append(flags, "-h", d.socket), strings.Fields(c)...)...)
		}
	}
}

func TestGoldenAgainstChronygo(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "chronyc")
	dir := t.TempDir()
	ours, err := testutil.BuildCommand(dir, "./cmd/chronygoc")
	require.NoError(t, err)
	daemonBin, err := testutil.BuildChronygo(dir)
	if err != nil {
		testutil.SkipOrFail(t, "chronygo does not build yet: %v", err)
	}
	d := startDaemon(t, daemonBin)
	goldenAgainst(t, ours, d, []string{"serverstats", "ntpdata"}, chronyc48())
	checkCSVAndJSON(t, ours, d)
	checkErrorPaths(t, ours, d)
}
