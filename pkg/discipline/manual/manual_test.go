package manual

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func TestRobustFit(t *testing.T) {
	tests := []struct {
		name    string
		x, y    []float64
		ok      bool
		a, b    float64
		tol     float64
		outlier bool
	}{
		{name: "one point", x: []float64{0}, y: []float64{1}},
		{name: "two points", x: []float64{0, 10}, y: []float64{1, 2}, ok: true, a: 1, b: 0.1, tol: 1e-12},
		{name: "same x", x: []float64{5, 5}, y: []float64{1, 2}},
		{name: "exact line", x: []float64{0, 1, 2, 3, 4, 5}, y: []float64{3, 1, -1, -3, -5, -7}, ok: true, a: 3, b: -2, tol: 1e-6},
		{name: "one outlier barely moves the fit", x: []float64{0, 1, 2, 3, 4, 5, 6},
			y: []float64{0.01, 1, 2.01, 3, 40, 5.01, 6}, ok: true, a: 0, b: 1, tol: 0.05, outlier: true},
		{name: "mismatched", x: []float64{0, 1, 2}, y: []float64{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, ok := RobustFit(tt.x, tt.y, 1e-9)
			require.Equal(t, tt.ok, ok)
			if !ok {
				return
			}
			assert.InDelta(t, tt.b, line.Slope, tt.tol)
			assert.InDelta(t, tt.a, line.Intercept, math.Max(tt.tol, 1e-6)*10)
		})
	}
}

func TestAccept(t *testing.T) {
	tests := []struct {
		name string
		// entries are (local time s, clock ahead by s) pairs.
		entries [][2]float64
		enabled bool
		wantErr error
		want    Estimate
		n       int
	}{
		{name: "disabled", entries: [][2]float64{{0, 1}}, wantErr: ErrDisabled},
		{name: "one sample slews its offset", enabled: true, entries: [][2]float64{{0, 2.5}},
			want: Estimate{Slew: 2.5, Offset: 2.5}, n: 1},
		{name: "too soon after the previous", enabled: true, entries: [][2]float64{{0, 1}, {0.5, 1}},
			wantErr: ErrTooSoon, n: 1},
		{name: "two samples give a frequency", enabled: true, entries: [][2]float64{{0, 1}, {1000, 1.01}},
			want: Estimate{Slew: 1.01, Offset: 1.01, Frequency: 1e-5, Fitted: true}, n: 2},
		{name: "three samples on a line", enabled: true, entries: [][2]float64{{0, 0}, {100, 0.001}, {200, 0.002}},
			want: Estimate{Slew: 0.002, Offset: 0.002, Frequency: 1e-5, Fitted: true}, n: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(tt.enabled)
			var est Estimate
			var err error
			for _, e := range tt.entries {
				now := at(e[0])
				est, err = m.Accept(now, now.Add(-time.Duration(e[1]*float64(time.Second))))
			}
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
				assert.InDelta(t, tt.want.Slew, est.Slew, 1e-9)
				assert.InDelta(t, tt.want.Offset, est.Offset, 1e-6)
				assert.InDelta(t, tt.want.Frequency, est.Frequency, 1e-8)
				assert.Equal(t, tt.want.Fitted, est.Fitted)
			}
			assert.Len(t, m.Samples(), tt.n)
		})
	}
}

func TestAcceptKeepsSixteen(t *testing.T) {
	m := New(true)
	for i := range MaxSamples + 3 {
		now := at(float64(10 * i))
		_, err := m.Accept(now, now)
		require.NoError(t, err)
	}
	s := m.Samples()
	require.Len(t, s, MaxSamples)
	assert.Equal(t, at(30), s[0].When, "the three oldest were dropped")
}

func TestAcceptInsane(t *testing.T) {
	m := New(true)
	_, err := m.Accept(t0, time.Unix(0, 0))
	assert.ErrorIs(t, err, ErrInsane)
	assert.Empty(t, m.Samples())
}

func TestDeleteAndReset(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		index   int
		wantErr error
		left    int
	}{
		{name: "no samples", n: 0, index: 0, wantErr: ErrBadIndex},
		{name: "negative", n: 2, index: -1, wantErr: ErrBadIndex, left: 2},
		{name: "past the end", n: 2, index: 2, wantErr: ErrBadIndex, left: 2},
		{name: "the only one", n: 1, index: 0, left: 0},
		{name: "the oldest of three", n: 3, index: 0, left: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(true)
			for i := range tt.n {
				now := at(float64(100 * i))
				_, err := m.Accept(now, now.Add(-time.Duration(i)*time.Millisecond))
				require.NoError(t, err)
			}
			_, err := m.Delete(tt.index)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				assert.NoError(t, err)
			}
			assert.Len(t, m.Samples(), tt.left)
			m.Reset()
			assert.Empty(t, m.Samples())
		})
	}
}

func TestDeleteRefits(t *testing.T) {
	m := New(true)
	for i, off := range []float64{5, 0, 0.001} {
		now := at(float64(100 * i))
		_, err := m.Accept(now, now.Add(-time.Duration(off*float64(time.Second))))
		require.NoError(t, err)
	}
	est, err := m.Delete(0)
	require.NoError(t, err)
	assert.True(t, est.Fitted)
	assert.InDelta(t, 1e-5, est.Frequency, 1e-9, "the fit without the deleted outlier")
	assert.InDelta(t, 0.001, est.Slew, 1e-9)
}

func TestSlew(t *testing.T) {
	m := New(true)
	_, err := m.Accept(at(0), at(-1))
	require.NoError(t, err)
	// A correction 100 s later: the clock's frequency raised by 1e-6 and
	// 0.5 s of offset removed.
	m.Slew(at(100), 1e-6, 0.5)
	s := m.Samples()[0]
	assert.InDelta(t, 1+100e-6-0.5, s.Offset, 1e-9)
	assert.InDelta(t, 1, s.OrigOffset, 1e-12)
	assert.InDelta(t, 100e-6-0.5, s.When.Sub(at(0)).Seconds(), 1e-9)
}

func TestEnable(t *testing.T) {
	m := New(false)
	assert.False(t, m.Enabled())
	m.SetEnabled(true)
	assert.True(t, m.Enabled())
	_, err := m.Accept(t0, t0)
	require.NoError(t, err)
	m.SetEnabled(false)
	assert.Len(t, m.Samples(), 1, "turning manual off keeps the samples")
}
