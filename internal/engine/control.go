package engine

import (
	"errors"
	"math"
	"net/netip"

	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline/reference"
	"github.com/chronygo/chronygo/pkg/discipline/selection"
	"github.com/chronygo/chronygo/pkg/ntp/source"
)

// Caller runs a function on the engine's loop and waits for it; it returns
// an error when the loop is gone. The daemon passes a Loop's Call, tests
// and the simulator a direct call.
type Caller func(fn func()) error

// Control answers chronyc for the engine (it implements cmdmon.Handler).
// Every request is handed to the loop through the Caller, so Control may
// be used from any goroutine. Requests about what the engine does not own
// (server statistics, clients, NTP access rules, RTC, the key
// file, rekey and cyclelogs) go to the Fallback handler; manual input
// (manual.go) and time smoothing (smoothing.go) belong to the engine.
type Control struct {
	cmdmon.Handler
	e    *Engine
	call Caller
}

var _ cmdmon.Handler = (*Control)(nil)

// NewControl returns the chronyc handler of e; fallback answers the
// commands the engine does not own (cmdmon.UnsyncedHandler if nil).
func NewControl(e *Engine, call Caller, fallback cmdmon.Handler) *Control {
	if fallback == nil {
		fallback = &cmdmon.UnsyncedHandler{}
	}
	return &Control{Handler: fallback, e: e, call: call}
}

// run executes fn on the loop; a dead or stuck loop answers FAILED.
func (c *Control) run(fn func() candm.Status) candm.Status {
	st, _ := c.query(fn)
	return st
}

// runOnSource executes fn on the loop for the source with the address,
// answering NOSUCHSOURCE when there is none.
func (c *Control) runOnSource(addr candm.IPAddr, fn func(s *sourceEntry) candm.Status) candm.Status {
	return c.run(func() candm.Status {
		s := c.e.byAddr(addr)
		if s == nil {
			return candm.StatusNoSuchSource
		}
		return fn(s)
	})
}

// query executes fn on the loop. ok is false when the loop did not run it
// in time: fn may still run later, so the caller must not read what fn
// writes.
func (c *Control) query(fn func() candm.Status) (candm.Status, bool) {
	st := candm.StatusFailed
	if err := c.call(func() { st = fn() }); err != nil {
		return candm.StatusFailed, false
	}
	return st, true
}

// queryReport runs build on the loop and returns the report it made. When
// the loop did not run it in time it returns the zero report and FAILED,
// never reading what build may still write later.
func queryReport[T any](c *Control, build func() (T, candm.Status)) (T, candm.Status) {
	var report T
	st, ok := c.query(func() candm.Status {
		var st candm.Status
		report, st = build()
		return st
	})
	if !ok {
		var zero T
		return zero, st
	}
	return report, st
}

// Tracking answers chronyc tracking.
func (c *Control) Tracking() (candm.Tracking, candm.Status) {
	return queryReport(c, func() (candm.Tracking, candm.Status) {
		return c.e.trackingReport(), candm.StatusSuccess
	})
}

func (e *Engine) trackingReport() candm.Tracking {
	tr := e.ref.Tracking(e.now())
	t := candm.Tracking{
		RefID:              tr.RefID,
		Stratum:            uint16(tr.Stratum),
		LeapStatus:         uint16(tr.Leap),
		RefTime:            tr.RefTime,
		CurrentCorrection:  tr.CurrentCorrection,
		LastOffset:         tr.LastOffset,
		RMSOffset:          tr.RMSOffset,
		FreqPPM:            tr.FreqPPM,
		ResidFreqPPM:       tr.ResidFreqPPM,
		SkewPPM:            tr.SkewPPM,
		RootDelay:          tr.RootDelay,
		RootDispersion:     tr.RootDispersion,
		LastUpdateInterval: tr.UpdateInterval,
	}
	if tr.RefIP.IsValid() && !tr.RefIP.IsUnspecified() {
		t.IPAddr = candm.AddrFrom(tr.RefIP)
	}
	return t
}

// NumSources answers the first request of sources, sourcestats, selectdata.
func (c *Control) NumSources() (int, candm.Status) {
	return queryReport(c, func() (int, candm.Status) {
		return len(c.e.sources), candm.StatusSuccess
	})
}

// sourceAt returns the source with a report index.
func (e *Engine) sourceAt(i int) *sourceEntry {
	if i < 0 || i >= len(e.sources) {
		return nil
	}
	return e.sources[i]
}

// SourceData answers one line of chronyc sources.
func (c *Control) SourceData(index int) (candm.SourceData, candm.Status) {
	return queryReport(c, func() (candm.SourceData, candm.Status) {
		var d candm.SourceData
		s := c.e.sourceAt(index)
		if s == nil {
			return d, candm.StatusNoSuchSource
		}
		d = c.e.sourceData(s)
		return d, candm.StatusSuccess
	})
}

func (e *Engine) sourceData(s *sourceEntry) candm.SourceData {
	now := e.now()
	nr := s.sm.Report()
	sr := s.sel.Report(now)
	d := candm.SourceData{
		IPAddr:       candm.AddrFrom(s.remote().Addr()),
		Poll:         int16(nr.Poll),
		Stratum:      uint16(sr.Stratum),
		State:        uint16(sr.State),
		Mode:         candm.SourceModeClient,
		Reachability: uint16(sr.Reachability),
		SinceSample:  math.MaxUint32,
	}
	if nr.Mode == source.ModePeer {
		d.Mode = candm.SourceModePeer
	}
	d.Flags = uint16(s.sel.SelectReport().ConfOptions)
	if sr.HasSample {
		d.SinceSample = uint32(math.Max(0, math.Min(sr.LastSample.Ago, math.MaxUint32-1)))
		d.OrigLatestMeas = sr.LastSample.OrigOffset
		d.LatestMeas = sr.LastSample.Offset
		d.LatestMeasErr = sr.LastSample.Error
	}
	return d
}

// SourceStats answers one line of chronyc sourcestats.
func (c *Control) SourceStats(index int) (candm.SourceStats, candm.Status) {
	return queryReport(c, func() (candm.SourceStats, candm.Status) {
		var d candm.SourceStats
		s := c.e.sourceAt(index)
		if s == nil {
			return d, candm.StatusNoSuchSource
		}
		r := s.sel.Stats().Report(c.e.now())
		d = candm.SourceStats{
			RefID:        s.sel.RefID(),
			IPAddr:       candm.AddrFrom(s.remote().Addr()),
			NSamples:     uint32(r.NP),
			NRuns:        uint32(r.NR),
			SpanSeconds:  uint32(max(r.Span, 0)),
			SD:           r.StdDev,
			ResidFreqPPM: r.FrequencyPPM,
			SkewPPM:      r.SkewPPM,
			EstOffset:    r.Offset,
			EstOffsetErr: r.OffsetErr,
		}
		return d, candm.StatusSuccess
	})
}

// SelectData answers one line of chronyc selectdata.
func (c *Control) SelectData(index int) (candm.SelectData, candm.Status) {
	return queryReport(c, func() (candm.SelectData, candm.Status) {
		var d candm.SelectData
		s := c.e.sourceAt(index)
		if s == nil {
			return d, candm.StatusNoSuchSource
		}
		r := s.sel.SelectReport()
		d = candm.SelectData{
			RefID:         s.sel.RefID(),
			IPAddr:        candm.AddrFrom(s.remote().Addr()),
			StateChar:     r.State.String()[0],
			Leap:          uint8(r.Leap),
			ConfOptions:   uint16(r.ConfOptions),
			EffOptions:    uint16(r.EffOptions),
			LastSampleAgo: uint32(math.Max(0, math.Min(r.LastSampleAgo, math.MaxUint32))),
			Score:         r.Score,
			LoLimit:       r.LoLimit,
			HiLimit:       r.HiLimit,
		}
		if r.Authenticated {
			d.Authentication = 1
		}
		return d, candm.StatusSuccess
	})
}

// byAddr finds a source by chronyc address.
func (e *Engine) byAddr(a candm.IPAddr) *sourceEntry {
	if a.IsID || !a.IP.IsValid() {
		return nil
	}
	return e.findAddr(a.IP)
}

// NTPData answers chronyc ntpdata.
func (c *Control) NTPData(addr candm.IPAddr) (candm.NTPData, candm.Status) {
	return queryReport(c, func() (candm.NTPData, candm.Status) {
		var d candm.NTPData
		s := c.e.byAddr(addr)
		if s == nil {
			return d, candm.StatusNoSuchSource
		}
		r := s.sm.NTPReport()
		d = candm.NTPData{
			RemoteAddr:      candm.AddrFrom(r.RemoteAddr),
			LocalAddr:       candm.AddrFrom(r.LocalAddr),
			RemotePort:      r.RemotePort,
			Leap:            uint8(r.Leap),
			Version:         uint8(r.Version),
			Mode:            uint8(r.Mode),
			Stratum:         uint8(r.Stratum),
			Poll:            int8(r.Poll),
			Precision:       int8(r.Precision),
			RootDelay:       r.RootDelay,
			RootDispersion:  r.RootDispersion,
			RefID:           r.RefID,
			RefTime:         r.RefTime,
			Offset:          r.Offset,
			PeerDelay:       r.PeerDelay,
			PeerDispersion:  r.PeerDispersion,
			ResponseTime:    r.ResponseTime,
			JitterAsymmetry: r.JitterAsymmetry,
			Flags:           r.Tests.Bits() & candm.NTPFlagsTests,
			TxTssChar:       byte(r.TxTimestamp),
			RxTssChar:       byte(r.RxTimestamp),
			TotalTxCount:    r.TotalTx,
			TotalRxCount:    r.TotalRx,
			TotalValidCount: r.TotalValid,
			TotalGoodCount:  r.TotalGood,
			TotalKernelTxTS: r.TotalKernelTx,
			TotalKernelRxTS: r.TotalKernelRx,
			TotalHWTxTS:     r.TotalHardwareTx,
			TotalHWRxTS:     r.TotalHardwareRx,
		}
		if r.Interleaved {
			d.Flags |= candm.NTPFlagInterleaved
		}
		if r.Authenticated {
			d.Flags |= candm.NTPFlagAuthenticated
		}
		return d, candm.StatusSuccess
	})
}

// SourceName answers chronyc sourcename.
func (c *Control) SourceName(addr candm.IPAddr) (string, candm.Status) {
	return queryReport(c, func() (string, candm.Status) {
		s := c.e.byAddr(addr)
		if s == nil {
			return "", candm.StatusNoSuchSource
		}
		return s.name, candm.StatusSuccess
	})
}

// AuthData answers chronyc authdata for the sources' key settings.
func (c *Control) AuthData(addr candm.IPAddr) (candm.AuthData, candm.Status) {
	var d candm.AuthData
	st, ok := c.query(func() candm.Status {
		s := c.e.byAddr(addr)
		if s == nil {
			return candm.StatusNoSuchSource
		}
		// Without NTS there was never a key exchange: chronyd reports
		// its "never" (-1), which chronyc prints as "-".
		d.LastKEAgo = math.MaxUint32
		if k := s.opts.Key; k != 0 {
			d.Mode = candm.AuthModeSymmetric
			d.KeyID = k
		}
		return candm.StatusSuccess
	})
	if !ok {
		return candm.AuthData{}, st
	}
	if st == candm.StatusSuccess && d.Mode == candm.AuthModeSymmetric {
		// Key type and length come from the key file, which the
		// fallback (the daemon's key holder) knows.
		if ki, isKeyInfo := c.Handler.(cmdmon.KeyInfo); isKeyInfo {
			if typ, bits, found := ki.KeyInfo(d.KeyID); found {
				d.KeyType, d.KeyLength = typ, bits
			}
		} else if fd, fst := c.Handler.AuthData(addr); fst == candm.StatusSuccess {
			d.KeyType, d.KeyLength = fd.KeyType, fd.KeyLength
		}
	}
	return d, st
}

// Activity answers chronyc activity.
func (c *Control) Activity() (candm.Activity, candm.Status) {
	return queryReport(c, func() (candm.Activity, candm.Status) {
		return c.e.activityReport(), candm.StatusSuccess
	})
}

// unresolved counts the sources still waiting for their name.
func (e *Engine) unresolved() int { return e.names.Unresolved() }

// Run performs a control command without arguments.
func (c *Control) Run(a cmdmon.Action) candm.Status {
	switch a {
	case cmdmon.ActionMakeStep, cmdmon.ActionReselect, cmdmon.ActionResetSources,
		cmdmon.ActionRefresh, cmdmon.ActionOnOffline, cmdmon.ActionDump, cmdmon.ActionReloadSources:
		return c.run(func() candm.Status { return c.e.runAction(a) })
	case cmdmon.ActionShutdown:
		st := c.run(func() candm.Status {
			if c.e.shutdown == nil {
				return candm.StatusFailed
			}
			return candm.StatusSuccess
		})
		if st == candm.StatusSuccess {
			// The daemon's shutdown stops the loop; never wait for it
			// from inside the loop.
			go c.e.shutdown()
		}
		return st
	default:
		return c.Handler.Run(a)
	}
}

// runAction carries out a command on the loop.
func (e *Engine) runAction(a cmdmon.Action) candm.Status {
	defer e.after()
	now := e.now()
	switch a {
	case cmdmon.ActionMakeStep:
		if _, err := e.clk.MakeStep(); err != nil {
			return candm.StatusFailed
		}
	case cmdmon.ActionReselect:
		e.applySelection(e.sel.Reselect(now))
	case cmdmon.ActionResetSources:
		e.applySelection(e.sel.ResetAll(now))
	case cmdmon.ActionRefresh:
		e.applyNames(e.names.RefreshAll(now))
	case cmdmon.ActionOnOffline:
		for _, s := range e.sources {
			s.apply(s.sm.SetConnectivity(now, true))
		}
		e.applyNames(e.names.ResolveNow(now))
	case cmdmon.ActionReloadSources:
		if err := e.reloadSourceDirs(); err != nil {
			e.log.WithError(err).Warn("Could not reload sources")
		}
	case cmdmon.ActionDump:
		if err := e.Dump(); err != nil {
			e.log.WithError(err).Warn("Could not dump measurements")
			return candm.StatusFailed
		}
	}
	return candm.StatusSuccess
}

// matches reports whether addr is selected by chronyc's address and mask
// (both unspecified: every source).
func matches(addr netip.Addr, mask, want candm.IPAddr) bool {
	if mask.IsUnspecified() && want.IsUnspecified() {
		return true
	}
	if !want.IP.IsValid() || want.IP.Is4() != addr.Is4() {
		return false
	}
	a, w := addr.AsSlice(), want.IP.AsSlice()
	var m []byte
	if mask.IP.IsValid() && mask.IP.Is4() == addr.Is4() {
		m = mask.IP.AsSlice()
	}
	for i := range a {
		mb := byte(0xff)
		if m != nil {
			mb = m[i]
		}
		if a[i]&mb != w[i]&mb {
			return false
		}
	}
	return true
}

// SetConnectivity answers chronyc online and offline.
func (c *Control) SetConnectivity(req cmdmon.Connectivity) candm.Status {
	return c.run(func() candm.Status {
		defer c.e.after()
		found := false
		now := c.e.now()
		for _, s := range c.e.sources {
			if matches(s.remote().Addr(), req.Mask, req.Address) {
				found = true
				s.apply(s.sm.SetConnectivity(now, req.Online))
			}
		}
		if req.Online {
			c.e.applyNames(c.e.names.ResolveNow(now))
		}
		if !found && !(req.Mask.IsUnspecified() && req.Address.IsUnspecified()) {
			return candm.StatusNoSuchSource
		}
		return candm.StatusSuccess
	})
}

// Burst answers chronyc burst.
func (c *Control) Burst(req candm.Burst) candm.Status {
	return c.run(func() candm.Status {
		defer c.e.after()
		found := false
		now := c.e.now()
		for _, s := range c.e.sources {
			if matches(s.remote().Addr(), req.Mask, req.Address) {
				found = true
				s.apply(s.sm.Burst(now, int(req.GoodSamples), int(req.TotalSamples)))
			}
		}
		if !found && !(req.Mask.IsUnspecified() && req.Address.IsUnspecified()) {
			return candm.StatusNoSuchSource
		}
		return candm.StatusSuccess
	})
}

// ModifySource answers minpoll, maxpoll, maxdelay, maxdelayratio,
// maxdelaydevratio, minstratum and polltarget, logging chronyd's "Source
// ADDR new minpoll N" messages. Out-of-range polls are ignored, as chronyd
// does.
func (c *Control) ModifySource(req cmdmon.SourceModification) candm.Status {
	return c.runOnSource(req.Address, func(s *sourceEntry) candm.Status {
		c.e.modifySource(s, req.Param, req.Value)
		c.e.after()
		return candm.StatusSuccess
	})
}

func (e *Engine) modifySource(s *sourceEntry, p cmdmon.SourceParam, v float64) {
	addr := s.remote().Addr()
	sm := s.sm
	before := sm.Options()
	logPolls := func(minFirst bool) {
		o := sm.Options()
		minMsg := func() { e.log.Infof("Source %s new minpoll %d", addr, o.MinPoll) }
		maxMsg := func() { e.log.Infof("Source %s new maxpoll %d", addr, o.MaxPoll) }
		if minFirst {
			minMsg()
			if o.MaxPoll != before.MaxPoll {
				maxMsg()
			}
			return
		}
		maxMsg()
		if o.MinPoll != before.MinPoll {
			minMsg()
		}
	}
	switch p {
	case cmdmon.ParamMinpoll:
		if sm.SetMinPoll(int(v)) {
			logPolls(true)
		}
	case cmdmon.ParamMaxpoll:
		if sm.SetMaxPoll(int(v)) {
			logPolls(false)
		}
	case cmdmon.ParamMaxDelay:
		e.log.Infof("Source %s new maxdelay %f", addr, sm.SetMaxDelay(v))
	case cmdmon.ParamMaxDelayRatio:
		e.log.Infof("Source %s new maxdelayratio %f", addr, sm.SetMaxDelayRatio(v))
	case cmdmon.ParamMaxDelayDevRatio:
		e.log.Infof("Source %s new maxdelaydevratio %f", addr, sm.SetMaxDelayDevRatio(v))
	case cmdmon.ParamMinStratum:
		sm.SetMinStratum(int(v))
		e.log.Infof("Source %s new minstratum %d", addr, int(v))
	case cmdmon.ParamPollTarget:
		e.log.Infof("Source %s new polltarget %d", addr, sm.SetPollTarget(int(v)))
	}
	s.opts = sm.Options()
}

// ModifySelectOpts answers chronyc selectopts.
func (c *Control) ModifySelectOpts(req cmdmon.SelectOptsChange) candm.Status {
	return c.runOnSource(req.Address, func(s *sourceEntry) candm.Status {
		c.e.logEvents(c.e.sel.ModifySelectOptions(s.sel, selection.SelectOptions(req.Options), selection.SelectOptions(req.Mask)))
		c.e.applySelection(c.e.sel.Reselect(c.e.now()))
		c.e.after()
		return candm.StatusSuccess
	})
}

// ModifyOffset answers chronyc offset for an NTP source (reference clocks
// are not supported: NOSUCHSOURCE).
func (c *Control) ModifyOffset(req candm.ModifyOffset) candm.Status {
	return c.runOnSource(req.Address, func(s *sourceEntry) candm.Status {
		s.sm.SetOffset(req.Offset)
		s.opts = s.sm.Options()
		c.e.log.Infof("Source %s new offset %f", s.remote().Addr(), req.Offset)
		return candm.StatusSuccess
	})
}

// AddSource answers chronyc add server/pool/peer.
func (c *Control) AddSource(req candm.AddSource) candm.Status {
	if !req.NameTerminated || req.Name == "" {
		return candm.StatusInvalidName
	}
	sc := addSourceConfig(req)
	return c.run(func() candm.Status {
		if addr, err := netip.ParseAddr(sc.Name); err == nil && c.e.findAddr(addr) != nil {
			return candm.StatusSourceAlreadyKnown
		}
		err := c.e.addConfigured(sc)
		if err == nil {
			c.e.applyNames(c.e.names.ResolveNow(c.e.now()))
		}
		c.e.after()
		switch {
		case errors.Is(err, errSourceKnown):
			return candm.StatusSourceAlreadyKnown
		case err != nil:
			return candm.StatusInvalid
		}
		return candm.StatusSuccess
	})
}

// addSourceConfig turns chronyc's ADD_SOURCE into a directive.
func addSourceConfig(req candm.AddSource) conf.Source {
	sc := conf.Source{Kind: conf.KindServer, Name: req.Name, Port: int(req.Port), Options: conf.DefaultSourceOptions()}
	switch req.Type {
	case candm.SourceTypePeer:
		sc.Kind = conf.KindPeer
	case candm.SourceTypePool:
		sc.Kind = conf.KindPool
	}
	if req.Flags&candm.AddSrcIPv4 != 0 {
		sc.Family = conf.FamilyIPv4
	} else if req.Flags&candm.AddSrcIPv6 != 0 {
		sc.Family = conf.FamilyIPv6
	}
	o := &sc.Options
	o.MinPoll, o.MaxPoll, o.Presend = int(req.Minpoll), int(req.Maxpoll), int(req.PresendMinpoll)
	o.MinStratum, o.PollTarget, o.Version = int(req.MinStratum), int(req.PollTarget), int(req.Version)
	if req.MaxSources > 0 {
		o.MaxSources = int(req.MaxSources)
	}
	o.MinSamples, o.MaxSamples = int(req.MinSamples), int(req.MaxSamples)
	o.Key, o.NTSPort = req.AuthKey, int(req.NTSPort)
	o.MaxDelay, o.MaxDelayRatio, o.MaxDelayDevRatio = req.MaxDelay, req.MaxDelayRatio, req.MaxDelayDevRatio
	o.MinDelay, o.Asymmetry, o.Offset = req.MinDelay, req.Asymmetry, req.Offset
	o.Filter, o.CertSet, o.MaxDelayQuant, o.MaxUnreach = int(req.FilterLength), req.CertSet, req.MaxDelayQuant, int(req.MaxUnreach)
	f := req.Flags
	o.Offline = f&candm.AddSrcOnline == 0
	o.AutoOffline = f&candm.AddSrcAutoOffline != 0
	o.IBurst = f&candm.AddSrcIburst != 0
	o.Prefer = f&candm.AddSrcPrefer != 0
	o.NoSelect = f&candm.AddSrcNoselect != 0
	o.Trust = f&candm.AddSrcTrust != 0
	o.Require = f&candm.AddSrcRequire != 0
	o.XLeave = f&candm.AddSrcInterleaved != 0
	o.Burst = f&candm.AddSrcBurst != 0
	o.NTS = f&candm.AddSrcNTS != 0
	o.Copy = f&candm.AddSrcCopy != 0
	o.ExtFieldMonoRoot = f&candm.AddSrcExtFieldMonoRoot != 0
	o.ExtFieldNetCorr = f&candm.AddSrcExtFieldNetCorrection != 0
	return sc
}

// DeleteSource answers chronyc delete.
func (c *Control) DeleteSource(addr candm.IPAddr) candm.Status {
	return c.runOnSource(addr, func(s *sourceEntry) candm.Status {
		c.e.names.Remove(s.remote().Addr())
		c.e.removeSource(s)
		if a := s.remote().Addr().String(); s.name != a {
			c.e.log.Infof("Removed source %s (%s)", a, s.name)
		} else {
			c.e.log.Infof("Removed source %s", a)
		}
		c.e.after()
		return candm.StatusSuccess
	})
}

// Tune changes maxupdateskew, reselectdist, or accumulates dfreq/doffset.
func (c *Control) Tune(req cmdmon.Tuning) candm.Status {
	return c.run(func() candm.Status {
		defer c.e.after()
		switch req.Param {
		case cmdmon.TuneMaxUpdateSkew:
			c.e.ref.ModifyMaxUpdateSkew(req.Value)
		case cmdmon.TuneReselectDistance:
			c.e.logEvents(c.e.sel.SetReselectDistance(req.Value))
		case cmdmon.TuneDFreq:
			c.e.clk.AccumulateDeltaFrequency(req.Value * 1e-6)
			c.e.log.Infof("Accumulated delta freq of %.3fppm", req.Value)
		case cmdmon.TuneDOffset:
			if err := c.e.clk.AccumulateOffset(req.Value, 0); err != nil {
				return candm.StatusFailed
			}
			c.e.log.Infof("Accumulated delta offset of %.6f seconds", req.Value)
		default:
			return candm.StatusInvalid
		}
		return candm.StatusSuccess
	})
}

// ModifyMakestep answers chronyc makestep THRESHOLD LIMIT.
func (c *Control) ModifyMakestep(req candm.Makestep) candm.Status {
	return c.run(func() candm.Status {
		c.e.ref.ModifyMakestep(int(req.Limit), req.Threshold)
		return candm.StatusSuccess
	})
}

// Local answers chronyc local.
func (c *Control) Local(req candm.Local) candm.Status {
	return c.run(func() candm.Status {
		defer c.e.after()
		if !req.On {
			c.e.ref.DisableLocal()
			c.e.sel.SetOrphanStratum(selection.MaxStratum)
			return candm.StatusSuccess
		}
		l := reference.LocalOptions{
			Stratum:      int(req.Stratum),
			Orphan:       req.Orphan,
			Distance:     req.Distance,
			Activate:     req.Activate,
			WaitSynced:   req.WaitSynced,
			WaitUnsynced: req.WaitUnsynced,
		}
		if req.Legacy {
			l.Activate, l.WaitSynced, l.WaitUnsynced = 0, 0, -1
		}
		c.e.ref.EnableLocal(l)
		if req.Orphan {
			c.e.sel.SetOrphanStratum(int(req.Stratum))
		} else {
			c.e.sel.SetOrphanStratum(selection.MaxStratum)
		}
		return candm.StatusSuccess
	})
}
