package wiring

import (
	"net/netip"
	"time"

	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/ntp/server"
)

// serverCommandLog records chronyc's UDP requests in the NTP server's
// client log (cmdmon.CommandLog), as chronyd's command monitor does; the
// log's cmdratelimit decides which are answered. Before the server runs
// every request passes unrecorded.
type serverCommandLog struct{ ntp *ntpServer }

var _ cmdmon.CommandLog = serverCommandLog{}

// LogCommand implements cmdmon.CommandLog.
func (l serverCommandLog) LogCommand(addr netip.Addr, now time.Time) bool {
	if l.ntp == nil || l.ntp.srv == nil {
		return true
	}
	return l.ntp.srv.ClientLog().LogCommand(addr, now) == server.LimitPass
}
