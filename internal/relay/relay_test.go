package relay

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSymmetricScalesJitter(t *testing.T) {
	tests := []struct {
		name           string
		asymmetry      float64
		wantUp, wantDn time.Duration
	}{
		{"symmetric", 0, 200 * time.Microsecond, 200 * time.Microsecond},
		{"chrony asymmetric jitter", 0.25, 100 * time.Microsecond, 300 * time.Microsecond},
		{"all downstream", 0.5, 0, 400 * time.Microsecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Symmetric(200*time.Microsecond, 200*time.Microsecond, tc.asymmetry, 0.1, 7)
			assert.Equal(t, tc.wantUp, c.Up.Jitter)
			assert.Equal(t, tc.wantDn, c.Down.Jitter)
			assert.Equal(t, 200*time.Microsecond, c.Up.Base)
			assert.Equal(t, 200*time.Microsecond, c.Down.Base)
			assert.InDelta(t, 0.1, c.Down.Loss, 0)
			assert.NoError(t, c.Validate())
		})
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"negative base", Config{Up: Link{Base: -1}}},
		{"negative jitter", Config{Down: Link{Jitter: -1}}},
		{"loss above one", Config{Up: Link{Loss: 1.5}}},
		{"negative loss", Config{Down: Link{Loss: -0.1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Error(t, tc.cfg.Validate())
			_, err := NewModel(tc.cfg)
			assert.Error(t, err)
		})
	}
}

// planMany plans n datagrams in direction d and returns the delays of
// those let through and the number dropped.
func planMany(t *testing.T, cfg Config, d Direction, n int) ([]time.Duration, int) {
	t.Helper()
	m, err := NewModel(cfg)
	require.NoError(t, err)
	start := time.Unix(1000, 0)
	var delays []time.Duration
	dropped := 0
	for i := 0; i < n; i++ {
		rel, drop := m.Plan(d, start)
		if drop {
			dropped++
			continue
		}
		delays = append(delays, rel.Sub(start))
	}
	return delays, dropped
}

func TestPlanStatistics(t *testing.T) {
	base, jitter := 200*time.Microsecond, 200*time.Microsecond
	tests := []struct {
		name       string
		cfg        Config
		dir        Direction
		wantMean   time.Duration
		wantLossFr float64
	}{
		{"up symmetric", Symmetric(base, jitter, 0, 0, 1), Upstream, 400 * time.Microsecond, 0},
		{"down asymmetric", Symmetric(base, jitter, 0.25, 0, 2), Downstream, 500 * time.Microsecond, 0},
		{"up asymmetric", Symmetric(base, jitter, 0.25, 0, 3), Upstream, 300 * time.Microsecond, 0},
		{"no jitter", Config{Up: Link{Base: base}}, Upstream, base, 0},
		{"lossy", Symmetric(base, jitter, 0, 0.3, 4), Downstream, 400 * time.Microsecond, 0.3},
	}
	const n = 20000
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			delays, dropped := planMany(t, tc.cfg, tc.dir, n)
			assert.InDelta(t, tc.wantLossFr, float64(dropped)/n, 0.02)
			var sum time.Duration
			for _, d := range delays {
				assert.GreaterOrEqual(t, d, base, "no datagram beats the base delay")
				sum += d
			}
			mean := sum / time.Duration(len(delays))
			assert.InDelta(t, float64(tc.wantMean), float64(mean), 0.05*float64(tc.wantMean))
		})
	}
}

func TestPlanIsDeterministicPerSeed(t *testing.T) {
	cfg := Symmetric(100*time.Microsecond, 300*time.Microsecond, 0.1, 0.2, 42)
	a, da := planMany(t, cfg, Upstream, 500)
	b, db := planMany(t, cfg, Upstream, 500)
	assert.Equal(t, a, b)
	assert.Equal(t, da, db)
	cfg.Seed = 43
	c, _ := planMany(t, cfg, Upstream, 500)
	assert.NotEqual(t, a, c)
}

// echoServer answers every datagram on loopback with itself.
func echoServer(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	return c
}

func TestRelayDelaysRoundTrip(t *testing.T) {
	echo := echoServer(t)
	const base = 3 * time.Millisecond
	r, err := Start(context.Background(), "127.0.0.1:0", echo.LocalAddr().String(), Config{
		Up: Link{Base: base}, Down: Link{Base: base, Jitter: time.Millisecond}, Seed: 1,
	})
	require.NoError(t, err)
	t.Cleanup(r.Close)

	client, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(r.Addr()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	buf := make([]byte, 64)
	const rounds = 20
	for i := 0; i < rounds; i++ {
		msg := []byte{byte(i), 'x'}
		start := time.Now()
		_, err := client.Write(msg)
		require.NoError(t, err)
		require.NoError(t, client.SetReadDeadline(time.Now().Add(2*time.Second)))
		n, err := client.Read(buf)
		require.NoError(t, err, "round %d", i)
		rtt := time.Since(start)
		assert.Equal(t, msg, buf[:n])
		assert.GreaterOrEqual(t, rtt, 2*base, "round %d", i)
		assert.Less(t, rtt, 2*base+time.Second, "round %d", i)
	}
	// The sender counts a datagram after its write returns, which may be
	// after the client has read the reply.
	deadline := time.Now().Add(2 * time.Second)
	for r.Stats().Forwarded[Downstream] < rounds && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	s := r.Stats()
	assert.Equal(t, uint64(rounds), s.Forwarded[Upstream])
	assert.Equal(t, uint64(rounds), s.Forwarded[Downstream])
	assert.Zero(t, s.Dropped[Upstream]+s.Dropped[Downstream]+s.Overflow)
}

func TestRelayDropsEverythingAtFullLoss(t *testing.T) {
	echo := echoServer(t)
	r, err := Start(context.Background(), "127.0.0.1:0", echo.LocalAddr().String(), Config{Up: Link{Loss: 1}, Seed: 1})
	require.NoError(t, err)
	t.Cleanup(r.Close)
	client, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(r.Addr()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	for i := 0; i < 10; i++ {
		_, err := client.Write([]byte{byte(i)})
		require.NoError(t, err)
	}
	require.NoError(t, client.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	_, err = client.Read(make([]byte, 16))
	assert.Error(t, err, "nothing comes back")
	deadline := time.Now().Add(2 * time.Second)
	for r.Stats().Dropped[Upstream] < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(t, uint64(10), r.Stats().Dropped[Upstream])
	assert.Zero(t, r.Stats().Forwarded[Upstream])
}

func TestRelayStopsOnContext(t *testing.T) {
	echo := echoServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	r, err := Start(ctx, "127.0.0.1:0", echo.LocalAddr().String(), Config{})
	require.NoError(t, err)
	cancel()
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("relay did not stop")
	}
}

func TestDirectionString(t *testing.T) {
	assert.Equal(t, "up", Upstream.String())
	assert.Equal(t, "down", Downstream.String())
}
