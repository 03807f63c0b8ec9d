package e2e

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/chronygo/chronygo/internal/relay"
)

// The relay runs inside a namespace of the test network as a child
// process: the test binary started again with these variables set runs
// only the relay (see TestMain).
const (
	relayHelperEnv = "CHRONYGO_E2E_RELAY"
	relayListenEnv = "CHRONYGO_E2E_RELAY_LISTEN"
	relayTargetEnv = "CHRONYGO_E2E_RELAY_TARGET"
	relayReadyEnv  = "CHRONYGO_E2E_RELAY_READY"
)

// The path model of the lossy relay check: 10 % loss each way, 1 ms base
// delay and 1 ms mean exponential jitter, fixed seed.
const (
	relayLoss   = 0.10
	relayBase   = time.Millisecond
	relayJitter = time.Millisecond
	relaySeed   = 20261125
)

// runRelayHelper is the relay child process: it relays until SIGTERM,
// then prints its statistics.
func runRelayHelper() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	cfg := relay.Symmetric(relayBase, relayJitter, 0, relayLoss, relaySeed)
	r, err := relay.Start(ctx, os.Getenv(relayListenEnv), os.Getenv(relayTargetEnv), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay helper:", err)
		return 1
	}
	if err := os.WriteFile(os.Getenv(relayReadyEnv), []byte("ready\n"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "relay helper:", err)
		return 1
	}
	<-ctx.Done()
	st := r.Stats()
	r.Close()
	fmt.Printf("relay stats: forwarded up %d down %d, dropped up %d down %d, overflow %d, max late %v\n",
		st.Forwarded[0], st.Forwarded[1], st.Dropped[0], st.Dropped[1], st.Overflow, st.MaxLate)
	return 0
}

// newRelay prepares the relay child process in h's namespace, listening
// on listen and forwarding to target.
func newRelay(t *testing.T, h *host, listen, target string) *daemon {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("finding the test binary: %v", err)
	}
	d := newDaemon(t, "relay", h)
	d.readyFile = filepath.Join(d.dir, "relay.ready")
	d.argv = []string{self}
	d.env = []string{relayHelperEnv + "=1", relayListenEnv + "=" + listen,
		relayTargetEnv + "=" + target, relayReadyEnv + "=" + d.readyFile}
	return d
}

// relayDropped matches the relay's closing statistics line.
var relayDropped = regexp.MustCompile(`dropped up (\d+) down (\d+)`)

// droppedCount returns how many datagrams the stopped relay dropped, from
// its closing statistics line.
func droppedCount(d *daemon) (int, error) {
	m := relayDropped.FindStringSubmatch(d.log.String())
	if m == nil {
		return 0, fmt.Errorf("no statistics in the relay's output: %s", d.log.String())
	}
	up, _ := strconv.Atoi(m[1])
	down, _ := strconv.Atoi(m[2])
	return up + down, nil
}
