package manual

import (
	"math"

	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
)

// minRegressionPoints is the fewest points the runs test keeps.
const minRegressionPoints = 3

// maxSlopeSearch bounds the interval searched for the slope; a wider one
// means the data has no usable fit.
const maxSlopeSearch = 100.0

// Line is a fitted line y = Intercept + Slope·x.
type Line struct {
	Intercept, Slope float64
	// Start is the index of the oldest point the fit kept.
	Start int
}

// RobustFit fits a line through the points (x[i], y[i]) minimising the sum
// of absolute deviations, which outliers move little (the median of line
// fits). Two points give the line through both. With more, the oldest
// points are dropped one at a time while the residuals fail the runs test,
// down to three points. The slope is searched to within tol. ok is false
// with fewer than two points, mismatched slices, or no slope within ±100.
func RobustFit(x, y []float64, tol float64) (Line, bool) {
	n := len(x)
	if n < 2 || len(y) != n {
		return Line{}, false
	}
	if n == 2 {
		if x[1] == x[0] {
			return Line{}, false
		}
		b := (y[1] - y[0]) / (x[1] - x[0])
		return Line{Intercept: y[0] - b*x[0], Slope: b}, true
	}
	for start := 0; ; start++ {
		xs, ys := x[start:], y[start:]
		line, ok := fitAbsolute(xs, ys, tol)
		if !ok {
			return Line{}, false
		}
		line.Start = start
		if len(xs) == minRegressionPoints {
			return line, true
		}
		resid := make([]float64, len(xs))
		for i := range xs {
			resid[i] = ys[i] - line.Intercept - line.Slope*xs[i]
		}
		if sourcestats.CountRuns(resid) > sourcestats.CriticalRuns(len(xs)) {
			return line, true
		}
	}
}

// fitAbsolute finds the least-absolute-deviation line through at least
// three points: a least-squares start, then a bisection of the slope on
// the sign of Σ x·sign(residual) with the intercept at the median.
func fitAbsolute(x, y []float64, tol float64) (Line, bool) {
	n := float64(len(x))
	var sx, sy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
	}
	mx, my := sx/n, sy/n
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	if sxx == 0 {
		return Line{}, false
	}
	b := sxy / sxx
	a := my - b*mx
	var ss float64
	for i := range x {
		r := y[i] - a - b*x[i]
		ss += r * r
	}
	step := math.Max(math.Sqrt(ss*n/sxx), tol)
	var lo, hi, flo float64
	for {
		step *= 2
		if step > maxSlopeSearch {
			return Line{}, false
		}
		lo, hi = b-step, b+step
		var fhi float64
		_, flo = absResidual(x, y, lo)
		_, fhi = absResidual(x, y, hi)
		if flo*fhi < 0 {
			break
		}
	}
	var mid float64
	for {
		mid = 0.5 * (lo + hi)
		if !(lo < mid && mid < hi) {
			break
		}
		var fmid float64
		a, fmid = absResidual(x, y, mid)
		if fmid == 0 {
			break
		}
		if fmid*flo > 0 {
			lo, flo = mid, fmid
		} else {
			hi = mid
		}
		if hi-lo <= tol {
			break
		}
	}
	return Line{Intercept: a, Slope: mid}, true
}

// absResidual returns, for slope b, the intercept a (the median of
// y − b·x) and Σ x·sign(y − a − b·x), which is zero at the best slope.
func absResidual(x, y []float64, b float64) (a, sum float64) {
	d := make([]float64, len(x))
	for i := range x {
		d[i] = y[i] - b*x[i]
	}
	a = sourcestats.Median(d)
	for i := range x {
		switch r := y[i] - a - b*x[i]; {
		case r > 0:
			sum += x[i]
		case r < 0:
			sum -= x[i]
		}
	}
	return a, sum
}
