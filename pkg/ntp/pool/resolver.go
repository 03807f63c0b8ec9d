package pool

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"
)

// Family restricts resolution to one address family (chronyd -4 / -6).
type Family int

// Address families.
const (
	FamilyAny Family = iota
	FamilyIPv4
	FamilyIPv6
)

// Matches reports whether an address belongs to the family.
func (f Family) Matches(a netip.Addr) bool {
	a = a.Unmap()
	switch f {
	case FamilyIPv4:
		return a.Is4()
	case FamilyIPv6:
		return a.Is6()
	}
	return a.IsValid()
}

func (f Family) network() string {
	switch f {
	case FamilyIPv4:
		return "ip4"
	case FamilyIPv6:
		return "ip6"
	}
	return "ip"
}

// Status is the outcome of a name resolution, as chronyd distinguishes it.
type Status int

// Resolution outcomes.
const (
	// Success: addresses were found.
	Success Status = iota
	// TryAgain: a temporary failure; the name is retried later.
	TryAgain
	// Failure: the name does not resolve ("Invalid host").
	Failure
)

// MaxAddresses is the most addresses chronyd takes from one resolution.
const MaxAddresses = 16

// Result is a finished resolution, delivered to Manager.HandleResolved.
type Result struct {
	ID     uint64
	Name   string
	Addrs  []netip.Addr
	Status Status
}

// Lookup is the blocking name lookup a resolver uses; *net.Resolver
// provides it, tests and the simulator substitute their own.
type Lookup interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Resolve performs one resolution the way chronyd's DNS_Name2IPAddress
// does: an IP literal needs no lookup (but must match the family), at most
// MaxAddresses addresses of the family are kept, addresses with a zone are
// skipped, a temporary DNS error means TryAgain and any other error
// Failure.
func Resolve(ctx context.Context, l Lookup, name string, family Family) ([]netip.Addr, Status) {
	if ip, err := netip.ParseAddr(name); err == nil {
		if !family.Matches(ip) || ip.Zone() != "" {
			return nil, Failure
		}
		return []netip.Addr{ip.Unmap()}, Success
	}
	addrs, err := l.LookupNetIP(ctx, family.network(), name)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && (dnsErr.IsTemporary || dnsErr.IsTimeout) && !dnsErr.IsNotFound {
			return nil, TryAgain
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, TryAgain
		}
		return nil, Failure
	}
	var out []netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		if a.Zone() != "" || !family.Matches(a) {
			continue
		}
		out = append(out, a)
		if len(out) == MaxAddresses {
			break
		}
	}
	if len(out) == 0 {
		return nil, Failure
	}
	return out, Success
}

// AsyncResolver runs lookups in background goroutines so the engine never
// blocks, and posts each Result to a channel the engine selects on.
type AsyncResolver struct {
	lookup  Lookup
	timeout time.Duration
	results chan Result
}

// NewAsyncResolver creates a resolver; a nil lookup uses net.DefaultResolver.
func NewAsyncResolver(lookup Lookup, timeout time.Duration) *AsyncResolver {
	if lookup == nil {
		lookup = net.DefaultResolver
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &AsyncResolver{lookup: lookup, timeout: timeout, results: make(chan Result, 16)}
}

// Results is the channel of finished resolutions.
func (r *AsyncResolver) Results() <-chan Result { return r.results }

// Start begins resolving req in the background. ctx cancels it at shutdown,
// in which case no result is delivered.
func (r *AsyncResolver) Start(ctx context.Context, req ResolveRequest) {
	go func() {
		lctx, cancel := context.WithTimeout(ctx, r.timeout)
		defer cancel()
		addrs, st := Resolve(lctx, r.lookup, req.Name, req.Family)
		select {
		case r.results <- Result{ID: req.ID, Name: req.Name, Addrs: addrs, Status: st}:
		case <-ctx.Done():
		}
	}()
}
