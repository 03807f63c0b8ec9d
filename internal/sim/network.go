package sim

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/chronygo/chronygo/internal/engine"
)

// Path describes one direction of a network path at a moment.
type Path struct {
	// Base is the minimum one-way delay, in seconds.
	Base float64
	// Jitter scales the exponential delay component, in seconds.
	Jitter float64
	// K multiplies the jitter for this direction: 1 − 2a upstream (client
	// to server) and 1 + 2a downstream for jitter asymmetry a; 1 otherwise.
	K float64
	// Loss is the probability that a packet is lost.
	Loss float64
	// Cut drops every packet.
	Cut bool
}

// PathFunc returns the path from one address to another at true time t
// (seconds since the simulation epoch).
type PathFunc func(from, to netip.Addr, t float64) Path

// Endpoint receives the datagrams addressed to one of its addresses.
type Endpoint interface {
	// Deliver hands over a datagram at the current virtual time.
	Deliver(payload []byte, from, to netip.AddrPort)
}

// Network carries datagrams between endpoints over virtual time. Each
// packet's one-way delay is Base + K × Jitter × Exp(1).
type Network struct {
	sched     *engine.VirtualScheduler
	epoch     time.Time
	rng       *rand.Rand
	path      PathFunc
	endpoints map[netip.Addr]Endpoint
	// Sent and Lost count datagrams.
	Sent, Lost int
}

// NewNetwork returns a network delivering through sched.
func NewNetwork(sched *engine.VirtualScheduler, epoch time.Time, rng *rand.Rand, path PathFunc) *Network {
	return &Network{sched: sched, epoch: epoch, rng: rng, path: path, endpoints: map[netip.Addr]Endpoint{}}
}

// Attach makes ep receive the datagrams sent to addr.
func (n *Network) Attach(addr netip.Addr, ep Endpoint) { n.endpoints[addr] = ep }

// Detach removes the endpoint of addr: datagrams to it vanish.
func (n *Network) Detach(addr netip.Addr) { delete(n.endpoints, addr) }

// Send schedules the delivery of payload (copied) from one address to
// another, or drops it as the path dictates.
func (n *Network) Send(payload []byte, from, to netip.AddrPort) {
	n.Sent++
	now := n.sched.Now()
	p := n.path(from.Addr(), to.Addr(), now.Sub(n.epoch).Seconds())
	if p.Cut || (p.Loss > 0 && n.rng.Float64() < p.Loss) {
		n.Lost++
		return
	}
	delay := p.Base + p.K*p.Jitter*n.rng.ExpFloat64()
	if delay < 0 {
		delay = 0
	}
	data := append([]byte(nil), payload...)
	n.sched.At(now.Add(secondsToDuration(delay)), func() {
		ep, ok := n.endpoints[to.Addr()]
		if !ok {
			n.Lost++
			return
		}
		ep.Deliver(data, from, to)
	})
}

func secondsToDuration(s float64) time.Duration {
	return time.Duration(s * float64(time.Second))
}
