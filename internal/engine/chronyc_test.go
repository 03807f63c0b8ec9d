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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/pkg/cmdmon"
)

const chronycPath = "/usr/bin/chronyc"

// TestStockChronycReadsTheEngine answers Debian's chronyc from an engine
// synchronised on virtual time, through the real command server on a
// private Unix socket.
func TestStockChronycReadsTheEngine(t *testing.T) {
	if _, err := os.Stat(chronycPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required on CI: %v", chronycPath, err)
		}
		t.Skipf("%s not installed: %v", chronycPath, err)
	}
	s, n := world(t, 3, 1, "", nil)
	s.Run(2000)
	var mu sync.Mutex
	ctrl := engine.NewControl(n.Engine(), func(fn func()) error {
		mu.Lock()
		defer mu.Unlock()
		fn()
		return nil
	}, nil)
	sock := filepath.Join(t.TempDir(), "run", "chronyd.sock")
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	srv, err := cmdmon.NewServer(ctrl, cmdmon.Config{SocketPath: sock, UID: os.Getuid(), GID: os.Getgid(), Log: log})
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(func() { _ = srv.Close() })

	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"tracking"}, []string{"Reference ID    : CB0071", "Stratum         : 2", "Leap status     : Normal"}},
		{[]string{"-n", "sources"}, []string{"^x 203.0.113.1", "203.0.113.2", "203.0.113.3", "377"}},
		{[]string{"-n", "sourcestats"}, []string{"203.0.113.2"}},
		{[]string{"-n", "selectdata"}, []string{"x 203.0.113.1"}},
		{[]string{"-n", "ntpdata", "203.0.113.2"}, []string{"Remote address  : 203.0.113.2", "Stratum         : 1"}},
		{[]string{"activity"}, []string{"3 sources online"}},
		{[]string{"-n", "sourcename", "203.0.113.3"}, []string{"203.0.113.3"}},
		{[]string{"reselect"}, []string{"200 OK"}},
		{[]string{"burst", "2/4"}, []string{"200 OK"}},
		{[]string{"minpoll", "203.0.113.3", "5"}, []string{"200 OK"}},
		{[]string{"delete", "203.0.113.9"}, []string{"503 No such source"}},
	}
	for _, tc := range tests {
		t.Run(tc.args[len(tc.args)-1], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := append([]string{"-h", sock}, tc.args...)
			out, _ := exec.CommandContext(ctx, chronycPath, args...).CombinedOutput()
			t.Logf("%s", out)
			for _, w := range tc.want {
				assert.Contains(t, string(out), w, "chronyc %v", tc.args)
			}
		})
	}
}
