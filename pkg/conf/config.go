package conf

import "net/netip"

// Defaults of the Debian build of chronyd that chronygo replaces.
const (
	DefaultConfFile   = "/etc/chrony/chrony.conf"
	DefaultPidFile    = "/run/chrony/chronyd.pid"
	DefaultCmdSocket  = "/run/chrony/chronyd.sock"
	DefaultUser       = "_chrony"
	DefaultRTCDevice  = "/dev/rtc"
	DefaultHWClock    = "/etc/adjtime"
	DefaultNTPPort    = 123
	DefaultCmdPort    = 323
	DefaultNTSKEPort  = 4460
	maxIncludeLevel   = 10
	maxConfDirs       = 10
	maxLineLength     = 2048
	ntpMaxStratum     = 16
	ntpVersion        = 4
	extFieldMonoRoot  = 0xF323
	extFieldNetCorrec = 0xF324
)

// DefaultOpenCommands is chronyd 4.8's default set of monitoring commands
// answered over the network (opencommands directive).
var defaultOpenCommands = []string{"activity", "manual", "rtcdata", "smoothing",
	"sourcename", "sources", "sourcestats", "tracking"}

// Config is a parsed chrony.conf. NewConfig gives chronyd's defaults; fields
// hold chrony.conf(5) units (seconds, ppm, log2 seconds for polls).
type Config struct {
	lines      []string // normalized directive lines, what chronyd -p prints
	directives []string // distinct directive names, first-seen order (lower case)

	// Files lists every configuration file read (the main file, then
	// included and confdir files in reading order); empty for Parse input
	// other than its includes and for command-line directives.
	Files []string

	// Sources are the server, pool and peer directives in file order.
	Sources []Source
	// SourceDirs holds the argument text of each sourcedir directive (one or
	// more folders separated by spaces, possibly empty as chronyd allows).
	SourceDirs []string
	// RefClocks are the refclock directives in file order.
	RefClocks []RefClock
	// Broadcasts are the broadcast directives in file order.
	Broadcasts []Broadcast
	// InitStepSlew is the initstepslew directive (nil when absent).
	InitStepSlew *InitStepSlew

	// Allow holds the allow and deny rules for NTP clients, in file order.
	Allow []AccessRule
	// CmdAllow holds the cmdallow and cmddeny rules, in file order.
	CmdAllow []AccessRule
	// OpenCommands are the monitoring commands open to remote chronyc
	// (names as in the opencommands directive, deduplicated, in order).
	OpenCommands []string

	Local         Local    // local directive
	MakeStep      MakeStep // makestep directive (Limit 0 = never step)
	MaxChange     MaxChange
	MailOnChange  MailOnChange
	RateLimit     RateLimit // ratelimit (NTP server)
	NTSRateLimit  RateLimit // ntsratelimit
	CmdRateLimit  RateLimit // cmdratelimit
	Log           LogSet
	HWTimestamps  []HWTimestamp
	SmoothTime    SmoothTime
	TempComp      *TempComp // nil when absent
	FallbackDrift FallbackDrift
	DriftFile     DriftFile

	Port            int // port (NTP server port, 0 disables), default 123
	AcquisitionPort int // acquisitionport, -1 when not set
	CmdPort         int // cmdport, default 323, 0 disables UDP
	PTPPort         int // ptpport, 0 = disabled
	PTPDomain       int // ptpdomain, default 123
	DSCP            int // dscp, 0..63

	BindAddress4, BindAddress6       netip.Addr // bindaddress; invalid Addr = any
	BindAcqAddress4, BindAcqAddress6 netip.Addr // bindacqaddress; invalid Addr = any
	BindCmdAddress4, BindCmdAddress6 netip.Addr // bindcmdaddress; default loopback
	// BindCmdPath is the Unix command socket; empty when disabled by
	// "bindcmdaddress /".
	BindCmdPath   string
	BindDevice    string // binddevice
	BindAcqDevice string // bindacqdevice
	BindCmdDevice string // bindcmddevice

	PidFile   string  // pidfile; empty when disabled by "pidfile /"
	User      string  // user
	KeyFile   string  // keyfile
	DumpDir   string  // dumpdir
	LogDir    string  // logdir
	LogBanner int     // logbanner, default 32
	LogChange float64 // logchange threshold in seconds, default 1

	RTCDevice   string  // rtcdevice
	RTCFile     string  // rtcfile
	RTCOnUTC    bool    // rtconutc
	RTCSync     bool    // rtcsync
	RTCAutoTrim float64 // rtcautotrim threshold in seconds, 0 = off
	HWClockFile string  // hwclockfile

	LeapSecMode string // leapsecmode: system, slew, step or ignore
	LeapSecTZ   string // leapsectz
	LeapSecList string // leapseclist

	AuthSelectMode string  // authselectmode: require, prefer, mix, ignore
	MaxUpdateSkew  float64 // maxupdateskew, ppm, default 1000
	CorrTimeRatio  float64 // corrtimeratio, default 3
	MaxClockError  float64 // maxclockerror, ppm, default 1
	MaxDrift       float64 // maxdrift, ppm, default 500000
	MaxSlewRate    float64 // maxslewrate, ppm, default 83333.333
	ClockPrecision float64 // clockprecision, seconds, 0 = measure
	MaxDistance    float64 // maxdistance, seconds, default 3
	MaxJitter      float64 // maxjitter, seconds, default 1
	ReselectDist   float64 // reselectdist, seconds, default 1e-4
	StratumWeight  float64 // stratumweight, seconds, default 1e-3
	CombineLimit   float64 // combinelimit, default 3
	MinSources     int     // minsources, default 1
	MinSamples     int     // minsamples, default 6
	MaxSamples     int     // maxsamples, 0 = no limit
	ClientLogLimit uint64  // clientloglimit, bytes, default 524288
	NoClientLog    bool    // noclientlog
	Manual         bool    // manual
	LockAll        bool    // lock_all
	SchedPriority  int     // sched_priority, 0 = not set
	Refresh        int     // refresh, seconds, default 1209600
	HWTSTimeout    float64 // hwtstimeout, seconds, default 0.001
	NTPSigndSocket string  // ntpsigndsocket

	NTSAEADs          []int    // ntsaeads, default 30 15
	NTSDumpDir        string   // ntsdumpdir (alias ntscachedir)
	NTSNTPServer      string   // ntsntpserver
	NTSServerCerts    []string // ntsservercert, in order
	NTSServerKeys     []string // ntsserverkey, in order
	NTSPort           int      // ntsport, default 4460
	NTSProcesses      int      // ntsprocesses, default 1
	MaxNTSConnections int      // maxntsconnections, default 100
	NTSRefresh        int      // ntsrefresh, seconds, default 2419200
	NTSRotate         int      // ntsrotate, seconds, default 604800
	NTSTrustedCerts   []TrustedCerts
	NoCertTimeCheck   int  // nocerttimecheck, clock updates
	NoSystemCert      bool // nosystemcert

	// Warnings are messages chronyd would log as warnings while parsing
	// (for example a directive that is no longer supported).
	Warnings []string
}

// NewConfig returns a configuration holding chronyd's defaults, as if parsed
// from an empty file.
func NewConfig() *Config {
	return &Config{
		OpenCommands:      append([]string(nil), defaultOpenCommands...),
		Local:             Local{Stratum: 10, Distance: 1.0},
		MaxChange:         MaxChange{Delay: -1},
		RateLimit:         RateLimit{Interval: 3, Burst: 8, Leak: 2},
		NTSRateLimit:      RateLimit{Interval: 6, Burst: 8, Leak: 2},
		CmdRateLimit:      RateLimit{Interval: -4, Burst: 8, Leak: 2},
		DriftFile:         DriftFile{Interval: 3600},
		Port:              DefaultNTPPort,
		AcquisitionPort:   -1,
		CmdPort:           DefaultCmdPort,
		PTPDomain:         123,
		BindCmdAddress4:   netip.MustParseAddr("127.0.0.1"),
		BindCmdAddress6:   netip.IPv6Loopback(),
		BindCmdPath:       DefaultCmdSocket,
		PidFile:           DefaultPidFile,
		User:              DefaultUser,
		LogBanner:         32,
		LogChange:         1.0,
		RTCDevice:         DefaultRTCDevice,
		HWClockFile:       DefaultHWClock,
		LeapSecMode:       "system",
		AuthSelectMode:    "mix",
		MaxUpdateSkew:     1000.0,
		CorrTimeRatio:     3.0,
		MaxClockError:     1.0,
		MaxDrift:          500000.0,
		MaxSlewRate:       1e6 / 12.0,
		MaxDistance:       3.0,
		MaxJitter:         1.0,
		ReselectDist:      1e-4,
		StratumWeight:     1e-3,
		CombineLimit:      3.0,
		MinSources:        1,
		MinSamples:        6,
		ClientLogLimit:    524288,
		Refresh:           1209600,
		HWTSTimeout:       0.001,
		NTSAEADs:          []int{30, 15},
		NTSPort:           DefaultNTSKEPort,
		NTSProcesses:      1,
		MaxNTSConnections: 100,
		NTSRefresh:        2419200,
		NTSRotate:         604800,
	}
}

// Directives returns the distinct directive names present (lower case), in
// first-seen order, including include and confdir.
func (c *Config) Directives() []string {
	return append([]string(nil), c.directives...)
}

// Local is the local directive: serve time from the local clock when
// unsynchronised.
type Local struct {
	Enabled      bool
	Stratum      int     // 1..15, default 10
	Orphan       bool    // orphan mode
	Distance     float64 // seconds, default 1
	Activate     float64 // seconds, 0 = always
	WaitSynced   float64 // seconds, default 0
	WaitUnsynced float64 // seconds, default 0 (300 with orphan)
}

// MakeStep is the makestep directive. Limit < 0 means no limit on the number
// of updates; Limit 0 (the default) disables stepping. chronyd started with
// -R treats a positive Limit as 0.
type MakeStep struct {
	Threshold float64 // seconds
	Limit     int     // clock updates
}

// MaxChange is the maxchange directive. Delay -1 (default) disables the check.
type MaxChange struct {
	Offset float64 // seconds
	Delay  int     // updates before checking
	Ignore int     // ignored updates before exiting
}

// MailOnChange is the mailonchange directive (empty Address = disabled).
type MailOnChange struct {
	Address   string
	Threshold float64 // seconds
}

// RateLimit is a ratelimit, ntsratelimit or cmdratelimit directive. Interval
// and Leak are log2; KoD applies to ratelimit only.
type RateLimit struct {
	Enabled  bool
	Interval int
	Burst    int
	Leak     int
	KoD      int
}

// LogSet is the set of log files enabled by log directives.
type LogSet struct {
	Measurements    bool
	RawMeasurements bool
	Selection       bool
	Statistics      bool
	Tracking        bool
	RTC             bool
	RefClocks       bool
	TempComp        bool
}

// SmoothTime is the smoothtime directive (MaxFreq 0 = disabled).
type SmoothTime struct {
	MaxFreq   float64 // ppm
	MaxWander float64 // ppm per second
	LeapOnly  bool
}

// TempComp is the tempcomp directive: either the coefficient form (PointFile
// empty) or the point-file form.
type TempComp struct {
	SensorFile     string
	Interval       float64 // seconds
	PointFile      string
	T0, K0, K1, K2 float64
}

// FallbackDrift is the fallbackdrift directive (both 0 = disabled).
type FallbackDrift struct {
	Min, Max int // log2 seconds
}

// DriftFile is the driftfile directive (empty Path = none).
type DriftFile struct {
	Path     string
	Interval int // seconds between updates, default 3600
}

// InitStepSlew is the initstepslew directive. Hosts are kept unresolved;
// chronyd warns and skips names it cannot resolve, and ignores the directive
// when started with -R.
type InitStepSlew struct {
	Threshold float64 // seconds
	Hosts     []string
}

// Broadcast is a broadcast directive.
type Broadcast struct {
	Interval int // seconds
	Addr     netip.Addr
	Port     int // default 123
}

// TrustedCerts is an ntstrustedcerts directive.
type TrustedCerts struct {
	SetID uint32 // certificate set, default 0
	Path  string
}

// HWTimestamp is an hwtimestamp directive. RxFilter is one of any, none, ntp,
// ptp, all.
type HWTimestamp struct {
	Interface  string // name or "*"
	MinPoll    int    // default 0
	MaxPoll    int    // default MinPoll+1
	MinSamples int    // default 2
	MaxSamples int    // default 16
	Precision  float64
	TxComp     float64
	RxComp     float64
	RxFilter   string
	NoCrossTS  bool
}
