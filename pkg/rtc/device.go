package rtc

import (
	"time"

	"golang.org/x/sys/unix"
)

// FromRTCTime converts the RTC's broken-down time to a time.Time, read as
// UTC with rtconutc, else as local time.
func FromRTCTime(r unix.RTCTime, onUTC bool) time.Time {
	loc := time.Local
	if onUTC {
		loc = time.UTC
	}
	return time.Date(int(r.Year)+1900, time.Month(r.Mon+1), int(r.Mday), int(r.Hour), int(r.Min), int(r.Sec), 0, loc)
}
