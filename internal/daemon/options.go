package daemon

// AddressFamily restricts the addresses the daemon uses (-4, -6).
type AddressFamily int

// Address families selectable on the command line.
const (
	FamilyAny AddressFamily = iota
	FamilyIPv4
	FamilyIPv6
)

// Severity is a chronyd log severity as given to -L: -1 debug, 0 info,
// 1 warning, 2 error, 3 fatal.
type Severity int

// chronyd's log severities.
const (
	SeverityDebug Severity = -1
	SeverityInfo  Severity = 0
	SeverityWarn  Severity = 1
	SeverityError Severity = 2
	SeverityFatal Severity = 3
)

// RefMode is how the daemon uses its sources: normally, or once (-q, -Q).
type RefMode int

// Reference modes.
const (
	// RefModeNormal keeps running and disciplining the clock.
	RefModeNormal RefMode = iota
	// RefModeUpdateOnce sets the clock once and exits (-q).
	RefModeUpdateOnce
	// RefModePrintOnce measures the offset once, prints it and exits (-Q).
	RefModePrintOnce
)

// Options is chronyd's command line, parsed. The zero value is not useful;
// start from DefaultOptions.
type Options struct {
	// ConfigFile is the configuration file (-f).
	ConfigFile string
	// ConfigLines are directives given as trailing arguments; when present
	// they replace the configuration file.
	ConfigLines []string
	// Family restricts name resolution and sockets (-4, -6).
	Family AddressFamily
	// Debug counts -d: 1 keeps the daemon in the foreground logging to
	// stderr, 2 also enables debug messages.
	Debug int
	// NoFork keeps the daemon in the foreground (-n, -d, -p, -q, -Q).
	NoFork bool
	// SystemLog sends log messages to syslog rather than stderr.
	SystemLog bool
	// LogFile sends log messages to this file (-l).
	LogFile string
	// LogSeverity is the minimum severity logged (-L).
	LogSeverity Severity
	// PrintConfig prints the parsed configuration and exits (-p).
	PrintConfig bool
	// Mode is the reference mode (-q, -Q).
	Mode RefMode
	// ClientOnly disables the server parts (-Q).
	ClientOnly bool
	// ClockControl allows the daemon to adjust the system clock (off with -x
	// and -Q).
	ClockControl bool
	// UserCheck requires running as root (off with -U, -p, -Q).
	UserCheck bool
	// Reload loads dump files at start (-r).
	Reload bool
	// Restarted adapts the configuration for a restart (-R).
	Restarted bool
	// InitFromRTC sets the clock from the RTC at start (-s).
	InitFromRTC bool
	// Timeout makes the daemon exit after this many seconds; negative means
	// never (-t).
	Timeout int
	// User is the account to run as after opening privileged sockets (-u);
	// empty means the configuration's user directive.
	User string
	// FilterLevel is the requested system call filter level (-F).
	FilterLevel int
	// SchedPriority is the SCHED_FIFO priority (-P); 0 means the
	// configuration's sched_priority directive.
	SchedPriority int
	// LockMemory locks the process into RAM (-m).
	LockMemory bool
}

// DefaultOptions returns chronyd's settings before any option is parsed,
// reading the given configuration file.
func DefaultOptions(configFile string) Options {
	return Options{
		ConfigFile:   configFile,
		SystemLog:    true,
		LogSeverity:  SeverityInfo,
		ClockControl: true,
		UserCheck:    true,
		Timeout:      -1,
	}
}
