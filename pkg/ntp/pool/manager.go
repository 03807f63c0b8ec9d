package pool

import (
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/chronygo/chronygo/pkg/ntp/source"
	"github.com/sirupsen/logrus"
)

// Constants of chronyd's name resolving.
const (
	resolveIntervalUnit    = 7 * time.Second
	minResolveInterval     = 2
	maxResolveInterval     = 9
	maxReplacementInterval = 9
	// MaxPoolSources is the most sources a pool may have.
	MaxPoolSources = 16
	// DefaultRefresh is chronyd's default `refresh` interval (2 weeks).
	DefaultRefresh = 1209600 * time.Second
)

// Config configures a Manager.
type Config struct {
	// Family restricts addresses (-4/-6).
	Family Family
	// Refresh is the `refresh` interval; 0 disables periodic refreshing.
	Refresh time.Duration
	// Rand supplies randomness (address order, replacement spacing); nil
	// seeds one from crypto/rand.
	Rand *rand.Rand
	// Log receives chronyd's messages ("Source ... replaced with ...").
	Log logrus.FieldLogger
}

// Action is an output of the Manager.
type Action interface{ isAction() }

// ResolveRequest asks the caller to resolve Name and pass the Result, with
// the same ID, to HandleResolved.
type ResolveRequest struct {
	ID     uint64
	Name   string
	Family Family
}

// AddSource asks the caller to create and start a source.
type AddSource struct {
	Addr    netip.Addr
	Name    string
	Options source.Options
	// Pool is true for a member of a pool.
	Pool bool
}

// ReplaceSource asks the caller to move a source to a new address
// (Source.ChangeAddress, new reference ID, statistics reset).
type ReplaceSource struct {
	Old, New netip.Addr
	Name     string
}

// RemoveSource asks the caller to remove a source.
type RemoveSource struct {
	Addr netip.Addr
	Name string
}

// SetTimer asks the caller to call HandleTimer at At (resolve retry).
type SetTimer struct{ At time.Time }

func (ResolveRequest) isAction() {}
func (AddSource) isAction()      {}
func (ReplaceSource) isAction()  {}
func (RemoveSource) isAction()   {}
func (SetTimer) isAction()       {}

// record is one source, resolved (addr valid) or a placeholder.
type record struct {
	addr          netip.Addr
	name          string
	opts          source.Options
	pool          *poolState
	tentative     bool
	lastResolving time.Time
}

type poolState struct {
	name       string
	maxSources int
}

// pending is a name waiting to be resolved.
type pending struct {
	name        string
	pool        *poolState
	rec         *record // server record or record to replace/refresh
	randomOrder bool
	refreshment bool
}

// Manager keeps the set of named sources. It is not safe for concurrent
// use: the engine goroutine owns it.
type Manager struct {
	cfg             Config
	log             logrus.FieldLogger
	rng             *rand.Rand
	records         []*record
	queue           []*pending
	resolving       *pending
	resolvingID     uint64
	restart         bool
	interval        int
	timerArmed      bool
	nextReplacement time.Time
	lastRefresh     time.Time
}

// NewManager creates an empty manager.
func NewManager(cfg Config) *Manager {
	m := &Manager{cfg: cfg, log: cfg.Log, rng: cfg.Rand}
	if m.log == nil {
		l := logrus.New()
		l.Out = discard{}
		m.log = l
	}
	if m.rng == nil {
		var seed [32]byte
		_, _ = crand.Read(seed[:])
		m.rng = rand.New(rand.NewChaCha8(seed))
	}
	return m
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func (m *Manager) findAddr(a netip.Addr) *record {
	for _, r := range m.records {
		if r.addr.IsValid() && r.addr == a {
			return r
		}
	}
	return nil
}

// Sources returns the resolved addresses in use with their names.
func (m *Manager) Sources() map[netip.Addr]string {
	out := make(map[netip.Addr]string)
	for _, r := range m.records {
		if r.addr.IsValid() {
			out[r.addr] = r.name
		}
	}
	return out
}

// Unresolved is the number of sources still waiting for an address.
func (m *Manager) Unresolved() int {
	n := 0
	for _, r := range m.records {
		if !r.addr.IsValid() {
			n++
		}
	}
	return n
}

// AddServer adds a `server` or `peer` given by name or address. An
// address is added at once; a name is queued for resolution (call
// ResolveNow to start).
func (m *Manager) AddServer(now time.Time, name string, opts source.Options) ([]Action, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("source %s: %w", name, err)
	}
	if ip, err := netip.ParseAddr(name); err == nil {
		ip = ip.Unmap()
		if !m.cfg.Family.Matches(ip) {
			return nil, fmt.Errorf("source %s: address family not enabled", name)
		}
		if m.findAddr(ip) != nil {
			return nil, fmt.Errorf("source %s: already in use", name)
		}
		m.records = append(m.records, &record{addr: ip, name: name, opts: opts, tentative: true, lastResolving: now})
		return []Action{AddSource{Addr: ip, Name: name, Options: opts}}, nil
	}
	r := &record{name: name, opts: opts, tentative: true, lastResolving: now}
	m.records = append(m.records, r)
	m.queue = append(m.queue, &pending{name: name, rec: r})
	return nil, nil
}

// AddPool adds a `pool`: up to maxsources (clamped to 1-16) sources are
// kept, and twice as many are tried at first.
func (m *Manager) AddPool(now time.Time, name string, opts source.Options) ([]Action, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("pool %s: %w", name, err)
	}
	p := &poolState{name: name, maxSources: min(max(1, opts.MaxSources), MaxPoolSources)}
	n := min(2*p.maxSources, MaxPoolSources)
	for i := 0; i < n; i++ {
		m.records = append(m.records, &record{name: name, opts: opts, pool: p, tentative: true, lastResolving: now})
	}
	m.queue = append(m.queue, &pending{name: name, pool: p})
	return nil, nil
}

// ResolveNow starts resolving the queued names (chronyd does this at
// start and on `chronyc online`).
func (m *Manager) ResolveNow(now time.Time) []Action {
	if len(m.queue) == 0 {
		return nil
	}
	if m.resolving != nil {
		m.restart = true
		return nil
	}
	if m.timerArmed {
		m.timerArmed = false
		m.interval--
	}
	return m.startRound(now)
}

// HandleTimer runs the resolve retry timer.
func (m *Manager) HandleTimer(now time.Time) []Action {
	if !m.timerArmed {
		return nil
	}
	m.timerArmed = false
	return m.startRound(now)
}

func (m *Manager) isResolved(p *pending) bool {
	if p.pool != nil {
		for _, r := range m.records {
			if r.pool == p.pool && !r.addr.IsValid() {
				return false
			}
		}
		return true
	}
	if p.rec == nil || !m.hasRecord(p.rec) {
		return true
	}
	return p.rec.addr.IsValid() && !p.refreshment && !p.randomOrder
}

func (m *Manager) hasRecord(r *record) bool {
	for _, x := range m.records {
		if x == r {
			return true
		}
	}
	return false
}

func (m *Manager) startRound(now time.Time) []Action {
	kept := m.queue[:0]
	for _, p := range m.queue {
		if !m.isResolved(p) {
			kept = append(kept, p)
		}
	}
	m.queue = kept
	if len(m.queue) == 0 {
		return nil
	}
	return m.resolveNext(m.queue[0])
}

func (m *Manager) resolveNext(p *pending) []Action {
	m.resolving = p
	m.resolvingID++
	return []Action{ResolveRequest{ID: m.resolvingID, Name: p.name, Family: m.cfg.Family}}
}

func (m *Manager) removePending(p *pending) {
	for i, x := range m.queue {
		if x == p {
			m.queue = append(m.queue[:i], m.queue[i+1:]...)
			return
		}
	}
}

// HandleResolved takes the result of a ResolveRequest.
func (m *Manager) HandleResolved(now time.Time, res Result) []Action {
	p := m.resolving
	if p == nil || res.ID != m.resolvingID {
		return nil
	}
	m.resolving = nil
	var acts []Action
	switch res.Status {
	case Success:
		acts = m.processResolved(now, p, res.Addrs)
	case Failure:
		m.log.WithField("name", p.name).Warnf("Invalid host %s", p.name)
	}
	next := m.nextPending(p)
	if res.Status == Failure || (p.rec != nil && (p.randomOrder || p.refreshment)) || m.isResolved(p) {
		m.removePending(p)
	}
	if next == nil && m.restart && len(m.queue) > 0 {
		m.restart = false
		next = m.queue[0]
	}
	if next != nil {
		return append(acts, m.resolveNext(next)...)
	}
	if len(m.queue) > 0 {
		m.interval = min(max(minResolveInterval, m.interval+1), maxResolveInterval)
		m.timerArmed = true
		acts = append(acts, SetTimer{At: now.Add(resolveIntervalUnit * time.Duration(1<<m.interval))})
	} else {
		m.interval = 0
	}
	return acts
}

func (m *Manager) nextPending(p *pending) *pending {
	for i, x := range m.queue {
		if x == p && i+1 < len(m.queue) {
			return m.queue[i+1]
		}
	}
	return nil
}

func (m *Manager) processResolved(now time.Time, p *pending, addrs []netip.Addr) []Action {
	var acts []Action
	if p.refreshment && p.rec != nil {
		for _, a := range addrs {
			if a == p.rec.addr {
				return nil
			}
		}
	}
	first := 0
	if p.randomOrder && len(addrs) > 0 {
		first = m.rng.IntN(len(addrs))
	}
	for i := range addrs {
		a := addrs[(i+first)%len(addrs)].Unmap()
		if !m.cfg.Family.Matches(a) {
			continue
		}
		if p.pool != nil {
			for _, r := range m.records {
				if r.pool != p.pool || r.addr.IsValid() {
					continue
				}
				if m.findAddr(a) == nil {
					r.addr = a
					acts = append(acts, AddSource{Addr: a, Name: r.name, Options: r.opts, Pool: true})
				}
				break
			}
			continue
		}
		r := p.rec
		if r == nil || !m.hasRecord(r) {
			break
		}
		if m.findAddr(a) != nil {
			continue
		}
		if r.addr.IsValid() {
			old := r.addr
			r.addr = a
			m.makeTentative(r)
			m.log.WithField("name", r.name).Infof("Source %s replaced with %s (%s)", old, a, r.name)
			acts = append(acts, ReplaceSource{Old: old, New: a, Name: r.name})
		} else {
			r.addr = a
			acts = append(acts, AddSource{Addr: a, Name: r.name, Options: r.opts})
		}
		break
	}
	return acts
}

func (m *Manager) makeTentative(r *record) {
	r.tentative = true
}

// SourceConfirmed tells the manager a source gave its first good
// response. Once a pool has maxsources confirmed sources, its remaining
// tentative sources are removed.
func (m *Manager) SourceConfirmed(addr netip.Addr) []Action {
	r := m.findAddr(addr)
	if r == nil || !r.tentative {
		return nil
	}
	r.tentative = false
	if r.pool == nil {
		return nil
	}
	confirmed := 0
	for _, x := range m.records {
		if x.pool == r.pool && !x.tentative {
			confirmed++
		}
	}
	if confirmed < r.pool.maxSources {
		return nil
	}
	var acts []Action
	kept := m.records[:0]
	for _, x := range m.records {
		if x.pool == r.pool && x.tentative {
			if x.addr.IsValid() {
				acts = append(acts, RemoveSource{Addr: x.addr, Name: x.name})
			}
			continue
		}
		kept = append(kept, x)
	}
	m.records = kept
	r.pool.maxSources = min(r.pool.maxSources, confirmed)
	return acts
}

// HandleBadSource asks for a replacement of a source that is unreachable
// or was repeatedly a falseticker (or had a bad distance or jitter).
// Sources given by address are never replaced; replacements are spaced
// randomly over up to an hour as in chronyd.
func (m *Manager) HandleBadSource(now time.Time, addr netip.Addr) []Action {
	r := m.findAddr(addr)
	if r == nil {
		return nil
	}
	if ip, err := netip.ParseAddr(r.name); err == nil && ip.Unmap() == r.addr {
		return nil
	}
	if now.Before(m.nextReplacement) {
		m.log.WithField("source", addr).Debug("replacement postponed")
		return nil
	}
	maxGap := resolveIntervalUnit * (1 << maxReplacementInterval)
	m.nextReplacement = now.Add(time.Duration(m.rng.Float64() * float64(maxGap)))
	return m.resolveReplacement(now, r, false)
}

func (m *Manager) resolveReplacement(now time.Time, r *record, refreshment bool) []Action {
	r.lastResolving = now
	m.queue = append(m.queue, &pending{name: r.name, rec: r, randomOrder: true, refreshment: refreshment})
	if m.resolving != nil {
		return nil
	}
	return m.ResolveNow(now)
}

// MaybeRefresh re-resolves the name resolved longest ago when the
// `refresh` interval has passed; chronyd checks on every response.
func (m *Manager) MaybeRefresh(now time.Time) []Action {
	iv := m.cfg.Refresh
	if iv <= 0 || now.Before(m.lastRefresh.Add(iv)) {
		return nil
	}
	m.lastRefresh = now
	var oldest *record
	for _, r := range m.records {
		if !r.addr.IsValid() {
			continue
		}
		if _, err := netip.ParseAddr(r.name); err == nil {
			continue
		}
		if oldest == nil || r.lastResolving.Before(oldest.lastResolving) {
			oldest = r
		}
	}
	if oldest == nil {
		return nil
	}
	if now.Before(oldest.lastResolving.Add(iv)) {
		m.lastRefresh = oldest.lastResolving
		return nil
	}
	return m.resolveReplacement(now, oldest, true)
}

// RefreshAll re-resolves every named source (chronyc refresh): a source
// keeps its address while the name still resolves to it.
func (m *Manager) RefreshAll(now time.Time) []Action {
	var acts []Action
	for _, r := range m.records {
		if !r.addr.IsValid() {
			continue
		}
		if _, err := netip.ParseAddr(r.name); err == nil {
			continue
		}
		acts = append(acts, m.resolveReplacement(now, r, true)...)
	}
	return acts
}

// Remove forgets a source (chronyc delete).
func (m *Manager) Remove(addr netip.Addr) bool {
	for i, r := range m.records {
		if r.addr.IsValid() && r.addr == addr {
			m.records = append(m.records[:i], m.records[i+1:]...)
			return true
		}
	}
	return false
}
