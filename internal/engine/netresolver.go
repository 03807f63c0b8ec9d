package engine

import (
	"context"
	"time"

	"github.com/chronygo/chronygo/pkg/ntp/pool"
)

// LoopResolver is the daemon's Resolver: it runs a blocking lookup on its
// own goroutine with pool.Resolve's rules, bounded by Timeout, and posts
// the answer to the loop.
type LoopResolver struct {
	// Lookup does the resolving (a *net.Resolver).
	Lookup pool.Lookup
	// Post hands the answer to the loop (Loop.Post).
	Post func(func()) error
	// Timeout bounds one lookup (default 10 s).
	Timeout time.Duration
}

// Resolve implements Resolver.
func (r *LoopResolver) Resolve(req pool.ResolveRequest, done func(pool.Result)) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		addrs, st := pool.Resolve(ctx, r.Lookup, req.Name, req.Family)
		_ = r.Post(func() { done(pool.Result{ID: req.ID, Name: req.Name, Addrs: addrs, Status: st}) })
	}()
}
