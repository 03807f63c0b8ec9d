package wiring

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/access"
	"github.com/chronygo/chronygo/pkg/ntp/server"
)

// referenceHandler answers chronyc while no engine runs: a daemon without
// sources (cmdmon.UnsyncedHandler) whose tracking report is the published
// reference (the local reference when configured), whose serverstats come
// from the running NTP server and whose accheck consults its access table.
type referenceHandler struct {
	*cmdmon.UnsyncedHandler
	ref *atomic.Pointer[discipline.ReferenceSnapshot]
	ntp *ntpServer
	now func() time.Time
	// maint answers rekey and cyclelogs (maintenance.go).
	maint *maintenance
}

var _ cmdmon.Handler = (*referenceHandler)(nil)

// Tracking reports the published reference as chronyd's tracking report
// does: stratum 0 and leap 3 when unsynchronised, the local stratum and
// reference ID 7F7F0101 with the local reference.
func (h *referenceHandler) Tracking() (candm.Tracking, candm.Status) {
	snap := h.ref.Load()
	if snap == nil || !snap.Synchronised {
		return h.UnsyncedHandler.Tracking()
	}
	return candm.Tracking{
		RefID:          snap.RefID,
		Stratum:        uint16(snap.Stratum),
		LeapStatus:     uint16(snap.Leap),
		RefTime:        snap.RefTime,
		FreqPPM:        h.FrequencyPPM,
		RootDelay:      snap.RootDelay,
		RootDispersion: snap.RootDispersionAt(h.now()),
	}, candm.StatusSuccess
}

// ServerStats reports the NTP server's counters and the command counters.
func (h *referenceHandler) ServerStats() (candm.ServerStats, candm.Status) {
	s, status := h.UnsyncedHandler.ServerStats()
	if h.ntp == nil || h.ntp.srv == nil {
		return s, status
	}
	n := h.ntp.srv.Stats()
	s.NTPHits, s.NKEHits = n.NTPHits, n.NKEHits
	s.NTPDrops, s.NKEDrops, s.LogDrops = n.NTPDrops, n.NKEDrops, n.LogDrops
	s.NTPAuthHits, s.NTPInterleavedHits = n.NTPAuthHits, n.NTPInterleavedHits
	s.NTPTimestamps, s.NTPSpanSeconds = n.NTPTimestamps, n.NTPSpanSeconds
	s.NTPDaemonRxTimestamps, s.NTPDaemonTxTimestamps = n.NTPDaemonRx, n.NTPDaemonTx
	s.NTPKernelRxTimestamps, s.NTPKernelTxTimestamps = n.NTPKernelRx, n.NTPKernelTx
	s.NTPHwRxTimestamps, s.NTPHwTxTimestamps = n.NTPHwRx, n.NTPHwTx
	return s, status
}

// NTPAccessCheck answers chronyc accheck from the NTP server's table.
func (h *referenceHandler) NTPAccessCheck(addr candm.IPAddr) candm.Status {
	if h.ntp == nil || h.ntp.srv == nil || !addr.IP.IsValid() {
		return candm.StatusAccessDenied
	}
	if h.ntp.srv.Access().Allowed(addr.IP.Unmap()) {
		return candm.StatusAccessAllowed
	}
	return candm.StatusAccessDenied
}

// referencePublisher keeps the static reference current while no engine
// runs: like chronyd's local reference it moves the reference time to one
// second ago whenever it is more than 64 s old.
type referencePublisher struct {
	ref    *atomic.Pointer[discipline.ReferenceSnapshot]
	now    func() time.Time
	period time.Duration
	stop   chan struct{}
	done   chan struct{}
}

// localRefUpdateInterval is how old chronyd lets the local reference time
// grow before moving it.
const localRefUpdateInterval = 64 * time.Second

func (p *referencePublisher) Name() string { return "local reference" }

func (p *referencePublisher) Start(context.Context) error {
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(p.period)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.refresh(p.now())
			}
		}
	}()
	return nil
}

// refresh republishes a synchronised snapshot whose reference time has
// aged beyond the update interval.
func (p *referencePublisher) refresh(now time.Time) {
	old := p.ref.Load()
	if old == nil || !old.Synchronised || now.Sub(old.RefTime) <= localRefUpdateInterval {
		return
	}
	next := *old
	next.RefTime = now.Add(-localRefTimeLag)
	p.ref.Store(&next)
}

func (p *referencePublisher) Close() error {
	if p.stop != nil {
		close(p.stop)
		<-p.done
		p.stop = nil
	}
	return nil
}

// ClientAccesses answers chronyc clients from the NTP server's client log:
// INACTIVE with noclientlog (or without a server), else a page of up to
// candm.MaxClientAccesses clients from the requested index.
func (h *referenceHandler) ClientAccesses(q candm.ClientAccessesQuery) (candm.ClientAccesses, candm.Status) {
	if h.ntp == nil || h.ntp.srv == nil {
		return candm.ClientAccesses{}, candm.StatusInactive
	}
	n := h.ntp.srv.ClientLog().NumIndices()
	if n < 0 {
		return candm.ClientAccesses{}, candm.StatusInactive
	}
	want := min(int(q.NClients), candm.MaxClientAccesses)
	reports, next := h.ntp.srv.Clients(int(q.FirstIndex), want, q.Reset, q.MinHits, h.now())
	out := candm.ClientAccesses{NIndices: uint32(n), NextIndex: uint32(next)}
	for _, r := range reports {
		out.Clients = append(out.Clients, clientAccess(r))
	}
	return out, candm.StatusSuccess
}

// clientAccess converts one client log report for chronyc.
func clientAccess(r server.ClientReport) candm.ClientAccess {
	return candm.ClientAccess{
		IP:                 candm.AddrFrom(r.Addr),
		NTPHits:            r.NTPHits,
		NKEHits:            r.NTSKEHits,
		CmdHits:            r.CmdHits,
		NTPDrops:           uint32(r.NTPDrops),
		NKEDrops:           uint32(r.NTSKEDrops),
		CmdDrops:           uint32(r.CmdDrops),
		NTPInterval:        r.NTPInterval,
		NKEInterval:        r.NTSKEInterval,
		CmdInterval:        r.CmdInterval,
		NTPTimeoutInterval: r.NTPTimeoutInterval,
		LastNTPHitAgo:      r.LastNTPHitAgo,
		LastNKEHitAgo:      r.LastNTSKEHitAgo,
		LastCmdHitAgo:      r.LastCmdHitAgo,
	}
}

// NTPAccess applies chronyc allow/deny to the NTP server's access table
// and opens or closes the server's sockets to match.
func (h *referenceHandler) NTPAccess(rule access.Rule) candm.Status {
	if h.ntp == nil || h.ntp.srv == nil {
		return candm.StatusFailed
	}
	if err := h.ntp.srv.Access().Apply(rule); err != nil {
		return candm.StatusBadSubnet
	}
	// As chronyd, a socket that cannot be opened is logged, and the
	// access change still succeeds.
	_ = h.ntp.srv.Refresh()
	return candm.StatusSuccess
}
