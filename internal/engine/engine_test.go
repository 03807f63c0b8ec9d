package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/internal/sim"
	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/reference"
	"github.com/chronygo/chronygo/pkg/ntp/source"
)

// world is a small simulation: n ideal servers (the first falsetickers i
// seconds off) and one client running the engine with conf.
func world(t *testing.T, servers, falsetickers int, conf string, mutate func(*sim.NodeConfig)) (*sim.Simulation, *sim.Node) {
	t.Helper()
	s := sim.NewSimulation(7, func(_, _ netipAddr, _ float64) sim.Path {
		return sim.Path{Base: 1e-4, Jitter: 1e-4, K: 1}
	})
	var b strings.Builder
	for i := 1; i <= servers; i++ {
		off := 0.0
		if i <= falsetickers {
			off = float64(i)
		}
		s.AddServer(sim.ServerAddr(i), off)
		fmt.Fprintf(&b, "server %s\n", sim.ServerAddr(i))
	}
	cfg := sim.NodeConfig{Name: "client", Addr: sim.ClientAddr(1), Conf: b.String() + conf, TimeOffset: 0.1, FreqOffset: 1e-4}
	if mutate != nil {
		mutate(&cfg)
	}
	n, err := s.AddNode(cfg)
	require.NoError(t, err)
	return s, n
}

func direct(fn func()) error { fn(); return nil }

func hasLog(n *sim.Node, text string) bool {
	for _, l := range n.Logs() {
		if strings.Contains(l, text) {
			return true
		}
	}
	return false
}

func TestEngineSynchronises(t *testing.T) {
	tests := []struct {
		name         string
		servers      int
		falsetickers int
		conf         string
		wantSync     bool
		wantLog      string
	}{
		{"one server", 1, 0, "", true, "Selected source 203.0.113.1"},
		{"falseticker outvoted", 3, 1, "", true, "Detected falseticker 203.0.113.1"},
		{"minsources not met", 1, 0, "minsources 3", false, ""},
		{"no majority", 5, 3, "", false, "Can't synchronise: no majority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, n := world(t, tc.servers, tc.falsetickers, tc.conf, nil)
			s.Run(2000)
			snap := n.Engine().Snapshot()
			assert.Equal(t, tc.wantSync, snap.Synchronised, "logs: %v", n.Logs())
			if tc.wantSync {
				assert.EqualValues(t, 2, snap.Stratum)
				assert.Less(t, abs(n.Clock().TrueTimeError()), 1e-3)
			} else {
				assert.EqualValues(t, 0, snap.Stratum)
				assert.Equal(t, discipline.LeapUnsynchronised, snap.Leap)
			}
			if tc.wantLog != "" {
				assert.True(t, hasLog(n, tc.wantLog), "no %q in %v", tc.wantLog, n.Logs())
			}
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestControlReports(t *testing.T) {
	s, n := world(t, 3, 0, "", nil)
	s.Run(1500)
	c := engine.NewControl(n.Engine(), direct, nil)

	tr, st := c.Tracking()
	require.Equal(t, candm.StatusSuccess, st)
	assert.EqualValues(t, 2, tr.Stratum)
	assert.True(t, tr.IPAddr.IP.IsValid())
	assert.EqualValues(t, discipline.LeapNormal, tr.LeapStatus)

	num, st := c.NumSources()
	require.Equal(t, candm.StatusSuccess, st)
	require.Equal(t, 3, num)
	selected := 0
	for i := 0; i < num; i++ {
		d, st := c.SourceData(i)
		require.Equal(t, candm.StatusSuccess, st)
		assert.EqualValues(t, 1, d.Stratum)
		assert.EqualValues(t, 0377, d.Reachability)
		if d.State == candm.SourceStateSelected {
			selected++
		}
		ss, st := c.SourceStats(i)
		require.Equal(t, candm.StatusSuccess, st)
		assert.Positive(t, ss.NSamples)
		sd, st := c.SelectData(i)
		require.Equal(t, candm.StatusSuccess, st)
		assert.Contains(t, "*+", string(sd.StateChar))
		nd, st := c.NTPData(d.IPAddr)
		require.Equal(t, candm.StatusSuccess, st)
		assert.EqualValues(t, 1, nd.Stratum)
		assert.Positive(t, nd.TotalGoodCount)
		name, st := c.SourceName(d.IPAddr)
		require.Equal(t, candm.StatusSuccess, st)
		assert.Equal(t, d.IPAddr.IP.String(), name)
	}
	assert.Equal(t, 1, selected)
	_, st = c.SourceData(3)
	assert.Equal(t, candm.StatusNoSuchSource, st)
	unknown := candm.AddrFrom(sim.ServerAddr(99))
	_, st = c.NTPData(unknown)
	assert.Equal(t, candm.StatusNoSuchSource, st)

	act, st := c.Activity()
	require.Equal(t, candm.StatusSuccess, st)
	assert.EqualValues(t, 3, act.Online)

	off := cmdmon.Connectivity{Online: false, Address: candm.AddrFrom(sim.ServerAddr(2))}
	assert.Equal(t, candm.StatusSuccess, c.SetConnectivity(off))
	act, _ = c.Activity()
	assert.EqualValues(t, 2, act.Online)
	assert.EqualValues(t, 1, act.Offline)
	assert.Equal(t, candm.StatusNoSuchSource, c.SetConnectivity(cmdmon.Connectivity{Online: true, Address: unknown}))
	assert.Equal(t, candm.StatusSuccess, c.Burst(candm.Burst{GoodSamples: 4, TotalSamples: 8}))

	dup := candm.AddSource{Type: candm.SourceTypeServer, Name: sim.ServerAddr(1).String(), NameTerminated: true, Flags: candm.AddSrcOnline, Minpoll: 6, Maxpoll: 10, MaxDelay: 3, MaxDelayDevRatio: 10, Asymmetry: 1, MinSamples: -1, MaxSamples: -1, PollTarget: 8, Version: 4, MaxSources: 4, MaxUnreach: 100000, PresendMinpoll: 100}
	assert.Equal(t, candm.StatusSourceAlreadyKnown, c.AddSource(dup))
	fresh := dup
	fresh.Name = sim.ServerAddr(4).String()
	assert.Equal(t, candm.StatusSuccess, c.AddSource(fresh))
	num, _ = c.NumSources()
	assert.Equal(t, 4, num)
	assert.Equal(t, candm.StatusInvalidName, c.AddSource(candm.AddSource{Name: "x"}))
	assert.Equal(t, candm.StatusSuccess, c.DeleteSource(candm.AddrFrom(sim.ServerAddr(4))))
	assert.Equal(t, candm.StatusNoSuchSource, c.DeleteSource(candm.AddrFrom(sim.ServerAddr(4))))

	assert.Equal(t, candm.StatusSuccess, c.Run(cmdmon.ActionReselect))
	assert.Equal(t, candm.StatusSuccess, c.Run(cmdmon.ActionMakeStep))
	assert.Equal(t, candm.StatusFailed, c.Run(cmdmon.ActionShutdown), "no shutdown hook")
	assert.Equal(t, candm.StatusSuccess, c.ModifyMakestep(candm.Makestep{Limit: 3, Threshold: 1}))
	assert.Equal(t, candm.StatusSuccess, c.Tune(cmdmon.Tuning{Param: cmdmon.TuneReselectDistance, Value: 1e-3}))
	assert.Equal(t, candm.StatusSuccess, c.Local(candm.Local{On: true, Stratum: 10, Distance: 1}))
	assert.Equal(t, candm.StatusSuccess, c.ModifySelectOpts(cmdmon.SelectOptsChange{Address: candm.AddrFrom(sim.ServerAddr(1)), Mask: 0x2, Options: 0x2}))
	assert.True(t, hasLog(n, "selection options modified"))

	s.Run(600)
	assert.True(t, n.Engine().Snapshot().Synchronised)
}

func TestControlOverLoopFromOtherGoroutines(t *testing.T) {
	s, n := world(t, 1, 0, "", nil)
	s.Run(300)
	loop := engine.NewLoop(8)
	done := make(chan struct{})
	go func() { loop.Run(t.Context()); close(done) }()
	c := engine.NewControl(n.Engine(), func(fn func()) error { return loop.Call(t.Context(), fn) }, nil)
	num, st := c.NumSources()
	assert.Equal(t, candm.StatusSuccess, st)
	assert.Equal(t, 1, num)
	loop.Stop()
	<-done
	_, st = c.Tracking()
	assert.Equal(t, candm.StatusFailed, st, "a stopped loop answers FAILED")
}

func TestDriftFileLoadedAndSaved(t *testing.T) {
	s, n := world(t, 1, 0, "driftfile /var/lib/chrony/drift\n", func(c *sim.NodeConfig) {
		c.Drift = &sim.DriftContent{FreqPPM: 100, SkewPPM: 1}
	})
	assert.InDelta(t, 100, n.Clock().Frequency(), 1e-3, "frequency read from the drift file")
	assert.True(t, hasLog(n, "read from driftfile"))
	s.Run(5000)
	_, _, saves, ok := n.DriftFile()
	require.True(t, ok)
	assert.Positive(t, saves, "written hourly")
	s.Stop()
	freq, _, saves2, _ := n.DriftFile()
	assert.Equal(t, saves+1, saves2, "written at shutdown")
	assert.InDelta(t, 100, freq, 5, "the client's clock is 100 ppm fast")
}

func TestDumpAndReload(t *testing.T) {
	dir := t.TempDir()
	conf := "dumpdir " + dir + "\n"
	s, n := world(t, 1, 0, conf, nil)
	s.Run(1000)
	s.Stop()
	path := filepath.Join(dir, sim.ServerAddr(1).String()+".dat")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(data), "SRC0\n203.0.113.1\n"), string(data))
	before := n.Engine().Selector().Sources()[0].Stats().Samples()

	// The restarted daemon runs later than the dumped samples.
	s2 := sim.NewSimulation(8, func(_, _ netipAddr, _ float64) sim.Path { return sim.Path{Base: 1e-4, Jitter: 1e-4, K: 1} })
	s2.AddServer(sim.ServerAddr(1), 0)
	s2.Run(1100)
	n2, err := s2.AddNode(sim.NodeConfig{Name: "c", Addr: sim.ClientAddr(1), Conf: "server 203.0.113.1\n" + conf, Reload: true})
	require.NoError(t, err)
	s2.Run(1)
	assert.True(t, hasLog(n2, "Loaded dump file for 203.0.113.1"), "%v", n2.Logs())
	assert.GreaterOrEqual(t, n2.Engine().Selector().Sources()[0].Stats().Samples(), before)
	_, err = os.Stat(path)
	assert.True(t, os.IsNotExist(err), "dump file removed after loading")
}

func TestPoolReplacesVanishedMember(t *testing.T) {
	s := sim.NewSimulation(3, func(_, _ netipAddr, _ float64) sim.Path { return sim.Path{Base: 1e-4, Jitter: 1e-4, K: 1} })
	var addrs []netipAddr
	for i := 1; i <= 4; i++ {
		s.AddServer(sim.ServerAddr(i), 0)
		addrs = append(addrs, sim.ServerAddr(i))
	}
	s.SetName("pool.test", addrs...)
	n, err := s.AddNode(sim.NodeConfig{Name: "c", Addr: sim.ClientAddr(1), Conf: "pool pool.test iburst maxsources 2 maxpoll 6\n"})
	require.NoError(t, err)
	s.Run(300)
	srcs := n.Engine().Selector().Sources()
	require.Len(t, srcs, 2)
	gone := srcs[0].Addr()
	s.Network().Detach(gone)
	s.Run(1500)
	assert.Positive(t, n.Engine().Counters().Replacements)
	assert.True(t, hasLog(n, "Source "+gone.String()+" replaced with"), "%v", n.Logs())
	for _, src := range n.Engine().Selector().Sources() {
		assert.NotEqual(t, gone, src.Addr())
	}
	assert.True(t, n.Engine().Snapshot().Synchronised)
}

func TestSpecialModeAndLogHooks(t *testing.T) {
	var meas []source.Measurement
	var tracking []string
	shutdowns := 0
	var eng *engine.Engine
	s, n := world(t, 1, 0, "", func(c *sim.NodeConfig) {
		c.Conf = "server 203.0.113.1 iburst\n"
		c.Options = func(o *engine.Options) {
			o.Mode = reference.ModeUpdateOnce
			o.MeasurementLog = func(m source.Measurement) { meas = append(meas, m) }
			o.TrackingLog = func(l string) { tracking = append(tracking, l) }
		}
	})
	eng = n.Engine()
	eng.OnShutdown(func() { shutdowns++ })
	s.Run(30)
	assert.Equal(t, 1, shutdowns, "chronyd -q ends after the first update")
	assert.NotEmpty(t, meas)
	assert.Equal(t, sim.ServerAddr(1), meas[0].Record.Remote)
	// The 0.1 s error was stepped away; the 100 ppm frequency error is
	// left uncorrected by -q.
	assert.Less(t, abs(n.Clock().TrueTimeError()), 100e-6*30+1e-3, "the clock was set once")
	assert.Equal(t, 1, n.Clock().Kernel.Steps())
	assert.NotEmpty(t, tracking, "tracking.log lines reach the hook")
}

func TestPollsOfSourcesAreSeparated(t *testing.T) {
	s, n := world(t, 4, 0, "", func(c *sim.NodeConfig) {
		var b strings.Builder
		for i := 1; i <= 4; i++ {
			fmt.Fprintf(&b, "server %s iburst\n", sim.ServerAddr(i))
		}
		c.Conf = b.String()
	})
	s.Run(60)
	tx := n.TxTimes()
	require.GreaterOrEqual(t, len(tx), 16, "iburst sends at least 4 requests per source")
	for i := 1; i < 16; i++ {
		assert.GreaterOrEqual(t, tx[i].Sub(tx[i-1]).Seconds(), 0.1, "request %d follows %d too closely", i, i-1)
	}
}

func TestControlAddsAndRefreshesNames(t *testing.T) {
	s, n := world(t, 3, 0, "", func(c *sim.NodeConfig) { c.Conf = "" })
	s.SetName("pool.test", sim.ServerAddr(1), sim.ServerAddr(2), sim.ServerAddr(3))
	s.Run(1)
	c := engine.NewControl(n.Engine(), direct, nil)
	req := candm.AddSource{Type: candm.SourceTypePool, Name: "pool.test", NameTerminated: true, Flags: candm.AddSrcOnline | candm.AddSrcIburst,
		Minpoll: 6, Maxpoll: 10, MaxDelay: 3, MaxDelayDevRatio: 10, Asymmetry: 1, MinSamples: -1, MaxSamples: -1,
		PollTarget: 8, Version: 4, MaxSources: 2, MaxUnreach: 100000, PresendMinpoll: 100}
	require.Equal(t, candm.StatusSuccess, c.AddSource(req))
	act, _ := c.Activity()
	assert.Positive(t, act.Unresolved, "the pool waits for its name")
	s.Run(120)
	num, _ := c.NumSources()
	assert.Equal(t, 2, num, "maxsources 2 once the members answered")
	act, _ = c.Activity()
	assert.EqualValues(t, 0, act.Unresolved)
	assert.EqualValues(t, 2, act.Online)
	assert.Equal(t, candm.StatusSuccess, c.Run(cmdmon.ActionRefresh))
	s.Run(60)
	num, _ = c.NumSources()
	assert.Equal(t, 2, num, "refresh keeps addresses the name still resolves to")
	assert.True(t, n.Engine().Snapshot().Synchronised)
}

func TestControlModifiesSources(t *testing.T) {
	s, n := world(t, 1, 0, "", nil)
	s.Run(10)
	c := engine.NewControl(n.Engine(), direct, nil)
	a := candm.AddrFrom(sim.ServerAddr(1))
	tests := []struct {
		param   cmdmon.SourceParam
		value   float64
		wantLog string
	}{
		{cmdmon.ParamMinpoll, 4, "new minpoll 4"},
		{cmdmon.ParamMaxpoll, 5, "new maxpoll 5"},
		{cmdmon.ParamMaxDelay, 0.5, "new maxdelay 0.500000"},
		{cmdmon.ParamMaxDelayRatio, 2, "new maxdelayratio 2.000000"},
		{cmdmon.ParamMaxDelayDevRatio, 5, "new maxdelaydevratio 5.000000"},
		{cmdmon.ParamMinStratum, 3, "new minstratum 3"},
		{cmdmon.ParamPollTarget, 12, "new polltarget 12"},
	}
	for _, tc := range tests {
		assert.Equal(t, candm.StatusSuccess, c.ModifySource(cmdmon.SourceModification{Param: tc.param, Address: a, Value: tc.value}))
		assert.True(t, hasLog(n, "Source 203.0.113.1 "+tc.wantLog), "no %q in %v", tc.wantLog, n.Logs())
	}
	assert.Equal(t, candm.StatusNoSuchSource, c.ModifySource(cmdmon.SourceModification{Param: cmdmon.ParamMinpoll, Address: candm.AddrFrom(sim.ServerAddr(9)), Value: 4}))
	assert.Equal(t, candm.StatusSuccess, c.ModifyOffset(candm.ModifyOffset{Address: a, Offset: 0.25}))
	assert.True(t, hasLog(n, "Source 203.0.113.1 new offset 0.250000"))
	assert.Equal(t, candm.StatusNoSuchSource, c.ModifyOffset(candm.ModifyOffset{RefID: 0x47505300, Offset: 1}))
	// The poll now stays within 4..5 (16-32 s).
	s.Run(600)
	d, st := c.SourceData(0)
	require.Equal(t, candm.StatusSuccess, st)
	assert.LessOrEqual(t, d.Poll, int16(5))
}

func TestInitStepSlewThenNormalSources(t *testing.T) {
	s, n := world(t, 2, 0, "", func(c *sim.NodeConfig) {
		c.Conf = fmt.Sprintf("initstepslew 0.5 %s\nserver %s\n", sim.ServerAddr(1), sim.ServerAddr(2))
		c.TimeOffset = 2
	})
	s.Run(20)
	assert.True(t, hasLog(n, "System's initial offset : 2.0"), "%v", n.Logs())
	assert.True(t, hasLog(n, "(step)"))
	assert.Less(t, abs(n.Clock().TrueTimeError()), 1e-2)
	srcs := n.Engine().Selector().Sources()
	require.Len(t, srcs, 1, "initstepslew sources removed, configured ones added")
	assert.Equal(t, sim.ServerAddr(2), srcs[0].Addr())
	s.Run(1000)
	assert.True(t, n.Engine().Snapshot().Synchronised)
	ended, _ := n.Engine().ModeResult()
	assert.False(t, ended, "initstepslew does not end the daemon")
}

func TestSourceDirsLoadedAndReloaded(t *testing.T) {
	dir := t.TempDir()
	write := func(content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "a.sources"), []byte(content), 0o644))
	}
	write(fmt.Sprintf("server %s iburst\nserver %s iburst\n", sim.ServerAddr(1), sim.ServerAddr(2)))
	s, n := world(t, 3, 0, "", func(c *sim.NodeConfig) { c.Conf = "sourcedir " + dir + "\n" })
	s.Run(30)
	c := engine.NewControl(n.Engine(), direct, nil)
	num, _ := c.NumSources()
	require.Equal(t, 2, num)
	assert.True(t, hasLog(n, "Added source 203.0.113.1"))

	write(fmt.Sprintf("server %s iburst\nserver %s iburst\n", sim.ServerAddr(2), sim.ServerAddr(3)))
	before := n.Engine().Selector().Sources()[1].Stats().Samples()
	assert.Equal(t, candm.StatusSuccess, c.Run(cmdmon.ActionReloadSources))
	var addrs []netipAddr
	for _, src := range n.Engine().Selector().Sources() {
		addrs = append(addrs, src.Addr())
	}
	assert.ElementsMatch(t, []netipAddr{sim.ServerAddr(2), sim.ServerAddr(3)}, addrs)
	assert.True(t, hasLog(n, "Removed source 203.0.113.1"))
	for _, src := range n.Engine().Selector().Sources() {
		if src.Addr() == sim.ServerAddr(2) {
			assert.Equal(t, before, src.Stats().Samples(), "an unchanged line keeps its history")
		}
	}
}

func TestTwinsWithoutUpstreamNeverLoop(t *testing.T) {
	s := sim.NewSimulation(11, func(_, _ netipAddr, _ float64) sim.Path { return sim.Path{Base: 1e-4, Jitter: 1e-4, K: 1} })
	var nodes []*sim.Node
	for i := 1; i <= 2; i++ {
		conf := fmt.Sprintf("peer %s minpoll 4 maxpoll 6\nlocal stratum 10\n", sim.ClientAddr(3-i))
		n, err := s.AddNode(sim.NodeConfig{Name: fmt.Sprint("twin", i), Addr: sim.ClientAddr(i), Conf: conf, FreqOffset: float64(i) * 1e-5})
		require.NoError(t, err)
		nodes = append(nodes, n)
	}
	for step := 0; step < 20; step++ {
		s.Run(300)
		a, b := nodes[0].Engine().Snapshot(), nodes[1].Engine().Snapshot()
		require.True(t, a.Synchronised && b.Synchronised, "local stratum 10 serves time")
		t.Logf("%.0f: %08X/%d %08X/%d", s.Elapsed(), a.RefID, a.Stratum, b.RefID, b.Stratum)
		loop := a.RefID == ipRefID(sim.ClientAddr(2)) && b.RefID == ipRefID(sim.ClientAddr(1))
		require.False(t, loop, "twins synchronised to each other at %.0f s", s.Elapsed())
		for _, snap := range []*discipline.ReferenceSnapshot{a, b} {
			if snap.RefID == discipline.LocalRefID {
				assert.EqualValues(t, 10, snap.Stratum)
			} else {
				assert.EqualValues(t, 11, snap.Stratum, "following the twin's local reference")
			}
		}
	}
}

func ipRefID(a netipAddr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func TestPrintOnceLeavesTheClock(t *testing.T) {
	shutdowns := 0
	s, n := world(t, 1, 0, "", func(c *sim.NodeConfig) {
		c.Conf = "server 203.0.113.1 iburst\n"
		c.Options = func(o *engine.Options) { o.Mode = reference.ModePrintOnce }
	})
	n.Engine().OnShutdown(func() { shutdowns++ })
	s.Run(30)
	assert.Equal(t, 1, shutdowns)
	ended, ok := n.Engine().ModeResult()
	assert.True(t, ended)
	assert.True(t, ok)
	assert.Zero(t, n.Clock().Kernel.Steps())
	assert.InDelta(t, 0.1, n.Clock().TrueTimeError(), 0.01, "chronyd -Q only prints the offset")
	assert.True(t, hasLog(n, "System clock wrong by -0.1"), "%v", n.Logs())
}
