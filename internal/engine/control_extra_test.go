package engine_test

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/internal/sim"
	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

// TestControlManual drives chronyc's manual commands through one engine in
// order, as an administrator would.
func TestControlManual(t *testing.T) {
	s, n := world(t, 1, 0, "", nil)
	s.Run(300)
	c := engine.NewControl(n.Engine(), direct, nil)
	// entered is the true time plus ahead seconds: the clock is then
	// that much behind it.
	entered := func(behind float64) time.Time {
		return s.Now().Add(time.Duration(behind * float64(time.Second)))
	}
	listLen := func() int {
		l, st := c.ManualList()
		require.Equal(t, candm.StatusSuccess, st)
		return len(l.Samples)
	}
	steps := []struct {
		name    string
		do      func() candm.Status
		want    candm.Status
		samples int
	}{
		{"settime while manual is off", func() candm.Status { _, st := c.SetTime(entered(0)); return st },
			candm.StatusNotEnabled, 0},
		{"manual on", func() candm.Status { return c.Manual(cmdmon.ManualOn) }, candm.StatusSuccess, 0},
		{"settime", func() candm.Status {
			r, st := c.SetTime(entered(2))
			assert.InDelta(t, -2, r.Offset, 0.01, "the clock was 2 s slow")
			assert.Zero(t, r.DFreqPPM, "no frequency from one sample")
			return st
		}, candm.StatusSuccess, 1},
		{"settime again within a second", func() candm.Status { _, st := c.SetTime(entered(2)); return st },
			candm.StatusFailed, 1},
		{"settime 100 s later", func() candm.Status {
			s.Run(100)
			r, st := c.SetTime(entered(2))
			assert.False(t, math.IsNaN(r.DFreqPPM))
			return st
		}, candm.StatusSuccess, 2},
		{"delete out of range", func() candm.Status { return c.ManualDelete(2) }, candm.StatusBadSample, 2},
		{"delete negative", func() candm.Status { return c.ManualDelete(-1) }, candm.StatusBadSample, 2},
		{"delete the first", func() candm.Status { return c.ManualDelete(0) }, candm.StatusSuccess, 1},
		{"manual off keeps the samples", func() candm.Status { return c.Manual(cmdmon.ManualOff) }, candm.StatusSuccess, 1},
		{"settime while off", func() candm.Status { _, st := c.SetTime(entered(0)); return st },
			candm.StatusNotEnabled, 1},
		{"manual reset", func() candm.Status { return c.Manual(cmdmon.ManualReset) }, candm.StatusSuccess, 0},
		{"delete with no samples", func() candm.Status { return c.ManualDelete(0) }, candm.StatusBadSample, 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			assert.Equal(t, st.want, st.do())
			assert.Equal(t, st.samples, listLen())
		})
	}
	assert.True(t, hasLog(n, "Making a slew of"), "logs: %v", n.Logs())
	assert.True(t, hasLog(n, "Making a frequency change of"), "logs: %v", n.Logs())
}

// TestControlManualDirective: the manual directive enables settime at start.
func TestControlManualDirective(t *testing.T) {
	tests := []struct {
		conf string
		want candm.Status
	}{
		{"", candm.StatusNotEnabled},
		{"manual", candm.StatusSuccess},
	}
	for _, tt := range tests {
		t.Run("conf "+tt.conf, func(t *testing.T) {
			s, n := world(t, 1, 0, tt.conf, nil)
			s.Run(10)
			c := engine.NewControl(n.Engine(), direct, nil)
			_, st := c.SetTime(s.Now())
			assert.Equal(t, tt.want, st)
		})
	}
}

// TestControlActivity counts sources in a burst as chronyd does.
func TestControlActivity(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		action func(c *engine.Control)
		want   candm.Activity
	}{
		{name: "online", want: candm.Activity{Online: 2}},
		{name: "iburst back online", conf: "iburst", action: func(c *engine.Control) {
			src := candm.IPAddr{IP: sim.ServerAddr(1)}
			require.Equal(t, candm.StatusSuccess, c.SetConnectivity(cmdmon.Connectivity{Online: false, Address: src, Mask: hostMask}))
			require.Equal(t, candm.StatusSuccess, c.SetConnectivity(cmdmon.Connectivity{Online: true, Address: src, Mask: hostMask}))
		}, want: candm.Activity{Online: 1, BurstOnline: 1}},
		{name: "offline", action: func(c *engine.Control) {
			require.Equal(t, candm.StatusSuccess, c.SetConnectivity(cmdmon.Connectivity{Online: false}))
		}, want: candm.Activity{Offline: 2}},
		{name: "burst while offline", action: func(c *engine.Control) {
			require.Equal(t, candm.StatusSuccess, c.SetConnectivity(cmdmon.Connectivity{Online: false}))
			require.Equal(t, candm.StatusSuccess, c.Burst(candm.Burst{GoodSamples: 1, TotalSamples: 2}))
		}, want: candm.Activity{BurstOffline: 2}},
		{name: "chronyc burst", action: func(c *engine.Control) {
			require.Equal(t, candm.StatusSuccess, c.Burst(candm.Burst{GoodSamples: 2, TotalSamples: 4}))
		}, want: candm.Activity{BurstOnline: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, n := world(t, 2, 0, "", func(cfg *sim.NodeConfig) {
				if tt.conf != "" {
					cfg.Conf = "server " + sim.ServerAddr(1).String() + " " + tt.conf + "\nserver " + sim.ServerAddr(2).String() + "\n"
				}
			})
			s.Run(300)
			c := engine.NewControl(n.Engine(), direct, nil)
			if tt.action != nil {
				tt.action(c)
			}
			a, st := c.Activity()
			require.Equal(t, candm.StatusSuccess, st)
			assert.Equal(t, tt.want, a)
		})
	}
}

// hostMask selects one IPv4 address.
var hostMask = candm.IPAddr{IP: netip.AddrFrom4([4]byte{255, 255, 255, 255})}

// TestControlAuthDataWithoutNTS: a source without NTS never had a key
// exchange, which chronyd reports as -1 (chronyc prints "-").
func TestControlAuthDataWithoutNTS(t *testing.T) {
	tests := []struct {
		name     string
		conf     string
		wantMode uint16
		wantKey  uint32
	}{
		{name: "no authentication", wantMode: candm.AuthModeNone},
		{name: "symmetric key", conf: " key 7", wantMode: candm.AuthModeSymmetric, wantKey: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, n := world(t, 1, 0, "", func(cfg *sim.NodeConfig) {
				cfg.Conf = "server " + sim.ServerAddr(1).String() + tt.conf + "\n"
			})
			s.Run(1)
			c := engine.NewControl(n.Engine(), direct, nil)
			d, st := c.AuthData(candm.IPAddr{IP: sim.ServerAddr(1)})
			require.Equal(t, candm.StatusSuccess, st)
			assert.Equal(t, tt.wantMode, d.Mode)
			assert.Equal(t, tt.wantKey, d.KeyID)
			assert.Equal(t, uint32(math.MaxUint32), d.LastKEAgo)
			assert.Zero(t, d.KEAttempts)
			assert.Zero(t, d.Cookies)
		})
	}
}

// recordingFallback records the actions passed on to the fallback.
type recordingFallback struct {
	cmdmon.UnsyncedHandler
	actions []cmdmon.Action
}

func (r *recordingFallback) Run(a cmdmon.Action) candm.Status {
	r.actions = append(r.actions, a)
	return candm.StatusSuccess
}

// TestControlPassesMaintenanceOn: rekey and cyclelogs belong to the daemon
// (key file, log files), which the fallback handler answers.
func TestControlPassesMaintenanceOn(t *testing.T) {
	for _, a := range []cmdmon.Action{cmdmon.ActionRekey, cmdmon.ActionCycleLogs} {
		t.Run(a.String(), func(t *testing.T) {
			s, n := world(t, 1, 0, "", nil)
			s.Run(1)
			fb := &recordingFallback{}
			c := engine.NewControl(n.Engine(), direct, fb)
			assert.Equal(t, candm.StatusSuccess, c.Run(a))
			assert.Equal(t, []cmdmon.Action{a}, fb.actions)
		})
	}
}

// keyInfoFallback knows key 7 of the key file.
type keyInfoFallback struct{ cmdmon.UnsyncedHandler }

func (keyInfoFallback) KeyInfo(id uint32) (uint16, uint16, bool) {
	if id == 7 {
		return 3, 160, true
	}
	return 0, 0, false
}

// TestControlAuthDataKeyInfo: the key's type and length come from the
// fallback's key file.
func TestControlAuthDataKeyInfo(t *testing.T) {
	tests := []struct {
		name      string
		key       string
		typ, bits uint16
	}{
		{name: "key in the file", key: "7", typ: 3, bits: 160},
		{name: "key missing from the file", key: "8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, n := world(t, 1, 0, "", func(cfg *sim.NodeConfig) {
				cfg.Conf = "server " + sim.ServerAddr(1).String() + " key " + tt.key + "\n"
			})
			s.Run(1)
			c := engine.NewControl(n.Engine(), direct, &keyInfoFallback{})
			d, st := c.AuthData(candm.IPAddr{IP: sim.ServerAddr(1)})
			require.Equal(t, candm.StatusSuccess, st)
			assert.Equal(t, tt.typ, d.KeyType)
			assert.Equal(t, tt.bits, d.KeyLength)
			assert.Equal(t, uint32(math.MaxUint32), d.LastKEAgo)
		})
	}
}
