package engine

import (
	"container/heap"
	"sync"
	"time"
)

// Timer is a pending timeout returned by a Scheduler.
type Timer interface {
	// Stop cancels the timeout. It reports whether the timeout was still
	// pending (false when it already fired or was stopped).
	Stop() bool
}

// Scheduler runs callbacks at absolute times of the engine's clock. Every
// callback runs on the engine's loop, never concurrently with another input.
type Scheduler interface {
	// At arranges for fn to run once the engine's clock reaches deadline.
	At(deadline time.Time, fn func()) Timer
}

// RealScheduler implements Scheduler over time.Timer for the daemon. Fired
// timers do not call their callback directly: they hand it to post, which
// the loop drains, so callbacks stay on the loop goroutine.
type RealScheduler struct {
	now  func() time.Time
	post func(func())
}

// NewRealScheduler returns a scheduler measuring deadlines against now (the
// engine's clock) and delivering fired callbacks through post.
func NewRealScheduler(now func() time.Time, post func(func())) *RealScheduler {
	return &RealScheduler{now: now, post: post}
}

// At implements Scheduler.
func (s *RealScheduler) At(deadline time.Time, fn func()) Timer {
	rt := &realTimer{}
	d := deadline.Sub(s.now())
	if d < 0 {
		d = 0
	}
	rt.t = time.AfterFunc(d, func() {
		s.post(func() {
			rt.mu.Lock()
			stopped := rt.stopped
			rt.fired = true
			rt.mu.Unlock()
			if !stopped {
				fn()
			}
		})
	})
	return rt
}

type realTimer struct {
	t       *time.Timer
	mu      sync.Mutex
	stopped bool
	fired   bool
}

func (t *realTimer) Stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || t.fired {
		return false
	}
	t.stopped = true
	t.t.Stop()
	return true
}

// VirtualScheduler is a deterministic discrete-event queue over virtual time.
// It implements Scheduler for a node whose clock is the virtual time itself
// and is the master queue of the simulator. It is not safe for concurrent
// use: the simulation is single-threaded.
type VirtualScheduler struct {
	now    time.Time
	seq    uint64
	events eventHeap
}

// NewVirtualScheduler returns a queue whose virtual time starts at start.
func NewVirtualScheduler(start time.Time) *VirtualScheduler {
	return &VirtualScheduler{now: start}
}

// Now returns the current virtual time.
func (s *VirtualScheduler) Now() time.Time { return s.now }

// At implements Scheduler; a deadline in the past runs at the current time
// (after the events already due then).
func (s *VirtualScheduler) At(deadline time.Time, fn func()) Timer {
	if deadline.Before(s.now) {
		deadline = s.now
	}
	s.seq++
	ev := &event{at: deadline, seq: s.seq, fn: fn, index: -1}
	heap.Push(&s.events, ev)
	return &virtualTimer{s: s, ev: ev}
}

// Pending returns the number of scheduled events.
func (s *VirtualScheduler) Pending() int { return len(s.events) }

// Step runs the earliest event if it is due no later than limit and reports
// whether it ran one.
func (s *VirtualScheduler) Step(limit time.Time) bool {
	if len(s.events) == 0 || s.events[0].at.After(limit) {
		return false
	}
	ev := heap.Pop(&s.events).(*event)
	s.now = ev.at
	ev.fn()
	return true
}

// RunUntil runs every event due up to limit in time order (events scheduled
// meanwhile included) and then advances the virtual time to limit.
func (s *VirtualScheduler) RunUntil(limit time.Time) {
	for s.Step(limit) {
	}
	if limit.After(s.now) {
		s.now = limit
	}
}

type virtualTimer struct {
	s  *VirtualScheduler
	ev *event
}

func (t *virtualTimer) Stop() bool {
	if t.ev.index < 0 {
		return false
	}
	heap.Remove(&t.s.events, t.ev.index)
	return true
}

type event struct {
	at    time.Time
	seq   uint64
	fn    func()
	index int
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *eventHeap) Push(x any) {
	ev := x.(*event)
	ev.index = len(*h)
	*h = append(*h, ev)
}
func (h *eventHeap) Pop() any {
	old := *h
	n := len(old)
	ev := old[n-1]
	old[n-1] = nil
	ev.index = -1
	*h = old[:n-1]
	return ev
}
