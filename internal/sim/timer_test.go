package sim

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNodeTimerFollowsRateChanges checks that an engine timer fires when the
// node's raw clock reaches its deadline even when the clock's rate changes
// after the timer was armed (as a slew does), like under clknetsim.
func TestNodeTimerFollowsRateChanges(t *testing.T) {
	tests := []struct {
		name string
		// rates are the clock's frequency errors (s/s) set at the true
		// times in at (s), after the timer was armed at 0.
		at, rates []float64
	}{
		{"constant rate", nil, nil},
		{"slowed right after arming", []float64{0.5}, []float64{-0.08}},
		{"slowed then back to normal", []float64{0.5, 12.5}, []float64{-0.08, 0}},
		{"sped up", []float64{3}, []float64{0.05}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSimulation(1, func(_, _ netip.Addr, _ float64) Path { return Path{K: 1} })
			n, err := s.AddNode(NodeConfig{Name: "c", Addr: ClientAddr(1), Conf: "# no sources\n"})
			require.NoError(t, err)
			const interval = 64.0
			deadline := n.clock.ReadRaw().Add(secondsToDuration(interval))
			var firedRaw, firedTrue time.Time
			n.sched.At(deadline, func() { firedRaw, firedTrue = n.clock.ReadRaw(), s.Now() })
			for i, at := range tc.at {
				rate := tc.rates[i]
				s.sched.At(Epoch.Add(secondsToDuration(at)), func() {
					n.clock.Kernel.SetFrequencyError(rate)
					n.settle()
				})
			}
			s.sched.RunUntil(Epoch.Add(200 * time.Second))
			require.False(t, firedTrue.IsZero(), "timer never fired")
			assert.InDelta(t, 0, firedRaw.Sub(deadline).Seconds(), 2e-6, "fired at raw %v, deadline %v", firedRaw, deadline)
			assert.Greater(t, firedTrue.Sub(Epoch).Seconds(), 50.0)
		})
	}
}
