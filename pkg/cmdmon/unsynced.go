package cmdmon

import (
	"time"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/ntp/access"
)

// UnsyncedHandler answers as a daemon with no sources, no reference, no
// RTC driver, no smoothing and manual input disabled: chronyd's state
// before its first source is configured. Commands that would change the
// daemon's state cannot be carried out and get FAILED (or the status chronyd
// gives for a missing source or facility). The engine replaces it.
type UnsyncedHandler struct {
	// FrequencyPPM is the clock's frequency offset reported by tracking
	// (chronyd reports the driver's absolute frequency even when
	// unsynchronised; 0 without a drift file).
	FrequencyPPM float64
	// CommandStats, if set, supplies serverstats' command counters (for
	// example Dispatcher.CommandStats).
	CommandStats func() (hits, drops uint64)
}

var _ Handler = (*UnsyncedHandler)(nil)

// Tracking reports an unsynchronised reference: reference ID 0, stratum 0,
// leap "Not synchronised", root delay and dispersion 1 s, as chronyd does.
func (u *UnsyncedHandler) Tracking() (candm.Tracking, candm.Status) {
	return candm.Tracking{LeapStatus: 3, FreqPPM: u.FrequencyPPM, RootDelay: 1, RootDispersion: 1},
		candm.StatusSuccess
}

// NumSources reports no sources.
func (u *UnsyncedHandler) NumSources() (int, candm.Status) { return 0, candm.StatusSuccess }

// SourceData answers NOSUCHSOURCE.
func (u *UnsyncedHandler) SourceData(int) (candm.SourceData, candm.Status) {
	return candm.SourceData{}, candm.StatusNoSuchSource
}

// SourceStats answers NOSUCHSOURCE.
func (u *UnsyncedHandler) SourceStats(int) (candm.SourceStats, candm.Status) {
	return candm.SourceStats{}, candm.StatusNoSuchSource
}

// SelectData answers NOSUCHSOURCE.
func (u *UnsyncedHandler) SelectData(int) (candm.SelectData, candm.Status) {
	return candm.SelectData{}, candm.StatusNoSuchSource
}

// NTPData answers NOSUCHSOURCE.
func (u *UnsyncedHandler) NTPData(candm.IPAddr) (candm.NTPData, candm.Status) {
	return candm.NTPData{}, candm.StatusNoSuchSource
}

// SourceName answers NOSUCHSOURCE.
func (u *UnsyncedHandler) SourceName(candm.IPAddr) (string, candm.Status) {
	return "", candm.StatusNoSuchSource
}

// AuthData answers NOSUCHSOURCE.
func (u *UnsyncedHandler) AuthData(candm.IPAddr) (candm.AuthData, candm.Status) {
	return candm.AuthData{}, candm.StatusNoSuchSource
}

// Activity reports no sources.
func (u *UnsyncedHandler) Activity() (candm.Activity, candm.Status) {
	return candm.Activity{}, candm.StatusSuccess
}

// ServerStats reports no NTP service and the command counters.
func (u *UnsyncedHandler) ServerStats() (candm.ServerStats, candm.Status) {
	var s candm.ServerStats
	if u.CommandStats != nil {
		s.CmdHits, s.CmdDrops = u.CommandStats()
	}
	return s, candm.StatusSuccess
}

// ClientAccesses reports an empty client log.
func (u *UnsyncedHandler) ClientAccesses(candm.ClientAccessesQuery) (candm.ClientAccesses, candm.Status) {
	return candm.ClientAccesses{}, candm.StatusSuccess
}

// RTCData answers NORTC.
func (u *UnsyncedHandler) RTCData() (candm.RTCReport, candm.Status) {
	return candm.RTCReport{}, candm.StatusNoRTC
}

// Smoothing answers NOTENABLED.
func (u *UnsyncedHandler) Smoothing() (candm.Smoothing, candm.Status) {
	return candm.Smoothing{}, candm.StatusNotEnabled
}

// ManualList reports no samples.
func (u *UnsyncedHandler) ManualList() (candm.ManualList, candm.Status) {
	return candm.ManualList{}, candm.StatusSuccess
}

// NTPAccessCheck answers ACCESSDENIED: without allow directives nothing is
// served.
func (u *UnsyncedHandler) NTPAccessCheck(candm.IPAddr) candm.Status {
	return candm.StatusAccessDenied
}

// Run answers NORTC for the RTC actions, success for those that are no-ops
// without sources (dump, reselect, refresh, reset sources, onoffline) and
// FAILED for the rest.
func (u *UnsyncedHandler) Run(a Action) candm.Status {
	switch a {
	case ActionTrimRTC, ActionWriteRTC:
		return candm.StatusNoRTC
	case ActionDump, ActionReselect, ActionRefresh, ActionResetSources, ActionOnOffline:
		return candm.StatusSuccess
	default:
		return candm.StatusFailed
	}
}

// SetConnectivity answers NOSUCHSOURCE: as chronyd, when no source
// matches (even for "all sources").
func (u *UnsyncedHandler) SetConnectivity(Connectivity) candm.Status {
	return candm.StatusNoSuchSource
}

// Burst answers NOSUCHSOURCE, as SetConnectivity.
func (u *UnsyncedHandler) Burst(candm.Burst) candm.Status { return candm.StatusNoSuchSource }

// ModifySource answers NOSUCHSOURCE.
func (u *UnsyncedHandler) ModifySource(SourceModification) candm.Status {
	return candm.StatusNoSuchSource
}

// ModifySelectOpts answers NOSUCHSOURCE.
func (u *UnsyncedHandler) ModifySelectOpts(SelectOptsChange) candm.Status {
	return candm.StatusNoSuchSource
}

// ModifyOffset answers NOSUCHSOURCE.
func (u *UnsyncedHandler) ModifyOffset(candm.ModifyOffset) candm.Status {
	return candm.StatusNoSuchSource
}

// AddSource answers FAILED: there is no engine to add it to.
func (u *UnsyncedHandler) AddSource(candm.AddSource) candm.Status { return candm.StatusFailed }

// DeleteSource answers NOSUCHSOURCE.
func (u *UnsyncedHandler) DeleteSource(candm.IPAddr) candm.Status {
	return candm.StatusNoSuchSource
}

// NTPAccess answers FAILED: there is no NTP server to configure.
func (u *UnsyncedHandler) NTPAccess(access.Rule) candm.Status { return candm.StatusFailed }

// Tune answers FAILED.
func (u *UnsyncedHandler) Tune(Tuning) candm.Status { return candm.StatusFailed }

// ModifyMakestep answers FAILED.
func (u *UnsyncedHandler) ModifyMakestep(candm.Makestep) candm.Status { return candm.StatusFailed }

// Local answers FAILED.
func (u *UnsyncedHandler) Local(candm.Local) candm.Status { return candm.StatusFailed }

// Manual answers FAILED.
func (u *UnsyncedHandler) Manual(ManualOp) candm.Status { return candm.StatusFailed }

// SetTime answers NOTENABLED: manual input is off.
func (u *UnsyncedHandler) SetTime(time.Time) (candm.ManualTimestamp, candm.Status) {
	return candm.ManualTimestamp{}, candm.StatusNotEnabled
}

// ManualDelete answers BADSAMPLE: there are no samples.
func (u *UnsyncedHandler) ManualDelete(int) candm.Status { return candm.StatusBadSample }

// SmoothTime answers NOTENABLED.
func (u *UnsyncedHandler) SmoothTime(bool) candm.Status { return candm.StatusNotEnabled }
