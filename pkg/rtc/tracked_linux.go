//go:build linux

package rtc

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// maxStale bounds the stale interrupts drained before a reading.
const maxStale = 4

// TrackedDevice is the RTC device as the RTC driver of rtcfile uses it,
// kept open as chronyd keeps it. Its update interrupts stay enabled while
// readings follow one another at consecutive seconds (the fine setting of
// -s, the relock after a trim), so those come one a second; when no
// reading follows within interruptWait they are disabled, and the next
// reading enables them again and skips the first interrupt, as chronyd
// does. A device failure (FailureDevice) closes it. Its methods may be
// called from any goroutine; Set opens the device on its own, so a trim
// never waits for a reading under way.
type TrackedDevice struct {
	path  string
	onUTC bool

	mu sync.Mutex
	// fd is the open device, -1 once closed.
	fd    int
	uieOn bool
	// gen numbers the readings: the idle timer of an earlier one does
	// nothing.
	gen  uint64
	idle *time.Timer
}

// OpenTracked opens the RTC at path for tracking after chronyd's check:
// it opens for reading and writing and supports update interrupts. A
// failure is a *DeviceError worded as chronyd logs it ("RTC driver could
// not be initialised" follows).
func OpenTracked(path string, onUTC bool) (*TrackedDevice, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &DeviceError{Msg: fmt.Sprintf("Could not open RTC device %s : %s", path, errnoText(err)), Err: err}
	}
	if err := unix.IoctlSetInt(fd, unix.RTC_UIE_ON, 0); err != nil {
		_ = unix.Close(fd)
		return nil, &DeviceError{Msg: "Could not enable RTC interrupt : " + errnoText(err), Err: err}
	}
	if err := unix.IoctlSetInt(fd, unix.RTC_UIE_OFF, 0); err != nil {
		_ = unix.Close(fd)
		return nil, &DeviceError{Msg: "Could not disable RTC interrupt : " + errnoText(err), Err: err}
	}
	return &TrackedDevice{path: path, onUTC: onUTC, fd: fd}, nil
}

// Read waits for the RTC's next second boundary and returns the RTC time
// and the system time read by sysNow at that boundary; a failure is a
// *ReadError worded as chronyd logs it.
func (d *TrackedDevice) Read(sysNow func() time.Time) (rtcTime, sys time.Time, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.idle != nil {
		d.idle.Stop()
		d.idle = nil
	}
	if d.fd < 0 {
		return time.Time{}, time.Time{}, &ReadError{Failure: FailureDevice,
			Msg: fmt.Sprintf("RTC device %s is closed", d.path), Err: unix.EBADF}
	}
	skip := 0
	if d.uieOn {
		d.drainStale()
	} else {
		if err := unix.IoctlSetInt(d.fd, unix.RTC_UIE_ON, 0); err != nil {
			return time.Time{}, time.Time{}, &ReadError{Failure: FailureInterrupt,
				Msg: "Could not enable RTC interrupt : " + errnoText(err), Err: err}
		}
		// The first interrupt after enabling them may be bogus.
		d.uieOn, skip = true, 1
	}
	if err := awaitUpdate(d.fd, d.path, skip); err != nil {
		if ReadFailureOf(err) == FailureDevice {
			d.closeLocked()
		} else {
			d.interruptsOff()
		}
		return time.Time{}, time.Time{}, err
	}
	sys = sysNow()
	rtcTime, err = readTime(d.fd, d.path, d.onUTC)
	if err != nil {
		d.interruptsOff()
		return time.Time{}, time.Time{}, err
	}
	gen := d.gen
	d.idle = time.AfterFunc(interruptWait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen {
			d.interruptsOff()
		}
	})
	return rtcTime, sys, nil
}

// drainStale reads the interrupts that came since the last reading, so
// that the reading waits for a fresh one.
func (d *TrackedDevice) drainStale() {
	var buf [8]byte
	for i := 0; i < maxStale; i++ {
		fds := []unix.PollFd{{Fd: int32(d.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		if err != nil || n <= 0 {
			return
		}
		if _, err := unix.Read(d.fd, buf[:]); err != nil {
			return
		}
	}
}

// interruptsOff disables the update interrupts.
func (d *TrackedDevice) interruptsOff() {
	if d.uieOn && d.fd >= 0 {
		_ = unix.IoctlSetInt(d.fd, unix.RTC_UIE_OFF, 0)
	}
	d.uieOn = false
}

// closeLocked disables the interrupts and closes the device.
func (d *TrackedDevice) closeLocked() {
	if d.fd < 0 {
		return
	}
	d.interruptsOff()
	_ = unix.Close(d.fd)
	d.fd = -1
}

// Set sets the RTC to t's whole second (RTC_SET_TIME), in UTC or local
// time as the device keeps it.
func (d *TrackedDevice) Set(t time.Time) error {
	return LinuxDevice{Path: d.path, OnUTC: d.onUTC}.Set(t)
}

// Close disables the interrupts and closes the device (the daemon's exit).
func (d *TrackedDevice) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.idle != nil {
		d.idle.Stop()
		d.idle = nil
	}
	d.closeLocked()
	return nil
}
