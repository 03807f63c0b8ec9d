//go:build linux

package rtc

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// LinuxDevice reads an RTC device (rtcdevice). It never sets the RTC.
type LinuxDevice struct {
	Path  string
	OnUTC bool
}

// Usable reports whether the device can be opened for reading, the check
// ChooseMode needs.
func Usable(path string) bool {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	_ = unix.Close(fd)
	return true
}

// Read waits for the RTC's next second boundary (update interrupt, or
// polling when the driver has none) and returns the RTC time and the system
// time read at that boundary by sysNow.
func (d LinuxDevice) Read(sysNow func() time.Time) (rtcTime, sys time.Time, err error) {
	fd, err := unix.Open(d.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("rtc %s: %w", d.Path, err)
	}
	defer func() { _ = unix.Close(fd) }()

	if err := unix.IoctlSetInt(fd, unix.RTC_UIE_ON, 0); err == nil {
		defer func() { _ = unix.IoctlSetInt(fd, unix.RTC_UIE_OFF, 0) }()
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, perr := unix.Poll(fds, 1500)
		if perr != nil || n == 0 {
			return time.Time{}, time.Time{}, fmt.Errorf("rtc %s: no update interrupt: %w", d.Path, errors.Join(perr, errTimeout))
		}
		var buf [8]byte
		if _, err := unix.Read(fd, buf[:]); err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("rtc %s: read: %w", d.Path, err)
		}
		sys = sysNow()
		rt, err := unix.IoctlGetRTCTime(fd)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("rtc %s: RTC_RD_TIME: %w", d.Path, err)
		}
		return FromRTCTime(*rt, d.OnUTC), sys, nil
	}

	// No interrupts: poll until the seconds change (at most ~1.2 s).
	first, err := unix.IoctlGetRTCTime(fd)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("rtc %s: RTC_RD_TIME: %w", d.Path, err)
	}
	for i := 0; i < 1200; i++ {
		time.Sleep(time.Millisecond)
		rt, err := unix.IoctlGetRTCTime(fd)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("rtc %s: RTC_RD_TIME: %w", d.Path, err)
		}
		if rt.Sec != first.Sec {
			return FromRTCTime(*rt, d.OnUTC), sysNow(), nil
		}
	}
	return time.Time{}, time.Time{}, fmt.Errorf("rtc %s: %w", d.Path, errTimeout)
}

var errTimeout = errors.New("timed out waiting for the RTC")

// ReadNow reads the RTC at once (no wait for a second boundary) with the
// system time of the reading, as chronyd -s does.
func (d LinuxDevice) ReadNow(sysNow func() time.Time) (rtcTime, sys time.Time, err error) {
	fd, err := unix.Open(d.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("rtc %s: %w", d.Path, err)
	}
	defer func() { _ = unix.Close(fd) }()
	rt, err := unix.IoctlGetRTCTime(fd)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("rtc %s: RTC_RD_TIME: %w", d.Path, err)
	}
	return FromRTCTime(*rt, d.OnUTC), sysNow(), nil
}
