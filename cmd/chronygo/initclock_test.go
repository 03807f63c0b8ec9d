package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/testutil"
)

// TestInitialClockFromDriftFile runs chronygo -x -s: a drift file
// modified in the future makes it try to move the clock forward, which -x
// refuses with chronyd's message ("Could not step system clock"); a drift
// file from the past leaves the clock alone. -R is accepted silently.
func TestInitialClockFromDriftFile(t *testing.T) {
	testutil.RequireRoot(t)
	tests := []struct {
		name     string
		modified time.Duration
		wantTry  bool
	}{
		{"drift file in the future", 2 * time.Hour, true},
		{"drift file in the past", -2 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testutil.PrivateDir(t)
			drift := filepath.Join(dir, "drift")
			require.NoError(t, os.WriteFile(drift, []byte("1.0 0.1\n"), 0o644))
			mtime := time.Now().Add(tt.modified)
			require.NoError(t, os.Chtimes(drift, mtime, mtime))
			p := newPrivate(t, "local stratum 10", "driftfile "+drift)
			before := time.Now()
			r := runBinary(t, nil, "-d", "-x", "-s", "-R", "-t", "0", "-f", p.conf)
			require.Equal(t, 0, r.status, r.stderr)
			assert.Equal(t, tt.wantTry, strings.Contains(r.stderr, "Could not step system clock"), r.stderr)
			assert.NotContains(t, r.stderr, "System time restored from driftfile")
			assert.NotContains(t, r.stderr, "Option -")
			assert.WithinDuration(t, before, time.Now(), 20*time.Second, "the real clock was not touched")
		})
	}
}
