package engine_test

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/pkg/ntp/pool"
)

type fakeLookup map[string][]netip.Addr

func (f fakeLookup) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestLoopResolverAnswersOnTheLoop(t *testing.T) {
	loop := engine.NewLoop(4)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go loop.Run(ctx)
	defer loop.Stop()
	r := &engine.LoopResolver{
		Lookup: fakeLookup{"ntp.test": {netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("2001:db8::7")}},
		Post:   loop.Post,
	}
	tests := []struct {
		name   string
		req    pool.ResolveRequest
		want   []netip.Addr
		status pool.Status
	}{
		{"any family", pool.ResolveRequest{ID: 1, Name: "ntp.test"}, []netip.Addr{netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("2001:db8::7")}, pool.Success},
		{"ipv4 only", pool.ResolveRequest{ID: 2, Name: "ntp.test", Family: pool.FamilyIPv4}, []netip.Addr{netip.MustParseAddr("203.0.113.7")}, pool.Success},
		{"unknown", pool.ResolveRequest{ID: 3, Name: "nope.test"}, nil, pool.Failure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan pool.Result, 1)
			r.Resolve(tc.req, func(res pool.Result) { got <- res })
			select {
			case res := <-got:
				require.Equal(t, tc.req.ID, res.ID)
				assert.Equal(t, tc.status, res.Status)
				assert.Equal(t, tc.want, res.Addrs)
			case <-ctx.Done():
				t.Fatal("no answer")
			}
		})
	}
}
