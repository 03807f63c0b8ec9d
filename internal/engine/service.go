package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/clientio"
	"github.com/chronygo/chronygo/pkg/ntp/pool"
)

// ServiceOptions configure a Service: the engine's options without the
// scheduler (the service makes a real one), and the service's own.
type ServiceOptions struct {
	// Engine are the engine's options; Scheduler is ignored.
	Engine Options
	// QueueDepth is the loop's input queue (default 1024).
	QueueDepth int
	// Fallback answers the chronyc commands the engine does not own.
	Fallback cmdmon.Handler
	// OnShutdown is called (on its own goroutine) for chronyc shutdown and
	// when a special mode (-q, -Q) ends.
	OnShutdown func()
	// CallTimeout bounds how long a chronyc request waits for the loop
	// (default 5 s).
	CallTimeout time.Duration
	// Lookup, when set and Engine.Resolver is nil, resolves source names
	// on background goroutines whose answers go to the service's loop.
	Lookup pool.Lookup
}

// Service runs an engine on its own loop goroutine over real timers, for
// the daemon: it is a daemon component (Name, Start, Close), answers
// chronyc through Handler and takes packets through Deliver from any
// goroutine.
type Service struct {
	loop    *Loop
	eng     *Engine
	ctrl    *Control
	timeout time.Duration
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
	started bool
}

// NewService builds the engine and its loop; Start runs them.
func NewService(o ServiceOptions) (*Service, error) {
	depth := o.QueueDepth
	if depth <= 0 {
		depth = 1024
	}
	s := &Service{loop: NewLoop(depth), timeout: o.CallTimeout, done: make(chan struct{})}
	if s.timeout <= 0 {
		s.timeout = 5 * time.Second
	}
	if o.Engine.Clock == nil {
		return nil, fmt.Errorf("engine service: no clock driver")
	}
	opts := o.Engine
	clk := opts.Clock
	timers := NewLoopScheduler(clk.ReadRaw)
	s.loop.UseTimers(timers)
	opts.Scheduler = timers
	if opts.Resolver == nil && o.Lookup != nil {
		opts.Resolver = s.Resolver(o.Lookup)
	}
	e, err := New(opts)
	if err != nil {
		return nil, err
	}
	if o.OnShutdown != nil {
		cb := o.OnShutdown
		e.OnShutdown(func() { go cb() })
	}
	s.eng = e
	s.ctrl = NewControl(e, s.call, o.Fallback)
	return s, nil
}

// call runs fn with the loop's ownership: at once on the calling goroutine
// when the loop is idle (Loop.TryRun: a chronyc request then costs no
// goroutine handoff and no timer), else queued on the loop, waiting at most
// the call timeout.
func (s *Service) call(fn func()) error {
	if s.loop.TryRun(fn) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	return s.loop.Call(ctx, fn)
}

// Name implements the daemon's Component.
func (s *Service) Name() string { return "engine" }

// Start runs the loop and starts polling the sources.
func (s *Service) Start(ctx context.Context) error {
	if s.started {
		return fmt.Errorf("engine service already started")
	}
	s.started = true
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		defer close(s.done)
		s.loop.Run(runCtx)
	}()
	if err := s.loop.Call(ctx, s.eng.Start); err != nil {
		return fmt.Errorf("starting engine: %w", err)
	}
	return nil
}

// Close shuts the engine down (drift file, dump files) on its loop and
// stops the loop.
func (s *Service) Close() error {
	var err error
	s.once.Do(func() {
		if !s.started {
			err = s.eng.Shutdown()
			return
		}
		if cerr := s.call(func() { err = s.eng.Shutdown() }); cerr != nil && err == nil {
			err = cerr
		}
		s.cancel()
		<-s.done
	})
	return err
}

// Handler answers chronyc.
func (s *Service) Handler() cmdmon.Handler { return s.ctrl }

// Synchronised reports whether the published reference is a real source
// (not the local reference).
func (s *Service) Synchronised() bool {
	snap := s.eng.Snapshot()
	return snap != nil && snap.Synchronised && snap.RefID != discipline.LocalRefID && snap.Stratum > 0
}

// Deliver hands a received packet to the engine without waiting for the
// loop: when the loop is idle the packet is processed at once on the
// caller's goroutine (Loop.TryRun, sparing the wakeup of the loop's
// goroutine), else it is queued; it reports false when the queue is full
// (the packet is dropped). unclaimed, if not nil, is called with the loop's
// ownership with packets no source took.
func (s *Service) Deliver(p Packet, unclaimed func(Packet)) bool {
	fn := func() {
		if !s.eng.HandlePacket(p) && unclaimed != nil {
			unclaimed(p)
		}
	}
	return s.loop.TryRun(fn) || s.loop.TryPost(fn)
}

// Do runs fn with the engine on the loop and waits for it (for the
// daemon's own needs, e.g. reading reports).
func (s *Service) Do(fn func(*Engine)) error {
	return s.call(func() { fn(s.eng) })
}

// Resolver returns a Resolver that runs lookup on its own goroutines and
// hands the answers to this service's loop (ServiceOptions.Lookup uses it).
func (s *Service) Resolver(lookup pool.Lookup) *LoopResolver {
	return &LoopResolver{Lookup: lookup, Post: s.loop.Post}
}

// DeliverFrom hands every response received by the client sockets
// (clientio.Shell.Received) to the loop until ctx ends or ch is closed;
// run it on its own goroutine. Responses arriving while the loop's queue
// is full are dropped, as a busy daemon's socket buffer would.
func (s *Service) DeliverFrom(ctx context.Context, ch <-chan clientio.Received) {
	for {
		select {
		case <-ctx.Done():
			return
		case r, ok := <-ch:
			if !ok {
				return
			}
			info := r.Info
			s.Deliver(Packet{Data: r.Data, From: r.Remote, Rx: &info}, nil)
		}
	}
}
