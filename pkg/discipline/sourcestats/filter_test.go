package sourcestats

import (
	"math"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func filterSample(k int, offset, disp float64) discipline.Sample {
	return discipline.Sample{
		Time:           t0.Add(time.Duration(k) * 2 * time.Second),
		Offset:         offset,
		PeerDelay:      1e-3 * float64(k+1),
		PeerDispersion: disp,
		RootDelay:      2e-3,
		RootDispersion: disp,
	}
}

func ntpFilter(length int) *Filter {
	return NewFilter(FilterOptions{MinSamples: 1, MaxSamples: length, MaxDispersion: NTPMaxDispersion})
}

func TestFilterMedianOfFive(t *testing.T) {
	f := ntpFilter(5)
	for k, off := range []float64{1e-3, 2e-3, 100e-3, 3e-3, 4e-3} {
		require.True(t, f.Accumulate(filterSample(k, off, 1e-6)))
	}
	assert.Equal(t, 5, f.Len())
	s, ok := f.Filtered()
	require.True(t, ok)
	// Only the median sample (3 ms, the 4th) is kept with combine ratio 0.
	assert.Equal(t, 3e-3, s.Offset)
	assert.Equal(t, filterSample(3, 0, 0).Time, s.Time)
	assert.InDelta(t, 4e-3, s.PeerDelay, 1e-15)
	assert.Equal(t, 0, f.Len())
	last, ok := f.LastSample()
	require.True(t, ok)
	assert.Equal(t, 4e-3, last.Offset, "the last sample survives the filtering")
}

func TestFilterCombineRatio(t *testing.T) {
	f := NewFilter(FilterOptions{MinSamples: 1, MaxSamples: 6, CombineRatio: 0.6})
	offs := []float64{-50e-3, 1e-3, 2e-3, 3e-3, 4e-3, 50e-3}
	for k, off := range offs {
		f.Accumulate(filterSample(k, off, 1e-6))
	}
	s, ok := f.Filtered()
	require.True(t, ok)
	// from = int(6*0.4/2) = 1: the four middle samples are averaged.
	assert.InDelta(t, 2.5e-3, s.Offset, 1e-12)
	// Their mean time is sample 2.5.
	assert.Equal(t, t0.Add(5*time.Second), s.Time)
	assert.InDelta(t, 3.5e-3, s.PeerDelay, 1e-12)
	assert.GreaterOrEqual(t, s.PeerDispersion, 1e-6)
}

func TestFilterRejects(t *testing.T) {
	f := ntpFilter(3)
	require.True(t, f.Accumulate(filterSample(1, 0, 1e-6)))
	assert.False(t, f.Accumulate(filterSample(1, 0, 1e-6)), "not newer")
	_, ok := NewFilter(FilterOptions{MinSamples: 2, MaxSamples: 3}).Filtered()
	assert.False(t, ok, "too few samples")

	wild := NewFilter(FilterOptions{MinSamples: 1, MaxSamples: 3, MaxDispersion: 1e-3})
	for k, off := range []float64{-1, 0, 1} {
		wild.Accumulate(filterSample(k, off, 1e-6))
	}
	_, ok = wild.Filtered()
	// Three samples, from = 1: one is used, with the average variance.
	assert.True(t, ok)
	wide := NewFilter(FilterOptions{MinSamples: 1, MaxSamples: 2, MaxDispersion: 1e-3})
	wide.Accumulate(filterSample(0, -1, 1e-6))
	wide.Accumulate(filterSample(1, 1, 1e-6))
	_, ok = wide.Filtered()
	assert.False(t, ok, "spread larger than the maximum dispersion")
}

func TestFilterRingWrapsInTimeOrder(t *testing.T) {
	f := ntpFilter(4)
	for k := 0; k < 7; k++ {
		f.Accumulate(filterSample(k, float64(k)*1e-3, 1e-6))
	}
	assert.Equal(t, 4, f.Len())
	s, ok := f.Filtered()
	require.True(t, ok)
	// Samples 3..6 remain; from = clamp(int(4*0.5),1,1) = 1: samples 4 and 5.
	assert.InDelta(t, 4.5e-3, s.Offset, 1e-12)
	assert.Equal(t, t0.Add(9*time.Second), s.Time)
}

func TestFilterSlewAndDispersion(t *testing.T) {
	f := ntpFilter(2)
	f.Accumulate(filterSample(0, 1e-3, 1e-6))
	f.Accumulate(filterSample(1, 1e-3, 1e-6))
	when := filterSample(1, 0, 0).Time
	f.SlewSamples(when, 0, 1e-3)
	f.CorrectOffset(2e-4)
	f.AddDispersion(1e-6)
	s, ok := f.Filtered()
	require.True(t, ok)
	assert.InDelta(t, 2e-4, s.Offset, 1e-12)
	assert.GreaterOrEqual(t, s.PeerDispersion, 2e-6-1e-15)
	assert.InDelta(t, 1e-9, NewFilter(FilterOptions{}).AvgSampleDispersion(), 1e-15)
	assert.False(t, math.IsNaN(f.AvgSampleDispersion()))
	f.Drop()
	_, ok = f.LastSample()
	assert.False(t, ok)
}
