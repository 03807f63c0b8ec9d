package wiring

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/daemon"
	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline"
)

var now = time.Date(2026, 2, 3, 15, 21, 43, 0, time.UTC)

func TestInitialSnapshot(t *testing.T) {
	local := &discipline.ReferenceSnapshot{
		Synchronised: true, Leap: discipline.LeapNormal, Stratum: 10,
		RefID: discipline.LocalRefID, RefTime: now.Add(-time.Second), Precision: -20,
	}
	unsync := &discipline.ReferenceSnapshot{
		Leap: discipline.LeapUnsynchronised, Stratum: 0, RootDelay: 1, RootDispersion: 1, Precision: -20,
	}
	tests := []struct {
		name  string
		local conf.Local
		want  *discipline.ReferenceSnapshot
	}{
		{"no local", conf.Local{Stratum: 10}, unsync},
		{"local stratum 10", conf.Local{Enabled: true, Stratum: 10, Distance: 1}, local},
		{"local stratum 3", conf.Local{Enabled: true, Stratum: 3}, func() *discipline.ReferenceSnapshot {
			s := *local
			s.Stratum = 3
			return &s
		}()},
		{"orphan waits for waitunsynced", conf.Local{Enabled: true, Stratum: 10, Orphan: true, WaitUnsynced: 300}, unsync},
		{"activate needs an earlier synchronisation", conf.Local{Enabled: true, Stratum: 10, Activate: 0.5}, unsync},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, InitialSnapshot(tt.local, -20, now))
		})
	}
}

func TestResolveAccessRules(t *testing.T) {
	var gotNetwork string
	lookup := func(_ context.Context, network, host string) ([]netip.Addr, error) {
		gotNetwork = network
		switch host {
		case "ntp.example":
			return []netip.Addr{netip.MustParseAddr("::ffff:198.51.100.7"), netip.MustParseAddr("198.51.100.8")}, nil
		case "v6.example":
			return []netip.Addr{netip.MustParseAddr("2001:db8::7")}, nil
		}
		return nil, errors.New("no such host")
	}
	subnet := conf.AccessRule{Allow: true, Subnet: "203.0.113.0/24", Bits: 24, Prefix: netip.MustParsePrefix("203.0.113.0/24")}
	tests := []struct {
		name        string
		family      daemon.AddressFamily
		rules       []conf.AccessRule
		want        []conf.AccessRule
		wantNetwork string
		wantErr     string
	}{
		{"addresses untouched", daemon.FamilyAny, []conf.AccessRule{subnet}, []conf.AccessRule{subnet}, "", ""},
		{"IPv4 host", daemon.FamilyIPv4,
			[]conf.AccessRule{{Allow: false, Subnet: "ntp.example", Host: true, Bits: -1}},
			[]conf.AccessRule{{Allow: false, Subnet: "ntp.example", Bits: 32, Prefix: netip.MustParsePrefix("198.51.100.7/32")}},
			"ip4", ""},
		{"IPv6 host", daemon.FamilyIPv6,
			[]conf.AccessRule{{Allow: true, All: true, Subnet: "v6.example", Host: true, Bits: -1}},
			[]conf.AccessRule{{Allow: true, All: true, Subnet: "v6.example", Bits: 128, Prefix: netip.MustParsePrefix("2001:db8::7/128")}},
			"ip6", ""},
		{"unknown host", daemon.FamilyAny,
			[]conf.AccessRule{{Allow: true, Subnet: "nowhere.example", Host: true, Bits: -1}},
			nil, "ip", "Could not resolve address of nowhere.example in allow directive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotNetwork = ""
			got, err := ResolveAccessRules(context.Background(), tt.rules, "allow", tt.family, lookup)
			assert.Equal(t, tt.wantNetwork, gotNetwork)
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestAccessTable(t *testing.T) {
	rules := []conf.AccessRule{
		{Allow: true, Subnet: "198.51.100.0/24", Bits: 24, Prefix: netip.MustParsePrefix("198.51.100.0/24")},
		{Allow: false, Subnet: "198.51.100.7", Bits: 32, Prefix: netip.MustParsePrefix("198.51.100.7/32")},
	}
	table, err := AccessTable(rules)
	require.NoError(t, err)
	assert.True(t, table.Allowed(netip.MustParseAddr("198.51.100.1")))
	assert.False(t, table.Allowed(netip.MustParseAddr("198.51.100.7")))
	assert.False(t, table.Allowed(netip.MustParseAddr("203.0.113.1")))

	everyone, err := AccessTable([]conf.AccessRule{{Allow: true}})
	require.NoError(t, err)
	assert.True(t, everyone.Allowed(netip.MustParseAddr("2001:db8::1")))

	_, err = AccessTable([]conf.AccessRule{{Allow: true, Subnet: "198.51.100.0/40", Bits: 40}})
	assert.EqualError(t, err, "Bad subnet in 198.51.100.0/40/40")
	_, err = AccessRules([]conf.AccessRule{{Allow: true, Subnet: "unresolved.example", Host: true, Bits: -1}})
	assert.Error(t, err, "host names must be resolved first")
}

func TestServerAndCmdmonConfig(t *testing.T) {
	cfg := conf.NewConfig()
	cfg.Port = 11123
	cfg.BindAddress4 = netip.MustParseAddr("127.0.0.1")
	cfg.DSCP = 46
	cfg.NoClientLog = true
	cfg.RateLimit = conf.RateLimit{Enabled: true, Interval: 2, Burst: 4, Leak: 3, KoD: 1}
	sc := ServerConfig(cfg, daemon.FamilyIPv4, nil)
	assert.Equal(t, 11123, sc.Port)
	assert.Equal(t, cfg.BindAddress4, sc.BindAddress4)
	assert.False(t, sc.DisableIPv4)
	assert.True(t, sc.DisableIPv6, "-4")
	assert.Equal(t, 46, sc.DSCP)
	assert.True(t, sc.ClientLog.Disabled)
	assert.Equal(t, 524288, sc.ClientLog.LimitBytes)
	assert.Equal(t, 2, sc.ClientLog.NTP.Interval)
	assert.Equal(t, 1, sc.ClientLog.NTP.KoD)
	assert.True(t, sc.ClientLog.NTP.Enabled)
	assert.False(t, sc.ClientLog.Cmd.Enabled)

	r := daemon.Resources{Options: daemon.Options{Family: daemon.FamilyIPv6}, UID: 7, GID: 8, CmdSocketAllowed: true}
	cc := CmdmonConfig(cfg, r, nil)
	assert.Equal(t, conf.DefaultCmdSocket, cc.SocketPath)
	assert.Equal(t, 323, cc.Port)
	assert.True(t, cc.NoIPv4, "-6")
	assert.False(t, cc.NoIPv6)
	assert.Equal(t, 7, cc.UID)
	assert.Equal(t, 8, cc.GID)
	assert.Equal(t, cfg.OpenCommands, cc.Policy.OpenCommands)
	r.CmdSocketAllowed = false
	assert.Empty(t, CmdmonConfig(cfg, r, nil).SocketPath, "a refused socket folder disables the Unix socket")
}

func TestReferencePublisherRefreshesLocalReference(t *testing.T) {
	var ref atomic.Pointer[discipline.ReferenceSnapshot]
	ref.Store(InitialSnapshot(conf.Local{Enabled: true, Stratum: 10}, -20, now))
	p := &referencePublisher{ref: &ref}

	p.refresh(now.Add(30 * time.Second))
	assert.Equal(t, now.Add(-time.Second), ref.Load().RefTime, "young reference kept")
	p.refresh(now.Add(100 * time.Second))
	assert.Equal(t, now.Add(99*time.Second), ref.Load().RefTime, "aged reference moved to one second ago")
	assert.Equal(t, uint8(10), ref.Load().Stratum)

	ref.Store(InitialSnapshot(conf.Local{}, -20, now))
	p.refresh(now.Add(1000 * time.Second))
	assert.True(t, ref.Load().RefTime.IsZero(), "an unsynchronised reference has no time to move")
}

func TestReferencePublisherStartClose(t *testing.T) {
	var ref atomic.Pointer[discipline.ReferenceSnapshot]
	ref.Store(InitialSnapshot(conf.Local{Enabled: true, Stratum: 10}, -20, now))
	clock := now.Add(200 * time.Second)
	var calls atomic.Int32
	p := &referencePublisher{ref: &ref, period: time.Millisecond, now: func() time.Time { calls.Add(1); return clock }}
	require.NoError(t, p.Start(context.Background()))
	ok := false
	for i := 0; i < 500 && !ok; i++ {
		ok = ref.Load().RefTime.Equal(clock.Add(-time.Second))
		time.Sleep(2 * time.Millisecond)
	}
	require.NoError(t, p.Close())
	assert.True(t, ok, "the ticker refreshed the reference")
	require.NoError(t, p.Close(), "closing twice is harmless")
}

func TestReferenceHandlerTracking(t *testing.T) {
	var ref atomic.Pointer[discipline.ReferenceSnapshot]
	h := &referenceHandler{ref: &ref, now: func() time.Time { return now }}
	h.UnsyncedHandler = &cmdmon.UnsyncedHandler{}

	ref.Store(InitialSnapshot(conf.Local{Enabled: true, Stratum: 10}, -20, now))
	tr, status := h.Tracking()
	assert.Equal(t, candm.StatusSuccess, status)
	assert.Equal(t, discipline.LocalRefID, tr.RefID)
	assert.Equal(t, uint16(10), tr.Stratum)
	assert.Equal(t, uint16(0), tr.LeapStatus)
	assert.Equal(t, now.Add(-time.Second), tr.RefTime)
	assert.Zero(t, tr.RootDelay)
	assert.Zero(t, tr.RootDispersion)

	ref.Store(InitialSnapshot(conf.Local{}, -20, now))
	tr, status = h.Tracking()
	assert.Equal(t, candm.StatusSuccess, status)
	assert.Equal(t, uint16(3), tr.LeapStatus)
	assert.Equal(t, uint16(0), tr.Stratum)
	assert.Equal(t, 1.0, tr.RootDispersion)

	assert.Equal(t, candm.StatusAccessDenied, h.NTPAccessCheck(candm.AddrFrom(netip.MustParseAddr("198.51.100.1"))), "no server, nothing allowed")
	stats, status := h.ServerStats()
	assert.Equal(t, candm.StatusSuccess, status)
	assert.Zero(t, stats.NTPHits)
}
