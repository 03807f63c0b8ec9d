package reference

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/chronygo/chronygo/internal/testutil"
)

// recordingLogger keeps every message, for tests on what is logged.
type recordingLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *recordingLogger) add(level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+": "+fmt.Sprintf(format, args...))
}

func (l *recordingLogger) Infof(format string, args ...any)  { l.add("info", format, args...) }
func (l *recordingLogger) Warnf(format string, args ...any)  { l.add("warn", format, args...) }
func (l *recordingLogger) Errorf(format string, args ...any) { l.add("error", format, args...) }

func (l *recordingLogger) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// TestBadDriftFileAtStartIsRejected starts the reference on truncated,
// garbage and non-finite drift files: each is refused with chronyd's
// warning and the clock keeps its frequency (the NaN and Inf cases are
// regressions found by FuzzParseDrift).
func TestBadDriftFileAtStartIsRejected(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
	}{
		{"empty", []byte{}},
		{"one number", []byte("           -0.036926")},
		{"truncated second number", []byte("           -0.036926  0.1x")},
		{"binary garbage", []byte{0, 0xff, 0x13, '\n', 0x80, 'a', 'b'}},
		{"NaN", []byte("nan nan\n")},
		{"infinite frequency", []byte("inf 0.1\n")},
		{"infinite skew", []byte("1.0 -Inf\n")},
		{"out of float range", []byte("1e400 1\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "drift")
			require.NoError(t, os.WriteFile(path, tc.content, 0o644))
			log := &recordingLogger{}
			w := &world{t: testStart}
			v, err := clock.NewVirtual(w.now, 0, 0, clock.Options{})
			require.NoError(t, err)
			New(w.t, v, Options{Drift: DriftFile{Path: path}, Logger: log})
			assert.Contains(t, log.text(), "Could not read valid frequency and skew from driftfile "+path)
			assert.Zero(t, v.Frequency(), "a rejected drift file must not set the frequency")
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, tc.content, got, "reading must not alter the file")
		})
	}
}

// TestDriftSaveFailureKeepsOldFile makes the drift file's folder full or
// read-only and checks that a failed save reports an error, keeps the old
// file byte for byte and leaves no temporary file behind. As root it uses a
// 16 KiB tmpfs (filled up, then remounted read-only), since root ignores a
// folder's permission bits; otherwise it uses a 0500 folder.
func TestDriftSaveFailureKeepsOldFile(t *testing.T) {
	const old = "           12.345678             0.250000\n"
	if os.Geteuid() != 0 {
		t.Run("read-only folder", func(t *testing.T) {
			dir := t.TempDir()
			d := DriftFile{Path: filepath.Join(dir, "drift")}
			require.NoError(t, os.WriteFile(d.Path, []byte(old), 0o644))
			require.NoError(t, os.Chmod(dir, 0o500))
			t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
			assertSaveFailsKeepingOld(t, d, old)
		})
		return
	}
	dir := testutil.MountTinyTmpfs(t)
	d := DriftFile{Path: filepath.Join(dir, "drift")}
	require.NoError(t, os.WriteFile(d.Path, []byte(old), 0o644))

	t.Run("full disk", func(t *testing.T) {
		filler := filepath.Join(dir, "filler")
		testutil.FillDisk(t, filler)
		assertSaveFailsKeepingOld(t, d, old)
		require.NoError(t, os.Remove(filler))
		require.NoError(t, d.Save(1, 2), "saving works again once there is room")
		f, s, err := d.Load()
		require.NoError(t, err)
		assert.InDelta(t, 1, f, 1e-9)
		assert.InDelta(t, 2, s, 1e-9)
		require.NoError(t, os.WriteFile(d.Path, []byte(old), 0o644))
	})
	t.Run("read-only file system", func(t *testing.T) {
		require.NoError(t, unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""))
		t.Cleanup(func() { _ = unix.Mount("", dir, "", unix.MS_REMOUNT, "") })
		assertSaveFailsKeepingOld(t, d, old)
	})
}

func assertSaveFailsKeepingOld(t *testing.T, d DriftFile, old string) {
	t.Helper()
	err := d.Save(-3.5, 0.125)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "driftfile")
	got, rerr := os.ReadFile(d.Path)
	require.NoError(t, rerr)
	assert.Equal(t, old, string(got), "the old drift file must survive a failed save")
	_, serr := os.Stat(d.Path + ".tmp")
	assert.True(t, errors.Is(serr, os.ErrNotExist), "no temporary file may be left: %v", serr)
}

// TestHugeDriftIsClamped loads drift files with absurd but finite
// frequencies: as chronyd (LCL_SetAbsoluteFrequency clamps to maxdrift),
// the clock must never be set beyond maxdrift (default 500000 ppm), nor to
// a non-finite value.
func TestHugeDriftIsClamped(t *testing.T) {
	for _, content := range []string{"1e300 1\n", "-1e300 1\n", "123456789 0.1\n", "600 1e300\n", "-4.9e-324 0\n"} {
		t.Run(content, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "drift")
			require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
			w := &world{t: testStart}
			v, err := clock.NewVirtual(w.now, 0, 0, clock.Options{})
			require.NoError(t, err)
			New(w.t, v, Options{Drift: DriftFile{Path: path}})
			f := v.Frequency()
			assert.False(t, math.IsNaN(f) || math.IsInf(f, 0), "frequency %v", f)
			assert.LessOrEqual(t, math.Abs(f), clock.DefaultMaxDrift, "frequency %v ppm beyond maxdrift", f)
		})
	}
}
