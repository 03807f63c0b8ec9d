package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/testutil"
)

// interop holds the side-by-side checks with the real chronyd: a chronygo
// client of a chronyd upstream (which also peers with a chronyd), and a
// chronyd client of that chronygo.
type interop struct {
	f *fixture
	// upstream is the chronyd upstream host the chronygo client uses.
	upstream *host
	// client is chronygo, client of upstream and peer of peer.
	client *twin
	// downstream is chronyd, client of client over IPv6.
	downstream *twin
	// peer is chronyd, peering with client.
	peer *twin
	// relay is the lossy, jittery path to the upstream; lossy (chronygo)
	// and lossyRef (chronyd, the reference) use the upstream through it.
	relay           *daemon
	relayHost       *host
	lossy, lossyRef *twin
}

// all returns the time daemons of the side-by-side checks.
func (ix *interop) all() []*twin {
	return []*twin{ix.client, ix.downstream, ix.peer, ix.lossy, ix.lossyRef}
}

// newInterop adds and starts the three daemons of the side-by-side checks.
func newInterop(t *testing.T, f *fixture) *interop {
	t.Helper()
	ix := &interop{f: f, upstream: f.upHosts[5]}
	mk := func(impl implementation, label string, last int) *twin {
		h := f.net.addHost(t, label, serverGateway4, serverGateway6,
			fmt.Sprintf("198.51.100.%d/24", last), fmt.Sprintf("2001:db8:1:2::%d/64", last))
		return &twin{impl: impl, label: label, h: h}
	}
	ix.client = mk(chronygo, "ix-chronygo", 31)
	ix.downstream = mk(chronyd, "ix-chronyd-client", 32)
	ix.peer = mk(chronyd, "ix-chronyd-peer", 33)
	ix.client.d = newTimeDaemon(t, chronygo, ix.client.label, ix.client.h, []string{
		"server " + ix.upstream.v6.String() + " iburst " + fastPolling,
		"peer " + ix.peer.h.v4.String() + " " + fastPolling,
		"allow " + allowedSubnet4,
		"allow " + allowedSubnet6,
	})
	ix.downstream.d = newTimeDaemon(t, chronyd, ix.downstream.label, ix.downstream.h, []string{
		"server " + ix.client.h.v6.String() + " iburst " + fastPolling,
	})
	ix.peer.d = newTimeDaemon(t, chronyd, ix.peer.label, ix.peer.h, []string{
		"peer " + ix.client.h.v4.String() + " " + fastPolling,
		"allow " + allowedSubnet4,
	})

	ix.relayHost = f.net.addHost(t, "relay", serverGateway4, serverGateway6, "198.51.100.34/24", "2001:db8:1:2::34/64")
	ix.relay = newRelay(t, ix.relayHost, ix.relayHost.v4.String()+":123", "["+ix.upstream.v6.String()+"]:123")
	ix.lossy = mk(chronygo, "ix-chronygo-lossy", 35)
	ix.lossyRef = mk(chronyd, "ix-chronyd-lossy", 36)
	for _, s := range []*twin{ix.lossy, ix.lossyRef} {
		s.d = newTimeDaemon(t, s.impl, s.label, s.h, []string{
			"server " + ix.relayHost.v4.String() + " iburst " + fastPolling,
		})
	}
	ix.relay.start(t)
	for _, s := range ix.all() {
		s.d.start(t)
	}
	return ix
}

// stop ends the daemons and the relay.
func (ix *interop) stop() {
	for _, s := range ix.all() {
		s.d.stop()
	}
	ix.relay.stop()
}

// trackingFrom returns a condition: s tracks ref at the given stratum with
// ref's source marked '*'.
func trackingFrom(s *twin, ref string, stratum int) func() error {
	return func() error {
		tr, err := readTracking(s.d)
		if err != nil {
			return err
		}
		if tr.Stratum != stratum || tr.RefAddr != ref {
			return fmt.Errorf("tracking %v, want stratum %d from %s", tr, stratum, ref)
		}
		rows, err := readSources(s.d)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.Addr == ref && r.State == '*' {
				return nil
			}
		}
		return fmt.Errorf("%s is not the '*' source: %v", ref, rows)
	}
}

// check runs the side-by-side subtests; the waiting ones run in parallel.
func (ix *interop) check(t *testing.T) {
	// The lossy paths are watched for lossyWindow in the background while
	// the other checks run (go test runs only as many parallel subtests as
	// there are cores).
	lossy := map[*twin]<-chan lossyOutcome{}
	for _, s := range []*twin{ix.lossyRef, ix.lossy} {
		lossy[s] = ix.watchLossy(s)
	}
	t.Run("together", func(t *testing.T) {
		t.Run("chronygo-client-of-chronyd", func(t *testing.T) {
			t.Parallel()
			took, err := waitUntil(syncLimit, time.Second, trackingFrom(ix.client, ix.upstream.v6.String(), 2))
			require.NoError(t, err, "%s never synchronised to the chronyd upstream %s", ix.client.d.name, ix.upstream.v6)
			t.Logf("synchronised after %v", took.Round(time.Second))
		})
		t.Run("chronyd-client-of-chronygo", func(t *testing.T) {
			t.Parallel()
			took, err := waitUntil(syncLimit, time.Second, trackingFrom(ix.downstream, ix.client.h.v6.String(), 3))
			require.NoError(t, err, "chronyd never synchronised to chronygo at %s", ix.client.h.v6)
			t.Logf("synchronised after %v", took.Round(time.Second))
		})
		t.Run("chronyd-peers-with-chronygo", func(t *testing.T) {
			t.Parallel()
			took, err := waitUntil(syncLimit, time.Second, trackingFrom(ix.peer, ix.client.h.v4.String(), 3))
			require.NoError(t, err, "chronyd never synchronised to its chronygo peer %s", ix.client.h.v4)
			t.Logf("chronyd synchronised to its chronygo peer after %v", took.Round(time.Second))
			r, err := peerRow(ix.client)
			require.NoError(t, err, "chronygo's side of the peering")
			assert.Equal(t, ix.peer.h.v4.String(), r.Addr)
			assert.NotZero(t, r.Reach, "chronygo sees its chronyd peer unreachable: %v", r)
		})
		for _, s := range []*twin{ix.lossyRef, ix.lossy} {
			t.Run("lossy-jittery-path/"+string(s.impl), func(t *testing.T) { ix.checkLossy(t, s, lossy[s]) })
		}
	})
	t.Run("relay-dropped-datagrams", ix.checkRelayDropped)
	t.Run("report", func(t *testing.T) {
		for _, s := range ix.all() {
			logReport(t, s.d)
		}
	})
	if t.Failed() {
		for _, s := range ix.all() {
			t.Logf("log of %s:\n%s", s.d.name, s.d.log.String())
		}
	}
}

// lossyWindow is how long a client behind the relay must stay
// synchronised.
const lossyWindow = 30 * time.Second

// lossyOutcome is what watchLossy saw of a client behind the relay.
type lossyOutcome struct {
	// took is how long it took to synchronise through the relay, err why
	// it did not.
	took time.Duration
	err  error
	// lapses are the moments of the window it was not synchronised.
	lapses []string
	rows   []testutil.SourceRow
}

// watchLossy waits in the background until s synchronises through the
// relay (10 % loss, millisecond jitter), then watches it for lossyWindow;
// the outcome arrives on the returned channel.
func (ix *interop) watchLossy(s *twin) <-chan lossyOutcome {
	out := make(chan lossyOutcome, 1)
	go func() {
		via := ix.relayHost.v4.String()
		var o lossyOutcome
		o.took, o.err = waitUntil(syncLimit, time.Second, trackingFrom(s, via, 2))
		if o.err == nil {
			deadline := time.Now().Add(lossyWindow)
			for time.Now().Before(deadline) {
				if err := trackingFrom(s, via, 2)(); err != nil {
					o.lapses = append(o.lapses, err.Error())
				}
				time.Sleep(2 * time.Second)
			}
			o.rows, o.err = readSources(s.d)
		}
		out <- o
	}()
	return out
}

// checkLossy asserts that s synchronised through the relay and stayed
// synchronised for lossyWindow.
func (ix *interop) checkLossy(t *testing.T, s *twin, outcome <-chan lossyOutcome) {
	o := <-outcome
	require.NoError(t, o.err, "%s never synchronised through the relay (%.0f %% loss, %v jitter)", s.d.name, relayLoss*100, relayJitter)
	t.Logf("%s synchronised through the relay after %v", s.d.name, o.took.Round(time.Second))
	assert.Empty(t, o.lapses, "%s lost synchronisation behind the relay", s.d.name)
	t.Logf("%s sources behind the relay: %v", s.d.name, o.rows)
}

// checkRelayDropped stops the relay and asserts that it did drop
// datagrams, so that the lossy-path checks did face loss.
func (ix *interop) checkRelayDropped(t *testing.T) {
	ix.relay.stop()
	n, err := droppedCount(ix.relay)
	require.NoError(t, err)
	t.Logf("%s", grepLog(ix.relay, "relay stats"))
	assert.Positive(t, n, "the relay dropped nothing: the lossy path was not lossy")
}
