package sourcestats

import (
	"math"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
)

// Limits and defaults of the statistics, with chronyd's values.
const (
	// WorstCaseFreqBound is the assumed bound of an unknown frequency (2000 ppm).
	WorstCaseFreqBound = 2000.0e-6
	// WorstCaseStdDevBound is the assumed bound of an unknown offset
	// standard deviation, in seconds.
	WorstCaseStdDevBound = 4.0
	// MinSkew and MaxSkew bound the estimated skew and frequency SD (s/s).
	MinSkew = 1.0e-12
	MaxSkew = 1.0e+02
	// MinStdDev is the smallest reported standard deviation, in seconds.
	MinStdDev = 1.0e-9
	// DefaultMinSamples is chronyd's default of the minsamples directive.
	DefaultMinSamples = 6
	// DefaultAsymmetry is the default of the asymmetry source option: any
	// value with magnitude above MaxAsymmetry means "estimate it".
	DefaultAsymmetry = 1.0
	// MaxAsymmetry is the largest jitter asymmetry used to correct offsets.
	MaxAsymmetry = 0.5

	minAsymmetry    = 0.45
	minAsymmetryRun = 10
	maxAsymmetryRun = 1000
	// sdToDistRatio is the assumed ratio between the standard deviation of
	// the samples and the spread of their peer distances.
	sdToDistRatio = 0.7
	// minDelayTestSamples is how many samples the delay tests need.
	minDelayTestSamples = 6
	// maxSaneOffset bounds offsets and times accepted from a dump file.
	maxSaneOffset = 4294967296.0
)

// Options configures one Stats. Start from DefaultOptions: the zero value of
// MinSamples means 1 and of Asymmetry means "no asymmetry correction", as the
// same values in chrony.conf do.
type Options struct {
	// MinSamples is the effective minsamples of the source (the source's
	// option, or the global directive, default 6). Clamped to 1..MaxSamples.
	MinSamples int
	// MaxSamples is the effective maxsamples; 0 or less means MaxSamples (64).
	MaxSamples int
	// MinDelay is the source's mindelay option (s); 0 disables it.
	MinDelay float64
	// Asymmetry is the source's asymmetry option: |a| <= 0.5 fixes the jitter
	// asymmetry, larger values (default 1.0) let it be estimated, 0 disables
	// the correction.
	Asymmetry float64
	// Precision is the system clock's precision as a quantum in seconds
	// (chrony's LCL_GetSysPrecisionAsQuantum).
	Precision float64
	// MaxJitter is the maxjitter directive (s), the standard deviation given
	// to a source with fewer than 3 samples when maxsamples allows no more.
	MaxJitter float64
}

// DefaultOptions returns chronyd's defaults: minsamples 6, maxsamples 64,
// asymmetry estimated, 1 ns precision, maxjitter 1 s.
func DefaultOptions() Options {
	return Options{
		MinSamples: DefaultMinSamples,
		Asymmetry:  DefaultAsymmetry,
		Precision:  1e-9,
		MaxJitter:  1.0,
	}
}

// point is one stored sample.
type point struct {
	time           time.Time
	offset         float64 // slewed with the clock corrections
	origOffset     float64 // as measured
	peerDelay      float64
	peerDispersion float64
	rootDelay      float64
	rootDispersion float64
}

// Stats is the measurement history and regression state of one source. It
// is not safe for concurrent use: the engine loop owns it.
type Stats struct {
	opts Options

	// hist holds runs extra samples (kept only to extend the runs test)
	// followed by n samples used in the regression, oldest first.
	hist []point
	runs int
	n    int

	regressionOK bool
	// best is the index (0..n-1 among the regression samples) of the sample
	// with the smallest root distance.
	best int
	// minDelay is the index in hist of the sample with the smallest delay.
	minDelay int

	estOffset   float64
	estOffsetSD float64
	offsetTime  time.Time
	nruns       int
	asymRun     int
	asymmetry   float64
	freq        float64
	freqSD      float64
	skew        float64
	stdDev      float64

	lastStats   StatisticsRecord
	lastStatsOK bool

	// scratch buffers reused by DoNewRegression
	bufTimes, bufOffsets, bufWeights, bufDist, bufDelays []float64
}

// grow returns buf resized to n elements, reusing its storage.
func grow(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n, max(n, 2*MaxSamples))
	}
	return buf[:n]
}

// New creates the statistics of one source.
func New(opts Options) *Stats {
	if opts.MaxSamples <= 0 || opts.MaxSamples > MaxSamples {
		opts.MaxSamples = MaxSamples
	}
	opts.MinSamples = min(max(opts.MinSamples, 1), opts.MaxSamples)
	if opts.Precision <= 0 {
		opts.Precision = 1e-9
	}
	s := &Stats{opts: opts, hist: make([]point, 0, 2*MaxSamples)}
	s.Reset()
	return s
}

// Options returns the effective options (after clamping).
func (s *Stats) Options() Options { return s.opts }

// Reset drops all samples and estimates (chrony's SST_ResetInstance).
func (s *Stats) Reset() {
	s.hist = s.hist[:0]
	s.runs = 0
	s.n = 0
	s.regressionOK = false
	s.best = 0
	s.minDelay = 0
	s.freq = 0
	s.freqSD = WorstCaseFreqBound
	s.skew = WorstCaseFreqBound
	s.estOffset = 0
	s.estOffsetSD = WorstCaseStdDevBound
	s.offsetTime = time.Time{}
	s.stdDev = WorstCaseStdDevBound
	s.nruns = 0
	s.asymRun = 0
	s.asymmetry = 0
}

// Samples returns the number of samples used in the regression (NP).
func (s *Stats) Samples() int { return s.n }

// MinSamples returns the effective minsamples.
func (s *Stats) MinSamples() int { return s.opts.MinSamples }

// RegressionOK reports whether the last regression succeeded.
func (s *Stats) RegressionOK() bool { return s.regressionOK }

func (s *Stats) active(i int) *point { return &s.hist[s.runs+i] }

func (s *Stats) last() *point { return &s.hist[len(s.hist)-1] }

// prune drops the k oldest regression samples, keeping some of them for the
// runs test.
func (s *Stats) prune(k int) {
	if k <= 0 {
		return
	}
	s.n -= k
	s.runs += k
	if s.runs > s.n*(RunsRatio-1) {
		s.runs = s.n * (RunsRatio - 1)
	}
	if drop := len(s.hist) - s.runs - s.n; drop > 0 {
		s.hist = append(s.hist[:0], s.hist[drop:]...)
	}
	s.findMinDelay()
}

func (s *Stats) findMinDelay() {
	s.minDelay = 0
	for i := 1; i < len(s.hist); i++ {
		if s.hist[i].peerDelay < s.hist[s.minDelay].peerDelay {
			s.minDelay = i
		}
	}
}

// AccumulateSample adds a new measurement (without running the regression;
// call DoNewRegression next). The sample's offset uses chrony's sign
// (positive: local clock ahead). When the sample is not newer than the last
// one, the history is discarded first and historyReset is true: the caller
// logs OutOfOrderMessage.
func (s *Stats) AccumulateSample(sample discipline.Sample) (historyReset bool) {
	if s.n > 0 && (s.n == MaxSamples || s.n == s.opts.MaxSamples) {
		s.prune(1)
	}
	if s.n > 0 && !s.last().time.Before(sample.Time) {
		s.Reset()
		historyReset = true
	}
	p := point{
		time:           sample.Time,
		offset:         sample.Offset,
		origOffset:     sample.Offset,
		peerDelay:      sample.PeerDelay,
		peerDispersion: sample.PeerDispersion,
		rootDelay:      sample.RootDelay,
		rootDispersion: sample.RootDispersion,
	}
	if p.peerDelay < s.opts.MinDelay {
		p.peerDelay = 2*s.opts.MinDelay - p.peerDelay
	}
	s.hist = append(s.hist, p)
	if s.n == 0 || p.peerDelay < s.hist[s.minDelay].peerDelay {
		s.minDelay = len(s.hist) - 1
	}
	s.n++
	return historyReset
}

// OutOfOrderMessage is chronyd's warning when AccumulateSample discards the
// history; %s is the source's address or reference ID.
const OutOfOrderMessage = "Out of order sample detected, discarding history for %s"

// DoNewRegression re-estimates offset, frequency, skew and standard
// deviation from the stored samples, dropping the oldest samples the runs
// test rejects (chrony's SST_DoNewRegression).
func (s *Stats) DoNewRegression() {
	total := len(s.hist)
	s.bufTimes = grow(s.bufTimes, total)
	s.bufOffsets = grow(s.bufOffsets, total)
	s.bufWeights = grow(s.bufWeights, s.n)
	timesBack, offsets, weights := s.bufTimes, s.bufOffsets, s.bufWeights

	if s.n > 0 {
		lastTime := s.last().time
		for i := range s.hist {
			timesBack[i] = DiffSeconds(s.hist[i].time, lastTime)
			offsets[i] = s.hist[i].offset
		}
		s.computeWeights(weights)
		s.correctAsymmetry(timesBack, offsets)
	}

	best, ok := FindBestRegression(timesBack, offsets, weights, s.runs, s.opts.MinSamples)
	s.regressionOK = ok
	if ok {
		oldSkew, oldFreq := s.skew, s.freq
		s.freq = best.Slope
		s.freqSD = clamp(best.SlopeSD, MinSkew, MaxSkew)
		s.skew = clamp(best.SlopeSD*TCoef(best.DOF), MinSkew, MaxSkew)
		s.estOffset = best.Intercept
		s.offsetTime = s.last().time
		s.estOffsetSD = best.InterceptSD
		s.stdDev = math.Max(MinStdDev, math.Sqrt(best.Variance))
		s.nruns = best.Runs
		s.lastStats = StatisticsRecord{
			Time:      s.offsetTime,
			StdDev:    s.stdDev,
			Offset:    s.estOffset,
			OffsetSD:  s.estOffsetSD,
			Frequency: s.freq,
			Skew:      s.skew,
			Stress:    math.Abs(oldFreq-s.freq) / oldSkew,
			Samples:   s.n,
			BestStart: best.Start,
			Runs:      s.nruns,
			Asymmetry: s.asymmetry,
		}
		s.lastStatsOK = true
		s.prune(best.Start)
	} else {
		s.lastStatsOK = false
		s.freqSD = WorstCaseFreqBound
		s.skew = WorstCaseFreqBound
		s.estOffsetSD = WorstCaseStdDevBound
		s.stdDev = WorstCaseStdDevBound
		s.nruns = 0
		if s.n > 0 {
			s.estOffset = s.last().offset
			s.offsetTime = s.last().time
		} else {
			s.estOffset = 0
			s.offsetTime = time.Time{}
		}
	}
	s.findBestSample()
}

// computeWeights fills w with the regression weights of the n samples: 1 for
// samples near the minimum peer distance, growing with the square of the
// excess distance in units of the estimated standard deviation.
func (s *Stats) computeWeights(w []float64) {
	s.bufDist = grow(s.bufDist, s.n)
	dist := s.bufDist
	minDist := math.MaxFloat64
	for i := 0; i < s.n; i++ {
		p := s.active(i)
		dist[i] = 0.5*p.peerDelay + p.peerDispersion
		minDist = math.Min(minDist, dist[i])
	}
	precision := s.opts.Precision
	sd := (Median(dist) - minDist) / sdToDistRatio
	sd = math.Min(math.Max(sd, precision), minDist)
	if !(sd > 0) {
		sd = precision
	}
	minDist += precision
	for i := range w {
		f := 1.0
		if dist[i] > minDist {
			f += (dist[i] - minDist) / sd
		}
		w[i] = f * f
	}
}

// correctAsymmetry moves the offsets to what they would be with the minimum
// delay, using a fixed or an estimated asymmetry of the network jitter.
func (s *Stats) correctAsymmetry(timesBack, offsets []float64) {
	if s.opts.Asymmetry == 0 {
		return
	}
	minDelay := s.MinRoundTripDelay()
	s.bufDelays = grow(s.bufDelays, len(s.hist))
	delays := s.bufDelays
	for i := range s.hist {
		delays[i] = s.hist[i].peerDelay - minDelay
	}
	if math.Abs(s.opts.Asymmetry) <= MaxAsymmetry {
		s.asymmetry = s.opts.Asymmetry
	} else if !s.estimateAsymmetry(timesBack, delays, offsets) {
		return
	}
	for i := range offsets {
		offsets[i] -= s.asymmetry * delays[i]
	}
}

// estimateAsymmetry estimates the asymmetry as the slope of offset against
// delay and reports whether it is significant and stable enough to be used.
func (s *Stats) estimateAsymmetry(timesBack, delays, offsets []float64) bool {
	a, ok := MultipleRegress(timesBack, delays, offsets)
	if !ok || a*float64(s.asymRun) < 0 {
		s.asymmetry = 0
		s.asymRun = 0
		return false
	}
	if a <= -minAsymmetry && s.asymRun > -maxAsymmetryRun {
		s.asymRun--
	} else if a >= minAsymmetry && s.asymRun < maxAsymmetryRun {
		s.asymRun++
	}
	if s.asymRun > -minAsymmetryRun && s.asymRun < minAsymmetryRun {
		return false
	}
	s.asymmetry = clamp(a, -MaxAsymmetry, MaxAsymmetry)
	return true
}

// findBestSample finds the sample offering the smallest root distance now
// that the skew is known.
func (s *Stats) findBestSample() {
	if s.n == 0 {
		return
	}
	lastTime := s.last().time
	bestDist := math.MaxFloat64
	s.best = 0
	for i := 0; i < s.n; i++ {
		p := s.active(i)
		elapsed := DiffSeconds(lastTime, p.time)
		d := p.rootDispersion + elapsed*s.skew + 0.5*p.rootDelay
		if d < bestDist {
			bestDist = d
			s.best = i
		}
	}
}

func clamp(x, lo, hi float64) float64 {
	return math.Min(math.Max(x, lo), hi)
}

func secondsSince(now, t time.Time) float64 { return DiffSeconds(now, t) }

// DiffSeconds returns a-b in seconds computed as chrony does (whole seconds
// and nanoseconds converted separately), so that results match chronyd's to
// the last bit.
func DiffSeconds(a, b time.Time) float64 {
	return (float64(a.Unix()) - float64(b.Unix())) + 1e-9*float64(a.Nanosecond()-b.Nanosecond())
}

// addSeconds adds sec seconds to t as chrony's UTI_AddDoubleToTimespec does
// (the fraction truncated to nanoseconds).
func addSeconds(t time.Time, sec float64) time.Time {
	whole := math.Trunc(sec)
	nsec := int64(float64(t.Nanosecond()) + 1e9*(sec-whole))
	base := t.Add(-time.Duration(t.Nanosecond()))
	return base.Add(time.Duration(int64(whole)*int64(time.Second) + nsec))
}
