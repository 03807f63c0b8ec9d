package chronyc

import (
	"encoding/json"
	"time"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

// JSON output: every report is printed as one JSON document on one line.
// Times are seconds, frequencies are dimensionless ratios (1e-6 = 1 ppm),
// absolute times are RFC 3339 strings in UTC with their Unix time in
// seconds beside them. docs/chronygoc.md lists the fields.

// ppm converts parts per million to a ratio.
const ppm = 1e-6

func (s *Session) emitJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.logError("Could not encode JSON: " + err.Error())
		return
	}
	s.printf("%s\n", b)
}

// JSONTime is an absolute time in both notations.
type JSONTime struct {
	UTC  string  `json:"utc"`
	Unix float64 `json:"unix"`
}

func jsonTime(t time.Time) JSONTime {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return JSONTime{UTC: t.UTC().Format(time.RFC3339Nano), Unix: float64(t.UnixNano()) / 1e9}
}

// jsonInterval is an interval in seconds, null when unknown (0xffffffff).
func jsonInterval(s uint32) *uint32 {
	if s == 1<<32-1 {
		return nil
	}
	return &s
}

func refIDHex(id uint32) string { return NewReport(false).RefID(id).String() }

// SourceJSON is one source of sources.
type SourceJSON struct {
	Name           string  `json:"name"`
	Address        string  `json:"address"`
	Mode           string  `json:"mode"`
	State          string  `json:"state"`
	Stratum        uint16  `json:"stratum"`
	Poll           int16   `json:"poll"`
	Reachability   uint16  `json:"reachability"`
	LastRx         *uint32 `json:"last_rx"`
	AdjustedOffset float64 `json:"adjusted_offset"`
	MeasuredOffset float64 `json:"measured_offset"`
	Error          float64 `json:"error"`
}

// modeWord names a source mode in JSON.
func modeWord(mode uint16) string {
	switch mode {
	case candm.SourceModeClient:
		return "server"
	case candm.SourceModePeer:
		return "peer"
	case candm.SourceModeRef:
		return "refclock"
	}
	return ""
}

// stateWord names a source state in JSON.
func stateWord(state uint16) string {
	words := [...]string{candm.SourceStateSelected: "selected", candm.SourceStateNonselectable: "unusable",
		candm.SourceStateFalseticker: "falseticker", candm.SourceStateJittery: "jittery",
		candm.SourceStateUnselected: "combined", candm.SourceStateSelectable: "not_combined"}
	if int(state) < len(words) {
		return words[state]
	}
	return ""
}

func sourcesJSON(rows []SourceRow) any {
	out := make([]SourceJSON, 0, len(rows))
	for _, r := range rows {
		d := r.Data
		out = append(out, SourceJSON{Name: r.Name, Address: d.IPAddr.String(), Mode: modeWord(d.Mode),
			State: stateWord(d.State), Stratum: d.Stratum, Poll: d.Poll, Reachability: d.Reachability,
			LastRx: jsonInterval(d.SinceSample), AdjustedOffset: d.LatestMeas,
			MeasuredOffset: d.OrigLatestMeas, Error: d.LatestMeasErr})
	}
	return out
}

// SourceStatsJSON is one source of sourcestats.
type SourceStatsJSON struct {
	Name          string  `json:"name"`
	Address       string  `json:"address"`
	RefID         string  `json:"ref_id"`
	Samples       uint32  `json:"samples"`
	Runs          uint32  `json:"runs"`
	Span          uint32  `json:"span"`
	Frequency     float64 `json:"frequency"`
	FrequencySkew float64 `json:"frequency_skew"`
	Offset        float64 `json:"offset"`
	StdDev        float64 `json:"std_dev"`
	OffsetError   float64 `json:"offset_error"`
}

func sourceStatsJSON(rows []SourceStatsRow) any {
	out := make([]SourceStatsJSON, 0, len(rows))
	for _, r := range rows {
		d := r.Data
		out = append(out, SourceStatsJSON{Name: r.Name, Address: d.IPAddr.String(), RefID: refIDHex(d.RefID),
			Samples: d.NSamples, Runs: d.NRuns, Span: d.SpanSeconds, Frequency: d.ResidFreqPPM * ppm,
			FrequencySkew: d.SkewPPM * ppm, Offset: d.EstOffset, StdDev: d.SD, OffsetError: d.EstOffsetErr})
	}
	return out
}

// SelectJSON is one source of selectdata.
type SelectJSON struct {
	Name              string  `json:"name"`
	Address           string  `json:"address"`
	RefID             string  `json:"ref_id"`
	State             string  `json:"state"`
	Authenticated     bool    `json:"authenticated"`
	ConfiguredOptions uint16  `json:"configured_options"`
	EffectiveOptions  uint16  `json:"effective_options"`
	LastSampleAgo     *uint32 `json:"last_sample_ago"`
	Score             float64 `json:"score"`
	LowLimit          float64 `json:"low_limit"`
	HighLimit         float64 `json:"high_limit"`
	Leap              string  `json:"leap"`
}

func selectDataJSON(rows []SelectRow) any {
	out := make([]SelectJSON, 0, len(rows))
	for _, r := range rows {
		d := r.Data
		out = append(out, SelectJSON{Name: r.Name, Address: d.IPAddr.String(), RefID: refIDHex(d.RefID),
			State: string(rune(d.StateChar)), Authenticated: d.Authentication != 0,
			ConfiguredOptions: d.ConfOptions, EffectiveOptions: d.EffOptions,
			LastSampleAgo: jsonInterval(d.LastSampleAgo), Score: d.Score, LowLimit: d.LoLimit,
			HighLimit: d.HiLimit, Leap: LeapName(int(d.Leap), false)})
	}
	return out
}

// AuthJSON is one source of authdata.
type AuthJSON struct {
	Name         string  `json:"name"`
	Mode         string  `json:"mode"`
	KeyID        uint32  `json:"key_id"`
	KeyType      uint16  `json:"key_type"`
	KeyLength    uint16  `json:"key_length_bits"`
	LastKEAgo    *uint32 `json:"last_ke_ago"`
	KEAttempts   uint16  `json:"ke_attempts"`
	NAK          uint16  `json:"nak"`
	Cookies      uint16  `json:"cookies"`
	CookieLength uint16  `json:"cookie_length_bytes"`
}

func authDataJSON(rows []AuthRow) any {
	out := make([]AuthJSON, 0, len(rows))
	for _, r := range rows {
		d := r.Data
		out = append(out, AuthJSON{Name: r.Name, Mode: authModeName(d.Mode), KeyID: d.KeyID,
			KeyType: d.KeyType, KeyLength: d.KeyLength, LastKEAgo: jsonInterval(d.LastKEAgo),
			KEAttempts: d.KEAttempts, NAK: d.NAK, Cookies: d.Cookies, CookieLength: d.CookieLength})
	}
	return out
}

// TrackingJSON is the tracking report.
type TrackingJSON struct {
	RefID             string   `json:"ref_id"`
	RefName           string   `json:"ref_name"`
	Address           string   `json:"address"`
	Stratum           uint16   `json:"stratum"`
	RefTime           JSONTime `json:"ref_time"`
	SystemTimeOffset  float64  `json:"system_time_offset"`
	LastOffset        float64  `json:"last_offset"`
	RMSOffset         float64  `json:"rms_offset"`
	Frequency         float64  `json:"frequency"`
	ResidualFrequency float64  `json:"residual_frequency"`
	Skew              float64  `json:"skew"`
	RootDelay         float64  `json:"root_delay"`
	RootDispersion    float64  `json:"root_dispersion"`
	UpdateInterval    float64  `json:"update_interval"`
	LeapStatus        string   `json:"leap_status"`
}

func trackingJSON(v TrackingView) any {
	d := v.Data
	return TrackingJSON{RefID: refIDHex(d.RefID), RefName: v.Name, Address: d.IPAddr.String(),
		Stratum: d.Stratum, RefTime: jsonTime(d.RefTime), SystemTimeOffset: d.CurrentCorrection,
		LastOffset: d.LastOffset, RMSOffset: d.RMSOffset, Frequency: d.FreqPPM * ppm,
		ResidualFrequency: d.ResidFreqPPM * ppm, Skew: d.SkewPPM * ppm, RootDelay: d.RootDelay,
		RootDispersion: d.RootDispersion, UpdateInterval: d.LastUpdateInterval,
		LeapStatus: LeapName(int(d.LeapStatus), false)}
}

// NTPDataJSON is one source of ntpdata.
type NTPDataJSON struct {
	RemoteAddress   string   `json:"remote_address"`
	RemotePort      uint16   `json:"remote_port"`
	LocalAddress    string   `json:"local_address"`
	Leap            string   `json:"leap"`
	Version         uint8    `json:"version"`
	Mode            string   `json:"mode"`
	Stratum         uint8    `json:"stratum"`
	Poll            float64  `json:"poll"`
	Precision       float64  `json:"precision"`
	RootDelay       float64  `json:"root_delay"`
	RootDispersion  float64  `json:"root_dispersion"`
	RefID           string   `json:"ref_id"`
	RefTime         JSONTime `json:"ref_time"`
	Offset          float64  `json:"offset"`
	PeerDelay       float64  `json:"peer_delay"`
	PeerDispersion  float64  `json:"peer_dispersion"`
	ResponseTime    float64  `json:"response_time"`
	JitterAsymmetry float64  `json:"jitter_asymmetry"`
	Tests           uint16   `json:"tests"`
	Interleaved     bool     `json:"interleaved"`
	Authenticated   bool     `json:"authenticated"`
	TxTimestamping  string   `json:"tx_timestamping"`
	RxTimestamping  string   `json:"rx_timestamping"`
	TotalTx         uint32   `json:"total_tx"`
	TotalRx         uint32   `json:"total_rx"`
	TotalValidRx    uint32   `json:"total_valid_rx"`
	TotalGoodRx     uint32   `json:"total_good_rx"`
	TotalKernelTx   uint32   `json:"total_kernel_tx"`
	TotalKernelRx   uint32   `json:"total_kernel_rx"`
	TotalHWTx       uint32   `json:"total_hw_tx"`
	TotalHWRx       uint32   `json:"total_hw_rx"`
}

func ntpDataJSON(list []candm.NTPData) any {
	out := make([]NTPDataJSON, 0, len(list))
	for _, d := range list {
		out = append(out, NTPDataJSON{RemoteAddress: d.RemoteAddr.String(), RemotePort: d.RemotePort,
			LocalAddress: d.LocalAddr.String(), Leap: LeapName(int(d.Leap), false), Version: d.Version,
			Mode: ModeName(int(d.Mode)), Stratum: d.Stratum, Poll: log2Seconds(int(d.Poll)),
			Precision: log2Seconds(int(d.Precision)), RootDelay: d.RootDelay,
			RootDispersion: d.RootDispersion, RefID: refIDHex(d.RefID), RefTime: jsonTime(d.RefTime),
			Offset: d.Offset, PeerDelay: d.PeerDelay, PeerDispersion: d.PeerDispersion,
			ResponseTime: d.ResponseTime, JitterAsymmetry: d.JitterAsymmetry,
			Tests: d.Flags & candm.NTPFlagsTests, Interleaved: d.Flags&candm.NTPFlagInterleaved != 0,
			Authenticated:  d.Flags&candm.NTPFlagAuthenticated != 0,
			TxTimestamping: TimestampSourceName(d.TxTssChar), RxTimestamping: TimestampSourceName(d.RxTssChar),
			TotalTx: d.TotalTxCount, TotalRx: d.TotalRxCount, TotalValidRx: d.TotalValidCount,
			TotalGoodRx: d.TotalGoodCount, TotalKernelTx: d.TotalKernelTxTS, TotalKernelRx: d.TotalKernelRxTS,
			TotalHWTx: d.TotalHWTxTS, TotalHWRx: d.TotalHWRxTS})
	}
	return out
}

// ActivityJSON is the activity report.
type ActivityJSON struct {
	Online       int32 `json:"online"`
	Offline      int32 `json:"offline"`
	BurstOnline  int32 `json:"burst_online"`
	BurstOffline int32 `json:"burst_offline"`
	Unresolved   int32 `json:"unresolved"`
}

func activityJSON(d candm.Activity) any {
	return ActivityJSON{Online: d.Online, Offline: d.Offline, BurstOnline: d.BurstOnline,
		BurstOffline: d.BurstOffline, Unresolved: d.Unresolved}
}

// ClientJSON is one client of clients.
type ClientJSON struct {
	Name               string  `json:"name"`
	Address            string  `json:"address"`
	NTPHits            uint32  `json:"ntp_hits"`
	NTPDrops           uint32  `json:"ntp_drops"`
	NTPInterval        *int8   `json:"ntp_interval_log2"`
	NTPTimeoutInterval *int8   `json:"ntp_timeout_interval_log2"`
	LastNTPHitAgo      *uint32 `json:"last_ntp_hit_ago"`
	CmdHits            uint32  `json:"cmd_hits"`
	CmdDrops           uint32  `json:"cmd_drops"`
	CmdInterval        *int8   `json:"cmd_interval_log2"`
	LastCmdHitAgo      *uint32 `json:"last_cmd_hit_ago"`
	NKEHits            uint32  `json:"nke_hits"`
	NKEDrops           uint32  `json:"nke_drops"`
	NKEInterval        *int8   `json:"nke_interval_log2"`
	LastNKEHitAgo      *uint32 `json:"last_nke_hit_ago"`
}

func jsonRate(r int8) *int8 {
	if r == 127 {
		return nil
	}
	return &r
}

func clientsJSON(rows []ClientRow) any {
	out := make([]ClientJSON, 0, len(rows))
	for _, r := range rows {
		c := r.Data
		out = append(out, ClientJSON{Name: r.Name, Address: c.IP.String(), NTPHits: c.NTPHits,
			NTPDrops: c.NTPDrops, NTPInterval: jsonRate(c.NTPInterval),
			NTPTimeoutInterval: jsonRate(c.NTPTimeoutInterval), LastNTPHitAgo: jsonInterval(c.LastNTPHitAgo),
			CmdHits: c.CmdHits, CmdDrops: c.CmdDrops, CmdInterval: jsonRate(c.CmdInterval),
			LastCmdHitAgo: jsonInterval(c.LastCmdHitAgo), NKEHits: c.NKEHits, NKEDrops: c.NKEDrops,
			NKEInterval: jsonRate(c.NKEInterval), LastNKEHitAgo: jsonInterval(c.LastNKEHitAgo)})
	}
	return out
}

// ManualSampleJSON is one sample of manual list.
type ManualSampleJSON struct {
	Index          int      `json:"index"`
	Time           JSONTime `json:"time"`
	SlewedOffset   float64  `json:"slewed_offset"`
	OriginalOffset float64  `json:"original_offset"`
	Residual       float64  `json:"residual"`
}

func manualListJSON(d candm.ManualList) any {
	out := make([]ManualSampleJSON, 0, len(d.Samples))
	for i, s := range d.Samples {
		out = append(out, ManualSampleJSON{Index: i, Time: jsonTime(s.When), SlewedOffset: s.SlewedOffset,
			OriginalOffset: s.OrigOffset, Residual: s.Residual})
	}
	return out
}

// RTCJSON is the rtcdata report.
type RTCJSON struct {
	RefTime  JSONTime `json:"ref_time"`
	Samples  uint16   `json:"samples"`
	Runs     uint16   `json:"runs"`
	Span     uint32   `json:"span"`
	Fast     float64  `json:"fast"`
	GainRate float64  `json:"gain_rate"`
}

func rtcJSON(d candm.RTCReport) any {
	return RTCJSON{RefTime: jsonTime(d.RefTime), Samples: d.NSamples, Runs: d.NRuns, Span: d.SpanSeconds,
		Fast: d.RTCSecondsFast, GainRate: d.RTCGainRatePPM * ppm}
}

// serverStatsJSON keeps only the counters the reply format carries.
func serverStatsJSON(d candm.ServerStats, code candm.ReplyCode) any {
	keys := []string{"ntp_hits", "ntp_drops", "cmd_hits", "cmd_drops", "log_drops", "nke_hits",
		"nke_drops", "ntp_auth_hits", "ntp_interleaved_hits", "ntp_timestamps", "ntp_span_seconds",
		"ntp_daemon_rx_timestamps", "ntp_daemon_tx_timestamps", "ntp_kernel_rx_timestamps",
		"ntp_kernel_tx_timestamps", "ntp_hw_rx_timestamps", "ntp_hw_tx_timestamps"}
	out := map[string]uint64{}
	for i, l := range serverStatsLines(code) {
		out[keys[i]] = l.value(d)
	}
	return out
}

// SmoothingJSON is the smoothing report.
type SmoothingJSON struct {
	Active        bool    `json:"active"`
	LeapOnly      bool    `json:"leap_only"`
	Offset        float64 `json:"offset"`
	Frequency     float64 `json:"frequency"`
	Wander        float64 `json:"wander"`
	LastUpdateAgo float64 `json:"last_update_ago"`
	RemainingTime float64 `json:"remaining_time"`
}

func smoothingJSON(d candm.Smoothing) any {
	return SmoothingJSON{Active: d.Active, LeapOnly: d.LeapOnly, Offset: d.Offset, Frequency: d.FreqPPM * ppm,
		Wander: d.WanderPPM * ppm, LastUpdateAgo: d.LastUpdateAgo, RemainingTime: d.RemainingTime}
}
