package wiring

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/daemon"
	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/rtc"
)

// countingRTC is an RTC device that never touches hardware: each reading
// is the next whole second after the previous one, taken at once, and
// setting it is recorded.
type countingRTC struct {
	mu     sync.Mutex
	next   time.Time
	reads  int
	sets   []time.Time
	closed bool
}

// Close records that the daemon closed the device.
func (c *countingRTC) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *countingRTC) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *countingRTC) Read(sysNow func() time.Time) (time.Time, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sys := sysNow()
	if c.next.IsZero() {
		c.next = sys.Truncate(time.Second)
	}
	c.next = c.next.Add(time.Second)
	c.reads++
	return c.next, sys, nil
}

func (c *countingRTC) Set(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sets = append(c.sets, t)
	return nil
}

func (c *countingRTC) readings() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// buildRTCEngine builds an engine through the factory with an RTC device
// factory and a log recorder.
func buildRTCEngine(t *testing.T, open RTCDeviceFactory, lines ...string) (*engineComponent, *logtest.Hook, error) {
	t.Helper()
	return buildRTCEngineWith(t, open, daemon.Options{}, nil, lines...)
}

// buildRTCEngineWith also takes the daemon's options and the RTC read by
// -s.
func buildRTCEngineWith(t *testing.T, open RTCDeviceFactory, opts daemon.Options, initial RTCReader, lines ...string) (*engineComponent, *logtest.Hook, error) {
	t.Helper()
	cfg, err := conf.Load("", append([]string{"clockprecision 1e-6"}, lines...))
	require.NoError(t, err)
	var ref atomic.Pointer[discipline.ReferenceSnapshot]
	ref.Store(InitialSnapshot(cfg.Local, -20, time.Now()))
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	clocks := &fakeClocks{}
	deps := EngineDeps{Clock: clocks.make, RTCDevice: open}
	if initial != nil {
		deps.RTC = func(string, bool) RTCReader { return initial }
	}
	e, err := NewEngineFactory(deps)(EngineInputs{
		Config:    cfg,
		Reference: &ref,
		Resources: daemon.Resources{Options: opts, Log: log},
		Fallback:  &cmdmon.UnsyncedHandler{},
	})
	if err != nil {
		return nil, hook, err
	}
	return e.(*engineComponent), hook, nil
}

func logged(hook *logtest.Hook, msg string) bool {
	for _, e := range hook.AllEntries() {
		if e.Message == msg {
			return true
		}
	}
	return false
}

func TestRTCFileWithRTCSyncIsFatal(t *testing.T) {
	opened := false
	open := func(string, bool) (rtc.Device, error) { opened = true; return &countingRTC{}, nil }
	_, _, err := buildRTCEngine(t, open, "rtcfile "+filepath.Join(t.TempDir(), "rtc"), "rtcsync")
	require.Error(t, err)
	assert.Equal(t, "rtcfile directive cannot be used with rtcsync", err.Error(), "chronyd's fatal message")
	assert.False(t, opened)
}

func TestRTCDriverWiring(t *testing.T) {
	noDevice := func(path string, _ bool) (rtc.Device, error) {
		return nil, &rtc.DeviceError{Msg: "Could not open RTC device " + path + " : No such file or directory", Err: syscall.ENOENT}
	}
	tests := []struct {
		name       string
		lines      []string
		open       func(dev *countingRTC) RTCDeviceFactory
		wantDriver bool
		wantLogs   []string
	}{
		{"no rtcfile", nil, func(d *countingRTC) RTCDeviceFactory {
			return func(string, bool) (rtc.Device, error) { return d, nil }
		}, false, nil},
		{"device missing", []string{"rtcdevice /dev/rtc7"}, func(*countingRTC) RTCDeviceFactory { return noDevice }, false,
			[]string{"Could not open RTC device /dev/rtc7 : No such file or directory", "RTC driver could not be initialised"}},
		{"device usable", []string{"rtconutc", "rtcautotrim 30"}, func(d *countingRTC) RTCDeviceFactory {
			return func(path string, onUTC bool) (rtc.Device, error) {
				if path != conf.DefaultRTCDevice || !onUTC {
					return nil, errors.New("wrong device settings")
				}
				return d, nil
			}
		}, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dev := &countingRTC{}
			file := filepath.Join(t.TempDir(), "rtc")
			const earlier = "1 1600000000 -0.250000 4.500\n"
			require.NoError(t, os.WriteFile(file, []byte(earlier), 0o644))
			logDir := t.TempDir()
			lines := append([]string{"logdir " + logDir, "log rtc"}, tc.lines...)
			if tc.name != "no rtcfile" {
				lines = append(lines, "rtcfile "+file)
			}
			e, hook, err := buildRTCEngine(t, tc.open(dev), lines...)
			require.NoError(t, err)
			for _, m := range tc.wantLogs {
				assert.True(t, logged(hook, m), "log %q", m)
			}
			require.NoError(t, e.Start(context.Background()))
			closed := false
			t.Cleanup(func() {
				if !closed {
					_ = e.Close()
				}
			})
			h := e.Handler()
			if !tc.wantDriver {
				assert.NoFileExists(t, filepath.Join(logDir, "rtc.log"), "no rtc.log without the driver")
				_, st := h.RTCData()
				assert.Equal(t, candm.StatusNoRTC, st)
				assert.Equal(t, candm.StatusNoRTC, h.Run(cmdmon.ActionTrimRTC))
				assert.Equal(t, candm.StatusNoRTC, h.Run(cmdmon.ActionWriteRTC))
				return
			}
			require.Eventually(t, func() bool {
				rep, st := h.RTCData()
				return st == candm.StatusSuccess && rep.NSamples == 1
			}, 10*time.Second, 10*time.Millisecond, "the first reading reaches the engine")
			assert.Equal(t, 1, dev.readings(), "the next reading waits 15 s")
			logText, err := os.ReadFile(filepath.Join(logDir, "rtc.log"))
			require.NoError(t, err, "log rtc")
			assert.Contains(t, string(logText), rtc.LogHeader)
			assert.Regexp(t, `\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +-?\d+\.\d{6} 0 +0\.000000 +0\.000 +1 +0 +15\n`, string(logText))
			assert.Equal(t, candm.StatusSuccess, h.Run(cmdmon.ActionTrimRTC))
			assert.Equal(t, candm.StatusSuccess, h.Run(cmdmon.ActionWriteRTC))
			require.NoError(t, e.AwaitFineSetting(context.Background()), "no fine setting without -s")
			assert.False(t, dev.isClosed())
			require.NoError(t, e.Close())
			closed = true
			assert.True(t, dev.isClosed(), "the device is closed at exit")
			got, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.Equal(t, earlier, string(got), "without a fit the rtcfile of the last run is kept")
			assert.Empty(t, dev.sets)
		})
	}
}

// TestSystemRTCDeviceMissing checks chronyd's message for a device that
// does not exist (this machine has no /dev/rtc).
func TestSystemRTCDeviceMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rtc0")
	_, err := SystemRTCDevice(path, true)
	require.Error(t, err)
	assert.Equal(t, "Could not open RTC device "+path+" : No such file or directory", err.Error())
	assert.ErrorIs(t, err, syscall.ENOENT)
}

// TestInitialSettingFromRTC is -s with rtcfile: the clock is set from the
// RTC, then the driver reads it every second and slews the remaining
// error measured against the rtcfile's coefficients.
func TestInitialSettingFromRTC(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantLog string
	}{
		{"valid coefficients", "1 1700000000 0.000000 0.000\n", "System clock off from RTC by "},
		{"invalid coefficients", "0 1700000000 0.000000 0.000\n", "No valid rtcfile coefficients"},
		{"unreadable file", "garbage\n", "Could not read coefficients from "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "rtc")
			require.NoError(t, os.WriteFile(file, []byte(tc.file), 0o644))
			dev := &countingRTC{}
			open := func(string, bool) (rtc.Device, error) { return dev, nil }
			e, hook, err := buildRTCEngineWith(t, open, daemon.Options{InitFromRTC: true}, fakeRTC{}, "rtcfile "+file)
			require.NoError(t, err)
			require.NoError(t, e.Start(context.Background()))
			t.Cleanup(func() { _ = e.Close() })
			require.Eventually(t, func() bool { return dev.readings() >= 8 }, 10*time.Second, 5*time.Millisecond, "eight readings, one a second")
			require.Eventually(t, func() bool {
				for _, en := range hook.AllEntries() {
					if strings.HasPrefix(en.Message, tc.wantLog) {
						return true
					}
				}
				return false
			}, 10*time.Second, 5*time.Millisecond, "log %q", tc.wantLog)
		})
	}
}

// gatedRTC is an RTC device whose readings wait until release is closed
// (at most 10 s), then come at once one second apart, or end with fail
// when it is set.
type gatedRTC struct {
	countingRTC
	release chan struct{}
	fail    error
}

func (g *gatedRTC) Read(sysNow func() time.Time) (time.Time, time.Time, error) {
	select {
	case <-g.release:
	case <-time.After(10 * time.Second):
		return time.Time{}, time.Time{}, &rtc.ReadError{Failure: rtc.FailureNoInterrupt, Msg: "test RTC never released"}
	}
	if g.fail != nil {
		return time.Time{}, time.Time{}, g.fail
	}
	return g.countingRTC.Read(sysNow)
}

// TestFineSettingHoldsSourcesBack is -s with rtcfile in the daemon: the
// engine starts at once and answers chronyc while the RTC's fine setting
// runs; the configured source is added only when it ends, after eight
// readings or at a failed one.
func TestFineSettingHoldsSourcesBack(t *testing.T) {
	tests := []struct {
		name    string
		fail    error
		wantLog string
	}{
		{"eight readings", nil, "System clock off from RTC by "},
		{"RTC cannot be read", &rtc.ReadError{Failure: rtc.FailureNoInterrupt, Msg: "No update interrupt from RTC device /dev/rtc"},
			"No update interrupt from RTC device /dev/rtc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "rtc")
			require.NoError(t, os.WriteFile(file, []byte("1 1700000000 0.000000 0.000\n"), 0o644))
			dev := &gatedRTC{release: make(chan struct{}), fail: tc.fail}
			open := func(string, bool) (rtc.Device, error) { return dev, nil }
			// The source is on loopback (nothing answers there).
			e, hook, err := buildRTCEngineWith(t, open, daemon.Options{InitFromRTC: true}, fakeRTC{},
				"rtcfile "+file, "server 127.0.0.1 port 1")
			require.NoError(t, err)
			begin := time.Now()
			require.NoError(t, e.Start(context.Background()))
			released := false
			t.Cleanup(func() {
				if !released {
					close(dev.release)
				}
				_ = e.Close()
			})
			assert.Less(t, time.Since(begin), 2*time.Second, "Start does not wait for the fine setting")

			h := e.Handler()
			num, st := h.NumSources()
			assert.Equal(t, candm.StatusSuccess, st, "chronyc is answered during the fine setting")
			assert.Zero(t, num, "no source before the fine setting ends")
			_, st = h.Tracking()
			assert.Equal(t, candm.StatusSuccess, st)
			short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			assert.ErrorIs(t, e.AwaitFineSetting(short), context.DeadlineExceeded, "not ready during the fine setting")

			close(dev.release)
			released = true
			long, cancelLong := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancelLong()
			require.NoError(t, e.AwaitFineSetting(long), "ready once the fine setting ended")
			require.Eventually(t, func() bool {
				n, _ := h.NumSources()
				return n == 1
			}, 10*time.Second, 5*time.Millisecond, "the source is added once the fine setting ends")
			require.Eventually(t, func() bool {
				for _, en := range hook.AllEntries() {
					if strings.HasPrefix(en.Message, tc.wantLog) {
						return true
					}
				}
				return false
			}, 10*time.Second, 5*time.Millisecond, "log %q", tc.wantLog)
			if tc.fail == nil {
				assert.GreaterOrEqual(t, dev.readings(), 8, "eight readings before the source")
			}
		})
	}
}
