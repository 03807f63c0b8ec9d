package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCatalogueMeetsChronyLimits runs every scenario once with a fixed
// seed against chrony's pass limits.
func TestCatalogueMeetsChronyLimits(t *testing.T) {
	for _, sc := range Catalogue() {
		t.Run(sc.Name, func(t *testing.T) {
			out, err := sc.Run(1)
			require.NoError(t, err)
			for _, r := range out.Results {
				t.Logf("sync %.0f s, max %.1f µs, rms %.1f µs, max freq %.3f ppm, rms freq %.3f ppm",
					r.SyncTime, r.MaxTime*1e6, r.RMSTime*1e6, r.MaxFreq*1e6, r.RMSFreq*1e6)
			}
			assert.Empty(t, out.Problems)
		})
	}
}
