package wiring

import (
	"errors"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/chronygo/chronygo/pkg/rtc"
)

// RTCReader reads the real-time clock at once with the system time of the
// reading (rtc.LinuxDevice.ReadNow).
type RTCReader interface {
	ReadNow(sysNow func() time.Time) (rtcTime, sys time.Time, err error)
}

// RTCFactory opens the RTC of rtcdevice for chronyd -s.
type RTCFactory func(path string, onUTC bool) RTCReader

// SystemRTC is the daemon's RTCFactory: the Linux RTC device, only read.
func SystemRTC(path string, onUTC bool) RTCReader {
	return rtc.LinuxDevice{Path: path, OnUTC: onUTC}
}

// rtcOnUTC tells whether the RTC keeps UTC: rtconutc, overridden by the
// LOCAL/UTC line of hwclockfile when it can be read, as chronyd does.
func rtcOnUTC(cfg *conf.Config, log logrus.FieldLogger) bool {
	onUTC := cfg.RTCOnUTC
	if cfg.HWClockFile == "" {
		return onUTC
	}
	data, err := os.ReadFile(cfg.HWClockFile)
	if err != nil {
		return onUTC
	}
	if utc, ok := rtc.ParseHwclock(string(data)); ok {
		return utc
	}
	log.Warnf("Could not read RTC LOCAL/UTC setting from %s", cfg.HWClockFile)
	return onUTC
}

// driftFileTime is the modification time of the drift file (when the
// daemon last stopped), zero when there is none.
func driftFileTime(cfg *conf.Config) time.Time {
	if cfg.DriftFile.Path == "" {
		return time.Time{}
	}
	st, err := os.Stat(cfg.DriftFile.Path)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

// setInitialTime is chronyd -s: the clock is set from the RTC when it can
// be read, else moved forward to the drift file's modification time when
// it reads earlier. Without clock control (-x) the clock driver refuses the
// step and logs it, as chronyd's null driver does. It reports whether the
// RTC was used, after which the RTC driver (rtcfile) refines the setting.
func setInitialTime(clk clock.Clock, cfg *conf.Config, dev RTCReader, log logrus.FieldLogger) (fromRTC bool) {
	mtime := driftFileTime(cfg)
	if dev != nil && setFromRTC(clk, cfg, dev, mtime, log) {
		return true
	}
	stepped, err := rtc.RestoreFromDriftfileTime(clk, mtime)
	switch {
	case err != nil:
		logStepError(err, log)
	case stepped:
		log.Info("System time restored from driftfile")
	}
	return false
}

// setFromRTC steps the clock to the RTC's time; it reports false when the
// RTC could not be used (the drift file's time is tried instead).
func setFromRTC(clk clock.Clock, cfg *conf.Config, dev RTCReader, mtime time.Time, log logrus.FieldLogger) bool {
	rtcTime, sys, err := dev.ReadNow(clk.ReadCooked)
	if err != nil {
		log.Debugf("Could not read RTC: %v", err)
		return false
	}
	coefs := loadRTCCoefs(cfg, log)
	stepped, ok, err := rtc.SetFromRTC(clk, rtcTime, sys, coefs, mtime)
	switch {
	case !ok:
		log.Warn("RTC time before last driftfile modification (ignored)")
		return false
	case err != nil:
		logStepError(err, log)
	case stepped:
		log.Info("System time set from RTC")
	}
	return true
}

// logStepError logs a refused step; the clock driver already said "Could
// not step system clock" when the step itself failed.
func logStepError(err error, log logrus.FieldLogger) {
	if errors.Is(err, clock.ErrStepFailed) {
		return
	}
	log.WithError(err).Warn("Could not set the system time")
}

// loadRTCCoefs reads the rtcfile's coefficients for -s; a missing file
// gives invalid ones silently, an unreadable one with chronyd's warning.
func loadRTCCoefs(cfg *conf.Config, log logrus.FieldLogger) rtc.Coefs {
	if cfg.RTCFile == "" {
		return rtc.Coefs{}
	}
	c, err := rtc.LoadCoefs(cfg.RTCFile)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			log.Warnf("Could not read coefficients from %s", cfg.RTCFile)
		}
		return rtc.Coefs{}
	}
	return c
}
