package selection

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
	"github.com/sirupsen/logrus"
)

// endpoint is one end of a source's interval in the intersection search.
type endpoint struct {
	src    *Source
	offset float64
	high   bool
}

// Select runs the source selection at now (the time of the event that
// triggered it). updated is the source that has just accumulated a new
// sample, or nil. When a source is selected and has new samples, the Result
// carries the reference update.
func (s *Selector) Select(now time.Time, updated *Source) Result {
	s.begin()
	s.selectSource(now, updated)
	return s.end()
}

// logMessage logs a selection message unless in a special reference mode.
func (s *Selector) logMessage(level logrus.Level, format string, args ...any) {
	if s.specialMode {
		return
	}
	s.out.event(level, nil, format, args...)
}

// logSource logs a message about a source and remembers it was reported in
// its current state.
func (s *Selector) logSource(level logrus.Level, src *Source, format string, args ...any) {
	if s.specialMode {
		return
	}
	msg := fmt.Sprintf(format, args...)
	s.out.Events = append(s.out.Events, Event{Level: level, Message: fmt.Sprintf(msg, src.logName()), Source: src})
	src.reported[src.status] = true
}

// setStatus sets the state and counts bad updates of the last updated
// source, reporting it for replacement after badHandleThreshold of them.
func (s *Selector) setStatus(src *Source, st Status) {
	src.status = st
	if src == s.lastUpdated {
		if src.bad < math.MaxInt &&
			(st == StatusFalseticker || st == StatusBadDistance || st == StatusJittery) {
			src.bad++
		} else {
			src.bad = 0
		}
		if src.bad >= badHandleThreshold {
			s.handleBadSource(src)
		}
	}
	if s.logSelection {
		s.out.SelectionLog = append(s.out.SelectionLog, s.selectionLogLine(src))
	}
}

// selectionLogLine formats the source's state as a line of selection.log.
func (s *Selector) selectionLogLine(src *Source) string {
	opts := []byte("-----")
	for i, o := range []SelectOptions{OptNoSelect, OptPrefer, OptTrust, OptRequire} {
		if src.selOpts&o != 0 {
			opts[i+1] = "NPTR"[i]
		}
	}
	return fmt.Sprintf("%s %-15s %s %s %4o %5.2f %10.3e %10.3e %10.3e",
		sourcestats.LogTime(s.now), src.String(), src.status, opts, src.reach, src.score,
		src.info.lastSampleAgo, src.info.lo, src.info.hi)
}

// mark sets the state and logs it once per selected-source change.
func (s *Selector) mark(src *Source, st Status) {
	s.setStatus(src, st)
	if src.reported[st] {
		return
	}
	switch st {
	case StatusBadDistance:
		if src.bad >= badHandleThreshold {
			s.logSource(logrus.WarnLevel, src, "Root distance of %%s exceeds maxdistance of %.3f seconds", s.opts.MaxDistance)
		}
	case StatusJittery:
		if src.bad >= badHandleThreshold {
			s.logSource(logrus.WarnLevel, src, "Jitter of %%s exceeds maxjitter of %.3f seconds", s.opts.MaxJitter)
		}
	case StatusFalseticker:
		s.logSource(logrus.WarnLevel, src, "Detected falseticker %%s")
	case StatusSelected:
		s.logSource(logrus.InfoLevel, src, "Selected source %%s")
	}
}

// markOK gives all sources still in StatusOK the state st, without logging.
func (s *Selector) markOK(st Status) {
	for _, src := range s.sources {
		if src.status == StatusOK {
			s.setStatus(src, st)
		}
	}
}

// unselect drops the selected source. An empty message means a transient
// state: the loss is reported with the next message or forgotten when
// another source is selected.
func (s *Selector) unselect(level logrus.Level, msg string) {
	if s.selected != nil {
		s.selected = nil
		s.reportSelectionLoss = true
	}
	if s.reportSelectionLoss && msg != "" {
		s.logMessage(level, "%s", msg)
		s.reportSelectionLoss = false
	}
}

func (s *Selector) selectSource(now time.Time, updated *Source) {
	s.now = now
	if updated != nil {
		updated.updates++
		s.lastUpdated = updated
	}
	if len(s.sources) == 0 {
		s.unselect(logrus.WarnLevel, "Can't synchronise: no sources")
		return
	}

	// Step 1: gather the selection data and reject unusable sources.
	var (
		nBadStats, nUnreach                int
		requireWanted                      bool
		maxSelReach, maxBadStatReach       uint
		maxSelReachSize, maxBadStatReachSz int
		maxReachSampleAgo                  float64
	)
	for _, src := range s.sources {
		src.leapVote = false
		if src.selOpts&OptRequire != 0 {
			requireWanted = true
		}
		if src.selOpts&OptNoSelect != 0 {
			s.mark(src, StatusNoSelect)
			continue
		}
		if src.reach == 0 {
			nUnreach++
		}
		sd := src.stats.SelectionData(now)
		if src.stats.Samples() > 0 {
			src.info = selectInfo{
				selectOK:      sd.Selectable,
				stdDev:        sd.StdDev,
				rootDistance:  sd.RootDistance,
				lo:            sd.LoLimit,
				hi:            sd.HiLimit,
				lastSampleAgo: sd.LastSampleAgo,
			}
		} else {
			// Without samples chronyd keeps the last interval for selectdata.
			src.info.selectOK = false
		}
		si := &src.info
		if !si.selectOK {
			nBadStats++
			s.mark(src, StatusBadStats)
			maxBadStatReach = max(maxBadStatReach, src.reach)
			maxBadStatReachSz = max(maxBadStatReachSz, src.reachSize)
			continue
		}
		if src.leap == discipline.LeapUnsynchronised {
			s.mark(src, StatusUnsynchronised)
			continue
		}
		// Sources without new samples get extra dispersion.
		if sd.FirstSampleAgo < 2*si.lastSampleAgo {
			extra := s.opts.MaxClockError * (2*si.lastSampleAgo - sd.FirstSampleAgo)
			si.rootDistance += extra
			si.lo -= extra
			si.hi += extra
		}
		if !(si.rootDistance <= s.opts.MaxDistance && si.lo <= si.hi) {
			s.mark(src, StatusBadDistance)
			continue
		}
		if si.stdDev > s.opts.MaxJitter {
			s.mark(src, StatusJittery)
			continue
		}
		src.status = StatusOK
		if src.reach != 0 && maxReachSampleAgo < sd.FirstSampleAgo {
			maxReachSampleAgo = sd.FirstSampleAgo
		}
		maxSelReach = max(maxSelReach, src.reach)
		maxSelReachSize = max(maxSelReachSize, src.reachSize)
	}

	// Step 2: stale and orphan sources.
	var orphan *Source
	nSel := 0
	for _, src := range s.sources {
		if src.status != StatusOK {
			continue
		}
		si := &src.info
		if src.reach == 0 &&
			(si.lastSampleAgo > maxReachSampleAgo || src.unreachRun > src.maxUnreach) {
			s.mark(src, StatusStale)
			continue
		}
		orphanStratum := s.orphanStratum
		if s.specialMode {
			orphanStratum = MaxStratum
		}
		if src.stratum >= orphanStratum && src.typ == TypeNTP {
			s.mark(src, StatusOrphan)
			if src.stratum == orphanStratum && src.reach != 0 &&
				(orphan == nil || src.refID < orphan.refID) {
				orphan = src
			}
			continue
		}
		nSel++
	}
	if nSel == 0 && orphan != nil {
		switch {
		case orphan.localRefID == 0:
			s.out.event(logrus.ErrorLevel, nil, "Unknown local refid in orphan mode")
		case orphan.refID < orphan.localRefID:
			orphan.status = StatusOK
			nSel = 1
		}
	}

	// Step 3: the endpoints of the intervals.
	var eps []endpoint
	nSelTrust := 0
	for _, src := range s.sources {
		if src.status != StatusOK {
			continue
		}
		if src.selOpts&OptTrust != 0 {
			nSelTrust++
		}
		eps = append(eps, endpoint{src: src, offset: src.info.lo},
			endpoint{src: src, offset: src.info.hi, high: true})
	}

	// Wait for sources still collecting their first samples when the
	// sources poll at the same rate and none is selected yet.
	if nBadStats > 0 && nSel > 0 && s.selected == nil &&
		maxSelReachSize < ReachBits && maxSelReach>>1 == maxBadStatReach {
		s.markOK(StatusWaitsStats)
		s.unselect(logrus.InfoLevel, "")
		return
	}

	// Let one failed selection be logged before the first successful one.
	if !s.forcedFirstReport && max(maxSelReachSize, maxBadStatReachSz) == ReachBits {
		s.reportSelectionLoss = true
		s.forcedFirstReport = true
	}

	if len(eps) == 0 {
		s.unselect(logrus.WarnLevel, fmt.Sprintf(
			"Can't synchronise: no selectable sources (%d unreachable sources)", nUnreach))
		return
	}

	// Step 4: find the interval contained in most source intervals, giving
	// priority to intervals of trusted sources.
	sort.SliceStable(eps, func(i, j int) bool {
		if eps[i].offset != eps[j].offset {
			return eps[i].offset < eps[j].offset
		}
		return !eps[i].high && eps[j].high
	})
	var depth, bestDepth, trustDepth, bestTrustDepth int
	var bestLo, bestHi, bestTrustLo, bestTrustHi float64
	for _, ep := range eps {
		trusted := ep.src.selOpts&OptTrust != 0
		if !ep.high {
			depth++
			if trusted {
				trustDepth++
			}
			if trustDepth > bestTrustDepth || (trustDepth == bestTrustDepth && depth > bestDepth) {
				if trustDepth > bestTrustDepth {
					bestTrustDepth = trustDepth
					bestTrustLo = ep.offset
				}
				bestDepth = depth
				bestLo = ep.offset
			}
		} else {
			if trustDepth == bestTrustDepth {
				if depth == bestDepth {
					bestHi = ep.offset
				}
				bestTrustHi = ep.offset
			}
			if trusted {
				trustDepth--
			}
			depth--
		}
	}
	if bestTrustDepth > 0 {
		bestDepth = bestTrustDepth
		nSel = nSelTrust
	}

	if bestDepth <= nSel/2 {
		if !s.reportedNoMajority {
			trusted := ""
			if bestTrustDepth > 0 {
				trusted = "trusted "
			}
			if bestDepth < 2 {
				s.logMessage(logrus.WarnLevel, "Can't synchronise: no majority (no agreement among %d %ssources)", nSel, trusted)
			} else {
				s.logMessage(logrus.WarnLevel, "Can't synchronise: no majority (only %d of %d %ssources agree)", bestDepth, nSel, trusted)
			}
			s.reportedNoMajority = true
			s.reportSelectionLoss = false
		}
		if s.selected != nil {
			s.out.Unsynchronised = true
			s.selected = nil
		}
		s.markOK(StatusFalseticker)
		return
	}

	// Step 5: the truechimers are the sources whose interval contains the
	// best interval or lies within it.
	var sel []*Source
	for _, src := range s.sources {
		if src.status != StatusOK {
			continue
		}
		si := &src.info
		if (si.lo <= bestLo && si.hi >= bestHi) || (si.lo >= bestLo && si.hi <= bestHi) {
			if !(bestTrustDepth == 0 || src.selOpts&OptTrust != 0 ||
				(si.lo >= bestTrustLo && si.hi <= bestTrustHi)) {
				s.mark(src, StatusUntrusted)
				continue
			}
			sel = append(sel, src)
			if src.selOpts&OptRequire != 0 {
				requireWanted = false
			}
		} else {
			s.mark(src, StatusFalseticker)
		}
	}

	if len(sel) == 0 || requireWanted || len(sel) < s.opts.MinSources {
		what := "not enough"
		if len(sel) == 0 {
			what = "no"
		} else if requireWanted {
			what = "no required source in"
		}
		s.unselect(logrus.WarnLevel, fmt.Sprintf("Can't synchronise: %s selectable sources", what))
		s.markOK(StatusWaitsSources)
		return
	}

	// The selectable (and trusted, if any) sources vote on leap seconds.
	for _, src := range sel {
		if bestTrustDepth > 0 && src.selOpts&OptTrust == 0 {
			continue
		}
		src.leapVote = true
	}

	// Keep only preferred sources if there are any.
	prefer := false
	for _, src := range sel {
		if src.selOpts&OptPrefer != 0 {
			prefer = true
			break
		}
	}
	if prefer {
		kept := sel[:0]
		for _, src := range sel {
			if src.selOpts&OptPrefer == 0 {
				s.mark(src, StatusNonPreferred)
			} else {
				kept = append(kept, src)
			}
		}
		sel = kept
	}

	minStratum := sel[0].stratum
	for _, src := range sel[1:] {
		minStratum = min(minStratum, src.stratum)
	}

	// Step 6: scores for the hysteresis of the reselection.
	var best *Source
	bestScore := 0.0
	selDistance := 0.0
	if s.selected != nil {
		selDistance = s.selected.info.rootDistance +
			float64(s.selected.stratum-minStratum)*s.opts.StratumWeight
	}
	for _, src := range s.sources {
		if src.status != StatusOK || (prefer && src.selOpts&OptPrefer == 0) {
			src.score = 1
			src.distant = distantPenalty
			continue
		}
		distance := src.info.rootDistance + float64(src.stratum-minStratum)*s.opts.StratumWeight
		if src.typ == TypeNTP {
			distance += s.opts.ReselectDistance
		}
		if s.selected != nil {
			// Update the score only for pairs where one has a new sample.
			if src == updated || s.selected == updated {
				src.score *= selDistance / distance
				if src.score < 1 {
					src.score = 1
				}
			}
		} else {
			// Without a selected source, the closest one scores highest.
			src.score = 1 / distance
		}
		if bestScore < src.score {
			bestScore = src.score
			best = src
		}
	}
	if best == nil {
		return
	}

	if s.selected == nil || s.selected.status != StatusOK ||
		(best != s.selected && bestScore > scoreLimit) {
		// Wait until the new source can update the reference.
		if best.updates == 0 {
			s.unselect(logrus.InfoLevel, "")
			s.markOK(StatusWaitsUpdate)
			return
		}
		s.selected = best
		for _, src := range s.sources {
			src.score = 1
			src.distant = 0
			src.reported = [numStatuses]bool{}
		}
		s.reportedNoMajority = false
		s.reportSelectionLoss = false
		s.forcedFirstReport = true
	}

	s.mark(s.selected, StatusSelected)

	// No reference update without new samples from the selected source.
	if s.selected.updates == 0 {
		for _, src := range sel {
			if src.status == StatusOK {
				if src.distant > 0 {
					s.mark(src, StatusDistant)
				} else {
					s.mark(src, StatusUnselected)
				}
			}
		}
		return
	}
	for _, src := range s.sources {
		src.updates = 0
	}

	leap := s.leapStatus()
	td, ok := s.selected.stats.TrackingData()
	if !ok {
		return
	}
	u := &ReferenceUpdate{
		Source:         s.selected,
		Stratum:        s.selected.stratum,
		Leap:           leap,
		Combined:       1,
		RefID:          s.selected.refID,
		Addr:           s.selected.addr,
		RefTime:        td.RefTime,
		Offset:         td.Offset,
		OffsetSD:       td.OffsetSD,
		Frequency:      td.Frequency,
		FrequencySD:    td.FrequencySD,
		Skew:           td.Skew,
		RootDelay:      td.RootDelay,
		RootDispersion: td.RootDispersion,
	}
	if len(sel) > 1 {
		u.Combined = s.combine(sel, u)
	}
	s.out.Update = u
}

// combine averages the offsets (weighted by 1/root distance) and the
// frequencies (weighted by 1/variance) of the selected sources that are
// close enough to the best one; it returns how many were combined.
func (s *Selector) combine(sel []*Source, u *ReferenceUpdate) int {
	selDistance := s.selected.info.rootDistance
	if s.selected.typ == TypeNTP {
		selDistance += s.opts.ReselectDistance
	}
	var sumOW, sumO, sum2OSD, sumFW, sumF, invSum2FSD, invSum2Skew float64
	combined := 0
	for _, src := range sel {
		td, ok := src.stats.TrackingData()
		if !ok {
			continue
		}
		if src != s.selected &&
			(src.info.rootDistance > s.opts.CombineLimit*selDistance ||
				math.Abs(u.Frequency-td.Frequency) >
					s.opts.CombineLimit*(u.Skew+td.Skew+s.opts.MaxClockError)) {
			// Use a smaller penalty in the first few updates.
			if src.reachSize >= ReachBits {
				src.distant = distantPenalty
			} else {
				src.distant = 1
			}
		} else if src.distant > 0 {
			src.distant--
		}
		if src.distant > 0 {
			s.mark(src, StatusDistant)
			continue
		}
		if src.status == StatusOK {
			s.mark(src, StatusUnselected)
		}

		elapsed := sourcestats.DiffSeconds(u.RefTime, td.RefTime)
		off := td.Offset + elapsed*td.Frequency
		offSD := td.OffsetSD + elapsed*td.FrequencySD
		ow := 1 / src.info.rootDistance
		fw := 1 / (td.FrequencySD * td.FrequencySD)

		sumOW += ow
		sumO += ow * off
		sum2OSD += ow * (offSD*offSD + (off-u.Offset)*(off-u.Offset))
		sumFW += fw
		sumF += fw * td.Frequency
		invSum2FSD += 1 / (td.FrequencySD * td.FrequencySD)
		invSum2Skew += 1 / (td.Skew * td.Skew)
		combined++
	}
	if combined == 0 {
		return 1
	}
	u.Offset = sumO / sumOW
	u.OffsetSD = math.Sqrt(sum2OSD / sumOW)
	u.Frequency = sumF / sumFW
	u.FrequencySD = 1 / math.Sqrt(invSum2FSD)
	u.Skew = 1 / math.Sqrt(invSum2Skew)
	return combined
}
