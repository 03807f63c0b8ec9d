package sim

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/pkg/ntp/pool"
)

// Epoch is the true time at which every simulation starts.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Simulation is one seeded run: the virtual time queue, the network, the
// servers, the client nodes and the name table.
type Simulation struct {
	sched   *engine.VirtualScheduler
	net     *Network
	rng     *rand.Rand
	nodes   []*Node
	servers []*IdealServer
	names   map[string][]netip.Addr
	// ResolveDelay is how long a name lookup takes (s).
	ResolveDelay float64
}

// NewSimulation creates an empty simulation with the given seed and path
// model.
func NewSimulation(seed uint64, path PathFunc) *Simulation {
	sched := engine.NewVirtualScheduler(Epoch)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := &Simulation{sched: sched, rng: rng, names: map[string][]netip.Addr{}, ResolveDelay: 0.01}
	s.net = NewNetwork(sched, Epoch, s.childRand(), path)
	return s
}

// childRand returns a new generator derived from the simulation's seed.
func (s *Simulation) childRand() *rand.Rand {
	return rand.New(rand.NewPCG(s.rng.Uint64(), s.rng.Uint64()))
}

// Now returns the true (virtual) time.
func (s *Simulation) Now() time.Time { return s.sched.Now() }

// Elapsed returns the seconds since the start of the simulation.
func (s *Simulation) Elapsed() float64 { return s.sched.Now().Sub(Epoch).Seconds() }

// Network returns the simulated network.
func (s *Simulation) Network() *Network { return s.net }

// Scheduler returns the virtual time queue (to schedule scenario events).
func (s *Simulation) Scheduler() *engine.VirtualScheduler { return s.sched }

// AddServer adds an ideal stratum-1 server at addr whose clock is offset
// seconds off true time.
func (s *Simulation) AddServer(addr netip.Addr, offset float64) *IdealServer {
	srv := NewIdealServer(netip.AddrPortFrom(addr, 123), s.net, s.sched.Now, secondsToDuration(offset))
	s.servers = append(s.servers, srv)
	return srv
}

// AddNode adds a client node running the engine.
func (s *Simulation) AddNode(cfg NodeConfig) (*Node, error) {
	n, err := newNode(s, cfg)
	if err != nil {
		return nil, err
	}
	s.nodes = append(s.nodes, n)
	return n, nil
}

// SetName makes name resolve to addrs.
func (s *Simulation) SetName(name string, addrs ...netip.Addr) { s.names[name] = addrs }

// LookupNetIP implements pool.Lookup from the simulation's name table.
func (s *Simulation) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := s.names[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return append([]netip.Addr(nil), addrs...), nil
}

// Resolve implements engine.Resolver from the simulation's name table,
// answering after ResolveDelay.
func (s *Simulation) Resolve(req pool.ResolveRequest, done func(pool.Result)) {
	addrs, st := pool.Resolve(context.Background(), s, req.Name, req.Family)
	s.sched.At(s.sched.Now().Add(secondsToDuration(s.ResolveDelay)), func() {
		done(pool.Result{ID: req.ID, Name: req.Name, Addrs: addrs, Status: st})
		s.settle()
	})
}

// Run starts the nodes and runs the simulation for duration seconds,
// sampling the nodes' errors every second.
func (s *Simulation) Run(duration float64) {
	for _, n := range s.nodes {
		if !n.started {
			n.started = true
			n.engine.Start()
			n.settle()
		}
	}
	start := s.Elapsed()
	for i := 1; float64(i) <= duration; i++ {
		t := start + float64(i)
		s.sched.RunUntil(Epoch.Add(secondsToDuration(t)))
		for _, n := range s.nodes {
			n.tick(t)
		}
	}
}

// settle re-arms every node's timers after an event that may have run
// engine code adjusting a clock.
func (s *Simulation) settle() {
	for _, n := range s.nodes {
		n.settle()
	}
}

// Stop shuts the nodes' engines down (writing their drift files).
func (s *Simulation) Stop() {
	for _, n := range s.nodes {
		_ = n.engine.Shutdown()
	}
}

// Result returns the statistics of a node whose errors were collected.
func (n *Node) Result() Result {
	if n.stats == nil {
		return Result{}
	}
	end := n.sim.Elapsed()
	if n.cfg.StatsUntil != 0 && n.cfg.StatsUntil < end {
		end = n.cfg.StatsUntil
	}
	return n.stats.result(end)
}
