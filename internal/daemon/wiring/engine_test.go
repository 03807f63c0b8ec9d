package wiring

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/daemon"
	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/chronygo/chronygo/pkg/discipline/reference"
	"github.com/chronygo/chronygo/pkg/ntp/access"
	"github.com/chronygo/chronygo/pkg/ntp/server"
)

func TestClockOptions(t *testing.T) {
	tests := []struct {
		name      string
		lines     []string
		control   bool
		wantRTC   bool
		wantPrec  float64
		wantDrift float64
	}{
		{"rtcsync with clock control", []string{"rtcsync", "clockprecision 1e-6"}, true, true, 1e-6, 500000},
		{"rtcsync ignored with -x", []string{"rtcsync", "clockprecision 1e-6"}, false, false, 1e-6, 500000},
		{"maxdrift", []string{"maxdrift 100", "clockprecision 1e-3"}, true, false, 1e-3, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := conf.Load("", tt.lines)
			require.NoError(t, err)
			o := clockOptions(cfg, tt.control, nil)
			assert.Equal(t, tt.wantRTC, o.RTCSync)
			assert.Equal(t, tt.wantPrec, o.Precision)
			assert.Equal(t, tt.wantDrift, o.MaxDrift)
		})
	}
	cfg := conf.NewConfig()
	assert.Positive(t, clockOptions(cfg, false, nil).Precision, "precision measured when not configured")
}

func TestModeAndFamilyMapping(t *testing.T) {
	modes := []struct {
		in   daemon.RefMode
		want reference.Mode
	}{
		{daemon.RefModeNormal, reference.ModeNormal},
		{daemon.RefModeUpdateOnce, reference.ModeUpdateOnce},
		{daemon.RefModePrintOnce, reference.ModePrintOnce},
	}
	for _, m := range modes {
		assert.Equal(t, m.want, referenceMode(m.in))
	}
	families := []struct {
		in   daemon.AddressFamily
		want conf.Family
	}{
		{daemon.FamilyAny, conf.FamilyAny},
		{daemon.FamilyIPv4, conf.FamilyIPv4},
		{daemon.FamilyIPv6, conf.FamilyIPv6},
	}
	for _, f := range families {
		assert.Equal(t, f.want, confFamily(f.in))
	}
}

func TestClientOnly(t *testing.T) {
	tests := []struct {
		name              string
		lines             []string
		wantPort, wantCmd int
		wantPid, wantSock string
	}{
		{"defaults closed", []string{"logchange 1"}, 0, 0, "", ""},
		{"configured ports kept", []string{"port 11123", "cmdport 11124", "pidfile /tmp/x.pid", "bindcmdaddress /tmp/x.sock"}, 11123, 11124, "/tmp/x.pid", "/tmp/x.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := conf.Load("", tt.lines)
			require.NoError(t, err)
			clientOnly(cfg)
			assert.Equal(t, tt.wantPort, cfg.Port)
			assert.Equal(t, tt.wantCmd, cfg.CmdPort)
			assert.Equal(t, tt.wantPid, cfg.PidFile)
			assert.Equal(t, tt.wantSock, cfg.BindCmdPath)
		})
	}
	loaded, err := NewLoaderFor(nil, daemon.Options{ClientOnly: true})("", []string{"server 127.0.0.1"})
	require.NoError(t, err)
	assert.Empty(t, loaded.Settings.PidFile, "-Q writes no pid file")
	assert.Zero(t, loaded.Settings.NTPPort)
}

// upstream starts an NTP server on a free loopback port serving a
// stratum-1 reference, as a real server would.
func upstream(t *testing.T) netip.AddrPort {
	t.Helper()
	tab := access.NewTable()
	require.NoError(t, tab.Apply(access.Rule{Allow: true, Prefix: netip.MustParsePrefix("127.0.0.1/32")}))
	srv, err := server.Start(context.Background(), server.Config{
		Port: -1, Workers: 1, Access: tab, DisableIPv6: true,
		BindAddress4: netip.MustParseAddr("127.0.0.1"),
		Reference: server.StaticReference(discipline.ReferenceSnapshot{
			Synchronised: true, Stratum: 1, RefID: 0x47505300, Precision: -20, RefTime: time.Now(),
		}),
	})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	addrs := srv.LocalAddrs()
	require.Len(t, addrs, 1)
	return addrs[0]
}

// fakeClocks is a ClockFactory recording its calls and handing out a
// clock that never touches the system clock.
type fakeClocks struct {
	control []bool
	opts    []clock.Options
}

func (f *fakeClocks) make(control bool, opts clock.Options) (clock.Clock, error) {
	f.control = append(f.control, control)
	f.opts = append(f.opts, opts)
	return clock.NewNoControl(time.Now, opts), nil
}

// buildTestEngine builds an engine through the factory for lines.
func buildTestEngine(t *testing.T, clocks *fakeClocks, opts daemon.Options, exit func(int), lines ...string) (*engineComponent, *atomic.Pointer[discipline.ReferenceSnapshot]) {
	t.Helper()
	cfg, err := conf.Load("", lines)
	require.NoError(t, err)
	var ref atomic.Pointer[discipline.ReferenceSnapshot]
	ref.Store(InitialSnapshot(cfg.Local, -20, time.Now()))
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	e, err := NewEngineFactory(EngineDeps{Clock: clocks.make})(EngineInputs{
		Config:    cfg,
		Reference: &ref,
		Resources: daemon.Resources{Options: opts, Log: log, Exit: exit},
		Fallback:  &cmdmon.UnsyncedHandler{},
	})
	require.NoError(t, err)
	return e.(*engineComponent), &ref
}

func TestEngineSynchronisesToServer(t *testing.T) {
	up := upstream(t)
	dir := t.TempDir()
	drift := filepath.Join(dir, "drift")
	clocks := &fakeClocks{}
	e, ref := buildTestEngine(t, clocks, daemon.Options{ClockControl: true}, nil,
		"server 127.0.0.1 port "+strconv.Itoa(int(up.Port()))+" iburst minpoll -2 maxpoll -2",
		"driftfile "+drift, "rtcsync", "clockprecision 1e-6",
		"logdir "+dir, "log tracking rawmeasurements")
	require.Equal(t, []bool{true}, clocks.control, "clock control requested without -x")
	assert.True(t, clocks.opts[0].RTCSync)
	require.NoError(t, e.Start(context.Background()))
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = e.Close()
		}
	})

	synced := func() bool {
		s := ref.Load()
		return s != nil && s.Synchronised && s.Stratum == 2
	}
	require.Eventually(t, synced, 20*time.Second, 20*time.Millisecond, "engine never synchronised to %s", up)
	snap := ref.Load()
	assert.Equal(t, uint32(0x7F000001), snap.RefID, "reference ID of 127.0.0.1")
	assert.True(t, e.Synchronised())

	tr, status := e.Handler().Tracking()
	require.Equal(t, candm.StatusSuccess, status)
	assert.Equal(t, uint16(2), tr.Stratum)
	n, status := e.Handler().NumSources()
	require.Equal(t, candm.StatusSuccess, status)
	assert.Equal(t, 1, n)
	sd, status := e.Handler().SourceData(0)
	require.Equal(t, candm.StatusSuccess, status)
	assert.Equal(t, netip.MustParseAddr("127.0.0.1"), sd.IPAddr.IP)

	require.NoError(t, e.Close())
	closed = true
	data, err := os.ReadFile(drift)
	require.NoError(t, err, "drift file written at shutdown")
	_, _, err = reference.ParseDrift(string(data))
	assert.NoError(t, err)
	meas, err := os.ReadFile(filepath.Join(dir, "measurements.log"))
	require.NoError(t, err)
	assert.Contains(t, string(meas), "127.0.0.1")
	assert.Contains(t, string(meas), "=====", "banner")
	assert.FileExists(t, filepath.Join(dir, "tracking.log"))
}

func TestEngineSpecialModeEnds(t *testing.T) {
	up := upstream(t)
	tests := []struct {
		name   string
		lines  []string
		status int
	}{
		{"no sources: gives up", []string{"logchange 1"}, 1},
		{"measured once", []string{"server 127.0.0.1 port " + strconv.Itoa(int(up.Port())) + " iburst"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exited := make(chan int, 2)
			clocks := &fakeClocks{}
			e, _ := buildTestEngine(t, clocks, daemon.Options{Mode: daemon.RefModePrintOnce}, func(s int) { exited <- s }, tt.lines...)
			assert.Equal(t, []bool{false}, clocks.control, "-Q never controls the clock")
			require.NoError(t, e.Start(context.Background()))
			defer e.Close()
			select {
			case s := <-exited:
				assert.Equal(t, tt.status, s)
			case <-time.After(20 * time.Second):
				t.Fatal("the special mode did not end")
			}
		})
	}
}

func TestReferenceHandlerServerCommands(t *testing.T) {
	tab := access.NewTable()
	ntp := &ntpServer{cfg: server.Config{Port: -1, Workers: 1, Access: tab, DisableIPv6: true,
		BindAddress4: netip.MustParseAddr("127.0.0.1"),
		Reference:    server.StaticReference(discipline.ReferenceSnapshot{})}}
	h := &referenceHandler{UnsyncedHandler: &cmdmon.UnsyncedHandler{}, ntp: ntp, now: time.Now}

	_, status := h.ClientAccesses(candm.ClientAccessesQuery{NClients: 8})
	assert.Equal(t, candm.StatusInactive, status, "no server running")
	assert.Equal(t, candm.StatusFailed, h.NTPAccess(access.Rule{Allow: true, Any: true}))

	require.NoError(t, ntp.Start(context.Background()))
	defer ntp.Close()
	addr := candm.AddrFrom(netip.MustParseAddr("203.0.113.7"))
	assert.Equal(t, candm.StatusAccessDenied, h.NTPAccessCheck(addr))
	assert.Equal(t, candm.StatusSuccess, h.NTPAccess(access.Rule{Allow: true, Prefix: netip.MustParsePrefix("203.0.113.0/24")}))
	assert.Equal(t, candm.StatusAccessAllowed, h.NTPAccessCheck(addr))

	page, status := h.ClientAccesses(candm.ClientAccessesQuery{NClients: 100})
	require.Equal(t, candm.StatusSuccess, status)
	assert.Positive(t, page.NIndices)
	assert.Empty(t, page.Clients, "nobody asked yet")

	cr := clientAccess(server.ClientReport{Addr: netip.MustParseAddr("198.51.100.3"), NTPHits: 5, NTPDrops: 2, NTPInterval: 3, LastNTPHitAgo: 9})
	assert.Equal(t, candm.ClientAccess{IP: candm.AddrFrom(netip.MustParseAddr("198.51.100.3")), NTPHits: 5, NTPDrops: 2, NTPInterval: 3, LastNTPHitAgo: 9}, cr)
}
