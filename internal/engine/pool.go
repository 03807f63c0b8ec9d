package engine

import (
	"net/netip"
	"time"

	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/ntp/pool"
)

// Names of sources (server and peer names, pools) are kept by
// pool.Manager, chronyd's ntp_sources logic: it asks for resolutions,
// adds, replaces and removes sources, and arms a retry timer. The engine
// carries its actions out; the resolver answers on the loop.

// Resolver resolves source names without blocking the loop: done must be
// called on the loop (the daemon's LoopResolver posts it there, the
// simulator answers through its virtual scheduler).
type Resolver interface {
	Resolve(req pool.ResolveRequest, done func(pool.Result))
}

// addConfigured registers a server, peer or pool directive with the name
// manager; addresses are added at once, names when resolved.
func (e *Engine) addConfigured(sc conf.Source) error {
	opts := sourceOptions(sc)
	now := e.now()
	var acts []pool.Action
	var err error
	if sc.Kind == conf.KindPool {
		acts, err = e.names.AddPool(now, sc.Name, opts)
	} else {
		acts, err = e.names.AddServer(now, sc.Name, opts)
	}
	if err != nil {
		return err
	}
	e.applyNames(acts)
	return nil
}

// applyNames carries out the name manager's actions.
func (e *Engine) applyNames(acts []pool.Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case pool.ResolveRequest:
			e.resolveName(a)
		case pool.AddSource:
			if _, err := e.addSource(a.Name, a.Options, a.Addr, a.Pool); err != nil {
				e.log.WithError(err).Warnf("Could not add source %s", a.Addr)
			}
		case pool.ReplaceSource:
			if s := e.findAddr(a.Old); s != nil {
				e.changeAddress(s, a.New)
				e.stats.Replacements++
			}
		case pool.RemoveSource:
			if s := e.findAddr(a.Addr); s != nil {
				e.removeSource(s)
			}
		case pool.SetTimer:
			stop(&e.namesTimer)
			e.namesTimer = e.sched.At(e.cookedToRaw(a.At), func() {
				e.namesTimer = nil
				if e.stopped {
					return
				}
				e.applyNames(e.names.HandleTimer(e.now()))
				e.after()
			})
		}
	}
}

// resolveName starts one resolution; its answer goes back to the manager.
func (e *Engine) resolveName(req pool.ResolveRequest) {
	if e.resolver == nil {
		e.resolving++
		e.answerName(pool.Result{ID: req.ID, Name: req.Name, Status: pool.Failure})
		return
	}
	e.resolving++
	e.resolver.Resolve(req, func(res pool.Result) {
		if e.stopped {
			return
		}
		e.answerName(res)
		e.after()
	})
}

// answerName hands a resolution to the manager; when no resolution is
// left the first round is over (chronyd then reloads dumps with -r).
func (e *Engine) answerName(res pool.Result) {
	e.resolving--
	e.applyNames(e.names.HandleResolved(e.now(), res))
	if e.resolving == 0 {
		e.checkResolvingEnd()
	}
}

// changeAddress moves a source to a new address.
func (e *Engine) changeAddress(s *sourceEntry, a netip.Addr) {
	cfg := e.selectionConfig(s.name, s.opts, a)
	e.sel.SetRefID(s.sel, cfg.RefID, cfg)
	s.confirmed = false
	if e.closeSock != nil {
		e.closeSock(s.remote())
	}
	s.apply(s.sm.ChangeAddress(e.now(), a))
}

// replaceBadSource asks the name manager to replace a source given by name
// (a pool member, a server or peer name) that selection found bad.
func (e *Engine) replaceBadSource(s *sourceEntry) {
	if s == nil {
		return
	}
	e.applyNames(e.names.HandleBadSource(e.now(), s.remote().Addr()))
}

// poolFamily maps the daemon's -4/-6 onto the name manager's family.
func poolFamily(f conf.Family) pool.Family {
	switch f {
	case conf.FamilyIPv4:
		return pool.FamilyIPv4
	case conf.FamilyIPv6:
		return pool.FamilyIPv6
	}
	return pool.FamilyAny
}

// refreshInterval is the refresh directive as a duration.
func refreshInterval(c *conf.Config) time.Duration {
	return time.Duration(c.Refresh) * time.Second
}
