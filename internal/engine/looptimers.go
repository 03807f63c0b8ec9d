package engine

import (
	"container/heap"
	"time"
)

// LoopScheduler implements Scheduler for the daemon with a single runtime
// timer set for the earliest pending deadline, which the Loop's own
// goroutine waits on (Loop.UseTimers). A due callback thus runs on the loop
// without a goroutine per timer and without a hand-off through the input
// queue: an idle daemon wakes once per event. Like RealScheduler, a
// deadline is turned into a delay against the engine's clock when At is
// called, so that later steps of that clock do not move pending timers.
//
// At and Stop must be called only by the loop's owner (an input, a timer
// callback, or code running before the loop starts).
type LoopScheduler struct {
	now    func() time.Time
	seq    uint64
	events eventHeap // at: due time on the monotonic clock
	timer  *time.Timer
	armed  time.Time // due time the timer is set for; zero when idle
	// held defers re-arming to release while the loop runs an input, so
	// that an input moving several timers resets the runtime timer once
	// (each reset may wake the thread waiting in the network poller).
	held bool
}

// NewLoopScheduler returns a scheduler measuring deadlines against now
// (the engine's clock). Hand it to the loop with Loop.UseTimers.
func NewLoopScheduler(now func() time.Time) *LoopScheduler {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &LoopScheduler{now: now, timer: t}
}

// At implements Scheduler.
func (s *LoopScheduler) At(deadline time.Time, fn func()) Timer {
	d := max(deadline.Sub(s.now()), 0)
	s.seq++
	ev := &event{at: time.Now().Add(d), seq: s.seq, fn: fn, index: -1}
	heap.Push(&s.events, ev)
	s.rearm()
	return &loopTimer{s: s, ev: ev}
}

// hold defers re-arming until release; the loop brackets every input with
// them.
func (s *LoopScheduler) hold() { s.held = true }

// release re-arms the runtime timer for the events left by the input.
func (s *LoopScheduler) release() {
	s.held = false
	s.rearm()
}

// rearm sets the runtime timer for the earliest event, or stops it; while
// held it does nothing.
func (s *LoopScheduler) rearm() {
	if s.held {
		return
	}
	if len(s.events) == 0 {
		if !s.armed.IsZero() {
			s.timer.Stop()
			s.armed = time.Time{}
		}
		return
	}
	next := s.events[0].at
	if next.Equal(s.armed) {
		return
	}
	s.armed = next
	s.timer.Reset(max(time.Until(next), 0))
}

// fire runs, in deadline order, the callbacks due now that were scheduled
// before it was called; later ones (also those the callbacks add with a
// past deadline) wait for the next wakeup, so that other inputs are not
// starved. The loop calls it when the timer's channel delivers.
func (s *LoopScheduler) fire() {
	s.held = true
	defer s.release()
	s.armed = time.Time{} // the timer has expired
	last := s.seq
	now := time.Now()
	for n := len(s.events); n > 0 && len(s.events) > 0; n-- {
		ev := s.events[0]
		if ev.at.After(now) || ev.seq > last {
			break
		}
		heap.Pop(&s.events)
		ev.fn()
	}
}

// loopTimer is a pending callback of a LoopScheduler.
type loopTimer struct {
	s  *LoopScheduler
	ev *event
}

// Stop implements Timer.
func (t *loopTimer) Stop() bool {
	if t.ev.index < 0 {
		return false
	}
	heap.Remove(&t.s.events, t.ev.index)
	t.s.rearm()
	return true
}
