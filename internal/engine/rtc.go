package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/chronygo/chronygo/internal/atomicfile"
	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/chronygo/chronygo/pkg/rtc"
)

// RTCDevice is the engine's door to the real-time clock. A reading waits
// for the RTC's next second, so it never runs on the loop: Request starts
// one elsewhere (the daemon's goroutine, or a simulated RTC's timer) and
// hands the result back on the loop.
type RTCDevice interface {
	// Request asks for one reading at the RTC's next second boundary.
	// deliver must later be called once, on the loop, with the RTC time,
	// the raw reading of the engine's clock at that boundary, or an error.
	Request(deliver func(rtcTime, sysRaw time.Time, err error))
	// Set sets the RTC to t (whole seconds). It is called on the loop.
	Set(t time.Time) error
}

// RTCOptions configure the RTC driver.
type RTCOptions struct {
	// Device reads and sets the RTC.
	Device RTCDevice
	// File is the rtcfile, written on writertc, after a trim and at exit.
	File string
	// AutoTrim is rtcautotrim's threshold in seconds (0: off).
	AutoTrim float64
	// Log, when not nil, receives the rtc.log line of every reading (log
	// rtc; rtc.LogHeader is its header).
	Log func(line string)
	// Initial, when not nil, starts with chronyd -s's fine setting: the
	// clock was just set from the RTC to about a second, and the first
	// eight readings, one a second, measure the remaining error from these
	// rtcfile coefficients, which is then slewed away. Given to the engine
	// as Options.RTC, the driver holds the sources back until it ends.
	Initial *rtc.Coefs
}

// ErrRTCClosed is writertc's error once the RTC device failed and was
// closed: chronyd's driver then answers NORTC.
var ErrRTCClosed = errors.New("RTC device closed after a failure")

// RTC is chronyd's RTC driver (rtcfile) run by the engine: it reads the
// RTC every 15 to 240 s, tracks its offset and gain rate against the
// cooked system time (rtc.Driver), trims it on trimrtc or rtcautotrim and
// keeps the rtcfile. Its methods run on the engine's loop; RTCHandler
// answers chronyc from it.
//
// Given to the engine as Options.RTC, it follows chronyd's start-up order:
// with RTCOptions.Initial (chronyd -s), Engine.Start first runs the fine
// setting and starts the sources only when it ends, after eight readings
// or at the first failed one; the regular readings start once the
// configured names are resolved. When the device fails
// (rtc.FailureDevice), it is closed and the driver stops for good, as
// chronyd's does.
type RTC struct {
	dev      RTCDevice
	file     string
	drv      *rtc.Driver
	log      func(string)
	e        *Engine
	timer    Timer
	inFlight bool
	// gen numbers the readings asked for: a reading delivered for an
	// older request (one abandoned by a trim) is dropped.
	gen     uint64
	stopped bool
	// onInitialEnd continues the engine's start-up once the fine setting
	// ends (chronyd's post_init_rtc_hook); nil when nothing waits.
	onInitialEnd func()
	// delivering is set while a reading is handled: the reading schedules
	// the next one itself.
	delivering bool
	// closed is set once the device failed: no more readings, writertc
	// answers NORTC and the rtcfile is no longer written.
	closed bool
	// fineDone is closed once the fine setting ended (or when there is
	// none); fineClosed records it.
	fineDone   chan struct{}
	fineClosed bool
}

// NewRTC makes the RTC driver; Start runs it on an engine.
func NewRTC(o RTCOptions) *RTC {
	r := &RTC{dev: o.Device, file: o.File, log: o.Log, drv: rtc.NewDriver(o.AutoTrim), fineDone: make(chan struct{})}
	if o.Initial != nil && o.Device != nil {
		r.drv.StartInitial(*o.Initial)
	} else {
		r.closeFineDone()
	}
	return r
}

// FineSettingDone is closed once chronyd -s's fine setting ended, at once
// when there is none: the point where chronyd tells systemd and its
// waiting parent process that it is ready. Any goroutine may wait on it.
func (r *RTC) FineSettingDone() <-chan struct{} { return r.fineDone }

// closeFineDone marks the end of the fine setting.
func (r *RTC) closeFineDone() {
	if !r.fineClosed {
		r.fineClosed = true
		close(r.fineDone)
	}
}

// Start runs the driver on an engine that did not get it as
// Options.RTC (one already running): it follows e's clock corrections and
// begins measuring at once, or begins the fine setting when
// RTCOptions.Initial was given, without holding anything back. Call it
// once, on the loop.
func (r *RTC) Start(e *Engine) {
	if r.e != nil {
		return
	}
	r.attach(e)
	if r.drv.Initial() {
		r.request()
		return
	}
	r.startMeasurements()
}

// attach binds the driver to e and follows e's clock corrections.
func (r *RTC) attach(e *Engine) {
	if r.e != nil {
		return
	}
	r.e = e
	e.clk.AddChangeHandler(func(c clock.Change) {
		if !r.stopped {
			r.drv.HandleChange(c)
		}
	})
}

// timeInit begins chronyd -s's fine setting (RTC_TimeInit): cont is
// called on the loop once it ends. It reports false, without calling
// cont, when there is no fine setting to do.
func (r *RTC) timeInit(cont func()) bool {
	if !r.drv.Initial() || r.dev == nil || r.stopped || r.closed {
		r.closeFineDone()
		return false
	}
	r.onInitialEnd = cont
	r.request()
	return true
}

// endInitial continues the start-up held back by the fine setting.
func (r *RTC) endInitial() {
	cont := r.onInitialEnd
	r.onInitialEnd = nil
	if cont != nil {
		cont()
	}
	r.closeFineDone()
}

// startMeasurements starts the regular readings (chronyd's
// RTC_StartMeasurements): a reading at the RTC's next second.
func (r *RTC) startMeasurements() {
	if r.e == nil || r.stopped || r.closed || r.delivering || r.drv.Initial() {
		return
	}
	stop(&r.timer)
	r.request()
}

// request asks the device for a reading unless one is under way.
func (r *RTC) request() {
	if r.inFlight || r.stopped || r.closed || r.dev == nil {
		return
	}
	r.inFlight = true
	r.gen++
	gen := r.gen
	r.dev.Request(func(rtcTime, sysRaw time.Time, err error) {
		r.handleReading(gen, rtcTime, sysRaw, err)
	})
}

// schedule arranges the next reading after d (0: at once).
func (r *RTC) schedule(d time.Duration) {
	stop(&r.timer)
	if d <= 0 {
		r.request()
		return
	}
	r.timer = r.e.sched.At(r.e.clk.ReadRaw().Add(d), func() {
		r.timer = nil
		r.request()
	})
}

// handleReading processes a reading on the loop.
func (r *RTC) handleReading(gen uint64, rtcTime, sysRaw time.Time, err error) {
	if gen != r.gen || r.stopped {
		return
	}
	r.inFlight = false
	r.delivering = true
	defer func() { r.delivering = false }()
	if err != nil {
		r.handleFailure(err)
		return
	}
	out := r.drv.HandleReading(rtcTime, r.e.clk.Cook(sysRaw), r.synchronised())
	if r.log != nil {
		r.log(out.Log)
	}
	if out.Initial != nil {
		r.finishInitial(*out.Initial)
		r.endInitial()
	}
	if out.Save != nil {
		if werr := r.writeCoefs(*out.Save); werr != nil {
			r.e.log.WithError(werr).Error("Could not write RTC coefficients")
		}
	}
	if out.Trim && r.trim() {
		return
	}
	r.schedule(out.Next)
}

// handleFailure follows a failed reading as chronyd does: a failed time
// read (or a missing interrupt) is retried after the measurement period;
// when interrupts cannot be enabled no reading follows until trimrtc;
// when the device failed it is closed and the driver stops. A fine
// setting under way ends and the start-up goes on (where chronyd would
// wait for ever after the last two).
func (r *RTC) handleFailure(err error) {
	var re *rtc.ReadError
	if errors.As(err, &re) {
		r.e.log.Error(re.Msg)
	} else {
		r.e.log.Errorf("Could not read time from RTC : %v", err)
	}
	initial := r.drv.Initial()
	next := r.drv.HandleError()
	switch rtc.ReadFailureOf(err) {
	case rtc.FailureDevice:
		r.closed = true
		stop(&r.timer)
	case rtc.FailureInterrupt:
		// As chronyd, wait: trimrtc asks for a reading again.
	default:
		r.schedule(next)
	}
	if initial {
		r.e.log.Debug("Could not complete initial step due to errors")
		r.endInitial()
	}
}

// finishInitial slews away the system clock's error measured against the
// RTC at the end of chronyd -s's fine setting.
func (r *RTC) finishInitial(res rtc.InitialResult) {
	if !res.Valid {
		r.e.log.Warn("No valid rtcfile coefficients")
		return
	}
	if err := r.e.clk.AccumulateOffset(res.Offset, 0); err != nil {
		r.e.log.WithError(err).Error("Could not slew the clock to the RTC")
		return
	}
	r.e.log.Infof("System clock off from RTC by %f seconds (slew)", res.Offset)
	r.e.after()
}

// synchronised is chronyd's "our stratum is below 16", which rtcautotrim
// requires: a source or the local reference is in use.
func (r *RTC) synchronised() bool {
	snap := r.e.snapshot.Load()
	return snap != nil && snap.Synchronised && snap.Stratum > 0 && snap.Stratum < 16
}

// trim sets the RTC to the system time when it is more than a second off
// and starts sampling it every second; it reports whether it did.
func (r *RTC) trim() bool {
	if r.e == nil || r.stopped {
		return false
	}
	setTo, fast, ok := r.drv.Trim(r.e.now())
	if !ok {
		return false
	}
	r.e.log.Infof("RTC wrong by %.3f seconds (step)", fast)
	if r.closed {
		// chronyd trims with its device closed: the estimate is reset,
		// but the RTC is neither set nor read again.
		r.e.log.Error("Could not set RTC time")
		r.e.log.Error("Could not enable RTC interrupt : Bad file descriptor")
		return true
	}
	if err := r.dev.Set(setTo); err != nil {
		r.e.log.WithError(err).Error("Could not set RTC time")
	}
	// A reading under way predates the new RTC time: drop it.
	stop(&r.timer)
	r.inFlight = false
	r.request()
	return true
}

// writeCoefs replaces the rtcfile.
func (r *RTC) writeCoefs(c rtc.Coefs) error {
	if r.file == "" {
		return nil
	}
	if err := atomicfile.Write(r.file, []byte(rtc.FormatCoefs(c)), 0o644); err != nil {
		return fmt.Errorf("rtcfile %s: %w", r.file, err)
	}
	return nil
}

// Write is writertc: the current coefficients go to the rtcfile. While
// they are not valid the file is left as it is, as chronyd does. Once the
// device failed it returns ErrRTCClosed.
func (r *RTC) Write() error {
	if r.closed {
		return ErrRTCClosed
	}
	c, ok := r.drv.Coefs()
	if !ok {
		return nil
	}
	return r.writeCoefs(c)
}

// Report is chronyc rtcdata's report.
func (r *RTC) Report() rtc.Report { return r.drv.Report() }

// Stop ends the measurements and writes the rtcfile (chronyd's exit),
// unless the device failed and was closed.
func (r *RTC) Stop() error {
	if r.stopped {
		return nil
	}
	r.stopped = true
	stop(&r.timer)
	r.closeFineDone()
	if r.closed {
		return nil
	}
	return r.Write()
}

// RTCHandler answers chronyc's rtcdata, trimrtc and writertc from an RTC
// driver on the engine's loop and hands every other request to Handler.
// Without a driver (RTC nil) it answers NORTC, as chronyd does when no RTC
// driver runs. The daemon passes it as the engine's fallback handler.
type RTCHandler struct {
	cmdmon.Handler
	// RTC is the driver (nil: none runs).
	RTC *RTC
	// Call runs a function on the engine's loop (Service.Do's shape).
	Call Caller
}

var _ cmdmon.Handler = (*RTCHandler)(nil)

// RTCData answers chronyc rtcdata.
func (h *RTCHandler) RTCData() (candm.RTCReport, candm.Status) {
	if h.RTC == nil || h.Call == nil {
		return candm.RTCReport{}, candm.StatusNoRTC
	}
	var rep rtc.Report
	if err := h.Call(func() { rep = h.RTC.Report() }); err != nil {
		return candm.RTCReport{}, candm.StatusFailed
	}
	return RTCReportFrom(rep), candm.StatusSuccess
}

// RTCReportFrom encodes a tracker report for chronyc rtcdata.
func RTCReportFrom(rep rtc.Report) candm.RTCReport {
	out := candm.RTCReport{
		RefTime:        rep.RefTime,
		NSamples:       uint16(rep.Samples),
		NRuns:          uint16(rep.Runs),
		RTCSecondsFast: rep.SecondsFast,
		RTCGainRatePPM: rep.GainRatePPM,
	}
	if span := rep.Span / time.Second; span > 0 {
		out.SpanSeconds = uint32(span)
	}
	return out
}

// Run answers trimrtc and writertc (BADRTCFILE when the rtcfile cannot be
// written, NORTC once the device failed) and passes the other actions on.
func (h *RTCHandler) Run(a cmdmon.Action) candm.Status {
	if a != cmdmon.ActionTrimRTC && a != cmdmon.ActionWriteRTC {
		return h.Handler.Run(a)
	}
	if h.RTC == nil || h.Call == nil {
		return candm.StatusNoRTC
	}
	st := candm.StatusSuccess
	err := h.Call(func() {
		if a == cmdmon.ActionTrimRTC {
			h.RTC.trim()
			return
		}
		werr := h.RTC.Write()
		if errors.Is(werr, ErrRTCClosed) {
			st = candm.StatusNoRTC
			return
		}
		if werr != nil {
			if h.RTC.e != nil {
				h.RTC.e.log.WithError(werr).Error("Could not write RTC coefficients")
			}
			st = candm.StatusBadRTCFile
		}
	})
	if err != nil {
		return candm.StatusFailed
	}
	return st
}
