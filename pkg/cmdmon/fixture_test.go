package cmdmon

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/ntp/access"
)

// fixture is a Handler holding known values with one source (198.51.100.7)
// and recording every control call.
type fixture struct {
	mu    sync.Mutex
	calls []string
}

var (
	fixtureSource = netip.MustParseAddr("198.51.100.7")
	fixtureLocal  = netip.MustParseAddr("198.51.100.1")
	fixtureRef    = time.Date(2026, 11, 25, 12, 34, 56, 0, time.UTC)
)

func (f *fixture) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) >= 100 {
		f.calls = f.calls[:0]
	}
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fixture) lastCall() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

func isSource(a candm.IPAddr) bool { return a.IP == fixtureSource }

func (f *fixture) Tracking() (candm.Tracking, candm.Status) {
	return candm.Tracking{RefID: 0xC6336407, IPAddr: candm.AddrFrom(fixtureSource), Stratum: 3,
		LeapStatus: 0, RefTime: fixtureRef, CurrentCorrection: 1.25e-5, LastOffset: -2.5e-6,
		RMSOffset: 4.5e-6, FreqPPM: -12.345, ResidFreqPPM: 0.011, SkewPPM: 0.123,
		RootDelay: 0.0123, RootDispersion: 0.000456, LastUpdateInterval: 64.5}, candm.StatusSuccess
}
func (f *fixture) NumSources() (int, candm.Status) { return 1, candm.StatusSuccess }
func (f *fixture) SourceData(i int) (candm.SourceData, candm.Status) {
	if i != 0 {
		return candm.SourceData{}, candm.StatusNoSuchSource
	}
	return candm.SourceData{IPAddr: candm.AddrFrom(fixtureSource), Poll: 6, Stratum: 2,
		State: candm.SourceStateSelected, Mode: candm.SourceModeClient, Reachability: 0o377,
		SinceSample: 17, OrigLatestMeas: 1.5e-4, LatestMeas: 1.25e-4, LatestMeasErr: 3e-3}, candm.StatusSuccess
}
func (f *fixture) SourceStats(i int) (candm.SourceStats, candm.Status) {
	if i != 0 {
		return candm.SourceStats{}, candm.StatusNoSuchSource
	}
	return candm.SourceStats{RefID: 0xC6336407, IPAddr: candm.AddrFrom(fixtureSource), NSamples: 11,
		NRuns: 7, SpanSeconds: 650, SD: 2.5e-5, ResidFreqPPM: 0.321, SkewPPM: 1.5,
		EstOffset: 4.2e-5, EstOffsetErr: 1e-5}, candm.StatusSuccess
}
func (f *fixture) SelectData(i int) (candm.SelectData, candm.Status) {
	if i != 0 {
		return candm.SelectData{}, candm.StatusNoSuchSource
	}
	return candm.SelectData{RefID: 0xC6336407, IPAddr: candm.AddrFrom(fixtureSource), StateChar: '*',
		Leap: 0, ConfOptions: candm.SelectOptionPrefer, EffOptions: candm.SelectOptionPrefer,
		LastSampleAgo: 33, Score: 1.0, LoLimit: -0.001, HiLimit: 0.002}, candm.StatusSuccess
}
func (f *fixture) NTPData(a candm.IPAddr) (candm.NTPData, candm.Status) {
	if !isSource(a) {
		return candm.NTPData{}, candm.StatusNoSuchSource
	}
	return candm.NTPData{RemoteAddr: candm.AddrFrom(fixtureSource), LocalAddr: candm.AddrFrom(fixtureLocal),
		RemotePort: 123, Leap: 0, Version: 4, Mode: 4, Stratum: 2, Poll: 6, Precision: -23,
		RootDelay: 0.0011, RootDispersion: 0.0022, RefID: 0xCB007105, RefTime: fixtureRef,
		Offset: 1.5e-4, PeerDelay: 3.5e-4, PeerDispersion: 1e-5, ResponseTime: 2e-5,
		JitterAsymmetry: 0.25, Flags: candm.NTPFlagsTests, TxTssChar: 'K', RxTssChar: 'K',
		TotalTxCount: 101, TotalRxCount: 99, TotalValidCount: 98, TotalGoodCount: 97,
		TotalKernelTxTS: 96, TotalKernelRxTS: 95, TotalHWTxTS: 0, TotalHWRxTS: 0}, candm.StatusSuccess
}
func (f *fixture) SourceName(a candm.IPAddr) (string, candm.Status) {
	if !isSource(a) {
		return "", candm.StatusNoSuchSource
	}
	return "ntp1.example.net", candm.StatusSuccess
}
func (f *fixture) AuthData(a candm.IPAddr) (candm.AuthData, candm.Status) {
	if !isSource(a) {
		return candm.AuthData{}, candm.StatusNoSuchSource
	}
	return candm.AuthData{Mode: candm.AuthModeSymmetric, KeyType: 2, KeyID: 4242, KeyLength: 160}, candm.StatusSuccess
}
func (f *fixture) Activity() (candm.Activity, candm.Status) {
	return candm.Activity{Online: 5, Offline: 4, BurstOnline: 3, BurstOffline: 2, Unresolved: 1}, candm.StatusSuccess
}
func (f *fixture) ServerStats() (candm.ServerStats, candm.Status) {
	return candm.ServerStats{NTPHits: 1234567, NKEHits: 11, CmdHits: 222, NTPDrops: 33, NKEDrops: 44,
		CmdDrops: 55, LogDrops: 66, NTPAuthHits: 77, NTPInterleavedHits: 88, NTPTimestamps: 99,
		NTPSpanSeconds: 1111, NTPDaemonRxTimestamps: 12, NTPDaemonTxTimestamps: 13,
		NTPKernelRxTimestamps: 14, NTPKernelTxTimestamps: 15, NTPHwRxTimestamps: 16,
		NTPHwTxTimestamps: 17}, candm.StatusSuccess
}
func (f *fixture) ClientAccesses(q candm.ClientAccessesQuery) (candm.ClientAccesses, candm.Status) {
	r := candm.ClientAccesses{NIndices: 1, NextIndex: 1}
	if q.FirstIndex == 0 {
		r.Clients = []candm.ClientAccess{{IP: candm.AddrFrom(netip.MustParseAddr("203.0.113.9")),
			NTPHits: 4321, CmdHits: 5, NTPInterval: 3, LastNTPHitAgo: 7, LastCmdHitAgo: 9}}
	}
	return r, candm.StatusSuccess
}
func (f *fixture) RTCData() (candm.RTCReport, candm.Status) {
	return candm.RTCReport{RefTime: fixtureRef, NSamples: 6, NRuns: 4, SpanSeconds: 3600,
		RTCSecondsFast: 1.5, RTCGainRatePPM: -2.25}, candm.StatusSuccess
}
func (f *fixture) Smoothing() (candm.Smoothing, candm.Status) {
	return candm.Smoothing{Active: true, Offset: 0.25, FreqPPM: 10, WanderPPM: 0.5,
		LastUpdateAgo: 16, RemainingTime: 120}, candm.StatusSuccess
}
func (f *fixture) ManualList() (candm.ManualList, candm.Status) {
	return candm.ManualList{Samples: []candm.ManualSample{{When: fixtureRef, SlewedOffset: 0.5,
		OrigOffset: 0.75, Residual: 0.125}}}, candm.StatusSuccess
}
func (f *fixture) NTPAccessCheck(a candm.IPAddr) candm.Status {
	f.record("accheck %s", a)
	if a.IP.Is4() && a.IP.As4()[0] == 203 {
		return candm.StatusAccessAllowed
	}
	return candm.StatusAccessDenied
}
func (f *fixture) Run(a Action) candm.Status {
	f.record("run %s", a)
	if a == ActionTrimRTC || a == ActionWriteRTC {
		return candm.StatusNoRTC
	}
	return candm.StatusSuccess
}
func (f *fixture) SetConnectivity(r Connectivity) candm.Status {
	f.record("connectivity %v %s/%s", r.Online, r.Address, r.Mask)
	return candm.StatusSuccess
}
func (f *fixture) Burst(r candm.Burst) candm.Status {
	f.record("burst %d/%d %s/%s", r.GoodSamples, r.TotalSamples, r.Address, r.Mask)
	return candm.StatusSuccess
}
func (f *fixture) ModifySource(r SourceModification) candm.Status {
	f.record("modify %d %s %g", r.Param, r.Address, r.Value)
	if !isSource(r.Address) {
		return candm.StatusNoSuchSource
	}
	return candm.StatusSuccess
}
func (f *fixture) ModifySelectOpts(r SelectOptsChange) candm.Status {
	f.record("selectopts %s %x %x", r.Address, r.Mask, r.Options)
	return candm.StatusSuccess
}
func (f *fixture) ModifyOffset(r candm.ModifyOffset) candm.Status {
	f.record("offset %s %g", r.Address, r.Offset)
	return candm.StatusSuccess
}
func (f *fixture) AddSource(r candm.AddSource) candm.Status {
	f.record("add %d %s %d %d %x", r.Type, r.Name, r.Minpoll, r.Maxpoll, r.Flags)
	if r.Name == "198.51.100.7" {
		return candm.StatusSourceAlreadyKnown
	}
	return candm.StatusSuccess
}
func (f *fixture) DeleteSource(a candm.IPAddr) candm.Status {
	f.record("delete %s", a)
	if !isSource(a) {
		return candm.StatusNoSuchSource
	}
	return candm.StatusSuccess
}
func (f *fixture) NTPAccess(r access.Rule) candm.Status {
	f.record("ntpaccess %s", r)
	return candm.StatusSuccess
}
func (f *fixture) Tune(r Tuning) candm.Status {
	f.record("tune %d %g", r.Param, r.Value)
	return candm.StatusSuccess
}
func (f *fixture) ModifyMakestep(r candm.Makestep) candm.Status {
	f.record("makestep %g %d", r.Threshold, r.Limit)
	return candm.StatusSuccess
}
func (f *fixture) Local(r candm.Local) candm.Status {
	f.record("local %v %d %g %v legacy=%v %g %g %g", r.On, r.Stratum, r.Distance, r.Orphan, r.Legacy,
		r.Activate, r.WaitSynced, r.WaitUnsynced)
	return candm.StatusSuccess
}
func (f *fixture) Manual(op ManualOp) candm.Status {
	f.record("manual %d", op)
	return candm.StatusSuccess
}
func (f *fixture) SetTime(t time.Time) (candm.ManualTimestamp, candm.Status) {
	f.record("settime %s", t.UTC().Format(time.RFC3339))
	return candm.ManualTimestamp{Offset: 0.5, DFreqPPM: 1.25, NewAFreqPPM: -3.5}, candm.StatusSuccess
}
func (f *fixture) ManualDelete(i int) candm.Status {
	f.record("manualdelete %d", i)
	if i != 0 {
		return candm.StatusBadSample
	}
	return candm.StatusSuccess
}
func (f *fixture) SmoothTime(activate bool) candm.Status {
	f.record("smoothtime %v", activate)
	return candm.StatusSuccess
}
