package engine

import (
	"context"
	"errors"
	"sync"
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

// Run processes inputs until ctx ends or Stop is called. It must be called
// once, on the goroutine that is to own the engine.
func (l *Loop) Run(ctx context.Context) {
	defer l.markDone()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.done:
			return
		case fn := <-l.inputs:
			fn()
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
