package sim

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/pkg/ntp/source"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInterleavedModeIsExercised checks that a client with xleave really
// measures in interleaved mode against the ideal server, as chronyd does
// under clknetsim. No response fails the origin test; without loss nearly
// every good sample comes from an interleaved response, and with lost
// packets the client falls back to basic responses (after a response lost
// once the server used its timestamp, or four requests without a response)
// and returns to interleaved mode.
func TestInterleavedModeIsExercised(t *testing.T) {
	tests := []struct {
		loss           float64
		minGood        int
		minInterleaved int
		minValidXleave int
	}{
		{loss: 0, minGood: 80, minInterleaved: 80, minValidXleave: 80},
		{loss: 0.33, minGood: 15, minInterleaved: 1, minValidXleave: 5},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("loss %.2f", tc.loss), func(t *testing.T) {
			s := NewSimulation(7, func(_, _ netip.Addr, _ float64) Path {
				return Path{Base: 1e-4, Jitter: 1e-5, K: 1, Loss: tc.loss}
			})
			s.AddServer(ServerAddr(1), 0)
			var good, goodInterleaved, validInterleaved, bogus int
			_, err := s.AddNode(NodeConfig{
				Name: "client1", Addr: ClientAddr(1),
				Conf: fmt.Sprintf("server %s xleave maxpoll 6\n", ServerAddr(1)),
				Options: func(o *engine.Options) {
					o.MeasurementLog = func(m source.Measurement) {
						r := m.Record
						valid := r.Tests.T1 && r.Tests.T2 && r.Tests.T3
						if r.Tests.T1 && !r.Tests.T2 {
							bogus++
						}
						if valid && r.Interleaved {
							validInterleaved++
						}
						if r.Tests.Bits() == 0x3ff {
							good++
							if r.Interleaved {
								goodInterleaved++
							}
						}
					}
				},
			})
			require.NoError(t, err)
			s.Run(6000)
			s.Stop()
			t.Logf("good %d (interleaved %d), valid interleaved %d, bogus %d", good, goodInterleaved, validInterleaved, bogus)
			assert.GreaterOrEqual(t, good, tc.minGood)
			assert.GreaterOrEqual(t, goodInterleaved, tc.minInterleaved)
			assert.GreaterOrEqual(t, validInterleaved, tc.minValidXleave)
			assert.Zero(t, bogus, "responses failing the origin test")
		})
	}
}
