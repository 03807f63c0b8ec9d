package clock

import (
	"math"
	"time"
)

// freqDriver is what the slewing layer needs from the hardware-facing driver
// (chronyd's sys_timex/sys_linux under sys_generic).
type freqDriver interface {
	readRaw() time.Time
	readFrequency() float64
	setFrequency(ppm float64) float64
	applyStep(offset float64) error
	canLeap() bool
	setLeap(leap, taiOffset int)
	setSyncStatus(synchronised bool, estError, maxError float64)
}

// Slew tuning of chronyd's generic driver.
const (
	minOffsetCorrection       = 1e-9
	minSlewDuration           = 1.0
	maxSlewDuration           = 1e4
	maxSlewExcessDuration     = 100.0
	minSlewDurationExcessRate = 5.0
	slewExcessDurationDecay   = 0.9
)

// slewer corrects offsets by running the clock at a temporarily changed
// frequency, as chronyd's sys_generic does. It is a driver for Local.
type slewer struct {
	hw                 freqDriver
	local              *Local
	baseFreq           float64 // ppm requested by Local
	maxFreq            float64 // ppm settable by hw
	maxFreqChangeDelay float64 // s
	maxCorrFreq        float64 // s/s (maxslewrate)
	offsetRegister     float64 // s still to correct
	slewFreq           float64 // s/s, relative to the real frequency
	slewStart          time.Time
	slewEnd            time.Time
	slewDuration       float64
	slewExcessDuration float64
	correctionRate     float64
	slewError          float64
	timeoutArmed       bool
}

func newSlewer(hw freqDriver, local *Local, maxSetFreqPPM, maxSetFreqDelay, maxSlewRatePPM float64) *slewer {
	s := &slewer{
		hw:                 hw,
		local:              local,
		maxFreq:            maxSetFreqPPM,
		maxFreqChangeDelay: maxSetFreqDelay * (1 + maxSetFreqPPM/1e6),
		maxCorrFreq:        maxSlewRatePPM / 1e6,
	}
	s.baseFreq = hw.readFrequency()
	s.slewStart = hw.readRaw()
	return s
}

func (s *slewer) clampFreq(f float64) float64 {
	return math.Max(-s.maxFreq, math.Min(f, s.maxFreq))
}

// update ends the running slew and starts a new one.
func (s *slewer) update() {
	now := s.hw.readRaw()
	duration := diffSeconds(now, s.slewStart)
	s.offsetRegister -= s.slewFreq * duration

	s.slewExcessDuration = (s.slewExcessDuration + 1e-9) * slewExcessDurationDecay
	excess := duration - s.slewDuration
	if s.slewExcessDuration < excess && excess <= maxSlewExcessDuration {
		s.slewExcessDuration = excess
	}

	if math.Abs(s.offsetRegister) < minOffsetCorrection {
		duration = maxSlewDuration
	} else {
		duration = s.correctionRate / math.Abs(s.offsetRegister)
		duration = math.Max(duration, minSlewDuration)
		duration = math.Max(duration, minSlewDurationExcessRate*s.slewExcessDuration)
	}

	corrFreq := math.Max(-s.maxCorrFreq, math.Min(s.offsetRegister/duration, s.maxCorrFreq))
	total := s.clampFreq(s.baseFreq + corrFreq*(1e6-s.baseFreq))
	total = s.hw.setFrequency(total)

	old := s.slewFreq
	s.slewFreq = (total - s.baseFreq) / (1e6 - total)
	s.slewError = math.Abs((old - s.slewFreq) * s.maxFreqChangeDelay)
	if s.slewError >= minOffsetCorrection && s.local != nil {
		s.local.notifyDispersion(s.slewError)
	}

	if math.Abs(s.offsetRegister) < minOffsetCorrection || s.offsetRegister*s.slewFreq <= 0 {
		duration = maxSlewDuration
	} else {
		duration = math.Max(minSlewDuration, math.Min(s.offsetRegister/s.slewFreq, maxSlewDuration))
	}
	s.slewStart = now
	s.slewDuration = duration
	s.slewEnd = addSeconds(now, duration)
	s.timeoutArmed = true
}

func (s *slewer) readRaw() time.Time     { return s.hw.readRaw() }
func (s *slewer) readFrequency() float64 { return s.baseFreq }

func (s *slewer) setFrequency(ppm float64) float64 {
	s.baseFreq = ppm
	s.update()
	return s.baseFreq
}

func (s *slewer) accrueOffset(offset, corrRate float64) {
	s.offsetRegister += offset
	s.correctionRate = corrRate
	s.update()
}

func (s *slewer) applyStep(offset float64) error { return s.hw.applyStep(offset) }

// stepped moves the slew's start with the clock, as chronyd's step handler.
func (s *slewer) stepped(offset float64) {
	s.slewStart = addSeconds(s.slewStart, -offset)
	s.slewEnd = addSeconds(s.slewEnd, -offset)
}

func (s *slewer) offsetCorrection(raw time.Time) (float64, float64) {
	duration := diffSeconds(raw, s.slewStart)
	corr := s.slewFreq*duration - s.offsetRegister
	errBound := 0.0
	if math.Abs(duration) <= s.maxFreqChangeDelay {
		errBound = s.slewError
	}
	return corr, errBound
}

func (s *slewer) correction() Correction {
	return Correction{Base: s.slewStart, Offset: -s.offsetRegister, Freq: s.slewFreq}
}

func (s *slewer) canLeap() bool               { return s.hw.canLeap() }
func (s *slewer) setLeap(leap, taiOffset int) { s.hw.setLeap(leap, taiOffset) }

func (s *slewer) setSyncStatus(synchronised bool, estError, maxError float64) {
	offset := math.Abs(s.offsetRegister)
	estError = math.Max(estError, offset)
	s.hw.setSyncStatus(synchronised, estError, maxError+offset)
}

func (s *slewer) nextTimeout() (time.Time, bool) { return s.slewEnd, s.timeoutArmed }

func (s *slewer) handleTimeout() {
	s.timeoutArmed = false
	s.update()
}

// close leaves no slew running: the base frequency stays set.
func (s *slewer) close() {
	s.timeoutArmed = false
	s.hw.setFrequency(s.clampFreq(s.baseFreq))
}
