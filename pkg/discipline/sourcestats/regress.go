package sourcestats

import (
	"math"
	"sort"
)

// RunsRatio is how many times more residuals the runs test may look at than
// the number of samples kept for the regression (chrony's REGRESS_RUNS_RATIO).
const RunsRatio = 2

// MinSamplesForRegression is the smallest number of samples a regression
// is computed from (chrony's MIN_SAMPLES_FOR_REGRESS).
const MinSamplesForRegression = 3

// MaxSamples is the largest number of samples kept per source (chrony's
// MAX_SAMPLES).
const MaxSamples = 64

// Fit is the result of a weighted least-squares fit y = Intercept + Slope*x.
type Fit struct {
	// Intercept is the estimated value of y at x = 0.
	Intercept float64
	// Slope is the estimated dy/dx.
	Slope float64
	// Variance is the weighted average variance of the data points.
	Variance float64
	// InterceptSD is the standard deviation of Intercept.
	InterceptSD float64
	// SlopeSD is the standard deviation of Slope.
	SlopeSD float64
}

// BestFit is a Fit found by FindBestRegression together with how many of the
// oldest points it dropped to pass the runs test.
type BestFit struct {
	Fit
	// Start is the index of the oldest point used by the fit.
	Start int
	// Runs is the number of runs of residuals with the same sign among the
	// points used by the fit.
	Runs int
	// DOF is the number of degrees of freedom of the fit (points - 2).
	DOF int
}

// weightedSums holds the weighted sums shared by the regression functions.
// Weights are variances: a larger weight makes a point count less.
type weightedSums struct {
	sumW, meanX, sumY, sumXY, sumXX float64
}

func computeSums(x, y, w []float64) weightedSums {
	var s weightedSums
	var sumX float64
	for i := range x {
		sumX += x[i] / w[i]
		s.sumW += 1 / w[i]
	}
	s.meanX = sumX / s.sumW
	for i := range x {
		dx := x[i] - s.meanX
		s.sumY += y[i] / w[i]
		s.sumXY += y[i] * dx / w[i]
		s.sumXX += dx * dx / w[i]
	}
	return s
}

func (s weightedSums) line() (intercept, slope float64) {
	slope = s.sumXY / s.sumXX
	intercept = s.sumY/s.sumW - slope*s.meanX
	return intercept, slope
}

// finish derives the standard deviations from the weighted sum of squared
// residuals ss of n points.
func (s weightedSums) finish(intercept, slope, ss float64, n int) Fit {
	ss /= float64(n - 2)
	slopeSD := math.Sqrt(ss / s.sumXX)
	a := s.meanX * slopeSD
	return Fit{
		Intercept:   intercept,
		Slope:       slope,
		Variance:    ss * float64(n) / s.sumW,
		InterceptSD: math.Sqrt(ss/s.sumW + a*a),
		SlopeSD:     slopeSD,
	}
}

// WeightedRegression fits a straight line through the points (x[i], y[i])
// with weights w[i] (the larger the weight, the less reliable the point, as
// in chrony). It needs at least 3 points; ok is false otherwise or when the
// slices differ in length.
func WeightedRegression(x, y, w []float64) (fit Fit, ok bool) {
	n := len(x)
	if n < MinSamplesForRegression || len(y) != n || len(w) != n {
		return Fit{}, false
	}
	s := computeSums(x, y, w)
	intercept, slope := s.line()
	var ss float64
	for i := range x {
		d := y[i] - intercept - slope*x[i]
		ss += d * d / w[i]
	}
	return s.finish(intercept, slope, ss, n), true
}

// tCoefs are the 99.95 % quantiles of Student's t distribution for 1 to 40
// degrees of freedom.
var tCoefs = [...]float64{
	636.6, 31.6, 12.92, 8.61, 6.869, 5.959, 5.408, 5.041, 4.781, 4.587,
	4.437, 4.318, 4.221, 4.140, 4.073, 4.015, 3.965, 3.922, 3.883, 3.850,
	3.819, 3.792, 3.768, 3.745, 3.725, 3.707, 3.690, 3.674, 3.659, 3.646,
	3.633, 3.622, 3.611, 3.601, 3.591, 3.582, 3.574, 3.566, 3.558, 3.551,
}

// TCoef returns the factor that turns a standard deviation with dof degrees
// of freedom into the half-width of a 99.95 % confidence interval.
func TCoef(dof int) float64 {
	if dof < 1 {
		dof = 1
	}
	if dof <= len(tCoefs) {
		// The table was single precision in chrony; keep the same rounding.
		return float64(float32(tCoefs[dof-1]))
	}
	return 3.5
}

// chi2Coefs are the 90 % quantiles of the chi-square distribution for 1 to 64
// degrees of freedom.
var chi2Coefs = [...]float64{
	2.706, 4.605, 6.251, 7.779, 9.236, 10.645, 12.017, 13.362,
	14.684, 15.987, 17.275, 18.549, 19.812, 21.064, 22.307, 23.542,
	24.769, 25.989, 27.204, 28.412, 29.615, 30.813, 32.007, 33.196,
	34.382, 35.563, 36.741, 37.916, 39.087, 40.256, 41.422, 42.585,
	43.745, 44.903, 46.059, 47.212, 48.363, 49.513, 50.660, 51.805,
	52.949, 54.090, 55.230, 56.369, 57.505, 58.641, 59.774, 60.907,
	62.038, 63.167, 64.295, 65.422, 66.548, 67.673, 68.796, 69.919,
	71.040, 72.160, 73.279, 74.397, 75.514, 76.630, 77.745, 78.860,
}

// Chi2Coef returns the 90 % quantile of the chi-square distribution with dof
// degrees of freedom.
func Chi2Coef(dof int) float64 {
	if dof < 1 {
		dof = 1
	}
	if dof <= len(chi2Coefs) {
		return float64(float32(chi2Coefs[dof-1]))
	}
	return 1.2 * float64(dof)
}

// criticalRuns[n] is the number of runs of residuals with the same sign that
// n residuals must exceed to pass the runs test at the 5 % level.
var criticalRuns = [...]int{
	0, 0, 0, 0, 0, 0, 0, 0, 2, 3,
	3, 3, 4, 4, 5, 5, 5, 6, 6, 7,
	7, 7, 8, 8, 9, 9, 9, 10, 10, 11,
	11, 11, 12, 12, 13, 13, 14, 14, 14, 15,
	15, 16, 16, 17, 17, 18, 18, 18, 19, 19,
	20, 20, 21, 21, 21, 22, 22, 23, 23, 24,
	24, 25, 25, 26, 26, 26, 27, 27, 28, 28,
	29, 29, 30, 30, 30, 31, 31, 32, 32, 33,
	33, 34, 34, 35, 35, 35, 36, 36, 37, 37,
	38, 38, 39, 39, 40, 40, 40, 41, 41, 42,
	42, 43, 43, 44, 44, 45, 45, 46, 46, 46,
	47, 47, 48, 48, 49, 49, 50, 50, 51, 51,
	52, 52, 52, 53, 53, 54, 54, 55, 55, 56,
}

// CriticalRuns returns the runs-test threshold for n residuals: the fit is
// accepted when the residuals form more runs than this.
func CriticalRuns(n int) int {
	if n < 0 {
		return 0
	}
	if n >= len(criticalRuns) {
		return criticalRuns[len(criticalRuns)-1]
	}
	return criticalRuns[n]
}

// CountRuns returns the number of runs of residuals with the same sign. A
// zero residual always starts a new run.
func CountRuns(resid []float64) int {
	if len(resid) == 0 {
		return 0
	}
	runs := 1
	for i := 1; i < len(resid); i++ {
		sameSign := (resid[i-1] < 0 && resid[i] < 0) || (resid[i-1] > 0 && resid[i] > 0)
		if !sameSign {
			runs++
		}
	}
	return runs
}

// FindBestRegression fits a line through the newest points and drops the
// oldest ones, one at a time, until the residuals pass the runs test.
//
// x and y hold extra+n points, oldest first; the first extra points are older
// samples that are no longer part of the fit but still extend the runs test
// (up to RunsRatio times the number of fitted points). w holds the weights of
// the last n points only. Dropping stops when the residuals form more runs
// than CriticalRuns, or when no more than MinSamplesForRegression or
// minSamples points would remain. ok is false with fewer than
// MinSamplesForRegression points or inconsistent slice lengths.
func FindBestRegression(x, y, w []float64, extra, minSamples int) (best BestFit, ok bool) {
	n := len(w)
	if extra < 0 || len(x) != extra+n || len(y) != extra+n || n < MinSamplesForRegression {
		return BestFit{}, false
	}
	// Shift to have index 0 at the oldest fitted point.
	px, py := x[extra:], y[extra:]
	resid := make([]float64, 0, len(x))

	var (
		s                weightedSums
		intercept, slope float64
		runs, residStart int
		start            int
	)
	for {
		s = computeSums(px[start:], py[start:], w[start:])
		intercept, slope = s.line()

		residStart = n - (n-start)*RunsRatio
		if residStart < -extra {
			residStart = -extra
		}
		resid = resid[:0]
		for i := residStart; i < n; i++ {
			resid = append(resid, y[extra+i]-intercept-slope*x[extra+i])
		}
		runs = CountRuns(resid)

		if runs > CriticalRuns(n-residStart) ||
			n-start <= MinSamplesForRegression || n-start <= minSamples {
			if start != residStart {
				runs = CountRuns(resid[start-residStart:])
			}
			break
		}
		start++
	}

	var ss float64
	for i := start; i < n; i++ {
		r := resid[i-residStart]
		ss += r * r / w[i]
	}
	points := n - start
	return BestFit{
		Fit:   s.finish(intercept, slope, ss, points),
		Start: start,
		Runs:  runs,
		DOF:   points - 2,
	}, true
}

// Median returns the median of x (the mean of the two middle values for an
// even count) without modifying x. It returns 0 for an empty slice.
func Median(x []float64) float64 {
	n := len(x)
	if n == 0 {
		return 0
	}
	tmp := append([]float64(nil), x...)
	sort.Float64s(tmp)
	if n%2 == 1 {
		return tmp[n/2]
	}
	return 0.5 * (tmp[n/2] + tmp[n/2-1])
}

// MultipleRegress fits y = b0 + b1*x1 + b2*x2 by ordinary least squares and
// returns b2. ok is false with fewer than 4 points or when the system is not
// numerically solvable.
func MultipleRegress(x1, x2, y []float64) (b2 float64, ok bool) {
	n := len(y)
	if n < 4 || len(x1) != n || len(x2) != n {
		return 0, false
	}
	var s1, s2, s11, s12, s22, s1y, s2y, sy float64
	for i := 0; i < n; i++ {
		s1 += x1[i]
		s2 += x2[i]
		s11 += x1[i] * x1[i]
		s12 += x1[i] * x2[i]
		s22 += x2[i] * x2[i]
		s1y += x1[i] * y[i]
		s2y += x2[i] * y[i]
		sy += y[i]
	}
	fn := float64(n)
	num := fn*(s12*s1y-s11*s2y) + s1*s1*s2y - s1*s2*s1y + sy*(s2*s11-s1*s12)
	d1 := fn * (s12*s12 - s11*s22)
	d2 := s1*s1*s22 + s2*s2*s11
	d3 := -2 * s1 * s2 * s12
	den := d1 + d2 + d3
	if math.Abs(den)*1e10 <= -d1+d2+math.Abs(d3) {
		return 0, false
	}
	return num / den, true
}
