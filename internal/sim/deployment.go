package sim

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/chronygo/chronygo/pkg/discipline"
)

// DeploymentConf is testdata/chrony.conf: three pools of two sources each,
// a peer (the twin), makestep, rtcsync, minsources 2 and local stratum 10.
// The peer's address is replaced by the twin's simulated one.
const DeploymentConf = `pool 2.rocky.pool.ntp.org iburst maxsources 2
pool time.cloudflare.com iburst maxsources 2
pool time.google.com iburst maxsources 2
peer 172.16.3.101
makestep 1.0 3
rtcsync
minsources 2
local stratum 10
allow 127.0.0.1
allow 172.16.0.0/16
allow 2603:7080:7407:dd36::/64
`

// Deployment timeline (s).
const (
	deployPoolGone = 5000
	deployAllGone  = 10000
	// deployHoldOver is when the hold-over is checked: chronyd keeps its
	// last reference while the root distance grows (skew plus
	// maxclockerror, about 1 ppm), until it passes the local distance
	// (1 s) after roughly 10^6 s.
	deployHoldOver = 12000
	deployEnd      = 1200000
)

// deploymentPools maps each pool name to the servers it resolves to.
var deploymentPools = []struct {
	name  string
	first int
}{
	{"2.rocky.pool.ntp.org", 1},
	{"time.cloudflare.com", 11},
	{"time.google.com", 21},
}

const deploymentPoolSize = 4

// Deployment is the deployment of testdata/chrony.conf on two twins that
// peer with each other: all upstreams work, then the second pool's servers
// vanish, then every upstream vanishes. The twins must hold over, then
// serve from the local reference (stratum 10) or follow the twin, and never
// synchronise to each other in a loop.
func Deployment() Scenario {
	sc := base()
	sc.Name = "deployment: 3 pools + twin, pool lost, all lost"
	sc.Clients = 2
	sc.TimeOffset = 0.5
	sc.Duration = deployEnd
	sc.Limits = DefaultLimits()
	sc.Limits.MaxSync = 1000
	sc.Limits.MinSync = 0
	// Statistics stop at the hold-over check: afterwards the clocks drift
	// freely.
	sc.StatsUntil = deployHoldOver
	sc.ConfFor = func(i int) string {
		twin := ClientAddr(3 - i)
		return strings.Replace(DeploymentConf, "peer 172.16.3.101", "peer "+twin.String(), 1)
	}
	var servers []int
	for _, p := range deploymentPools {
		for j := 0; j < deploymentPoolSize; j++ {
			servers = append(servers, p.first+j)
		}
	}
	sc.Servers = 0
	sc.Setup = func(s *Simulation, _ *Scenario) {
		for _, p := range deploymentPools {
			var addrs []netip.Addr
			for j := 0; j < deploymentPoolSize; j++ {
				a := ServerAddr(p.first + j)
				s.AddServer(a, 0)
				addrs = append(addrs, a)
			}
			s.SetName(p.name, addrs...)
		}
		at := func(t float64, fn func()) { s.sched.At(Epoch.Add(secondsToDuration(t)), fn) }
		at(deployPoolGone, func() {
			for j := 0; j < deploymentPoolSize; j++ {
				s.net.Detach(ServerAddr(deploymentPools[1].first + j))
			}
		})
		at(deployAllGone, func() {
			for _, n := range servers {
				s.net.Detach(ServerAddr(n))
			}
		})
		// Record each twin's reference at the phase boundaries.
		for _, t := range []float64{deployPoolGone - 1, deployAllGone - 1, deployHoldOver, deployEnd - 1} {
			t := t
			at(t, func() {
				for _, n := range s.nodes {
					n.marks = append(n.marks, mark{t: t, snap: n.engine.Snapshot(), sources: len(n.engine.Selector().Sources())})
				}
			})
		}
	}
	sc.Check = checkDeployment
	return sc
}

// mark is a node's published reference at a moment of the scenario.
type mark struct {
	t       float64
	snap    *discipline.ReferenceSnapshot
	sources int
}

func checkDeployment(_ *Simulation, nodes []*Node) []string {
	var bad []string
	for i, n := range nodes {
		if len(n.marks) != 4 {
			bad = append(bad, fmt.Sprintf("client%d: %d marks", i+1, len(n.marks)))
			continue
		}
		if got := n.marks[0].sources; got != 7 {
			bad = append(bad, fmt.Sprintf("client%d: %d sources, want six pool sources and the peer", i+1, got))
		}
		for _, m := range n.marks[:2] {
			if !m.snap.Synchronised || m.snap.Stratum != 2 {
				bad = append(bad, fmt.Sprintf("client%d at %.0f s: stratum %d refid %08X, want synchronised at stratum 2",
					i+1, m.t, m.snap.Stratum, m.snap.RefID))
			}
		}
		if h := n.marks[2].snap; !h.Synchronised || h.Stratum < 2 || h.Stratum > 3 || h.RefID == discipline.LocalRefID {
			bad = append(bad, fmt.Sprintf("client%d in hold-over: synchronised %v stratum %d refid %08X, want the last reference kept",
				i+1, h.Synchronised, h.Stratum, h.RefID))
		}
		end := n.marks[3].snap
		switch {
		case end.Synchronised && end.Stratum == 10 && end.RefID == discipline.LocalRefID:
		case end.Synchronised && end.Stratum == 11:
		default:
			bad = append(bad, fmt.Sprintf("client%d at end: synchronised %v stratum %d refid %08X, want local stratum 10 or the twin",
				i+1, end.Synchronised, end.Stratum, end.RefID))
		}
	}
	a, b := ClientAddr(1), ClientAddr(2)
	if len(nodes) == 2 && len(nodes[0].marks) == len(nodes[1].marks) {
		for i, m := range nodes[0].marks {
			if m.snap.RefID == refID4(b) && nodes[1].marks[i].snap.RefID == refID4(a) {
				bad = append(bad, fmt.Sprintf("the twins are synchronised to each other at %.0f s (loop)", m.t))
			}
		}
	}
	return bad
}

func refID4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
