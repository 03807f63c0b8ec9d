package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/internal/sim"
	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/reference"
)

// ntpSeconds is a UTC midnight in seconds since the NTP epoch (1900).
func ntpSeconds(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() + 2208988800
}

// writeLeapList writes a leap-seconds.list passing chronyd's check (2012's
// leap second) whose last entry makes the day before last a leap day.
func writeLeapList(t *testing.T, last time.Time, tai int) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "#$ %d\n#@ %d\n", ntpSeconds(2025, 1, 1), ntpSeconds(2030, 1, 1))
	fmt.Fprintf(&b, "%d 34\n%d 35\n%d 36\n%d 37\n", ntpSeconds(2009, 1, 1), ntpSeconds(2012, 7, 1),
		ntpSeconds(2015, 7, 1), ntpSeconds(2017, 1, 1))
	fmt.Fprintf(&b, "%d %d\n", ntpSeconds(last.Year(), last.Month(), last.Day()), tai)
	path := filepath.Join(t.TempDir(), "leap-seconds.list")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

// TestLeapSecondListAnnouncesLeap runs a client whose clock reads 31
// December (12 h behind the servers' 1 January) and is never stepped: the
// leap second list given through Options.Leap makes the reference set the
// kernel's leap status and TAI offset for the leap second the sources do
// not announce, as chronyd's leapseclist does. (The reference reads the
// list at the raw time while the cooked time is already in January, so the
// announced status is checked through the clock's messages.)
func TestLeapSecondListAnnouncesLeap(t *testing.T) {
	newYear := sim.Epoch
	tests := []struct {
		name string
		tai  int
		want string
	}{
		{"no list", 0, ""},
		{"insertion announced", 38, "System clock status set to insert leap second"},
		{"deletion announced", 36, "System clock status set to delete leap second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var leap reference.LeapSource
			if tt.tai != 0 {
				leap = reference.LoadLeapSource("", writeLeapList(t, newYear, tt.tai), "", nil)
				require.NotNil(t, leap, "the list passes chronyd's check")
			}
			s, n := world(t, 1, 0, "", func(c *sim.NodeConfig) {
				c.TimeOffset = -12 * 3600
				c.Options = func(o *engine.Options) { o.Leap = leap }
			})
			s.Run(200)
			snap := n.Engine().Snapshot()
			require.True(t, snap.Synchronised, "logs: %v", n.Logs())
			if tt.want == "" {
				assert.False(t, hasLog(n, "leap second"), "logs: %v", n.Logs())
				assert.Equal(t, discipline.LeapNormal, snap.Leap)
				return
			}
			assert.True(t, hasLog(n, tt.want), "logs: %v", n.Logs())
			assert.True(t, hasLog(n, "System clock TAI offset set to 37 seconds"), "logs: %v", n.Logs())
		})
	}
}
