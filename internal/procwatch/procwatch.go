// Package procwatch follows a started child process: it waits for it in the
// background, tells whether it has exited and stops it, first with SIGTERM
// and after a grace period with SIGKILL. It serves the daemons that tests,
// benchmarks and the soak start.
package procwatch

import (
	"os/exec"
	"syscall"
	"time"
)

// Watched is a started process being waited for.
type Watched struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Watch waits for cmd, which must have been started, in the background.
func Watch(cmd *exec.Cmd) *Watched {
	w := &Watched{cmd: cmd, done: make(chan struct{})}
	go func() {
		w.err = cmd.Wait()
		close(w.done)
	}()
	return w
}

// Done is closed when the process has exited.
func (w *Watched) Done() <-chan struct{} { return w.done }

// Exited reports whether the process has ended.
func (w *Watched) Exited() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// Err is what waiting for the process returned; valid once Exited.
func (w *Watched) Err() error {
	<-w.done
	return w.err
}

// Stop ends the process: SIGTERM, then SIGKILL when it has not exited
// after grace. It returns once the process has exited.
func (w *Watched) Stop(grace time.Duration) {
	if w.Exited() {
		return
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(grace):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
}
