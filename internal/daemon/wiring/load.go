package wiring

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronygo/chronygo/internal/daemon"
	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/chronygo/chronygo/pkg/ntp/auth"
	"github.com/chronygo/chronygo/pkg/ntp/server"
)

// Engine is the seam where the timing engine plugs in. Once started it owns
// the reference pointer it was built with, publishing every new snapshot
// through it; it answers chronyc through Handler and reports
// synchronisation for -t's exit status. Close writes the drift and dump
// files. It is started as root, after the NTP server and before the
// command sockets.
type Engine interface {
	daemon.Component
	// Handler answers chronyc's requests.
	Handler() cmdmon.Handler
	// Synchronised reports whether the clock is synchronised.
	Synchronised() bool
}

// PeerReceiver is implemented by an engine that takes the packets arriving
// on the NTP server's port that are not client requests (symmetric peers'
// packets, replies to requests sent from that port); the server then hands
// them over instead of dropping them.
type PeerReceiver interface {
	// PeerPacket receives one packet; it must not block and must copy b.
	PeerPacket(b []byte, from netip.AddrPort, rx time.Time)
	// KnownPeer reports whether addr is a configured symmetric peer.
	KnownPeer(addr netip.Addr) bool
}

// EngineInputs is what the engine is built from.
type EngineInputs struct {
	// Config is the parsed configuration.
	Config *conf.Config
	// Reference holds the initial snapshot; the engine publishes into it
	// from then on (engine.Options.Snapshot).
	Reference *atomic.Pointer[discipline.ReferenceSnapshot]
	// Resources are the daemon's (options such as -x, user, logger,
	// OnShutdown for the drift file).
	Resources daemon.Resources
	// Fallback answers the chronyc commands that belong to the NTP server
	// rather than the engine (serverstats, accheck) and reports the
	// published reference.
	Fallback cmdmon.Handler
	// maint, when set, takes the engine's log files for cyclelogs.
	maint *maintenance
}

// EngineFactory builds the engine for a configuration
// (engine.NewService fits, wrapped to take EngineInputs).
type EngineFactory func(in EngineInputs) (Engine, error)

// resolveTimeout bounds the resolution of host names in access rules.
const resolveTimeout = 30 * time.Second

// maxPrecisionReads bounds the clock reads made to measure its precision.
const maxPrecisionReads = 100000

// NewLoader returns the daemon's configuration loader. engine may be nil
// while no engine exists: the daemon then serves the static initial
// reference.
func NewLoader(engine EngineFactory) daemon.Loader {
	return NewLoaderFor(engine, daemon.Options{})
}

// NewLoaderFor is NewLoader for the given command line: with -Q
// (ClientOnly) the NTP and command ports are closed and there is no pid
// file or command socket unless the configuration asks for them, as in
// chronyd.
func NewLoaderFor(engine EngineFactory, opts daemon.Options) daemon.Loader {
	return func(path string, lines []string) (*daemon.Loaded, error) {
		cfg, err := conf.Load(path, lines)
		if err != nil {
			return nil, err
		}
		if opts.ClientOnly {
			clientOnly(cfg)
		}
		if opts.Restarted {
			restarted(cfg)
		}
		w := &wired{cfg: cfg, engineFactory: engine, lookup: SystemLookup}
		return &daemon.Loaded{
			Settings: w.settings(),
			Print: func(out io.Writer) error {
				cfg.Print(out)
				return nil
			},
			Build: w.build,
		}, nil
	}
}

// clientOnly applies chronyd's -Q defaults: no server port, no command
// port, no pid file and no command socket (unless configured otherwise).
func clientOnly(cfg *conf.Config) {
	def := conf.NewConfig()
	if cfg.Port == def.Port {
		cfg.Port = 0
	}
	if cfg.CmdPort == def.CmdPort {
		cfg.CmdPort = 0
	}
	if cfg.PidFile == conf.DefaultPidFile {
		cfg.PidFile = ""
	}
	if cfg.BindCmdPath == conf.DefaultCmdSocket {
		cfg.BindCmdPath = ""
	}
}

// restarted applies chronyd -R: initstepslew is ignored and a makestep
// with a positive limit is disabled (a negative limit, stepping always,
// stays).
func restarted(cfg *conf.Config) {
	cfg.InitStepSlew = nil
	if cfg.MakeStep.Limit > 0 {
		cfg.MakeStep.Limit = 0
	}
}

// hasPeers reports whether the configuration has symmetric peers (which
// need the NTP port open even when no client is allowed).
func hasPeers(cfg *conf.Config) bool {
	for _, s := range cfg.Sources {
		if s.Kind == conf.KindPeer {
			return true
		}
	}
	return false
}

// loadKeys reads the key file; problems are logged as chronyd does and
// leave the keys that could be read.
func loadKeys(path string, log logrus.FieldLogger) *auth.KeySet {
	ks, warnings, permWarning, err := auth.LoadKeyFile(path)
	if log != nil {
		for _, w := range warnings {
			log.Warn(w.Error())
		}
		if permWarning != "" {
			log.Warn(permWarning)
		}
		if err != nil {
			log.Warnf("Could not open keyfile %s", path)
		}
	}
	return ks
}

// wired is one configuration on its way to components.
type wired struct {
	cfg           *conf.Config
	engineFactory EngineFactory
	engine        Engine
	lookup        LookupFunc
	ref           atomic.Pointer[discipline.ReferenceSnapshot]
}

// settings maps the configuration to what the lifecycle acts on.
func (w *wired) settings() daemon.Settings {
	c := w.cfg
	return daemon.Settings{
		PidFile:       c.PidFile,
		User:          c.User,
		BindCmdPath:   c.BindCmdPath,
		LogDir:        c.LogDir,
		DumpDir:       c.DumpDir,
		LockAll:       c.LockAll,
		SchedPriority: c.SchedPriority,
		NTPPort:       c.Port,
		Synchronised:  w.synchronised,
		Directives:    c.Directives(),
		Warnings:      c.Warnings,
	}
}

// synchronised is the engine's answer, or the static reference's.
func (w *wired) synchronised() bool {
	if w.engine != nil {
		return w.engine.Synchronised()
	}
	snap := w.ref.Load()
	return snap != nil && snap.Synchronised
}

// precision is clockprecision when configured, else measured.
func (w *wired) precision() int8 {
	q := w.cfg.ClockPrecision
	if q == 0 {
		q = clock.MeasurePrecision(time.Now, maxPrecisionReads)
	}
	_, log2 := clock.PrecisionFromQuantum(q)
	return log2
}

// build resolves the access rules, publishes the initial reference and
// makes the components: the NTP server, the engine (or, without one, the
// static reference's publisher) and the chronyc listeners.
func (w *wired) build(r daemon.Resources) (daemon.Components, error) {
	var comps daemon.Components
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	allow, err := ResolveAccessRules(ctx, w.cfg.Allow, "allow", r.Options.Family, w.lookup)
	if err != nil {
		return comps, err
	}
	cmdAllow, err := ResolveAccessRules(ctx, w.cfg.CmdAllow, "cmdallow", r.Options.Family, w.lookup)
	if err != nil {
		return comps, err
	}
	table, err := AccessTable(allow)
	if err != nil {
		return comps, err
	}
	cmdRules, err := AccessRules(cmdAllow)
	if err != nil {
		return comps, err
	}

	w.ref.Store(InitialSnapshot(w.cfg.Local, w.precision(), time.Now()))
	ntp := &ntpServer{cfg: ServerConfig(w.cfg, r.Options.Family, table)}
	ntp.cfg.Reference = &w.ref
	ntp.cfg.Log = r.Log
	ntp.cfg.OpenAlways = hasPeers(w.cfg)
	ntp.cfg.SocketsRequired = w.cfg.Port != 0 && w.cfg.AcquisitionPort == w.cfg.Port
	workers, err := server.ParseWorkers(os.Getenv(server.WorkersEnv))
	if err != nil {
		return comps, fmt.Errorf("%s: %w", server.WorkersEnv, err)
	}
	ntp.cfg.Workers = workers
	maint := &maintenance{keyFile: w.cfg.KeyFile, log: r.Log}
	if w.cfg.KeyFile != "" {
		keys := loadKeys(w.cfg.KeyFile, r.Log)
		keyAuth := server.NewKeyAuthenticator(keys)
		maint.setKeys(keys, keyAuth)
		ntp.cfg.Auth = keyAuth
	}
	comps.Privileged = append(comps.Privileged, ntp)

	static := &referenceHandler{UnsyncedHandler: &cmdmon.UnsyncedHandler{}, ref: &w.ref, ntp: ntp, now: time.Now, maint: maint}
	var handler cmdmon.Handler = static
	if w.engineFactory != nil {
		e, err := w.engineFactory(EngineInputs{Config: w.cfg, Reference: &w.ref, Resources: r, Fallback: static, maint: maint})
		if err != nil {
			return comps, err
		}
		w.engine = e
		handler = e.Handler()
		if p, ok := e.(PeerReceiver); ok {
			ntp.cfg.Peer = p.PeerPacket
			ntp.cfg.KnownPeer = p.KnownPeer
		}
		comps.Privileged = append(comps.Privileged, e)
	} else {
		if !r.Options.ClockControl && r.Log != nil {
			// The engine's clock driver says so when it exists.
			r.Log.Info("Disabled control of system clock")
		}
		comps.Privileged = append(comps.Privileged, &referencePublisher{ref: &w.ref, now: time.Now, period: localRefUpdateInterval / 4})
	}
	cmCfg := CmdmonConfig(w.cfg, r, cmdRules)
	cmCfg.Policy.CommandLog = serverCommandLog{ntp: ntp}
	cm, err := cmdmon.NewServer(handler, cmCfg)
	if err != nil {
		return comps, fmt.Errorf("could not set up the command service: %w", err)
	}
	static.CommandStats = cm.Dispatcher().CommandStats
	comps.Privileged = append(comps.Privileged, &cmdmonUDP{srv: cm})
	comps.Unprivileged = append(comps.Unprivileged, &cmdmonUnix{srv: cm})
	if fs, ok := w.engine.(fineSettingAwaiter); ok {
		comps.Unprivileged = append(comps.Unprivileged, &fineSettingWait{engine: fs})
	}
	return comps, nil
}
