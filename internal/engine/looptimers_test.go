package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runLoopWithTimers starts a loop servicing a LoopScheduler whose clock is
// clk and stops it at the end of the test.
func runLoopWithTimers(t *testing.T, clk func() time.Time) (*Loop, *LoopScheduler) {
	t.Helper()
	loop := NewLoop(16)
	s := NewLoopScheduler(clk)
	loop.UseTimers(s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	go loop.Run(ctx)
	t.Cleanup(func() {
		loop.Stop()
		cancel()
		<-loop.Done()
	})
	return loop, s
}

func TestLoopSchedulerOrderAndStop(t *testing.T) {
	tests := []struct {
		name    string
		delays  []time.Duration // in ms units below
		stop    []int           // indexes stopped before they fire
		want    []int
		waitFor int // index whose callback ends the test
	}{
		{name: "deadline order", delays: []time.Duration{20, 1, 10}, want: []int{1, 2, 0}, waitFor: 0},
		{name: "one timer", delays: []time.Duration{1}, want: []int{0}, waitFor: 0},
		{name: "stopped earliest does not fire", delays: []time.Duration{1, 15, 30}, stop: []int{0}, want: []int{1, 2}, waitFor: 2},
		{name: "stopped latest does not fire", delays: []time.Duration{1, 15, 5}, stop: []int{1}, want: []int{0, 2}, waitFor: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loop, s := runLoopWithTimers(t, time.Now)
			var mu sync.Mutex
			var got []int
			done := make(chan struct{})
			timers := make([]Timer, len(tc.delays))
			base := time.Now()
			require.NoError(t, loop.Call(context.Background(), func() {
				for i, d := range tc.delays {
					timers[i] = s.At(base.Add(d*time.Millisecond), func() {
						mu.Lock()
						got = append(got, i)
						mu.Unlock()
						if i == tc.waitFor {
							close(done)
						}
					})
				}
				for _, i := range tc.stop {
					assert.True(t, timers[i].Stop())
				}
			}))
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("timers did not fire")
			}
			require.NoError(t, loop.Call(context.Background(), func() {
				for _, tm := range timers {
					assert.False(t, tm.Stop(), "fired or stopped timers are no longer pending")
				}
			}))
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestLoopSchedulerIgnoresLaterClockSteps(t *testing.T) {
	var offset atomic.Int64 // the engine clock's lead over time.Now, ns
	clk := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	loop, s := runLoopWithTimers(t, clk)
	fired := make(chan time.Time, 1)
	start := time.Now()
	require.NoError(t, loop.Call(context.Background(), func() {
		s.At(clk().Add(30*time.Millisecond), func() { fired <- time.Now() })
	}))
	offset.Store(int64(-time.Hour)) // the clock steps back after At
	select {
	case at := <-fired:
		assert.GreaterOrEqual(t, at.Sub(start), 30*time.Millisecond)
	case <-time.After(5 * time.Second):
		t.Fatal("a step of the engine clock held back a pending timer")
	}
}

func TestLoopSchedulerPastDeadlinesDoNotStarveInputs(t *testing.T) {
	loop, s := runLoopWithTimers(t, time.Now)
	var rounds atomic.Int64
	var rearm func()
	rearm = func() {
		if rounds.Add(1) < 1000 {
			s.At(time.Time{}, rearm) // always already due
		}
	}
	require.NoError(t, loop.Call(context.Background(), func() { s.At(time.Time{}, rearm) }))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, loop.Call(ctx, func() {}), "an input runs between timer rounds")
	require.Eventually(t, func() bool { return rounds.Load() == 1000 }, 5*time.Second, time.Millisecond)
}

func TestLoopTryRun(t *testing.T) {
	loop := NewLoop(4)
	x := 0
	assert.False(t, loop.TryRun(func() { x = 1 }), "not before Run")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go loop.Run(ctx)
	require.Eventually(t, func() bool { return loop.TryRun(func() { x = 2 }) }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 2, x)

	// While an input runs, TryRun declines instead of running alongside.
	entered, release := make(chan struct{}), make(chan struct{})
	require.NoError(t, loop.Post(func() { close(entered); <-release }))
	<-entered
	assert.False(t, loop.TryRun(func() { x = 3 }))
	close(release)
	require.NoError(t, loop.Call(ctx, func() {}))
	assert.Equal(t, 2, x)

	loop.Stop()
	<-loop.Done()
	assert.False(t, loop.TryRun(func() { x = 4 }), "not after Stop")
	assert.Equal(t, 2, x)
}

func TestLoopSchedulerArmedBeforeRun(t *testing.T) {
	loop := NewLoop(4)
	s := NewLoopScheduler(time.Now)
	loop.UseTimers(s)
	fired := make(chan struct{})
	s.At(time.Now().Add(time.Millisecond), func() { close(fired) }) // not on the loop yet: armed at once
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go loop.Run(ctx)
	defer loop.Stop()
	select {
	case <-fired:
	case <-ctx.Done():
		t.Fatal("a timer set before Run did not fire")
	}
}
