package sourcestats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ones(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	return w
}

func TestWeightedRegression(t *testing.T) {
	tests := []struct {
		name    string
		x, y, w []float64
		want    Fit
	}{
		{
			name: "perfect line",
			x:    []float64{-3, -2, -1, 0},
			y:    []float64{-5.5, -3.5, -1.5, 0.5},
			w:    ones(4),
			want: Fit{Intercept: 0.5, Slope: 2},
		},
		{
			// Hand computed: mean x 1.5, Sxy 4.5, Sxx 5, residuals
			// 0.1 0.2 -0.7 0.4, s2 = 0.7/2.
			name: "noisy line",
			x:    []float64{0, 1, 2, 3},
			y:    []float64{0, 1, 1, 3},
			w:    ones(4),
			want: Fit{Intercept: -0.1, Slope: 0.9, Variance: 0.35,
				SlopeSD: math.Sqrt(0.07), InterceptSD: math.Sqrt(0.245)},
		},
		{
			// The third point counts half; the fit is exact on the others
			// being collinear, so it moves towards them.
			name: "weights",
			x:    []float64{0, 1, 2},
			y:    []float64{0, 0, 3},
			w:    []float64{1, 1, 4},
			// W = 2.25, mean x = (0+1+0.5)/2.25 = 2/3
			// Sxy = 3*(4/3)/4 = 1, Sxx = 4/9 + 1/9 + (16/9)/4 = 1
			// slope 1, intercept = (0.75/2.25) - 2/3 = -1/3
			// resid 1/3, -2/3, 4/3 ; ss = 1/9 + 4/9 + (16/9)/4 = 1
			want: Fit{Intercept: -1.0 / 3, Slope: 1, Variance: 1 * 3 / 2.25,
				SlopeSD: 1, InterceptSD: math.Sqrt(1/2.25 + 4.0/9)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := WeightedRegression(tc.x, tc.y, tc.w)
			require.True(t, ok)
			assert.InDelta(t, tc.want.Intercept, got.Intercept, 1e-12)
			assert.InDelta(t, tc.want.Slope, got.Slope, 1e-12)
			assert.InDelta(t, tc.want.Variance, got.Variance, 1e-12)
			assert.InDelta(t, tc.want.SlopeSD, got.SlopeSD, 1e-9)
			assert.InDelta(t, tc.want.InterceptSD, got.InterceptSD, 1e-9)
		})
	}
}

func TestWeightedRegressionTooFewPoints(t *testing.T) {
	_, ok := WeightedRegression([]float64{0, 1}, []float64{0, 1}, ones(2))
	assert.False(t, ok)
	_, ok = WeightedRegression([]float64{0, 1, 2}, []float64{0, 1}, ones(3))
	assert.False(t, ok)
}

func TestCountRuns(t *testing.T) {
	tests := []struct {
		resid []float64
		want  int
	}{
		{nil, 0},
		{[]float64{1}, 1},
		{[]float64{1, 2, -1, -2, 3}, 3},
		{[]float64{1, -1, 1, -1}, 4},
		{[]float64{0, 0, 0}, 3},
		{[]float64{-1, -1, -1, -1}, 1},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, CountRuns(tc.resid), "%v", tc.resid)
	}
}

func TestCoefficients(t *testing.T) {
	assert.InDelta(t, 636.6, TCoef(1), 1e-4)
	assert.InDelta(t, 3.551, TCoef(40), 1e-6)
	assert.Equal(t, 3.5, TCoef(41))
	assert.InDelta(t, 2.706, Chi2Coef(1), 1e-6)
	assert.InDelta(t, 78.860, Chi2Coef(64), 1e-4)
	assert.InDelta(t, 1.2*65, Chi2Coef(65), 1e-12)
	assert.Equal(t, 0, CriticalRuns(7))
	assert.Equal(t, 2, CriticalRuns(8))
	assert.Equal(t, 3, CriticalRuns(9))
	assert.Equal(t, 56, CriticalRuns(129))
	assert.Equal(t, 56, CriticalRuns(500))
}

func TestMedian(t *testing.T) {
	assert.Equal(t, 0.0, Median(nil))
	assert.Equal(t, 2.0, Median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, Median([]float64{4, 1, 3, 2}))
	x := []float64{5, 4, 3}
	Median(x)
	assert.Equal(t, []float64{5, 4, 3}, x, "input must not be modified")
}

func TestMultipleRegress(t *testing.T) {
	x1 := []float64{0, 1, 2, 3, 4, 5}
	x2 := []float64{1, 0, 3, 1, 4, 2}
	y := make([]float64, len(x1))
	for i := range y {
		y[i] = 1 + 2*x1[i] + 3*x2[i]
	}
	b2, ok := MultipleRegress(x1, x2, y)
	require.True(t, ok)
	assert.InDelta(t, 3, b2, 1e-9)

	// x2 collinear with x1: no solution.
	_, ok = MultipleRegress(x1, x1, y)
	assert.False(t, ok)
	_, ok = MultipleRegress(x1[:3], x2[:3], y[:3])
	assert.False(t, ok)
}

// alternating returns +a, -a, +a, ... for n points.
func alternating(n int, a float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		if i%2 == 0 {
			v[i] = a
		} else {
			v[i] = -a
		}
	}
	return v
}

func TestFindBestRegression(t *testing.T) {
	const n = 20
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(i - (n - 1)) // -19 .. 0
	}
	noise := alternating(n, 1e-3)

	t.Run("alternating noise keeps every point", func(t *testing.T) {
		y := make([]float64, n)
		for i := range y {
			y[i] = 0.5 + 0.01*x[i] + noise[i]
		}
		best, ok := FindBestRegression(x, y, ones(n), 0, 6)
		require.True(t, ok)
		assert.Equal(t, 0, best.Start)
		assert.Equal(t, n, best.Runs)
		assert.Equal(t, n-2, best.DOF)
		assert.InDelta(t, 0.01, best.Slope, 1e-4)
		assert.InDelta(t, 0.5, best.Intercept, 2e-3)
	})

	// The slope changes at the 10th point: a line through all points leaves
	// long runs of residuals, so old points must be dropped.
	kink := func(i int) float64 {
		if i < 10 {
			return 0
		}
		return 0.1 * float64(i-10)
	}
	t.Run("frequency change detected", func(t *testing.T) {
		y := make([]float64, n)
		for i := range y {
			y[i] = kink(i) + noise[i]
		}
		best, ok := FindBestRegression(x, y, ones(n), 0, 3)
		require.True(t, ok)
		assert.Greater(t, best.Start, 5)
		assert.Greater(t, best.Runs, CriticalRuns(2*(n-best.Start))-1)
		assert.InDelta(t, 0.1, best.Slope, 0.01)
	})

	t.Run("minsamples stops dropping", func(t *testing.T) {
		y := make([]float64, n)
		for i := range y {
			y[i] = kink(i) + noise[i]
		}
		best, ok := FindBestRegression(x, y, ones(n), 0, 18)
		require.True(t, ok)
		assert.Equal(t, 2, best.Start)
	})

	t.Run("extra points extend the runs test", func(t *testing.T) {
		// 10 fitted points with noise in pairs (++--++--++: 5 runs, enough
		// for 10 residuals) and 10 older points far above the line: over
		// all 20 residuals there are too few runs, so points are dropped
		// although the fitted ones alone would pass.
		y := make([]float64, n)
		for i := range y {
			if i < 10 {
				y[i] = 1
			} else if (i/2)%2 == 1 {
				y[i] = 1e-3
			} else {
				y[i] = -1e-3
			}
		}
		best, ok := FindBestRegression(x, y, ones(10), 10, 3)
		require.True(t, ok)
		assert.Greater(t, best.Start, 0)
		noExtra, ok := FindBestRegression(x[10:], y[10:], ones(10), 0, 3)
		require.True(t, ok)
		assert.Equal(t, 0, noExtra.Start)
	})

	t.Run("too few points", func(t *testing.T) {
		_, ok := FindBestRegression(x[:2], x[:2], ones(2), 0, 1)
		assert.False(t, ok)
		_, ok = FindBestRegression(x, x, ones(n), 1, 1)
		assert.False(t, ok, "lengths inconsistent with extra")
	})
}
