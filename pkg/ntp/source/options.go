package source

import (
	"errors"
	"fmt"
)

// Mode is the association mode of a source.
type Mode int

// Association modes.
const (
	// ModeClient polls a server (`server` and `pool`), NTP mode 3.
	ModeClient Mode = iota
	// ModePeer is a symmetric active association (`peer`), NTP mode 1.
	ModePeer
)

func (m Mode) String() string {
	if m == ModePeer {
		return "peer"
	}
	return "client"
}

// Limits and defaults of chronyd's source options.
const (
	MinPollLimit          = -7
	MaxPollLimit          = 24
	DefaultPort           = 123
	DefaultMinPoll        = 6
	DefaultMaxPoll        = 10
	DefaultMaxDelay       = 3.0
	DefaultMaxDelayDevRat = 10.0
	DefaultPollTarget     = 8
	DefaultMaxSources     = 4
	DefaultMaxUnreach     = 100000
	DefaultAsymmetry      = 1.0
	// PresendDisabled is the presend value meaning "no presend".
	PresendDisabled = 100
	maxStratum      = 16
	maxMaxDelay     = 1.0e3
	maxMaxDelayRat  = 1.0e6
)

// Extension field flags for the extfield option.
const (
	// ExtFieldMonoRoot is chronyd's experimental F323 field (monotonic
	// receive timestamp and root delay/dispersion).
	ExtFieldMonoRoot uint32 = 1 << 0
	// ExtFieldNetCorrection is the experimental F324 field (network
	// correction from PTP transparent clocks).
	ExtFieldNetCorrection uint32 = 1 << 1
)

// Options holds every option of chrony.conf's server, pool and peer
// directives (chrony 4.8). The daemon maps its configuration into it; use
// DefaultOptions for chronyd's defaults.
type Options struct {
	Mode Mode
	// Port is the remote port (port).
	Port uint16
	// MinPoll and MaxPoll bound the polling interval, log2 seconds.
	MinPoll, MaxPoll int
	// IBurst sends a burst of 4-8 requests when the source goes online.
	IBurst bool
	// Burst sends a short burst at each poll when the interval is longer
	// than minpoll.
	Burst bool
	// Key is the symmetric key ID; 0 means no authentication.
	Key uint32
	// MaxDelay, MaxDelayRatio, MaxDelayDevRatio are the delay filters
	// (tests A, B, C); MaxDelayQuant (0 = off) replaces test C with a
	// delay quantile.
	MaxDelay, MaxDelayRatio, MaxDelayDevRatio, MaxDelayQuant float64
	// MinDelay, Asymmetry, MinSamples, MaxSamples, MaxUnreach and Filter
	// are passed through to the statistics and selection.
	MinDelay   float64
	Asymmetry  float64
	MinSamples int
	MaxSamples int
	MaxUnreach int
	Filter     int
	// Offset is added to the measured offset (NTP sign), seconds.
	Offset float64
	// Offline starts the source offline; AutoOffline takes it offline
	// when sending fails.
	Offline, AutoOffline bool
	// Selection options, passed through to selection.
	Prefer, NoSelect, Trust, Require bool
	// XLeave enables the interleaved mode.
	XLeave bool
	// PollTarget is the target number of samples for poll adjustment.
	PollTarget int
	// Presend is the minimum poll at which a warm-up request is sent
	// before the real one (PresendDisabled = off).
	Presend int
	// MinStratum raises the stratum reported for the source.
	MinStratum int
	// Version forces the NTP version of requests (0 = automatic).
	Version int
	// Copy assumes the server's reference ID and stratum.
	Copy bool
	// ExtFields is the set of ExtField* flags requested (extfield).
	ExtFields uint32
	// MaxSources limits the sources taken from a pool (pool only).
	MaxSources int
	// NTS requests NTS authentication, which chronygo does not support.
	NTS bool
	// NTSPort and CertSet are NTS options (accepted only with NTS).
	NTSPort int
	CertSet int
}

// DefaultOptions returns chronyd's defaults for a source of the given mode.
func DefaultOptions(mode Mode) Options {
	return Options{
		Mode:             mode,
		Port:             DefaultPort,
		MinPoll:          DefaultMinPoll,
		MaxPoll:          DefaultMaxPoll,
		MaxDelay:         DefaultMaxDelay,
		MaxDelayDevRatio: DefaultMaxDelayDevRat,
		Asymmetry:        DefaultAsymmetry,
		MinSamples:       -1,
		MaxSamples:       -1,
		MaxUnreach:       DefaultMaxUnreach,
		PollTarget:       DefaultPollTarget,
		Presend:          PresendDisabled,
		MaxSources:       DefaultMaxSources,
		NTSPort:          4460,
	}
}

// ErrNTSUnsupported is returned by Validate for the nts option: chronygo
// refuses it rather than using the source unauthenticated.
var ErrNTSUnsupported = errors.New("nts is not supported by chronygo (refusing to use the source without authentication)")

// Validate rejects option combinations chronygo cannot honour.
func (o *Options) Validate() error {
	if o.NTS {
		return ErrNTSUnsupported
	}
	if o.Mode != ModeClient && o.Mode != ModePeer {
		return fmt.Errorf("invalid source mode %d", o.Mode)
	}
	if o.Version < 0 || o.Version > 4 {
		return fmt.Errorf("invalid NTP version %d", o.Version)
	}
	return nil
}

// clamp returns v limited to [lo, hi].
func clamp[T int | float64](lo, v, hi T) T {
	return max(lo, min(v, hi))
}

// normalized applies chronyd's clamping of option values at source creation.
func (o Options) normalized() Options {
	if o.MinPoll < MinPollLimit {
		o.MinPoll = DefaultMinPoll
	} else if o.MinPoll > MaxPollLimit {
		o.MinPoll = MaxPollLimit
	}
	if o.MaxPoll < MinPollLimit {
		o.MaxPoll = DefaultMaxPoll
	} else if o.MaxPoll > MaxPollLimit {
		o.MaxPoll = MaxPollLimit
	}
	if o.MaxPoll < o.MinPoll {
		o.MaxPoll = o.MinPoll
	}
	if o.MinStratum >= maxStratum {
		o.MinStratum = maxStratum - 1
	}
	if o.Presend <= MaxPollLimit && o.Mode != ModeClient {
		o.Presend = MaxPollLimit + 1
	}
	o.MaxDelay = clamp(0, o.MaxDelay, maxMaxDelay)
	o.MaxDelayRatio = clamp(0, o.MaxDelayRatio, maxMaxDelayRat)
	o.MaxDelayDevRatio = clamp(0, o.MaxDelayDevRatio, maxMaxDelayRat)
	if o.Mode != ModeClient {
		o.Copy = false
	}
	o.PollTarget = max(1, o.PollTarget)
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	return o
}
