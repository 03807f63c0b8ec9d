package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrLoopStopped is returned when an input is offered to a loop that has
// stopped.
var ErrLoopStopped = errors.New("engine loop stopped")

// Loop is the single goroutine that owns the engine's state. Other
// goroutines (socket readers, timers, the resolver, cmdmon) hand it inputs
// as closures; the loop runs them one at a time, in arrival order.
type Loop struct {
	inputs chan func()
	mu     sync.Mutex
	closed bool
	done   chan struct{}
	// own is held by whoever runs an input: Run, or TryRun on its
	// caller's goroutine; running is set once Run has begun.
	own     sync.Mutex
	running atomic.Bool
	// timers, if set, is serviced by Run itself.
	timers *LoopScheduler
}

// NewLoop returns a loop whose input queue holds up to depth pending inputs.
func NewLoop(depth int) *Loop {
	if depth < 1 {
		depth = 1
	}
	return &Loop{inputs: make(chan func(), depth), done: make(chan struct{})}
}

// Post queues fn to run on the loop. It blocks while the queue is full and
// returns ErrLoopStopped once the loop has stopped.
func (l *Loop) Post(fn func()) error {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return ErrLoopStopped
	}
	select {
	case l.inputs <- fn:
		return nil
	case <-l.done:
		return ErrLoopStopped
	}
}

// TryPost queues fn without blocking; it reports whether fn was queued. The
// packet path uses it so that a stalled loop drops packets instead of
// blocking the socket readers.
func (l *Loop) TryPost(fn func()) bool {
	select {
	case <-l.done:
		return false
	default:
	}
	select {
	case l.inputs <- fn:
		return true
	default:
		return false
	}
}

// Call runs fn on the loop and waits for it to finish or for ctx to end.
func (l *Loop) Call(ctx context.Context, fn func()) error {
	finished := make(chan struct{})
	if err := l.Post(func() { fn(); close(finished) }); err != nil {
		return err
	}
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-l.done:
		select {
		case <-finished:
			return nil
		default:
			return ErrLoopStopped
		}
	}
}

// TryRun runs fn at once on the calling goroutine when the running loop is
// idle (no input queued or running) and reports whether it did; otherwise
// the caller uses Call. fn holds the loop's ownership meanwhile, so it never
// runs concurrently with another input, as with Call, but without the two
// goroutine handoffs (chronyc requests answered this way are about twice
// as fast).
func (l *Loop) TryRun(fn func()) bool {
	if !l.running.Load() || len(l.inputs) > 0 || !l.own.TryLock() {
		return false
	}
	defer l.own.Unlock()
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed || len(l.inputs) > 0 {
		return false
	}
	l.runInput(fn)
	return true
}

// runInput runs one input with the timers' re-arming deferred to its end.
func (l *Loop) runInput(fn func()) {
	if l.timers == nil {
		fn()
		return
	}
	l.timers.hold()
	defer l.timers.release()
	fn()
}

// UseTimers makes Run service s: its due callbacks run on the loop as soon
// as the single timer of s expires. Call it before Run.
func (l *Loop) UseTimers(s *LoopScheduler) { l.timers = s }

// Run processes inputs until ctx ends or Stop is called. It must be called
// once, on the goroutine that is to own the engine.
func (l *Loop) Run(ctx context.Context) {
	defer l.markDone()
	l.running.Store(true)
	var timerC <-chan time.Time
	if l.timers != nil {
		timerC = l.timers.timer.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.done:
			return
		case fn := <-l.inputs:
			l.own.Lock()
			l.runInput(fn)
			l.own.Unlock()
		case <-timerC:
			l.own.Lock()
			l.timers.fire()
			l.own.Unlock()
		}
	}
}

// Stop makes Run return after the input it is running; pending inputs are
// dropped.
func (l *Loop) Stop() { l.markDone() }

// Done is closed when the loop has stopped.
func (l *Loop) Done() <-chan struct{} { return l.done }

func (l *Loop) markDone() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.done)
	}
}
