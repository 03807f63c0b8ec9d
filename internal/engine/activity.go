package engine

import (
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/ntp/source"
)

// activityReport counts the sources as chronyd's activity report does:
// online, offline, in a burst returning to online or to offline, and the
// names not resolved yet.
func (e *Engine) activityReport() candm.Activity {
	var a candm.Activity
	for _, s := range e.sources {
		switch s.sm.Activity() {
		case source.ActivityOnline:
			a.Online++
		case source.ActivityBurstOnline:
			a.BurstOnline++
		case source.ActivityBurstOffline:
			a.BurstOffline++
		default:
			a.Offline++
		}
	}
	a.Unresolved = int32(e.unresolved())
	return a
}
