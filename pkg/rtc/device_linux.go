//go:build linux

package rtc

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// LinuxDevice is an RTC device (rtcdevice). It is only read, except by
// Set, which the RTC driver calls to trim the RTC (trimrtc, rtcautotrim).
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
		// The first interrupt after enabling them may be bogus: like
		// chronyd, wait for the second one.
		for i := 0; i < 2; i++ {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, perr := unix.Poll(fds, 1500)
			if perr != nil || n == 0 {
				return time.Time{}, time.Time{}, fmt.Errorf("rtc %s: no update interrupt: %w", d.Path, errors.Join(perr, errTimeout))
			}
			var buf [8]byte
			if _, err := unix.Read(fd, buf[:]); err != nil {
				return time.Time{}, time.Time{}, fmt.Errorf("rtc %s: reading the interrupt flags: %w", d.Path, err)
			}
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

// Set sets the RTC to t's whole second (RTC_SET_TIME), in UTC with
// OnUTC, else in local time.
func (d LinuxDevice) Set(t time.Time) error {
	fd, err := unix.Open(d.Path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("rtc %s: %w", d.Path, err)
	}
	defer func() { _ = unix.Close(fd) }()
	rt := ToRTCTime(t, d.OnUTC)
	if err := unix.IoctlSetRTCTime(fd, &rt); err != nil {
		return fmt.Errorf("rtc %s: RTC_SET_TIME: %w", d.Path, err)
	}
	return nil
}

// CheckTracking is chronyd's check before it tracks the RTC: the device
// opens for reading and writing and supports update interrupts. A failure
// is a *DeviceError worded as chronyd logs it; the driver is then not run
// ("RTC driver could not be initialised").
func CheckTracking(path string) error {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return &DeviceError{Msg: fmt.Sprintf("Could not open RTC device %s : %s", path, errnoText(err)), Err: err}
	}
	defer func() { _ = unix.Close(fd) }()
	if err := unix.IoctlSetInt(fd, unix.RTC_UIE_ON, 0); err != nil {
		return &DeviceError{Msg: "Could not enable RTC interrupt : " + errnoText(err), Err: err}
	}
	if err := unix.IoctlSetInt(fd, unix.RTC_UIE_OFF, 0); err != nil {
		return &DeviceError{Msg: "Could not disable RTC interrupt : " + errnoText(err), Err: err}
	}
	return nil
}

// errnoText is strerror's text of err ("No such file or directory").
func errnoText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return err.Error()
}
