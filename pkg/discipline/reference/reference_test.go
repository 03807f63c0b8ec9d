package reference

import (
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

type world struct {
	t   time.Time
	clk *clock.Virtual
	ref *Reference
}

func (w *world) now() time.Time { return w.t }

// advance moves true time on, running the clock's slew timers.
func (w *world) advance(sec float64) {
	end := addSeconds(w.t, sec)
	for i := 0; i < 100000 && w.t.Before(end); i++ {
		next, ok := w.clk.NextTimeout()
		step := end.Sub(w.t)
		if ok {
			if d := next.Sub(w.clk.ReadRaw()); d > 0 && d < step {
				step = d
			} else if d <= 0 {
				w.clk.HandleTimeout()
				continue
			}
		}
		w.t = w.t.Add(step)
	}
}

func newWorld(t *testing.T, start time.Time, timeErr float64, copts clock.Options, opts Options) *world {
	t.Helper()
	w := &world{t: start}
	v, err := clock.NewVirtual(w.now, timeErr, 0, copts)
	require.NoError(t, err)
	w.clk = v
	opts.Rand = func() float64 { return 0 }
	w.ref = New(w.t, v, opts)
	return w
}

var testStart = time.Unix(1700000000, 0)

func (w *world) update(offset float64) Update {
	return Update{
		Stratum: 1, Leap: discipline.LeapNormal, CombinedSources: 1,
		RefID: 0xC6336401, RefIP: netip.MustParseAddr("198.51.100.1"),
		RefTime: w.clk.ReadCooked(), Offset: offset, OffsetSD: 1e-4,
		Skew: 1e-6, RootDelay: 2e-3, RootDispersion: 1e-3,
	}
}

func TestMakeStep(t *testing.T) {
	tests := []struct {
		name      string
		threshold float64
		limit     int
		offsets   []float64
		steps     []bool
	}{
		{"makestep 1.0 3", 1, 3, []float64{2, 0.5, 2, 2, 3}, []bool{true, false, true, false, false}},
		{"makestep 1.0 -1", 1, -1, []float64{0.5, 2, 2, 0.9, 2}, []bool{false, true, true, false, true}},
		{"no makestep", 0, 0, []float64{2, 5}, []bool{false, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, testStart, 0, clock.Options{}, Options{MakeStepThreshold: tc.threshold, MakeStepLimit: tc.limit})
			steps := 0
			for i, off := range tc.offsets {
				w.advance(16)
				uncorrected, _ := w.clk.OffsetCorrection(w.clk.ReadRaw())
				res := w.ref.SetReference(w.t, w.update(off))
				require.True(t, res.Accepted)
				if tc.steps[i] {
					steps++
					assert.InDelta(t, off-uncorrected, res.Step, 1e-6, "update %d", i+1)
				} else {
					assert.Zero(t, res.Step, "update %d", i+1)
				}
				assert.Equal(t, steps, w.clk.Kernel.Steps(), "update %d", i+1)
			}
		})
	}
}

func TestMaxChange(t *testing.T) {
	w := newWorld(t, testStart, 0, clock.Options{}, Options{MaxChange: &MaxChange{Offset: 0.5, Delay: 1, Ignore: 1}})
	want := []struct {
		offset   float64
		accepted bool
		ended    bool
	}{
		{2, true, false},   // within the first (delay) updates
		{0.1, true, false}, // small
		{2, false, false},  // ignored once
		{2, false, true},   // then exit
	}
	for i, s := range want {
		w.advance(16)
		res := w.ref.SetReference(w.t, w.update(s.offset))
		assert.Equal(t, s.accepted, res.Accepted, "update %d", i+1)
		assert.Equal(t, s.ended, res.ModeEnded, "update %d", i+1)
		assert.False(t, res.ModeOK)
	}
	assert.Equal(t, ModeIgnore, w.ref.Mode())
}

type memDrift struct {
	freq, skew float64
	err        error
	saved      int
}

func (m *memDrift) Load() (float64, float64, error) { return m.freq, m.skew, m.err }
func (m *memDrift) Save(f, s float64) error {
	m.freq, m.skew = f, s
	m.saved++
	return nil
}

func TestFrequencySkewCombination(t *testing.T) {
	tests := []struct {
		name                   string
		measFreq, measSkew     float64
		wantFreqPPM, wantResid float64
		wantSkewPPM            float64
	}{
		// skew 10 ppm from the drift file; gain = 3*1e-10/(3e-10+1e-10) = 0.75
		{"equal skews", 2e-6, 1e-5, 1.5, 0.5, 10 + 1e6*math.Sqrt(1.5e-6*1.5e-6*0.25+0.5e-6*0.5e-6*0.75)},
		// gain = 3e-10/(3e-10+3e-10) = 0.5
		{"larger measured skew", -4e-6, math.Sqrt(3) * 1e-5, -2, -2,
			10 + 0.5*(math.Sqrt(3)*10-10) + 1e6*math.Sqrt(2e-6*2e-6*0.5+2e-6*2e-6*0.5)},
		// above maxupdateskew (1000 ppm): gain 0
		{"untrackable", 5e-6, 2e-3, 0, 5, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &world{t: testStart}
			v, err := clock.NewVirtual(w.now, 0, 0, clock.Options{})
			require.NoError(t, err)
			w.clk = v
			w.ref = New(w.t, v, Options{Drift: &memDrift{freq: 0, skew: 10}, Rand: func() float64 { return 0 }})
			u := w.update(0)
			u.Frequency, u.Skew = tc.measFreq, tc.measSkew
			w.ref.SetReference(w.t, u)
			tr := w.ref.Tracking(w.t)
			assert.InDelta(t, tc.wantFreqPPM, tr.FreqPPM, 1e-3)
			assert.InDelta(t, tc.wantResid, tr.ResidFreqPPM, 1e-6)
			assert.InDelta(t, tc.wantSkewPPM, tr.SkewPPM, 1e-6)
		})
	}
}

func TestDriftFileLoadedAndSaved(t *testing.T) {
	d := &memDrift{freq: -12.5, skew: 0.25}
	w := &world{t: testStart}
	v, err := clock.NewVirtual(w.now, 0, 0, clock.Options{})
	require.NoError(t, err)
	w.clk = v
	w.ref = New(w.t, v, Options{Drift: d, DriftInterval: 100, Rand: func() float64 { return 0 }})
	assert.InDelta(t, -12.5, v.Frequency(), 1e-4)
	assert.InDelta(t, 12.5e-6, v.TrueFrequencyError(), 1e-9)
	for i := 0; i < 3; i++ {
		w.advance(64)
		w.ref.SetReference(w.t, w.update(0))
	}
	assert.Equal(t, 1, d.saved)
	require.NoError(t, w.ref.Close())
	assert.Equal(t, 2, d.saved)
	assert.InDelta(t, v.Frequency(), d.freq, 1e-9)
}

func TestLocalReference(t *testing.T) {
	tests := []struct {
		name      string
		local     LocalOptions
		sync      bool
		after     float64
		wantLocal bool
		wantStrat int
	}{
		{"unsynchronised takes over at once", LocalOptions{Stratum: 10, Distance: 1, WaitUnsynced: -1}, false, 0, true, 10},
		{"orphan waits 300 s", LocalOptions{Stratum: 5, Orphan: true, Distance: 1, WaitUnsynced: -1}, false, 100, false, 16},
		{"orphan after 300 s", LocalOptions{Stratum: 5, Orphan: true, Distance: 1, WaitUnsynced: -1}, false, 301, true, 5},
		{"synchronised keeps source", LocalOptions{Stratum: 10, Distance: 1, WaitUnsynced: -1}, true, 10, false, 2},
		{"distance above threshold", LocalOptions{Stratum: 10, Distance: 1e-4, WaitUnsynced: -1}, true, 10, true, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.local
			w := newWorld(t, testStart, 0, clock.Options{}, Options{Local: &l})
			if tc.sync {
				w.ref.SetReference(w.t, w.update(0))
			}
			w.advance(tc.after)
			p := w.ref.Params(w.t, w.clk.ReadCooked())
			assert.Equal(t, tc.wantLocal, p.Local)
			assert.Equal(t, tc.wantStrat, p.Stratum)
			snap := w.ref.Snapshot(w.t)
			if tc.wantLocal {
				assert.Equal(t, discipline.LocalRefID, p.RefID)
				assert.Equal(t, uint8(tc.wantStrat), snap.Stratum)
				assert.True(t, snap.Synchronised)
				tr := w.ref.Tracking(w.t)
				assert.Equal(t, discipline.LocalRefID, tr.RefID)
				assert.False(t, tr.RefIP.IsValid())
			}
			if tc.sync && !tc.wantLocal {
				assert.Equal(t, uint32(0xC6336401), p.RefID)
			}
		})
	}
}

func TestRTCSyncThroughReference(t *testing.T) {
	w := newWorld(t, testStart, 0, clock.Options{RTCSync: true}, Options{})
	status, _, _ := w.clk.Kernel.Status()
	assert.NotZero(t, status&unix.STA_UNSYNC)
	w.ref.SetReference(w.t, w.update(1e-4))
	status, maxE, est := w.clk.Kernel.Status()
	assert.Zero(t, status&unix.STA_UNSYNC)
	assert.Less(t, maxE, int64(16000000))
	assert.Positive(t, maxE)
	assert.LessOrEqual(t, est, maxE)
	w.ref.SetUnsynchronised(w.t)
	status, _, _ = w.clk.Kernel.Status()
	assert.NotZero(t, status&unix.STA_UNSYNC)
}

func TestTrackingReport(t *testing.T) {
	var lines []string
	w := newWorld(t, testStart, 0, clock.Options{}, Options{TrackingLog: func(l string) { lines = append(lines, l) }})
	tr := w.ref.Tracking(w.t)
	assert.Equal(t, 0, tr.Stratum)
	assert.Equal(t, discipline.LeapUnsynchronised, tr.Leap)
	w.advance(64)
	w.ref.SetReference(w.t, w.update(0.002))
	w.advance(64)
	w.ref.SetReference(w.t, w.update(-0.001))
	tr = w.ref.Tracking(w.t)
	assert.Equal(t, 2, tr.Stratum)
	assert.Equal(t, "198.51.100.1", tr.RefIP.String())
	assert.Equal(t, discipline.LeapNormal, tr.Leap)
	assert.InDelta(t, -0.001, tr.LastOffset, 1e-9)
	assert.InDelta(t, 0.001, tr.RMSOffset, 1e-9) // second offset smaller: restarted average
	assert.InDelta(t, 64, tr.UpdateInterval, 1e-9)
	assert.InDelta(t, 2e-3, tr.RootDelay, 1e-12)
	require.Len(t, lines, 3)
	assert.True(t, strings.HasPrefix(lines[0], "2023-11-14 22:13:20 0.0.0.0          0"), lines[0])
	assert.Contains(t, lines[2], "198.51.100.1     2")
	assert.Contains(t, lines[2], " N  1 ")
}

func TestTrackingLogLine(t *testing.T) {
	got := TrackingLogLine(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "203.0.113.5", 3, -12.345, 0.05,
		1.5e-6, discipline.LeapInsertSecond, 2, 3e-7, -1e-6, 0.01, 0.002, 0.02)
	assert.Equal(t, "2024-01-02 03:04:05 203.0.113.5      3    -12.345      0.050  1.500e-06 +  2  3.000e-07 -1.000e-06  1.000e-02  2.000e-03  2.000e-02", got)
	assert.Equal(t, "MANU", RefIDString(ManualRefID))
}

func TestDriftFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "drift")
	d := DriftFile{Path: path}
	require.NoError(t, d.Save(-23.456789, 0.123))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "          -23.456789             0.123000\n", string(b))
	f, s, err := d.Load()
	require.NoError(t, err)
	assert.InDelta(t, -23.456789, f, 1e-9)
	assert.InDelta(t, 0.123, s, 1e-9)

	tests := []struct {
		text string
		ok   bool
	}{
		{"1.5 0.2\n", true},
		{"  -7 3e-1 extra\n", true},
		{"garbage\n", false},
		{"1.0\n", false},
		{"", false},
		{"1.0 x\n", false},
	}
	for _, tc := range tests {
		_, _, err := ParseDrift(tc.text)
		assert.Equal(t, tc.ok, err == nil, tc.text)
	}
	require.NoError(t, os.WriteFile(path, []byte("garbage\n"), 0o644))
	_, _, err = d.Load()
	assert.ErrorIs(t, err, ErrBadDriftFile)

	// A failed save is reported; that it keeps the old file is tested with
	// a full file system in drift_hostile_test.go.
	require.NoError(t, d.Save(1, 2))
	require.Error(t, DriftFile{Path: filepath.Join(filepath.Dir(path), "missing", "drift")}.Save(3, 4))
	f, _, err = d.Load()
	require.NoError(t, err)
	assert.InDelta(t, 1, f, 1e-9)
}

const sampleLeapList = `# sample
#$	 3913697179
#@	 4291747200
2272060800	10	# 1 Jan 1972
2287785600	11	# 1 Jul 1972
3644697600	35	# 1 Jul 2015
3692217600	37	# 1 Jan 2017
`

func fullLeapList() string {
	return `#$ 3913697179
#@ 4291747200
2272060800 10
2287785600 11
2303683200 12
2335219200 13
2366755200 14
2398291200 15
2429913600 16
2461449600 17
2492985600 18
2524521600 19
2571782400 20
2603318400 21
2634854400 22
2698012800 23
2776982400 24
2840140800 25
2871676800 26
2918937600 27
2950473600 28
2982009600 29
3029443200 30
3076704000 31
3124137600 32
3345062400 33
3439756800 34
3550089600 35
3644697600 36
3692217600 37
`
}

func TestLeapSecondsList(t *testing.T) {
	tbl, err := ParseLeapSecondsList(strings.NewReader(fullLeapList()))
	require.NoError(t, err)
	assert.True(t, CheckLeapSource(tbl))
	tests := []struct {
		when time.Time
		leap discipline.LeapStatus
		tai  int
	}{
		{time.Date(2016, 12, 31, 12, 0, 0, 0, time.UTC), discipline.LeapInsertSecond, 36},
		{time.Date(2017, 1, 1, 12, 0, 0, 0, time.UTC), discipline.LeapNormal, 37},
		{time.Date(2015, 6, 30, 0, 0, 0, 0, time.UTC), discipline.LeapInsertSecond, 35},
		{time.Date(2020, 6, 30, 0, 0, 0, 0, time.UTC), discipline.LeapNormal, 37},
	}
	for _, tc := range tests {
		leap, tai := tbl.Leap(tc.when)
		assert.Equal(t, tc.leap, leap, tc.when.String())
		assert.Equal(t, tc.tai, tai, tc.when.String())
	}
	assert.False(t, tbl.Expired(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
	assert.True(t, tbl.Expired(time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC)))

	small, err := ParseLeapSecondsList(strings.NewReader(sampleLeapList))
	require.NoError(t, err)
	assert.False(t, CheckLeapSource(small))

	for _, bad := range []string{"#$ 1\n2272060800 10\n", "#$ 1\n#@ 2\nfoo 10\n", "#$ x\n#@ 2\n"} {
		_, err := ParseLeapSecondsList(strings.NewReader(bad))
		assert.ErrorIs(t, err, ErrBadLeapList)
	}
}

func TestSystemLeapFiles(t *testing.T) {
	if _, err := os.Stat("/usr/share/zoneinfo/leap-seconds.list"); err == nil {
		tbl, err := LoadLeapSecondsList("/usr/share/zoneinfo/leap-seconds.list")
		require.NoError(t, err)
		assert.True(t, CheckLeapSource(tbl))
	} else {
		t.Log("no /usr/share/zoneinfo/leap-seconds.list")
	}
	if _, err := os.Stat("/usr/share/zoneinfo/right/UTC"); err == nil {
		tbl, err := LoadLeapTimezone("right/UTC", "/usr/share/zoneinfo")
		require.NoError(t, err)
		assert.True(t, CheckLeapSource(tbl))
	} else {
		t.Log("no right/UTC time zone")
	}
}

func TestLeapSecondModes(t *testing.T) {
	tbl, err := ParseLeapSecondsList(strings.NewReader(fullLeapList()))
	require.NoError(t, err)
	start := time.Date(2016, 12, 31, 23, 0, 0, 0, time.UTC)
	tests := []struct {
		mode      LeapMode
		wantError float64 // raw - true after the leap (true time has no 23:59:60)
		wantINS   bool
	}{
		{LeapModeSystem, -1, true},
		{LeapModeStep, -1, false},
		{LeapModeIgnore, 0, false},
	}
	for _, tc := range tests {
		w := newWorld(t, start, 0, clock.Options{}, Options{Leap: tbl, LeapMode: tc.mode})
		w.ref.SetReference(w.t, w.update(0))
		assert.Equal(t, discipline.LeapInsertSecond, w.ref.Tracking(w.t).Leap)
		status, _, _ := w.clk.Kernel.Status()
		assert.Equal(t, tc.wantINS, status&unix.STA_INS != 0)
		for i := 0; i < 10; i++ {
			next, ok := w.ref.NextTimeout()
			if !ok || next.After(start.Add(2*time.Hour)) {
				break
			}
			w.advance(math.Max(0, next.Sub(w.clk.ReadCooked()).Seconds()))
			w.ref.HandleTimeout(w.t)
		}
		w.advance(10)
		assert.InDelta(t, tc.wantError, w.clk.TrueTimeError(), 1e-3, "mode %d", tc.mode)
		assert.Equal(t, discipline.LeapNormal, w.ref.Tracking(w.t).Leap)
	}
}
