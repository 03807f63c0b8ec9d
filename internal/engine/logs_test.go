package engine_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/internal/sim"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/ntp/auth"
)

// TestStatisticsAndSelectionLogHooks checks that the statistics.log and
// selection.log hooks receive lines naming the sources once they are
// measured and selected, and nothing when the hooks are off.
func TestStatisticsAndSelectionLogHooks(t *testing.T) {
	var stats, sel []string
	s, n := world(t, 2, 0, "", func(c *sim.NodeConfig) {
		c.Options = func(o *engine.Options) {
			o.StatisticsLog = func(l string) { stats = append(stats, l) }
			o.SelectionLog = func(l string) { sel = append(sel, l) }
		}
	})
	s.Run(300)
	require.True(t, n.Engine().Snapshot().Synchronised)
	for _, tt := range []struct {
		name  string
		lines []string
	}{{"statistics", stats}, {"selection", sel}} {
		require.NotEmpty(t, tt.lines, tt.name)
		for _, addr := range []string{sim.ServerAddr(1).String(), sim.ServerAddr(2).String()} {
			found := false
			for _, l := range tt.lines {
				found = found || strings.Contains(l, " "+addr+" ")
			}
			assert.True(t, found, "%s: no line of %s in %q", tt.name, addr, tt.lines[:min(len(tt.lines), 5)])
		}
	}
	// One statistics line per new regression, never a repeat.
	for i := 1; i < len(stats); i++ {
		assert.NotEqual(t, stats[i-1], stats[i])
	}
}

// TestSetKeysUpdatesRunningSources checks chronyc rekey on a running
// source whose key was missing: nothing can be sent without the key; once
// SetKeys brings it, the requests go out (signed); reading the same key
// again leaves the source's state machine alone.
func TestSetKeysUpdatesRunningSources(t *testing.T) {
	k2, err := auth.NewKey(2, "SHA256", []byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	first := auth.NewKeySet()
	s, n := world(t, 1, 0, "", func(c *sim.NodeConfig) {
		c.Conf = "server " + sim.ServerAddr(1).String() + " key 2 iburst minpoll 0 maxpoll 0\n"
		c.Options = func(o *engine.Options) { o.Keys = first }
	})
	c := engine.NewControl(n.Engine(), direct, nil)
	addr := candm.IPAddr{IP: sim.ServerAddr(1)}
	s.Run(20)
	before, st := c.NTPData(addr)
	require.Equal(t, candm.StatusSuccess, st)
	assert.Zero(t, before.TotalTxCount, "no request without the key")
	assert.Same(t, first, n.Engine().Keys())

	second := auth.NewKeySet(k2)
	n.Engine().SetKeys(second)
	assert.Same(t, second, n.Engine().Keys())
	s.Run(20)
	after, st := c.NTPData(addr)
	require.Equal(t, candm.StatusSuccess, st)
	assert.Greater(t, after.TotalTxCount, uint32(5), "signed requests sent")
	assert.Zero(t, after.TotalValidCount, "the simulated server does not sign")

	// The same key read again leaves the source alone.
	again, err := auth.NewKey(2, "SHA256", []byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	n.Engine().SetKeys(auth.NewKeySet(again))
	same, _ := c.NTPData(addr)
	assert.Equal(t, after.TotalTxCount, same.TotalTxCount, "state machine kept")
}
