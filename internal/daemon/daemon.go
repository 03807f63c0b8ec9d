package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// Process holds what Run needs from the process around it; tests replace
// the streams.
type Process struct {
	// Stdout receives -p's output; Stderr the foreground log.
	Stdout, Stderr io.Writer
	// Ready is the pipe to the waiting foreground process when the daemon
	// was detached (nil otherwise).
	Ready *ReadyPipe
	// NotifySocket is $NOTIFY_SOCKET (empty when not run by systemd).
	NotifySocket string
	// ProgramName tags syslog messages.
	ProgramName string
}

// fatalError is a start-up failure, reported in chronyd's "Fatal error"
// shape; the process exits 1.
type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }

func fatalf(format string, args ...any) error {
	return &fatalError{msg: fmt.Sprintf(format, args...)}
}

// daemon is one run of the daemon: the options, the log, and what must be
// undone at shutdown.
type daemon struct {
	opts     Options
	proc     Process
	log      *logrus.Logger
	settings Settings
	pidFile  string
	started  []Component
	hooks    []func() error
}

// Run is chronyd's main sequence after option parsing: set up logging, load
// the configuration (print it for -p), refuse to run twice, write the pid
// file, open sockets, drop root, tell the waiting parent or systemd that
// the daemon serves, and serve until SIGTERM, SIGINT, SIGQUIT, SIGHUP or the
// -t timeout; then close everything and remove the pid file. It returns the
// process exit status.
func Run(ctx context.Context, opts Options, load Loader, proc Process) int {
	d := &daemon{opts: opts, proc: proc}
	logCloser, err := d.setupLog()
	if err != nil {
		fmt.Fprintf(proc.Stderr, "%s %s%v\n", time.Now().UTC().Format("2006-01-02T15:04:05Z"), FatalPrefix, err)
		_ = proc.Ready.Fail(FatalPrefix + err.Error())
		return 1
	}
	defer logCloser.Close()

	status, err := d.run(ctx, load)
	if err != nil {
		Fatal(d.log, "%s", err.Error())
		if proc.Ready != nil {
			_ = proc.Ready.Fail(err.Error())
		} else if opts.SystemLog && opts.LogFile == "" {
			// Like chronyd, a fatal error is also shown on stderr while it
			// is still the terminal.
			fmt.Fprintf(proc.Stderr, "%s%s\n", FatalPrefix, err)
		}
		d.shutdown()
		return 1
	}
	return status
}

func (d *daemon) setupLog() (io.Closer, error) {
	log, closer, err := NewLogger(LogTarget{
		File:   d.opts.LogFile,
		Syslog: d.opts.SystemLog,
		Tag:    d.proc.ProgramName,
		Stderr: d.proc.Stderr,
		Level:  LogLevel(d.opts.MinSeverity()),
	})
	if err != nil {
		return nil, err
	}
	d.log = log
	return closer, nil
}

func (d *daemon) run(ctx context.Context, load Loader) (int, error) {
	d.log.Info(StartLine())

	loaded, err := load(d.opts.ConfigFile, d.opts.ConfigLines)
	if err != nil {
		return 1, err
	}
	if d.opts.PrintConfig {
		if err := loaded.Print(d.proc.Stdout); err != nil {
			return 1, fmt.Errorf("could not print configuration: %w", err)
		}
		return 0, nil
	}
	d.settings = loaded.Settings
	for _, w := range d.settings.Warnings {
		d.log.Warn(w)
	}
	// Quit signals are caught from here on, so that one arriving while the
	// daemon starts (or right after it reports readiness) shuts it down
	// cleanly.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP)
	defer stop()
	signal.Ignore(syscall.SIGPIPE)

	if err := CheckPidFile(d.settings.PidFile); err != nil {
		return 1, err
	}
	userName := d.opts.User
	if userName == "" {
		userName = d.settings.User
	}
	uid, gid, err := lookupUser(userName)
	if err != nil {
		return 1, err
	}
	socketAllowed := d.createDirs(uid, gid)

	if err := WritePidFile(d.settings.PidFile, os.Getpid()); err != nil {
		return 1, err
	}
	d.pidFile = d.settings.PidFile

	exit := make(chan int, 1)
	comps, err := loaded.Build(Resources{
		Options:          d.opts,
		UID:              uid,
		GID:              gid,
		CmdSocketAllowed: socketAllowed,
		Log:              d.log,
		OnShutdown:       func(f func() error) { d.hooks = append(d.hooks, f) },
		Exit: func(status int) {
			select {
			case exit <- status:
			default:
			}
		},
	})
	if err != nil {
		return 1, err
	}
	if err := d.start(ctx, comps.Privileged); err != nil {
		return 1, err
	}
	if err := d.tuneProcess(); err != nil {
		return 1, err
	}
	if os.Geteuid() == 0 && (uid != 0 || gid != 0) {
		if err := DropRoot(uid, gid, KeptCapabilities(d.settings.NTPPort, d.opts.ClockControl)); err != nil {
			return 1, err
		}
		d.log.Debugf("Dropped root privileges: UID %d GID %d", uid, gid)
	}
	if os.Geteuid() == 0 {
		d.log.Warn("Running with root privileges")
	}
	if err := d.start(ctx, comps.Unprivileged); err != nil {
		return 1, err
	}
	if d.opts.FilterLevel != 0 {
		d.log.Warnf("System call filter (-F %d) is not supported by chronygo and was not applied", d.opts.FilterLevel)
	}
	d.logUnsupported()

	if err := SystemdNotify(d.proc.NotifySocket, NotifyReady); err != nil {
		return 1, err
	}
	if err := d.proc.Ready.Ready(); err != nil {
		// The foreground process is gone: chronyd quits too.
		d.log.Warn(err.Error())
		d.shutdown()
		return 1, nil
	}

	status := d.serve(ctx, exit)
	if err := SystemdNotify(d.proc.NotifySocket, NotifyStopping); err != nil {
		d.log.Warn(err.Error())
	}
	d.log.Info("chronygo exiting")
	d.shutdown()
	return status, nil
}

// serve waits for a quit signal (ctx ends), a component's request to exit
// or the -t timeout, and returns the exit status.
func (d *daemon) serve(ctx context.Context, exit <-chan int) int {
	var timeout <-chan time.Time
	if d.opts.Timeout >= 0 {
		t := time.NewTimer(time.Duration(d.opts.Timeout) * time.Second)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
		return 0
	case status := <-exit:
		return status
	case <-timeout:
		d.log.Info("Timeout reached")
		if d.settings.Synchronised != nil && d.settings.Synchronised() {
			return 0
		}
		return 1
	}
}

// start starts comps in order, remembering them for shutdown.
func (d *daemon) start(ctx context.Context, comps []Component) error {
	for _, c := range comps {
		d.started = append(d.started, c)
		if err := c.Start(ctx); err != nil {
			return fmt.Errorf("could not start %s : %w", c.Name(), err)
		}
		d.log.Debugf("Started %s", c.Name())
	}
	return nil
}

// shutdown closes the started components in reverse order, runs the
// shutdown hooks and removes the pid file.
func (d *daemon) shutdown() {
	for i := len(d.started) - 1; i >= 0; i-- {
		if err := d.started[i].Close(); err != nil {
			d.log.WithError(err).Errorf("Could not close %s", d.started[i].Name())
		}
	}
	d.started = nil
	for _, h := range d.hooks {
		if err := h(); err != nil {
			d.log.Error(err.Error())
		}
	}
	d.hooks = nil
	if err := RemovePidFile(d.pidFile, os.Getpid()); err != nil {
		d.log.Error(err.Error())
	}
	d.pidFile = ""
}

// createDirs makes the command socket's folder (0770, owned by the daemon's
// user), the pid file's folder when missing, logdir and dumpdir (0750). It
// reports whether the command socket may be opened: chronyd disables it
// when its folder is reachable by others or owned by someone else.
func (d *daemon) createDirs(uid, gid int) bool {
	socketAllowed := true
	if p := d.settings.BindCmdPath; p != "" {
		dir := filepath.Dir(p)
		err := CreateDir(dir, SocketDirMode, uid, gid)
		if err == nil {
			err = CheckDirPermissions(dir, SocketDirMode, uid, gid)
		}
		if err != nil {
			d.log.Error(err.Error())
			d.log.Warnf("Disabled command socket %s", p)
			socketAllowed = false
		}
	}
	if p := d.settings.PidFile; p != "" {
		if _, err := os.Stat(filepath.Dir(p)); errors.Is(err, os.ErrNotExist) {
			if err := CreateDir(filepath.Dir(p), SocketDirMode, uid, gid); err != nil {
				d.log.Error(err.Error())
			}
		}
	}
	for _, dir := range []string{d.settings.LogDir, d.settings.DumpDir} {
		if dir == "" {
			continue
		}
		if err := CreateDir(dir, DataDirMode, uid, gid); err != nil {
			d.log.Error(err.Error())
		}
	}
	return socketAllowed
}

// tuneProcess applies sched_priority/-P and lock_all/-m, best effort: a
// failure is logged, only a priority outside 1..99 is fatal (as in chronyd).
func (d *daemon) tuneProcess() error {
	prio := d.opts.SchedPriority
	if prio == 0 {
		prio = d.settings.SchedPriority
	}
	if prio != 0 {
		var bad *BadPriorityError
		if err := SetScheduler(prio); errors.As(err, &bad) {
			return err
		} else if err != nil {
			d.log.Error(err.Error())
		} else {
			d.log.Debugf("Enabled SCHED_FIFO with priority %d", prio)
		}
	}
	if d.opts.LockMemory || d.settings.LockAll {
		if err := LockMemory(); err != nil {
			d.log.Error(err.Error())
		} else {
			d.log.Debug("Successfully locked into RAM")
		}
	}
	return nil
}

// logUnsupported names, once, each configured directive that chronygo
// parses but does not act on yet.
func (d *daemon) logUnsupported() {
	for _, name := range UnsupportedDirectives(d.settings.Directives) {
		d.log.Warnf("Directive %s is not supported by chronygo yet and is ignored", name)
	}
	for _, r := range PartialDirectives(d.settings.Directives) {
		d.log.Infof("Directive %s is only partly supported by chronygo: %s", r.Name, r.Note)
	}
}

// lookupUser resolves a user name (or numeric ID) to its IDs.
func lookupUser(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if !errors.As(err, &unknown) {
			return 0, 0, fatalf("Could not get user/group ID of %s", name)
		}
		if u, err = user.LookupId(name); err != nil {
			return 0, 0, fatalf("Could not get user/group ID of %s", name)
		}
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return 0, 0, fatalf("Could not get user/group ID of %s", name)
	}
	return uid, gid, nil
}
