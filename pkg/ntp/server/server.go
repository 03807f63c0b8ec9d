// Package server is chronygo's NTP server: it answers client (mode 3)
// requests, and symmetric active (mode 1) requests from unknown peers,
// exactly as chronyd does.
//
// The logic is sans-IO: Responder.Handle turns one received datagram, its
// receive timestamp and the published discipline.ReferenceSnapshot into a
// verdict and a response, using the shared access table, client log
// (chronyc clients, rate limiting with KoD RATE), interleaved-mode transmit
// timestamp memory and counters (chronyc serverstats). The I/O shell (Start)
// runs one SO_REUSEPORT socket per worker and address family (by default
// one worker per two CPUs, see DefaultWorkers; a classic BPF program steers
// each client address to one worker); each worker reads a batch with
// recvmmsg (kernel receive timestamps from SO_TIMESTAMPING), builds the
// responses and sends them with sendmmsg on the same goroutine, without
// allocating per packet. As chronyd does, it asks the kernel for a transmit
// timestamp only for the responses that an interleaved client may ask about,
// and reads the socket's error queue only while such timestamps are due.
package server

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/access"
	"github.com/sirupsen/logrus"
)

// PeerFunc receives packets that are not requests for the server (modes 2, 4
// and 5, and mode 1 from known peers) with their raw receive time (a kernel
// timestamp when available). It must not block and must copy b, which is
// reused after it returns.
type PeerFunc func(b []byte, from netip.AddrPort, rx time.Time)

// Config configures the server. The daemon maps chrony.conf into it.
type Config struct {
	// Port is the NTP port (the port directive); 0 disables the server
	// and -1 picks a free port (tests).
	Port int
	// BindAddress4 and BindAddress6 are the bindaddress directives (one
	// per family); invalid (zero) means the wildcard address.
	BindAddress4, BindAddress6 netip.Addr
	// BindDevice is the binddevice directive ("" for none).
	BindDevice string
	// DisableIPv4 and DisableIPv6 are chronyd's -6 and -4 options.
	DisableIPv4, DisableIPv6 bool
	// DSCP is the dscp directive (0..63).
	DSCP int
	// Workers is the number of sockets per family and goroutines reading
	// them (0: DefaultWorkers(runtime.NumCPU())).
	Workers int
	// BatchSize is the number of datagrams read or sent per system call
	// (0: 32).
	BatchSize int
	// OpenAlways keeps the sockets of both families open even when no
	// address of the family is allowed (for symmetric peers on the port).
	OpenAlways bool
	// SocketsRequired makes Start fail when no socket of any family could
	// be opened. chronyd exits so ("Could not open NTP sockets") only when
	// its client requests share the server's port (acquisitionport equal
	// to port); otherwise it logs each socket it could not open and runs
	// on, without serving.
	SocketsRequired bool
	// Access is the allow/deny table (nil: a table denying everyone).
	Access *access.Table
	// ClientLog configures the client log and rate limiting.
	ClientLog ClientLogConfig
	// Auth authenticates requests that carry a MAC or NTS fields.
	Auth Authenticator
	// KnownPeer tells configured symmetric peers apart (may be nil).
	KnownPeer func(netip.Addr) bool
	// Peer receives the packets the server does not answer (may be nil).
	Peer PeerFunc
	// Reference is where the engine publishes the reference to serve.
	Reference *atomic.Pointer[discipline.ReferenceSnapshot]
	// Clock reads the raw system time (nil: time.Now).
	Clock func() time.Time
	// Log receives the server's log messages (nil: the standard logger).
	Log logrus.FieldLogger
}

// DefaultWorkers is the number of workers (sockets per family) used when
// Config.Workers is 0, for a machine with ncpu usable CPUs.
// Half the CPUs, at least one: most of the cost of a reply is the kernel's
// (receive and send paths, loopback or NIC softirq work, which the
// clients' and other processes' CPUs share), so a worker per CPU makes the
// workers compete with that work and with each other for the client log
// and counters. On a 2-CPU machine this is one worker, like chronyd's
// single thread, which measured cheaper per reply than two.
func DefaultWorkers(ncpu int) int {
	return max(1, ncpu/2)
}

// WorkersEnv is the environment variable through which the daemon lets an
// administrator set Config.Workers (chrony.conf has no such directive); see
// ParseWorkers.
const WorkersEnv = "CHRONYGO_NTP_WORKERS"

// maxWorkers bounds Config.Workers.
const maxWorkers = 1024

// ParseWorkers parses a number of server workers as given in WorkersEnv:
// "" or "auto" is 0 (DefaultWorkers), otherwise a number from 1 to 1024.
func ParseWorkers(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "auto") {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxWorkers {
		return 0, fmt.Errorf("invalid number of NTP server workers %q (1-%d or auto)", s, maxWorkers)
	}
	return n, nil
}

// Server is a running NTP server.
type Server struct {
	cfg    Config
	shared *Shared
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	sockets [2][]*worker // by family: 0 IPv4, 1 IPv6
	closed  bool
}

// NewShared creates the state shared by the workers of a server from cfg.
func NewShared(cfg *Config, stats *Stats) *Shared {
	if cfg.Access == nil {
		cfg.Access = access.NewTable()
	}
	rnd := NewRandom()
	log := NewClientLog(cfg.ClientLog, uint32(rnd.Uint64()), stats)
	return &Shared{
		Access:    cfg.Access,
		Log:       log,
		Tx:        NewTxMemory(log.MaxRecords(), stats),
		Stats:     stats,
		Auth:      cfg.Auth,
		KnownPeer: cfg.KnownPeer,
	}
}

// Start opens the server's sockets and starts its workers. With Port 0 it
// returns a server with no sockets (its client log and counters still
// serve cmdmon).
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers(runtime.NumCPU())
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 32
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = logrus.StandardLogger()
	}
	if cfg.Reference == nil {
		cfg.Reference = &atomic.Pointer[discipline.ReferenceSnapshot]{}
	}
	if cfg.Workers > maxWorkers {
		return nil, fmt.Errorf("invalid number of NTP server workers %d", cfg.Workers)
	}
	if cfg.Port < -1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("invalid NTP port %d", cfg.Port)
	}
	if cfg.DSCP < 0 || cfg.DSCP > 63 {
		return nil, fmt.Errorf("invalid dscp %d", cfg.DSCP)
	}
	if cl := cfg.ClientLog; cl.Disabled && (cl.NTP.Enabled || cl.NTSKE.Enabled || cl.Cmd.Enabled) {
		return nil, errors.New("rate limiting cannot be enabled with noclientlog")
	}
	s := &Server{cfg: cfg, shared: NewShared(&cfg, &Stats{})}
	s.cfg.Access = s.shared.Access
	s.ctx, s.cancel = context.WithCancel(ctx)
	if err := s.Refresh(); err != nil && cfg.SocketsRequired {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Refresh opens the sockets of a family when an address of it has become
// allowed and closes them when none is (chronyd's behaviour after chronyc
// allow/deny). Start calls it. Each family that cannot be opened is logged
// with chronyd's message; the error says so only when no family is open.
func (s *Server) Refresh() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.cfg.Port == 0 {
		return nil
	}
	var errs []error
	for fam := 0; fam < 2; fam++ {
		ipv4 := fam == 0
		if (ipv4 && s.cfg.DisableIPv4) || (!ipv4 && s.cfg.DisableIPv6) {
			continue
		}
		want := s.cfg.OpenAlways || s.shared.Access.AnyAllowed(ipv4)
		switch {
		case want && s.sockets[fam] == nil:
			ws, err := s.openFamily(ipv4)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s.sockets[fam] = ws
		case !want && s.sockets[fam] != nil:
			for _, w := range s.sockets[fam] {
				w.close()
			}
			s.sockets[fam] = nil
		}
	}
	if len(errs) > 0 && s.sockets[0] == nil && s.sockets[1] == nil {
		return errors.Join(errs...)
	}
	return nil
}

func (s *Server) openFamily(ipv4 bool) ([]*worker, error) {
	bind := s.cfg.BindAddress6
	if ipv4 {
		bind = s.cfg.BindAddress4
	}
	if !bind.IsValid() {
		if ipv4 {
			bind = netip.IPv4Unspecified()
		} else {
			bind = netip.IPv6Unspecified()
		}
	}
	// Port -1 (tests): the first socket picks a free port, the others
	// share it.
	port := uint16(max(s.cfg.Port, 0))
	for _, other := range s.sockets {
		if s.cfg.Port < 0 && len(other) > 0 {
			port = other[0].local.Port()
		}
	}
	ws := make([]*worker, 0, s.cfg.Workers)
	for i := 0; i < s.cfg.Workers; i++ {
		w, err := newWorker(s, netip.AddrPortFrom(bind, port), ipv4)
		if err != nil {
			for _, o := range ws {
				o.close()
			}
			local := netip.AddrPortFrom(bind, port)
			s.cfg.Log.WithError(err).Errorf("Could not open NTP socket on %s", local)
			return nil, fmt.Errorf("NTP socket on %s: %w", local, err)
		}
		ws = append(ws, w)
		port = w.local.Port()
	}
	if len(ws) > 1 {
		// Without steering the kernel spreads the datagrams by a hash
		// of addresses and ports, which also works.
		var err error
		if cerr := ws[0].raw.Control(func(fd uintptr) { err = attachSteering(int(fd), ipv4, len(ws)) }); cerr != nil {
			err = cerr
		}
		if err != nil {
			s.cfg.Log.WithError(err).Debug("NTP server sockets not steered by client address")
		}
	}
	for _, w := range ws {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			w.run()
		}()
	}
	return ws, nil
}

// LocalAddrs returns the addresses the server's sockets are bound to (one
// per family that is open), e.g. to find the port chosen for Port -1 in
// tests.
func (s *Server) LocalAddrs() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []netip.AddrPort
	for _, ws := range s.sockets {
		if len(ws) > 0 {
			out = append(out, ws[0].local)
		}
	}
	return out
}

// Close stops the workers and closes the sockets.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for fam := range s.sockets {
		for _, w := range s.sockets[fam] {
			w.close()
		}
		s.sockets[fam] = nil
	}
	s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

// Stats returns a copy of the server's counters.
func (s *Server) Stats() StatsSnapshot {
	snap := s.shared.Stats.Snapshot()
	snap.NTPSpanSeconds = s.shared.Tx.SpanSeconds()
	return snap
}

// ClientLog returns the client log, which cmdmon uses to log its clients
// (LogCommand) and to answer chronyc clients.
func (s *Server) ClientLog() *ClientLog { return s.shared.Log }

// Clients returns up to n client reports starting at index first and the
// index to continue from (chronyc clients).
func (s *Server) Clients(first, n int, reset bool, minHits uint32, now time.Time) ([]ClientReport, int) {
	return s.shared.Log.Clients(first, n, reset, minHits, now)
}

// Access returns the server's access table (chronyc allow/deny/accheck);
// call Refresh after changing it.
func (s *Server) Access() *access.Table { return s.shared.Access }

// ResetTimestamps forgets the interleaved-mode timestamps, as chronyd does
// after an unknown step of the clock.
func (s *Server) ResetTimestamps() { s.shared.Tx.Reset() }

// StaticReference returns a reference pointer holding a fixed snapshot, to
// run the server standalone (benchmarks, tests, a pure local-stratum
// server).
func StaticReference(snap discipline.ReferenceSnapshot) *atomic.Pointer[discipline.ReferenceSnapshot] {
	p := &atomic.Pointer[discipline.ReferenceSnapshot]{}
	p.Store(&snap)
	return p
}
