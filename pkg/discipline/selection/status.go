package selection

// Status is a source's state after the last selection (chrony's SRC_Status).
type Status int

// Source states, in chrony's order. String gives selectdata's letter.
const (
	// StatusOK is transient during a selection, never a final state.
	StatusOK Status = iota
	// StatusNoSelect: has the noselect option (N).
	StatusNoSelect
	// StatusBadStats: does not have enough measurements (M).
	StatusBadStats
	// StatusUnsynchronised: the source is not synchronised (s).
	StatusUnsynchronised
	// StatusBadDistance: root distance above maxdistance (d).
	StatusBadDistance
	// StatusJittery: standard deviation above maxjitter (~).
	StatusJittery
	// StatusWaitsStats: waits for other sources to leave M (w).
	StatusWaitsStats
	// StatusStale: only old measurements or unreachable too long (S).
	StatusStale
	// StatusOrphan: stratum at or above the orphan stratum (O).
	StatusOrphan
	// StatusUntrusted: does not fully agree with trusted sources (T).
	StatusUntrusted
	// StatusFalseticker: does not agree with the others (x).
	StatusFalseticker
	// StatusWaitsSources: minsources or require not met (W).
	StatusWaitsSources
	// StatusNonPreferred: another source has prefer (P).
	StatusNonPreferred
	// StatusWaitsUpdate: waits for a new measurement (U).
	StatusWaitsUpdate
	// StatusDistant: too distant to be combined (D).
	StatusDistant
	// StatusOutlier: outlier in clustering, unused (L).
	StatusOutlier
	// StatusUnselected: combined with the best source (+).
	StatusUnselected
	// StatusSelected: the best source (*).
	StatusSelected
	numStatuses
)

// String returns the state letter of chronyc selectdata.
func (s Status) String() string {
	const letters = "?NMsd~wSOTxWPUDL+*"
	if s < 0 || int(s) >= len(letters) {
		return "?"
	}
	return letters[s : s+1]
}

// ReportState is the state of chronyc sources, with the values of the
// control protocol (RPY_SD_ST_*).
type ReportState uint16

// Source report states.
const (
	ReportSelected      ReportState = 0
	ReportNonSelectable ReportState = 1
	ReportFalseticker   ReportState = 2
	ReportJittery       ReportState = 3
	ReportUnselected    ReportState = 4
	ReportSelectable    ReportState = 5
)

// Char returns the S column character of chronyc sources.
func (r ReportState) Char() byte {
	switch r {
	case ReportSelected:
		return '*'
	case ReportFalseticker:
		return 'x'
	case ReportJittery:
		return '~'
	case ReportUnselected:
		return '+'
	case ReportSelectable:
		return '-'
	default:
		return '?'
	}
}

// ReportState maps a selection status to chronyc sources' state.
func (s Status) ReportState() ReportState {
	switch s {
	case StatusFalseticker:
		return ReportFalseticker
	case StatusJittery:
		return ReportJittery
	case StatusWaitsSources, StatusNonPreferred, StatusWaitsUpdate, StatusDistant, StatusOutlier:
		return ReportSelectable
	case StatusUnselected:
		return ReportUnselected
	case StatusSelected:
		return ReportSelected
	default:
		return ReportNonSelectable
	}
}
