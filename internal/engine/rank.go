package engine

import "slices"

// configRank returns the position of the first server, pool or peer
// directive with the given name in the configuration. Sources added later
// (sourcedir files, chronyc add) rank after all of them. The selector keeps
// its sources in this order, as chronyd does: chronyd creates a pool's
// sources when it reads the directive, so they precede a peer configured
// after the pool even though their addresses are known only later, and the
// order breaks ties between equal scores when the selected source is lost.
func (e *Engine) configRank(name string) int {
	for i, sc := range e.cfg.Sources {
		if sc.Name == name {
			return i
		}
	}
	return len(e.cfg.Sources)
}

// insertSource adds s to the engine's list in configuration order (after
// every source of the same or a lower rank), the order in which chronyc
// lists chronyd's sources.
func (e *Engine) insertSource(s *sourceEntry) {
	rank := e.configRank(s.name)
	at := len(e.sources)
	for i, o := range e.sources {
		if e.configRank(o.name) > rank {
			at = i
			break
		}
	}
	e.sources = slices.Insert(e.sources, at, s)
}
