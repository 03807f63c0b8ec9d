//go:build linux

package clock

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// RealSyscalls reaches the running kernel. Only the daemon uses it; tests
// never do, because it changes the machine's clock.
type RealSyscalls struct{}

// Adjtimex implements Syscalls.
func (RealSyscalls) Adjtimex(buf *unix.Timex) (int, error) {
	state, err := unix.Adjtimex(buf)
	if err != nil {
		return state, fmt.Errorf("adjtimex(0x%x): %w", buf.Modes, err)
	}
	return state, nil
}

// ClockGettime implements Syscalls.
func (RealSyscalls) ClockGettime() (time.Time, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &ts); err != nil {
		return time.Time{}, fmt.Errorf("clock_gettime: %w", err)
	}
	return time.Unix(ts.Unix()), nil
}
