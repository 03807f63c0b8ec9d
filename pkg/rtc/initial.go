package rtc

import (
	"time"

	"github.com/chronygo/chronygo/pkg/discipline/clock"
)

// RestoreFromDriftfileTime is chronyd -s without a usable RTC: when the
// clock reads earlier than driftMtime (the drift file's modification time,
// i.e. when the daemon last stopped), the clock is stepped forward to it. It
// returns whether the clock was stepped ("System time restored from
// driftfile").
func RestoreFromDriftfileTime(c clock.Clock, driftMtime time.Time) (bool, error) {
	if driftMtime.IsZero() {
		return false, nil
	}
	now := c.ReadCooked()
	if now.Unix() >= driftMtime.Unix() {
		return false, nil
	}
	if err := c.ApplyStep(float64(now.Unix() - driftMtime.Unix())); err != nil {
		return false, err
	}
	return true, nil
}

// SetFromRTC is chronyd -s with a readable RTC: rtcTime was read when the
// system clock showed sysAtRead. The RTC's accumulated error from the
// rtcfile coefficients (if valid) is removed, half a second is added for
// the reading's truncation, and the clock is stepped when it is off by a
// second or more. ok is false when the RTC reads earlier than the drift
// file's modification time ("RTC time before last driftfile modification
// (ignored)"), in which case the caller falls back to
// RestoreFromDriftfileTime.
func SetFromRTC(c clock.Clock, rtcTime, sysAtRead time.Time, coefs Coefs, driftMtime time.Time) (stepped, ok bool, err error) {
	accumulated := 0.0
	if coefs.Valid {
		accumulated = coefs.Offset + float64(rtcTime.Unix()-coefs.RefTime.Unix())*1e-6*coefs.GainRatePPM
	}
	target := time.Unix(rtcTime.Unix(), 500000000).Add(-time.Duration(accumulated * 1e9))
	if !driftMtime.IsZero() && target.Unix() < driftMtime.Unix() {
		return false, false, nil
	}
	offset := sysAtRead.Sub(target).Seconds()
	if offset >= 1 || offset <= -1 {
		if err := c.ApplyStep(offset); err != nil {
			return false, true, err
		}
		return true, true, nil
	}
	return false, true, nil
}
