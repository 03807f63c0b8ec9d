package testutil

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLockSuite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "suite.lock")
	release, busy := LockSuite(path, "the suite")
	assert.Empty(t, busy, "the first run takes the lock")
	_, busy = LockSuite(path, "the suite")
	assert.Contains(t, busy, "another run of the suite holds "+path, "a second run is told the lock is held")
	release()
	releaseAgain, busy := LockSuite(path, "the suite")
	assert.Empty(t, busy, "free again once released")
	releaseAgain()

	_, busy = LockSuite(filepath.Join(t.TempDir(), "missing", "suite.lock"), "the suite")
	assert.Contains(t, busy, "cannot open", "an unusable path is reported")
}
