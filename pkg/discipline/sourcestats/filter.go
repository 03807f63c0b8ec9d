package sourcestats

import (
	"math"
	"sort"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
)

// Limits of the filter length (chrony's samplefilt).
const (
	filterMinSamples = 1
	filterMaxSamples = 256
)

// NTPMaxDispersion is the largest dispersion of a filtered NTP sample (s),
// the MaxDispersion chronyd gives the filter of NTP sources.
const NTPMaxDispersion = 16.0

// FilterOptions configures a Filter.
type FilterOptions struct {
	// MinSamples is how many samples a filtered sample needs (NTP: 1).
	MinSamples int
	// MaxSamples is the filter length (the filter source option).
	MaxSamples int
	// MaxDispersion drops filtered samples whose standard deviation is
	// larger (s); 0 disables the check. NTP sources use NTPMaxDispersion.
	MaxDispersion float64
	// CombineRatio is the fraction of samples around the median that are
	// combined (NTP: 0, meaning only the median ones; refclocks: 0.6).
	CombineRatio float64
	// Precision is the clock precision quantum (s), the first estimate of
	// the sample standard deviation.
	Precision float64
}

// Filter is the median filter of the filter source option (chrony's
// samplefilt): it collects samples and combines those closest to the
// median into one. Offsets use chrony's sign as discipline.Sample.
type Filter struct {
	minSamples, maxSamples int
	maxVar                 float64
	combineRatio           float64

	samples []discipline.Sample // ring of maxSamples
	index   int                 // newest sample in the ring, -1 when empty
	used    int
	last    int // index of the last accumulated sample, kept after a drop
	avgVar  float64
	avgVarN int
}

// NewFilter creates a filter.
func NewFilter(opts FilterOptions) *Filter {
	minS := min(max(opts.MinSamples, filterMinSamples), filterMaxSamples)
	maxS := min(max(opts.MaxSamples, filterMinSamples), filterMaxSamples)
	maxS = max(minS, maxS)
	precision := opts.Precision
	if precision <= 0 {
		precision = 1e-9
	}
	return &Filter{
		minSamples:   minS,
		maxSamples:   maxS,
		maxVar:       opts.MaxDispersion * opts.MaxDispersion,
		combineRatio: clamp(opts.CombineRatio, 0, 1),
		samples:      make([]discipline.Sample, maxS),
		index:        -1,
		last:         -1,
		avgVar:       precision * precision,
	}
}

// Accumulate adds a sample; it returns false (and ignores the sample) when
// the sample is not newer than the previous one.
func (f *Filter) Accumulate(s discipline.Sample) bool {
	if f.used > 0 && !f.samples[f.last].Time.Before(s.Time) {
		return false
	}
	f.index = (f.index + 1) % f.maxSamples
	f.last = f.index
	if f.used < f.maxSamples {
		f.used++
	}
	f.samples[f.index] = s
	return true
}

// LastSample returns the newest accumulated sample, also after a filtered
// sample was produced; ok is false when there never was one.
func (f *Filter) LastSample() (s discipline.Sample, ok bool) {
	if f.last < 0 {
		return discipline.Sample{}, false
	}
	return f.samples[f.last], true
}

// Len returns the number of samples waiting in the filter.
func (f *Filter) Len() int { return f.used }

// MaxSamples returns the filter length.
func (f *Filter) MaxSamples() int { return f.maxSamples }

// AvgSampleDispersion returns the long-term average standard deviation of
// the samples (s).
func (f *Filter) AvgSampleDispersion() float64 { return math.Sqrt(f.avgVar) }

// Drop discards the waiting samples and the last sample.
func (f *Filter) Drop() { f.drop(false) }

func (f *Filter) drop(keepLast bool) {
	f.index = -1
	f.used = 0
	if !keepLast {
		f.last = -1
	}
}

// Filtered combines the waiting samples into one and empties the filter; ok
// is false when there are too few samples or the result's dispersion is
// larger than the maximum.
func (f *Filter) Filtered() (s discipline.Sample, ok bool) {
	sel := f.selectSamples()
	if len(sel) == 0 {
		return discipline.Sample{}, false
	}
	s, ok = f.combine(sel)
	if !ok {
		return discipline.Sample{}, false
	}
	f.drop(true)
	return s, true
}

// selectSamples returns the indices of the samples closest to the median
// offset, in time order.
func (f *Filter) selectSamples() []int {
	if f.used < f.minSamples {
		return nil
	}
	var sel []int
	// With more than 4 samples prefer those with small dispersion.
	if f.used > 4 {
		minDisp := f.samples[0].PeerDispersion
		for i := 1; i < f.used; i++ {
			minDisp = math.Min(minDisp, f.samples[i].PeerDispersion)
		}
		for i := 0; i < f.used; i++ {
			if f.samples[i].PeerDispersion <= 1.5*minDisp {
				sel = append(sel, i)
			}
		}
	}
	if len(sel) < 4 {
		sel = sel[:0]
		for i := 0; i < f.used; i++ {
			sel = append(sel, i)
		}
	}
	sort.SliceStable(sel, func(a, b int) bool {
		return f.samples[sel[a]].Offset < f.samples[sel[b]].Offset
	})
	j := len(sel)
	from := 0
	if j > 2 {
		from = int(float64(j) * (1 - f.combineRatio) / 2)
		from = min(max(from, 1), (j-1)/2)
	}
	kept := append([]int(nil), sel[from:j-from]...)
	// Order by time: ring position relative to the oldest sample.
	age := func(i int) int { return (i - f.index - 1 + 2*f.used) % f.used }
	if f.used < f.maxSamples {
		age = func(i int) int { return i }
	}
	sort.Slice(kept, func(a, b int) bool { return age(kept[a]) < age(kept[b]) })
	return kept
}

func (f *Filter) combine(sel []int) (discipline.Sample, bool) {
	n := len(sel)
	lastS := f.samples[sel[n-1]]
	x := make([]float64, n)
	y := make([]float64, n)
	w := make([]float64, n)
	var meanX, meanY float64
	for i, k := range sel {
		s := f.samples[k]
		x[i] = DiffSeconds(s.Time, lastS.Time)
		y[i] = s.Offset
		w[i] = s.PeerDispersion
		meanX += x[i]
		meanY += y[i]
	}
	meanX /= float64(n)
	meanY /= float64(n)

	var v, disp float64
	var dof int
	switch {
	case n >= 4:
		for i := range x {
			x[i] -= meanX
		}
		fit, _ := WeightedRegression(x, y, w)
		v, disp, dof = fit.Variance, fit.InterceptSD, n-2
	case n >= 2:
		for i := range y {
			disp += (y[i] - meanY) * (y[i] - meanY)
		}
		v = disp / float64(n-1)
		disp, dof = math.Sqrt(v), n-1
	default:
		v, disp, dof = f.avgVar, math.Sqrt(f.avgVar), 1
	}
	if v < 1e-20 {
		v = 1e-20
		disp = math.Sqrt(v)
	}
	if f.maxVar > 0 && v > f.maxVar {
		return discipline.Sample{}, false
	}

	prevAvg := f.avgVar
	fd := float64(dof)
	if f.avgVarN > 50 {
		f.avgVar += fd / (fd + 50) * (v - f.avgVar)
	} else {
		f.avgVar = (f.avgVar*float64(f.avgVarN) + v*fd) / (fd + float64(f.avgVarN))
		if f.avgVarN == 0 {
			prevAvg = f.avgVar
		}
		f.avgVarN += dof
	}
	// Prefer the long-term variance unless the new one is clearly smaller.
	if v*fd/Chi2Coef(dof) < prevAvg {
		disp = math.Sqrt(f.avgVar) * disp / math.Sqrt(v)
	}

	var mPeerDisp, mRootDisp, mPeerDelay, mRootDelay float64
	for _, k := range sel {
		s := f.samples[k]
		mPeerDisp += s.PeerDispersion
		mRootDisp += s.RootDispersion
		mPeerDelay += s.PeerDelay
		mRootDelay += s.RootDelay
	}
	fn := float64(n)
	out := lastS
	out.Time = addSeconds(lastS.Time, meanX)
	out.Offset = meanY
	out.PeerDispersion = math.Max(disp, mPeerDisp/fn)
	out.RootDispersion = math.Max(disp, mRootDisp/fn)
	out.PeerDelay = mPeerDelay / fn
	out.RootDelay = mRootDelay / fn
	return out, true
}

func (f *Filter) slewRange() (first, last int, ok bool) {
	if f.last < 0 {
		return 0, 0, false
	}
	if f.used > 0 {
		return 0, f.used - 1, true
	}
	return f.last, f.last, true
}

// SlewSamples adjusts the waiting samples (and the last one) for a clock
// correction at when by dfreq (s/s) and doffset (s), as Stats.SlewSamples.
func (f *Filter) SlewSamples(when time.Time, dfreq, doffset float64) {
	first, last, ok := f.slewRange()
	if !ok {
		return
	}
	for i := first; i <= last; i++ {
		s := &f.samples[i]
		delta := secondsSince(when, s.Time)*dfreq - doffset
		s.Time = addSeconds(s.Time, delta)
		s.Offset += delta
	}
}

// CorrectOffset adds doffset (s) to the offsets of the samples, as
// Stats.CorrectOffset.
func (f *Filter) CorrectOffset(doffset float64) {
	first, last, ok := f.slewRange()
	if !ok {
		return
	}
	for i := first; i <= last; i++ {
		f.samples[i].Offset += doffset
	}
}

// AddDispersion adds dispersion (s) to the waiting samples.
func (f *Filter) AddDispersion(dispersion float64) {
	for i := 0; i < f.used; i++ {
		f.samples[i].PeerDispersion += dispersion
		f.samples[i].RootDispersion += dispersion
	}
}
