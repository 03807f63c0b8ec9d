package suite

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chronygo/chronygo/bench/daemon"
	"github.com/chronygo/chronygo/bench/loadgen"
	"github.com/chronygo/chronygo/bench/probe"
	"github.com/chronygo/chronygo/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMedian(t *testing.T) {
	assert.Equal(t, 2.0, median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, median([]float64{4, 1, 2, 3}))
	in := []float64{3, 1, 2}
	median(in)
	assert.Equal(t, []float64{3, 1, 2}, in, "input untouched")
}

func TestSummarise(t *testing.T) {
	ok := func(received uint64, cpu time.Duration) loadSample {
		return loadSample{result: loadgen.Result{Counts: loadgen.Counts{Sent: received + 1, Received: received, Lost: 1}, Elapsed: time.Second}, cpuPerReply: cpu, ok: true}
	}
	tests := []struct {
		name     string
		srv      *server
		samples  []loadSample
		wantRate *float64
		wantCPU  *float64
		wantNA   string
	}{
		{"median of three", &server{name: "chronyd"}, []loadSample{ok(100, 5*time.Microsecond), ok(300, 4*time.Microsecond), ok(200, 6*time.Microsecond)},
			ptr(200), ptr(5), ""},
		{"server down", &server{name: "chronygo", down: "does not answer"}, nil, nil, nil, "chronygo: does not answer"},
		{"a failed round", &server{name: "chronygo"}, []loadSample{ok(100, time.Microsecond), {err: "no replies"}}, nil, nil, "chronygo: no replies"},
		{"no rounds", &server{name: "echo"}, nil, nil, nil, "echo: not measured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := summarise(tc.srv, tc.samples)
			assert.Equal(t, tc.wantRate, s.rate)
			assert.Equal(t, tc.wantCPU, s.cpu)
			assert.Equal(t, tc.wantNA, s.na)
			if tc.wantNA == "" {
				assert.InDelta(t, 3.0/603, s.loss, 1e-9)
			}
		})
	}
}

func ptr(v float64) *float64 { return &v }

func TestErrorStats(t *testing.T) {
	var e errorStats
	for _, off := range []time.Duration{3 * time.Microsecond, -4 * time.Microsecond} {
		e.add(probe.Sample{Offset: off}, nil)
	}
	e.add(probe.Sample{}, errors.New("timeout"))
	rms, mx, na := e.values("chronyd")
	assert.Empty(t, na)
	assert.InDelta(t, 3.5355, *rms, 1e-3)
	assert.InDelta(t, 4, *mx, 1e-9)

	var bad errorStats
	bad.add(probe.Sample{}, errors.New("probe: server unsynchronised (leap 3, stratum 0)"))
	rms, mx, na = bad.values("chronygo")
	assert.Nil(t, rms)
	assert.Nil(t, mx)
	assert.Equal(t, "chronygo served no synchronised time in 1 of 1 probes (last: probe: server unsynchronised (leap 3, stratum 0))", na)
}

func TestFootprintFiguresExplainMissingValues(t *testing.T) {
	cfg := Default()
	g := &footprintDaemon{name: "chronygo", down: "exited during the idle period: Fatal error"}
	d := &footprintDaemon{name: "chronyd", rss: ptr(5), rss100k: ptr(6), idleCPU: ptr(12), answered: 100000}
	figs := footprintFigures([]*footprintDaemon{g, d}, cfg)
	require.Len(t, figs, 3)
	for _, f := range figs {
		assert.Nil(t, f.Chronygo)
		assert.NotNil(t, f.Chronyd)
		assert.Equal(t, "chronygo: exited during the idle period: Fatal error", f.NA)
	}
	g = &footprintDaemon{name: "chronygo", rss: ptr(7), idleCPU: ptr(20), burstNA: "chronygo answered none of the 100000 clients"}
	figs = footprintFigures([]*footprintDaemon{g, d}, cfg)
	assert.Empty(t, figs[0].NA)
	assert.Equal(t, "chronygo: chronygo answered none of the 100000 clients", figs[1].NA)
	assert.InDelta(t, 7.0/5, *figs[0].Ratio(), 1e-9)
	assert.True(t, *figs[0].Met(), "within 3 × chronyd")
	assert.False(t, *figs[2].Met(), "more idle CPU than chronyd")
}

func TestServingDirectives(t *testing.T) {
	on := servingDirectives(11555, true)
	assert.Contains(t, on, "port 11555")
	assert.Contains(t, on, "bindaddress 127.0.0.1")
	assert.Contains(t, on, "bindaddress ::1")
	assert.NotContains(t, on, "noclientlog")
	assert.Contains(t, servingDirectives(11555, false), "noclientlog")
}

func TestJoinNAAndLines(t *testing.T) {
	assert.Equal(t, "a; b", joinNA("", "a", "", "b"))
	assert.Equal(t, "", joinNA())
	assert.Equal(t, "first", firstLine("first\nsecond"))
	assert.Equal(t, "last", lastLine("first\nlast\n\n"))
}

func TestPortsAreUnprivilegedAndFree(t *testing.T) {
	p := newPorts()
	a, b := p.get(), p.get()
	assert.NotEqual(t, a, b)
	for _, port := range []int{a, b} {
		assert.GreaterOrEqual(t, port, 11000)
		assert.Less(t, port, 12000)
	}
}

// TestRunReportsMissingDaemonAsNA runs the cmdmon phase against the real
// chronyd and a chronygo binary that does not exist: chronyd's figure is
// measured and chronygo's is n/a with the reason, never a number.
func TestRunReportsMissingDaemonAsNA(t *testing.T) {
	testutil.RequireRoot(t)
	chronyd := testutil.RequireTool(t, "chronyd")
	cfg := Default()
	cfg.Chronyd = chronyd
	cfg.Chronygo = "/nonexistent/chronygo"
	cfg.Phases = []string{"cmdmon"}
	cfg.CmdmonDuration = 300 * time.Millisecond
	var log strings.Builder
	cfg.Log = &log
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Len(t, res.Figures, 1)
	f := res.Figures[0]
	assert.Nil(t, f.Chronygo)
	require.NotNil(t, f.Chronyd)
	assert.Greater(t, *f.Chronyd, 100.0, "chronyd answers tracking at least 100 times a second")
	assert.Contains(t, f.NA, "chronygo")
	assert.Contains(t, res.Versions["chronyd"], "4.")
}

func TestThroughputAgainstChronyd(t *testing.T) {
	testutil.RequireRoot(t)
	chronyd := testutil.RequireTool(t, "chronyd")
	g, err := daemon.NewGroup()
	require.NoError(t, err)
	t.Cleanup(g.StopAll)
	cfg := Default()
	cfg.LoadDuration = 200 * time.Millisecond
	r := &runner{cfg: cfg, g: g, ports: newPorts()}
	s := r.startServer(context.Background(), "chronyd", chronyd, true, nil)
	require.Empty(t, s.down)
	for _, f := range families() {
		x := r.measure(context.Background(), s, f.addr)
		require.True(t, x.ok, "%s: %s", f.name, x.err)
		assert.Greater(t, x.result.Received, uint64(100), f.name)
		assert.Greater(t, x.cpuPerReply, time.Duration(0), f.name)
	}
}

func TestResolveBinary(t *testing.T) {
	abs, err := resolveBinary("bin/chronygo")
	require.NoError(t, err)
	assert.True(t, filepath.IsAbs(abs), abs)
	assert.True(t, strings.HasSuffix(abs, "/bin/chronygo"))
	sh, err := resolveBinary("sh")
	require.NoError(t, err)
	assert.True(t, filepath.IsAbs(sh), sh)
	_, err = resolveBinary("")
	assert.Error(t, err)
}

func TestRunStopsAtOnceWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	res, err := Run(ctx, Default())
	assert.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, res)
	assert.Empty(t, res.Figures)
	assert.Less(t, time.Since(start), 5*time.Second)
}
