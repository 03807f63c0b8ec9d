package chronyc

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFormatInterval(t *testing.T) {
	cases := []struct {
		in   uint32
		want string
	}{
		{0, "   0"}, {1199, "1199"}, {1200, " 20m"}, {35999, "599m"}, {36000, " 10h"},
		{345599, " 95h"}, {345600, "  4d"}, {86400 * 999, "999d"}, {86400 * 1000, "  2y"},
		{math.MaxUint32, "   -"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, FormatInterval(c.in), "%d", c.in)
	}
}

func TestFormatDuration(t *testing.T) {
	cases := []struct {
		in            float64
		signed, plain string
	}{
		{0, "   +0ns", "   0ns"},
		{123e-9, " +123ns", " 123ns"},
		{-9999.4e-9, "-9999ns", "9999ns"},
		{9999.5e-9, "  +10us", "  10us"},
		{-1.5e-6, "-1500ns", "1500ns"},
		{42.4e-6, "  +42us", "  42us"},
		{0.0123, "  +12ms", "  12ms"},
		{-0.0025, "-2500us", "2500us"},
		{9.9994, "+9999ms", "9999ms"},
		{9.9995, " +10.0s", " 10.0s"},
		{-123.45, "-123.5s", "123.5s"},
		{999.5, " +1000s", " 1000s"},
		{99999.4, "+99999s", "99999s"},
		{99999.5, " +1667m", " 1667m"},
		{-7200000, " -2000h", " 2000h"},
		{99999.5 * 3600, " +4167d", " 4167d"},
		{1e11, " +3171y", " 3171y"},
	}
	for _, c := range cases {
		assert.Equal(t, c.signed, FormatSignedDuration(c.in), "signed %g", c.in)
		assert.Equal(t, c.plain, FormatDuration(c.in), "plain %g", c.in)
	}
}

func TestFormatFreq(t *testing.T) {
	assert.Equal(t, "     1.234", FormatFreq(1.2344, false))
	assert.Equal(t, "    -1.235", FormatFreq(-1.2346, false))
	assert.Equal(t, "    +0.000", FormatFreq(0, true))
	assert.Equal(t, "+99999.499", FormatFreq(99999.499, true))
	assert.Equal(t, "    100000", FormatFreq(99999.5, false))
	assert.Equal(t, "   -123457", FormatFreq(-123456.7, true))
}

func TestSmallFormatters(t *testing.T) {
	assert.Equal(t, " -", FormatClientInterval(127))
	assert.Equal(t, "-3", FormatClientInterval(-3))
	assert.Equal(t, " 6", FormatClientInterval(6))
	assert.Equal(t, "Not synchronised", LeapName(3, false))
	assert.Equal(t, "?", LeapName(3, true))
	assert.Equal(t, "+", LeapName(1, true))
	assert.Equal(t, "Invalid", LeapName(7, false))
	assert.Equal(t, "Server", ModeName(4))
	assert.Equal(t, "Symmetric passive", ModeName(2))
	assert.Equal(t, "Invalid", ModeName(0))
	assert.Equal(t, "Kernel", TimestampSourceName('K'))
	assert.Equal(t, "Invalid", TimestampSourceName(0))
	assert.Equal(t, "GPS", RefIDText(0x47505300))
	assert.Equal(t, "", RefIDText(0x7f7f0101))
	assert.Equal(t, "PPS1", RefIDText(0x50505331))
	assert.Equal(t, "ntp1.example.co>", TruncateName("ntp1.example.com.invalid", 16))
	assert.Equal(t, "short", TruncateName("short", 25))
	assert.Equal(t, "long-name", TruncateName("long-name", 0))
}
