// Package clock holds the local clock as the discipline sees it: the Clock
// interface (chrony's local.c layer) and its drivers.
//
//   - System drives the Linux system clock through adjtimex, slewing offsets
//     with a temporary frequency change bounded by maxslewrate, as chronyd's
//     generic and timex drivers do on Linux. Its syscalls go through the small
//     Syscalls interface; the real implementation lives in syscalls_linux.go.
//   - Virtual is the same driver running on SimKernel, a simulated kernel clock
//     with a settable frequency error, driven by an external virtual (true)
//     time. Its true time and frequency errors are readable.
//   - NoControl is chronyd -x: the system clock is never touched; corrections
//     are kept internally and only cook raw readings.
//
// Units and signs follow chrony. Offsets are in seconds and positive when the
// local clock is ahead of true time, so ApplyStep(0.5) moves the clock back by
// half a second. Absolute frequencies are in ppm and positive when the
// uncorrected clock runs fast (the driver slows it down by that much).
// Frequency changes passed as "dfreq" are dimensionless (s/s): the gradient of
// offset against local time.
package clock
