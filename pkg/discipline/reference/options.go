package reference

import (
	"github.com/chronygo/chronygo/pkg/discipline/clock"
)

// Logger is the logging surface of the reference (logrus.FieldLogger
// satisfies it).
type Logger = clock.Logger

// LeapMode is leapsecmode.
type LeapMode int

// Leap second modes.
const (
	LeapModeSystem LeapMode = iota
	LeapModeSlew
	LeapModeStep
	LeapModeIgnore
)

// Mode is the reference's operating mode.
type Mode int

// Operating modes: normal, initstepslew, chronyd -q (set once), chronyd -Q
// (print once) and ignore (after a special mode ended).
const (
	ModeNormal Mode = iota
	ModeInitStepSlew
	ModeUpdateOnce
	ModePrintOnce
	ModeIgnore
)

// LocalOptions is the local directive.
type LocalOptions struct {
	// Stratum (default 10), clamped to 1..15.
	Stratum int
	// Orphan enables orphan mode.
	Orphan bool
	// Distance (s, default 1) above which the local reference takes over.
	Distance float64
	// Activate (s, default 0 = off): root distance that must be reached once
	// before the local reference may activate.
	Activate float64
	// WaitSynced (s) after the last update before taking over.
	WaitSynced float64
	// WaitUnsynced (s) of unsynchronised state before taking over; negative
	// means chronyd's default (300 with orphan, else 0).
	WaitUnsynced float64
}

// Options are the reference's settings from chrony.conf. Zero values mean
// chronyd's defaults where noted.
type Options struct {
	// MakeStepThreshold (s) and MakeStepLimit (updates; -1 = always, 0 = no
	// makestep) are the makestep directive.
	MakeStepThreshold float64
	MakeStepLimit     int
	// MaxChange is the maxchange directive, nil when absent (the default).
	MaxChange *MaxChange
	// MaxUpdateSkew in ppm (zero: default 1000).
	MaxUpdateSkew float64
	// CorrTimeRatio (zero: default 3).
	CorrTimeRatio float64
	// LogChange threshold (s; zero: default 1).
	LogChange float64
	// Local is the local directive, nil when absent.
	Local *LocalOptions
	// FallbackDriftMin/Max are fallbackdrift's log2 intervals (0 = off).
	FallbackDriftMin, FallbackDriftMax int
	// LeapMode is leapsecmode.
	LeapMode LeapMode
	// Leap is the leap second source (leapseclist or leapsectz), or nil.
	Leap LeapSource
	// InitStepThreshold (s) of initstepslew.
	InitStepThreshold float64
	// Drift is the drift file, or nil; DriftInterval (s; zero: 3600).
	Drift         DriftStore
	DriftInterval float64
	// TrackingLog receives tracking.log lines (see TrackingLogHeader), or nil.
	TrackingLog func(line string)
	// MailOnChange enables mailonchange: Result.MailChange is set when an
	// update's offset exceeds MailChangeThreshold (s); the I/O shell mails.
	MailOnChange        bool
	MailChangeThreshold float64
	// Logger receives chronyd-worded messages; nil discards.
	Logger Logger
	// Rand returns uniform values in [0,1) for the reference time fuzz; nil
	// uses math/rand/v2.
	Rand func() float64
	// Smooth is the smoothtime directive, nil when absent.
	Smooth *SmoothOptions
}

// MaxChange is maxchange OFFSET START IGNORE: after Delay updates, offsets
// above Offset (s) are ignored Ignore times (-1 = always), then the daemon
// exits.
type MaxChange struct {
	Offset float64
	Delay  int
	Ignore int
}

func (o Options) withDefaults() Options {
	if o.MaxUpdateSkew == 0 {
		o.MaxUpdateSkew = 1000
	}
	if o.CorrTimeRatio == 0 {
		o.CorrTimeRatio = 3
	}
	if o.LogChange == 0 {
		o.LogChange = 1
	}
	if o.DriftInterval == 0 {
		o.DriftInterval = 3600
	}
	if o.Local != nil {
		l := *o.Local
		l.Stratum = max(1, min(l.Stratum, 15))
		if l.WaitUnsynced < 0 {
			l.WaitUnsynced = 0
			if l.Orphan {
				l.WaitUnsynced = 300
			}
		}
		o.Local = &l
	}
	return o
}

// DefaultLocal returns the local directive's defaults.
func DefaultLocal() LocalOptions {
	return LocalOptions{Stratum: 10, Distance: 1, WaitUnsynced: -1}
}
