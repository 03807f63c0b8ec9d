package rtc

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChooseMode(t *testing.T) {
	has := func(string) bool { return true }
	none := func(string) bool { return false }
	tests := []struct {
		name    string
		cfg     Config
		usable  func(string) bool
		want    Mode
		wantErr bool
	}{
		{"nothing", Config{}, has, ModeNone, false},
		{"rtcsync", Config{Sync: true}, none, ModeKernelSync, false},
		{"rtcfile with device", Config{File: "/var/lib/chrony/rtc"}, has, ModeTracking, false},
		{"rtcfile without device answers NORTC", Config{File: "/var/lib/chrony/rtc"}, none, ModeNone, true},
		{"rtcfile with rtcsync", Config{File: "/x", Sync: true}, has, ModeNone, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ChooseMode(tc.cfg, tc.usable)
			assert.Equal(t, tc.want, m)
			assert.Equal(t, tc.wantErr, err != nil)
		})
	}
	var seen string
	_, _ = ChooseMode(Config{File: "/x", Device: "/dev/rtc1"}, func(p string) bool { seen = p; return true })
	assert.Equal(t, "/dev/rtc1", seen)
	_, _ = ChooseMode(Config{File: "/x"}, func(p string) bool { seen = p; return true })
	assert.Equal(t, DefaultDevice, seen)
}

func TestCoefs(t *testing.T) {
	c := Coefs{Valid: true, RefTime: time.Unix(1700000000, 0).UTC(), Offset: -1.25, GainRatePPM: 3.5}
	text := FormatCoefs(c)
	assert.Equal(t, "1 1700000000 -1.250000 3.500\n", text)
	got, err := ParseCoefs(text)
	require.NoError(t, err)
	assert.Equal(t, c, got)
	for _, bad := range []string{"", "1 2 3", "x 1 2 3", "1 2 3 y"} {
		_, err := ParseCoefs(bad)
		assert.ErrorIs(t, err, ErrBadCoefs, bad)
	}
	path := filepath.Join(t.TempDir(), "rtc")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	got, err = LoadCoefs(path)
	require.NoError(t, err)
	r := ReportFromCoefs(got)
	assert.Equal(t, -1.25, r.SecondsFast)
	assert.Equal(t, 3.5, r.GainRatePPM)
}

func TestParseHwclock(t *testing.T) {
	tests := []struct {
		text    string
		utc, ok bool
	}{
		{"0.0 0 0.0\n0\nUTC\n", true, true},
		{"0.0 0 0.0\n0\nLOCAL\n", false, true},
		{"0.0 0 0.0\n0\n", false, false},
		{"a\nb\nweird\n", false, false},
	}
	for _, tc := range tests {
		utc, ok := ParseHwclock(tc.text)
		assert.Equal(t, tc.utc, utc, tc.text)
		assert.Equal(t, tc.ok, ok, tc.text)
	}
}
