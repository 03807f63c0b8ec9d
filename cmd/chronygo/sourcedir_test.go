package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/testutil"
)

// TestReloadSources runs chronygo -x with a sourcedir against a real
// chronyd on loopback: a *.sources file written later is picked up by
// `chronyc reload sources` (the source is selected), and removing the file
// and reloading again removes the source, as chronyd does.
func TestReloadSources(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "chronyd")
	testutil.RequireTool(t, "chronyc")
	upPort := testutil.FreeUDPPort(t, "127.0.0.1")
	testutil.StartChronyd(t, nil, "local stratum 1", "allow 127.0.0.1", "cmdport 0",
		"bindaddress 127.0.0.1", "port "+strconv.Itoa(upPort))

	dir := filepath.Join(testutil.PrivateDir(t), "sources.d")
	require.NoError(t, os.Mkdir(dir, 0o755))
	// Files not ending in .sources are ignored.
	file := filepath.Join(dir, "upstream.sources")
	line := fmt.Sprintf("server 127.0.0.1 port %d iburst minpoll 0 maxpoll 0\n", upPort)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ignored.conf"), []byte(line), 0o644))
	p, out := startDaemon(t, nil, "port 0", "sourcedir "+dir)
	assert.NotContains(t, chronyc(t, p.sock, "-n", "sources"), "127.0.0.1")

	require.NoError(t, os.WriteFile(file, []byte(line), 0o644))
	assert.Contains(t, chronyc(t, p.sock, "reload", "sources"), "200 OK")
	selected := regexp.MustCompile(`(?m)^\^\* 127\.0\.0\.1\s`)
	sources, ok := waitForOutput(t, p.sock, selected, syncTimeout, "-n", "sources")
	require.True(t, ok, "source not selected after reload; chronyc:\n%s\nlog:\n%s", sources, out.String())
	assert.Contains(t, out.String(), "Added source 127.0.0.1")

	require.NoError(t, os.Remove(file))
	assert.Contains(t, chronyc(t, p.sock, "reload", "sources"), "200 OK")
	assert.NotContains(t, chronyc(t, p.sock, "-n", "sources"), "127.0.0.1")
	assert.Contains(t, out.String(), "Removed source 127.0.0.1")
}
