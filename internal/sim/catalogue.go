package sim

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
)

// Catalogue returns the accuracy scenarios of DESIGN.md (chrony's
// simulation suite, one entry per variant) and the deployment scenario.
func Catalogue() []Scenario {
	var out []Scenario
	add := func(sc Scenario) { out = append(out, sc) }

	sc := base()
	sc.Name = "defaults"
	sc.Reference = Figures{131, 209, 52.4, 5.3, 0.34}
	sc.Measured = Figures{131, 160.7, 71.1, 2.68, 0.166}
	add(sc)

	freqMeasured := map[float64]Figures{
		-5e-2: {144, 160.4, 76.8, 0.268, 0.064}, -5e-3: {132, 153.5, 73.6, 0.259, 0.061},
		5e-3: {130, 152.1, 72.9, 0.258, 0.061}, 5e-2: {128, 146.7, 70.5, 0.260, 0.059},
	}
	for _, f := range []float64{-5e-2, -5e-3, 5e-3, 5e-2} {
		sc := base()
		sc.Measured = freqMeasured[f]
		sc.Name = fmt.Sprintf("large freq offset %g", f)
		sc.FreqOffset = f
		sc.TimeOffset = -130 * f
		sc.Limits.MaxSync = 1000
		sc.Reference = Figures{145, 158, 66, 0.47, 0.095}
		add(sc)
	}

	timeMeasured := map[float64]Figures{-100: {1330, 152.0, 75.5, 0.237, 0.059}, 100: {1330, 151.8, 75.0, 0.222, 0.057}}
	for _, off := range []float64{-100, 100} {
		sc := base()
		sc.Measured = timeMeasured[off]
		sc.Name = fmt.Sprintf("large time offset %g", off)
		sc.TimeOffset = off
		sc.Limits.MinSync, sc.Limits.MaxSync = 1300, 1400
		sc.Reference = Figures{1333, 211, 108, 0.17, 0.06}
		add(sc)
	}

	sc = base()
	sc.Name = "large jitter"
	sc.TimeOffset, sc.Jitter = 1, 0.1
	sc.Limits.MaxTime, sc.Limits.MaxFreq, sc.Limits.RMSTime, sc.Limits.RMSFreq = 0.5, 0.2, 0.1, 5e-3
	sc.Reference = Figures{137, 43700, 20200, 406, 69.5}
	sc.Measured = Figures{136, 65797, 18440, 3117, 145.6}
	add(sc)

	sc = base()
	sc.Name = "large wander"
	sc.Wander = 1e-7
	sc.Limits.MaxTime, sc.Limits.MaxFreq, sc.Limits.RMSTime, sc.Limits.RMSFreq = 5e-3, 5e-3, 1e-3, 1e-4
	sc.Reference = Figures{130, 520, 141, 23.7, 2.74}
	sc.Measured = Figures{131, 548.6, 143.5, 44.2, 2.88}
	add(sc)

	selMeasured := map[int]Figures{1: {133, 146.9, 71.4, 0.840, 0.075}, 2: {133, 149.7, 71.9, 0.980, 0.091}}
	for _, ft := range []int{1, 2} {
		sc := base()
		sc.Measured = selMeasured[ft]
		sc.Name = fmt.Sprintf("source selection %d falsetickers", ft)
		sc.Base, sc.Servers, sc.Falsetickers = 1e-3, 5, ft
		sc.Reference = Figures{133, 147, 58, 0.6, 0.075}
		sc.Check = checkSelected(ft+1, 5)
		add(sc)
	}

	sc = base()
	sc.Name = "asymmetric jitter"
	sc.Jitter, sc.Asymmetry, sc.Duration = 5e-4, 0.47, 100000
	sc.Limits.MaxSync = 2000
	sc.Reference = Figures{200, 243, 75.8, 2.74, 0.196}
	sc.Measured = Figures{184, 337.9, 81.8, 6.19, 0.197}
	add(sc)

	sc = base()
	sc.Name = "iburst + driftfile"
	sc.ServerOptions = "iburst"
	sc.ClientConf = "makestep 1e-2 1\ndriftfile /var/lib/chrony/drift"
	sc.Drift = &DriftContent{FreqPPM: 100, SkewPPM: 1}
	sc.Limits.MinSync, sc.Limits.MaxSync = 4, 6
	sc.Reference = Figures{5, 155, 74.8, 6.7, 0.23}
	sc.Measured = Figures{5, 160.4, 72.2, 18.0, 0.327}
	add(sc)

	stepMeasured := map[float64]Figures{
		-1: {142, 8.8, 7.5, 0.237, 0.112}, -0.1: {131, 8.8, 7.5, 0.240, 0.108},
		0.1: {131, 8.8, 7.5, 0.249, 0.110}, 1: {142, 8.9, 7.6, 0.253, 0.106},
	}
	for _, off := range []float64{-1, -0.1, 0.1, 1} {
		sc := base()
		sc.Measured = stepMeasured[off]
		sc.Name = fmt.Sprintf("makestep %g", off)
		sc.Duration, sc.Jitter, sc.TimeOffset = 200, 1e-5, off
		sc.ClientConf = "makestep 2 1"
		sc.Limits.MinSync, sc.Limits.MaxSync = 130, 150
		sc.Reference = Figures{142, 12.3, 10.8, 0.55, 0.23}
		add(sc)
	}

	sc = base()
	sc.Name = "minsources 3"
	sc.Servers = 3
	sc.ClientConf = "minsources 3"
	sc.Reference = Figures{133, 152, 41.1, 1.57, 0.14}
	sc.Measured = Figures{132, 162.2, 74.7, 1.32, 0.118}
	sc.Check = checkSelected(1, 3)
	add(sc)

	lossMeasured := map[string]Figures{
		"maxpoll 8":        {1000, 134.5, 53.7, 1.56, 0.134},
		"maxpoll 8 xleave": {1083, 138.1, 59.6, 1.20, 0.130},
	}
	for _, opts := range []string{"maxpoll 8", "maxpoll 8 xleave"} {
		sc := base()
		sc.Measured = lossMeasured[opts]
		sc.Name = "packet loss, peers, " + opts
		sc.Clients, sc.Peers = 2, true
		sc.Jitter, sc.Duration = 1e-5, 20000
		sc.ServerOptions, sc.PeerOptions = opts, opts
		sc.Limits.MaxSync = 10000
		sc.Path = lossyPeersPath
		sc.Reference = Figures{2041, 206, 81, 1.44, 0.16}
		add(sc)
	}

	for _, v := range []struct {
		servers  int
		conf     string
		want     int
		measured Figures
	}{
		{3, "pool pool.sim.test", 3, Figures{132, 57.0, 31.9, 1.46, 0.547}},
		{6, "pool pool.sim.test minpoll 6 maxpoll 6", 4, Figures{132, 53.6, 31.3, 1.06, 0.408}},
		{6, "pool pool.sim.test maxsources 2 minpoll 6 maxpoll 6", 2, Figures{132, 60.8, 35.2, 1.52, 0.531}},
	} {
		sc := base()
		sc.Measured = v.measured
		sc.Name = fmt.Sprintf("pool %d servers %q", v.servers, strings.TrimPrefix(v.conf, "pool pool.sim.test"))
		sc.Servers, sc.Duration, sc.ServerConf = v.servers, 500, v.conf
		n := v.servers
		sc.Setup = func(s *Simulation, _ *Scenario) {
			var addrs []netip.Addr
			for i := 1; i <= n; i++ {
				addrs = append(addrs, ServerAddr(i))
			}
			s.SetName("pool.sim.test", addrs...)
		}
		sc.Check = checkPoolMembers(v.want)
		sc.Reference = Figures{133, 28, 18.6, 0.39, 0.17}
		add(sc)
	}
	for _, off := range []float64{-2, -0.2, 0.2, 2, -100, 100} {
		sc := base()
		sc.Name = fmt.Sprintf("initstepslew %g", off)
		sc.FreqOffset, sc.Wander, sc.TimeOffset, sc.Duration = 0, 0, off, 100
		sc.ServerConf = "# no other source"
		sc.ClientConf = "initstepslew 5 " + ServerAddr(1).String()
		sc.Limits.RMSTime = 1e-3
		sc.Limits.MinSync, sc.Limits.MaxSync = 6, 35
		if off < -5 || off > 5 {
			sc.Limits.MinSync, sc.Limits.MaxSync = 5, 5
		}
		add(sc)
	}

	sc = base()
	sc.Name = "xleave"
	sc.ServerOptions = "xleave"
	// chronyd 4.8 under clknetsim, 40 seeds (001-defaults with xleave).
	sc.Measured = Figures{196, 225.1, 92.0, 5.39, 0.311}
	sc.Limits.MaxSync = 270
	add(sc)

	sc = base()
	sc.Name = "peers, alternating cuts to the server"
	sc.Clients, sc.Peers = 2, true
	sc.ServerOptions, sc.PeerOptions = "minpoll 6 maxpoll 6", "minpoll 6 maxpoll 6"
	sc.Limits.MaxFreq, sc.Limits.MaxSync = 1e-3, 1000
	sc.Path = alternatingCutsPath
	add(sc)

	sc = base()
	sc.Name = "stratum 2 through a chronygo server"
	sc.Stratum2 = true
	sc.Limits.MaxSync = 400
	sc.Check = func(_ *Simulation, nodes []*Node) []string {
		var bad []string
		for i, n := range nodes {
			if st := n.Engine().Snapshot().Stratum; st != 3 {
				bad = append(bad, fmt.Sprintf("client%d: stratum %d, want 3", i+1, st))
			}
		}
		return bad
	}
	add(sc)

	add(Deployment())
	return out
}

// lossyPeersPath is scenario 125's network: a third of all packets lost
// and no path from the second client to the server.
func lossyPeersPath(sc *Scenario, from, to netip.Addr, _ float64) Path {
	p := Path{Base: sc.Base, Jitter: sc.Jitter, K: 1, Loss: 0.33}
	if from == ClientAddr(2) && isServer(to) {
		p.Cut = true
	}
	return p
}

// alternatingCutsPath is scenario 108's network: the first client cannot
// reach the server during the first half of every 2000 s, the second client
// during the second half.
func alternatingCutsPath(sc *Scenario, from, to netip.Addr, t float64) Path {
	p := Path{Base: sc.Base, Jitter: sc.Jitter, K: 1}
	if isServer(to) {
		phase := math.Mod(t, 2000)
		if (from == ClientAddr(1) && phase < 1000) || (from == ClientAddr(2) && phase >= 1000) {
			p.Cut = true
		}
	}
	return p
}

// checkSelected verifies that each client selected a truechimer: a server
// numbered from first to last.
func checkSelected(first, last int) func(*Simulation, []*Node) []string {
	return func(_ *Simulation, nodes []*Node) []string {
		var bad []string
		for i, n := range nodes {
			sel := n.Engine().Selector().Selected()
			if sel == nil {
				bad = append(bad, fmt.Sprintf("client%d: no source selected", i+1))
				continue
			}
			a := sel.Addr()
			ok := false
			for j := first; j <= last; j++ {
				if a == ServerAddr(j) {
					ok = true
				}
			}
			if !ok {
				bad = append(bad, fmt.Sprintf("client%d: selected %s", i+1, a))
			}
		}
		return bad
	}
}

// checkPoolMembers verifies how many pool sources each client used.
func checkPoolMembers(want int) func(*Simulation, []*Node) []string {
	return func(_ *Simulation, nodes []*Node) []string {
		var bad []string
		for i, n := range nodes {
			got := len(n.Engine().Selector().Sources())
			if got != want {
				bad = append(bad, fmt.Sprintf("client%d: %d pool sources, want %d", i+1, got, want))
			}
		}
		return bad
	}
}
