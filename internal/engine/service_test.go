package engine_test

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facebook/time/ntp/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/chronygo/chronygo/pkg/ntp/clientio"
	"github.com/chronygo/chronygo/pkg/ntp/source"
)

// memDrift is an in-memory drift file.
type memDrift struct {
	mu    sync.Mutex
	saves int
	freq  float64
}

func (d *memDrift) Load() (float64, float64, error) { return 0, 0, assert.AnError }
func (d *memDrift) Save(f, _ float64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.saves++
	d.freq = f
	return nil
}

// echoServer answers requests in-process, as a perfect server on the real
// clock, through a channel like the client sockets'; it never touches the
// network.
func echoServer(t *testing.T, out chan<- clientio.Received, pkt []byte, to netip.AddrPort) {
	var req protocol.Packet
	require.NoError(t, req.UnmarshalBinary(pkt))
	now := time.Now()
	sec, frac := protocol.Time(now)
	resp := protocol.Packet{
		Settings: 4<<3 | 4, Stratum: 1, Precision: -20, ReferenceID: 0x47505300,
		RefTimeSec: sec, RefTimeFrac: frac,
		OrigTimeSec: req.TxTimeSec, OrigTimeFrac: req.TxTimeFrac,
		RxTimeSec: sec, RxTimeFrac: frac, TxTimeSec: sec, TxTimeFrac: frac,
	}
	data, err := resp.Bytes()
	require.NoError(t, err)
	go func() {
		time.Sleep(time.Millisecond)
		out <- clientio.Received{Remote: to, Data: data, Info: source.RxInfo{Time: time.Now(), Source: source.TimestampDaemon}}
	}()
}

func TestServiceRunsOnRealTimers(t *testing.T) {
	c, err := conf.Parse(strings.NewReader("server 203.0.113.1 minpoll 0 maxpoll 0\n"), "test.conf")
	require.NoError(t, err)
	clk := clock.NewNoControl(time.Now, clock.Options{})
	drift := &memDrift{}
	received := make(chan clientio.Received, 16)
	svc, err := engine.NewService(engine.ServiceOptions{
		Engine: engine.Options{
			Config: c,
			Clock:  clk,
			Drift:  drift,
			Transmit: func(tx source.Transmit) (source.TxInfo, error) {
				echoServer(t, received, tx.Packet, tx.To)
				return source.TxInfo{Time: time.Now()}, nil
			},
		},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, svc.Start(ctx))
	t.Cleanup(func() { _ = svc.Close() })
	go svc.DeliverFrom(ctx, received)
	h := svc.Handler()

	deadline := time.Now().Add(15 * time.Second)
	var d candm.NTPData
	for time.Now().Before(deadline) {
		var st candm.Status
		d, st = h.NTPData(candm.AddrFrom(netip.MustParseAddr("203.0.113.1")))
		require.Equal(t, candm.StatusSuccess, st)
		if d.TotalGoodCount >= 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.GreaterOrEqual(t, d.TotalGoodCount, uint32(3))
	assert.EqualValues(t, 1, d.Stratum)
	n, st := h.NumSources()
	assert.Equal(t, candm.StatusSuccess, st)
	assert.Equal(t, 1, n)

	require.NoError(t, svc.Close())
	drift.mu.Lock()
	defer drift.mu.Unlock()
	assert.Equal(t, 1, drift.saves, "drift file written at shutdown")
	_, st = h.Tracking()
	assert.Equal(t, candm.StatusFailed, st, "no answers after close")
}
