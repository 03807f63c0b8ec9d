package engine

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"time"

	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/selection"
	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
	"github.com/chronygo/chronygo/pkg/ntp/source"
)

// Packet is a received NTP packet handed to the engine.
type Packet struct {
	// Data is the UDP payload.
	Data []byte
	// From is the sender, To the local address and port it arrived at.
	From, To netip.AddrPort
	// RxRaw is the raw clock time of reception (kernel or daemon timestamp).
	RxRaw time.Time
	// RxSource tells where RxRaw came from (source.TimestampKernel or
	// source.TimestampDaemon; zero means daemon).
	RxSource source.TimestampSource
	// Rx, when not nil, is the already cooked receive information (as
	// clientio delivers it); RxRaw and RxSource are then ignored.
	Rx *source.RxInfo
}

// sourceEntry is one NTP source known to the engine: the protocol state
// machine and its selection record (which owns the statistics).
type sourceEntry struct {
	e    *Engine
	id   uint64
	name string
	opts source.Options
	sm   *source.Source
	sel  *selection.Source
	// pool is true for a member of a pool.
	pool bool
	// fromDir is set for sources of sourcedir files.
	fromDir bool
	// removed is set once the source is forgotten; its remaining actions
	// are dropped.
	removed bool
	// confirmed is set at the first valid response (pool.Manager keeps
	// the first maxsources confirmed members of a pool).
	confirmed bool
	timer     Timer
	// timerAt is the raw deadline of timer and timerPeer its class.
	timerAt   time.Time
	timerPeer bool
	// loggedStats is the last regression written to statistics.log.
	loggedStats sourcestats.StatisticsRecord
}

func (s *sourceEntry) stopTimer() { stop(&s.timer) }

// Remote returns the source's current address and port.
func (s *sourceEntry) remote() netip.AddrPort { return s.sm.Remote() }

// statsView adapts the selection record's statistics to what the state
// machine reads (source.Stats).
type statsView struct{ s *sourceEntry }

func (v statsView) st() *sourcestats.Stats               { return v.s.sel.Stats() }
func (v statsView) Samples() int                         { return v.st().Samples() }
func (v statsView) SamplesAfter(x discipline.Sample) int { return v.st().SamplesAfter(x) }
func (v statsView) PredictOffset(t time.Time) float64    { return v.st().PredictOffset(t) }
func (v statsView) FrequencyRange() (float64, float64) {
	return v.st().FrequencyRange()
}
func (v statsView) MinRoundTripDelay() float64 { return v.st().MinRoundTripDelay() }
func (v statsView) JitterAsymmetry() float64   { return v.st().JitterAsymmetry() }
func (v statsView) Selected() bool             { return v.s.e.sel.Selected() == v.s.sel }
func (v statsView) DelayTestData(t time.Time) (source.DelayTestData, bool) {
	d, ok := v.st().DelayTestData(t)
	if !ok {
		return source.DelayTestData{}, false
	}
	return source.DelayTestData{
		LastSampleAgo:   d.LastSampleAgo,
		PredictedOffset: d.PredictedOffset,
		MinDelay:        d.MinDelay,
		Skew:            d.Skew,
		StdDev:          d.StdDev,
	}, true
}

// sourceOptions maps a server/pool/peer directive onto the state machine's
// options.
func sourceOptions(sc conf.Source) source.Options {
	mode := source.ModeClient
	if sc.Kind == conf.KindPeer {
		mode = source.ModePeer
	}
	o := sc.Options
	opts := source.DefaultOptions(mode)
	if sc.Port > 0 {
		opts.Port = uint16(sc.Port)
	}
	opts.MinPoll, opts.MaxPoll = o.MinPoll, o.MaxPoll
	opts.IBurst, opts.Burst = o.IBurst, o.Burst
	opts.Key = o.Key
	opts.MaxDelay, opts.MaxDelayRatio, opts.MaxDelayDevRatio, opts.MaxDelayQuant =
		o.MaxDelay, o.MaxDelayRatio, o.MaxDelayDevRatio, o.MaxDelayQuant
	opts.MinDelay, opts.Asymmetry = o.MinDelay, o.Asymmetry
	opts.MinSamples, opts.MaxSamples = o.MinSamples, o.MaxSamples
	opts.MaxUnreach, opts.Filter, opts.Offset = o.MaxUnreach, o.Filter, o.Offset
	opts.Offline, opts.AutoOffline = o.Offline, o.AutoOffline
	opts.Prefer, opts.NoSelect, opts.Trust, opts.Require = o.Prefer, o.NoSelect, o.Trust, o.Require
	opts.XLeave, opts.PollTarget, opts.Presend = o.XLeave, o.PollTarget, o.Presend
	opts.MinStratum, opts.Version, opts.Copy = o.MinStratum, o.Version, o.Copy
	opts.MaxSources = o.MaxSources
	if o.ExtFieldMonoRoot {
		opts.ExtFields |= source.ExtFieldMonoRoot
	}
	if o.ExtFieldNetCorr {
		opts.ExtFields |= source.ExtFieldNetCorrection
	}
	opts.NTS, opts.NTSPort, opts.CertSet = o.NTS, o.NTSPort, int(o.CertSet)
	return opts
}

// selectionConfig describes a new source to the selector.
func (e *Engine) selectionConfig(name string, o source.Options, addr netip.Addr) selection.SourceConfig {
	var opts selection.SelectOptions
	if o.NoSelect {
		opts |= selection.OptNoSelect
	}
	if o.Prefer {
		opts |= selection.OptPrefer
	}
	if o.Trust {
		opts |= selection.OptTrust
	}
	if o.Require {
		opts |= selection.OptRequire
	}
	st := sourcestats.DefaultOptions()
	st.MinSamples = e.cfg.MinSamples
	if o.MinSamples >= 0 {
		st.MinSamples = o.MinSamples
	}
	st.MaxSamples = e.cfg.MaxSamples
	if o.MaxSamples >= 0 {
		st.MaxSamples = o.MaxSamples
	}
	st.MinDelay = o.MinDelay
	st.Asymmetry = o.Asymmetry
	st.Precision = e.clk.Precision()
	st.MaxJitter = e.cfg.MaxJitter
	return selection.SourceConfig{
		Type:          selection.TypeNTP,
		RefID:         source.RefIDOfAddr(addr),
		Addr:          addr,
		Name:          name,
		Authenticated: o.Key != 0,
		Options:       opts,
		MaxUnreach:    o.MaxUnreach,
		Rank:          e.configRank(name),
		Stats:         st,
	}
}

// findSource returns the source with the given remote address.
func (e *Engine) findSource(addr netip.AddrPort) *sourceEntry {
	for _, s := range e.sources {
		if s.remote() == addr {
			return s
		}
	}
	return nil
}

// findAddr returns the source with the given remote IP address.
func (e *Engine) findAddr(addr netip.Addr) *sourceEntry {
	for _, s := range e.sources {
		if s.remote().Addr() == addr.Unmap() {
			return s
		}
	}
	return nil
}

// errSourceKnown is returned when a source with the address already exists.
var errSourceKnown = fmt.Errorf("source already known")

// addSource creates and starts a source for addr.
func (e *Engine) addSource(name string, opts source.Options, addr netip.Addr, inPool bool) (*sourceEntry, error) {
	addr = addr.Unmap()
	if e.findAddr(addr) != nil {
		return nil, errSourceKnown
	}
	e.nextID++
	s := &sourceEntry{e: e, id: e.nextID, name: name, opts: opts, pool: inPool, fromDir: e.dirNames[name]}
	sm, err := source.New(addr, opts, e.sourceEnv(s))
	if err != nil {
		return nil, fmt.Errorf("adding source %s: %w", addr, err)
	}
	s.sm = sm
	s.sel = e.sel.Add(e.selectionConfig(name, opts, addr))
	e.insertSource(s)
	if e.started {
		s.apply(s.sm.Start(e.now()))
	}
	return s, nil
}

// sourceEnv is what the state machine of s is given.
func (e *Engine) sourceEnv(s *sourceEntry) source.Env {
	return source.Env{
		Keys:             e.keys,
		Stats:            statsView{s},
		Reference:        e.snapshot.Load,
		Precision:        e.clk.Precision(),
		MaxClockError:    e.cfg.MaxClockError * 1e-6,
		ServerSocketOpen: e.cfg.Port != 0,
		Rand:             rand.New(rand.NewPCG(e.rng.Uint64(), e.rng.Uint64())),
	}
}

// removeSource stops and forgets a source.
func (e *Engine) removeSource(s *sourceEntry) {
	s.removed = true
	s.stopTimer()
	if e.closeSock != nil {
		e.closeSock(s.remote())
	}
	for i, x := range e.sources {
		if x == s {
			e.sources = append(e.sources[:i], e.sources[i+1:]...)
			break
		}
	}
	e.applySelection(e.sel.Remove(s.sel, e.now()))
}

// HandlePacket processes a received packet. It reports whether a source
// took it; the daemon passes other packets (client requests) to the server.
func (e *Engine) HandlePacket(p Packet) bool {
	if e.stopped {
		return false
	}
	s := e.findSource(p.From)
	if s == nil {
		return false
	}
	var rx source.RxInfo
	if p.Rx != nil {
		rx = *p.Rx
	} else {
		src := p.RxSource
		if src == 0 {
			src = source.TimestampDaemon
		}
		rx = source.RxInfo{Time: e.clk.Cook(p.RxRaw), Source: src, Local: p.To.Addr()}
	}
	s.apply(s.sm.HandleIncoming(p.Data, p.From, rx))
	e.after()
	return true
}

// onTimer is the source's timer firing.
func (s *sourceEntry) onTimer() {
	s.timer = nil
	if s.e.stopped || s.removed {
		return
	}
	s.e.lastDispatch[classOf(s.timerPeer)] = s.e.clk.ReadRaw()
	s.apply(s.sm.HandleTimer(s.e.now()))
	s.e.after()
}

// apply carries out the state machine's actions in order.
func (s *sourceEntry) apply(actions []source.Action) {
	e := s.e
	// The selection counts online sources (chrony's SRC_SetActive).
	defer func() {
		if !s.removed {
			e.sel.SetActive(s.sel, s.sm.Report().Online)
		}
	}()
	for _, a := range actions {
		if s.removed {
			return
		}
		switch a := a.(type) {
		case source.Transmit:
			if e.transmit == nil {
				continue
			}
			info, err := e.transmit(a)
			if err != nil {
				e.log.WithError(err).Debugf("Could not send to %s", a.To)
				s.apply(s.sm.HandleSendError(e.now()))
				continue
			}
			if !info.Time.IsZero() {
				info.Seq = a.Seq
				if info.Source == 0 {
					info.Source = source.TimestampDaemon
				}
				s.sm.HandleTxTimestamp(info)
			}
		case source.SetTimer:
			s.stopTimer()
			s.timerPeer = a.Peer
			s.timerAt = e.separate(e.cookedToRaw(a.At), a.Separation.Seconds(), a.Peer)
			s.timer = e.sched.At(s.timerAt, s.onTimer)
		case source.CancelTimer:
			s.stopTimer()
		case source.DeliverSample:
			e.accumulate(s, a.Sample)
		case source.Reachability:
			if a.Reset {
				e.applySelection(e.sel.ResetReachability(s.sel, e.now()))
				continue
			}
			if a.Reach&1 != 0 && !s.confirmed {
				s.confirmed = true
				e.applyNames(e.names.SourceConfirmed(s.remote().Addr()))
			}
			e.applySelection(e.sel.UpdateReachability(s.sel, a.Reach&1 != 0, e.now()))
		case source.CorrectOffset:
			s.sel.Stats().CorrectOffset(a.Delta)
		case source.StatusUpdate:
			if a.RefID != 0 {
				e.sel.SetRefID(s.sel, a.RefID, e.selectionConfig(s.name, s.opts, s.remote().Addr()))
			}
			now := e.now()
			if leap, vote := e.sel.UpdateStatus(s.sel, a.Stratum, a.Leap, e.ref.IsLeapSecondClose(now, 0)); vote {
				e.ref.UpdateLeapStatus(leap)
			}
		case source.ResetStatistics:
			e.applySelection(e.sel.ResetSource(s.sel, e.now()))
		case source.KissOfDeath:
			if a.Stopped {
				e.log.Warnf("Received KoD %s from %s, stopping source", a.Code, s.remote().Addr())
			}
		case source.Measurement:
			if e.measLog != nil {
				e.measLog(a)
			}
		case source.CloseClientSocket:
			if e.closeSock != nil {
				e.closeSock(s.remote())
			}
		}
	}
}

// cookedToRaw converts a cooked time into the raw clock time the scheduler
// uses.
func (e *Engine) cookedToRaw(t time.Time) time.Time {
	raw := e.clk.ReadRaw()
	corr, _ := e.clk.OffsetCorrection(raw)
	return t.Add(-secondsToDuration(corr))
}

// accumulate feeds a sample to the statistics and runs the selection
// (chrony's SRC_AccumulateSample and SRC_SelectSource).
func (e *Engine) accumulate(s *sourceEntry, sample discipline.Sample) {
	if e.ref.IsLeapSecondClose(sample.Time, sample.Offset) {
		e.log.Infof("Dropping sample around leap second")
		return
	}
	e.stats.Samples++
	e.logEvents(e.sel.AccumulateSample(s.sel, sample))
	e.writeStatisticsLog(s)
	e.applySelection(e.sel.Select(e.now(), s.sel))
	// chronyd checks whether a name is due for refreshing on every sample.
	e.applyNames(e.names.MaybeRefresh(e.now()))
}

// entryOf returns the engine's record of a selection source.
func (e *Engine) entryOf(src *selection.Source) *sourceEntry {
	for _, s := range e.sources {
		if s.sel == src {
			return s
		}
	}
	return nil
}

// classOf returns the timer class of client or peer polls.
func classOf(peer bool) int {
	if peer {
		return 1
	}
	return 0
}

// separate delays a source's poll so that it stays at least sep seconds
// away from the other pending polls of its class and from the last one
// dispatched, as chronyd's SCH_AddTimeoutInClass does to spread the load.
func (e *Engine) separate(deadline time.Time, sep float64, peer bool) time.Time {
	if sep <= 0 {
		return deadline
	}
	now := e.clk.ReadRaw()
	delay := deadline.Sub(now).Seconds()
	if last := e.lastDispatch[classOf(peer)]; !last.IsZero() {
		if diff := now.Sub(last).Seconds(); diff >= 0 && diff < sep && diff+delay < sep {
			delay = sep - diff
		}
	}
	var pending []float64
	for _, o := range e.sources {
		if o.timer != nil && o.timerPeer == peer {
			pending = append(pending, o.timerAt.Sub(now).Seconds())
		}
	}
	sort.Float64s(pending)
	for _, diff := range pending {
		if delay > diff {
			if delay-diff < sep {
				delay = diff + sep
			}
		} else if diff-delay < sep {
			delay = diff + sep
		}
	}
	return now.Add(secondsToDuration(delay))
}
