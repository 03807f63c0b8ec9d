package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestVirtualSchedulerOrder(t *testing.T) {
	tests := []struct {
		name    string
		offsets []time.Duration
		want    []int
	}{
		{"in order", []time.Duration{1, 2, 3}, []int{0, 1, 2}},
		{"reversed", []time.Duration{3, 2, 1}, []int{2, 1, 0}},
		{"ties keep insertion order", []time.Duration{2, 1, 2, 1}, []int{1, 3, 0, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewVirtualScheduler(epoch)
			var got []int
			for i, off := range tc.offsets {
				s.At(epoch.Add(off*time.Second), func() { got = append(got, i) })
			}
			s.RunUntil(epoch.Add(time.Hour))
			assert.Equal(t, tc.want, got)
			assert.Equal(t, epoch.Add(time.Hour), s.Now())
		})
	}
}

func TestVirtualSchedulerStopAndNested(t *testing.T) {
	s := NewVirtualScheduler(epoch)
	var fired []string
	t1 := s.At(epoch.Add(time.Second), func() { fired = append(fired, "a") })
	s.At(epoch.Add(2*time.Second), func() {
		fired = append(fired, "b")
		s.At(s.Now().Add(time.Second), func() { fired = append(fired, "c") })
		// A deadline in the past runs now, after the current event.
		s.At(epoch, func() { fired = append(fired, "d") })
	})
	assert.True(t, t1.Stop())
	assert.False(t, t1.Stop())
	s.RunUntil(epoch.Add(10 * time.Second))
	assert.Equal(t, []string{"b", "d", "c"}, fired)
	assert.Equal(t, 0, s.Pending())
}

func TestRealSchedulerRunsOnLoop(t *testing.T) {
	loop := NewLoop(16)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go loop.Run(ctx)
	defer loop.Stop()
	s := NewRealScheduler(time.Now, func(fn func()) { _ = loop.Post(fn) })
	var mu sync.Mutex
	var order []int
	done := make(chan struct{})
	stopped := s.At(time.Now().Add(5*time.Millisecond), func() { order = append(order, 99) })
	s.At(time.Now().Add(20*time.Millisecond), func() {
		mu.Lock()
		order = append(order, 2)
		mu.Unlock()
		close(done)
	})
	s.At(time.Now().Add(time.Millisecond), func() {
		mu.Lock()
		order = append(order, 1)
		mu.Unlock()
	})
	require.True(t, stopped.Stop())
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("timers did not fire")
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []int{1, 2}, order)
}

func TestLoopCallAndStop(t *testing.T) {
	loop := NewLoop(1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go loop.Run(ctx)
	x := 0
	require.NoError(t, loop.Call(ctx, func() { x = 42 }))
	assert.Equal(t, 42, x)
	loop.Stop()
	<-loop.Done()
	assert.ErrorIs(t, loop.Post(func() {}), ErrLoopStopped)
	assert.False(t, loop.TryPost(func() {}))
}
