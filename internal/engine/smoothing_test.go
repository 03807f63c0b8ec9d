package engine_test

import (
	"math"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/facebook/time/ntp/protocol"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/internal/sim"
	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/ntp/access"
	"github.com/chronygo/chronygo/pkg/ntp/server"
	"github.com/chronygo/chronygo/pkg/ntp/wire"
)

// handSmoothOffset is the smoothing offset t seconds after an offset o
// (s) was handed to smoothtime with limits maxFreq (s/s) and maxWander
// (s/s²), from the trapezoid's geometry: the frequency ramps up at
// maxWander for first seconds (to at most maxFreq), stays for middle
// seconds and ramps down; the area under it is |o|.
func handSmoothOffset(o, maxFreq, maxWander, t float64) (offset, total float64) {
	sign, size := 1.0, o
	if o < 0 {
		sign, size = -1, -o
	}
	first := math.Min(math.Sqrt(size/maxWander), maxFreq/maxWander)
	peak := maxWander * first
	middle := (size - peak*first) / peak
	total = 2*first + middle
	var done float64
	switch {
	case t <= first:
		done = maxWander * t * t / 2
	case t <= first+middle:
		done = peak*first/2 + peak*(t-first)
	case t <= total:
		left := total - t
		done = size - maxWander*left*left/2
	default:
		done = size
	}
	return sign * (size - done), total
}

// smoothingNode is an engine with no source on a virtual clock without
// errors, configured with conf.
func smoothingNode(t *testing.T, conf string) (*sim.Simulation, *sim.Node, *engine.Control) {
	t.Helper()
	s, n := world(t, 0, 0, conf, func(c *sim.NodeConfig) { c.TimeOffset, c.FreqOffset = 0, 0 })
	s.Run(1)
	return s, n, engine.NewControl(n.Engine(), direct, nil)
}

func TestSmoothingNotEnabled(t *testing.T) {
	_, n, c := smoothingNode(t, "")
	_, st := c.Smoothing()
	assert.Equal(t, candm.StatusNotEnabled, st)
	assert.Equal(t, candm.StatusNotEnabled, c.SmoothTime(true))
	assert.Equal(t, candm.StatusNotEnabled, c.SmoothTime(false))
	assert.Nil(t, n.Engine().Snapshot().Smoothing, "no smoothing state to serve")
}

// TestSmoothingOnVirtualTime hands the engine a known offset (chronyc
// doffset) with smoothing activated by chronyc, and follows the smoothing
// offset, chronyc's report and the served time on the engine's virtual
// time against the hand-computed ramp.
func TestSmoothingOnVirtualTime(t *testing.T) {
	tests := []struct {
		name               string
		offset             float64 // s, chrony's sign (clock ahead)
		maxFreq, maxWander float64 // ppm, ppm/s
	}{
		{"wander limited", 0.002, 400, 0.01},
		{"frequency limited", 0.5, 20, 0.01},
		{"frequency limited, negative", -0.5, 20, 0.01},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := "smoothtime " + ftoa(tc.maxFreq) + " " + ftoa(tc.maxWander)
			s, n, c := smoothingNode(t, conf)
			r, st := c.Smoothing()
			require.Equal(t, candm.StatusSuccess, st)
			assert.False(t, r.Active, "locked while the skew is large")
			require.Equal(t, candm.StatusSuccess, c.SmoothTime(true))
			require.Equal(t, candm.StatusSuccess, c.Tune(cmdmon.Tuning{Param: cmdmon.TuneDOffset, Value: tc.offset}))
			_, total := handSmoothOffset(tc.offset, tc.maxFreq*1e-6, tc.maxWander*1e-6, 0)
			// The simulation runs whole seconds.
			step := math.Floor(total / 8)
			for i := 0; i <= 10; i++ {
				at := float64(i) * step
				want, _ := handSmoothOffset(tc.offset, tc.maxFreq*1e-6, tc.maxWander*1e-6, at)
				r, st := c.Smoothing()
				require.Equal(t, candm.StatusSuccess, st)
				assert.True(t, r.Active)
				assert.InDelta(t, want, r.Offset, 1e-6*math.Abs(tc.offset), "offset at %.0f s", at)
				assert.LessOrEqual(t, math.Abs(r.FreqPPM), tc.maxFreq*(1+1e-6))
				assert.LessOrEqual(t, math.Abs(r.WanderPPM), tc.maxWander*(1+1e-6))
				assert.InDelta(t, math.Max(0, total-at), r.RemainingTime, 1e-3)
				// Served time = cooked + smoothing offset; the clock is
				// really right, so served - true is what is left to smooth
				// out of the offset the engine was told about.
				snap := n.Engine().Snapshot()
				require.NotNil(t, snap.Smoothing)
				cooked := n.Clock().ReadCooked()
				served := cooked.Add(time.Duration(snap.ServedOffset(cooked) * 1e9))
				assert.InDelta(t, want-tc.offset, served.Sub(s.Now()).Seconds(), 1e-6, "served time at %.0f s", at)
				s.Run(step)
			}
			require.Equal(t, candm.StatusSuccess, c.SmoothTime(false))
			r, _ = c.Smoothing()
			assert.Zero(t, r.Offset, "reset")
			assert.True(t, r.Active, "reset keeps smoothing active")
		})
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// allowAll is an access table admitting every client.
func allowAll(t *testing.T) *access.Table {
	t.Helper()
	tab := access.NewTable()
	require.NoError(t, tab.Apply(access.Rule{Allow: true, All: true, Any: true}))
	return tab
}

// TestSmoothingServedToClients serves a request with the node's real
// responder while the engine smooths an offset: the reply carries the
// smoothing offset and reference ID 127.127.1.255, and the leap second
// announced by the reference is not hidden without leapsecmode slew.
func TestSmoothingServedToClients(t *testing.T) {
	s, n, c := smoothingNode(t, "smoothtime 400 0.01\nlocal stratum 5")
	require.Equal(t, candm.StatusSuccess, c.SmoothTime(true))
	require.Equal(t, candm.StatusSuccess, c.Tune(cmdmon.Tuning{Param: cmdmon.TuneDOffset, Value: 0.1}))
	s.Run(100)
	want, _ := handSmoothOffset(0.1, 400e-6, 0.01e-6, 100)

	stats := &server.Stats{}
	log := server.NewClientLog(server.ClientLogConfig{Disabled: true}, 1, stats)
	shared := &server.Shared{Access: allowAll(t), Log: log, Tx: server.NewTxMemory(log.MaxRecords(), stats), Stats: stats}
	resp := server.NewResponder(shared, server.NewSeededRandom(1, 2))
	req := make([]byte, wire.HeaderLen)
	req[0] = 0x23 // version 4, client
	out := make([]byte, wire.MaxPacketLen)
	raw := n.Clock().ReadRaw()
	size, v, d := resp.Handle(&server.Request{Data: req, From: netip.MustParseAddrPort("198.51.100.7:123"), RxRaw: raw},
		n.Engine().Snapshot(), n.Clock().ReadRaw, out)
	require.Equal(t, server.VerdictRespond, v, d.String())
	var reply protocol.Packet
	var info wire.Info
	require.NoError(t, wire.DecodeHeader(out[:size], &reply, &info))
	assert.Equal(t, uint32(0x7F7F01FF), reply.ReferenceID)
	assert.Equal(t, uint8(5), reply.Stratum)
	// The clock is right, cooked time is 0.1 s behind, the served time is
	// cooked + the smoothing offset.
	rx := wire.RxTime(&reply).Time(s.Now())
	assert.InDelta(t, want-0.1, rx.Sub(s.Now()).Seconds(), 1e-6)
}

// TestSmoothingCommandsThroughCmdmon answers chronyc's SMOOTHING and
// SMOOTHTIME requests through the real dispatcher and decodes the replies
// as chronyc does.
func TestSmoothingCommandsThroughCmdmon(t *testing.T) {
	tests := []struct {
		name       string
		conf       string
		wantStatus candm.Status
	}{
		{"not configured", "", candm.StatusNotEnabled},
		{"configured", "smoothtime 400 0.01 leaponly", candm.StatusSuccess},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, c := smoothingNode(t, tc.conf)
			d, err := cmdmon.NewDispatcher(c, cmdmon.DispatcherConfig{Log: quietLogger()})
			require.NoError(t, err)
			ask := func(cmd candm.Command, body candm.RequestBody) candm.Reply {
				pkt, err := candm.Request{Command: cmd, Sequence: 77, Body: body}.Encode()
				require.NoError(t, err)
				out := d.Handle(pkt, cmdmon.Channel{Unix: true}, s.Now())
				require.NotNil(t, out)
				require.LessOrEqual(t, len(out), len(pkt))
				rep, err := candm.DecodeReply(out)
				require.NoError(t, err)
				assert.Equal(t, uint32(77), rep.Sequence)
				return rep
			}
			rep := ask(candm.ReqSmoothtime, candm.Index{Index: candm.SmoothtimeActivate})
			assert.Equal(t, tc.wantStatus, rep.Status)
			rep = ask(candm.ReqSmoothtime, candm.Index{Index: 7})
			if tc.wantStatus == candm.StatusSuccess {
				assert.Equal(t, candm.StatusInvalid, rep.Status)
			}
			rep = ask(candm.ReqSmoothing, nil)
			require.Equal(t, tc.wantStatus, rep.Status)
			if tc.wantStatus != candm.StatusSuccess {
				return
			}
			require.Equal(t, candm.RpySmoothing, rep.Code)
			want, st := c.Smoothing()
			require.Equal(t, candm.StatusSuccess, st)
			assert.Equal(t, want, rep.Body)
			assert.Equal(t, candm.Smoothing{Active: true, LeapOnly: true}, rep.Body)
			rep = ask(candm.ReqSmoothtime, candm.Index{Index: candm.SmoothtimeReset})
			assert.Equal(t, candm.StatusSuccess, rep.Status)
		})
	}
}

// TestStockChronycSmoothing runs Debian's chronyc smoothing and smoothtime
// against the engine through the real command server.
func TestStockChronycSmoothing(t *testing.T) {
	requireStockChronyc(t)
	tests := []struct {
		conf string
		args []string
		want []string
	}{
		{"", []string{"smoothing"}, []string{"505 Facility not enabled in daemon"}},
		{"", []string{"smoothtime", "reset"}, []string{"505 Facility not enabled in daemon"}},
		{"smoothtime 400 0.01", []string{"smoothtime", "activate"}, []string{"200 OK"}},
		{"smoothtime 400 0.01", []string{"smoothing"}, []string{"Active         : Yes", "Offset         : +0.049",
			"Frequency      : -", "ppm", "Wander         : ", "Last update    : 60.0 seconds ago", "Remaining time : "}},
		{"smoothtime 400 0.001024 leaponly", []string{"smoothing"}, []string{"Active         : No (leap second only)"}},
	}
	for _, tc := range tests {
		t.Run(tc.conf+" "+tc.args[0], func(t *testing.T) {
			s, n, c := smoothingNode(t, tc.conf)
			if tc.conf == "smoothtime 400 0.01" && tc.args[0] == "smoothing" {
				require.Equal(t, candm.StatusSuccess, c.SmoothTime(true))
				require.Equal(t, candm.StatusSuccess, c.Tune(cmdmon.Tuning{Param: cmdmon.TuneDOffset, Value: 0.05}))
				s.Run(60)
			}
			sock := serveCommands(t, engine.NewControl(n.Engine(), lockedCaller(), nil))
			out := stockChronyc(t, sock, tc.args...)
			for _, w := range tc.want {
				assert.Contains(t, out, w, "chronyc %v", tc.args)
			}
		})
	}
}

func quietLogger() logrus.FieldLogger {
	l := logrus.New()
	l.SetLevel(logrus.PanicLevel)
	return l
}

// smoothtimeScenario is the first part of chrony's 119-smoothtime
// simulation: a stratum-1 server, a chronygo stratum-2 server polling it
// with minpoll 8 and serving time smoothed by serverConf, and one client
// (0.1 s and 100 ppm off) of the stratum-2 server. It returns the
// client's statistics over 10000 s.
func smoothtimeScenario(t *testing.T, seed uint64, serverConf string) (sim.Result, *sim.Node) {
	t.Helper()
	s := sim.NewSimulation(seed, func(_, _ netipAddr, _ float64) sim.Path {
		return sim.Path{Base: 1e-4, Jitter: 1e-4, K: 1}
	})
	s.AddServer(sim.ServerAddr(1), 0)
	server2, err := s.AddNode(sim.NodeConfig{
		Name: "stratum2", Addr: sim.Stratum2Addr, FreqOffset: 1e-4, Wander: 1e-9, Serve: true,
		Conf: "server " + sim.ServerAddr(1).String() + " minpoll 8\n" + serverConf,
	})
	require.NoError(t, err)
	limits := sim.DefaultLimits()
	limits.MinSync, limits.MaxSync = 600, 800
	client, err := s.AddNode(sim.NodeConfig{
		Name: "client", Addr: sim.ClientAddr(1), Conf: "server " + sim.Stratum2Addr.String() + "\n",
		TimeOffset: 0.1, FreqOffset: 1e-4, Wander: 1e-9, Collect: true, Limits: limits,
	})
	require.NoError(t, err)
	s.Run(10000)
	s.Stop()
	return client.Result(), server2
}

// TestSmoothtimeScenario runs the first part of chrony's 119-smoothtime
// with its limits: with smoothtime 400 0.001 on the stratum-2 server the
// client gets within the default error limits between 600 and 800 s and
// stays there.
func TestSmoothtimeScenario(t *testing.T) {
	res, server2 := smoothtimeScenario(t, 1, "smoothtime 400 0.001")
	t.Logf("client: %+v", res)
	assert.True(t, hasLog(server2, "Activated time smoothing"), "logs: %v", server2.Logs())
	limits := sim.DefaultLimits()
	limits.MinSync, limits.MaxSync = 600, 800
	assert.Empty(t, res.Check(limits))
}

// TestSmoothtimeServedTimeIsSmooth starts a stratum-2 server 1 s ahead
// with smoothing activated by chronyc at once: the time it serves (cooked
// + smoothing offset, what its replies carry) moves to true time at no
// more than maxfreq (here sqrt(1 s × 0.1 ppm/s) = 316 ppm at most), where
// without smoothtime it reaches true time within seconds; its client
// follows the smooth time.
func TestSmoothtimeServedTimeIsSmooth(t *testing.T) {
	tests := []struct {
		name        string
		conf        string
		maxRate     float64 // bound of |d(served - true)/dt|
		minRate     float64 // the fastest change must reach this
		clientFreqs float64 // bound of the client's frequency error after 1000 s
	}{
		{"smoothtime 400 0.1", "smoothtime 400 0.1", 400e-6 * 1.05, 250e-6, 450e-6},
		{"no smoothing", "", math.Inf(1), 10000e-6, math.Inf(1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sim.NewSimulation(3, func(_, _ netipAddr, _ float64) sim.Path {
				return sim.Path{Base: 1e-4, Jitter: 1e-5, K: 1}
			})
			s.AddServer(sim.ServerAddr(1), 0)
			server2, err := s.AddNode(sim.NodeConfig{
				Name: "stratum2", Addr: sim.Stratum2Addr, TimeOffset: 1, Serve: true,
				Conf: "server " + sim.ServerAddr(1).String() + " iburst\n" + tc.conf,
			})
			require.NoError(t, err)
			client, err := s.AddNode(sim.NodeConfig{
				Name: "client", Addr: sim.ClientAddr(1), Conf: "server " + sim.Stratum2Addr.String() + " iburst minpoll 4 maxpoll 6\n",
			})
			require.NoError(t, err)
			if tc.conf != "" {
				st := engine.NewControl(server2.Engine(), direct, nil).SmoothTime(true)
				require.Equal(t, candm.StatusSuccess, st)
			}
			servedError := func() float64 {
				cooked := server2.Clock().ReadCooked()
				served := cooked.Add(time.Duration(server2.Engine().Snapshot().ServedOffset(cooked) * 1e9))
				return served.Sub(s.Now()).Seconds()
			}
			const interval = 10
			prev := servedError()
			assert.InDelta(t, 1, prev, 1e-3, "served time starts 1 s ahead")
			fastest, clientFreq := 0.0, 0.0
			for i := 0; i < 1000; i++ {
				s.Run(interval)
				e := servedError()
				fastest = math.Max(fastest, math.Abs(e-prev)/interval)
				prev = e
				if s.Elapsed() > 1000 {
					clientFreq = math.Max(clientFreq, math.Abs(client.Clock().TrueFrequencyError()))
				}
			}
			t.Logf("fastest served change %.1f ppm, client frequency error up to %.1f ppm", fastest*1e6, clientFreq*1e6)
			assert.LessOrEqual(t, fastest, tc.maxRate)
			assert.GreaterOrEqual(t, fastest, tc.minRate)
			assert.LessOrEqual(t, clientFreq, tc.clientFreqs)
			assert.InDelta(t, 0, prev, 1e-3, "served time ends on true time")
			assert.InDelta(t, 0, client.Clock().TrueTimeError(), 1e-3, "client ends on true time")
		})
	}
}
