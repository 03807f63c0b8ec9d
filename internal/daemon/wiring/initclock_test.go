package wiring

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/daemon"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
)

// fakeRTC is an RTC reading a fixed offset from the system time.
type fakeRTC struct {
	offset time.Duration
	err    error
}

func (f fakeRTC) ReadNow(sysNow func() time.Time) (time.Time, time.Time, error) {
	if f.err != nil {
		return time.Time{}, time.Time{}, f.err
	}
	sys := sysNow()
	return sys.Add(f.offset).Truncate(time.Second), sys, nil
}

// TestSetInitialTime is chronyd -s on a virtual clock: set from the RTC
// when it reads, else from the drift file's time when the clock is behind
// it; nothing when neither is later; with -x (NoControl) the step is
// refused and logged.
func TestSetInitialTime(t *testing.T) {
	trueNow := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		rtc       RTCReader
		driftAge  time.Duration // drift file modified this long after trueNow (0: no file)
		noControl bool
		wantStep  float64 // seconds the clock moved forward (about)
		wantLog   string
	}{
		{"RTC ahead by 100 s", fakeRTC{offset: 100 * time.Second}, 0, false, 100.5, "System time set from RTC"},
		{"RTC within a second", fakeRTC{offset: 0}, 0, false, 0, ""},
		{"no RTC, drift file in the future", fakeRTC{err: errors.New("no rtc")}, time.Hour, false, 3600, "System time restored from driftfile"},
		{"no RTC, drift file in the past", nil, -time.Hour, false, 0, ""},
		{"RTC before the drift file", fakeRTC{offset: 10 * time.Second}, time.Hour, false, 3600, "RTC time before last driftfile modification (ignored)"},
		{"-x: step refused", nil, time.Hour, true, 0, "Could not step system clock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, hook := test.NewNullLogger()
			opts := clock.Options{Precision: 1e-9, Logger: log}
			var clk clock.Clock
			var virtual *clock.Virtual
			if tt.noControl {
				clk = clock.NewNoControl(func() time.Time { return trueNow }, opts)
			} else {
				v, err := clock.NewVirtual(func() time.Time { return trueNow }, 0, 0, opts)
				require.NoError(t, err)
				clk, virtual = v, v
			}
			cfg := conf.NewConfig()
			if tt.driftAge != 0 {
				cfg.DriftFile.Path = filepath.Join(t.TempDir(), "drift")
				require.NoError(t, os.WriteFile(cfg.DriftFile.Path, []byte("0 0\n"), 0o644))
				mtime := trueNow.Add(tt.driftAge)
				require.NoError(t, os.Chtimes(cfg.DriftFile.Path, mtime, mtime))
			}
			before := clk.ReadCooked()
			setInitialTime(clk, cfg, tt.rtc, log)
			moved := clk.ReadCooked().Sub(before).Seconds()
			assert.InDelta(t, tt.wantStep, moved, 1, "clock moved %.3f s", moved)
			if virtual != nil && tt.wantStep == 0 {
				assert.Zero(t, virtual.Kernel.Steps())
			}
			var msgs []string
			for _, e := range hook.AllEntries() {
				msgs = append(msgs, e.Message)
			}
			if tt.wantLog != "" {
				assert.Contains(t, msgs, tt.wantLog)
			} else {
				assert.Empty(t, msgs)
			}
		})
	}
}

// TestRestartedOption is chronyd -R: initstepslew is dropped and a
// positive makestep limit becomes 0; a negative one stays.
func TestRestartedOption(t *testing.T) {
	tests := []struct {
		name      string
		lines     []string
		restarted bool
		wantLimit int
		wantInit  bool
	}{
		{"without -R", []string{"makestep 1 3", "initstepslew 10 198.51.100.1"}, false, 3, true},
		{"-R", []string{"makestep 1 3", "initstepslew 10 198.51.100.1"}, true, 0, false},
		{"-R keeps an unlimited makestep", []string{"makestep 1 -1"}, true, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := daemon.DefaultOptions("")
			opts.Restarted = tt.restarted
			var got *conf.Config
			load := NewLoaderFor(func(in EngineInputs) (Engine, error) {
				got = in.Config
				return nil, errors.New("stop here")
			}, opts)
			loaded, err := load("", tt.lines)
			require.NoError(t, err)
			_, err = loaded.Build(daemon.Resources{Log: logrus.New()})
			require.Error(t, err)
			require.NotNil(t, got)
			assert.Equal(t, tt.wantLimit, got.MakeStep.Limit)
			assert.Equal(t, tt.wantInit, got.InitStepSlew != nil)
		})
	}
}

// TestRTCOnUTC checks rtconutc and hwclockfile's LOCAL/UTC line.
func TestRTCOnUTC(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		return path
	}
	utc := write("utc", "0.0 0 0.0\n0\nUTC\n")
	local := write("local", "0.0 0 0.0\n0\nLOCAL\n")
	broken := write("broken", "0.0 0 0.0\n")
	tests := []struct {
		name    string
		lines   []string
		want    bool
		wantLog bool
	}{
		{"local without an adjtime file", []string{"hwclockfile " + filepath.Join(dir, "none")}, false, false},
		{"rtconutc without an adjtime file", []string{"rtconutc", "hwclockfile " + filepath.Join(dir, "none")}, true, false},
		{"hwclockfile UTC", []string{"hwclockfile " + utc}, true, false},
		{"hwclockfile LOCAL wins over rtconutc", []string{"rtconutc", "hwclockfile " + local}, false, false},
		{"unreadable setting", []string{"rtconutc", "hwclockfile " + broken}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := conf.Load("", tt.lines)
			require.NoError(t, err)
			log, hook := test.NewNullLogger()
			assert.Equal(t, tt.want, rtcOnUTC(cfg, log))
			assert.Equal(t, tt.wantLog, len(hook.AllEntries()) > 0)
		})
	}
}
