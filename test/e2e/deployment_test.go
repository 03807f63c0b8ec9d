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
	// stopUpdateLimit bounds how long a server may keep selecting
	// unreachable upstreams under chrony's rule (see stale_test.go): until
	// the twin's history is capped at 64 samples, one per poll of at most
	// 2^fastMaxPoll s, plus 8 polls for the reachability register to
	// empty, plus the 12 s without clock update the phase waits for, the
	// rule's tolerance and 20 s for a loaded machine.
	stopUpdateLimit = (64+8)*(1<<fastMaxPoll)*time.Second + 12*time.Second +
		time.Duration(staleTolerance)*time.Second + 20*time.Second
	fallbackWindow = 20 * time.Second
	recoveryLimit  = 120 * time.Second
	twinLimit      = 90 * time.Second
	// suiteBudget is the time the scenario needs when nothing fails: it
	// takes 5 to 8 minutes, mostly waiting for chrony's rule to drop the
	// unreachable upstreams. Should a run approach go test's -timeout, the
	// watchdog of TestMain removes the test network first.
	suiteBudget = 9 * time.Minute
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
		testutil.SkipOrFail(t, "the suite needs up to %v: run it with -timeout 12m or more", suiteBudget)
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
	// The side-by-side checks use only the sixth upstream, which the pool
	// failure leaves alone: both run at the same time to save half a
	// minute.
	t.Run("concurrently", func(t *testing.T) {
		t.Run("interop", func(t *testing.T) {
			t.Parallel()
			ix.check(t)
			ix.stop()
		})
		t.Run("pool-upstreams-stopped", func(t *testing.T) {
			t.Parallel()
			poolFailure(t, f)
		})
	})
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
// same role: at most twice chronyd's time plus 10 s. It reports whether
// both held.
func timelyAs(t *testing.T, f *fixture, res map[*twin]outcome, s *twin, what string) bool {
	t.Helper()
	o := res[s]
	if !assert.NoError(t, o.err, "%s: never reached %s (waited %v)", s.d.name, what, o.took.Round(time.Second)) {
		return false
	}
	t.Logf("%s: %s after %v", s.d.name, what, o.took.Round(time.Second))
	if s.impl != chronygo {
		return true
	}
	ref := res[f.counterpart(s)]
	if ref.err != nil {
		t.Logf("chronyd in the same role never reached it (%v): no timing to compare", ref.err)
		return true
	}
	return assert.LessOrEqual(t, o.took, 2*ref.took+10*time.Second,
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
		switch r.Mode {
		case '^':
			servers++
			name, ok := f.poolOf[r.Addr]
			if assert.True(t, ok, "%s: source %s is not an address of any pool", s.d.name, r.Addr) {
				perPool[name]++
			}
		case '=':
			peers++
			assert.Equal(t, s.peer.h.v4.String(), r.Addr, "%s: the '=' source should be the twin", s.d.name)
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
	assert.Equal(t, 2, tr.Stratum, "%s: tracking %v", s.d.name, tr)
	assert.True(t, f.upstreamAddr[tr.RefAddr], "%s: tracking %v: the reference is not an upstream", s.d.name, tr)
	want, err := testutil.RefIDOf(tr.RefAddr)
	require.NoError(t, err, "%s: tracking %v", s.d.name, tr)
	assert.Equal(t, want, tr.RefID, "%s: tracking %v: wrong reference ID for the address", s.d.name, tr)
}

// checkSourcestats asserts that sourcestats has a row per source.
func checkSourcestats(t *testing.T, s *twin) {
	rows, err := readSources(s.d)
	require.NoError(t, err)
	stats, err := readSourcestats(s.d)
	require.NoError(t, err)
	var want []string
	for _, r := range rows {
		want = append(want, r.Addr)
	}
	var got []string
	for _, st := range stats {
		got = append(got, st.Addr)
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
		if tr, err := readTracking(s.d); err == nil && tr.Stratum != 2 {
			mu.Lock()
			lost[s] = append(lost[s], tr.String())
			mu.Unlock()
		}
		rows, err := readSources(s.d)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.Mode == '^' && slices.Contains(p.spares(), r.Addr) && r.Reach != 0 {
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

// allLost stops every upstream and the DNS server. Once its stale
// upstreams are no longer selectable, a server keeps only its twin, fewer
// than minsources 2: it must stop updating its clock as chronyd does, keep
// serving the allowed clients with an outcome the chronyd pair also shows
// (hold-over or the local reference, either directly or through the twin),
// and the twins must never synchronise to each other in a loop.
func allLost(t *testing.T, f *fixture, loops *loopWatch) {
	for _, u := range f.upstreams {
		u.stop()
	}
	f.dns.stop()

	stopped := time.Now()
	watches := map[*twin]*staleWatch{}
	for _, s := range f.servers {
		watches[s] = &staleWatch{}
	}
	res := waitEach(f.servers, stopUpdateLimit, noAllowance, func(s *twin) error {
		// Each server is polled by its own goroutine, the only one to
		// touch its watch until waitEach returns; the map is not written.
		w := watches[s]
		tr, err := readTracking(s.d)
		if err != nil {
			return err
		}
		since := w.refUpdated(tr.RefTime)
		rows, err := readSources(s.d)
		if err != nil {
			return err
		}
		stats, err := readSourcestats(s.d)
		if err != nil {
			return err
		}
		w.observe(time.Since(stopped), rows, stats)
		how := settledSelection(rows, s.peer.h.addrs())
		if how == "" {
			return fmt.Errorf("selection still changing: %v", rows)
		}
		if since < 12*time.Second && how != followsTwin {
			return fmt.Errorf("clock updated %v ago (tracking %v)", since.Round(time.Second), tr)
		}
		w.settled = how
		return nil
	})
	perServer(t, f, "stops-updating", func(t *testing.T, s *twin) {
		o := res[s]
		w := watches[s]
		if assert.NoError(t, o.err, "%s: selection still changing or the clock still updated from the lost upstreams %v after every upstream stopped; timeline:\n%v",
			s.d.name, o.took.Round(time.Second), w) {
			t.Logf("%s: %s, and no clock update from the upstreams for 12 s, %v after every upstream stopped", s.d.name, w.settled, o.took.Round(time.Second))
		}
		if s.impl == chronyd {
			// chronyd 4.3 is the reference, not under test: the rule is
			// chrony 4.8's, which chronygo implements. 4.3 differs in one
			// detail seen here: a reachable source without valid
			// statistics (a pool spare with one sample) also holds the
			// unreachable sources selectable, until its own register
			// empties.
			t.Logf("%s: %d observations contradict chrony 4.8's rule: %v", s.d.name, len(w.contradiction), w.contradiction)
			return
		}
		assert.Empty(t, w.contradiction, "%s: selection contradicts chrony's rule for unreachable sources (tolerance %d s); timeline:\n%v",
			s.d.name, staleTolerance, w)
	})
	perServer(t, f, "logs-cant-synchronise", func(t *testing.T, s *twin) {
		// chrony logs "Can't synchronise: ..." when a selection finds
		// fewer selectable sources than minsources after the server had
		// a selected source. Whether a server gets there in this phase is
		// down to timing (it may keep its stale selection, or follow its
		// twin), so the log is required from chronygo only when its last
		// observation showed no selected source with the rule dropping
		// the stale upstreams; the selection runs at the twin's next poll.
		const msg = "Can't synchronise"
		logged := func() bool { return strings.Contains(s.d.log.String(), msg) }
		if s.impl != chronygo {
			t.Logf("%s logged %q: %v", s.d.name, msg, logged())
			return
		}
		if w := watches[s]; w.selected || w.verdict != ruleDrop {
			t.Skipf("%s ended the phase as %q (rule %v): no selection had to fail", s.d.name, w.settled, w.verdict)
		}
		assert.True(t, testutil.WaitFor(2*time.Second<<fastMaxPoll, logged),
			"%s: no %q message in the log although it lost its selection with fewer than minsources selectable sources:\n%s", s.d.name, msg, s.d.log)
	})

	served := map[*twin][]servedStratum{}
	deadline := time.Now().Add(fallbackWindow)
	for time.Now().Before(deadline) {
		for _, s := range f.servers {
			stratum, out, err := sntpClient().query(f.inside, s.h.v4.String())
			if err != nil {
				stratum = -1
				t.Logf("%s: no answer: %v: %s", s.d.name, err, out)
			}
			obs := servedStratum{stratum: stratum}
			if tr, err := readTracking(s.d); err == nil {
				obs.viaTwin = slices.Contains(s.peer.h.addrs(), tr.RefAddr)
			}
			served[s] = append(served[s], obs)
		}
		time.Sleep(2 * time.Second)
	}
	t.Logf("strata served to the allowed client (+twin: tracking named the twin as reference): %s", formatServed(f, served))
	perServer(t, f, "keeps-serving", func(t *testing.T, s *twin) {
		for _, o := range served[s] {
			assert.NotEqual(t, -1, o.stratum, "%s: the allowed client got no answer at times: %v", s.d.name, served[s])
		}
	})
	perServer(t, f, "holds-over-then-local-or-twin", func(t *testing.T, s *twin) {
		// The issue expects stratum 10 (local reference) or 11 (the twin).
		// chrony 4.x activates the local reference only once the root
		// distance reaches local's distance (default 1 s), which after a
		// synchronised period takes far longer than this phase, so a
		// server keeps serving its last stratum (2). A twin may meanwhile
		// follow the other (stratum 3): its own stale upstreams, still
		// selectable by chrony's rule, make up minsources with the twin,
		// and the twin, holding over at stratum 2, scores best. chronyd
		// 4.3 does that in some runs. So a server serves 2 or 10 on its
		// own, and 3 or 11 only while its tracking names the twin.
		var bad []servedStratum
		for _, o := range served[s] {
			if o.class() == "" {
				bad = append(bad, o)
			}
		}
		if s.impl == chronyd {
			// chronyd 4.3 is the reference, not under test.
			t.Logf("%s: %d observations outside the expected outcomes: %v", s.d.name, len(bad), bad)
			return
		}
		assert.Empty(t, bad, "%s served these after every upstream stopped (all served: %v); want 2 (hold-over) or 10 (local reference) on its own, 3 or 11 while following the twin",
			s.d.name, served[s])
	})
	perServer(t, f, "serves-as-chronyd", func(t *testing.T, s *twin) {
		// Which twin of a pair loses its upstreams first is down to
		// timing, so chronygo is compared with the chronyd pair as a
		// whole: every outcome a chronygo server shows (hold-over, possibly
		// through the twin, or the local reference, possibly through the
		// twin) must be one the chronyd pair showed.
		if s.impl != chronygo {
			t.Skipf("%s is the reference", s.d.name)
		}
		ref := map[string]bool{}
		for _, r := range f.pair(chronyd) {
			for _, o := range served[r] {
				ref[o.class()] = true
			}
		}
		var extra []servedStratum
		for _, o := range served[s] {
			if !ref[o.class()] {
				extra = append(extra, o)
			}
		}
		assert.Empty(t, extra, "%s served %v; the chronyd pair served %s", s.d.name, served[s], formatServed(f, served))
	})
	t.Run("no-sync-loop", func(t *testing.T) { checkNoLoop(t, loops) })
}

// servedStratum is one observation of a server after every upstream
// stopped: the stratum its NTP reply carried (-1: no reply) and whether
// its tracking report, read right after, named the twin as reference.
type servedStratum struct {
	stratum int
	viaTwin bool
}

// class names the outcome an observation belongs to: "hold-over" (the last
// upstream reference, directly or through the twin), "local" (the local
// reference, directly or through the twin), or "" for anything chrony's
// rules do not allow.
func (o servedStratum) class() string {
	switch {
	case o.stratum == 2, o.stratum == 3 && o.viaTwin:
		return "hold-over"
	case o.stratum == 10, o.stratum == 11 && o.viaTwin:
		return "local"
	}
	return ""
}

func (o servedStratum) String() string {
	if o.viaTwin {
		return fmt.Sprintf("%d+twin", o.stratum)
	}
	return fmt.Sprint(o.stratum)
}

// formatServed lists the strata each server served.
func formatServed(f *fixture, served map[*twin][]servedStratum) string {
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
				if slices.Contains(p[1].h.addrs(), a.RefAddr) && slices.Contains(p[0].h.addrs(), b.RefAddr) {
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
		if r.Reach != 0 {
			return fmt.Errorf("the dead twin still shows reach %o: %v", r.Reach, r)
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
		if r.Reach&1 == 0 {
			return fmt.Errorf("the twin's last poll got no answer: %v", r)
		}
		return synchronised(s)
	})
	perServer(t, f, "peering-restored", func(t *testing.T, s *twin) {
		timelyAs(t, f, res, s, "the twin reachable again and synchronised")
	})
}

// peerRow returns the '=' row of s's sources.
func peerRow(s *twin) (testutil.SourceRow, error) {
	rows, err := readSources(s.d)
	if err != nil {
		return testutil.SourceRow{}, err
	}
	for _, r := range rows {
		if r.Mode == '=' {
			return r, nil
		}
	}
	return testutil.SourceRow{}, fmt.Errorf("no '=' peer among the sources: %v", rows)
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
