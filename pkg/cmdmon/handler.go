package cmdmon

import (
	"time"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/ntp/access"
)

// Handler is what the engine implements to answer chronyc. Every method
// returns the status to answer with: StatusSuccess, or the status chronyd
// uses for the situation (NOSUCHSOURCE for an unknown source or index,
// NOTENABLED for a disabled facility, NORTC without an RTC driver, FAILED,
// ...). A report is sent only with StatusSuccess.
//
// Methods may be called concurrently from several goroutines; the
// implementation must serialise access to its state. An implementation can
// embed UnsyncedHandler to start from chronyd's answers for a daemon without
// sources and override what it supports.
type Handler interface {
	// Tracking answers chronyc tracking.
	Tracking() (candm.Tracking, candm.Status)
	// NumSources returns the number of sources (sources, sourcestats,
	// selectdata, ntpdata and authdata first ask for it).
	NumSources() (int, candm.Status)
	// SourceData returns one line of chronyc sources by index.
	SourceData(index int) (candm.SourceData, candm.Status)
	// SourceStats returns one line of chronyc sourcestats by index.
	SourceStats(index int) (candm.SourceStats, candm.Status)
	// SelectData returns one line of chronyc selectdata by index.
	SelectData(index int) (candm.SelectData, candm.Status)
	// NTPData returns chronyc ntpdata for the NTP source with this address.
	NTPData(addr candm.IPAddr) (candm.NTPData, candm.Status)
	// SourceName returns the name a source was configured with.
	SourceName(addr candm.IPAddr) (string, candm.Status)
	// AuthData returns chronyc authdata for the NTP source with this address.
	AuthData(addr candm.IPAddr) (candm.AuthData, candm.Status)
	// Activity answers chronyc activity.
	Activity() (candm.Activity, candm.Status)
	// ServerStats answers chronyc serverstats. The command counters may be
	// taken from Dispatcher.CommandStats.
	ServerStats() (candm.ServerStats, candm.Status)
	// ClientAccesses returns a page of chronyc clients (INACTIVE when client
	// logging is disabled).
	ClientAccesses(q candm.ClientAccessesQuery) (candm.ClientAccesses, candm.Status)
	// RTCData answers chronyc rtcdata (NORTC without an RTC driver).
	RTCData() (candm.RTCReport, candm.Status)
	// Smoothing answers chronyc smoothing (NOTENABLED without smoothtime).
	Smoothing() (candm.Smoothing, candm.Status)
	// ManualList answers chronyc manual list.
	ManualList() (candm.ManualList, candm.Status)
	// NTPAccessCheck answers chronyc accheck: ACCESSALLOWED or ACCESSDENIED.
	NTPAccessCheck(addr candm.IPAddr) candm.Status

	// Run performs a control command without arguments.
	Run(action Action) candm.Status
	// SetConnectivity answers chronyc online and offline: the sources whose
	// address matches Address under Mask (all when both are unspecified).
	SetConnectivity(req Connectivity) candm.Status
	// Burst answers chronyc burst.
	Burst(req candm.Burst) candm.Status
	// ModifySource answers minpoll, maxpoll, maxdelay, maxdelayratio,
	// maxdelaydevratio, minstratum and polltarget.
	ModifySource(req SourceModification) candm.Status
	// ModifySelectOpts answers chronyc selectopts.
	ModifySelectOpts(req SelectOptsChange) candm.Status
	// ModifyOffset answers chronyc offset.
	ModifyOffset(req candm.ModifyOffset) candm.Status
	// AddSource answers chronyc add server/pool/peer (SOURCEALREADYKNOWN,
	// TOOMANYSOURCES, INVALIDNAME, INVALIDAF as chronyd).
	AddSource(req candm.AddSource) candm.Status
	// DeleteSource answers chronyc delete.
	DeleteSource(addr candm.IPAddr) candm.Status
	// NTPAccess applies an allow/deny command to the NTP server's access
	// table (the Dispatcher has already turned the request into a valid
	// rule, or answered BADSUBNET).
	NTPAccess(rule access.Rule) candm.Status
	// Tune changes a daemon-wide value (maxupdateskew, reselectdist, dfreq,
	// doffset).
	Tune(req Tuning) candm.Status
	// ModifyMakestep answers chronyc makestep THRESHOLD LIMIT.
	ModifyMakestep(req candm.Makestep) candm.Status
	// Local answers chronyc local (any version of the request).
	Local(req candm.Local) candm.Status
	// Manual answers chronyc manual on/off/reset.
	Manual(op ManualOp) candm.Status
	// SetTime answers chronyc settime (NOTENABLED unless manual is on,
	// FAILED if the sample is rejected).
	SetTime(t time.Time) (candm.ManualTimestamp, candm.Status)
	// ManualDelete answers chronyc manual delete (BADSAMPLE for a bad index).
	ManualDelete(index int) candm.Status
	// SmoothTime answers chronyc smoothtime reset/activate (NOTENABLED
	// without smoothtime).
	SmoothTime(activate bool) candm.Status
}

// Action is a control command without arguments.
type Action int

// Actions.
const (
	ActionDump Action = iota + 1
	ActionRekey
	ActionCycleLogs
	ActionShutdown
	ActionMakeStep
	ActionReselect
	ActionRefresh
	ActionReloadSources
	ActionResetSources
	ActionOnOffline
	ActionTrimRTC
	ActionWriteRTC
)

var actionNames = map[Action]string{
	ActionDump: "dump", ActionRekey: "rekey", ActionCycleLogs: "cyclelogs",
	ActionShutdown: "shutdown", ActionMakeStep: "makestep", ActionReselect: "reselect",
	ActionRefresh: "refresh", ActionReloadSources: "reload sources",
	ActionResetSources: "reset sources", ActionOnOffline: "onoffline",
	ActionTrimRTC: "trimrtc", ActionWriteRTC: "writertc",
}

// String returns the chronyc command of the action.
func (a Action) String() string {
	if s, ok := actionNames[a]; ok {
		return s
	}
	return "unknown action"
}

// Connectivity is chronyc online or offline.
type Connectivity struct {
	Online  bool
	Mask    candm.IPAddr
	Address candm.IPAddr
}

// SourceParam names a per-source parameter chronyc can modify.
type SourceParam int

// Per-source parameters.
const (
	ParamMinpoll SourceParam = iota + 1
	ParamMaxpoll
	ParamMaxDelay
	ParamMaxDelayRatio
	ParamMaxDelayDevRatio
	ParamMinStratum
	ParamPollTarget
)

// SourceModification is a new value for one parameter of the source with
// Address. Integer parameters (minpoll, maxpoll, minstratum, polltarget)
// carry whole numbers.
type SourceModification struct {
	Param   SourceParam
	Address candm.IPAddr
	Value   float64
}

// SelectOptsChange is chronyc selectopts: for the source with Address (or
// the reference clock with RefID when Address is unspecified), set the
// selection options in Mask to their value in Options. Both use the
// candm.SelectOption* bits (noselect, prefer, trust, require).
type SelectOptsChange struct {
	Address candm.IPAddr
	RefID   uint32
	Mask    uint32
	Options uint32
}

// TuneParam names a daemon-wide value chronyc can change.
type TuneParam int

// Daemon-wide values.
const (
	// TuneMaxUpdateSkew is maxupdateskew in ppm.
	TuneMaxUpdateSkew TuneParam = iota + 1
	// TuneReselectDistance is reselectdist in seconds.
	TuneReselectDistance
	// TuneDFreq accumulates a frequency change in ppm (chronyc dfreq).
	TuneDFreq
	// TuneDOffset accumulates an offset to slew in seconds (chronyc
	// doffset); chronyd answers FAILED if the clock cannot take it.
	TuneDOffset
)

// Tuning is a new daemon-wide value.
type Tuning struct {
	Param TuneParam
	Value float64
}

// ManualOp is chronyc manual on, off or reset.
type ManualOp int

// Manual operations.
const (
	ManualOff ManualOp = iota
	ManualOn
	ManualReset
)
