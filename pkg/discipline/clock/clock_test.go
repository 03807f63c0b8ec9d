package clock

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// simTime is a controllable true time.
type simTime struct{ t time.Time }

func (s *simTime) now() time.Time      { return s.t }
func (s *simTime) advance(sec float64) { s.t = addSeconds(s.t, sec) }
func newSimTime() *simTime             { return &simTime{t: time.Unix(1700000000, 0)} }

// recorder wraps a SimKernel and records every adjtimex call.
type recorder struct {
	*SimKernel
	calls []unix.Timex
}

func (r *recorder) Adjtimex(tx *unix.Timex) (int, error) {
	r.calls = append(r.calls, *tx)
	return r.SimKernel.Adjtimex(tx)
}

func newRecorded(t *testing.T, opts Options) (*System, *recorder, *simTime) {
	t.Helper()
	st := newSimTime()
	rec := &recorder{SimKernel: NewSimKernel(st.now, 0, 0)}
	s, err := NewSystem(rec, opts)
	require.NoError(t, err)
	return s, rec, st
}

func TestSystemInitialisation(t *testing.T) {
	_, rec, _ := newRecorded(t, Options{})
	require.GreaterOrEqual(t, len(rec.calls), 4)
	assert.Equal(t, uint32(unix.ADJ_OFFSET_SINGLESHOT), rec.calls[0].Modes)
	assert.Equal(t, uint32(unix.ADJ_OFFSET|unix.ADJ_STATUS), rec.calls[1].Modes)
	assert.Equal(t, int32(unix.STA_PLL|unix.STA_UNSYNC), rec.calls[1].Status)
	assert.Equal(t, uint32(unix.ADJ_STATUS), rec.calls[2].Modes)
	assert.Equal(t, int32(unix.STA_UNSYNC), rec.calls[2].Status)
	assert.Equal(t, uint32(0), rec.calls[3].Modes)
}

func TestSystemSetFrequency(t *testing.T) {
	tests := []struct {
		ppm      float64
		wantTick int64
		wantFreq int64
		wantPPM  float64
	}{
		{ppm: 10.5, wantTick: 10000, wantFreq: int64(-10.5 * 65536), wantPPM: 10.5},
		{ppm: -3.25, wantTick: 10000, wantFreq: int64(3.25 * 65536), wantPPM: -3.25},
		{ppm: 250, wantTick: 9997, wantFreq: int64(50 * 65536), wantPPM: 250},
		{ppm: -1000, wantTick: 10010, wantFreq: 0, wantPPM: -1000},
	}
	for _, tc := range tests {
		t.Run("", func(t *testing.T) {
			s, rec, _ := newRecorded(t, Options{})
			rec.calls = nil
			s.SetFrequency(tc.ppm)
			var last unix.Timex
			for _, c := range rec.calls {
				if c.Modes == unix.ADJ_TICK|unix.ADJ_FREQUENCY {
					last = c
				}
			}
			assert.Equal(t, tc.wantTick, last.Tick)
			assert.Equal(t, tc.wantFreq, last.Freq)
			assert.InDelta(t, tc.wantPPM, s.Frequency(), 1e-4)
			// The kernel now runs slower by the frequency set.
			assert.InDelta(t, -tc.wantPPM*1e-6, rec.FrequencyError(), 1e-10)
		})
	}
}

func TestSystemStepUsesSetOffset(t *testing.T) {
	tests := []struct {
		offset   float64
		wantSec  int64
		wantNsec int64
	}{
		{offset: 0.5, wantSec: -1, wantNsec: 500000000},
		{offset: -2.25, wantSec: 2, wantNsec: 250000000},
		{offset: 1, wantSec: -1, wantNsec: 0},
	}
	for _, tc := range tests {
		s, rec, _ := newRecorded(t, Options{})
		before := rec.TimeError()
		rec.calls = nil
		require.NoError(t, s.ApplyStep(tc.offset))
		require.Len(t, rec.calls, 1)
		c := rec.calls[0]
		assert.Equal(t, uint32(unix.ADJ_SETOFFSET|unix.ADJ_NANO), c.Modes)
		assert.Equal(t, tc.wantSec, c.Time.Sec)
		assert.Equal(t, tc.wantNsec, c.Time.Usec)
		assert.InDelta(t, before-tc.offset, rec.TimeError(), 1e-9)
	}
}

func TestRTCSyncStatus(t *testing.T) {
	tests := []struct {
		name       string
		rtcSync    bool
		synced     bool
		est, maxE  float64
		wantUnsync bool
		wantMax    int64
		wantEst    int64
	}{
		{"rtcsync synchronised", true, true, 0.001, 0.01, false, 10000, 1000},
		{"rtcsync unsynchronised", true, false, 0.001, 0.01, true, 16000000, 16000000},
		{"no rtcsync", false, true, 0.001, 0.01, true, 10000, 1000},
		{"maxerror too large", true, true, 20, 16, true, 16000000, 16000000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, rec, _ := newRecorded(t, Options{RTCSync: tc.rtcSync})
			s.SetSyncStatus(tc.synced, tc.est, tc.maxE)
			status, maxE, est := rec.Status()
			assert.Equal(t, tc.wantUnsync, status&unix.STA_UNSYNC != 0)
			assert.Equal(t, tc.wantMax, maxE)
			assert.Equal(t, tc.wantEst, est)
		})
	}
}

func TestVirtualExact(t *testing.T) {
	tests := []struct {
		timeErr, freqErr, elapsed, want float64
	}{
		{0.1, 100e-6, 1000, 0.2},
		{-1, -50e-6, 2000, -1.1},
		{0, 0, 5000, 0},
	}
	for _, tc := range tests {
		st := newSimTime()
		v, err := NewVirtual(st.now, tc.timeErr, tc.freqErr, Options{})
		require.NoError(t, err)
		st.advance(tc.elapsed)
		assert.InDelta(t, tc.want, v.TrueTimeError(), 1e-12)
		assert.InDelta(t, tc.freqErr, v.TrueFrequencyError(), 1e-15)
		assert.Equal(t, addSeconds(st.t, tc.want), v.ReadRaw())
	}
}

// runSlew drives a virtual clock's slew timer until time limit.
func runSlew(v *Virtual, st *simTime, limit float64) {
	for i := 0; i < 10000 && limit > 0; i++ {
		next, ok := v.NextTimeout()
		if !ok {
			break
		}
		d := math.Max(0, math.Min(next.Sub(v.ReadRaw()).Seconds(), limit))
		st.advance(d)
		limit -= d
		if !next.After(v.ReadRaw()) {
			v.HandleTimeout()
		}
	}
}

func TestVirtualSlewCorrectsOffset(t *testing.T) {
	tests := []struct {
		offset, maxRate, minTime float64
	}{
		{offset: 1, maxRate: DefaultMaxSlewRate, minTime: 12},
		{offset: -0.5, maxRate: 1000, minTime: 500},
		{offset: 0.001, maxRate: DefaultMaxSlewRate, minTime: 0},
	}
	for _, tc := range tests {
		st := newSimTime()
		v, err := NewVirtual(st.now, tc.offset, 0, Options{MaxSlewRate: tc.maxRate})
		require.NoError(t, err)
		require.NoError(t, v.AccumulateOffset(tc.offset, 0))
		// The cooked time is right at once.
		assert.InDelta(t, 0, v.TrueCookedError(), 1e-8)
		if tc.minTime > 1 {
			runSlew(v, st, tc.minTime*0.9)
			assert.Greater(t, math.Abs(v.TrueTimeError()), 1e-3, "slew not faster than maxslewrate")
		}
		runSlew(v, st, tc.minTime*1.2+5)
		assert.InDelta(t, 0, v.TrueTimeError(), 1e-6)
		assert.InDelta(t, 0, v.TrueCookedError(), 1e-6)
		assert.InDelta(t, 0, v.OffsetRegister(), 1e-6)
	}
}

func TestChangeHandlersAndMakeStep(t *testing.T) {
	st := newSimTime()
	v, err := NewVirtual(st.now, 0.3, 0, Options{})
	require.NoError(t, err)
	var changes []Change
	v.AddChangeHandler(func(c Change) { changes = append(changes, c) })
	require.NoError(t, v.AccumulateOffset(0.3, 0))
	require.Len(t, changes, 1)
	assert.Equal(t, ChangeAdjust, changes[0].Type)
	assert.InDelta(t, 0.3, changes[0].DOffset, 1e-12)
	step, err := v.MakeStep()
	require.NoError(t, err)
	assert.InDelta(t, -0.3, step, 1e-6)
	assert.InDelta(t, 0, v.TrueTimeError(), 1e-6)
	assert.Equal(t, 1, v.Kernel.Steps())
	assert.Equal(t, ChangeStep, changes[len(changes)-1].Type)
}

func TestMaxDriftClamp(t *testing.T) {
	st := newSimTime()
	v, err := NewVirtual(st.now, 0, 0, Options{MaxDrift: 100})
	require.NoError(t, err)
	v.SetFrequency(250)
	assert.InDelta(t, 100, v.Frequency(), 1e-4)
}

func TestNoControlCooking(t *testing.T) {
	st := newSimTime()
	n := NewNoControl(st.now, Options{})
	assert.False(t, n.CanSystemLeap())
	n.SetFrequency(100)
	st.advance(10)
	corr, _ := n.OffsetCorrection(n.ReadRaw())
	assert.InDelta(t, -1e-3, corr, 1e-12)
	require.NoError(t, n.AccumulateOffset(0.5, 0))
	raw := n.ReadRaw()
	corr, _ = n.OffsetCorrection(raw)
	assert.InDelta(t, -0.501, corr, 1e-12)
	assert.InDelta(t, corr, n.Correction().At(raw), 1e-12)
	assert.Equal(t, addSeconds(raw, -0.501), n.Cook(raw))
	require.Error(t, n.ApplyStep(1))
	// The raw clock was never touched: raw == true time.
	assert.Equal(t, st.t, n.ReadRaw())
	// Long gaps fold the frequency into the register without changing the result.
	st.advance(5000)
	raw = n.ReadRaw()
	corr, _ = n.OffsetCorrection(raw)
	assert.InDelta(t, -0.5-100e-6*5010, corr, 1e-9)
	assert.InDelta(t, corr, n.Correction().At(raw), 1e-9)
}

func TestPrecision(t *testing.T) {
	tests := []struct {
		in      float64
		want    float64
		wantLog int8
	}{
		{0, 1e-9, -30},
		{1e-6, 1e-6, -20},
		{5, 1, 0},
	}
	for _, tc := range tests {
		q, l := PrecisionFromQuantum(tc.in)
		assert.Equal(t, tc.want, q)
		assert.Equal(t, tc.wantLog, l)
	}
	st := newSimTime()
	read := func() time.Time { st.advance(2e-6); return st.t }
	assert.InDelta(t, 2e-6, MeasurePrecision(read, 1000), 1e-9)
}

func TestSimKernelMaxErrorGrows(t *testing.T) {
	s, rec, st := newRecorded(t, Options{RTCSync: true})
	s.SetSyncStatus(true, 0.001, 0.01)
	status, maxE, _ := rec.Status()
	require.Zero(t, status&unix.STA_UNSYNC)
	require.Equal(t, int64(10000), maxE)
	st.advance(100)
	status, maxE, _ = rec.Status()
	assert.Zero(t, status&unix.STA_UNSYNC)
	assert.Equal(t, int64(60000), maxE)
	// Without updates for ~9 hours the kernel declares itself unsynchronised.
	st.advance(32000)
	status, maxE, _ = rec.Status()
	assert.NotZero(t, status&unix.STA_UNSYNC)
	assert.Equal(t, int64(16000000), maxE)
}

func TestSetSystemLeap(t *testing.T) {
	tests := []struct {
		leap, tai  int
		wantStatus int32
		wantTAI    int32
	}{
		{1, 36, unix.STA_INS, 36},
		{-1, 37, unix.STA_DEL, 37},
		{0, 0, 0, 0},
	}
	for _, tc := range tests {
		s, rec, _ := newRecorded(t, Options{})
		assert.True(t, s.CanSystemLeap())
		s.SetSystemLeap(tc.leap, tc.tai)
		status, _, _ := rec.Status()
		assert.Equal(t, tc.wantStatus, status&(unix.STA_INS|unix.STA_DEL))
		assert.Equal(t, tc.wantTAI, rec.TAI())
	}
}

func TestDeltaFrequencyAndCancel(t *testing.T) {
	st := newSimTime()
	v, err := NewVirtual(st.now, 0.2, 0, Options{})
	require.NoError(t, err)
	var got []Change
	v.AddChangeHandler(func(c Change) { got = append(got, c) })
	v.SetFrequency(10)
	v.AccumulateDeltaFrequency(5e-6)
	assert.InDelta(t, 10+5e-6*(1e6-10), v.Frequency(), 1e-4)
	require.Len(t, got, 2)
	assert.InDelta(t, 5e-6, got[1].DFreq, 1e-9)

	// A fresh clock for the cancel: no frequency correction to drift it.
	v, err = NewVirtual(st.now, 0.2, 0, Options{})
	require.NoError(t, err)
	v.AddChangeHandler(func(c Change) { got = append(got, c) })
	require.NoError(t, v.AccumulateOffset(0.2, 0))
	st.advance(1)
	left := v.OffsetRegister()
	require.Greater(t, left, 0.0)
	v.CancelOffsetCorrection()
	assert.InDelta(t, 0, v.OffsetRegister(), 1e-9)
	// The uncorrected part stays on the clock.
	assert.InDelta(t, left, v.TrueTimeError(), 1e-6)

	var disp []float64
	v.AddDispersionHandler(func(d float64) { disp = append(disp, d) })
	v.NotifyExternalStep(v.ReadRaw(), v.ReadCooked(), 1, 0.01)
	assert.Equal(t, ChangeUnknownStep, got[len(got)-1].Type)
	assert.Contains(t, disp, 0.01)
}

func TestInvalidAdjustments(t *testing.T) {
	st := newSimTime()
	v, err := NewVirtual(st.now, 0, 0, Options{})
	require.NoError(t, err)
	assert.Error(t, v.AccumulateOffset(math.NaN(), 0))
	assert.Error(t, v.ApplyStep(1e10))
	assert.Error(t, v.AccumulateFrequencyAndOffset(0, math.Inf(1), 0))
	assert.Zero(t, v.Kernel.Steps())
}
