package engine

import "github.com/chronygo/chronygo/pkg/discipline/reference"

// GiveUpWithoutSources ends a special mode (-q, -Q) at once when the
// configured names are resolved and no source is active, as chronyd does
// at the end of the initial resolving ("No suitable source for
// synchronisation", exit status 1). It does nothing in normal operation,
// while names are still being resolved, or once a mode has ended. It runs
// on the loop (Service.Do); the daemon calls it right after Start.
func (e *Engine) GiveUpWithoutSources() {
	switch e.ref.Mode() {
	case reference.ModeUpdateOnce, reference.ModePrintOnce:
	default:
		return
	}
	if e.modeEnded || !e.resolvingDone || e.sel.ActiveSources() > 0 {
		return
	}
	e.handleModeEnd(e.ref.SetUnsynchronised(e.now()))
	e.after()
}
