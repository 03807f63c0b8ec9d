package selection

import (
	"math"
	"slices"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
	"github.com/sirupsen/logrus"
)

// Selector holds the sources and the selection state (chrony's sources
// module without its globals). It is not safe for concurrent use: the
// engine loop owns it.
type Selector struct {
	opts    Options
	sources []*Source

	selected            *Source
	reportedNoMajority  bool
	reportSelectionLoss bool
	forcedFirstReport   bool
	lastUpdated         *Source
	specialMode         bool
	orphanStratum       int
	logSelection        bool
	now                 time.Time

	out Result
}

// New creates a selector with the given directives.
func New(opts Options) *Selector {
	if opts.MinSources < 1 {
		opts.MinSources = 1
	}
	return &Selector{opts: opts, orphanStratum: MaxStratum}
}

// Options returns the directives in use.
func (s *Selector) Options() Options { return s.opts }

// Sources returns the sources in the order they were added.
func (s *Selector) Sources() []*Source { return append([]*Source(nil), s.sources...) }

// Selected returns the selected source (the system peer), or nil.
func (s *Selector) Selected() *Source { return s.selected }

// SetSpecialMode tells whether the reference is in a special mode (-q, -Q,
// initstepslew...). Selection messages are not logged in special modes and
// the orphan stratum is ignored.
func (s *Selector) SetSpecialMode(special bool) { s.specialMode = special }

// SetSelectionLog enables the lines of selection.log in results.
func (s *Selector) SetSelectionLog(enabled bool) { s.logSelection = enabled }

// SetOrphanStratum sets the stratum of `local orphan` (MaxStratum or 0 when
// orphan mode is not configured).
func (s *Selector) SetOrphanStratum(stratum int) {
	if stratum <= 0 || stratum > MaxStratum {
		stratum = MaxStratum
	}
	s.orphanStratum = stratum
}

func (s *Selector) begin() { s.out = Result{} }

func (s *Selector) end() Result {
	r := s.out
	s.out = Result{}
	return r
}

// Add registers a new source, with an empty history.
func (s *Selector) Add(cfg SourceConfig) *Source {
	// maxjitter is a global directive: the selector's value wins.
	statsOpts := cfg.Stats
	statsOpts.MaxJitter = s.opts.MaxJitter
	maxUnreach := cfg.MaxUnreach
	if maxUnreach < 0 {
		maxUnreach = DefaultMaxUnreach
	}
	src := &Source{
		typ:        cfg.Type,
		refID:      cfg.RefID,
		addr:       cfg.Addr,
		name:       cfg.Name,
		auth:       cfg.Authenticated,
		maxUnreach: maxUnreach,
		stats:      sourcestats.New(statsOpts),
		rank:       cfg.Rank,
		confOpts:   cfg.Options,
		selOpts:    cfg.Options,
	}
	src.reset()
	// Insert after every source of the same or a lower rank.
	at := len(s.sources)
	for i, o := range s.sources {
		if o.rank > src.rank {
			at = i
			break
		}
	}
	s.sources = slices.Insert(s.sources, at, src)
	for i := at; i < len(s.sources); i++ {
		s.sources[i].index = i
	}
	s.updateSelOptions()
	return src
}

// Remove unregisters a source and reselects at now.
func (s *Selector) Remove(src *Source, now time.Time) Result {
	s.begin()
	if src.index < 0 || src.index >= len(s.sources) || s.sources[src.index] != src {
		return s.end()
	}
	if s.lastUpdated == src {
		s.lastUpdated = nil
	}
	s.sources = append(s.sources[:src.index], s.sources[src.index+1:]...)
	for i := src.index; i < len(s.sources); i++ {
		s.sources[i].index = i
	}
	src.index = -1
	s.updateSelOptions()
	if s.selected == src {
		s.unselect(logrus.InfoLevel, "")
	}
	s.selectSource(now, nil)
	return s.end()
}

// SetRefID changes the reference ID and address of a source (after its
// address was resolved or replaced).
func (s *Selector) SetRefID(src *Source, refID uint32, cfg SourceConfig) {
	src.refID = refID
	src.addr = cfg.Addr
	src.name = cfg.Name
}

// ResetSource drops the source's history and state, reselecting at now if
// it was the selected source.
func (s *Selector) ResetSource(src *Source, now time.Time) Result {
	s.begin()
	src.reset()
	if s.selected == src {
		s.selectSource(now, nil)
	}
	return s.end()
}

// ResetAll resets all sources (chronyc reset sources).
func (s *Selector) ResetAll(now time.Time) Result {
	s.begin()
	for _, src := range s.sources {
		src.reset()
		if s.selected == src {
			s.selectSource(now, nil)
		}
	}
	s.out.event(logrus.InfoLevel, nil, "Reset all sources")
	return s.end()
}

// AccumulateSample adds a sample to the source's statistics and runs the
// regression. The caller drops samples around a leap second first (chronyd
// logs "Dropping sample around leap second") and calls Select(now, src)
// afterwards. It returns an event when the history was discarded.
func (s *Selector) AccumulateSample(src *Source, sample discipline.Sample) []Event {
	var r Result
	if src.stats.AccumulateSample(sample) {
		r.event(logrus.WarnLevel, src, sourcestats.OutOfOrderMessage, src.String())
	}
	src.stats.DoNewRegression()
	return r.Events
}

// UpdateStatus records the stratum and leap status of the source's last
// sample. Near a leap second (leapSecondClose) the leap status is kept. When
// the source votes on leap seconds, vote is true and leap is the new
// majority leap status for the reference.
func (s *Selector) UpdateStatus(src *Source, stratum int, leap discipline.LeapStatus, leapSecondClose bool) (majority discipline.LeapStatus, vote bool) {
	src.stratum = stratum
	if leapSecondClose {
		return discipline.LeapNormal, false
	}
	src.leap = leap
	if src.leapVote {
		return s.leapStatus(), true
	}
	return discipline.LeapNormal, false
}

// leapStatus accepts a leap second when more than half of the voting
// sources announce it.
func (s *Selector) leapStatus() discipline.LeapStatus {
	var votes, ins, del int
	for _, src := range s.sources {
		if !src.leapVote {
			continue
		}
		votes++
		switch src.leap {
		case discipline.LeapInsertSecond:
			ins++
		case discipline.LeapDeleteSecond:
			del++
		}
	}
	switch {
	case ins > votes/2:
		return discipline.LeapInsertSecond
	case del > votes/2:
		return discipline.LeapDeleteSecond
	default:
		return discipline.LeapNormal
	}
}

// SetActive marks whether the source is polling (updating reachability).
func (s *Selector) SetActive(src *Source, active bool) { src.active = active }

// ActiveSources counts the active sources.
func (s *Selector) ActiveSources() int {
	n := 0
	for _, src := range s.sources {
		if src.active {
			n++
		}
	}
	return n
}

// UpdateReachability shifts the result of a poll into the source's
// reachability register. An unreachable source triggers a reselection at
// now; a source unreachable for 8 polls is reported as bad; in a special
// reference mode, Unsynchronised is set when no source can still get
// enough samples.
func (s *Selector) UpdateReachability(src *Source, reachable bool, now time.Time) Result {
	s.begin()
	src.reach <<= 1
	if reachable {
		src.reach |= 1
	}
	src.reach &= 1<<ReachBits - 1
	if src.reachSize < ReachBits {
		src.reachSize++
	}
	if src.reach == 0 {
		if src.unreachRun < math.MaxInt {
			src.unreachRun++
		}
	} else {
		src.unreachRun = 0
	}
	if s.specialMode && s.specialModeEnd() {
		s.out.Unsynchronised = true
	}
	if src.reach == 0 && src.reachSize == ReachBits {
		s.handleBadSource(src)
	}
	if src.reach == 0 {
		s.selectSource(now, nil)
	}
	return s.end()
}

// ResetReachability clears the reachability register and records one
// failed poll.
func (s *Selector) ResetReachability(src *Source, now time.Time) Result {
	src.reach = 0
	src.reachSize = 0
	src.unreachRun = 0
	return s.UpdateReachability(src, false, now)
}

// specialModeEnd reports whether no active source can still provide enough
// samples within its initial burst.
func (s *Selector) specialModeEnd() bool {
	for _, src := range s.sources {
		if !src.active || src.reachSize >= ReachBits-1 {
			continue
		}
		if ReachBits-1-src.reachSize+src.stats.Samples() >= sourcestats.MinSamplesForRegression {
			return false
		}
	}
	return true
}

func (s *Selector) handleBadSource(src *Source) {
	if src.typ == TypeNTP {
		s.out.BadSources = append(s.out.BadSources, src)
	}
}

// ModifySelectOptions changes the configured options under mask (chronyc
// selectopts); it returns the event chronyd logs when they changed.
func (s *Selector) ModifySelectOptions(src *Source, options, mask SelectOptions) []Event {
	if src.confOpts&mask == options {
		return nil
	}
	src.confOpts = src.confOpts&^mask | options
	s.updateSelOptions()
	var r Result
	r.event(logrus.InfoLevel, src, "Source %s selection options modified", src.String())
	return r.Events
}

// SetReselectDistance changes reselectdist (chronyc reselectdist).
func (s *Selector) SetReselectDistance(d float64) []Event {
	if s.opts.ReselectDistance == d {
		return nil
	}
	s.opts.ReselectDistance = d
	var r Result
	r.event(logrus.InfoLevel, nil, "New reselect distance %f", d)
	return r.Events
}

// Reselect forgets the selected source and selects again (chronyc reselect).
func (s *Selector) Reselect(now time.Time) Result {
	s.begin()
	s.selected = nil
	s.selectSource(now, nil)
	return s.end()
}

// SlewSamples adjusts all sources' histories after a clock correction at
// when by dfreq (s/s) and doffset (s).
func (s *Selector) SlewSamples(when time.Time, dfreq, doffset float64) {
	for _, src := range s.sources {
		src.stats.SlewSamples(when, dfreq, doffset)
	}
}

// UnknownStep resets all statistics after the clock was stepped by an
// unknown amount and reselects at now.
func (s *Selector) UnknownStep(now time.Time) Result {
	s.begin()
	for _, src := range s.sources {
		src.stats.Reset()
	}
	s.selectSource(now, nil)
	return s.end()
}

// AddDispersion adds dispersion (s) to all sources' samples.
func (s *Selector) AddDispersion(dispersion float64) {
	for _, src := range s.sources {
		src.stats.AddDispersion(dispersion)
	}
}

// updateSelOptions derives the effective options from the configured ones
// and authselectmode.
func (s *Selector) updateSelOptions() {
	var authN, unauthN int
	for _, src := range s.sources {
		if src.confOpts&OptNoSelect != 0 || src.typ != TypeNTP {
			continue
		}
		if src.auth {
			authN++
		} else {
			unauthN++
		}
	}
	var authOpts, unauthOpts, refclockOpts SelectOptions
	switch s.opts.AuthSelectMode {
	case AuthSelectIgnore:
	case AuthSelectMix:
		if authN > 0 && unauthN > 0 {
			authOpts = OptRequire | OptTrust
			refclockOpts = OptRequire | OptTrust
		}
	case AuthSelectPrefer:
		if authN > 0 {
			unauthOpts = OptNoSelect
		}
	case AuthSelectRequire:
		unauthOpts = OptNoSelect
	}
	for _, src := range s.sources {
		o := src.confOpts
		if o&OptNoSelect == 0 {
			switch {
			case src.typ == TypeRefclock:
				o |= refclockOpts
			case src.auth:
				o |= authOpts
			default:
				o |= unauthOpts
			}
		}
		src.selOpts = o
	}
}
