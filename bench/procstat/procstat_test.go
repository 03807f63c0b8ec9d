package procstat

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    time.Duration
		wantErr bool
	}{
		{"plain", "1234 (chronyd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 100 1000 200\n", 3250 * time.Millisecond, false},
		{"name with spaces and parens", "99 (a (b) c) R 1 2 3 0 -1 0 0 0 0 0 7 3 0 0 20 0 2 0\n", 100 * time.Millisecond, false},
		{"no name", "99 chronyd S 1", 0, true},
		{"short", "99 (x) S 1 2 3", 0, true},
		{"bad number", "99 (x) S 1 2 3 0 -1 0 0 0 0 0 x 3 0 0", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tc.text))
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseRSS(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    uint64
		wantErr bool
	}{
		{"present", "Name:\tchronyd\nVmPeak:\t  9000 kB\nVmRSS:\t    3412 kB\nThreads:\t1\n", 3412 * 1024, false},
		{"missing (zombie)", "Name:\tx\nState:\tZ\n", 0, true},
		{"bad unit", "VmRSS:\t 12 MB\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRSS([]byte(tc.text))
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseSchedstat(t *testing.T) {
	got, err := ParseSchedstat([]byte("202755741 48552167 477\n"))
	require.NoError(t, err)
	assert.Equal(t, 202755741*time.Nanosecond, got)
	_, err = ParseSchedstat([]byte(""))
	assert.Error(t, err)
	_, err = ParseSchedstat([]byte("x 1 2"))
	assert.Error(t, err)
}

func TestOwnProcess(t *testing.T) {
	pid := os.Getpid()
	rss, err := RSS(pid)
	require.NoError(t, err)
	assert.Greater(t, rss, uint64(1<<20))
	ticksBefore, err := CPUTime(pid)
	require.NoError(t, err)
	runBefore, err := RunTime(pid)
	require.NoError(t, err)
	// Spin until the run time shows 30 ms more CPU, for at most 10 s of
	// wall time (the machine may be busy).
	deadline := time.Now().Add(10 * time.Second)
	var run time.Duration
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
		if x%100000 == 0 {
			if run, err = RunTime(pid); err == nil && run-runBefore >= 30*time.Millisecond {
				break
			}
		}
	}
	assert.GreaterOrEqual(t, run-runBefore, 30*time.Millisecond, "the busy loop ran on a CPU")
	ticksAfter, err := CPUTime(pid)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, ticksAfter, ticksBefore)
}
