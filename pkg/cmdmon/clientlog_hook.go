package cmdmon

import (
	"net/netip"
	"time"
)

// CommandLog is the daemon's client log as the command monitor uses it
// (pkg/ntp/server's ClientLog behind a small adapter): every command
// request received over UDP is recorded there, so that chronyc clients
// lists command clients with their hits and drops as chronyd does, and the
// log's cmdratelimit decides whether a request from a host other than
// localhost is answered.
type CommandLog interface {
	// LogCommand records a request from addr at now and reports whether
	// it may be answered (false: drop it to limit the rate).
	LogCommand(addr netip.Addr, now time.Time) (pass bool)
}

// admit records a UDP request in the command log, when there is one, and
// applies the rate limit: the log's when set, else the dispatcher's own
// limiter. Localhost is never limited.
func (d *Dispatcher) admit(addr netip.Addr, local bool, now time.Time) bool {
	if d.cmdLog != nil {
		pass := d.cmdLog.LogCommand(addr, now)
		return local || pass
	}
	if local {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.limiter.allow(addr, now)
}
