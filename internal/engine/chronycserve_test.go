package engine_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/internal/testutil"
	"github.com/chronygo/chronygo/pkg/cmdmon"
)

// requireStockChronyc skips (or fails under CI) without Debian's chronyc.
func requireStockChronyc(t *testing.T) {
	t.Helper()
	testutil.RequireTool(t, testutil.ChronycPath)
}

// lockedCaller runs every chronyc request under one mutex: it stands in
// for the loop of a simulated engine, which nothing else drives meanwhile.
func lockedCaller() engine.Caller {
	var mu sync.Mutex
	return func(fn func()) error {
		mu.Lock()
		defer mu.Unlock()
		fn()
		return nil
	}
}

// serveCommands starts the real command server for h on a private Unix
// socket, closed when the test ends, and returns the socket's path.
func serveCommands(t *testing.T, h cmdmon.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "run", "chronyd.sock")
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	srv, err := cmdmon.NewServer(h, cmdmon.Config{SocketPath: sock, UID: os.Getuid(), GID: os.Getgid(), Log: log})
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(func() { _ = srv.Close() })
	return sock
}

// stockChronyc runs Debian's chronyc against sock and returns what it
// printed, whatever its exit status (an error answer such as 505 or 513
// exits 1 and is what some tests expect).
func stockChronyc(t *testing.T, sock string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, testutil.ChronycPath, append([]string{"-h", sock}, args...)...).CombinedOutput()
	t.Logf("chronyc %v:\n%s", args, out)
	return string(out)
}
