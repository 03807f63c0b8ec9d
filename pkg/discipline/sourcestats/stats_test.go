package sourcestats

import (
	"bufio"
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const interval = 64.0

// sampleAt builds the k-th sample of a series polled every 64 s.
func sampleAt(k int, offset, delay float64) discipline.Sample {
	return discipline.Sample{
		Time:           t0.Add(time.Duration(float64(k) * interval * float64(time.Second))),
		Offset:         offset,
		PeerDelay:      delay,
		PeerDispersion: 1e-6,
		RootDelay:      delay,
		RootDispersion: 1e-5,
		Stratum:        1,
	}
}

// feed adds n samples on the line offset0 + freq*t with alternating noise.
func feed(s *Stats, n int, offset0, freq, noise float64) {
	for k := 0; k < n; k++ {
		off := offset0 + freq*float64(k)*interval
		if k%2 == 0 {
			off += noise
		} else {
			off -= noise
		}
		s.AccumulateSample(sampleAt(k, off, 1e-3))
		s.DoNewRegression()
	}
}

func TestStatsLine(t *testing.T) {
	s := New(DefaultOptions())
	feed(s, 10, 1e-3, 1e-5, 1e-6)
	require.True(t, s.RegressionOK())

	last := t0.Add(9 * 64 * time.Second)
	r := s.Report(last)
	assert.Equal(t, 10, r.NP)
	assert.Equal(t, 10, r.NR)
	assert.Equal(t, int64(576), r.Span)
	assert.InDelta(t, 10, r.FrequencyPPM, 0.01)
	assert.InDelta(t, 1e-3+1e-5*576, r.Offset, 2e-6)
	assert.InDelta(t, 1e-6, r.StdDev, 5e-7)
	assert.Greater(t, r.SkewPPM, 0.0)
	assert.Less(t, r.SkewPPM, 0.1)

	// The estimate moves with the frequency.
	later := last.Add(100 * time.Second)
	want := r.Offset + r.FrequencyPPM*1e-6*100
	assert.InDelta(t, want, s.PredictOffset(later), 1e-12)
	assert.InDelta(t, want, s.Report(later).Offset, 1e-12)
}

func TestStatsTooFewSamples(t *testing.T) {
	s := New(DefaultOptions())
	assert.Equal(t, 0.0, s.PredictOffset(t0))
	assert.False(t, s.SelectionData(t0).Selectable)
	_, ok := s.TrackingData()
	assert.False(t, ok)

	s.AccumulateSample(sampleAt(0, 0.25, 1e-3))
	s.DoNewRegression()
	s.AccumulateSample(sampleAt(1, 0.5, 1e-3))
	s.DoNewRegression()
	assert.False(t, s.RegressionOK())
	assert.Equal(t, 0.5, s.PredictOffset(t0.Add(time.Hour)))
	sd := s.SelectionData(t0.Add(128 * time.Second))
	assert.False(t, sd.Selectable)
	r := s.Report(t0)
	assert.Equal(t, WorstCaseFreqBound*1e6, r.SkewPPM)
	assert.Equal(t, WorstCaseStdDevBound, r.StdDev)
	assert.Equal(t, 0, r.NR)
}

func TestStatsMaxSamples(t *testing.T) {
	opts := DefaultOptions()
	opts.MaxSamples = 4
	opts.MinSamples = 0
	s := New(opts)
	feed(s, 12, 0, 0, 1e-6)
	assert.LessOrEqual(t, s.Samples(), 4)
	assert.Equal(t, 4, s.Options().MaxSamples)
	assert.Equal(t, 1, s.MinSamples())
}

func TestStatsMaxSamplesTooSmallIsSelectable(t *testing.T) {
	opts := DefaultOptions()
	opts.MaxSamples = 1
	opts.MaxJitter = 0.25
	s := New(opts)
	s.AccumulateSample(sampleAt(0, 0.1, 2e-3))
	s.DoNewRegression()
	sd := s.SelectionData(t0)
	assert.True(t, sd.Selectable)
	assert.Equal(t, 0.25, sd.StdDev)
	assert.InDelta(t, 0.1, sd.Offset, 1e-12)
}

func TestStatsOutOfOrderResets(t *testing.T) {
	s := New(DefaultOptions())
	feed(s, 5, 0, 0, 1e-6)
	assert.False(t, s.AccumulateSample(sampleAt(5, 0, 1e-3)))
	assert.True(t, s.AccumulateSample(sampleAt(2, 0, 1e-3)))
	assert.Equal(t, 1, s.Samples())
}

func TestStatsFrequencyChangeDropsOldSamples(t *testing.T) {
	s := New(DefaultOptions())
	// 16 samples at frequency 0 then 16 at 1 ppm with 100 ns noise: the
	// runs test drops the old ones.
	for k := 0; k < 32; k++ {
		off := 0.0
		if k >= 16 {
			off = 1e-6 * float64(k-16) * interval
		}
		if k%2 == 0 {
			off += 1e-7
		} else {
			off -= 1e-7
		}
		s.AccumulateSample(sampleAt(k, off, 1e-3))
		s.DoNewRegression()
	}
	assert.Less(t, s.Samples(), 24)
	r := s.Report(t0)
	assert.InDelta(t, 1.0, r.FrequencyPPM, 0.05)
}

func TestStatsWeightsReduceOutlierWithLargeDelay(t *testing.T) {
	run := func(outlierDelay float64) float64 {
		s := New(DefaultOptions())
		for k := 0; k < 12; k++ {
			off, delay := 0.0, 1e-3
			if k%2 == 1 {
				off = 1e-6
			}
			if k == 11 {
				off, delay = 5e-3, outlierDelay
			}
			s.AccumulateSample(sampleAt(k, off, delay))
			s.DoNewRegression()
		}
		td, ok := s.TrackingData()
		require.True(t, ok)
		return td.Offset
	}
	sameDelay := run(1e-3)
	largeDelay := run(20e-3)
	assert.Greater(t, sameDelay, 1e-3, "an outlier with normal delay pulls the estimate")
	assert.Less(t, largeDelay, sameDelay/5, "a long-delay outlier must be weighted down")
}

func TestStatsSelectionAndTrackingData(t *testing.T) {
	s := New(DefaultOptions())
	feed(s, 8, 2e-3, 0, 1e-6)
	last := t0.Add(7 * 64 * time.Second)
	now := last.Add(10 * time.Second)

	sd := s.SelectionData(now)
	require.True(t, sd.Selectable)
	b := s.active(s.best)
	elapsed := now.Sub(b.time).Seconds()
	wantDist := 0.5*1e-3 + 1e-5 + elapsed*s.skew
	assert.InDelta(t, wantDist, sd.RootDistance, 1e-12)
	assert.InDelta(t, sd.Offset-wantDist, sd.LoLimit, 1e-12)
	assert.InDelta(t, sd.Offset+wantDist, sd.HiLimit, 1e-12)
	assert.InDelta(t, 7*64+10, sd.FirstSampleAgo, 1e-9)
	assert.InDelta(t, 10, sd.LastSampleAgo, 1e-9)

	td, ok := s.TrackingData()
	require.True(t, ok)
	assert.Equal(t, last, td.RefTime)
	assert.InDelta(t, 2e-3, td.Offset, 2e-6)
	assert.InDelta(t, 1e-3, td.RootDelay, 1e-12)
	assert.InDelta(t, 1e-5+s.skew*last.Sub(b.time).Seconds()+td.OffsetSD, td.RootDispersion, 1e-12)

	ls, ok := s.LastSample(now.Add(500*time.Millisecond), true)
	require.True(t, ok)
	assert.InDelta(t, 10.5, ls.Ago, 1e-9)
	assert.InDelta(t, 0.5e-3+1e-5, ls.Error, 1e-12)
}

func TestStatsSlewSamples(t *testing.T) {
	s := New(DefaultOptions())
	feed(s, 8, 2e-3, 3e-6, 1e-7)
	when := t0.Add(8 * 64 * time.Second)
	before := s.PredictOffset(when)
	freqBefore := s.Report(when).FrequencyPPM

	// The clock was slowed by 1 ppm and stepped back by 1 ms at when.
	s.SlewSamples(when, 1e-6, 1e-3)
	// Second-order terms (offset times frequency change) remain.
	assert.InDelta(t, before-1e-3, s.PredictOffset(when), 5e-9)
	assert.InDelta(t, (freqBefore*1e-6-1e-6)/(1-1e-6)*1e6, s.Report(when).FrequencyPPM, 1e-9)

	s.CorrectOffset(5e-4)
	assert.InDelta(t, before-5e-4, s.PredictOffset(when), 5e-9)
}

func TestStatsAddDispersion(t *testing.T) {
	s := New(DefaultOptions())
	feed(s, 6, 0, 0, 1e-7)
	now := t0.Add(5 * 64 * time.Second)
	d0 := s.SelectionData(now).RootDistance
	s.AddDispersion(0.5)
	assert.InDelta(t, d0+0.5, s.SelectionData(now).RootDistance, 1e-12)
}

func TestStatsMinDelayAndDelayTest(t *testing.T) {
	s := New(DefaultOptions())
	assert.Equal(t, math.MaxFloat64, s.MinRoundTripDelay())
	for k, d := range []float64{3e-3, 1e-3, 2e-3, 4e-3, 5e-3} {
		s.AccumulateSample(sampleAt(k, 0, d))
		s.DoNewRegression()
	}
	assert.Equal(t, 1e-3, s.MinRoundTripDelay())
	_, ok := s.DelayTestData(t0)
	assert.False(t, ok, "needs 6 samples")
	s.AccumulateSample(sampleAt(5, 0, 2e-3))
	s.DoNewRegression()
	d, ok := s.DelayTestData(t0.Add(6 * 64 * time.Second))
	require.True(t, ok)
	assert.Equal(t, 1e-3, d.MinDelay)
	assert.InDelta(t, 64, d.LastSampleAgo, 1e-9)

	opts := DefaultOptions()
	opts.MinDelay = 0.5e-3
	fixed := New(opts)
	assert.Equal(t, 0.5e-3, fixed.MinRoundTripDelay())
}

func TestPollAdjustment(t *testing.T) {
	s := New(DefaultOptions())
	feed(s, 4, 0, 0, 1e-7)
	tests := []struct {
		name         string
		err, dist    float64
		target, want float64
	}{
		{"bad prediction backs off", 4e-3, 1e-3, 8, -2},
		{"fewer samples than target shortens twice as fast", 0, 1e-3, 8, 2 * (4.0/8 - 1) / 8},
		{"more samples than target lengthens", 0, 1e-3, 2, (4.0/2 - 1) / 2},
	}
	for _, tc := range tests {
		assert.InDelta(t, tc.want, s.PollAdjustment(tc.err, tc.dist, int(tc.target)), 1e-12, tc.name)
	}
}

func TestDumpRoundTrip(t *testing.T) {
	s := New(DefaultOptions())
	feed(s, 10, 1e-3, 2e-6, 1e-6)
	var buf bytes.Buffer
	require.NoError(t, s.SaveTo(&buf))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 11)
	assert.Equal(t, "10 0", lines[0])
	assert.Regexp(t, `^\d+\.\d{9} -?\d\.\d{6}e[-+]\d\d( -?\d\.\d{6}e[-+]\d\d){5}$`, lines[1])

	now := t0.Add(time.Hour)
	loaded := New(DefaultOptions())
	require.NoError(t, loaded.LoadFrom(bufio.NewReader(&buf), now))
	want, got := s.Report(now), loaded.Report(now)
	assert.Equal(t, want.NP, got.NP)
	assert.Equal(t, want.Span, got.Span)
	assert.InDelta(t, want.FrequencyPPM, got.FrequencyPPM, 1e-3)
	assert.InDelta(t, want.Offset, got.Offset, 1e-8)

	assert.ErrorIs(t, New(DefaultOptions()).SaveTo(&buf), ErrNoSamples)
}

func TestDumpLoadRejects(t *testing.T) {
	now := t0.Add(time.Hour)
	good := "1795600000.000000000 1.0e-03 1.0e-03 1.0e-03 1.0e-06 1.0e-03 1.0e-05\n"
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"bad count", "0 0\n"},
		{"too many", "65 0\n"},
		{"missing sample", "2 0\n" + good},
		{"short line", "1 0\n1795600000.0 1e-3\n"},
		{"future sample", "1 0\n1795700000.000000000 1e-3 1e-3 1e-3 1e-6 1e-3 1e-5\n"},
		{"out of order", "2 0\n" + good + good},
		{"insane delay", "1 0\n1795600000.0 1e-3 1e-3 1e7 1e-6 1e-3 1e-5\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(DefaultOptions())
			feed(s, 4, 0, 0, 1e-7)
			assert.Error(t, s.LoadFrom(bufio.NewReader(strings.NewReader(tc.in)), now))
			assert.Equal(t, 0, s.Samples(), "a failed load leaves the stats reset")
		})
	}
	s := New(DefaultOptions())
	require.NoError(t, s.LoadFrom(bufio.NewReader(strings.NewReader("1 5\n"+good)), now))
	assert.Equal(t, 1, s.Samples())
}

func TestStatisticsRecord(t *testing.T) {
	s := New(DefaultOptions())
	feed(s, 2, 0, 0, 1e-6)
	_, ok := s.LastStatistics()
	assert.False(t, ok, "no regression with two samples")
	feed(s, 4, 1e-3, 0, 1e-6) // restarts the series: the history is reset first
	rec, ok := s.LastStatistics()
	require.True(t, ok)
	assert.Equal(t, 4, rec.Samples)
	line := rec.Line("203.0.113.1")
	assert.Regexp(t, `^2026-11-25 12:03:12 203\.0\.113\.1    ( [ -]\d\.\d{3}e[-+]\d\d){5} \d\.\de[-+]\d\d   4   0   4  0\.00$`, line)
	assert.Len(t, line, len(StatisticsLogHeader), "the columns line up with the header")
}

func TestStatsSamplesAfterPredictsPrunedCount(t *testing.T) {
	// stepSeries returns sample k of a series whose frequency jumps from 0
	// to 1 ppm at sample jump, with ±100 ns noise.
	stepSeries := func(jump int) func(k int) discipline.Sample {
		return func(k int) discipline.Sample {
			off := 0.0
			if k >= jump {
				off = 1e-6 * float64(k-jump) * interval
			}
			if k%2 == 0 {
				off += 1e-7
			} else {
				off -= 1e-7
			}
			return sampleAt(k, off, 1e-3)
		}
	}
	tests := []struct {
		name      string
		held      int
		series    func(k int) discipline.Sample
		wantLess  bool // fewer than Samples()+1: the regression drops some
		wantAfter int  // exact count, when not zero
	}{
		{"empty history", 0, stepSeries(100), false, 1},
		{"too few for a regression", 2, stepSeries(100), false, 3},
		{"steady line keeps all", 10, stepSeries(100), false, 11},
		{"frequency change drops old samples", 13, stepSeries(12), true, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(DefaultOptions())
			for k := 0; k < tc.held; k++ {
				s.AccumulateSample(tc.series(k))
				s.DoNewRegression()
			}
			before := s.Samples()
			beforeReport := s.Report(t0)
			next := tc.series(tc.held)

			got := s.SamplesAfter(next)

			// The history is untouched.
			assert.Equal(t, before, s.Samples())
			assert.Equal(t, beforeReport, s.Report(t0))
			if tc.wantAfter != 0 {
				assert.Equal(t, tc.wantAfter, got)
			}
			if tc.wantLess {
				assert.Less(t, got, before+1)
			}
			// It is what accumulating and regressing really gives.
			s.AccumulateSample(next)
			s.DoNewRegression()
			assert.Equal(t, s.Samples(), got)
		})
	}
}
