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

// clknetsimPrecision is the clock precision chronyd measures under
// clknetsim (s): its clock_gettime adds a growing multiple of 101 ns to
// successive readings while the daemon measures the precision, so the
// smallest step chronyd sees, and takes as its precision, is 101 ns
// (log2 rounded: -23, as the servers announce).
const clknetsimPrecision = 101e-9

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
	sched   *nodeScheduler
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
	n.sched = &nodeScheduler{n: n}
	clk, err := clock.NewVirtual(s.sched.Now, cfg.TimeOffset, cfg.FreqOffset, clock.Options{
		MaxDrift:      c.MaxDrift,
		MaxClockError: c.MaxClockError,
		Precision:     clknetsimPrecision,
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
		Scheduler: n.sched,
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
	n.settle()
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
		n.settle()
	}
}

// nodeScheduler maps the engine's raw-clock deadlines onto virtual true
// time. The raw clock's rate changes whenever the engine adjusts the clock
// (slews) or the hardware frequency wanders, so the pending timers are
// re-armed after every event that may have done so (Node.settle): a timer
// fires when the raw clock reaches its deadline, as under clknetsim, which
// recomputes every timeout after each adjustment.
type nodeScheduler struct {
	n       *Node
	pending []*nodeTimer
}

type nodeTimer struct {
	s        *nodeScheduler
	deadline time.Time
	fn       func()
	inner    engine.Timer
	fireAt   time.Time
	stopped  bool
}

// Stop implements engine.Timer.
func (t *nodeTimer) Stop() bool {
	if t.stopped {
		return false
	}
	t.stopped = true
	t.s.remove(t)
	if t.inner != nil {
		t.inner.Stop()
	}
	return true
}

// At implements engine.Scheduler. Callbacks never run inside At: a past
// deadline fires after the current event.
func (s *nodeScheduler) At(deadline time.Time, fn func()) engine.Timer {
	t := &nodeTimer{s: s, deadline: deadline, fn: fn}
	s.pending = append(s.pending, t)
	s.arm(t)
	return t
}

func (s *nodeScheduler) remove(t *nodeTimer) {
	for i, p := range s.pending {
		if p == t {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return
		}
	}
}

// fireTime returns the true time at which the raw clock reaches deadline at
// its current rate.
func (s *nodeScheduler) fireTime(deadline time.Time) time.Time {
	now := s.n.sim.sched.Now()
	left := deadline.Sub(s.n.clock.ReadRaw()).Seconds()
	if left <= 0 {
		return now
	}
	rate := 1 + s.n.clock.TrueFrequencyError()
	if rate < 0.5 {
		rate = 0.5
	}
	return now.Add(secondsToDuration(left/rate + 1e-9))
}

// arm (re)schedules t on the simulation queue unless it is already due at
// the right time.
func (s *nodeScheduler) arm(t *nodeTimer) {
	at := s.fireTime(t.deadline)
	if t.inner != nil {
		if d := at.Sub(t.fireAt); d > -rearmTolerance && d < rearmTolerance {
			return
		}
		t.inner.Stop()
	}
	t.fireAt = at
	t.inner = s.n.sim.sched.At(at, func() {
		if t.stopped {
			return
		}
		if t.deadline.Sub(s.n.clock.ReadRaw()) > time.Microsecond {
			t.inner = nil
			s.arm(t)
			return
		}
		t.stopped = true
		s.remove(t)
		t.fn()
		s.n.settle()
	})
}

// rearmTolerance is how far a timer's due time may move before it is
// re-armed: the tiny rate changes of the frequency random walk would
// otherwise re-arm every timer every second.
const rearmTolerance = time.Microsecond

// rearm moves every pending timer to the time its deadline is now reached.
func (s *nodeScheduler) rearm() {
	for _, t := range append([]*nodeTimer(nil), s.pending...) {
		if !t.stopped {
			s.arm(t)
		}
	}
}

// settle re-arms the node's timers after an event that may have changed its
// clock's rate.
func (n *Node) settle() { n.sched.rearm() }

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
