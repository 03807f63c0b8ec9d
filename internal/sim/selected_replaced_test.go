package sim

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastDeploymentConf is the deployment config as the end-to-end suite runs
// it: "minpoll 1 maxpoll 2" on the pool and peer lines.
func fastDeploymentConf(twin netip.Addr) string {
	var b strings.Builder
	for _, line := range strings.Split(DeploymentConf, "\n") {
		switch {
		case strings.HasPrefix(line, "pool "):
			line += " minpoll 1 maxpoll 2"
		case strings.HasPrefix(line, "peer "):
			line = "peer " + twin.String() + " minpoll 1 maxpoll 2"
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// TestSelectedPoolSourceReplacedKeepsStratum1 reproduces the end-to-end
// suite's pool failure: the two twins run the fast deployment config, then
// the upstream each twin has selected stops and leaves its pool's DNS
// answer. When the dead selected source is replaced from the pool, the
// twin must stay on a stratum-1 source (four remain) and never select its
// twin, as chronyd does: chronyd keeps its sources in configuration order
// (the pools' sources before the peer), so equal scores never favour the
// peer.
func TestSelectedPoolSourceReplacedKeepsStratum1(t *testing.T) {
	const (
		failAt  = 120.0
		runFor  = 150.0
		perPool = 4
	)
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			s := NewSimulation(seed, func(_, _ netip.Addr, _ float64) Path {
				return Path{Base: 1e-4, Jitter: 1e-4, K: 1}
			})
			poolOf := map[netip.Addr]string{}
			names := map[string][]netip.Addr{}
			for _, p := range deploymentPools {
				for j := 0; j < perPool; j++ {
					a := ServerAddr(p.first + j)
					s.AddServer(a, 0)
					poolOf[a] = p.name
					names[p.name] = append(names[p.name], a)
				}
				s.SetName(p.name, names[p.name]...)
			}
			var nodes []*Node
			for i := 1; i <= 2; i++ {
				n, err := s.AddNode(NodeConfig{
					Name: fmt.Sprintf("twin%d", i), Addr: ClientAddr(i),
					Conf:       fastDeploymentConf(ClientAddr(3 - i)),
					TimeOffset: 0.01, FreqOffset: 1e-5, Wander: 1e-9,
				})
				require.NoError(t, err)
				nodes = append(nodes, n)
			}
			s.Run(failAt)

			// Stop each twin's selected upstream and withdraw it from DNS.
			var killed []netip.Addr
			for _, n := range nodes {
				sel := n.Engine().Selector().Selected()
				require.NotNil(t, sel, "%s has no selected source at %.0f s", n.cfg.Name, failAt)
				a := sel.Addr()
				require.Contains(t, poolOf, a, "%s selected %v, not a pool source", n.cfg.Name, a)
				if !slices.Contains(killed, a) {
					killed = append(killed, a)
				}
			}
			for _, a := range killed {
				s.Network().Detach(a)
				p := poolOf[a]
				names[p] = slices.DeleteFunc(names[p], func(x netip.Addr) bool { return x == a })
				s.SetName(p, names[p]...)
			}
			logsBefore := make([]int, len(nodes))
			for i, n := range nodes {
				logsBefore[i] = len(n.Logs())
			}
			var left []string
			for k := 0; k < int(runFor); k++ {
				s.Run(1)
				for _, n := range nodes {
					if snap := n.Engine().Snapshot(); snap.Stratum != 2 {
						left = append(left, fmt.Sprintf("%s at %.0f s: stratum %d refid %08X",
							n.cfg.Name, s.Elapsed(), snap.Stratum, snap.RefID))
					}
				}
			}
			s.Stop()
			assert.Empty(t, left, "left stratum 2 while four stratum-1 sources remained")
			for i, n := range nodes {
				after := strings.Join(n.Logs()[logsBefore[i]:], "\n")
				assert.Contains(t, after, "replaced with", "%s: the dead selected source was not replaced", n.cfg.Name)
				for j := 1; j <= 2; j++ {
					assert.NotContains(t, after, "Selected source "+ClientAddr(j).String(),
						"%s selected its twin after the replacement:\n%s", n.cfg.Name, after)
				}
			}
		})
	}
}

// fastDeployment builds the two twins of the fast deployment config with
// every pool resolving to perPool stratum-1 servers.
func fastDeployment(t *testing.T, seed uint64, perPool int) (*Simulation, []*Node, map[netip.Addr]string) {
	t.Helper()
	s := NewSimulation(seed, func(_, _ netip.Addr, _ float64) Path {
		return Path{Base: 1e-4, Jitter: 1e-4, K: 1}
	})
	poolOf := map[netip.Addr]string{}
	for _, p := range deploymentPools {
		var addrs []netip.Addr
		for j := 0; j < perPool; j++ {
			a := ServerAddr(p.first + j)
			s.AddServer(a, 0)
			poolOf[a] = p.name
			addrs = append(addrs, a)
		}
		s.SetName(p.name, addrs...)
	}
	var nodes []*Node
	for i := 1; i <= 2; i++ {
		n, err := s.AddNode(NodeConfig{
			Name: fmt.Sprintf("twin%d", i), Addr: ClientAddr(i),
			Conf:       fastDeploymentConf(ClientAddr(3 - i)),
			TimeOffset: 0.01, FreqOffset: 1e-5, Wander: 1e-9,
		})
		require.NoError(t, err)
		nodes = append(nodes, n)
	}
	return s, nodes, poolOf
}

// TestAllUpstreamsLostNeverSelectsTwin reproduces the end-to-end suite's
// loss of every upstream and of DNS: each twin keeps only its twin as a
// reachable source, fewer than minsources 2. When the dead sources go
// stale, chronyd logs "Can't synchronise" and keeps serving its last
// reference at stratum 2; it never selects the twin (which would make it
// serve stratum 3), because a dead pool source, ahead of the peer in
// chronyd's order, wins the tie of equal scores and has no new sample to
// update the reference with.
func TestAllUpstreamsLostNeverSelectsTwin(t *testing.T) {
	const (
		lostAt = 120.0
		runFor = 420.0
	)
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			s, nodes, poolOf := fastDeployment(t, seed, 2)
			s.Run(lostAt)
			for a := range poolOf {
				s.Network().Detach(a)
			}
			for _, p := range deploymentPools {
				s.SetName(p.name)
			}
			logsBefore := make([]int, len(nodes))
			for i, n := range nodes {
				logsBefore[i] = len(n.Logs())
			}
			var wrong []string
			for k := 0; k < int(runFor); k++ {
				s.Run(1)
				for _, n := range nodes {
					if snap := n.Engine().Snapshot(); snap.Stratum != 2 {
						wrong = append(wrong, fmt.Sprintf("%s at %.0f s: stratum %d refid %08X",
							n.cfg.Name, s.Elapsed(), snap.Stratum, snap.RefID))
					}
				}
			}
			s.Stop()
			assert.Empty(t, wrong, "served another stratum than its last reference's")
			for i, n := range nodes {
				after := strings.Join(n.Logs()[logsBefore[i]:], "\n")
				assert.Contains(t, after, "Can't synchronise: not enough selectable sources", "%s", n.cfg.Name)
				assert.Nil(t, n.Engine().Selector().Selected(), "%s still has a selected source", n.cfg.Name)
				for j := 1; j <= 2; j++ {
					assert.NotContains(t, after, "Selected source "+ClientAddr(j).String(),
						"%s selected its twin with no upstream left:\n%s", n.cfg.Name, after)
				}
			}
		})
	}
}
