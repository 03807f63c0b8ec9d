package selection

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
	"github.com/sirupsen/logrus"
)

// selectInfo is a source's data from the last selection.
type selectInfo struct {
	selectOK      bool
	stdDev        float64
	rootDistance  float64
	lo, hi        float64
	lastSampleAgo float64
}

// Source is one time source known to a Selector. Its fields change only
// through the Selector's methods.
type Source struct {
	typ        SourceType
	refID      uint32
	addr       netip.Addr
	name       string
	auth       bool
	maxUnreach int
	localRefID uint32

	stats *sourcestats.Stats
	index int
	rank  int

	active     bool
	reach      uint
	reachSize  int
	unreachRun int
	updates    int
	distant    int
	bad        int
	status     Status
	confOpts   SelectOptions
	selOpts    SelectOptions
	score      float64
	info       selectInfo
	stratum    int
	leap       discipline.LeapStatus
	leapVote   bool
	reported   [numStatuses]bool
}

// Stats returns the source's statistics (for the NTP state machine's tests,
// sourcestats reports and the dump file).
func (src *Source) Stats() *sourcestats.Stats { return src.stats }

// RefID returns the source's reference ID.
func (src *Source) RefID() uint32 { return src.refID }

// Addr returns the NTP source's address (invalid for reference clocks).
func (src *Source) Addr() netip.Addr { return src.addr }

// Type returns the source type.
func (src *Source) Type() SourceType { return src.typ }

// Status returns the state after the last selection.
func (src *Source) Status() Status { return src.status }

// Reachability returns the 8-bit reachability register.
func (src *Source) Reachability() uint8 { return uint8(src.reach) }

// Reachable reports whether any of the last 8 polls got a valid reply.
func (src *Source) Reachable() bool { return src.reach != 0 }

// Stratum returns the stratum of the last sample.
func (src *Source) Stratum() int { return src.stratum }

// Leap returns the leap status of the last sample.
func (src *Source) Leap() discipline.LeapStatus { return src.leap }

// SetLocalRefID sets the reference ID of the local address used to talk to
// the source, needed to settle orphan mode (chrony's NSR_GetLocalRefid).
func (src *Source) SetLocalRefID(id uint32) { src.localRefID = id }

// String returns the source as chronyd names it in logs: the IP address, or
// the reference ID as text for reference clocks.
func (src *Source) String() string {
	if src.typ == TypeRefclock {
		return RefIDToString(src.refID)
	}
	return src.addr.String()
}

// logName is the name used in selection messages: "IP (name)" when the
// configured name differs from the address.
func (src *Source) logName() string {
	s := src.String()
	if src.typ == TypeNTP && src.name != "" && src.name != s {
		return fmt.Sprintf("%s (%s)", s, src.name)
	}
	return s
}

// RefIDToString returns the printable characters of a reference ID.
func RefIDToString(id uint32) string {
	b := make([]byte, 0, 4)
	for i := 0; i < 4; i++ {
		c := byte(id >> (24 - 8*i))
		if c >= 0x20 && c < 0x7f {
			b = append(b, c)
		}
	}
	return string(b)
}

// SourceReport holds a source's figures for chronyc sources (besides the
// mode, poll and name, which the NTP layer knows).
type SourceReport struct {
	// State is the S column.
	State ReportState
	// Stratum is the stratum of the last sample (0 without samples).
	Stratum int
	// Reachability is the reach register.
	Reachability uint8
	// HasSample is false when there is no sample yet (LastRx then shows the
	// maximum value, as chronyd reports (uint32)-1).
	HasSample bool
	// LastSample is the newest sample.
	LastSample sourcestats.LastSample
}

// Report returns the chronyc sources figures of the source at now.
func (src *Source) Report(now time.Time) SourceReport {
	r := SourceReport{
		State:        src.status.ReportState(),
		Stratum:      src.stratum,
		Reachability: uint8(src.reach),
	}
	r.LastSample, r.HasSample = src.stats.LastSample(now, src.typ == TypeNTP)
	if !r.HasSample {
		r.Stratum = 0
	}
	return r
}

// SelectReport holds a source's chronyc selectdata line.
type SelectReport struct {
	// State is the S column (Status.String gives the letter).
	State Status
	// Authenticated is the Auth column.
	Authenticated bool
	// Leap is the leap status of the source.
	Leap discipline.LeapStatus
	// ConfOptions and EffOptions are the COpts and EOpts columns.
	ConfOptions, EffOptions SelectOptions
	// LastSampleAgo is the age of the last sample at the last selection (s).
	LastSampleAgo float64
	// Score is the score against the selected source.
	Score float64
	// LoLimit and HiLimit are the interval at the last selection (s).
	LoLimit, HiLimit float64
}

// SelectReport returns the selectdata figures of the source.
func (src *Source) SelectReport() SelectReport {
	return SelectReport{
		State:         src.status,
		Authenticated: src.auth,
		Leap:          src.leap,
		ConfOptions:   src.confOpts,
		EffOptions:    src.selOpts,
		LastSampleAgo: src.info.lastSampleAgo,
		Score:         src.score,
		LoLimit:       src.info.lo,
		HiLimit:       src.info.hi,
	}
}

// reset clears everything learnt from the source (chrony's
// SRC_ResetInstance without the reselection).
func (src *Source) reset() {
	src.updates = 0
	src.reach = 0
	src.reachSize = 0
	src.unreachRun = 0
	src.distant = 0
	src.bad = 0
	src.status = StatusBadStats
	src.score = 1
	src.stratum = 0
	src.leap = discipline.LeapUnsynchronised
	src.leapVote = false
	src.reported = [numStatuses]bool{}
	src.info = selectInfo{}
	src.stats.Reset()
}

// event appends a log event to the result being built.
func (r *Result) event(level logrus.Level, src *Source, format string, args ...any) {
	r.Events = append(r.Events, Event{Level: level, Message: fmt.Sprintf(format, args...), Source: src})
}
