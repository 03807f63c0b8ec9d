package conf

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The expectations below were taken from glibc's sscanf on this machine
// (conversions %d%n, %lf%n, %u%n and %x%n); n is -1 when the conversion fails.
func TestScanMatchesGlibc(t *testing.T) {
	tests := []struct {
		in    string
		d, dn int64
		f     float64
		fn    int
		u     uint32
		un    int
		x     uint32
		xn    int
	}{
		{"5", 5, 1, 5, 1, 5, 1, 5, 1},
		{"5x", 5, 1, 5, 1, 5, 1, 5, 1},
		{"+5", 5, 2, 5, 2, 5, 2, 5, 2},
		{"-5", -5, 2, -5, 2, 4294967291, 2, 0xfffffffb, 2},
		{" 5", 5, 2, 5, 2, 5, 2, 5, 2},
		{"x", 0, -1, 0, -1, 0, -1, 0, -1},
		{"", 0, -1, 0, -1, 0, -1, 0, -1},
		{"1e", 1, 1, 1, 2, 1, 1, 0x1e, 2},
		{"1e+", 1, 1, 1, 3, 1, 1, 0x1e, 2},
		{"1e5x", 1, 1, 100000, 3, 1, 1, 0x1e5, 3},
		{"1.", 1, 1, 1, 2, 1, 1, 1, 1},
		{".", 0, -1, 0, -1, 0, -1, 0, -1},
		{".5", 0, -1, 0.5, 2, 0, -1, 0, -1},
		{"0x", 0, 1, 0, -1, 0, 1, 0, 2},
		{"0x1p", 0, 1, 1, 4, 0, 1, 1, 3},
		{"0x1.8", 0, 1, 1.5, 5, 0, 1, 1, 3},
		{"0x1p3", 0, 1, 8, 5, 0, 1, 1, 3},
		{"inf", 0, -1, math.Inf(1), 3, 0, -1, 0, -1},
		{"infx", 0, -1, math.Inf(1), 3, 0, -1, 0, -1},
		{"infinity", 0, -1, math.Inf(1), 8, 0, -1, 0, -1},
		{"infinit", 0, -1, 0, -1, 0, -1, 0, -1},
		{"nan(12)", 0, -1, math.NaN(), 3, 0, -1, 0, -1},
		{"-inf", 0, -1, math.Inf(-1), 4, 0, -1, 0, -1},
		{"1e999", 1, 1, math.Inf(1), 5, 1, 1, 0x1e999, 5},
		{"4294967302", 6, 10, 4294967302, 10, 6, 10, 0x94967302, 10},
		{"99999999999999999999", -1, 20, 1e20, 20, 4294967295, 20, 0xffffffff, 20},
		{"-1", -1, 2, -1, 2, 4294967295, 2, 0xffffffff, 2},
		{"0xg", 0, 1, 0, -1, 0, 1, 0, 2},
		{"0x10", 0, 1, 16, 4, 0, 1, 0x10, 4},
		{"1,5", 1, 1, 1, 1, 1, 1, 1, 1},
		{"-", 0, -1, 0, -1, 0, -1, 0, -1},
		{".e1", 0, -1, 0, -1, 0, -1, 0, -1},
		{"1.e2", 1, 1, 100, 4, 1, 1, 1, 1},
		{"0x.8", 0, 1, 0.5, 4, 0, 1, 0, 2},
		{"INF", 0, -1, math.Inf(1), 3, 0, -1, 0, -1},
		{"1e-999", 1, 1, 0, 6, 1, 1, 0x1e, 2},
		{"0X1P-2", 0, 1, 0.25, 6, 0, 1, 1, 3},
		{"1.5e+3z", 1, 1, 1500, 6, 1, 1, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d, n, ok := scanInt(tc.in)
			assert.Equal(t, tc.dn >= 0, ok, "%%d ok")
			if ok {
				assert.Equal(t, tc.d, int64(d), "%%d value")
				assert.Equal(t, int(tc.dn), n, "%%d n")
			}
			f, n, ok := scanDouble(tc.in)
			assert.Equal(t, tc.fn >= 0, ok, "%%lf ok")
			if ok {
				if math.IsNaN(tc.f) {
					assert.True(t, math.IsNaN(f))
				} else {
					assert.Equal(t, tc.f, f, "%%lf value")
				}
				assert.Equal(t, tc.fn, n, "%%lf n")
			}
			u, n, ok := scanUint32(tc.in)
			assert.Equal(t, tc.un >= 0, ok, "%%u ok")
			if ok {
				assert.Equal(t, tc.u, u, "%%u value")
				assert.Equal(t, tc.un, n, "%%u n")
			}
			x, n, ok := scanHex32(tc.in)
			assert.Equal(t, tc.xn >= 0, ok, "%%x ok")
			if ok {
				assert.Equal(t, tc.x, x, "%%x value")
				assert.Equal(t, tc.xn, n, "%%x n")
			}
		})
	}
}

func TestStrtolWhole(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"123", 123, true}, {"-4", -4, true}, {"+4", 4, true}, {"12x", 0, false},
		{"x", 0, false}, {"99999999999999999999", 0, false}, {"2147483648", 2147483648, true},
	}
	for _, tc := range tests {
		v, ok := strtolWhole(tc.in)
		assert.Equal(t, tc.ok, ok, tc.in)
		assert.Equal(t, tc.want, v, tc.in)
	}
}
