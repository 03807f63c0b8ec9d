package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// ReadyFDEnv marks the re-executed daemon process and names the file
// descriptor of the pipe on which it reports readiness to the process that
// started it. Go cannot fork a running runtime, so detaching re-executes the
// program in a new session instead of forking.
const ReadyFDEnv = "CHRONYGO_READY_FD"

// ReadyPipe is the daemon's side of the readiness pipe: it reports once,
// either that the daemon is serving or why it failed. A nil *ReadyPipe (a
// daemon that was not detached) ignores reports.
type ReadyPipe struct {
	f *os.File
}

// DetachedChild returns the readiness pipe when this process is the
// re-executed daemon, and removes the marker from the environment so that
// programs the daemon runs do not inherit it. It returns nil otherwise.
func DetachedChild() *ReadyPipe {
	v, ok := os.LookupEnv(ReadyFDEnv)
	if !ok {
		return nil
	}
	os.Unsetenv(ReadyFDEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	return &ReadyPipe{f: os.NewFile(uintptr(fd), "ready-pipe")}
}

// Ready tells the waiting parent that the daemon is serving.
func (p *ReadyPipe) Ready() error { return p.report("") }

// Fail hands msg to the waiting parent, which prints it and exits 1.
func (p *ReadyPipe) Fail(msg string) error { return p.report(msg) }

func (p *ReadyPipe) report(msg string) error {
	if p == nil || p.f == nil {
		return nil
	}
	defer func() {
		p.f.Close()
		p.f = nil
	}()
	if _, err := p.f.Write(append([]byte(msg), 0)); err != nil {
		return fmt.Errorf("could not notify the parent process: %w", err)
	}
	return nil
}

// Detach starts this program again as a daemon in its own session, with its
// standard streams on /dev/null and / as working folder, and waits until the
// daemon reports. It returns the exit status for the foreground process: 0
// once the daemon is ready, 1 after printing the daemon's error on stderr.
func Detach(args []string, stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "%sCould not find own executable : %v\n", FatalPrefix, err)
		return 1
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "%spipe() failed : %v\n", FatalPrefix, err)
		return 1
	}
	defer r.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		fmt.Fprintf(stderr, "%sCould not open %s : %v\n", FatalPrefix, os.DevNull, err)
		return 1
	}
	defer devnull.Close()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), ReadyFDEnv+"=3")
	cmd.Dir = "/"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		fmt.Fprintf(stderr, "%sCould not start daemon process : %v\n", FatalPrefix, err)
		return 1
	}
	// The daemon outlives us; release it rather than waiting for it.
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	return awaitReady(r, pid, stderr)
}

// awaitReady reads the daemon's single report from the pipe.
func awaitReady(r io.Reader, pid int, stderr io.Writer) int {
	msg, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString(0)
	switch {
	case err == nil && msg == "\x00":
		return 0
	case err == nil || (errors.Is(err, io.EOF) && msg != ""):
		fmt.Fprintln(stderr, trimNul(msg))
	default:
		fmt.Fprintf(stderr, "Daemon process %d exited before it was ready; see the system log\n", pid)
	}
	return 1
}

func trimNul(s string) string {
	if n := len(s); n > 0 && s[n-1] == 0 {
		return s[:n-1]
	}
	return s
}
