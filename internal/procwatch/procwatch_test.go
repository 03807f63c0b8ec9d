package procwatch

import (
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func start(t *testing.T, script string) *Watched {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	require.NoError(t, cmd.Start())
	w := Watch(cmd)
	t.Cleanup(func() { w.Stop(time.Second) })
	return w
}

func TestStop(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		grace   time.Duration
		maxTime time.Duration
	}{
		{"ends on SIGTERM", "sleep 30", 5 * time.Second, 4 * time.Second},
		{"killed after grace when SIGTERM is ignored", "trap '' TERM; sleep 30 & wait; sleep 30", 200 * time.Millisecond, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := start(t, tt.script)
			time.Sleep(100 * time.Millisecond) // let the shell install its trap
			assert.False(t, w.Exited())
			began := time.Now()
			w.Stop(tt.grace)
			assert.True(t, w.Exited())
			assert.Less(t, time.Since(began), tt.maxTime)
			assert.Error(t, w.Err(), "a signalled process reports an error")
		})
	}
}

func TestExitedAndErrOfFinishedProcess(t *testing.T) {
	w := start(t, "exit 3")
	select {
	case <-w.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("process did not exit")
	}
	assert.True(t, w.Exited())
	var exitErr *exec.ExitError
	require.ErrorAs(t, w.Err(), &exitErr)
	assert.Equal(t, 3, exitErr.ExitCode())
	w.Stop(time.Second) // a no-op once exited
}
