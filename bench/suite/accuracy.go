package suite

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/chronygo/chronygo/bench/daemon"
	"github.com/chronygo/chronygo/bench/probe"
	"github.com/chronygo/chronygo/bench/report"
	"github.com/chronygo/chronygo/internal/relay"
)

// pathCase is a network path between a client daemon and the upstream.
type pathCase struct {
	name  string
	model relay.Config
}

// pathCases are the accuracy scenarios: base 200 µs each way plus
// exponential jitter of mean 200 µs, symmetric, and with chrony's jitter
// asymmetry 0.4 (mean jitter 40 µs up, 360 µs down).
func pathCases() []pathCase {
	const base, jitter = 200 * time.Microsecond, 200 * time.Microsecond
	sym, asym := relay.Symmetric(base, jitter, 0, 0, 11), relay.Symmetric(base, jitter, 0.4, 0, 12)
	sym.Realtime, asym.Realtime = true, true
	return []pathCase{{"symmetric jitter", sym}, {"asymmetric jitter 0.4", asym}}
}

// upstream is the reference server: chronyd serving its own clock with
// local stratum 1 on 127.0.0.1.
type upstream struct {
	proc *daemon.Process
	addr netip.AddrPort
}

func (r *runner) startUpstream(ctx context.Context) (*upstream, error) {
	port := r.ports.get()
	p, err := r.g.StartNTP(daemon.NTPDaemon{Name: "chronyd-upstream", Binary: r.cfg.Chronyd, Directives: []string{
		"local stratum 1",
		"bindaddress 127.0.0.1",
		"bindaddress ::1",
		"port " + strconv.Itoa(port),
		"allow 127.0.0.0/8",
	}})
	if err != nil {
		return nil, err
	}
	u := &upstream{proc: p, addr: netip.AddrPortFrom(loopback4(), uint16(port))}
	if err := p.WaitFor(5*time.Second, func() bool { return answers(ctx, u.addr) }); err != nil {
		return nil, err
	}
	return u, nil
}

// startRelay starts a delay relay on listen (port 0: any) to target,
// closed when ctx ends.
func startRelay(ctx context.Context, listen netip.Addr, port int, target netip.AddrPort, model relay.Config) (*relay.Relay, error) {
	return relay.Start(ctx, netip.AddrPortFrom(listen, uint16(port)).String(), target.String(), model)
}

// clientDirectives is the configuration of a client daemon that also
// serves time on loopback.
func clientDirectives(source netip.AddrPort, servePort int, pollOptions string) []string {
	return []string{
		fmt.Sprintf("server %s port %d %s", source.Addr(), source.Port(), pollOptions),
		"bindaddress 127.0.0.1",
		"bindaddress ::1",
		"port " + strconv.Itoa(servePort),
		"allow 127.0.0.1",
	}
}

// errorStats are the served-time errors of one daemon.
type errorStats struct {
	n, failed int
	sumSq     float64
	max       float64
	lastErr   string
}

func (e *errorStats) add(s probe.Sample, err error) {
	if err != nil {
		e.failed++
		e.lastErr = err.Error()
		return
	}
	us := math.Abs(float64(s.Offset) / float64(time.Microsecond))
	e.n++
	e.sumSq += us * us
	e.max = max(e.max, us)
}

// values returns RMS and max in µs, or the reason they are missing.
func (e *errorStats) values(name string) (rms, maxErr *float64, na string) {
	if e.n == 0 || e.failed > e.n {
		return nil, nil, fmt.Sprintf("%s served no synchronised time in %d of %d probes (last: %s)", name, e.failed, e.n+e.failed, e.lastErr)
	}
	return report.Value(math.Sqrt(e.sumSq / float64(e.n))), report.Value(e.max), ""
}

// accuracyAndFootprint runs, at the same time, the accuracy scenarios,
// the time-to-synchronise rounds and the footprint phase, whose loads are
// light; the client-log burst waits until the accuracy measurement is
// over.
func (r *runner) accuracyAndFootprint(ctx context.Context) {
	// Each relay runs on its own locked OS thread, which needs one of
	// the runtime's Ps whenever it returns from ppoll: with the default
	// two, ten relays wait for each other by milliseconds. Idle Ps cost
	// nothing, so give every relay one for this phase.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(32))
	up, err := r.startUpstream(ctx)
	if err != nil {
		na := "upstream chronyd did not start: " + firstLine(err.Error())
		r.res.Add(report.Figure{Section: "accuracy", Name: "served-time error", Unit: "µs", NA: na})
		return
	}
	defer up.proc.Stop()
	var wg sync.WaitGroup
	accDone := make(chan struct{})
	var accFigures, syncFigures, footFigures []report.Figure
	if r.cfg.wants("accuracy") {
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer close(accDone)
			accFigures = r.accuracy(ctx, up)
		}()
		go func() {
			defer wg.Done()
			syncFigures = r.syncTime(ctx, up)
		}()
	} else {
		close(accDone)
	}
	if r.cfg.wants("footprint") {
		wg.Add(1)
		go func() {
			defer wg.Done()
			footFigures = r.footprint(ctx, up, accDone)
		}()
	}
	wg.Wait()
	for _, fs := range [][]report.Figure{accFigures, syncFigures, footFigures} {
		for _, f := range fs {
			r.res.Add(f)
		}
	}
}

// accuracy runs chronygo and chronyd as clients of the upstream, each
// behind its own relay with the same delay model and seed, and probes the
// time each serves once per ProbeInterval after the warm-up.
func (r *runner) accuracy(ctx context.Context, up *upstream) []report.Figure {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const poll = "minpoll -2 maxpoll -2 iburst"
	type client struct {
		relay *relay.Relay
		proc  *daemon.Process
		serve netip.AddrPort
		stats errorStats
		down  string
	}
	type scenario struct {
		pc      pathCase
		clients [2]*client // chronygo, chronyd
	}
	bins := [2]string{r.cfg.Chronygo, r.cfg.Chronyd}
	names := [2]string{"chronygo", "chronyd"}
	var scenarios []*scenario
	for _, pc := range pathCases() {
		sc := &scenario{pc: pc}
		for i := range sc.clients {
			c := &client{}
			sc.clients[i] = c
			rl, err := startRelay(ctx, loopback4(), 0, up.addr, pc.model)
			if err != nil {
				c.down = err.Error()
				continue
			}
			defer rl.Close()
			c.relay = rl
			port := r.ports.get()
			c.serve = netip.AddrPortFrom(loopback4(), uint16(port))
			p, err := r.g.StartNTP(daemon.NTPDaemon{Name: names[i] + "-client", Binary: bins[i], Directives: clientDirectives(rl.Addr(), port, poll)})
			if err != nil {
				c.down = err.Error()
				continue
			}
			c.proc = p
			defer p.Stop()
		}
		scenarios = append(scenarios, sc)
	}
	r.cfg.logf("accuracy: warming up %v, then probing every %v for %v", r.cfg.WarmUp, r.cfg.ProbeInterval, r.cfg.Measure)
	if !sleep(ctx, r.cfg.WarmUp) {
		return nil
	}
	end := time.Now().Add(r.cfg.Measure)
	tick := time.NewTicker(r.cfg.ProbeInterval)
	defer tick.Stop()
	for time.Now().Before(end) && ctx.Err() == nil {
		for _, sc := range scenarios {
			for i, c := range sc.clients {
				if c.down != "" {
					continue
				}
				if c.proc.Exited() {
					c.down = fmt.Sprintf("%s exited: %s", names[i], lastLine(c.proc.Log()))
					continue
				}
				c.stats.add(probe.QueryBest(c.serve, 3, 500*time.Millisecond))
			}
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	var figs []report.Figure
	for _, sc := range scenarios {
		var rms, mx [2]*float64
		var nas []string
		for i, c := range sc.clients {
			if c.down != "" {
				nas = append(nas, names[i]+": "+c.down)
				continue
			}
			var na string
			rms[i], mx[i], na = c.stats.values(names[i])
			if na != "" {
				nas = append(nas, na)
			}
		}
		late := [2]time.Duration{}
		for i, c := range sc.clients {
			if c.relay != nil {
				late[i] = c.relay.Stats().MaxLate
			}
		}
		note := fmt.Sprintf("relay base 200 µs, jitter up %v down %v; poll -2; %d/%d probes answered (chronygo/chronyd); relay max lateness %v/%v",
			sc.pc.model.Up.Jitter, sc.pc.model.Down.Jitter, sc.clients[0].stats.n, sc.clients[1].stats.n, late[0], late[1])
		r.cfg.logf("accuracy %s: RMS %s/%s µs, max %s/%s µs (chronygo/chronyd) %s", sc.pc.name,
			report.FormatValue(rms[0]), report.FormatValue(rms[1]), report.FormatValue(mx[0]), report.FormatValue(mx[1]), joinNA(nas...))
		figs = append(figs,
			report.Figure{Section: "accuracy", Name: "RMS served-time error, " + sc.pc.name, Unit: "µs", Better: report.Lower,
				Chronygo: rms[0], Chronyd: rms[1], Target: &report.Target{Op: "<=", Ratio: 1}, NA: joinNA(nas...), Note: note},
			report.Figure{Section: "accuracy", Name: "max served-time error, " + sc.pc.name, Unit: "µs", Better: report.Lower,
				Chronygo: mx[0], Chronyd: mx[1], Target: &report.Target{Op: "<=", Ratio: 1}, NA: joinNA(nas...)})
	}
	return figs
}

// syncRounds is the number of time-to-synchronise attempts per daemon.
const syncRounds = 3

// syncLimit bounds one attempt.
const syncLimit = 30 * time.Second

// syncTime starts each daemon fresh with "server ... iburst" (default
// polling) behind a symmetric relay, and measures the time from its start
// until its tracking report shows the upstream as reference; both daemons
// run their attempts at the same time.
func (r *runner) syncTime(ctx context.Context, up *upstream) []report.Figure {
	bins := [2]string{r.cfg.Chronygo, r.cfg.Chronyd}
	names := [2]string{"chronygo", "chronyd"}
	var results [2][]float64
	var fails [2]string
	var wg sync.WaitGroup
	for i := range bins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < syncRounds && ctx.Err() == nil; round++ {
				d, err := r.syncOnce(ctx, up, names[i], bins[i], uint64(100+round))
				if err != nil {
					fails[i] = err.Error()
					r.cfg.logf("sync %s round %d: %v", names[i], round+1, err)
					return
				}
				r.cfg.logf("sync %s round %d: %.2f s", names[i], round+1, d.Seconds())
				results[i] = append(results[i], d.Seconds())
			}
		}()
	}
	wg.Wait()
	var vals [2]*float64
	var nas []string
	for i := range vals {
		if fails[i] != "" || len(results[i]) == 0 {
			nas = append(nas, names[i]+": "+fails[i])
			continue
		}
		vals[i] = report.Value(median(results[i]))
	}
	return []report.Figure{{Section: "sync", Name: "time to synchronise with iburst", Unit: "s", Better: report.Lower,
		Chronygo: vals[0], Chronyd: vals[1], NA: joinNA(nas...),
		Note: fmt.Sprintf("median of %d starts, from process start until tracking shows the upstream; relay base 200 µs jitter 200 µs; attempts %v / %v s", syncRounds, results[0], results[1])}}
}

func (r *runner) syncOnce(ctx context.Context, up *upstream, name, bin string, seed uint64) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	model := relay.Symmetric(200*time.Microsecond, 200*time.Microsecond, 0, 0, seed)
	model.Realtime = true
	rl, err := startRelay(ctx, loopback4(), 0, up.addr, model)
	if err != nil {
		return 0, err
	}
	defer rl.Close()
	start := time.Now()
	p, err := r.g.StartNTP(daemon.NTPDaemon{Name: name + "-sync", Binary: bin, Directives: []string{
		fmt.Sprintf("server %s port %d iburst", rl.Addr().Addr(), rl.Addr().Port()),
		"port 0",
	}})
	if err != nil {
		return 0, err
	}
	defer p.Stop()
	var synced time.Duration
	var last string
	err = p.WaitFor(syncLimit, func() bool {
		c, err := probe.DialCmdmon(p.Socket, p.Dir, 200*time.Millisecond)
		if err != nil {
			last = err.Error()
			return false
		}
		defer c.Close()
		t, err := c.Tracking()
		if err != nil {
			last = err.Error()
			return false
		}
		if t.Synchronised() {
			synced = time.Since(start)
			return true
		}
		last = fmt.Sprintf("tracking shows reference %08X, leap %d", t.RefID, t.Leap)
		return false
	})
	if err != nil {
		if p.Exited() {
			return 0, fmt.Errorf("exited before synchronising: %s", lastLine(p.Log()))
		}
		return 0, fmt.Errorf("no reference within %v (%s)", syncLimit, last)
	}
	return synced, nil
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func lastLine(s string) string {
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}
