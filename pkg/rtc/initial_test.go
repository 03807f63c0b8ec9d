package rtc

import (
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRestoreFromDriftfileTime(t *testing.T) {
	start := time.Unix(1000000000, 0)
	tests := []struct {
		name     string
		mtime    time.Time
		stepped  bool
		wantTime time.Time
	}{
		{"drift file in the future", start.Add(time.Hour), true, start.Add(time.Hour)},
		{"drift file in the past", start.Add(-time.Hour), false, start},
		{"no drift file", time.Time{}, false, start},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := start
			v, err := clock.NewVirtual(func() time.Time { return now }, 0, 0, clock.Options{})
			require.NoError(t, err)
			stepped, err := RestoreFromDriftfileTime(v, tc.mtime)
			require.NoError(t, err)
			assert.Equal(t, tc.stepped, stepped)
			assert.Equal(t, tc.wantTime, v.ReadRaw())
		})
	}
}

func TestSetFromRTC(t *testing.T) {
	start := time.Unix(1000000000, 0)
	coefs := Coefs{Valid: true, RefTime: start.Add(-1000 * time.Second), Offset: 2, GainRatePPM: 1000}
	tests := []struct {
		name        string
		rtc         time.Time
		coefs       Coefs
		mtime       time.Time
		wantStepped bool
		wantOK      bool
		wantRaw     time.Time
	}{
		// RTC 10 s ahead, no coefficients: system set to rtc + 0.5 s.
		{"plain RTC", start.Add(10 * time.Second), Coefs{}, time.Time{}, true, true, start.Add(10500 * time.Millisecond)},
		// Accumulated error 2 + 1010 s × 1000 ppm = 3.01 s.
		{"with coefficients", start.Add(10 * time.Second), coefs, time.Time{}, true, true, start.Add(7490 * time.Millisecond)},
		{"within a second", start.Add(-200 * time.Millisecond), Coefs{}, time.Time{}, false, true, start},
		{"before drift file", start, Coefs{}, start.Add(time.Hour), false, false, start},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := start
			v, err := clock.NewVirtual(func() time.Time { return now }, 0, 0, clock.Options{})
			require.NoError(t, err)
			stepped, ok, err := SetFromRTC(v, tc.rtc, v.ReadRaw(), tc.coefs, tc.mtime)
			require.NoError(t, err)
			assert.Equal(t, tc.wantStepped, stepped)
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.wantRaw, v.ReadRaw())
		})
	}
}
