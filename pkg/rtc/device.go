package rtc

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// Device is a real-time clock as the RTC driver uses it: read at its
// second boundaries and set when it is trimmed. TrackedDevice is the real
// one; tests use a virtual RTC, so a real RTC is never written by them.
type Device interface {
	// Read waits for the RTC's next second boundary and returns the RTC
	// time and the system time read by sysNow at that boundary. A failure
	// is best a *ReadError, whose Failure decides what the driver does
	// next (ReadFailureOf).
	Read(sysNow func() time.Time) (rtcTime, sys time.Time, err error)
	// Set sets the RTC to t (whole seconds).
	Set(t time.Time) error
}

// FromRTCTime converts the RTC's broken-down time to a time.Time, read as
// UTC with rtconutc, else as local time.
func FromRTCTime(r unix.RTCTime, onUTC bool) time.Time {
	loc := time.Local
	if onUTC {
		loc = time.UTC
	}
	return time.Date(int(r.Year)+1900, time.Month(r.Mon+1), int(r.Mday), int(r.Hour), int(r.Min), int(r.Sec), 0, loc)
}

// ToRTCTime converts t to the RTC's broken-down time, in UTC with
// rtconutc, else in local time (the inverse of FromRTCTime).
func ToRTCTime(t time.Time, onUTC bool) unix.RTCTime {
	if onUTC {
		t = t.UTC()
	} else {
		t = t.Local()
	}
	return unix.RTCTime{
		Sec:  int32(t.Second()),
		Min:  int32(t.Minute()),
		Hour: int32(t.Hour()),
		Mday: int32(t.Day()),
		Mon:  int32(t.Month()) - 1,
		Year: int32(t.Year()) - 1900,
		Wday: int32(t.Weekday()),
		Yday: int32(t.YearDay()) - 1,
	}
}

// DeviceError is a failed check of the RTC device; its message is
// chronyd's log line.
type DeviceError struct {
	// Msg is chronyd's wording ("Could not open RTC device /dev/rtc : No
	// such file or directory").
	Msg string
	// Err is the system error.
	Err error
}

func (e *DeviceError) Error() string { return e.Msg }

// Unwrap returns the system error.
func (e *DeviceError) Unwrap() error { return e.Err }

// ReadFailure tells how a reading of the RTC failed, which decides what
// the driver does next, as in chronyd's Linux RTC driver.
type ReadFailure int

// Ways a reading fails.
const (
	// FailureTime: the RTC's time could not be read after its update
	// interrupt ("Could not read time from /dev/rtc : ..."). The reading
	// is tried again after the measurement period.
	FailureTime ReadFailure = iota
	// FailureNoInterrupt: no update interrupt came within the bounded
	// wait. chronyd would wait on; chronygo gives the reading up and tries
	// again after the measurement period, as for FailureTime.
	FailureNoInterrupt
	// FailureInterrupt: update interrupts could not be enabled ("Could not
	// enable RTC interrupt : ..."). chronyd then takes no more readings
	// until trimrtc enables them again, but keeps the device (writertc
	// still writes the rtcfile).
	FailureInterrupt
	// FailureDevice: the device itself failed ("Could not read flags
	// /dev/rtc : ..."). chronyd closes it and its RTC driver stops for
	// good: rtcdata keeps answering the last estimate, writertc answers
	// NORTC and the rtcfile is no longer written.
	FailureDevice
)

// ReadError is a failed reading; its message is chronyd's log line.
type ReadError struct {
	// Failure is how the reading failed.
	Failure ReadFailure
	// Msg is chronyd's wording ("Could not read flags /dev/rtc : No such
	// device").
	Msg string
	// Err is the system error, if any.
	Err error
}

func (e *ReadError) Error() string { return e.Msg }

// Unwrap returns the system error.
func (e *ReadError) Unwrap() error { return e.Err }

// ReadFailureOf classifies err from Device.Read: a *ReadError's failure,
// else FailureTime (a reading that may succeed when retried).
func ReadFailureOf(err error) ReadFailure {
	var re *ReadError
	if errors.As(err, &re) {
		return re.Failure
	}
	return FailureTime
}
