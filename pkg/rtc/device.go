package rtc

import (
	"time"

	"golang.org/x/sys/unix"
)

// Device is a real-time clock as the RTC driver uses it: read at its
// second boundaries and set when it is trimmed. LinuxDevice is the real
// one; tests use a virtual RTC, so a real RTC is never written by them.
type Device interface {
	// Read waits for the RTC's next second boundary and returns the RTC
	// time and the system time read by sysNow at that boundary.
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
