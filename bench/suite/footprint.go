package suite

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/chronygo/chronygo/bench/daemon"
	"github.com/chronygo/chronygo/bench/loadgen"
	"github.com/chronygo/chronygo/bench/procstat"
	"github.com/chronygo/chronygo/bench/report"
	"github.com/chronygo/chronygo/internal/relay"
)

// footprintSources is the number of sources of the footprint phase.
const footprintSources = 6

// settle is how long a footprint daemon runs before its idle CPU is
// counted: its iburst exchanges are over by then, and the idle window
// that follows holds the first regular poll of each source (at about
// 64 s + 6 s from start with the default minpoll 6).
const settle = 20 * time.Second

// footprintDaemon is one daemon of the footprint phase and its readings.
type footprintDaemon struct {
	name     string
	proc     *daemon.Process
	port     int
	down     string
	idleCPU  *float64
	rss      *float64
	rss100k  *float64
	answered uint64
	burstNA  string
}

// footprint runs chronygo and chronyd, each with six sources (the
// upstream reached through six plain relays on 127.0.0.2-7, since chronyd
// takes one source per address) and serving on loopback. It reads their
// CPU time over the idle period and their VmRSS at its end; then, once
// accDone is closed, sends one request from each of Clients distinct
// addresses of 127.0.0.0/8 and reads VmRSS again.
func (r *runner) footprint(ctx context.Context, up *upstream, accDone <-chan struct{}) []report.Figure {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sources []string
	for i := 0; i < footprintSources; i++ {
		addr := netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)})
		rl, err := startRelay(ctx, addr, 0, up.addr, relay.Config{Seed: uint64(i)})
		if err != nil {
			return []report.Figure{{Section: "footprint", Name: "memory and idle CPU", NA: "relay for the six sources: " + err.Error()}}
		}
		defer rl.Close()
		sources = append(sources, fmt.Sprintf("server %s port %d iburst", rl.Addr().Addr(), rl.Addr().Port()))
	}
	daemons := []*footprintDaemon{{name: "chronygo"}, {name: "chronyd"}}
	bins := []string{r.cfg.Chronygo, r.cfg.Chronyd}
	for i, d := range daemons {
		d.port = r.ports.get()
		directives := append(append([]string{}, sources...),
			"bindaddress 127.0.0.1",
			"bindaddress ::1",
			"port "+strconv.Itoa(d.port),
			"allow 127.0.0.0/8",
		)
		p, err := r.g.StartNTP(daemon.NTPDaemon{Name: d.name + "-footprint", Binary: bins[i], Directives: directives})
		if err != nil {
			d.down = err.Error()
			continue
		}
		d.proc = p
		defer p.Stop()
	}
	r.cfg.logf("footprint: six sources, settling %v, then idle %v", settle, r.cfg.Idle)
	if !sleep(ctx, settle) {
		return nil
	}
	start := make([]time.Duration, len(daemons))
	for i, d := range daemons {
		if d.down != "" {
			continue
		}
		cpu, err := procstat.RunTime(d.proc.Pid())
		if err != nil {
			d.down = fmt.Sprintf("exited during the first %v: %s", settle, lastLine(d.proc.Log()))
			continue
		}
		start[i] = cpu
	}
	if !sleep(ctx, r.cfg.Idle) {
		return nil
	}
	for i, d := range daemons {
		if d.down != "" {
			continue
		}
		cpu, err1 := procstat.RunTime(d.proc.Pid())
		rss, err2 := procstat.RSS(d.proc.Pid())
		if err1 != nil || err2 != nil {
			d.down = "exited during the idle period: " + lastLine(d.proc.Log())
			continue
		}
		d.idleCPU = report.Value(float64(cpu-start[i]) / float64(time.Millisecond))
		d.rss = report.Value(float64(rss) / (1 << 20))
	}
	select {
	case <-ctx.Done():
		return nil
	case <-accDone:
	}
	r.cfg.logf("footprint: %d distinct clients to each daemon", r.cfg.Clients)
	var wg sync.WaitGroup
	for _, d := range daemons {
		if d.down != "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.clientBurst(ctx, d)
		}()
	}
	wg.Wait()
	return footprintFigures(daemons, r.cfg)
}

// clientBurst sends one request from each of Clients addresses
// 127.16.0.0 + i to d and reads its VmRSS afterwards.
func (r *runner) clientBurst(ctx context.Context, d *footprintDaemon) {
	src := func(seq uint64) netip.Addr {
		n := uint32(16<<16) + uint32(seq)
		return netip.AddrFrom4([4]byte{127, byte(n >> 16), byte(n >> 8), byte(n)})
	}
	res, err := loadgen.Run(ctx, loadgen.Config{
		Target: netip.AddrPortFrom(loopback4(), uint16(d.port)), Sockets: 1, Window: 64, Batch: 32,
		Count: uint64(r.cfg.Clients), Timeout: 200 * time.Millisecond, Source: src,
	})
	if err != nil {
		d.burstNA = err.Error()
		return
	}
	d.answered = res.Received
	if res.Received == 0 {
		d.burstNA = fmt.Sprintf("%s answered none of the %d clients", d.name, res.Sent)
		return
	}
	time.Sleep(500 * time.Millisecond)
	rss, err := procstat.RSS(d.proc.Pid())
	if err != nil {
		d.burstNA = d.name + " exited after the client burst: " + lastLine(d.proc.Log())
		return
	}
	d.rss100k = report.Value(float64(rss) / (1 << 20))
}

func footprintFigures(ds []*footprintDaemon, cfg Config) []report.Figure {
	g, d := ds[0], ds[1]
	na := func(pick func(*footprintDaemon) *float64, extra func(*footprintDaemon) string) string {
		var parts []string
		for _, x := range ds {
			switch {
			case x.down != "":
				parts = append(parts, x.name+": "+x.down)
			case pick(x) == nil && extra != nil && extra(x) != "":
				parts = append(parts, x.name+": "+extra(x))
			}
		}
		return joinNA(parts...)
	}
	return []report.Figure{
		{Section: "footprint", Name: fmt.Sprintf("VmRSS after %v, six sources, serving", settle+cfg.Idle), Unit: "MiB", Better: report.Lower,
			Chronygo: g.rss, Chronyd: d.rss, Target: &report.Target{Op: "<=", Ratio: 3},
			NA: na(func(x *footprintDaemon) *float64 { return x.rss }, nil)},
		{Section: "footprint", Name: fmt.Sprintf("VmRSS after %d distinct clients", cfg.Clients), Unit: "MiB", Better: report.Lower,
			Chronygo: g.rss100k, Chronyd: d.rss100k, Target: &report.Target{Op: "<=", Ratio: 3},
			NA:   na(func(x *footprintDaemon) *float64 { return x.rss100k }, func(x *footprintDaemon) string { return x.burstNA }),
			Note: fmt.Sprintf("one request from each of 127.16.0.0 + i; answered %d / %d; default clientloglimit", g.answered, d.answered)},
		{Section: "footprint", Name: fmt.Sprintf("CPU time over %v idle, six sources", cfg.Idle), Unit: "ms", Better: report.Lower,
			Chronygo: g.idleCPU, Chronyd: d.idleCPU, Target: &report.Target{Op: "<=", Ratio: 1},
			NA:   na(func(x *footprintDaemon) *float64 { return x.idleCPU }, nil),
			Note: fmt.Sprintf("counted from %v after start (iburst over), default polling; sum of the threads' schedstat run time (ns resolution; utime+stime ticks are 10 ms)", settle)},
	}
}
