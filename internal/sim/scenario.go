package sim

import (
	"fmt"
	"net/netip"
	"strings"
)

// Scenario is one test of chrony's simulation suite: servers, network and
// client settings, and the limits a client must meet.
type Scenario struct {
	// Name identifies the scenario in tables.
	Name string
	// Duration is the simulated time (s, default 10000).
	Duration float64
	// Servers is the number of stratum-1 servers (default 1); the first
	// Falsetickers of them are i seconds off (server i).
	Servers, Falsetickers int
	// Base, Jitter and Asymmetry model each packet's delay (s); Loss is
	// the probability of losing a packet.
	Base, Jitter, Asymmetry, Loss float64
	// TimeOffset (s) and FreqOffset (s/s) are the client's initial clock
	// errors; Wander is the random walk step of its frequency.
	TimeOffset, FreqOffset, Wander float64
	// ServerOptions are appended to each server line; ServerConf replaces
	// the server lines (e.g. a pool directive, with %s... not expanded).
	ServerOptions string
	ServerConf    string
	// ClientConf holds extra client directives.
	ClientConf string
	// Drift, when not nil, is the client's drift file content.
	Drift *DriftContent
	// Limits are the pass limits.
	Limits Limits
	// StatsUntil, when not zero, ends the error statistics at this time (s).
	StatsUntil float64
	// Clients is the number of clients (default 1). With Peers, the
	// clients peer with each other using PeerOptions.
	Clients     int
	Peers       bool
	PeerOptions string
	// Stratum2 puts a chronygo server between the stratum-1 servers and
	// the clients: the clients use it as their only server.
	Stratum2 bool
	// ConfFor, when not nil, gives client i's whole chrony.conf instead of
	// the generated one.
	ConfFor func(i int) string
	// Path overrides the delay model (nil: Base/Jitter/Asymmetry/Loss).
	Path func(sc *Scenario, from, to netip.Addr, t float64) Path
	// Setup runs after the simulation is built (names, scheduled events).
	Setup func(s *Simulation, sc *Scenario)
	// Check, when not nil, adds scenario-specific checks (e.g. the right
	// sources used); it returns the problems found.
	Check func(s *Simulation, nodes []*Node) []string
	// Reference is chronyd 4.8's figures for the table (DESIGN.md: one run
	// of chrony's suite, the targets).
	Reference Figures
	// Measured is chronyd 4.8's mean over 40 seeds of the same test of
	// chrony's suite under clknetsim (see MeasuredNote); zero when not
	// measured.
	Measured Figures
}

// MeasuredNote says where the Measured figures come from.
const MeasuredNote = "chronyd 4.8 (built from the reference source) under clknetsim 134028f, " +
	"chrony's own test scripts, CLKNETSIM_RANDOM_SEED 1-40, mean over seeds (and clients)"

// Figures are the statistics chronyd 4.8 reached in chrony's own suite
// (DESIGN.md): sync s, max and RMS time error µs, max and RMS freq error ppm.
type Figures struct {
	Sync, MaxTimeUs, RMSTimeUs, MaxFreqPPM, RMSFreqPPM float64
}

// ServerAddr returns the address of server i (1-based).
func ServerAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}) }

// ClientAddr returns the address of client i (1-based).
func ClientAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}) }

// Stratum2Addr is the address of the chronygo server of Stratum2 scenarios.
var Stratum2Addr = netip.AddrFrom4([4]byte{203, 0, 113, 200})

func isServer(a netip.Addr) bool { return a.Is4() && a.As4()[0] == 203 }

func (sc *Scenario) withDefaults() Scenario {
	c := *sc
	if c.Duration == 0 {
		c.Duration = 10000
	}
	if c.Servers == 0 {
		c.Servers = 1
	}
	if c.Clients == 0 {
		c.Clients = 1
	}
	if c.Limits == (Limits{}) {
		c.Limits = DefaultLimits()
	}
	return c
}

// defaultPath is the suite's delay model: upstream (towards a server) the
// jitter is scaled by 1 − 2a, downstream by 1 + 2a.
func defaultPath(sc *Scenario, from, to netip.Addr, _ float64) Path {
	k := 1.0
	if sc.Asymmetry != 0 {
		if isServer(to) {
			k = 1 - 2*sc.Asymmetry
		} else {
			k = 1 + 2*sc.Asymmetry
		}
	}
	return Path{Base: sc.Base, Jitter: sc.Jitter, K: k, Loss: sc.Loss}
}

// clientConf builds the chrony.conf of client i.
func (sc *Scenario) clientConf(i int) string {
	if sc.ConfFor != nil {
		return sc.ConfFor(i)
	}
	var b strings.Builder
	if sc.ServerConf != "" {
		b.WriteString(sc.ServerConf + "\n")
	} else {
		for j := 1; j <= sc.Servers; j++ {
			fmt.Fprintf(&b, "server %s %s\n", ServerAddr(j), sc.ServerOptions)
		}
	}
	if sc.Peers {
		for j := 1; j <= sc.Clients; j++ {
			if j != i {
				fmt.Fprintf(&b, "peer %s %s\n", ClientAddr(j), sc.PeerOptions)
			}
		}
	}
	b.WriteString(sc.ClientConf + "\n")
	return b.String()
}

// Build creates the simulation of a scenario with a seed.
func (sc *Scenario) Build(seed uint64) (*Simulation, []*Node, error) {
	c := sc.withDefaults()
	path := c.Path
	if path == nil {
		path = defaultPath
	}
	s := NewSimulation(seed, func(from, to netip.Addr, t float64) Path { return path(&c, from, to, t) })
	for i := 1; i <= c.Servers; i++ {
		off := 0.0
		if i <= c.Falsetickers {
			off = float64(i)
		}
		s.AddServer(ServerAddr(i), off)
	}
	if c.Stratum2 {
		var b strings.Builder
		for j := 1; j <= c.Servers; j++ {
			fmt.Fprintf(&b, "server %s %s\n", ServerAddr(j), c.ServerOptions)
		}
		if _, err := s.AddNode(NodeConfig{
			Name: "stratum2", Addr: Stratum2Addr, Conf: b.String(),
			FreqOffset: c.FreqOffset, Wander: c.Wander, Serve: true,
		}); err != nil {
			return nil, nil, err
		}
		c.ServerConf = fmt.Sprintf("server %s %s", Stratum2Addr, c.ServerOptions)
	}
	var nodes []*Node
	for i := 1; i <= c.Clients; i++ {
		n, err := s.AddNode(NodeConfig{
			Name:       fmt.Sprintf("client%d", i),
			Addr:       ClientAddr(i),
			Conf:       c.clientConf(i),
			TimeOffset: c.TimeOffset,
			FreqOffset: c.FreqOffset,
			Wander:     c.Wander,
			Drift:      c.Drift,
			Collect:    true,
			Limits:     c.Limits,
			StatsUntil: c.StatsUntil,
		})
		if err != nil {
			return nil, nil, err
		}
		nodes = append(nodes, n)
	}
	if c.Setup != nil {
		c.Setup(s, &c)
	}
	return s, nodes, nil
}

// Outcome is the result of one run of a scenario.
type Outcome struct {
	// Results holds each client's statistics.
	Results []Result
	// Problems lists limit violations and failed checks.
	Problems []string
}

// Run runs a scenario once with a seed.
func (sc *Scenario) Run(seed uint64) (Outcome, error) {
	c := sc.withDefaults()
	s, nodes, err := c.Build(seed)
	if err != nil {
		return Outcome{}, err
	}
	s.Run(c.Duration)
	s.Stop()
	var out Outcome
	for i, n := range nodes {
		r := n.Result()
		out.Results = append(out.Results, r)
		for _, p := range r.Check(c.Limits) {
			out.Problems = append(out.Problems, fmt.Sprintf("client%d: %s", i+1, p))
		}
	}
	if c.Check != nil {
		out.Problems = append(out.Problems, c.Check(s, nodes)...)
	}
	return out, nil
}

// Base scenario values (chrony's test.common defaults).
func base() Scenario {
	return Scenario{
		Base: 1e-4, Jitter: 1e-4, Wander: 1e-9,
		TimeOffset: 0.1, FreqOffset: 1e-4,
		Limits: DefaultLimits(),
	}
}
