package sourcestats

import (
	"math"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
)

// SelectionData is what source selection needs from one source at a given
// time (chrony's SST_GetSelectionData).
type SelectionData struct {
	// Offset is the offset of the best sample extrapolated to now (s).
	Offset float64
	// LoLimit and HiLimit are Offset -/+ RootDistance.
	LoLimit, HiLimit float64
	// RootDistance is the root distance of the best sample at now (s).
	RootDistance float64
	// StdDev is the estimated standard deviation of the samples (s).
	StdDev float64
	// FirstSampleAgo and LastSampleAgo are the ages of the oldest and the
	// newest regression samples at now (s).
	FirstSampleAgo, LastSampleAgo float64
	// Selectable is false while the source has no valid regression.
	Selectable bool
}

// SelectionData returns the selection data of the source at now.
func (s *Stats) SelectionData(now time.Time) SelectionData {
	if s.n == 0 {
		return SelectionData{}
	}
	b := s.active(s.best)
	var d SelectionData
	d.StdDev = s.stdDev
	elapsed := math.Abs(secondsSince(now, b.time))
	d.Offset = b.offset + elapsed*s.freq
	d.RootDistance = 0.5*b.rootDelay + b.rootDispersion + elapsed*s.skew
	d.LoLimit = d.Offset - d.RootDistance
	d.HiLimit = d.Offset + d.RootDistance
	d.FirstSampleAgo = secondsSince(now, s.active(0).time)
	d.LastSampleAgo = secondsSince(now, s.last().time)
	d.Selectable = s.regressionOK

	// With maxsamples too small for a regression, a source is selectable
	// anyway (a fast-update or print-once reference mode).
	if !d.Selectable && s.n < MinSamplesForRegression && s.n == s.opts.MaxSamples {
		d.StdDev = s.opts.MaxJitter
		d.Selectable = true
	}
	return d
}

// TrackingData is what the reference update needs from a source (chrony's
// SST_GetTrackingData).
type TrackingData struct {
	// RefTime is the time the estimated offset refers to (the newest sample).
	RefTime time.Time
	// Offset is the estimated offset at RefTime (s, positive: local ahead).
	Offset float64
	// OffsetSD is the standard deviation of Offset (s).
	OffsetSD float64
	// Frequency is the estimated rate at which the local clock gains on the
	// source (s/s).
	Frequency float64
	// FrequencySD is the standard deviation of Frequency (s/s).
	FrequencySD float64
	// Skew is the error bound of Frequency (s/s).
	Skew float64
	// RootDelay is the root delay of the best sample (s).
	RootDelay float64
	// RootDispersion is the root dispersion of the best sample grown to
	// RefTime plus OffsetSD (s).
	RootDispersion float64
}

// TrackingData returns the tracking data; ok is false without samples.
func (s *Stats) TrackingData() (td TrackingData, ok bool) {
	if s.n == 0 {
		return TrackingData{}, false
	}
	b := s.active(s.best)
	td = TrackingData{
		RefTime:     s.offsetTime,
		Offset:      s.estOffset,
		OffsetSD:    s.estOffsetSD,
		Frequency:   s.freq,
		FrequencySD: s.freqSD,
		Skew:        s.skew,
		RootDelay:   b.rootDelay,
	}
	td.RootDispersion = b.rootDispersion + s.skew*secondsSince(s.offsetTime, b.time) + td.OffsetSD
	return td, true
}

// FrequencyRange returns the assumed bounds of the source's frequency (s/s),
// limited to +/-2000 ppm when the skew is larger than that.
func (s *Stats) FrequencyRange() (lo, hi float64) {
	if s.skew > WorstCaseFreqBound {
		return -WorstCaseFreqBound, WorstCaseFreqBound
	}
	return s.freq - s.skew, s.freq + s.skew
}

// SlewSamples adjusts the history after the local clock was corrected at
// when: the frequency changed by dfreq (s/s) and the offset by doffset (s),
// so that the samples look as if they had been made under the new
// correction (chrony's SST_SlewSamples).
func (s *Stats) SlewSamples(when time.Time, dfreq, doffset float64) {
	if s.n == 0 {
		return
	}
	for i := range s.hist {
		p := &s.hist[i]
		delta := secondsSince(when, p.time)*dfreq - doffset
		p.time = addSeconds(p.time, delta)
		p.offset += delta
	}
	delta := secondsSince(when, s.offsetTime)*dfreq - doffset
	s.offsetTime = addSeconds(s.offsetTime, delta)
	s.estOffset += delta
	s.freq = (s.freq - dfreq) / (1 - dfreq)
}

// CorrectOffset adds doffset (s) to all stored offsets and the estimate.
func (s *Stats) CorrectOffset(doffset float64) {
	if s.n == 0 {
		return
	}
	for i := range s.hist {
		s.hist[i].offset += doffset
	}
	s.estOffset += doffset
}

// AddDispersion adds dispersion (s) to the peer and root dispersions of the
// regression samples, after an unknown error was introduced in the clock.
func (s *Stats) AddDispersion(dispersion float64) {
	for i := 0; i < s.n; i++ {
		p := s.active(i)
		p.rootDispersion += dispersion
		p.peerDispersion += dispersion
	}
}

// PredictOffset returns the offset (chrony's sign) expected at when: the
// regression line, or the last sample while there are fewer than 3 samples,
// or 0 with none.
func (s *Stats) PredictOffset(when time.Time) float64 {
	if s.n < MinSamplesForRegression {
		if s.n > 0 {
			return s.last().offset
		}
		return 0
	}
	return s.estOffset + secondsSince(when, s.offsetTime)*s.freq
}

// MinRoundTripDelay returns the mindelay option if set, or the smallest
// stored peer delay, or math.MaxFloat64 without samples (s).
func (s *Stats) MinRoundTripDelay() float64 {
	if s.opts.MinDelay > 0 {
		return s.opts.MinDelay
	}
	if s.n == 0 {
		return math.MaxFloat64
	}
	return s.hist[s.minDelay].peerDelay
}

// DelayTestData is the input of ntp_core's maxdelayratio and
// maxdelaydevratio tests.
type DelayTestData struct {
	// LastSampleAgo is the time from the estimate's reference time to the
	// new sample's time (s).
	LastSampleAgo float64
	// PredictedOffset is the offset predicted at the new sample's time (s).
	PredictedOffset float64
	// MinDelay is MinRoundTripDelay (s).
	MinDelay float64
	// Skew (s/s) and StdDev (s) are the current estimates.
	Skew, StdDev float64
}

// DelayTestData returns the data for the delay tests of a sample made at
// sampleTime; ok is false with fewer than 6 samples (tests then pass).
func (s *Stats) DelayTestData(sampleTime time.Time) (d DelayTestData, ok bool) {
	if s.n < minDelayTestSamples {
		return DelayTestData{}, false
	}
	ago := secondsSince(sampleTime, s.offsetTime)
	return DelayTestData{
		LastSampleAgo:   ago,
		PredictedOffset: s.estOffset + ago*s.freq,
		MinDelay:        s.MinRoundTripDelay(),
		Skew:            s.skew,
		StdDev:          s.stdDev,
	}, true
}

// JitterAsymmetry returns the asymmetry currently used to correct offsets
// (chronyc ntpdata's "Jitter asymmetry").
func (s *Stats) JitterAsymmetry() float64 { return s.asymmetry }

// PollAdjustment returns the poll adjustment hint of ntp_core for a new
// sample: when the prediction error exceeds the sample's peer distance the
// polling backs off by log2 of their ratio, otherwise it steers the number
// of samples towards pollTarget (shortening twice as fast). Call it after
// PredictOffset and before AccumulateSample, as chronyd does.
func (s *Stats) PollAdjustment(errorInEstimate, peerDistance float64, pollTarget int) float64 {
	if errorInEstimate > peerDistance {
		return -math.Log2(errorInEstimate / peerDistance)
	}
	target := float64(max(pollTarget, 1))
	adj := (float64(s.n)/target - 1) / target
	if float64(s.n) < target {
		adj *= 2
	}
	return adj
}

// SamplesAfter returns how many samples the history would hold once sample
// was accumulated and the regression had dropped the samples the runs test
// rejects, without changing the history. chronyd adjusts a source's polling
// interval with this count (ntp_core's get_poll_adj runs after
// SRC_AccumulateSample), so a caller that must decide the next poll before
// the sample is delivered uses it instead of Samples()+1, which ignores the
// samples the regression drops.
func (s *Stats) SamplesAfter(sample discipline.Sample) int {
	c := *s
	c.hist = append([]point(nil), s.hist...)
	c.bufTimes, c.bufOffsets, c.bufWeights, c.bufDist, c.bufDelays = nil, nil, nil, nil, nil
	c.AccumulateSample(sample)
	c.DoNewRegression()
	return c.n
}

// LastSample describes the newest sample for chronyc sources.
type LastSample struct {
	// Offset is the sample's offset adjusted for later clock slews (s).
	Offset float64
	// OrigOffset is the offset as measured (s).
	OrigOffset float64
	// Error is the sample's root distance: half root delay plus root
	// dispersion (the "+/-" column, s).
	Error float64
	// Ago is the age of the sample (LastRx, s).
	Ago float64
}

// LastSample returns the newest sample at now; ok is false without samples.
// With truncate (NTP sources), the sample time is cut to whole seconds as
// chronyd does to avoid leaking the receive timestamp.
func (s *Stats) LastSample(now time.Time, truncate bool) (ls LastSample, ok bool) {
	if s.n == 0 {
		return LastSample{}, false
	}
	p := s.last()
	t := p.time
	if truncate {
		t = time.Unix(t.Unix(), 0)
	}
	return LastSample{
		Offset:     p.offset,
		OrigOffset: p.origOffset,
		Error:      0.5*p.rootDelay + p.rootDispersion,
		Ago:        secondsSince(now, t),
	}, true
}

// Report holds the figures of one chronyc sourcestats line.
type Report struct {
	// NP is the number of samples in the regression.
	NP int
	// NR is the number of runs of residuals with the same sign.
	NR int
	// Span is the interval between the oldest and the newest sample, rounded
	// to whole seconds.
	Span int64
	// FrequencyPPM is the estimated residual frequency (ppm).
	FrequencyPPM float64
	// SkewPPM is the frequency's error bound (ppm).
	SkewPPM float64
	// Offset is the estimated offset at now (s).
	Offset float64
	// OffsetErr is the estimated error of Offset (s).
	OffsetErr float64
	// StdDev is the estimated standard deviation of the samples (s).
	StdDev float64
}

// Report returns the sourcestats figures at now.
func (s *Stats) Report(now time.Time) Report {
	r := Report{
		NP:           s.n,
		NR:           s.nruns,
		FrequencyPPM: 1e6 * s.freq,
		SkewPPM:      1e6 * s.skew,
		StdDev:       s.stdDev,
	}
	if s.n > 0 {
		b := s.active(s.best)
		r.Span = int64(math.Round(DiffSeconds(s.last().time, s.active(0).time)))
		r.Offset = s.estOffset + secondsSince(now, s.offsetTime)*s.freq
		r.OffsetErr = s.estOffsetSD + secondsSince(now, b.time)*s.skew +
			(0.5*b.rootDelay + b.rootDispersion)
	}
	return r
}
