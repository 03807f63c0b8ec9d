package wiring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/rtc"
)

// RTCDeviceFactory opens the RTC of rtcdevice for tracking (rtcfile). It
// fails, with chronyd's wording, when the device cannot be used; the
// daemon then runs without the RTC driver.
type RTCDeviceFactory func(path string, onUTC bool) (rtc.Device, error)

// SystemRTCDevice is the daemon's RTCDeviceFactory: the Linux RTC device,
// checked as chronyd checks it (read-write, update interrupts) and kept
// open until the daemon exits or the device fails.
func SystemRTCDevice(path string, onUTC bool) (rtc.Device, error) {
	d, err := rtc.OpenTracked(path, onUTC)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// rtcDriver builds the RTC driver for rtcfile: nil when rtcfile is not
// set or the device is unusable (logged as chronyd does); an error, fatal,
// when rtcfile is combined with rtcsync. It needs the engine service to
// post readings to, known only once the driver is running, so readings go
// through post.
func rtcDriver(cfg *conf.Config, open RTCDeviceFactory, raw func() time.Time, post func(func()) error, rtcLog func(string), initial *rtc.Coefs, log logrus.FieldLogger) (*engine.RTC, rtc.Device, error) {
	var dev rtc.Device
	var devErr error
	usable := func(path string) bool {
		dev, devErr = open(path, rtcOnUTC(cfg, log))
		return devErr == nil
	}
	mode, err := rtc.ChooseMode(rtc.Config{Sync: cfg.RTCSync, File: cfg.RTCFile, Device: cfg.RTCDevice}, usable)
	if errors.Is(err, rtc.ErrFileWithSync) {
		return nil, nil, err
	}
	if mode != rtc.ModeTracking {
		if err != nil {
			if devErr != nil {
				log.Error(devErr.Error())
			}
			log.Error("RTC driver could not be initialised")
		}
		return nil, nil, nil
	}
	drv := engine.NewRTC(engine.RTCOptions{
		Device:   &rtcShell{dev: dev, raw: raw, post: post},
		File:     cfg.RTCFile,
		AutoTrim: cfg.RTCAutoTrim,
		Log:      rtcLog,
		Initial:  initial,
	})
	return drv, dev, nil
}

// rtcShell is the I/O side of the RTC driver: each reading waits for the
// RTC's second on its own goroutine (bounded by the device's timeouts)
// and is handed to the engine's loop.
type rtcShell struct {
	dev  rtc.Device
	raw  func() time.Time
	post func(func()) error
}

// Request implements engine.RTCDevice.
func (s *rtcShell) Request(deliver func(rtcTime, sysRaw time.Time, err error)) {
	go func() {
		rtcTime, sys, err := s.dev.Read(s.raw)
		// A stopped loop drops the reading: the daemon is exiting.
		_ = s.post(func() { deliver(rtcTime, sys, err) })
	}()
}

// Set implements engine.RTCDevice.
func (s *rtcShell) Set(t time.Time) error { return s.dev.Set(t) }

// setupRTC makes the RTC driver of rtcfile, if any, and returns the
// chronyc handler the engine falls back on: one answering rtcdata,
// trimrtc and writertc from the driver (NORTC without it). fromRTC tells
// that -s set the clock from the RTC: the driver then refines it.
func (c *engineComponent) setupRTC(cfg *conf.Config, open RTCDeviceFactory, fromRTC bool, fallback cmdmon.Handler) (cmdmon.Handler, error) {
	post := func(fn func()) error {
		return c.svc.Do(func(*engine.Engine) { fn() })
	}
	// The log files are opened after the driver is made: look them up
	// when a line comes.
	rtcLog := func(line string) {
		if c.logs != nil && c.logs.rtc != nil {
			c.logs.rtc(line)
		}
	}
	var initial *rtc.Coefs
	if fromRTC {
		coefs := loadRTCCoefs(cfg, c.log)
		initial = &coefs
	}
	drv, dev, err := rtcDriver(cfg, open, c.clk.ReadRaw, post, rtcLog, initial, c.log)
	if err != nil || drv == nil {
		return fallback, err
	}
	c.rtcDev = dev
	if fallback == nil {
		fallback = &cmdmon.UnsyncedHandler{}
	}
	c.rtc = drv
	return &engine.RTCHandler{Handler: fallback, RTC: drv, Call: post}, nil
}

// stopRTC ends the RTC measurements and saves the rtcfile, as chronyd
// does when it exits.
func (c *engineComponent) stopRTC() {
	if closer, ok := c.rtcDev.(io.Closer); ok {
		defer func() { _ = closer.Close() }()
	}
	if !c.rtcStarted {
		return
	}
	var werr error
	if err := c.svc.Do(func(*engine.Engine) { werr = c.rtc.Stop() }); err != nil {
		werr = err
	}
	if werr != nil {
		c.log.WithError(werr).Error("Could not write RTC coefficients")
	}
}

// AwaitFineSetting waits until the RTC's fine setting of -s with rtcfile
// ended (at once without it) or ctx ends. chronyd tells systemd and its
// waiting parent process that it is ready only then, with its chronyc and
// NTP sockets already serving: call it after the sockets are open and
// before the readiness notification.
func (c *engineComponent) AwaitFineSetting(ctx context.Context) error {
	if c.rtc == nil {
		return nil
	}
	select {
	case <-c.rtc.FineSettingDone():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the RTC's fine setting: %w", ctx.Err())
	}
}
