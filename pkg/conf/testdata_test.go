package conf

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testdataDir = "../../testdata/conf"

// readExpect reads testdata/conf/EXPECT: "NAME: ok" or "NAME: error text".
func readExpect(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(testdataDir, "EXPECT"))
	require.NoError(t, err)
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, want, ok := strings.Cut(line, ": ")
		require.True(t, ok, "bad EXPECT line %q", line)
		out[name] = want
	}
	require.NoError(t, sc.Err())
	return out
}

// TestTestdataExpectations loads every testdata/conf/*.conf and checks the
// result against EXPECT (chrony 4.8's decision and wording).
func TestTestdataExpectations(t *testing.T) {
	expect := readExpect(t)
	files, err := filepath.Glob(filepath.Join(testdataDir, "*.conf"))
	require.NoError(t, err)
	require.Len(t, files, len(expect), "every .conf file needs an EXPECT line and back")
	t.Chdir(testdataDir)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".conf")
		t.Run(name, func(t *testing.T) {
			want, ok := expect[name]
			require.True(t, ok, "no EXPECT line")
			cfg, err := Load(name+".conf", nil)
			if want == "ok" {
				require.NoError(t, err)
				require.NotNil(t, cfg)
				return
			}
			require.Error(t, err)
			assert.Equal(t, want, err.Error())
			var ce *Error
			assert.True(t, errors.As(err, &ce), "error is a *conf.Error")
		})
	}
}

// differsFrom43 lists the testdata files on which chronyd 4.3 (installed
// here) and chrony 4.8 decide differently, with the reason. The test checks
// that they really differ, so the list stays exact.
var differsFrom43 = map[string]string{
	// 4.7 added range checks on integer directives and options, and
	// parse_int refuses trailing text.
	"bad_dscp":                 "4.7 range check",
	"bad_minsources":           "4.7 range check",
	"bad_port_range":           "4.7 range check",
	"bad_sched_priority":       "4.7 range check",
	"bad_int_trailing":         "4.7 parses integers with strtol over the whole word",
	"bad_peer_port":            "4.7 range check of source port",
	"bad_pool_maxsources":      "4.7 range check of maxsources",
	"bad_server_maxpoll_range": "4.7 range check of maxpoll",
	"bad_server_minstratum":    "4.7 range check of minstratum",
	"bad_server_polltarget":    "4.7 range check of polltarget",
	"bad_server_version":       "4.7 range check of version",
	"bad_ratelimit_range":      "4.7 range check of ratelimit values",
	"bad_refclock_rate":        "4.7 range check of refclock rate",
	// Directives and options 4.3 lacks.
	"valid_driftfile_interval":  "driftfile interval option (4.7)",
	"valid_extfield_net":        "extfield F324 (4.5)",
	"valid_hwtimestamp_maxpoll": "hwtimestamp maxpoll option (4.4)",
	"valid_hwtstimeout":         "hwtstimeout directive (4.4)",
	"valid_ints":                "refresh directive (4.4)",
	"valid_leapseclist":         "leapseclist directive (4.6)",
	"valid_local_wait":          "local waitsynced/waitunsynced (4.7), activate (4.6)",
	"valid_maxunreach":          "maxunreach option (4.8)",
	"valid_ntsaeads":            "ntsaeads directive (4.6.1)",
	"valid_numbers":             "hwtstimeout directive (4.4)",
	"valid_opencommands":        "opencommands directive (4.7)",
	"valid_ptpdomain":           "ptpdomain directive (4.6)",
	"valid_ratelimit_kod":       "ratelimit kod option (4.6)",
	"valid_server_ipv4":         "ipv4/ipv6 source options (4.6)",
}

var fatalLine = regexp.MustCompile(`Fatal error : (.*)`)
var location = regexp.MustCompile(` at line \d+( in file .*)?$`)

// runChronydPrint runs the installed chronyd -p -f FILE in dir. With -p
// chronyd skips its superuser check, does not fork, reads the configuration,
// prints it and exits (strace shows it opens only the configuration files and
// creates no socket), so it needs neither root nor -u.
func runChronydPrint(t *testing.T, chronyd, dir, file string) (stdout string, fatal string, ok bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chronyd, "-p", "-f", file)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "chronyd -p timed out")
	if err == nil {
		return out.String(), "", true
	}
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "running chronyd: %v", err)
	if m := fatalLine.FindStringSubmatch(errOut.String()); m != nil {
		fatal = strings.TrimSpace(m[1])
	}
	return out.String(), fatal, false
}

// TestDifferentialChronyd runs each testdata file through the installed
// chronyd -p (4.3) and through Load: the accept/reject decision must agree
// except for the listed 4.8 changes; accepted files must print the same, and
// rejected files must fail at the same place.
func TestDifferentialChronyd(t *testing.T) {
	chronyd := "/usr/sbin/chronyd"
	if _, err := os.Stat(chronyd); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chronyd is required in CI: %v", err)
		}
		t.Skipf("chronyd not installed: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(testdataDir, "*.conf"))
	require.NoError(t, err)
	files = append(files, filepath.Join(testdataDir, "..", "chrony.conf"))
	sort.Strings(files)
	dir, err := filepath.Abs(testdataDir)
	require.NoError(t, err)
	t.Chdir(dir)
	for _, f := range files {
		rel, err := filepath.Rel(testdataDir, f)
		require.NoError(t, err)
		name := strings.TrimSuffix(filepath.Base(f), ".conf")
		t.Run(name, func(t *testing.T) {
			stdout, fatal, ok := runChronydPrint(t, chronyd, dir, rel)
			cfg, err := Load(rel, nil)
			if reason, listed := differsFrom43[name]; listed {
				assert.NotEqual(t, ok, err == nil, "listed as differing from 4.3 (%s) but both agree", reason)
				return
			}
			require.Equal(t, ok, err == nil, "chronyd 4.3: ok=%v %q; Load: %v", ok, fatal, err)
			if ok {
				var b bytes.Buffer
				cfg.Print(&b)
				assert.Equal(t, stdout, b.String(), "printed configuration")
				return
			}
			assert.Equal(t, location.FindString(fatal), location.FindString(err.Error()),
				"error location; chronyd: %q, Load: %q", fatal, err)
		})
	}
}
