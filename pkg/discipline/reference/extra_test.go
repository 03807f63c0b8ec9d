package reference

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadLeapSource(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.list")
	bad := filepath.Join(dir, "bad.list")
	require.NoError(t, os.WriteFile(good, []byte(fullLeapList()), 0o644))
	require.NoError(t, os.WriteFile(bad, []byte(sampleLeapList), 0o644))
	tests := []struct {
		name, tz, list string
		want           bool
	}{
		{"none", "", "", false},
		{"good list", "", good, true},
		{"list failing check", "", bad, false},
		{"missing list", "", filepath.Join(dir, "missing"), false},
		{"missing zone", "right/Nowhere", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := LoadLeapSource(tc.tz, tc.list, dir, nil)
			assert.Equal(t, tc.want, src != nil)
		})
	}
}

func TestMailOnChange(t *testing.T) {
	w := newWorld(t, testStart, 0, clock.Options{}, Options{MailOnChange: true, MailChangeThreshold: 0.5})
	res := w.ref.SetReference(w.t, w.update(0.1))
	assert.False(t, res.MailChange)
	assert.InDelta(t, 0.1, res.Offset, 1e-9)
	w.advance(16)
	res = w.ref.SetReference(w.t, w.update(-0.7))
	assert.True(t, res.MailChange)
}

type logRecorder struct{ lines []string }

func (l *logRecorder) Infof(f string, a ...any)  { l.add(f) }
func (l *logRecorder) Warnf(f string, a ...any)  { l.add(f) }
func (l *logRecorder) Errorf(f string, a ...any) { l.add(f) }
func (l *logRecorder) add(f string)              { l.lines = append(l.lines, f) }

func TestChronydWording(t *testing.T) {
	log := &logRecorder{}
	w := newWorld(t, testStart, 0, clock.Options{}, Options{MakeStepThreshold: 1, MakeStepLimit: 1, Logger: log})
	w.ref.SetReference(w.t, w.update(3))
	joined := strings.Join(log.lines, "\n")
	assert.Contains(t, joined, "System clock wrong by %.6f seconds")
	assert.Contains(t, joined, "System clock was stepped by %.6f seconds")
}

func TestFallbackDrift(t *testing.T) {
	w := newWorld(t, testStart, 0, clock.Options{}, Options{FallbackDriftMin: 4, FallbackDriftMax: 6})
	// Synchronised long enough at 20 ppm to fill the 16..64 s averages.
	w.clk.SetFrequency(20)
	for i := 0; i < 20; i++ {
		w.advance(16)
		w.ref.SetReference(w.t, w.update(0))
	}
	w.clk.SetFrequency(-5)
	w.advance(1)
	w.ref.SetUnsynchronised(w.t)
	for i := 0; i < 20; i++ {
		next, ok := w.ref.NextTimeout()
		if !ok {
			break
		}
		w.advance(next.Sub(w.clk.ReadCooked()).Seconds() + 1e-3)
		w.ref.HandleTimeout(w.t)
	}
	assert.InDelta(t, 20, w.clk.Frequency(), 1e-3)
}

func TestLeapSlewMode(t *testing.T) {
	tbl, err := ParseLeapSecondsList(strings.NewReader(fullLeapList()))
	require.NoError(t, err)
	start := time.Date(2016, 12, 31, 23, 59, 0, 0, time.UTC)
	w := newWorld(t, start, 0, clock.Options{}, Options{Leap: tbl, LeapMode: LeapModeSlew})
	w.ref.SetReference(w.t, w.update(0))
	next, ok := w.ref.NextTimeout()
	require.True(t, ok)
	assert.Equal(t, time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), next.UTC())
	w.advance(next.Sub(w.clk.ReadCooked()).Seconds())
	w.ref.HandleTimeout(w.t)
	p := w.ref.Params(w.t, w.clk.ReadCooked())
	assert.Equal(t, discipline.LeapUnsynchronised, p.Leap, "leap in progress")
	w.advance(30)
	// Slewing at 83333 ppm takes 12 s for one second.
	assert.InDelta(t, -1, w.clk.TrueTimeError(), 1e-3)
}

func TestSnapshotDispersionGrowth(t *testing.T) {
	w := newWorld(t, testStart, 0, clock.Options{}, Options{})
	u := w.update(0)
	u.Skew = 1e-6
	w.ref.SetReference(w.t, u)
	w.advance(100)
	snap := w.ref.Snapshot(w.t)
	cooked := w.clk.ReadCooked()
	tr := w.ref.Tracking(w.t)
	assert.InDelta(t, tr.RootDispersion, snap.RootDispersionAt(cooked), 1e-9)
	assert.Greater(t, tr.RootDispersion, u.RootDispersion+100*1e-6)
	assert.Equal(t, uint8(2), snap.Stratum)
	assert.Equal(t, int8(-30), snap.Precision)
}

// TestTrackingLogMatchesChronyd compares the first tracking.log line with
// the one chronyd 4.3 -x wrote with the same drift file (-12.345678 0.25)
// and "local stratum 10":
// 2026-11-25 18:45:08 0.0.0.0          0    -12.346      0.250  0.000e+00 ?  0  0.000e+00  3.883e-11  1.000e+00  1.000e+00  1.500e+00
func TestTrackingLogMatchesChronyd(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 45, 8, 0, time.UTC)
	var lines []string
	n := clock.NewNoControl(func() time.Time { return now }, clock.Options{})
	New(now, n, Options{
		Drift:       &memDrift{freq: -12.345678, skew: 0.25},
		Local:       &LocalOptions{Stratum: 10, Distance: 1, WaitUnsynced: -1},
		TrackingLog: func(l string) { lines = append(lines, l) },
	})
	require.Len(t, lines, 1)
	want := "2026-11-25 18:45:08 0.0.0.0          0    -12.346      0.250  0.000e+00 ?  0  0.000e+00 "
	assert.Equal(t, want, lines[0][:len(want)])
	assert.True(t, strings.HasSuffix(lines[0], "  1.000e+00  1.000e+00  1.500e+00"), lines[0])
}
