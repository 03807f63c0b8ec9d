package wiring

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/chronygo/chronygo/internal/daemon"
	"github.com/chronygo/chronygo/pkg/conf"
)

// LookupFunc resolves a host name to addresses (net.Resolver.LookupNetIP's
// shape).
type LookupFunc func(ctx context.Context, network, host string) ([]netip.Addr, error)

// ResolveAccessRules returns rules with every host name replaced by its
// first address of the allowed family, as a /32 or /128 prefix, as chronyd
// does when it reads the line. A name that does not resolve is an error
// naming it and the directive.
func ResolveAccessRules(ctx context.Context, rules []conf.AccessRule, directive string, family daemon.AddressFamily, lookup LookupFunc) ([]conf.AccessRule, error) {
	network := "ip"
	switch family {
	case daemon.FamilyIPv4:
		network = "ip4"
	case daemon.FamilyIPv6:
		network = "ip6"
	}
	out := make([]conf.AccessRule, len(rules))
	for i, r := range rules {
		out[i] = r
		if !r.Host {
			continue
		}
		addrs, err := lookup(ctx, network, r.Subnet)
		if err != nil || len(addrs) == 0 {
			return nil, fmt.Errorf("Could not resolve address of %s in %s directive", r.Subnet, directive) //lint:ignore ST1005 chronyd-style message
		}
		a := addrs[0].Unmap()
		out[i].Host = false
		out[i].Bits = a.BitLen()
		out[i].Prefix = netip.PrefixFrom(a, a.BitLen())
	}
	return out, nil
}

// SystemLookup resolves names with the system's resolver.
func SystemLookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, network, host)
}
