package clock

import (
	"time"

	"golang.org/x/sys/unix"
)

// Syscalls is the thin layer between the System driver and the kernel. The
// real implementation is RealSyscalls (Linux); tests and the simulator use
// SimKernel.
type Syscalls interface {
	// Adjtimex is adjtimex(2) on CLOCK_REALTIME: it applies buf's modes and
	// fills buf with the kernel's state, returning the clock state (TIME_OK,
	// TIME_INS, ... TIME_ERROR).
	Adjtimex(buf *unix.Timex) (int, error)
	// ClockGettime reads CLOCK_REALTIME.
	ClockGettime() (time.Time, error)
}
