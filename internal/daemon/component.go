package daemon

import (
	"context"
	"io"

	"github.com/sirupsen/logrus"
)

// Component is a long-running part of the daemon (NTP server sockets,
// chronyc listeners, the timing engine). Start opens its sockets and begins
// serving in its own goroutines, returning once it serves or fails; Close
// stops it and releases everything it opened.
type Component interface {
	// Name is a short label for log messages.
	Name() string
	// Start opens the component's resources and starts serving.
	Start(ctx context.Context) error
	// Close stops serving and releases resources; it is called once, also
	// after a failed Start.
	Close() error
}

// Components are a configuration's components, in two groups started at
// different moments of chronyd's start-up sequence.
type Components struct {
	// Privileged ones open privileged resources (NTP port 123, the cmdmon
	// UDP port) and are started as root, before the daemon drops root.
	Privileged []Component
	// Unprivileged ones are started after root is dropped, so that what they
	// create (the Unix command socket) belongs to the daemon's user.
	Unprivileged []Component
}

// Settings are the parts of the configuration that the process lifecycle
// itself acts on.
type Settings struct {
	// PidFile is the pid file path; empty disables it.
	PidFile string
	// User is the account to run as (user directive).
	User string
	// BindCmdPath is the Unix command socket path; empty disables it.
	BindCmdPath string
	// LogDir and DumpDir are created (0750) when set.
	LogDir, DumpDir string
	// LockAll is the lock_all directive.
	LockAll bool
	// SchedPriority is the sched_priority directive; 0 when not set.
	SchedPriority int
	// NTPPort is the NTP server port (port directive), to decide whether
	// CAP_NET_BIND_SERVICE is kept.
	NTPPort int
	// Synchronised says whether the daemon is synchronised (for -t's exit
	// status); nil means never.
	Synchronised func() bool
	// Directives lists the directive names present in the configuration.
	Directives []string
	// Warnings are messages logged as warnings after loading.
	Warnings []string
}

// Resources are what the daemon hands to a configuration when building its
// components.
type Resources struct {
	// Options are the command-line options.
	Options Options
	// UID and GID are the account the daemon will run as.
	UID, GID int
	// CmdSocketAllowed is false when the command socket's folder failed the
	// permission check and the Unix socket must not be opened.
	CmdSocketAllowed bool
	// Log is the daemon's logger.
	Log *logrus.Logger
	// OnShutdown registers a function run at clean shutdown, after the
	// components are closed and before the pid file is removed (the engine
	// writes the drift file here).
	OnShutdown func(func() error)
	// Exit asks the daemon to shut down cleanly and exit with status (a
	// special mode -q/-Q ended, or chronyc shutdown). It may be called from
	// any goroutine, more than once; the first status wins.
	Exit func(status int)
}

// Loaded is a parsed configuration as the daemon sees it: the settings it
// acts on, how to print it for -p, and how to build its components.
type Loaded struct {
	// Settings are the lifecycle settings.
	Settings Settings
	// Print writes the configuration as chronyd -p does.
	Print func(w io.Writer) error
	// Build makes the components; it runs after the pid file is written.
	Build func(r Resources) (Components, error)
}

// Loader parses the configuration file path, or the lines given on the
// command line instead of it. Errors are printed as fatal errors; they
// should name the file and line in chronyd's words.
type Loader func(path string, lines []string) (*Loaded, error)
