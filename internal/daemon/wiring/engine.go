package wiring

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronygo/chronygo/internal/daemon"
	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/chronygo/chronygo/pkg/discipline/reference"
	"github.com/chronygo/chronygo/pkg/ntp/auth"
	"github.com/chronygo/chronygo/pkg/ntp/clientio"
	"github.com/chronygo/chronygo/pkg/ntp/pool"
	"github.com/chronygo/chronygo/pkg/ntp/source"
	"github.com/chronygo/chronygo/pkg/rtc"
)

// ClockFactory makes the clock driver: the system clock when control is
// true, else one that never touches it (-x, -Q). Tests inject a fake.
type ClockFactory func(control bool, opts clock.Options) (clock.Clock, error)

// SystemClock is the daemon's ClockFactory: chronyd's adjtimex driver over
// the real system calls, or NoControl reading the real time for -x.
func SystemClock(control bool, opts clock.Options) (clock.Clock, error) {
	if !control {
		return clock.NewNoControl(time.Now, opts), nil
	}
	c, err := clock.NewSystem(clock.RealSyscalls{}, opts)
	if err != nil {
		return nil, fmt.Errorf("could not initialise the system clock: %w", err)
	}
	return c, nil
}

// EngineDeps are the outside-world dependencies of the daemon's engine.
type EngineDeps struct {
	// Clock makes the clock driver (default SystemClock).
	Clock ClockFactory
	// Lookup resolves source names (default the system resolver).
	Lookup pool.Lookup
	// RTC opens the real-time clock for -s (default SystemRTC).
	RTC RTCFactory
	// RTCDevice opens the real-time clock for tracking with rtcfile
	// (default SystemRTCDevice).
	RTCDevice RTCDeviceFactory
	// ZoneinfoDir is where leapsectz looks up time zones (default
	// /usr/share/zoneinfo).
	ZoneinfoDir string
}

// defaultZoneinfoDir is the system's time zone database.
const defaultZoneinfoDir = "/usr/share/zoneinfo"

// NewEngineFactory returns the EngineFactory of the daemon: the timing
// engine (internal/engine) on its loop, its client sockets (clientio),
// symmetric peers over the NTP port, the drift, dump and log files.
func NewEngineFactory(deps EngineDeps) EngineFactory {
	if deps.Clock == nil {
		deps.Clock = SystemClock
	}
	if deps.Lookup == nil {
		deps.Lookup = net.DefaultResolver
	}
	if deps.RTC == nil {
		deps.RTC = SystemRTC
	}
	if deps.RTCDevice == nil {
		deps.RTCDevice = SystemRTCDevice
	}
	if deps.ZoneinfoDir == "" {
		deps.ZoneinfoDir = defaultZoneinfoDir
	}
	return func(in EngineInputs) (Engine, error) { return buildEngine(deps, in) }
}

// clockOptions maps the configuration onto the clock driver's options.
func clockOptions(cfg *conf.Config, control bool, log logrus.FieldLogger) clock.Options {
	q := cfg.ClockPrecision
	if q == 0 {
		q = clock.MeasurePrecision(time.Now, maxPrecisionReads)
	}
	return clock.Options{
		MaxDrift:      cfg.MaxDrift,
		MaxClockError: cfg.MaxClockError,
		Precision:     q,
		MaxSlewRate:   cfg.MaxSlewRate,
		RTCSync:       cfg.RTCSync && control,
		Logger:        log,
	}
}

// referenceMode maps -q and -Q onto the reference's modes.
func referenceMode(m daemon.RefMode) reference.Mode {
	switch m {
	case daemon.RefModeUpdateOnce:
		return reference.ModeUpdateOnce
	case daemon.RefModePrintOnce:
		return reference.ModePrintOnce
	}
	return reference.ModeNormal
}

// confFamily maps -4/-6 onto the engine's name resolution family.
func confFamily(f daemon.AddressFamily) conf.Family {
	switch f {
	case daemon.FamilyIPv4:
		return conf.FamilyIPv4
	case daemon.FamilyIPv6:
		return conf.FamilyIPv6
	}
	return conf.FamilyAny
}

// buildEngine assembles the engine service and its I/O.
func buildEngine(deps EngineDeps, in EngineInputs) (Engine, error) {
	cfg := in.Config
	r := in.Resources
	var log logrus.FieldLogger = r.Log
	if r.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		log = l
	}
	control := r.Options.ClockControl
	clk, err := deps.Clock(control, clockOptions(cfg, control, log))
	if err != nil {
		return nil, err
	}
	fromRTC := false
	if r.Options.InitFromRTC {
		fromRTC = setInitialTime(clk, cfg, deps.RTC(cfg.RTCDevice, rtcOnUTC(cfg, log)), log)
	}
	ec := &engineComponent{
		log:   log,
		exit:  r.Exit,
		clk:   clk,
		ref:   in.Reference,
		peers: newPeerSockets(cfg, r.Options.Family, clk.ReadRaw),
	}
	fallback, err := ec.setupRTC(cfg, deps.RTCDevice, fromRTC, in.Fallback)
	if err != nil {
		return nil, err
	}
	ec.shell = clientio.New(clientio.Config{
		AcquisitionPort:    max(cfg.AcquisitionPort, 0),
		BindAddress4:       cfg.BindAcqAddress4,
		BindAddress6:       cfg.BindAcqAddress6,
		BindDevice:         cfg.BindAcqDevice,
		DSCP:               cfg.DSCP,
		KernelTxTimestamps: true,
		Now:                clk.ReadRaw,
		// Responses go from the socket's reader straight to the loop.
		Deliver: func(p clientio.Received) {
			ec.deliver(p.Data, p.Remote, p.Info.Local, p.Info.Time, p.Info.Source)
		},
	})
	logs, err := openLogFiles(cfg)
	if err != nil {
		return nil, err
	}
	ec.logs = logs
	if ec.rtc != nil {
		if err := logs.openRTCLog(cfg); err != nil {
			logs.Close()
			return nil, err
		}
	}
	in.maint.addLogs(logs)
	var drift reference.DriftStore
	if cfg.DriftFile.Path != "" {
		drift = reference.DriftFile{Path: cfg.DriftFile.Path}
	}
	svc, err := engine.NewService(engine.ServiceOptions{
		Engine: engine.Options{
			Config:         cfg,
			Clock:          clk,
			Transmit:       ec.transmit,
			CloseSocket:    ec.shell.CloseSocket,
			Family:         confFamily(r.Options.Family),
			Drift:          drift,
			Logger:         log,
			Snapshot:       in.Reference,
			Mode:           referenceMode(r.Options.Mode),
			Reload:         r.Options.Reload,
			MeasurementLog: logs.measurement,
			TrackingLog:    logs.tracking,
			StatisticsLog:  logs.statistics,
			SelectionLog:   logs.selection,
			Keys:           in.maint.currentKeys(),
			Leap:           reference.LoadLeapSource(cfg.LeapSecTZ, cfg.LeapSecList, deps.ZoneinfoDir, log),
			RTC:            ec.rtc,
		},
		Fallback:   fallback,
		OnShutdown: ec.shutdownRequested,
		Lookup:     deps.Lookup,
	})
	if err != nil {
		logs.Close()
		return nil, fmt.Errorf("could not set up the engine: %w", err)
	}
	ec.svc = svc
	in.maint.onRekey(func(ks *auth.KeySet) {
		_ = svc.Do(func(e *engine.Engine) { e.SetKeys(ks) })
	})
	return ec, nil
}

// engineComponent is the engine service with its sockets: the daemon's
// Engine and PeerReceiver.
type engineComponent struct {
	svc   *engine.Service
	shell *clientio.Shell
	peers *peerSockets
	logs  *logFiles
	log   logrus.FieldLogger
	exit  func(status int)
	// clk is the engine's clock; only the loop may use it.
	clk clock.Clock
	// ref is where the engine publishes the reference.
	ref *atomic.Pointer[discipline.ReferenceSnapshot]
	// rtc is the RTC driver of rtcfile (nil when none runs), rtcStarted
	// set once it runs on the loop.
	rtc        *engine.RTC
	rtcStarted bool
	// rtcDev is the RTC driver's device, closed at exit.
	rtcDev rtc.Device

	once sync.Once
}

var (
	_ Engine       = (*engineComponent)(nil)
	_ PeerReceiver = (*engineComponent)(nil)
)

// Name implements daemon.Component.
func (c *engineComponent) Name() string { return "engine" }

// Start opens the peer sockets and starts the engine; the client sockets
// hand their packets to it through clientio.Config.Deliver.
func (c *engineComponent) Start(ctx context.Context) error {
	c.peers.start(c.deliverPeer)
	if err := c.peers.open(); err != nil {
		c.log.Warn(err.Error())
	}
	if err := c.svc.Start(ctx); err != nil {
		return err
	}
	// The engine runs the RTC driver: with -s its fine setting first,
	// then the sources (engine.Options.RTC).
	c.rtcStarted = c.rtc != nil
	return c.svc.Do(func(e *engine.Engine) { e.GiveUpWithoutSources() })
}

// deliver hands one received packet to the engine's loop.
func (c *engineComponent) deliver(data []byte, from netip.AddrPort, local netip.Addr, rx time.Time, src source.TimestampSource) {
	p := engine.Packet{Data: data, From: from, RxRaw: rx, RxSource: src}
	if local.IsValid() {
		p.To = netip.AddrPortFrom(local, 0)
	}
	if !c.svc.Deliver(p, nil) {
		c.log.Debugf("Dropped packet from %s: engine busy", from)
	}
}

// deliverPeer takes a packet read from a peer socket, with its raw kernel
// (or daemon) receive time, as deliver does for client sockets.
func (c *engineComponent) deliverPeer(b []byte, from netip.AddrPort, rx source.RxInfo) {
	c.deliver(b, from, rx.Local, rx.Time, rx.Source)
}

// Close stops the engine (drift and dump files) and closes its sockets.
func (c *engineComponent) Close() error {
	c.stopRTC()
	err := c.svc.Close()
	_ = c.shell.Close()
	c.peers.close()
	c.logs.Close()
	return err
}

// Handler answers chronyc from the engine.
func (c *engineComponent) Handler() cmdmon.Handler { return c.svc.Handler() }

// Synchronised reports, for -t's exit status, whether the daemon has a
// stratum below 16 as chronyd checks: synchronised to a source or serving
// the local reference.
func (c *engineComponent) Synchronised() bool {
	snap := c.ref.Load()
	return snap != nil && snap.Synchronised && snap.Stratum > 0 && snap.Stratum < 16
}

// PeerPacket receives a packet from the NTP server's port.
func (c *engineComponent) PeerPacket(b []byte, from netip.AddrPort, rx time.Time) {
	c.deliver(append([]byte(nil), b...), netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), netip.Addr{}, rx, source.TimestampKernel)
}

// KnownPeer reports whether addr is a configured symmetric peer.
func (c *engineComponent) KnownPeer(addr netip.Addr) bool { return c.peers.known(addr) }

// transmit sends the engine's packets: symmetric ones from the NTP port,
// client requests from client sockets. It runs on the loop, which owns the
// clock: the raw transmit time is cooked here.
func (c *engineComponent) transmit(tx source.Transmit) (source.TxInfo, error) {
	if tx.Peer {
		raw, src, err := c.peers.send(tx.Packet, tx.To)
		if err != nil {
			return source.TxInfo{}, err
		}
		return source.TxInfo{Seq: tx.Seq, Time: c.clk.Cook(raw), Source: src}, nil
	}
	info, err := c.shell.Send(tx)
	if err != nil {
		return source.TxInfo{}, err
	}
	info.Time = c.clk.Cook(info.Time)
	return info, nil
}

// shutdownRequested runs when chronyc asks for shutdown or a special mode
// (-q, -Q) ends: the daemon exits with 0, or 1 when the mode failed.
func (c *engineComponent) shutdownRequested() {
	c.once.Do(func() {
		status := 0
		_ = c.svc.Do(func(e *engine.Engine) {
			if ended, ok := e.ModeResult(); ended && !ok {
				status = 1
			}
		})
		if c.exit != nil {
			c.exit(status)
		}
	})
}
