//go:build linux

package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestRealSyscallsReadOnly reads the real kernel clock state with modes 0,
// which never changes the clock.
func TestRealSyscallsReadOnly(t *testing.T) {
	var sys RealSyscalls
	now, err := sys.ClockGettime()
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), now, time.Second)
	tx := unix.Timex{Modes: 0}
	state, err := sys.Adjtimex(&tx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, state, 0)
	assert.InDelta(t, 10000, tx.Tick, 1000, "USER_HZ 100 tick")
}
