//go:build linux

package rtc

import (
	"encoding/binary"
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

// interruptWait bounds the wait for one interrupt: the RTC's update
// interrupt comes every second.
const interruptWait = 1500 * time.Millisecond

// maxInterrupts bounds the interrupts (and interrupted waits) one reading
// goes through: the first one after enabling them is skipped, as are
// interrupts other than update ones.
const maxInterrupts = 6

// Read enables the RTC's update interrupts, waits for its next second
// boundary and returns the RTC time and the system time read by sysNow at
// that boundary. Like chronyd, it skips the first interrupt after enabling
// them (it may be bogus). A failure is a *ReadError worded as chronyd logs
// it, whose Failure tells the driver what to do next.
func (d LinuxDevice) Read(sysNow func() time.Time) (rtcTime, sys time.Time, err error) {
	fd, err := unix.Open(d.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return time.Time{}, time.Time{}, &ReadError{Failure: FailureDevice,
			Msg: fmt.Sprintf("Could not open RTC device %s : %s", d.Path, errnoText(err)), Err: err}
	}
	defer func() { _ = unix.Close(fd) }()
	if err := unix.IoctlSetInt(fd, unix.RTC_UIE_ON, 0); err != nil {
		return time.Time{}, time.Time{}, &ReadError{Failure: FailureInterrupt,
			Msg: "Could not enable RTC interrupt : " + errnoText(err), Err: err}
	}
	defer func() { _ = unix.IoctlSetInt(fd, unix.RTC_UIE_OFF, 0) }()
	if err := awaitUpdate(fd, d.Path, 1); err != nil {
		return time.Time{}, time.Time{}, err
	}
	sys = sysNow()
	rtcTime, err = readTime(fd, d.Path, d.OnUTC)
	return rtcTime, sys, err
}

// readTime reads the RTC's time (RTC_RD_TIME) on fd.
func readTime(fd int, path string, onUTC bool) (time.Time, error) {
	rt, err := unix.IoctlGetRTCTime(fd)
	if err != nil {
		return time.Time{}, &ReadError{Failure: FailureTime,
			Msg: fmt.Sprintf("Could not read time from %s : %s", path, errnoText(err)), Err: err}
	}
	return FromRTCTime(*rt, onUTC), nil
}

// awaitUpdate waits for an update interrupt on fd (interrupts enabled),
// skipping the first skip interrupts.
func awaitUpdate(fd int, path string, skip int) error {
	for i := 0; i < maxInterrupts; i++ {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(interruptWait/time.Millisecond))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 {
			return &ReadError{Failure: FailureNoInterrupt,
				Msg: fmt.Sprintf("No update interrupt from RTC device %s", path), Err: errors.Join(err, errTimeout)}
		}
		var buf [8]byte
		got, err := unix.Read(fd, buf[:])
		if err != nil {
			return &ReadError{Failure: FailureDevice,
				Msg: fmt.Sprintf("Could not read flags %s : %s", path, errnoText(err)), Err: err}
		}
		if skip > 0 {
			skip--
			continue
		}
		if interruptFlags(buf[:got])&unix.RTC_UF != 0 {
			return nil
		}
	}
	return &ReadError{Failure: FailureNoInterrupt,
		Msg: fmt.Sprintf("No update interrupt from RTC device %s", path), Err: errTimeout}
}

// interruptFlags decodes the unsigned long an RTC device's read returns:
// the interrupt flags in its low byte, the count above.
func interruptFlags(b []byte) uint64 {
	switch len(b) {
	case 8:
		return binary.NativeEndian.Uint64(b)
	case 4:
		return uint64(binary.NativeEndian.Uint32(b))
	}
	return 0
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
