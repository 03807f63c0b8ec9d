package selection

import (
	"net/netip"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
	"github.com/sirupsen/logrus"
)

// SourceType tells NTP sources from reference clocks.
type SourceType int

// Source types.
const (
	TypeNTP SourceType = iota
	TypeRefclock
)

// SelectOptions are the selection options of a source, with the bit values
// of chronyc's selectdata report (RPY_SD_OPTION_*).
type SelectOptions uint8

// Selection option bits.
const (
	OptNoSelect SelectOptions = 0x1
	OptPrefer   SelectOptions = 0x2
	OptTrust    SelectOptions = 0x4
	OptRequire  SelectOptions = 0x8
)

// String returns the options as chronyc selectdata prints them in its
// COpts/EOpts columns: "NPTR-" with '-' for each unset option.
func (o SelectOptions) String() string {
	b := []byte("-----")
	for i, opt := range []SelectOptions{OptNoSelect, OptPrefer, OptTrust, OptRequire} {
		if o&opt != 0 {
			b[i] = "NPTR"[i]
		}
	}
	return string(b)
}

// AuthSelectMode is the authselectmode directive.
type AuthSelectMode int

// Authentication selection modes. The default (zero value) is mix.
const (
	AuthSelectMix AuthSelectMode = iota
	AuthSelectRequire
	AuthSelectPrefer
	AuthSelectIgnore
)

// Defaults of the selection directives and source options.
const (
	DefaultMinSources       = 1
	DefaultMaxDistance      = 3.0
	DefaultMaxJitter        = 1.0
	DefaultReselectDistance = 1e-4
	DefaultStratumWeight    = 1e-3
	DefaultCombineLimit     = 3.0
	// DefaultMaxClockError is maxclockerror's default, 1 ppm, in s/s.
	DefaultMaxClockError = 1e-6
	// DefaultMaxUnreach is the default of the maxunreach source option.
	DefaultMaxUnreach = 100000
	// ReachBits is the size of the reachability register.
	ReachBits = 8
	// MaxStratum is NTP's maximum stratum (an orphan stratum of this value
	// disables orphan handling).
	MaxStratum = 16

	// scoreLimit is the score another source needs to replace the selected one.
	scoreLimit = 10.0
	// distantPenalty is how many updates a too distant source is not combined.
	distantPenalty = 32
	// badHandleThreshold is how many bad updates trigger source replacement.
	badHandleThreshold = 4
)

// Options are the global selection directives.
type Options struct {
	// MinSources is the minsources directive.
	MinSources int
	// MaxDistance is the maxdistance directive (s).
	MaxDistance float64
	// MaxJitter is the maxjitter directive (s).
	MaxJitter float64
	// ReselectDistance is the reselectdist directive (s).
	ReselectDistance float64
	// StratumWeight is the stratumweight directive (s per stratum).
	StratumWeight float64
	// CombineLimit is the combinelimit directive.
	CombineLimit float64
	// AuthSelectMode is the authselectmode directive.
	AuthSelectMode AuthSelectMode
	// MaxClockError is the maxclockerror directive in s/s (ppm * 1e-6).
	MaxClockError float64
}

// DefaultOptions returns chronyd's defaults of the selection directives.
func DefaultOptions() Options {
	return Options{
		MinSources:       DefaultMinSources,
		MaxDistance:      DefaultMaxDistance,
		MaxJitter:        DefaultMaxJitter,
		ReselectDistance: DefaultReselectDistance,
		StratumWeight:    DefaultStratumWeight,
		CombineLimit:     DefaultCombineLimit,
		AuthSelectMode:   AuthSelectMix,
		MaxClockError:    DefaultMaxClockError,
	}
}

// SourceConfig describes a source when it is added.
type SourceConfig struct {
	// Type is TypeNTP or TypeRefclock.
	Type SourceType
	// RefID is the source's reference ID (from its address, or the refclock's).
	RefID uint32
	// Addr is the NTP source's address; invalid for reference clocks.
	Addr netip.Addr
	// Name is the NTP source's configured name, shown with the address in
	// log messages when it differs from it.
	Name string
	// Authenticated is true when NTS or a key is used.
	Authenticated bool
	// Options are the configured selection options.
	Options SelectOptions
	// MaxUnreach is the maxunreach option; 0 is a valid value, a negative
	// one means DefaultMaxUnreach.
	MaxUnreach int
	// Rank orders the sources: the selector keeps them in ascending Rank
	// and, within a rank, in order of addition. chronyd keeps its sources
	// in configuration order (it creates a pool's sources when it reads
	// the directive, before resolving the name), and that order breaks
	// ties between equal scores in the selection; the engine passes the
	// directive's position. Zero for every source keeps plain addition
	// order.
	Rank int
	// Stats configures the source's statistics (effective minsamples,
	// maxsamples, mindelay, asymmetry and the clock precision; MaxJitter is
	// taken from the selector's Options). Start from
	// sourcestats.DefaultOptions().
	Stats sourcestats.Options
}

// Event is a message chronyd would log, with its wording.
type Event struct {
	// Level is logrus.InfoLevel, WarnLevel or ErrorLevel.
	Level logrus.Level
	// Message is the text.
	Message string
	// Source is the source the message is about, if any.
	Source *Source
}

// ReferenceUpdate is what the reference needs after a successful selection
// (the arguments of chrony's REF_SetReference).
type ReferenceUpdate struct {
	// Source is the selected source.
	Source *Source
	// Stratum is the selected source's stratum.
	Stratum int
	// Leap is the leap status voted by the selectable sources.
	Leap discipline.LeapStatus
	// Combined is the number of sources combined (at least 1).
	Combined int
	// RefID and Addr identify the selected source.
	RefID uint32
	Addr  netip.Addr
	// RefTime is the time Offset refers to.
	RefTime time.Time
	// Offset is the combined offset at RefTime (s, positive: local ahead).
	Offset float64
	// OffsetSD is its standard deviation (s).
	OffsetSD float64
	// Frequency is the combined rate at which the local clock gains (s/s).
	Frequency float64
	// FrequencySD is its standard deviation (s/s).
	FrequencySD float64
	// Skew is the combined frequency error bound (s/s).
	Skew float64
	// RootDelay and RootDispersion are the selected source's (s).
	RootDelay, RootDispersion float64
}

// Result is what a selection (or an operation that triggers one) asks the
// caller to do.
type Result struct {
	// Events are log messages, in order.
	Events []Event
	// Update, when not nil, is to be applied to the reference.
	Update *ReferenceUpdate
	// Unsynchronised asks the reference to become unsynchronised (the
	// selected source was lost to a missing majority, or a special reference
	// mode ended without enough samples).
	Unsynchronised bool
	// BadSources are NTP sources to be replaced (unreachable, falsetickers,
	// too distant or too jittery for several updates).
	BadSources []*Source
	// SelectionLog holds lines for selection.log, when enabled with
	// Selector.SetSelectionLog.
	SelectionLog []string
}

// SelectionLogHeader is the column header chronyd writes in selection.log
// (log selection).
const SelectionLogHeader = "   Date (UTC) Time     IP Address   S EOpts Reach Score Last sample  Low end   High end"
