//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/testutil"
)

// Time limits of the scenario's phases. chronyd reaches each state well
// within them with the fast polling (2 s to 4 s); chronygo is further held
// to chronyd's own timing by timelyAs.
const (
	syncLimit        = 60 * time.Second
	replacementLimit = 150 * time.Second
	// stopUpdateLimit is long because chronyd keeps selecting an
	// unreachable source while its last sample is not older than the
	// oldest sample of a reachable one (here the twin), which takes a few
	// minutes to roll over.
	stopUpdateLimit = 360 * time.Second
	fallbackWindow  = 20 * time.Second
	recoveryLimit   = 120 * time.Second
	twinLimit       = 90 * time.Second
	// suiteBudget is the longest the whole scenario may take when chronygo
	// fails every step (typically it takes about 8 minutes).
	suiteBudget = 14 * time.Minute
)

// TestDeployment runs the deployment (testdata/chrony.conf, fast copy) on
// two chronyd twins and two chronygo twins side by side in one test
// network and walks them through the same events: start, loss of one
// pool's upstreams, loss of every upstream and of DNS, recovery, loss and
// return of a twin. Interoperability checks (chronygo and chronyd as each
// other's client and peer) share the network. Each assertion is its own
// subtest; the chronyd twins' subtests check the suite itself and give
// the timings chronygo is held to.
func TestDeployment(t *testing.T) {
	if deadline, ok := t.Deadline(); ok && time.Until(deadline) < suiteBudget {
		testutil.SkipOrFail(t, "the suite needs up to %v: run it with -timeout 15m or more (make test does)", suiteBudget)
	}
	f := newFixture(t)
	ix := newInterop(t, f)
	loops := &loopWatch{}
	stopWatch := loops.start(f)
	t.Cleanup(func() { stopWatch() })

	started := waitServers(f, f.servers, syncLimit, synchronised)
	t.Run("start", func(t *testing.T) {
		perServer(t, f, "synchronised", func(t *testing.T, s *twin) {
			timelyAs(t, f, started, s, "stratum 2 with a selected source")
		})
		perServer(t, f, "sources", func(t *testing.T, s *twin) { checkSources(t, f, s) })
		perServer(t, f, "tracking", func(t *testing.T, s *twin) { checkTracking(t, f, s) })
		perServer(t, f, "sourcestats", func(t *testing.T, s *twin) { checkSourcestats(t, s) })
		t.Run("clients", func(t *testing.T) {
			for _, s := range f.servers {
				t.Run(s.label, func(t *testing.T) {
					t.Parallel()
					checkClients(t, f, s)
				})
			}
		})
		t.Run("report", func(t *testing.T) {
			for _, s := range f.servers {
				logReport(t, s.d)
			}
		})
	})
	t.Run("interop", func(t *testing.T) { ix.check(t) })
	ix.stop()

	t.Run("pool-upstreams-stopped", func(t *testing.T) { poolFailure(t, f) })
	t.Run("all-upstreams-and-dns-stopped", func(t *testing.T) { allLost(t, f, loops) })
	t.Run("upstreams-restarted", func(t *testing.T) { recovery(t, f) })
	t.Run("twin-killed-and-restarted", func(t *testing.T) { twinLoss(t, f) })
	stopWatch()
	t.Run("no-sync-loop-whole-run", func(t *testing.T) { checkNoLoop(t, loops) })
}

// checkNoLoop asserts, per implementation, that the twins were never seen
// synchronised to each other.
func checkNoLoop(t *testing.T, loops *loopWatch) {
	for _, impl := range []implementation{chronyd, chronygo} {
		t.Run(string(impl), func(t *testing.T) {
			assert.Empty(t, loops.found(impl), "%s twins synchronised to each other in a loop", impl)
		})
	}
}

// perServer runs check as the subtest name/<server label> for each server.
func perServer(t *testing.T, f *fixture, name string, check func(t *testing.T, s *twin)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		for _, s := range f.servers {
			t.Run(s.label, func(t *testing.T) { check(t, s) })
		}
	})
}

// timelyAs asserts that s reached the state (what) within the phase's
// limit and, for chronygo, not much later than the chronyd twin in the
// same role: at most twice chronyd's time plus 10 s.
func timelyAs(t *testing.T, f *fixture, res map[*twin]outcome, s *twin, what string) {
	t.Helper()
	o := res[s]
	require.NoError(t, o.err, "%s: never reached %s (waited %v)", s.d.name, what, o.took.Round(time.Second))
	t.Logf("%s: %s after %v", s.d.name, what, o.took.Round(time.Second))
	if s.impl != chronygo {
		return
	}
	ref := res[f.counterpart(s)]
	if ref.err != nil {
		t.Logf("chronyd in the same role never reached it (%v): no timing to compare", ref.err)
		return
	}
	assert.LessOrEqual(t, o.took, 2*ref.took+10*time.Second,
		"%s: reached %s after %v, chronyd after %v", s.d.name, what, o.took.Round(time.Second), ref.took.Round(time.Second))
}

// checkSources asserts that chronyc sources lists six '^' sources, two per
// pool, and the twin as the one '=' peer, with exactly one '*'.
func checkSources(t *testing.T, f *fixture, s *twin) {
	rows, err := readSources(s.d)
	require.NoError(t, err)
	perPool := map[string]int{}
	var servers, peers int
	for _, r := range rows {
		switch r.mode {
		case '^':
			servers++
			name, ok := f.poolOf[r.addr]
			if assert.True(t, ok, "%s: source %s is not an address of any pool", s.d.name, r.addr) {
				perPool[name]++
			}
		case '=':
			peers++
			assert.Equal(t, s.peer.h.v4.String(), r.addr, "%s: the '=' source should be the twin", s.d.name)
		default:
			t.Errorf("%s: unexpected source mode in %v", s.d.name, r)
		}
	}
	assert.Equal(t, 6, servers, "%s: want six '^' pool sources, got %v", s.d.name, rows)
	assert.Equal(t, 1, peers, "%s: want one '=' peer (the twin), got %v", s.d.name, rows)
	for _, p := range f.pools {
		assert.Equal(t, 2, perPool[p.name], "%s: want two sources from pool %s (maxsources 2), got %v", s.d.name, p.name, rows)
	}
	assert.Equal(t, 1, countState(rows, '*'), "%s: want exactly one '*' source, got %v", s.d.name, rows)
}

// checkTracking asserts stratum 2 and a reference ID of an upstream.
func checkTracking(t *testing.T, f *fixture, s *twin) {
	tr, err := readTracking(s.d)
	require.NoError(t, err)
	assert.Equal(t, 2, tr.stratum, "%s: tracking %v", s.d.name, tr)
	assert.True(t, f.upstreamAddr[tr.refAddr], "%s: tracking %v: the reference is not an upstream", s.d.name, tr)
	assert.Equal(t, refIDOf(tr.refAddr), tr.refID, "%s: tracking %v: wrong reference ID for the address", s.d.name, tr)
}

// checkSourcestats asserts that sourcestats has a row per source.
func checkSourcestats(t *testing.T, s *twin) {
	rows, err := readSources(s.d)
	require.NoError(t, err)
	stats, err := readSourcestats(s.d)
	require.NoError(t, err)
	var want []string
	for _, r := range rows {
		want = append(want, r.addr)
	}
	var got []string
	for name := range stats {
		got = append(got, name)
	}
	assert.ElementsMatch(t, want, got, "%s: sourcestats rows do not match the sources %v", s.d.name, rows)
	assert.NotEmpty(t, got, "%s: sourcestats is empty", s.d.name)
}

// checkClients asserts that the allowed client gets stratum-2 answers from
// s over IPv4 and IPv6 with sntp, ntpdate -q and chronyd -Q, and that the
// client outside the allowed subnets gets none.
func checkClients(t *testing.T, f *fixture, s *twin) {
	for _, addr := range s.h.addrs() {
		for _, c := range []ntpClient{sntpClient(), ntpdateClient()} {
			stratum, out, err := c.query(f.inside, addr)
			if assert.NoError(t, err, "%s from the allowed client to %s (%s): %s", c.name, addr, s.d.name, out) {
				assert.Equal(t, 2, stratum, "%s from the allowed client to %s (%s): %s", c.name, addr, s.d.name, out)
			}
		}
		out, err := chronydMeasure(f.inside, f.clientDir, addr)
		assert.NoError(t, err, "chronyd -Q from the allowed client to %s (%s): %s", addr, s.d.name, out)
	}
	outside := []string{outsideAddr(s.h, 4), outsideAddr(s.h, 6)}
	for _, addr := range outside {
		stratum, out, err := sntpClient().query(f.outside, addr)
		assert.Error(t, err, "sntp from %s to %s (%s) got an answer (stratum %d) though the subnet is not allowed: %s",
			f.outside.role, addr, s.d.name, stratum, out)
	}
}

// outsideAddr returns h's address of the given family.
func outsideAddr(h *host, family int) string {
	if family == 4 {
		return h.v4.String()
	}
	return h.v6.String()
}

// logReport captures chronyc sources -v, sourcestats and tracking of d
// into the test log.
func logReport(t *testing.T, d *daemon) {
	t.Helper()
	for _, args := range [][]string{{"-n", "sources", "-v"}, {"-n", "sourcestats"}, {"-n", "tracking"}} {
		out, err := chronyc(d, args...)
		t.Logf("%s: chronyc %s:\n%s%s", d.name, strings.Join(args, " "), out, errOrEmpty(err))
	}
}

// errOrEmpty formats a possible error for a log line.
func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf("(error: %v)\n", err)
}

// poolFailure stops the first pool's two upstreams and withdraws them from
// DNS (which then gives the pool's spare addresses): every server must
// replace the lost sources from the pool and stay synchronised.
func poolFailure(t *testing.T, f *fixture) {
	p := f.pools[0]
	for _, u := range p.primaries {
		f.upstreams[u].stop()
	}
	f.dns.stop()
	setDNSRecords(f.dns, f.dnsRecords(p.name))
	f.dns.start(t)

	var mu sync.Mutex
	lost := map[*twin][]string{}
	res := waitServers(f, f.servers, replacementLimit, func(s *twin) error {
		if tr, err := readTracking(s.d); err == nil && tr.stratum != 2 {
			mu.Lock()
			lost[s] = append(lost[s], tr.String())
			mu.Unlock()
		}
		rows, err := readSources(s.d)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.mode == '^' && slices.Contains(p.spares(), r.addr) && r.reach != 0 {
				return synchronised(s)
			}
		}
		return fmt.Errorf("no source of %s replaced with a spare address %v: %v", p.name, p.spares(), rows)
	})
	perServer(t, f, "replaced-from-pool", func(t *testing.T, s *twin) {
		timelyAs(t, f, res, s, "a lost "+p.name+" source replaced with a live spare, synchronised")
		t.Logf("%s log:\n%s", s.d.name, grepLog(s.d, "replaced", "Selected source", "Can't synchronise"))
	})
	perServer(t, f, "kept-stratum-2", func(t *testing.T, s *twin) {
		// chronyd keeps stratum 2 throughout: four stratum-1 sources remain
		// (and it even keeps the unreachable ones selectable for a while).
		assert.Empty(t, lost[s], "%s: left stratum 2 while %s's upstreams were down and four stratum-1 sources remained", s.d.name, p.name)
	})
}

// allLost stops every upstream and the DNS server. Each server keeps only
// its twin as a selectable source, fewer than minsources 2: it must stop
// updating its clock as chronyd does, keep serving the allowed clients
// with the same stratum chronyd serves, and the twins must never
// synchronise to each other in a loop.
func allLost(t *testing.T, f *fixture, loops *loopWatch) {
	for _, u := range f.upstreams {
		u.stop()
	}
	f.dns.stop()

	lastRef := map[*twin]float64{}
	changed := map[*twin]time.Time{}
	var mu sync.Mutex
	res := waitServers(f, f.servers, stopUpdateLimit, func(s *twin) error {
		tr, err := readTracking(s.d)
		if err != nil {
			return err
		}
		mu.Lock()
		if tr.refTime != lastRef[s] {
			lastRef[s], changed[s] = tr.refTime, time.Now()
		}
		since := time.Since(changed[s])
		mu.Unlock()
		rows, err := readSources(s.d)
		if err != nil {
			return err
		}
		if n := countState(rows, '*'); n != 0 {
			return fmt.Errorf("still %d source(s) selected: %v", n, rows)
		}
		if since < 12*time.Second {
			return fmt.Errorf("clock updated %v ago (tracking %v)", since.Round(time.Second), tr)
		}
		return nil
	})
	perServer(t, f, "stops-updating", func(t *testing.T, s *twin) {
		timelyAs(t, f, res, s, "no selected source and no clock update for 12 s")
	})
	perServer(t, f, "logs-cant-synchronise", func(t *testing.T, s *twin) {
		// chronyd 4.3 does not always log it (the selection can end
		// without a selected source to unselect): chronygo must log it
		// whenever the chronyd twin in the same role did.
		const msg = "Can't synchronise"
		if s.impl != chronygo {
			t.Logf("%s logged %q: %v", s.d.name, msg, strings.Contains(s.d.log.String(), msg))
			return
		}
		if !strings.Contains(f.counterpart(s).d.log.String(), msg) {
			t.Skipf("chronyd in the same role did not log %q this time", msg)
		}
		assert.Contains(t, s.d.log.String(), msg, "%s: no %q message in the log, chronyd logged one", s.d.name, msg)
	})

	served := map[*twin][]int{}
	deadline := time.Now().Add(fallbackWindow)
	for time.Now().Before(deadline) {
		for _, s := range f.servers {
			stratum, out, err := sntpClient().query(f.inside, s.h.v4.String())
			if err != nil {
				stratum = -1
				t.Logf("%s: no answer: %v: %s", s.d.name, err, out)
			}
			served[s] = append(served[s], stratum)
		}
		time.Sleep(2 * time.Second)
	}
	t.Logf("strata served to the allowed client: %s", formatServed(f, served))
	perServer(t, f, "keeps-serving", func(t *testing.T, s *twin) {
		assert.NotContains(t, served[s], -1, "%s: the allowed client got no answer at times: %v", s.d.name, served[s])
	})
	perServer(t, f, "serves-as-chronyd", func(t *testing.T, s *twin) {
		if s.impl != chronygo {
			t.Skipf("%s is the reference", s.d.name)
		}
		ref := f.counterpart(s)
		require.NotEmpty(t, served[ref])
		extra := slices.DeleteFunc(slices.Clone(served[s]), func(st int) bool { return slices.Contains(served[ref], st) })
		assert.Empty(t, extra, "%s served strata %v; chronyd in the same role served %v", s.d.name, served[s], served[ref])
	})
	perServer(t, f, "local-or-twin-stratum", func(t *testing.T, s *twin) {
		// The issue expects stratum 10 (local reference) or 11 (synchronised
		// to the twin), as "the same outcome chronyd reaches". It is checked
		// whenever the chronyd twin in the same role shows it; otherwise
		// chronyd itself disproves it and serves-as-chronyd is the check.
		if ref := last(served[f.counterpart(s)]); ref != 10 && ref != 11 {
			t.Skipf("chronyd in the same role serves stratum %d here, not 10 or 11: the expectation does not hold for the reference", ref)
		}
		st := last(served[s])
		assert.Contains(t, []int{10, 11}, st,
			"%s serves stratum %d; want 10 (local reference) or 11 (synchronised to the twin)", s.d.name, st)
	})
	t.Run("no-sync-loop", func(t *testing.T) { checkNoLoop(t, loops) })
}

// last returns the last element of s (or -1).
func last(s []int) int {
	if len(s) == 0 {
		return -1
	}
	return s[len(s)-1]
}

// formatServed lists the strata each server served.
func formatServed(f *fixture, served map[*twin][]int) string {
	var b strings.Builder
	for _, s := range f.servers {
		fmt.Fprintf(&b, "%s %v; ", s.label, served[s])
	}
	return b.String()
}

// loopWatch samples both twins' tracking every second and records the
// moments when each twin's reference was the other.
type loopWatch struct {
	mu    sync.Mutex
	loops map[implementation][]string
}

// start begins watching (for at most 30 minutes); the returned function
// ends it and may be called more than once.
func (w *loopWatch) start(f *fixture) func() {
	done := make(chan struct{})
	var once sync.Once
	w.loops = map[implementation][]string{}
	go func() {
		for i := 0; i < 1800; i++ {
			select {
			case <-done:
				return
			case <-time.After(time.Second):
			}
			for _, impl := range []implementation{chronyd, chronygo} {
				p := f.pair(impl)
				a, errA := readTracking(p[0].d)
				b, errB := readTracking(p[1].d)
				if errA != nil || errB != nil {
					continue
				}
				if slices.Contains(p[1].h.addrs(), a.refAddr) && slices.Contains(p[0].h.addrs(), b.refAddr) {
					w.mu.Lock()
					w.loops[impl] = append(w.loops[impl], fmt.Sprintf("%s: %v / %v", time.Now().Format(time.TimeOnly), a, b))
					w.mu.Unlock()
				}
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

// found returns the loops seen for an implementation.
func (w *loopWatch) found(impl implementation) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.loops[impl])
}

// recovery restarts every upstream and the DNS server: every server must
// return to stratum 2 within the time chronyd takes.
func recovery(t *testing.T, f *fixture) {
	for _, u := range f.upstreams {
		u.start(t)
	}
	f.dns.start(t)
	res := waitServers(f, f.servers, recoveryLimit, synchronised)
	perServer(t, f, "back-to-stratum-2", func(t *testing.T, s *twin) {
		timelyAs(t, f, res, s, "stratum 2 with a selected source again")
	})
}

// twinLoss kills the second twin of each pair: the first keeps serving
// and shows the peer unreachable; restarting the twin restores the
// peering.
func twinLoss(t *testing.T, f *fixture) {
	var firsts, seconds []*twin
	for _, impl := range []implementation{chronyd, chronygo} {
		p := f.pair(impl)
		firsts, seconds = append(firsts, p[0]), append(seconds, p[1])
	}
	for _, s := range seconds {
		s.d.kill()
	}
	res := waitServers(f, firsts, twinLimit, func(s *twin) error {
		r, err := peerRow(s)
		if err != nil {
			return err
		}
		if r.reach != 0 {
			return fmt.Errorf("the dead twin still shows reach %o: %v", r.reach, r)
		}
		return nil
	})
	t.Run("peer-unreachable", func(t *testing.T) {
		for _, s := range firsts {
			t.Run(s.label, func(t *testing.T) { timelyAs(t, f, res, s, "the killed twin shown unreachable (reach 0)") })
		}
	})
	t.Run("keeps-serving", func(t *testing.T) {
		for _, s := range firsts {
			t.Run(s.label, func(t *testing.T) {
				assert.NoError(t, synchronised(s), "%s after its twin died", s.d.name)
				stratum, out, err := sntpClient().query(f.inside, s.h.v4.String())
				require.NoError(t, err, "%s: %s", s.d.name, out)
				assert.Equal(t, 2, stratum, "%s: %s", s.d.name, out)
			})
		}
	})

	for _, s := range seconds {
		s.d.start(t)
	}
	res = waitServers(f, f.servers, twinLimit, func(s *twin) error {
		r, err := peerRow(s)
		if err != nil {
			return err
		}
		if r.reach&1 == 0 {
			return fmt.Errorf("the twin's last poll got no answer: %v", r)
		}
		return synchronised(s)
	})
	perServer(t, f, "peering-restored", func(t *testing.T, s *twin) {
		timelyAs(t, f, res, s, "the twin reachable again and synchronised")
	})
}

// peerRow returns the '=' row of s's sources.
func peerRow(s *twin) (sourceRow, error) {
	rows, err := readSources(s.d)
	if err != nil {
		return sourceRow{}, err
	}
	for _, r := range rows {
		if r.mode == '=' {
			return r, nil
		}
	}
	return sourceRow{}, fmt.Errorf("no '=' peer among the sources: %v", rows)
}

// grepLog returns the lines of d's log containing any of the words.
func grepLog(d *daemon, words ...string) string {
	var out []string
	for _, line := range strings.Split(d.log.String(), "\n") {
		for _, w := range words {
			if strings.Contains(line, w) {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
