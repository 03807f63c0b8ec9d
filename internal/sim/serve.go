package sim

import (
	"net/netip"
	"time"

	"github.com/chronygo/chronygo/pkg/ntp/access"
	"github.com/chronygo/chronygo/pkg/ntp/server"
	"github.com/chronygo/chronygo/pkg/ntp/wire"
)

// responder is a node's NTP server: chronygo's real responder answering
// from the engine's published reference snapshot.
type responder struct {
	r   *server.Responder
	out []byte
}

func newResponder(n *Node) (*responder, error) {
	table := access.NewTable()
	if err := table.Apply(access.Rule{Allow: true, All: true, Any: true}); err != nil {
		return nil, err
	}
	stats := &server.Stats{}
	shared := &server.Shared{
		Access: table,
		Log: server.NewClientLog(server.ClientLogConfig{
			LimitBytes: 524288,
			NTP:        server.DefaultNTPRateLimit(),
			NTSKE:      server.DefaultNTSRateLimit(),
			Cmd:        server.DefaultCmdRateLimit(),
		}, 0, stats),
		Tx:    server.NewTxMemory(1024, stats),
		Stats: stats,
	}
	rnd := server.NewSeededRandom(n.rng.Uint64(), n.rng.Uint64())
	return &responder{r: server.NewResponder(shared, rnd), out: make([]byte, wire.MaxPacketLen)}, nil
}

// serve answers a client request received at the node's raw time rx.
func (n *Node) serve(payload []byte, from, to netip.AddrPort, rx time.Time) {
	if n.resp == nil {
		return
	}
	req := &server.Request{Data: payload, From: from, RxRaw: rx, RxSource: server.TimestampDaemon}
	size, verdict, _ := n.resp.r.Handle(req, n.engine.Snapshot(), n.clock.ReadRaw, n.resp.out)
	if verdict == server.VerdictRespond {
		n.sim.net.Send(n.resp.out[:size], to, from)
	}
}
