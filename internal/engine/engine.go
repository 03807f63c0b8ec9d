package engine

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/chronygo/chronygo/pkg/discipline/manual"
	"github.com/chronygo/chronygo/pkg/discipline/reference"
	"github.com/chronygo/chronygo/pkg/discipline/selection"
	"github.com/chronygo/chronygo/pkg/ntp/auth"
	"github.com/chronygo/chronygo/pkg/ntp/pool"
	"github.com/chronygo/chronygo/pkg/ntp/source"
)

// TransmitFunc sends a packet of a source (client requests on a client
// socket, symmetric packets, tx.Peer, on the server socket). It is called
// on the loop and must not block; the daemon passes clientio.Shell.Send
// (or a function routing peers to the server socket), the simulator hands
// the datagram to its network. It returns the cooked transmit time, or a
// zero Time when unknown.
type TransmitFunc func(tx source.Transmit) (source.TxInfo, error)

// Options are what the engine is built from.
type Options struct {
	// Config is the parsed chrony.conf.
	Config *conf.Config
	// Clock is the clock driver (System, Virtual or NoControl).
	Clock clock.Clock
	// Scheduler runs the engine's timers at raw times of Clock, on the loop.
	Scheduler Scheduler
	// Transmit sends packets to sources.
	Transmit TransmitFunc
	// CloseSocket, when not nil, is told that no more replies are expected
	// from a source's last request (clientio.Shell.CloseSocket).
	CloseSocket func(remote netip.AddrPort)
	// Resolver resolves source names (nil: names must be addresses).
	Resolver Resolver
	// Family restricts the addresses of names (chronyd -4 / -6).
	Family conf.Family
	// Drift is the drift file store; nil uses the driftfile directive's
	// file (reference.DriftFile), if any.
	Drift reference.DriftStore
	// Logger receives chronyd-worded messages; nil discards them.
	Logger logrus.FieldLogger
	// Rand is the engine's source of randomness (poll randomisation,
	// reference time fuzz); seed it for deterministic simulations.
	Rand *rand.Rand
	// Snapshot is where the reference snapshot is published; nil makes
	// the engine allocate its own (see SnapshotPointer).
	Snapshot *atomic.Pointer[discipline.ReferenceSnapshot]
	// Mode is the reference's operating mode (normal, -q, -Q).
	Mode reference.Mode
	// Reload restores the measurement histories from the dumpdir once the
	// initial names are resolved (chronyd -r).
	Reload bool
	// MeasurementLog, when not nil, receives every processed response of
	// every source (`log measurements` writes those with Synced set, `log
	// rawmeasurements` all of them; source.FormatMeasurement formats them).
	MeasurementLog func(source.Measurement)
	// TrackingLog, when not nil, receives tracking.log lines
	// (reference.TrackingLogHeader is their header).
	TrackingLog func(line string)
	// Keys is the keyfile's key set for the sources' key option (nil
	// when there is no keyfile); SetKeys replaces it (chronyc rekey).
	Keys *auth.KeySet
	// Leap is the leap second database of leapsectz or leapseclist
	// (reference.LoadLeapSource); nil when none is configured.
	Leap reference.LeapSource
	// StatisticsLog and SelectionLog, when not nil, receive the lines of
	// statistics.log and selection.log (`log statistics`, `log
	// selection`).
	StatisticsLog, SelectionLog func(line string)
	// RTC, when not nil, is the RTC driver of rtcfile: with its fine
	// setting (chronyd -s) Start holds the sources back until it ends, and
	// its readings start once the configured names are resolved.
	RTC *RTC
}

// Engine holds the whole timing state of the daemon. Every method must be
// called from the loop goroutine (or, in the simulator, from the single
// simulation thread); other goroutines talk to it through a Loop.
type Engine struct {
	cfg       *conf.Config
	clk       clock.Clock
	sched     Scheduler
	transmit  TransmitFunc
	closeSock func(netip.AddrPort)
	resolver  Resolver
	log       logrus.FieldLogger
	rng       *rand.Rand
	snapshot  *atomic.Pointer[discipline.ReferenceSnapshot]

	ref *reference.Reference
	sel *selection.Selector

	sources []*sourceEntry
	nextID  uint64
	// names keeps the sources given by name and the pools.
	names      *pool.Manager
	namesTimer Timer
	// resolving counts resolutions in progress.
	resolving int
	// lastDispatch is when the last client (0) and peer (1) poll fired.
	lastDispatch [2]time.Time

	clockTimer    Timer
	clockDeadline time.Time
	refTimer      Timer
	refDeadline   time.Time

	started bool
	stopped bool
	reload  bool
	measLog func(source.Measurement)
	// dirSources are the directives read from sourcedir files, by key,
	// and dirNames their names.
	dirSources map[string]conf.Source
	dirNames   map[string]bool
	// initStep is set during the initstepslew mode.
	initStep      bool
	initStepTimer Timer
	// resolvingDone is set once the names of the configuration were
	// resolved a first time (the dump files are then handled).
	resolvingDone bool
	stats         Counters
	shutdown      func()
	modeEnded     bool
	modeOK        bool
	// manual is the manual time input (settime), made on first use by
	// manualInput.
	manual *manual.Input
	// keys is the key set given to new sources (keys.go).
	keys *auth.KeySet
	// statsLog and selLog receive statistics.log and selection.log lines
	// (logs.go).
	statsLog, selLog func(string)
	// rtc is the RTC driver of rtcfile (nil: none).
	rtc *RTC
}

// Counters are the engine's activity counters (for tests and chronyc).
type Counters struct {
	// Samples is the number of samples accumulated.
	Samples int
	// Updates is the number of reference updates accepted.
	Updates int
	// Steps is the number of clock steps made.
	Steps int
	// Replacements is the number of pool sources replaced.
	Replacements int
}

// New builds an engine from its options; Start begins polling.
func New(opts Options) (*Engine, error) {
	if opts.Config == nil {
		opts.Config = conf.NewConfig()
	}
	if opts.Clock == nil {
		return nil, fmt.Errorf("engine: no clock driver")
	}
	if opts.Scheduler == nil {
		return nil, fmt.Errorf("engine: no scheduler")
	}
	if opts.Logger == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		opts.Logger = l
	}
	if opts.Rand == nil {
		opts.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if opts.Snapshot == nil {
		opts.Snapshot = &atomic.Pointer[discipline.ReferenceSnapshot]{}
	}
	e := &Engine{
		cfg:       opts.Config,
		clk:       opts.Clock,
		sched:     opts.Scheduler,
		transmit:  opts.Transmit,
		closeSock: opts.CloseSocket,
		resolver:  opts.Resolver,
		log:       opts.Logger,
		rng:       opts.Rand,
		snapshot:  opts.Snapshot,
		reload:    opts.Reload,
		measLog:   opts.MeasurementLog,
		keys:      opts.Keys,
		statsLog:  opts.StatisticsLog,
	}
	now := e.clk.ReadCooked()
	drift := opts.Drift
	if drift == nil && e.cfg.DriftFile.Path != "" {
		drift = reference.DriftFile{Path: e.cfg.DriftFile.Path}
	}
	refOpts := referenceOptions(e.cfg, drift, e.log, e.rng)
	refOpts.TrackingLog = opts.TrackingLog
	refOpts.Leap = opts.Leap
	e.ref = reference.New(now, e.clk, refOpts)
	if opts.Mode != reference.ModeNormal {
		e.ref.SetMode(opts.Mode)
	}
	e.sel = selection.New(selectionOptions(e.cfg))
	e.setSelectionLog(opts.SelectionLog)
	e.names = pool.NewManager(pool.Config{
		Family:  poolFamily(opts.Family),
		Refresh: refreshInterval(e.cfg),
		Rand:    rand.New(rand.NewPCG(e.rng.Uint64(), e.rng.Uint64())),
		Log:     e.log,
	})
	e.sel.SetSpecialMode(opts.Mode != reference.ModeNormal)
	if e.cfg.Local.Enabled && e.cfg.Local.Orphan {
		e.sel.SetOrphanStratum(e.cfg.Local.Stratum)
	}
	e.clk.AddChangeHandler(e.handleClockChange)
	e.clk.AddDispersionHandler(e.sel.AddDispersion)
	if opts.RTC != nil {
		e.rtc = opts.RTC
		e.rtc.attach(e)
	}
	e.publish()
	return e, nil
}

// referenceOptions maps chrony.conf onto the reference's options.
func referenceOptions(c *conf.Config, drift reference.DriftStore, log logrus.FieldLogger, rng *rand.Rand) reference.Options {
	o := reference.Options{
		MakeStepThreshold: c.MakeStep.Threshold,
		MakeStepLimit:     c.MakeStep.Limit,
		MaxUpdateSkew:     c.MaxUpdateSkew,
		CorrTimeRatio:     c.CorrTimeRatio,
		LogChange:         c.LogChange,
		FallbackDriftMin:  c.FallbackDrift.Min,
		FallbackDriftMax:  c.FallbackDrift.Max,
		Drift:             drift,
		DriftInterval:     float64(c.DriftFile.Interval),
		Logger:            log,
		Rand:              rng.Float64,
		Smooth:            smoothOptions(c),
	}
	switch c.LeapSecMode {
	case "slew":
		o.LeapMode = reference.LeapModeSlew
	case "step":
		o.LeapMode = reference.LeapModeStep
	case "ignore":
		o.LeapMode = reference.LeapModeIgnore
	default:
		o.LeapMode = reference.LeapModeSystem
	}
	if c.InitStepSlew != nil {
		o.InitStepThreshold = c.InitStepSlew.Threshold
	}
	if c.MaxChange.Delay >= 0 {
		o.MaxChange = &reference.MaxChange{Offset: c.MaxChange.Offset, Delay: c.MaxChange.Delay, Ignore: c.MaxChange.Ignore}
	}
	if c.Local.Enabled {
		o.Local = &reference.LocalOptions{
			Stratum:      c.Local.Stratum,
			Orphan:       c.Local.Orphan,
			Distance:     c.Local.Distance,
			Activate:     c.Local.Activate,
			WaitSynced:   c.Local.WaitSynced,
			WaitUnsynced: c.Local.WaitUnsynced,
		}
		if c.Local.Orphan && c.Local.WaitUnsynced == 0 {
			o.Local.WaitUnsynced = -1
		}
	}
	return o
}

// selectionOptions maps chrony.conf onto the selection directives.
func selectionOptions(c *conf.Config) selection.Options {
	o := selection.Options{
		MinSources:       c.MinSources,
		MaxDistance:      c.MaxDistance,
		MaxJitter:        c.MaxJitter,
		ReselectDistance: c.ReselectDist,
		StratumWeight:    c.StratumWeight,
		CombineLimit:     c.CombineLimit,
		MaxClockError:    c.MaxClockError * 1e-6,
	}
	switch c.AuthSelectMode {
	case "require":
		o.AuthSelectMode = selection.AuthSelectRequire
	case "prefer":
		o.AuthSelectMode = selection.AuthSelectPrefer
	case "ignore":
		o.AuthSelectMode = selection.AuthSelectIgnore
	default:
		o.AuthSelectMode = selection.AuthSelectMix
	}
	return o
}

// SnapshotPointer returns the atomic pointer the engine publishes the
// reference snapshot through; the NTP server and cmdmon read it lock-free.
func (e *Engine) SnapshotPointer() *atomic.Pointer[discipline.ReferenceSnapshot] {
	return e.snapshot
}

// Snapshot returns the last published reference snapshot.
func (e *Engine) Snapshot() *discipline.ReferenceSnapshot { return e.snapshot.Load() }

// Reference returns the reference (for the daemon's reports; loop only).
func (e *Engine) Reference() *reference.Reference { return e.ref }

// Selector returns the source selector (loop only).
func (e *Engine) Selector() *selection.Selector { return e.sel }

// Counters returns the activity counters.
func (e *Engine) Counters() Counters { return e.stats }

// OnShutdown registers fn to be called when a chronyc shutdown request is
// handled.
func (e *Engine) OnShutdown(fn func()) { e.shutdown = fn }

// now returns the event time: the cooked clock reading.
func (e *Engine) now() time.Time { return e.clk.ReadCooked() }

func secondsToDuration(s float64) time.Duration {
	if s > 1e9 {
		s = 1e9
	}
	return time.Duration(s * float64(time.Second))
}

// Start begins polling the configured sources. It must be called once.
// With the RTC's fine setting (chronyd -s with rtcfile) the sources start
// only when it ends, as chronyd's RTC_TimeInit orders it; chronyc and the
// NTP server are answered meanwhile.
func (e *Engine) Start() {
	if e.started {
		return
	}
	e.started = true
	if e.rtc != nil && e.rtc.timeInit(e.startAfterRTC) {
		e.after()
		return
	}
	e.startSources()
}

// startAfterRTC continues the start-up once the RTC's fine setting ended.
func (e *Engine) startAfterRTC() {
	if e.stopped {
		return
	}
	e.startSources()
	e.GiveUpWithoutSources()
}

// startSources starts initstepslew or the configured sources (chronyd's
// post_init_rtc_hook).
func (e *Engine) startSources() {
	if e.initStepSlew() {
		e.after()
		return
	}
	e.startConfigured()
	e.after()
}

// startConfigured adds the sources of the configuration and starts
// resolving their names.
func (e *Engine) startConfigured() {
	for _, sc := range e.cfg.Sources {
		if err := e.addConfigured(sc); err != nil {
			e.log.WithError(err).Warnf("Could not add source %s", sc.Name)
		}
	}
	if err := e.reloadSourceDirs(); err != nil {
		e.log.WithError(err).Warn("Could not read source files")
	}
	e.applyNames(e.names.ResolveNow(e.now()))
	if e.resolving == 0 {
		e.checkResolvingEnd()
	}
}

// initStepSlew starts the initstepslew mode when configured (and no other
// special mode is on): its hosts are polled with iburst until the reference
// steps or slews the clock once; then they are removed and the configured
// sources start (chronyd's post_init hooks). It reports whether the mode
// started.
func (e *Engine) initStepSlew() bool {
	is := e.cfg.InitStepSlew
	if is == nil || len(is.Hosts) == 0 || e.ref.Mode() != reference.ModeNormal {
		return false
	}
	e.ref.SetMode(reference.ModeInitStepSlew)
	e.sel.SetSpecialMode(true)
	e.initStep = true
	now := e.now()
	for _, h := range is.Hosts {
		addr, err := netip.ParseAddr(h)
		if err != nil {
			// chronyd resolves these names when it reads the file; the
			// daemon hands them over as written.
			e.log.Warnf("Could not resolve address of initstepslew server %s", h)
			continue
		}
		opts := source.DefaultOptions(source.ModeClient)
		opts.IBurst = true
		acts, err := e.names.AddServer(now, addr.String(), opts)
		if err != nil {
			e.log.WithError(err).Errorf("Could not add source %s", addr)
			continue
		}
		e.applyNames(acts)
	}
	if e.sel.ActiveSources() == 0 {
		e.handleModeEnd(e.ref.SetUnsynchronised(now))
	}
	return true
}

// endInitStepSlew removes the initstepslew sources and starts the normal
// operation, two seconds after the mode ended as chronyd does.
func (e *Engine) endInitStepSlew() {
	e.initStep = false
	e.initStepTimer = e.sched.At(e.clk.ReadRaw().Add(2*time.Second), func() {
		e.initStepTimer = nil
		if e.stopped {
			return
		}
		for len(e.sources) > 0 {
			s := e.sources[0]
			e.names.Remove(s.remote().Addr())
			e.removeSource(s)
		}
		e.ref.SetMode(reference.ModeNormal)
		e.sel.SetSpecialMode(false)
		e.startConfigured()
		e.after()
	})
}

// checkResolvingEnd reloads the dumped histories (with -r) and removes the
// dump files once every configured name was resolved, as chronyd does.
func (e *Engine) checkResolvingEnd() {
	if e.resolvingDone {
		return
	}
	e.resolvingDone = true
	if e.reload {
		e.LoadDumps()
	}
	e.removeDumpFiles()
	if e.rtc != nil {
		e.rtc.startMeasurements()
	}
}

// Shutdown stops every timer and writes the drift file (chronyd's exit).
func (e *Engine) Shutdown() error {
	if e.stopped {
		return nil
	}
	e.stopped = true
	for _, s := range e.sources {
		s.stopTimer()
	}
	stop(&e.namesTimer)
	stop(&e.initStepTimer)
	stop(&e.clockTimer)
	stop(&e.refTimer)
	e.clk.CancelOffsetCorrection()
	dumpErr := e.Dump()
	e.ref.SetMode(reference.ModeIgnore)
	err := e.ref.Close()
	e.clk.Close()
	e.publish()
	if err != nil {
		return fmt.Errorf("writing drift file: %w", err)
	}
	if dumpErr != nil {
		return fmt.Errorf("dumping measurements: %w", dumpErr)
	}
	return nil
}

func stop(t *Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

// after finishes every input: it re-arms the clock's and the reference's
// timers and publishes a fresh snapshot.
func (e *Engine) after() {
	if e.stopped {
		return
	}
	if at, ok := e.clk.NextTimeout(); ok {
		if e.clockTimer == nil || !at.Equal(e.clockDeadline) {
			stop(&e.clockTimer)
			e.clockDeadline = at
			e.clockTimer = e.sched.At(at, e.onClockTimeout)
		}
	} else {
		stop(&e.clockTimer)
	}
	if at, ok := e.ref.NextTimeout(); ok {
		if e.refTimer == nil || !at.Equal(e.refDeadline) {
			stop(&e.refTimer)
			e.refDeadline = at
			raw := e.clk.ReadRaw()
			corr, _ := e.clk.OffsetCorrection(raw)
			e.refTimer = e.sched.At(at.Add(-secondsToDuration(corr)), e.onReferenceTimeout)
		}
	} else {
		stop(&e.refTimer)
	}
	e.publish()
}

func (e *Engine) onClockTimeout() {
	e.clockTimer = nil
	e.clk.HandleTimeout()
	e.after()
}

func (e *Engine) onReferenceTimeout() {
	e.refTimer = nil
	e.ref.HandleTimeout(e.now())
	e.after()
}

// publish swaps in a new snapshot of the reference.
func (e *Engine) publish() {
	e.snapshot.Store(e.ref.Snapshot(e.now()))
}

// handleClockChange slews the sources' histories with the clock (chrony's
// parameter change handler of the sources module). The timestamps a source
// keeps between packets (the last request's, interleaved and symmetric
// ones) follow the clock too, as chronyd's NCR_SlewTimes does; after a step
// of unknown size they are forgotten (NCR_ResetInstance).
func (e *Engine) handleClockChange(c clock.Change) {
	switch c.Type {
	case clock.ChangeUnknownStep:
		for _, s := range e.sources {
			s.sm.ResetInstance()
		}
		e.applySelection(e.sel.UnknownStep(e.now()))
	default:
		e.sel.SlewSamples(c.Cooked, c.DFreq, c.DOffset)
		for _, s := range e.sources {
			s.sm.SlewTimes(c.Cooked, c.DFreq, c.DOffset)
		}
		if c.Type == clock.ChangeStep {
			e.stats.Steps++
		}
	}
}

// leapOf converts a leap indicator value.
func leapOf(v int) discipline.LeapStatus { return discipline.LeapStatus(v & 3) }

// logEvents logs the selection's messages with their level.
func (e *Engine) logEvents(events []selection.Event) {
	for _, ev := range events {
		e.logAt(ev.Level, ev.Message)
	}
}

// logAt logs msg at level.
func (e *Engine) logAt(level logrus.Level, msg string) {
	switch level {
	case logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel:
		e.log.Error(msg)
	case logrus.WarnLevel:
		e.log.Warn(msg)
	case logrus.InfoLevel:
		e.log.Info(msg)
	default:
		e.log.Debug(msg)
	}
}

// applySelection carries out what a selection asked for.
func (e *Engine) applySelection(res selection.Result) {
	e.logEvents(res.Events)
	e.writeSelectionLog(res.SelectionLog)
	now := e.now()
	if u := res.Update; u != nil {
		r := e.ref.SetReference(now, reference.Update{
			Stratum:         u.Stratum,
			Leap:            u.Leap,
			CombinedSources: u.Combined,
			RefID:           u.RefID,
			RefIP:           u.Addr,
			RefTime:         u.RefTime,
			Offset:          u.Offset,
			OffsetSD:        u.OffsetSD,
			Frequency:       u.Frequency,
			FrequencySD:     u.FrequencySD,
			Skew:            u.Skew,
			RootDelay:       u.RootDelay,
			RootDispersion:  u.RootDispersion,
		})
		if r.Accepted {
			e.stats.Updates++
		}
		e.handleModeEnd(r)
	}
	if res.Unsynchronised {
		e.handleModeEnd(e.ref.SetUnsynchronised(now))
	}
	for _, bad := range res.BadSources {
		e.replaceBadSource(e.entryOf(bad))
	}
}

// handleModeEnd stops the engine when a special mode (-q, -Q) or maxchange
// ended the normal operation.
func (e *Engine) handleModeEnd(r reference.Result) {
	if !r.ModeEnded {
		return
	}
	if e.initStep {
		e.endInitStepSlew()
		return
	}
	e.modeEnded, e.modeOK = true, r.ModeOK
	if e.shutdown != nil {
		e.shutdown()
	}
}

// ModeResult reports whether a special mode (-q, -Q, initstepslew) or
// maxchange ended the engine's operation, and whether it succeeded (the
// daemon's exit status).
func (e *Engine) ModeResult() (ended, ok bool) { return e.modeEnded, e.modeOK }
