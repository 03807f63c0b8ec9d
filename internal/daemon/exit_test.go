package daemon

import (
	"context"
	"io"
	"os/user"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exitingComponent asks the daemon to exit with a status once started.
type exitingComponent struct {
	exit   func(int)
	status int
	closed bool
}

func (c *exitingComponent) Name() string { return "exiting" }
func (c *exitingComponent) Start(context.Context) error {
	go func() {
		c.exit(c.status)
		c.exit(c.status + 1) // later requests are ignored
	}()
	return nil
}
func (c *exitingComponent) Close() error { c.closed = true; return nil }

func TestComponentEndsDaemonWithStatus(t *testing.T) {
	me, err := user.Current()
	require.NoError(t, err)
	for _, status := range []int{0, 1} {
		comp := &exitingComponent{status: status}
		hookRan := false
		load := func(string, []string) (*Loaded, error) {
			return &Loaded{
				Settings: Settings{User: me.Username},
				Build: func(r Resources) (Components, error) {
					comp.exit = r.Exit
					r.OnShutdown(func() error { hookRan = true; return nil })
					return Components{Privileged: []Component{comp}}, nil
				},
			}, nil
		}
		opts := DefaultOptions("")
		opts.SystemLog, opts.NoFork, opts.Timeout = false, true, 20
		opts.User = me.Username
		done := make(chan int, 1)
		go func() { done <- Run(context.Background(), opts, load, Process{Stdout: io.Discard, Stderr: io.Discard}) }()
		select {
		case got := <-done:
			assert.Equal(t, status, got)
		case <-time.After(10 * time.Second):
			t.Fatal("the daemon did not exit on request")
		}
		assert.True(t, comp.closed, "components closed")
		assert.True(t, hookRan, "shutdown hooks run")
	}
}
