package server

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientsInOrderOfAppearance checks that chronyc clients lists records
// oldest first and pages through them, whatever slots their hashes pick.
func TestClientsInOrderOfAppearance(t *testing.T) {
	log := NewClientLog(ClientLogConfig{LimitBytes: 1 << 20}, 0, &Stats{})
	now := time.Unix(1_700_000_000, 0)
	var addrs []netip.Addr
	for i := range 20 {
		a := netip.AddrFrom4([4]byte{198, 51, 100, byte(200 - i)})
		if i%2 == 1 {
			b := netip.MustParseAddr("2001:db8::").As16()
			b[15] = byte(i)
			a = netip.AddrFrom16(b)
		}
		addrs = append(addrs, a)
		log.LogCommand(a, now.Add(time.Duration(i)*time.Second))
	}
	tests := []struct {
		name        string
		first, n    int
		want        []netip.Addr
		wantNextMin int
	}{
		{name: "first page", first: 0, n: 8, want: addrs[:8], wantNextMin: 8},
		{name: "middle page", first: 8, n: 8, want: addrs[8:16], wantNextMin: 16},
		{name: "last page", first: 16, n: 8, want: addrs[16:], wantNextMin: log.MaxRecords()},
		{name: "past the end", first: 40, n: 8, want: nil, wantNextMin: log.MaxRecords()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reps, next := log.Clients(tt.first, tt.n, false, 0, now.Add(time.Minute))
			var got []netip.Addr
			for _, r := range reps {
				got = append(got, r.Addr)
			}
			assert.Equal(t, tt.want, got)
			assert.GreaterOrEqual(t, next, tt.wantNextMin)
		})
	}
	rep, ok := log.Report(0, false, 0, now)
	require.True(t, ok)
	assert.Equal(t, addrs[0], rep.Addr)
}
