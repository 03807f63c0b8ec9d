package suite

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/chronygo/chronygo/bench/daemon"
	"github.com/chronygo/chronygo/bench/loadgen"
	"github.com/chronygo/chronygo/bench/procstat"
	"github.com/chronygo/chronygo/bench/report"
)

// server is one program serving on loopback for the throughput phase.
type server struct {
	name string
	proc *daemon.Process
	port int
	// down says why the server is not measured ("" when it is).
	down string
}

// loadSample is one measured run against one server.
type loadSample struct {
	result      loadgen.Result
	cpuPerReply time.Duration
	ok          bool
	err         string
}

// servingDirectives is the configuration of a server under load.
func servingDirectives(port int, clientLog bool) []string {
	d := []string{
		"local stratum 10",
		"bindaddress 127.0.0.1",
		"bindaddress ::1",
		"port " + strconv.Itoa(port),
		"allow 127.0.0.1",
		"allow ::1",
	}
	if !clientLog {
		d = append(d, "noclientlog")
	}
	return d
}

// startServer starts an NTP daemon for the throughput phase and waits
// until it answers on both families; on failure the server is returned
// with down set.
func (r *runner) startServer(ctx context.Context, name, binary string, clientLog bool, wrapper []string) *server {
	s := &server{name: name, port: r.ports.get()}
	if err := ctx.Err(); err != nil {
		s.down = err.Error()
		return s
	}
	p, err := r.g.StartNTP(daemon.NTPDaemon{Name: name, Binary: binary, Directives: servingDirectives(s.port, clientLog), Wrapper: wrapper})
	if err != nil {
		s.down = err.Error()
		r.cfg.logf("%s: %v", name, err)
		return s
	}
	s.proc = p
	if err := p.WaitFor(5*time.Second, func() bool {
		return answers(ctx, netip.AddrPortFrom(loopback4(), uint16(s.port))) &&
			answers(ctx, netip.AddrPortFrom(loopback6(), uint16(s.port)))
	}); err != nil {
		s.down = "does not answer NTP requests on 127.0.0.1 and ::1: " + firstLine(err.Error())
		r.cfg.logf("%s: %v", name, err)
		p.Stop()
	}
	return s
}

// startEcho starts this program's echo mode on both loopback addresses.
func (r *runner) startEcho(ctx context.Context) *server {
	s := &server{name: "echo", port: r.ports.get()}
	if r.cfg.Self == "" {
		s.down = "no benchmark binary to run the echo from"
		return s
	}
	p, err := r.g.StartHelper("echo", r.cfg.Self, "echo",
		"-listen", fmt.Sprintf("127.0.0.1:%d", s.port), "-listen", fmt.Sprintf("[::1]:%d", s.port))
	if err != nil {
		s.down = err.Error()
		return s
	}
	s.proc = p
	if err := p.WaitFor(5*time.Second, func() bool {
		return answers(ctx, netip.AddrPortFrom(loopback4(), uint16(s.port)))
	}); err != nil {
		s.down = firstLine(err.Error())
		p.Stop()
	}
	return s
}

// measure drives s on addr for one round: a short warm-up, then the
// measured run bracketed by readings of the server's CPU time.
func (r *runner) measure(ctx context.Context, s *server, addr netip.Addr) loadSample {
	target := netip.AddrPortFrom(addr, uint16(s.port))
	lc := r.cfg.Load
	lc.Target = target
	lc.Duration = 300 * time.Millisecond
	if _, err := loadgen.Run(ctx, lc); err != nil {
		return loadSample{err: err.Error()}
	}
	before, err := procstat.CPUTime(s.proc.Pid())
	if err != nil {
		return loadSample{err: err.Error()}
	}
	lc.Duration = r.cfg.LoadDuration
	res, err := loadgen.Run(ctx, lc)
	if err != nil {
		return loadSample{err: err.Error()}
	}
	after, err := procstat.CPUTime(s.proc.Pid())
	if err != nil {
		return loadSample{err: err.Error()}
	}
	if res.Received == 0 {
		return loadSample{result: res, err: "no replies"}
	}
	return loadSample{result: res, cpuPerReply: (after - before) / time.Duration(res.Received), ok: true}
}

// summary is the median over rounds of one server's samples.
type summary struct {
	rate, cpu *float64
	loss      float64
	spread    string
	na        string
}

func summarise(s *server, samples []loadSample) summary {
	if s.down != "" {
		return summary{na: s.name + ": " + s.down}
	}
	var rates, cpus []float64
	var total loadgen.Counts
	for _, x := range samples {
		if !x.ok {
			return summary{na: fmt.Sprintf("%s: %s", s.name, x.err)}
		}
		rates = append(rates, x.result.RepliesPerSecond())
		cpus = append(cpus, float64(x.cpuPerReply)/float64(time.Microsecond))
		total = total.Add(x.result.Counts)
	}
	if len(rates) == 0 {
		return summary{na: s.name + ": not measured"}
	}
	return summary{
		rate:   report.Value(median(rates)),
		cpu:    report.Value(median(cpus)),
		loss:   total.LossRatio(),
		spread: fmt.Sprintf("%s %.0f..%.0f/s, %.2f..%.2f µs", s.name, slices.Min(rates), slices.Max(rates), slices.Min(cpus), slices.Max(cpus)),
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// family is an address family under load.
type family struct {
	name string
	addr netip.Addr
}

// families are the address families under load.
func families() []family { return []family{{"IPv4", loopback4()}, {"IPv6", loopback6()}} }

// throughput measures replies/s and CPU per reply of chronygo, chronyd
// and the echo, with the client log on and off, over both families, in
// interleaved rounds; then the same pinned to one core (chronygo with one
// serving worker).
func (r *runner) throughput(ctx context.Context) {
	r.cfg.logf("throughput: %d rounds of %v per server, family and client-log mode", r.cfg.Rounds, r.cfg.LoadDuration)
	echo := r.startEcho(ctx)
	defer func() {
		if echo.proc != nil {
			echo.proc.Stop()
		}
	}()
	echoSamples := map[string][]loadSample{}
	for _, clientLog := range []bool{true, false} {
		if ctx.Err() != nil {
			return
		}
		mode := map[bool]string{true: "client log on", false: "noclientlog"}[clientLog]
		cg := r.startServer(ctx, "chronygo", r.cfg.Chronygo, clientLog, nil)
		cd := r.startServer(ctx, "chronyd", r.cfg.Chronyd, clientLog, nil)
		servers := []*server{cg, cd}
		if clientLog {
			servers = append(servers, echo)
		}
		samples := map[string][]loadSample{}
		for round := 1; round <= r.cfg.Rounds && ctx.Err() == nil; round++ {
			for _, f := range families() {
				for _, s := range servers {
					if s.down != "" {
						continue
					}
					x := r.measure(ctx, s, f.addr)
					key := s.name + "/" + f.name
					samples[key] = append(samples[key], x)
					r.cfg.logf("  %s %s %s round %d: %.0f replies/s, %.2f µs CPU/reply, loss %.3f%% %s", mode, f.name, s.name, round,
						x.result.RepliesPerSecond(), float64(x.cpuPerReply)/1e3, 100*x.result.LossRatio(), x.err)
				}
			}
		}
		if clientLog {
			for _, f := range families() {
				echoSamples[f.name] = samples["echo/"+f.name]
			}
		}
		for _, f := range families() {
			g := summarise(cg, samples["chronygo/"+f.name])
			d := summarise(cd, samples["chronyd/"+f.name])
			e := summarise(echo, echoSamples[f.name])
			r.addThroughput(fmt.Sprintf("%s, %s", f.name, mode), g, d, e)
			if clientLog && f.addr == loopback4() {
				r.twoWorkerCPU = g.cpu
				r.chronydCPU4 = d.cpu
			}
		}
		cg.stop()
		cd.stop()
	}
	r.scaling(ctx)
}

func (s *server) stop() {
	if s.proc != nil {
		s.proc.Stop()
	}
}

// addThroughput records the replies/s and CPU-per-reply figures of one
// configuration.
func (r *runner) addThroughput(name string, g, d, e summary) {
	na := joinNA(g.na, d.na)
	note := fmt.Sprintf("median of %d rounds; loss chronygo %.3f%%, chronyd %.3f%%, echo %.3f%%; range %s; %s; %s",
		r.cfg.Rounds, 100*g.loss, 100*d.loss, 100*e.loss, g.spread, d.spread, e.spread)
	r.res.Add(report.Figure{Section: "throughput", Name: "replies/s " + name, Unit: "1/s", Better: report.Higher,
		Chronygo: g.rate, Chronyd: d.rate, Echo: e.rate, Target: &report.Target{Op: ">=", Ratio: 1}, NA: na, Note: note})
	r.res.Add(report.Figure{Section: "throughput", Name: "CPU per reply " + name, Unit: "µs", Better: report.Lower,
		Chronygo: g.cpu, Chronyd: d.cpu, Echo: e.cpu, Target: &report.Target{Op: "<=", Ratio: 0.95}, NA: na})
}

// scaling measures CPU per reply with both daemons pinned to CPU 0
// (taskset). chronygo's server runs one worker per two CPUs by default
// (pkg/ntp/server.DefaultWorkers), so on a machine with four or more CPUs
// the unpinned rows above use several workers and this one a single one.
func (r *runner) scaling(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	r.res.Note("chronygo runs one serving worker per two CPUs by default (CHRONYGO_NTP_WORKERS overrides it); pinned to CPU 0 with taskset it runs one")
	wrapper := []string{"taskset", "-c", "0"}
	cg := r.startServer(ctx, "chronygo", r.cfg.Chronygo, true, wrapper)
	cd := r.startServer(ctx, "chronyd", r.cfg.Chronyd, true, wrapper)
	defer cg.stop()
	defer cd.stop()
	samples := map[string][]loadSample{}
	for round := 1; round <= r.cfg.Rounds && ctx.Err() == nil; round++ {
		for _, s := range []*server{cg, cd} {
			if s.down != "" {
				continue
			}
			x := r.measure(ctx, s, loopback4())
			samples[s.name] = append(samples[s.name], x)
			r.cfg.logf("  pinned IPv4 %s round %d: %.0f replies/s, %.2f µs CPU/reply, loss %.3f%% %s", s.name, round,
				x.result.RepliesPerSecond(), float64(x.cpuPerReply)/1e3, 100*x.result.LossRatio(), x.err)
		}
	}
	g, d := summarise(cg, samples["chronygo"]), summarise(cd, samples["chronyd"])
	na := joinNA(g.na, d.na)
	if g.cpu != nil && r.twoWorkerCPU != nil {
		r.res.Note("chronygo CPU per reply, IPv4, client log on: %.2f µs unpinned (default workers), %.2f µs pinned to CPU 0 (1 worker): ratio = %.2f",
			*r.twoWorkerCPU, *g.cpu, *r.twoWorkerCPU / *g.cpu)
	}
	note := fmt.Sprintf("both daemons under taskset -c 0; chronygo runs 1 serving worker; median of %d rounds; %s; %s", r.cfg.Rounds, g.spread, d.spread)
	r.res.Add(report.Figure{Section: "scaling", Name: "replies/s IPv4, one core (chronygo 1 worker)", Unit: "1/s", Better: report.Higher,
		Chronygo: g.rate, Chronyd: d.rate, NA: na, Note: note})
	r.res.Add(report.Figure{Section: "scaling", Name: "CPU per reply IPv4, one core (chronygo 1 worker)", Unit: "µs", Better: report.Lower,
		Chronygo: g.cpu, Chronyd: d.cpu, NA: na})
	r.twoWorkers(ctx)
}

// twoWorkers measures chronygo with two serving workers (set through
// CHRONYGO_NTP_WORKERS), unpinned, beside chronyd's unpinned figure: with
// the one-core rows it shows whether a second worker serialises on shared
// state (CPU per reply would grow) or not.
func (r *runner) twoWorkers(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	cg := r.startServer(ctx, "chronygo", r.cfg.Chronygo, true, []string{"env", "CHRONYGO_NTP_WORKERS=2"})
	defer cg.stop()
	var samples []loadSample
	for round := 1; round <= r.cfg.Rounds && ctx.Err() == nil && cg.down == ""; round++ {
		x := r.measure(ctx, cg, loopback4())
		samples = append(samples, x)
		r.cfg.logf("  2 workers IPv4 chronygo round %d: %.0f replies/s, %.2f µs CPU/reply, loss %.3f%% %s", round,
			x.result.RepliesPerSecond(), float64(x.cpuPerReply)/1e3, 100*x.result.LossRatio(), x.err)
	}
	g := summarise(cg, samples)
	note := fmt.Sprintf("CHRONYGO_NTP_WORKERS=2, unpinned; chronyd's figure is its unpinned IPv4 client-log-on row; median of %d rounds; %s", r.cfg.Rounds, g.spread)
	r.res.Add(report.Figure{Section: "scaling", Name: "CPU per reply IPv4, chronygo 2 workers", Unit: "µs", Better: report.Lower,
		Chronygo: g.cpu, Chronyd: r.chronydCPU4, NA: g.na, Note: note})
}

func joinNA(parts ...string) string {
	out := ""
	for _, p := range parts {
		if p == "" {
			continue
		}
		if out != "" {
			out += "; "
		}
		out += p
	}
	return out
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
