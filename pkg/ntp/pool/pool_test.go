package pool

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/ntp/source"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func addrs(n int) []netip.Addr {
	var out []netip.Addr
	for i := 1; i <= n; i++ {
		out = append(out, netip.MustParseAddr(fmt.Sprintf("203.0.113.%d", i)))
	}
	return out
}

func poolOpts(max int) source.Options {
	o := source.DefaultOptions(source.ModeClient)
	o.IBurst = true
	o.MaxSources = max
	return o
}

func of[T Action](acts []Action) []T {
	var out []T
	for _, a := range acts {
		if v, ok := a.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func resolveOnce(t *testing.T, m *Manager, now time.Time, acts []Action, st Status, a []netip.Addr) []Action {
	t.Helper()
	reqs := of[ResolveRequest](acts)
	require.Len(t, reqs, 1)
	return m.HandleResolved(now, Result{ID: reqs[0].ID, Name: reqs[0].Name, Addrs: a, Status: st})
}

func TestPoolKeepsMaxSources(t *testing.T) {
	m := NewManager(Config{Rand: rand.New(rand.NewPCG(1, 1))})
	_, err := m.AddPool(t0, "pool.example", poolOpts(2))
	require.NoError(t, err)
	assert.Equal(t, 4, m.Unresolved(), "twice maxsources are tried")
	acts := resolveOnce(t, m, t0, m.ResolveNow(t0), Success, addrs(6))
	added := of[AddSource](acts)
	require.Len(t, added, 4)
	for i, a := range added {
		assert.Equal(t, addrs(6)[i], a.Addr)
		assert.True(t, a.Pool)
		assert.Equal(t, "pool.example", a.Name)
		assert.True(t, a.Options.IBurst)
	}
	assert.Empty(t, of[SetTimer](acts), "all resolved")

	assert.Empty(t, m.SourceConfirmed(addrs(6)[2]))
	assert.Empty(t, m.SourceConfirmed(addrs(6)[2]), "confirming twice changes nothing")
	removed := of[RemoveSource](m.SourceConfirmed(addrs(6)[0]))
	require.Len(t, removed, 2)
	assert.ElementsMatch(t, []netip.Addr{addrs(6)[1], addrs(6)[3]}, []netip.Addr{removed[0].Addr, removed[1].Addr})
	assert.Len(t, m.Sources(), 2)
}

func TestPoolRetriesWithBackoff(t *testing.T) {
	m := NewManager(Config{})
	_, err := m.AddPool(t0, "pool.example", poolOpts(4))
	require.NoError(t, err)
	now := t0
	acts := resolveOnce(t, m, now, m.ResolveNow(now), Success, addrs(1))
	assert.Len(t, of[AddSource](acts), 1)
	var gaps []time.Duration
	for i := 0; i < 10; i++ {
		timers := of[SetTimer](acts)
		require.Len(t, timers, 1)
		gaps = append(gaps, timers[0].At.Sub(now))
		now = timers[0].At
		acts = resolveOnce(t, m, now, m.HandleTimer(now), TryAgain, nil)
	}
	want := []time.Duration{28, 56, 112, 224, 448, 896, 1792, 3584, 3584, 3584}
	for i := range want {
		assert.Equal(t, want[i]*time.Second, gaps[i], "retry %d", i)
	}
	// Once more addresses appear, the pool fills up and retrying stops.
	acts = resolveOnce(t, m, now, m.HandleTimer(now.Add(3584*time.Second)), Success, addrs(10))
	assert.Len(t, of[AddSource](acts), 7)
	assert.Empty(t, of[SetTimer](acts))
	assert.Zero(t, m.Unresolved())
}

func TestServerNameResolution(t *testing.T) {
	m := NewManager(Config{Family: FamilyIPv6})
	_, err := m.AddServer(t0, "ntp.example", source.DefaultOptions(source.ModeClient))
	require.NoError(t, err)
	_, err = m.AddServer(t0, "bad.example", source.DefaultOptions(source.ModeClient))
	require.NoError(t, err)
	v6 := netip.MustParseAddr("2001:db8::5")
	acts := resolveOnce(t, m, t0, m.ResolveNow(t0), Success, append(addrs(2), v6))
	added := of[AddSource](acts)
	require.Len(t, added, 1)
	assert.Equal(t, v6, added[0].Addr, "-6 skips IPv4 addresses")
	// The next name in the queue is resolved right away; a failure drops it.
	acts = resolveOnce(t, m, t0, acts, Failure, nil)
	assert.Empty(t, acts, "no retry timer after a permanent failure")
	assert.Equal(t, 1, m.Unresolved(), "the invalid name stays unresolved, as in chronyd")

	// An address needs no resolving but must match the family.
	acts, err = m.AddServer(t0, "2001:db8::9", source.DefaultOptions(source.ModePeer))
	require.NoError(t, err)
	assert.Len(t, of[AddSource](acts), 1)
	_, err = m.AddServer(t0, "203.0.113.1", source.DefaultOptions(source.ModeClient))
	assert.Error(t, err)
	nts := source.DefaultOptions(source.ModeClient)
	nts.NTS = true
	_, err = m.AddServer(t0, "nts.example", nts)
	assert.ErrorIs(t, err, source.ErrNTSUnsupported)
}

func TestReplacement(t *testing.T) {
	m := NewManager(Config{Rand: rand.New(rand.NewPCG(3, 4))})
	_, err := m.AddPool(t0, "pool.example", poolOpts(1))
	require.NoError(t, err)
	all := addrs(5)
	acts := resolveOnce(t, m, t0, m.ResolveNow(t0), Success, all[:2])
	require.Len(t, of[AddSource](acts), 2)
	m.SourceConfirmed(all[0])
	require.Len(t, m.Sources(), 1)

	now := t0.Add(time.Hour)
	acts = m.HandleBadSource(now, all[0])
	acts = resolveOnce(t, m, now, acts, Success, all)
	rep := of[ReplaceSource](acts)
	require.Len(t, rep, 1)
	assert.Equal(t, all[0], rep[0].Old)
	assert.NotEqual(t, all[0], rep[0].New)
	assert.Equal(t, "pool.example", rep[0].Name)
	assert.Empty(t, of[SetTimer](acts), "a replacement is tried once")

	// Another bad report right away is postponed.
	assert.Empty(t, m.HandleBadSource(now.Add(time.Second), rep[0].New))
	// Much later it is served; if no other address is free nothing changes.
	later := now.Add(2 * time.Hour)
	acts = resolveOnce(t, m, later, m.HandleBadSource(later, rep[0].New), Success, []netip.Addr{rep[0].New})
	assert.Empty(t, acts)

	// A source given by address is never replaced.
	_, err = m.AddServer(t0, "198.51.100.3", source.DefaultOptions(source.ModeClient))
	require.NoError(t, err)
	assert.Empty(t, m.HandleBadSource(later.Add(3*time.Hour), netip.MustParseAddr("198.51.100.3")))
}

func TestRefresh(t *testing.T) {
	m := NewManager(Config{Refresh: time.Hour})
	_, err := m.AddServer(t0, "ntp.example", source.DefaultOptions(source.ModeClient))
	require.NoError(t, err)
	all := addrs(3)
	resolveOnce(t, m, t0, m.ResolveNow(t0), Success, all[:1])
	assert.Empty(t, m.MaybeRefresh(t0.Add(time.Minute)))
	now := t0.Add(2 * time.Hour)
	acts := resolveOnce(t, m, now, m.MaybeRefresh(now), Success, all)
	assert.Empty(t, acts, "still fresh: the address is still returned")
	assert.Empty(t, m.MaybeRefresh(now.Add(time.Minute)), "not before the interval")
	now = now.Add(2 * time.Hour)
	acts = resolveOnce(t, m, now, m.MaybeRefresh(now), Success, all[1:2])
	rep := of[ReplaceSource](acts)
	require.Len(t, rep, 1)
	assert.Equal(t, all[1], rep[0].New)

	acts = m.RefreshAll(now)
	acts = resolveOnce(t, m, now, acts, Success, all[2:])
	assert.Len(t, of[ReplaceSource](acts), 1)
	assert.True(t, m.Remove(all[2]))
	assert.False(t, m.Remove(all[2]))
}

type fakeLookup struct {
	addrs []netip.Addr
	err   error
	seen  []string
}

func (f *fakeLookup) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	f.seen = append(f.seen, network+" "+host)
	return f.addrs, f.err
}

func TestResolve(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::1")
	zoned := netip.MustParseAddr("fe80::1%eth0")
	many := append(addrs(20), v6, zoned)
	tests := []struct {
		name    string
		host    string
		family  Family
		lookup  *fakeLookup
		want    []netip.Addr
		status  Status
		network string
	}{
		{"literal", "203.0.113.9", FamilyAny, &fakeLookup{}, []netip.Addr{netip.MustParseAddr("203.0.113.9")}, Success, ""},
		{"literal wrong family", "203.0.113.9", FamilyIPv6, &fakeLookup{}, nil, Failure, ""},
		{"ipv4 only, capped at 16", "n", FamilyIPv4, &fakeLookup{addrs: many}, addrs(16), Success, "ip4 n"},
		{"ipv6 only skips zones", "n", FamilyIPv6, &fakeLookup{addrs: many}, []netip.Addr{v6}, Success, "ip6 n"},
		{"not found", "n", FamilyAny, &fakeLookup{err: &net.DNSError{Err: "no such host", IsNotFound: true}}, nil, Failure, "ip n"},
		{"temporary", "n", FamilyAny, &fakeLookup{err: &net.DNSError{Err: "server misbehaving", IsTemporary: true}}, nil, TryAgain, "ip n"},
		{"timeout", "n", FamilyAny, &fakeLookup{err: &net.DNSError{Err: "timeout", IsTimeout: true}}, nil, TryAgain, "ip n"},
		{"empty answer", "n", FamilyAny, &fakeLookup{}, nil, Failure, "ip n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, st := Resolve(context.Background(), tc.lookup, tc.host, tc.family)
			assert.Equal(t, tc.status, st)
			assert.Equal(t, tc.want, got)
			if tc.network != "" {
				assert.Equal(t, []string{tc.network}, tc.lookup.seen)
			} else {
				assert.Empty(t, tc.lookup.seen)
			}
		})
	}
}

func TestAsyncResolver(t *testing.T) {
	r := NewAsyncResolver(&fakeLookup{addrs: addrs(2)}, time.Second)
	r.Start(context.Background(), ResolveRequest{ID: 7, Name: "pool.example"})
	select {
	case res := <-r.Results():
		assert.Equal(t, Result{ID: 7, Name: "pool.example", Addrs: addrs(2), Status: Success}, res)
	case <-time.After(5 * time.Second):
		t.Fatal("no result")
	}
}
