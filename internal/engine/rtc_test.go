package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/internal/sim"
	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/rtc"
)

// virtualRTC is a simulated real-time clock running on the simulation's
// true time: fast0 seconds ahead of true time at since, gaining gain s/s.
// Readings come at its whole seconds with the node's raw clock reading;
// setting it makes it tick half a second later, as a PC's RTC does.
type virtualRTC struct {
	s     *sim.Simulation
	n     *sim.Node
	since time.Time
	fast0 float64
	gain  float64
	// sets are the times the RTC was set to; fail, when not nil, is the
	// error every reading ends with, failWait how long it takes to come
	// (a missing interrupt waits).
	sets     []time.Time
	fail     error
	failWait time.Duration
	requests int
}

func newVirtualRTC(s *sim.Simulation, n *sim.Node, fast, gain float64) *virtualRTC {
	return &virtualRTC{s: s, n: n, since: s.Now(), fast0: fast, gain: gain}
}

// fast is how far the RTC is ahead of true time at t.
func (v *virtualRTC) fast(t time.Time) float64 {
	return v.fast0 + v.gain*t.Sub(v.since).Seconds()
}

func (v *virtualRTC) Request(deliver func(rtcTime, sysRaw time.Time, err error)) {
	v.requests++
	now := v.s.Now()
	shown := now.Add(time.Duration(v.fast(now) * 1e9))
	// Round to the nearest microsecond first: a reading asked for right at
	// a tick must get the next one, not the same one again.
	next := shown.Round(time.Microsecond).Truncate(time.Second).Add(time.Second)
	wait := time.Duration(float64(next.Sub(shown)) / (1 + v.gain))
	if v.fail != nil {
		err := v.fail
		v.s.Scheduler().At(now.Add(v.failWait), func() { deliver(time.Time{}, time.Time{}, err) })
		return
	}
	v.s.Scheduler().At(now.Add(wait), func() {
		if v.fail != nil {
			deliver(time.Time{}, time.Time{}, v.fail)
			return
		}
		deliver(next, v.n.Clock().ReadRaw(), nil)
	})
}

func (v *virtualRTC) Set(t time.Time) error {
	now := v.s.Now()
	v.sets = append(v.sets, t)
	// The RTC shows t+0.5 now: it ticks t+1 half a second later.
	v.since, v.fast0 = now, float64(t.UnixNano())*1e-9+0.5-float64(now.UnixNano())*1e-9
	return nil
}

// rtcWorld is a client synchronised to one server for 600 s, with an RTC
// fast by fast seconds and gaining gainPPM, whose driver then starts.
func rtcWorld(t *testing.T, servers int, fast, gainPPM, autoTrim float64) (*sim.Simulation, *sim.Node, *virtualRTC, *engine.RTC, string) {
	t.Helper()
	s, n := world(t, servers, 0, "", nil)
	s.Run(600)
	dev := newVirtualRTC(s, n, fast, gainPPM*1e-6)
	file := filepath.Join(t.TempDir(), "rtc")
	drv := engine.NewRTC(engine.RTCOptions{Device: dev, File: file, AutoTrim: autoTrim})
	drv.Start(n.Engine())
	return s, n, dev, drv, file
}

func rtcHandler(drv *engine.RTC) *engine.RTCHandler {
	return &engine.RTCHandler{Handler: &cmdmon.UnsyncedHandler{}, RTC: drv, Call: direct}
}

func TestRTCTracksDrift(t *testing.T) {
	tests := []struct {
		name    string
		fast    float64
		gainPPM float64
	}{
		{"fast RTC gaining", 0.6, 11.5},
		{"slow RTC losing", -0.4, -35},
		{"far off RTC", 250.3, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, dev, drv, _ := rtcWorld(t, 1, tc.fast, tc.gainPPM, 0)
			s.Run(4000)
			h := rtcHandler(drv)
			rep, st := h.RTCData()
			require.Equal(t, candm.StatusSuccess, st)
			assert.InDelta(t, tc.gainPPM, rep.RTCGainRatePPM, 0.5, "gain rate (ppm)")
			wantFast := dev.fast(rep.RefTime.Add(-time.Duration(dev.fast(rep.RefTime) * 1e9)))
			assert.InDelta(t, wantFast, rep.RTCSecondsFast, 2e-3, "offset at the reference time")
			assert.GreaterOrEqual(t, rep.NSamples, uint16(5))
			assert.Positive(t, rep.SpanSeconds)
			assert.Empty(t, dev.sets, "no trim without rtcautotrim")
			assert.Less(t, dev.requests, 60, "readings every 15 to 240 s, not every second")
		})
	}
}

func TestRTCAutoTrim(t *testing.T) {
	tests := []struct {
		name     string
		servers  int
		fast     float64
		autoTrim float64
		wantTrim bool
	}{
		{"offset above the threshold", 1, 30.3, 10, true},
		{"offset below the threshold", 1, 5.3, 10, false},
		{"unsynchronised", 0, 30.3, 10, false},
		{"autotrim off", 1, 30.3, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, n, dev, drv, file := rtcWorld(t, tc.servers, tc.fast, 20, tc.autoTrim)
			s.Run(1200)
			rep, st := rtcHandler(drv).RTCData()
			require.Equal(t, candm.StatusSuccess, st)
			if !tc.wantTrim {
				assert.Empty(t, dev.sets)
				assert.InDelta(t, tc.fast, rep.RTCSecondsFast, 1, "no trim: the offset stays (an unsynchronised clock drifts)")
				_, err := os.Stat(file)
				assert.True(t, os.IsNotExist(err), "the rtcfile is written only on trim, writertc and exit")
				return
			}
			require.Len(t, dev.sets, 1, "trimmed once")
			assert.True(t, hasLog(n, "RTC wrong by 30.3"), "chronyd's message")
			assert.Less(t, abs(rep.RTCSecondsFast), 1.0, "the RTC is within a second after the trim")
			c, err := rtc.LoadCoefs(file)
			require.NoError(t, err, "the relocked offset is saved")
			assert.True(t, c.Valid)
			assert.Less(t, abs(c.Offset), 1.0)
			assert.InDelta(t, 20, c.GainRatePPM, 1, "the gain measured before the trim is kept")
		})
	}
}

func TestRTCTrimAndWriteCommands(t *testing.T) {
	s, _, dev, drv, file := rtcWorld(t, 1, 3.4, -8, 0)
	h := rtcHandler(drv)

	// Before the first fit there are no valid coefficients: writertc
	// leaves an existing file (from an earlier run) alone.
	const earlier = "1 1600000000 1.500000 2.000\n"
	require.NoError(t, os.WriteFile(file, []byte(earlier), 0o644))
	assert.Equal(t, candm.StatusSuccess, h.Run(cmdmon.ActionWriteRTC))
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, earlier, string(got))

	s.Run(900)
	rep, st := h.RTCData()
	require.Equal(t, candm.StatusSuccess, st)
	require.Greater(t, rep.NSamples, uint16(3))

	assert.Equal(t, candm.StatusSuccess, h.Run(cmdmon.ActionWriteRTC))
	got, err = os.ReadFile(file)
	require.NoError(t, err)
	c, err := rtc.ParseCoefs(string(got))
	require.NoError(t, err)
	assert.Equal(t, rtc.FormatCoefs(rtc.Coefs{Valid: true, RefTime: rep.RefTime, Offset: rep.RTCSecondsFast, GainRatePPM: rep.RTCGainRatePPM}), string(got))
	assert.InDelta(t, -8, c.GainRatePPM, 1)

	// trimrtc: the RTC is set, the samples dropped, then relearned.
	assert.Equal(t, candm.StatusSuccess, h.Run(cmdmon.ActionTrimRTC))
	require.Len(t, dev.sets, 1)
	rep, _ = h.RTCData()
	assert.Zero(t, rep.NSamples, "trimrtc drops the samples")
	assert.Less(t, abs(rep.RTCSecondsFast), 1.0)
	s.Run(10)
	after, err := rtc.LoadCoefs(file)
	require.NoError(t, err)
	assert.NotEqual(t, c, after, "the relocked coefficients are saved after the trim")
	assert.Less(t, abs(after.Offset), 1.0)
	assert.Less(t, abs(dev.fast(s.Now())), 1.0)

	// Within a second trimrtc does nothing.
	s.Run(600)
	assert.Equal(t, candm.StatusSuccess, h.Run(cmdmon.ActionTrimRTC))
	assert.Len(t, dev.sets, 1)
}

func TestRTCUnwritableFileAnswersBadRTCFile(t *testing.T) {
	s, n := world(t, 1, 0, "", nil)
	s.Run(600)
	dev := newVirtualRTC(s, n, 2, 5e-6)
	drv := engine.NewRTC(engine.RTCOptions{Device: dev, File: filepath.Join(t.TempDir(), "missing", "rtc")})
	drv.Start(n.Engine())
	h := rtcHandler(drv)
	assert.Equal(t, candm.StatusSuccess, h.Run(cmdmon.ActionWriteRTC), "nothing to write yet")
	s.Run(300)
	assert.Equal(t, candm.StatusBadRTCFile, h.Run(cmdmon.ActionWriteRTC))
	assert.Error(t, drv.Stop())
}

func TestRTCStopWritesFile(t *testing.T) {
	s, _, _, drv, file := rtcWorld(t, 1, 1.5, 4, 0)
	s.Run(900)
	require.NoError(t, drv.Stop())
	c, err := rtc.LoadCoefs(file)
	require.NoError(t, err)
	assert.True(t, c.Valid)
	assert.InDelta(t, 4, c.GainRatePPM, 1)
	// Stopped, the driver takes no more readings.
	require.NoError(t, os.Remove(file))
	s.Run(900)
	_, err = os.Stat(file)
	assert.True(t, os.IsNotExist(err))
}

func TestRTCFollowsClockStep(t *testing.T) {
	s, n, _, drv, _ := rtcWorld(t, 1, 2, 0, 0)
	s.Run(300)
	h := rtcHandler(drv)
	before, _ := h.RTCData()
	require.NoError(t, n.Clock().ApplyStep(-5))
	after, _ := h.RTCData()
	assert.InDelta(t, before.RTCSecondsFast-5, after.RTCSecondsFast, 1e-6, "a step of the system clock moves the RTC's offset")
	assert.Equal(t, before.NSamples, after.NSamples, "a known step keeps the samples")
}

func TestRTCReadErrorsKeepTheDaemonRunning(t *testing.T) {
	s, n, dev, drv, _ := rtcWorld(t, 1, 2, 0, 0)
	dev.fail = errors.New("virtual RTC: read failed")
	s.Run(200)
	assert.True(t, hasLog(n, "Could not read time from RTC : virtual RTC: read failed"))
	rep, st := rtcHandler(drv).RTCData()
	assert.Equal(t, candm.StatusSuccess, st)
	assert.Zero(t, rep.NSamples)
	dev.fail = nil
	s.Run(100)
	rep, _ = rtcHandler(drv).RTCData()
	assert.Positive(t, rep.NSamples, "readings resume")
}

func TestRTCWithoutDriverAnswersNoRTC(t *testing.T) {
	_, n := world(t, 1, 0, "", nil)
	handlers := map[string]cmdmon.Handler{
		"engine without RTC handler": engine.NewControl(n.Engine(), direct, nil),
		"RTC handler without driver": engine.NewControl(n.Engine(), direct, &engine.RTCHandler{Handler: &cmdmon.UnsyncedHandler{}}),
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			_, st := h.RTCData()
			assert.Equal(t, candm.StatusNoRTC, st)
			assert.Equal(t, candm.StatusNoRTC, h.Run(cmdmon.ActionTrimRTC))
			assert.Equal(t, candm.StatusNoRTC, h.Run(cmdmon.ActionWriteRTC))
			assert.Equal(t, candm.StatusSuccess, h.Run(cmdmon.ActionReselect), "other actions still reach the engine")
		})
	}
}

// TestStockChronycRTC asks Debian's chronyc rtcdata, trimrtc and
// writertc of an engine tracking a virtual RTC, and of one without.
func TestStockChronycRTC(t *testing.T) {
	requireStockChronyc(t)
	s, n, _, drv, file := rtcWorld(t, 1, 42.5, 12, 0)
	s.Run(1500)
	call := lockedCaller()
	serve := func(h cmdmon.Handler) string { return serveCommands(t, h) }
	withRTC := serve(engine.NewControl(n.Engine(), call, &engine.RTCHandler{Handler: &cmdmon.UnsyncedHandler{}, RTC: drv, Call: call}))
	withoutRTC := serve(engine.NewControl(n.Engine(), call, nil))
	// An RTC whose device failed after start: closed, the driver stopped.
	fs, fn, fdev, fdrv, _ := rtcWorld(t, 1, 42.5, 12, 0)
	fs.Run(900)
	fdev.fail = &rtc.ReadError{Failure: rtc.FailureDevice, Msg: "Could not read flags /dev/rtc : No such device"}
	fs.Run(300)
	require.True(t, hasLog(fn, "Could not read flags /dev/rtc : No such device"))
	failed := serve(engine.NewControl(fn.Engine(), call, &engine.RTCHandler{Handler: &cmdmon.UnsyncedHandler{}, RTC: fdrv, Call: call}))

	tests := []struct {
		sock string
		cmd  string
		want []string
	}{
		{withRTC, "rtcdata", []string{"RTC ref time (UTC) :", "Number of samples  :", "Number of runs     :", "Sample span period :", "RTC is fast by     :    42.5", "RTC gains time at  :    12.0"}},
		{withRTC, "writertc", []string{"200 OK"}},
		{withRTC, "trimrtc", []string{"200 OK"}},
		{withoutRTC, "rtcdata", []string{"513 RTC driver not running"}},
		{withoutRTC, "trimrtc", []string{"513 RTC driver not running"}},
		{withoutRTC, "writertc", []string{"513 RTC driver not running"}},
		{failed, "rtcdata", []string{"RTC is fast by     :    42.5", "RTC gains time at  :    12.0"}},
		{failed, "writertc", []string{"513 RTC driver not running"}},
		{failed, "trimrtc", []string{"200 OK"}},
	}
	for _, tc := range tests {
		name := tc.cmd
		switch tc.sock {
		case withoutRTC:
			name += " without RTC"
		case failed:
			name += " after a device failure"
		}
		t.Run(name, func(t *testing.T) {
			out := stockChronyc(t, tc.sock, tc.cmd)
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
		})
	}
	c, err := rtc.LoadCoefs(file)
	require.NoError(t, err, "writertc wrote the rtcfile")
	assert.InDelta(t, 12, c.GainRatePPM, 1)
}

func TestRTCLogsEveryReading(t *testing.T) {
	s, n := world(t, 1, 0, "", nil)
	s.Run(600)
	dev := newVirtualRTC(s, n, 0.25, 0)
	var lines []string
	drv := engine.NewRTC(engine.RTCOptions{Device: dev, Log: func(l string) { lines = append(lines, l) }})
	drv.Start(n.Engine())
	s.Run(100)
	assert.InDelta(t, dev.requests, len(lines), 1, "one line per reading (the last may be pending)")
	require.GreaterOrEqual(t, len(lines), 5)
	assert.Regexp(t, `^2026-01-01 00:1\d:\d\d +0\.2\d{5} 0 +0\.000000 +0\.000 +1 +0 +15$`, lines[0])
	// The fifth reading is 30 s after the fourth: the period in force.
	assert.Regexp(t, ` 1 +0\.2\d{5} +-?0\.\d{3} +5 +\d +30$`, lines[4])
}

func TestRTCInitialSettingSlewsTheClock(t *testing.T) {
	tests := []struct {
		name     string
		coefs    rtc.Coefs
		wantLog  string
		wantSlew bool
	}{
		{"valid coefficients", rtc.Coefs{Valid: true, Offset: 5, GainRatePPM: 0}, "System clock off from RTC by 0.10", true},
		{"no coefficients", rtc.Coefs{}, "No valid rtcfile coefficients", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No servers: only the RTC corrects the clock, 0.1 s ahead.
			s, n := world(t, 0, 0, "", nil)
			dev := newVirtualRTC(s, n, 5, 0)
			coefs := tc.coefs
			coefs.RefTime = s.Now().Add(-24 * time.Hour)
			drv := engine.NewRTC(engine.RTCOptions{Device: dev, Initial: &coefs})
			drv.Start(n.Engine())
			before := n.Clock().TrueTimeError()
			require.InDelta(t, 0.1, before, 1e-3)
			s.Run(10)
			assert.True(t, hasLog(n, tc.wantLog), "log %q in %v", tc.wantLog, n.Logs())
			assert.GreaterOrEqual(t, dev.requests, 8, "one reading a second")
			s.Run(190)
			after := n.Clock().TrueTimeError()
			if tc.wantSlew {
				assert.Less(t, abs(after), 0.03, "slewed to the RTC (the clock is still 100 ppm fast)")
			} else {
				assert.Greater(t, after, 0.1)
			}
			rep, _ := rtcHandler(drv).RTCData()
			assert.Positive(t, rep.NSamples, "normal measurements follow")
		})
	}
}

// rtcStartWorld is a client with one server whose engine is given an RTC
// driver in its options, as the daemon builds it. With initial (chronyd
// -s) the fine setting comes first. The RTC is 5 s fast; every reading
// fails with fail, after failWait, when fail is not nil.
func rtcStartWorld(t *testing.T, initial *rtc.Coefs, fail error, failWait time.Duration) (*sim.Simulation, *sim.Node, *virtualRTC, *engine.RTC) {
	t.Helper()
	dev := &virtualRTC{fast0: 5, fail: fail, failWait: failWait}
	drv := engine.NewRTC(engine.RTCOptions{Device: dev, Initial: initial})
	s, n := world(t, 1, 0, "", func(c *sim.NodeConfig) {
		c.Options = func(o *engine.Options) { o.RTC = drv }
	})
	dev.s, dev.n, dev.since = s, n, s.Now()
	return s, n, dev, drv
}

func TestRTCFineSettingHoldsSourcesBack(t *testing.T) {
	valid := &rtc.Coefs{Valid: true, RefTime: sim.Epoch.Add(-24 * time.Hour), Offset: 5}
	tests := []struct {
		name     string
		initial  *rtc.Coefs
		fail     error
		failWait time.Duration
		// The first request to the server goes within [startMin, startMax)
		// seconds of the start.
		startMin, startMax float64
		wantLog            string
		wantSlewed         bool
	}{
		{name: "fine setting with valid coefficients", initial: valid, startMin: 8, startMax: 9.5,
			wantLog: "System clock off from RTC by 0.10", wantSlewed: true},
		{name: "fine setting without coefficients", initial: &rtc.Coefs{}, startMin: 8, startMax: 9.5,
			wantLog: "No valid rtcfile coefficients"},
		{name: "time read fails", initial: valid, startMin: 1, startMax: 2, failWait: time.Second,
			fail:    &rtc.ReadError{Failure: rtc.FailureTime, Msg: "Could not read time from /dev/rtc : Input/output error"},
			wantLog: "Could not read time from /dev/rtc : Input/output error"},
		{name: "no update interrupt", initial: valid, startMin: 3, startMax: 4, failWait: 3 * time.Second,
			fail:    &rtc.ReadError{Failure: rtc.FailureNoInterrupt, Msg: "No update interrupt from RTC device /dev/rtc"},
			wantLog: "No update interrupt from RTC device /dev/rtc"},
		{name: "device fails", initial: valid, startMin: 1, startMax: 2, failWait: time.Second,
			fail:    &rtc.ReadError{Failure: rtc.FailureDevice, Msg: "Could not read flags /dev/rtc : No such device"},
			wantLog: "Could not read flags /dev/rtc : No such device"},
		{name: "without -s", startMin: 0, startMax: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, n, dev, drv := rtcStartWorld(t, tc.initial, tc.fail, tc.failWait)
			ctl := engine.NewControl(n.Engine(), direct, nil)
			if tc.startMin >= 1 {
				s.Run(tc.startMin - 0.5)
				assert.Empty(t, n.TxTimes(), "no request before the fine setting ends")
				num, st := ctl.NumSources()
				assert.Equal(t, candm.StatusSuccess, st, "chronyc is answered meanwhile")
				assert.Zero(t, num, "the sources are not added yet")
				_, st = ctl.Tracking()
				assert.Equal(t, candm.StatusSuccess, st)
				require.NotNil(t, n.Engine().Snapshot(), "the NTP server has a reference to serve")
				assert.False(t, isClosed(drv.FineSettingDone()), "not ready yet")
			}
			s.Run(30 - s.Elapsed())
			require.NotEmpty(t, n.TxTimes(), "logs: %v", n.Logs())
			first := n.TxTimes()[0].Sub(sim.Epoch).Seconds()
			assert.GreaterOrEqual(t, first, tc.startMin, "first request")
			assert.Less(t, first, tc.startMax, "first request")
			if tc.wantLog != "" {
				assert.True(t, hasLog(n, tc.wantLog), "log %q in %v", tc.wantLog, n.Logs())
			}
			num, _ := ctl.NumSources()
			assert.Equal(t, 1, num)
			assert.True(t, isClosed(drv.FineSettingDone()), "ready")
			if tc.wantSlewed {
				assert.Less(t, abs(n.Clock().TrueTimeError()), 0.07, "slewing to the RTC's time")
			} else {
				assert.Greater(t, n.Clock().TrueTimeError(), 0.09, "no correction yet")
			}
			if tc.fail == nil && tc.initial != nil {
				assert.GreaterOrEqual(t, dev.requests, 9, "eight readings a second apart, then the regular ones")
			}
		})
	}
}

func TestRTCFailureAfterStart(t *testing.T) {
	tests := []struct {
		name        string
		fail        *rtc.ReadError
		wantRetries bool
		// wantWrite is writertc's answer; wantSet whether trimrtc sets
		// the RTC.
		wantWrite candm.Status
		wantSet   bool
	}{
		{"time read fails", &rtc.ReadError{Failure: rtc.FailureTime, Msg: "Could not read time from /dev/rtc : Input/output error"},
			true, candm.StatusSuccess, true},
		{"interrupts cannot be enabled", &rtc.ReadError{Failure: rtc.FailureInterrupt, Msg: "Could not enable RTC interrupt : Invalid argument"},
			false, candm.StatusSuccess, true},
		{"device fails", &rtc.ReadError{Failure: rtc.FailureDevice, Msg: "Could not read flags /dev/rtc : No such device"},
			false, candm.StatusNoRTC, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, n, dev, drv, file := rtcWorld(t, 1, 3.4, 10, 0)
			s.Run(900)
			h := rtcHandler(drv)
			before, st := h.RTCData()
			require.Equal(t, candm.StatusSuccess, st)
			require.Greater(t, before.NSamples, uint16(3))

			dev.fail, dev.failWait = tc.fail, time.Second
			asked := dev.requests
			s.Run(1500)
			assert.True(t, hasLog(n, tc.fail.Msg), "chronyd's message in %v", n.Logs())
			if tc.wantRetries {
				assert.Greater(t, dev.requests, asked+1, "retried after the measurement period")
			} else {
				assert.LessOrEqual(t, dev.requests, asked+1, "no reading after the failure")
			}
			rep, st := h.RTCData()
			assert.Equal(t, candm.StatusSuccess, st, "rtcdata answers the last estimate")
			assert.Equal(t, before.NSamples, rep.NSamples)
			assert.InDelta(t, 3.4, rep.RTCSecondsFast, 0.1)

			assert.Equal(t, tc.wantWrite, h.Run(cmdmon.ActionWriteRTC), "writertc")
			assert.Equal(t, candm.StatusSuccess, h.Run(cmdmon.ActionTrimRTC), "trimrtc")
			assert.True(t, hasLog(n, "RTC wrong by 3.4"))
			if tc.wantSet {
				assert.Len(t, dev.sets, 1)
			} else {
				assert.Empty(t, dev.sets, "the closed device is not set")
				assert.True(t, hasLog(n, "Could not set RTC time"))
			}
			rep, _ = h.RTCData()
			assert.Zero(t, rep.NSamples, "trimrtc drops the samples")

			require.NoError(t, drv.Stop())
			if tc.wantWrite == candm.StatusNoRTC {
				assert.NoFileExists(t, file, "no rtcfile at exit once the device failed")
			}
		})
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
