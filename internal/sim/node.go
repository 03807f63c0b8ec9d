package sim

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/chronygo/chronygo/pkg/ntp/source"
)

// NodeConfig describes a simulated client running the engine.
type NodeConfig struct {
	// Name labels the node in results.
	Name string
	// Addr is the node's address.
	Addr netip.Addr
	// Conf is the node's chrony.conf text.
	Conf string
	// TimeOffset (s, positive: clock ahead) and FreqOffset (s/s) are the
	// clock's initial errors; Wander is the random walk step (s/s per s).
	TimeOffset, FreqOffset, Wander float64
	// Drift, when not nil, is the content of the node's drift file.
	Drift *DriftContent
	// Collect enables error statistics for the node.
	Collect bool
	// Limits are the pass limits (MaxSync is where statistics start).
	Limits Limits
	// StatsUntil, when not zero, is where statistics end (s).
	StatsUntil float64
	// Reload restores measurement histories from the dumpdir (-r).
	Reload bool
	// Serve makes the node answer NTP clients (a higher-stratum server).
	Serve bool
	// Options, when not nil, adjusts the engine's options before it is
	// built (special modes, log hooks).
	Options func(*engine.Options)
}

// DriftContent is a drift file's frequency and skew in ppm.
type DriftContent struct{ FreqPPM, SkewPPM float64 }

// Node is a simulated host running the real engine on a virtual clock.
type Node struct {
	sim     *Simulation
	cfg     NodeConfig
	clock   *clock.Virtual
	engine  *engine.Engine
	hwFreq  float64
	rng     *rand.Rand
	stats   *collector
	drift   *memDrift
	marks   []mark
	resp    *responder
	txTimes []time.Time
	logs    *logBuffer
	started bool
}

// memDrift is an in-memory drift file.
type memDrift struct {
	has        bool
	freq, skew float64
	saves      int
}

func (d *memDrift) Load() (float64, float64, error) {
	if !d.has {
		return 0, 0, fmt.Errorf("no drift file")
	}
	return d.freq, d.skew, nil
}

func (d *memDrift) Save(freq, skew float64) error {
	d.has, d.freq, d.skew = true, freq, skew
	d.saves++
	return nil
}

func newNode(s *Simulation, cfg NodeConfig) (*Node, error) {
	c, err := conf.Parse(strings.NewReader(cfg.Conf), cfg.Name+".conf")
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", cfg.Name, err)
	}
	n := &Node{sim: s, cfg: cfg, hwFreq: cfg.FreqOffset, rng: s.childRand(), logs: &logBuffer{}}
	clk, err := clock.NewVirtual(s.sched.Now, cfg.TimeOffset, cfg.FreqOffset, clock.Options{
		MaxDrift:      c.MaxDrift,
		MaxClockError: c.MaxClockError,
		Precision:     1e-9,
		MaxSlewRate:   c.MaxSlewRate,
		Logger:        n.logs,
	})
	if err != nil {
		return nil, fmt.Errorf("node %s: virtual clock: %w", cfg.Name, err)
	}
	n.clock = clk
	var drift *memDrift
	if cfg.Drift != nil {
		drift = &memDrift{has: true, freq: cfg.Drift.FreqPPM, skew: cfg.Drift.SkewPPM}
	} else if c.DriftFile.Path != "" {
		drift = &memDrift{}
	}
	n.drift = drift
	opts := engine.Options{
		Config:    c,
		Clock:     clk,
		Scheduler: &nodeScheduler{n: n},
		Transmit:  n.transmit,
		Resolver:  s,
		Logger:    logrus.NewEntry(n.logs.logger()),
		Rand:      n.rng,
		Reload:    cfg.Reload,
	}
	if drift != nil {
		opts.Drift = drift
	}
	if cfg.Options != nil {
		cfg.Options(&opts)
	}
	e, err := engine.New(opts)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", cfg.Name, err)
	}
	n.engine = e
	if cfg.Collect {
		n.stats = newCollector(cfg.Limits)
	}
	if cfg.Serve {
		if n.resp, err = newResponder(n); err != nil {
			return nil, fmt.Errorf("node %s: server: %w", cfg.Name, err)
		}
	}
	s.net.Attach(cfg.Addr, n)
	return n, nil
}

// Engine returns the node's engine.
func (n *Node) Engine() *engine.Engine { return n.engine }

// Clock returns the node's virtual clock.
func (n *Node) Clock() *clock.Virtual { return n.clock }

// DriftFile returns the content of the node's in-memory drift file and how
// many times it was written; ok is false without a drift file.
func (n *Node) DriftFile() (freqPPM, skewPPM float64, saves int, ok bool) {
	if n.drift == nil || !n.drift.has {
		return 0, 0, 0, false
	}
	return n.drift.freq, n.drift.skew, n.drift.saves, true
}

// Logs returns the messages the node logged.
func (n *Node) Logs() []string { return n.logs.lines }

// TxTimes returns the true times of the node's first transmissions (at
// most maxTxTimes).
func (n *Node) TxTimes() []time.Time { return n.txTimes }

const maxTxTimes = 1000

func (n *Node) transmit(tx source.Transmit) (source.TxInfo, error) {
	if len(n.txTimes) < maxTxTimes {
		n.txTimes = append(n.txTimes, n.sim.sched.Now())
	}
	n.sim.net.Send(tx.Packet, netip.AddrPortFrom(n.cfg.Addr, 123), tx.To)
	return source.TxInfo{Seq: tx.Seq, Time: n.clock.ReadCooked(), Source: source.TimestampDaemon}, nil
}

// Deliver implements Endpoint: the packet is handed to the engine with the
// node's raw receive time.
func (n *Node) Deliver(payload []byte, from, to netip.AddrPort) {
	rx := n.clock.ReadRaw()
	// Client requests (mode 3) go to the server, everything else (server
	// responses, symmetric peers) to the sources.
	if len(payload) > 0 && payload[0]&7 == 3 {
		n.serve(payload, from, to, rx)
		return
	}
	n.engine.HandlePacket(engine.Packet{Data: payload, From: from, To: to, RxRaw: rx})
}

// tick is called every simulated second: it records the clock's true
// errors and moves the hardware frequency along its random walk.
func (n *Node) tick(t float64) {
	if n.stats != nil && (n.cfg.StatsUntil == 0 || t <= n.cfg.StatsUntil) {
		n.stats.add(t, n.clock.TrueTimeError(), n.clock.TrueFrequencyError())
	}
	if n.cfg.Wander != 0 {
		n.hwFreq += n.cfg.Wander * n.rng.NormFloat64()
		n.clock.Kernel.SetFrequencyError(n.hwFreq)
	}
}

// nodeScheduler maps the engine's raw-clock deadlines onto virtual true time.
type nodeScheduler struct{ n *Node }

type nodeTimer struct {
	inner   engine.Timer
	stopped bool
}

func (t *nodeTimer) Stop() bool {
	if t.stopped || t.inner == nil {
		return false
	}
	t.stopped = true
	return t.inner.Stop()
}

// At implements engine.Scheduler. The raw clock's rate may change before the
// deadline (slews), so a timer that fires early is moved on. Callbacks never
// run inside At: a past deadline fires after the current event.
func (s *nodeScheduler) At(deadline time.Time, fn func()) engine.Timer {
	t := &nodeTimer{}
	var arm func()
	arm = func() {
		left := deadline.Sub(s.n.clock.ReadRaw()).Seconds()
		rate := 1 + s.n.clock.TrueFrequencyError()
		if rate < 0.5 {
			rate = 0.5
		}
		wait := 0.0
		if left > 0 {
			wait = left/rate + 1e-9
		}
		t.inner = s.n.sim.sched.At(s.n.sim.sched.Now().Add(secondsToDuration(wait)), func() {
			if t.stopped {
				return
			}
			if deadline.Sub(s.n.clock.ReadRaw()) > time.Microsecond {
				arm()
				return
			}
			t.stopped = true
			fn()
		})
	}
	arm()
	return t
}

// logBuffer collects a node's log lines.
type logBuffer struct {
	lines []string
}

func (b *logBuffer) Infof(format string, args ...any)  { b.add("INFO", format, args...) }
func (b *logBuffer) Warnf(format string, args ...any)  { b.add("WARN", format, args...) }
func (b *logBuffer) Errorf(format string, args ...any) { b.add("ERROR", format, args...) }

func (b *logBuffer) add(level, format string, args ...any) {
	if len(b.lines) < 10000 {
		b.lines = append(b.lines, level+" "+fmt.Sprintf(format, args...))
	}
}

func (b *logBuffer) Write(p []byte) (int, error) {
	if len(b.lines) < 10000 {
		b.lines = append(b.lines, strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (b *logBuffer) logger() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(b)
	l.SetLevel(logrus.InfoLevel)
	l.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true, DisableQuote: true})
	return l
}
