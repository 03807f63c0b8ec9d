package chronycdiff

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chronygo/chronygo/internal/testutil"
)

// sourceRow is one line of "chronyc -c sources".
type sourceRow struct {
	// mode is '^' (server), '=' (peer) or '#' (reference clock).
	mode byte
	// state is '*', '+', '-', '?', 'x' or '~'.
	state byte
	addr  string
	reach uint64
}

func (s sourceRow) String() string {
	return fmt.Sprintf("%c%c %s reach %o", s.mode, s.state, s.addr, s.reach)
}

// readSources returns a daemon's sources as chronyc lists them.
func readSources(t *testing.T, d *daemon) ([]sourceRow, error) {
	t.Helper()
	r := d.chronyc(t, viaUnix, "-c", "sources")
	if r.code != 0 {
		return nil, fmt.Errorf("chronyc -c sources against %s: exit %d: %s", d.name, r.code, r.out)
	}
	var rows []sourceRow
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 7 || len(f[0]) != 1 || len(f[1]) != 1 {
			return nil, fmt.Errorf("%s: unexpected chronyc -c sources line %q", d.name, line)
		}
		reach, err := strconv.ParseUint(f[5], 8, 8)
		if err != nil {
			return nil, fmt.Errorf("%s: unexpected reach in chronyc -c sources line %q", d.name, line)
		}
		rows = append(rows, sourceRow{mode: f[0][0], state: f[1][0], addr: f[2], reach: reach})
	}
	return rows, nil
}

// tracking is the part of "chronyc -c tracking" the values are checked on.
type tracking struct {
	refID   string
	refName string
	stratum int
	leap    string
}

func (tr tracking) String() string {
	return fmt.Sprintf("reference ID %s (%s), stratum %d, leap %s", tr.refID, tr.refName, tr.stratum, tr.leap)
}

// readTracking returns a daemon's tracking report over the given transport.
func readTracking(t *testing.T, d *daemon, via transport) (tracking, error) {
	t.Helper()
	r := d.chronyc(t, via, "-c", "tracking")
	if r.code != 0 {
		return tracking{}, fmt.Errorf("chronyc -c tracking against %s over %s: exit %d: %s", d.name, via, r.code, r.out)
	}
	f := strings.Split(strings.TrimSpace(r.out), ",")
	if len(f) < 14 {
		return tracking{}, fmt.Errorf("%s: unexpected chronyc -c tracking output %q", d.name, r.out)
	}
	stratum, err := strconv.Atoi(f[2])
	if err != nil {
		return tracking{}, fmt.Errorf("%s: unexpected stratum in chronyc -c tracking output %q", d.name, r.out)
	}
	return tracking{refID: f[0], refName: f[1], stratum: stratum, leap: f[13]}, nil
}

// selectsUpstream tells whether the daemon lists exactly the configured
// upstream and has selected it ("^*").
func selectsUpstream(rows []sourceRow) bool {
	return len(rows) == 1 && rows[0].mode == '^' && rows[0].state == '*' && rows[0].addr == upstream4
}

// waitSynchronised polls (at most timeout) until the daemon has selected
// the upstream and its tracking report names it: for a moment after the
// first selection chronyd (and so chronygo) still reports the local
// reference. It returns what it saw last and whether it happened.
func waitSynchronised(t *testing.T, d *daemon, timeout time.Duration) ([]sourceRow, tracking, bool, error) {
	t.Helper()
	var rows []sourceRow
	var tr tracking
	var err error
	ok := poll(timeout, func() bool {
		if rows, err = readSources(t, d); err != nil || !selectsUpstream(rows) {
			return false
		}
		tr, err = readTracking(t, d, viaUnix)
		return err == nil && tr.refID == upstreamRefID
	})
	return rows, tr, ok, err
}

// onLocalReference tells whether a tracking report is chronyd's local
// reference at the configured stratum.
func onLocalReference(tr tracking) bool {
	return tr.refID == localRefID && tr.stratum == localStratum
}

// poll calls cond until it holds or timeout passes, pausing 100 ms between
// calls (each call runs chronyc, which already takes a few milliseconds).
func poll(timeout time.Duration, cond func() bool) bool {
	return testutil.WaitEvery(timeout, 100*time.Millisecond, cond)
}
