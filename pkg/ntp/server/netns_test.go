//go:build linux

package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/access"
	"github.com/chronygo/chronygo/pkg/ntp/auth"
	"github.com/chronygo/chronygo/pkg/ntp/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// requireTool skips the test when a prerequisite is missing, or fails it
// under CI=true.
func requireTool(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("missing prerequisite: %s", what)
	}
	t.Skipf("missing prerequisite: %s", what)
}

func hasTool(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

func run(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	require.NoError(t, err, "%s: %s", strings.Join(args, " "), out)
}

// inNetns runs fn on an OS thread switched into the named network
// namespace. The thread is discarded afterwards.
func inNetns(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		f, err := os.Open(filepath.Join("/var/run/netns", name))
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// deleteNetns removes a namespace, retrying briefly, and reports failure.
func deleteNetns(t *testing.T, name string) {
	var out []byte
	var err error
	for i := 0; i < 10; i++ {
		out, err = exec.Command("ip", "netns", "del", name).CombinedOutput()
		if _, statErr := os.Stat(filepath.Join("/var/run/netns", name)); os.IsNotExist(statErr) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("could not delete network namespace %s: %v %s", name, err, out)
}

type netnsPair struct {
	server, client string
}

// setupNetns creates a server and a client namespace joined by a veth link
// carrying 198.51.100.0/24 and 2001:db8::/64.
func setupNetns(t *testing.T) netnsPair {
	t.Helper()
	requireTool(t, os.Geteuid() == 0, "root")
	requireTool(t, hasTool("ip"), "ip (iproute2)")
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	suffix := hex.EncodeToString(rnd[:])
	p := netnsPair{server: "svs" + suffix, client: "svc" + suffix}
	vs, vc := "svvs"+suffix, "svvc"+suffix
	for _, ns := range []string{p.server, p.client} {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { deleteNetns(t, ns) })
	}
	run(t, "ip", "link", "add", vs, "netns", p.server, "type", "veth", "peer", "name", vc, "netns", p.client)
	cmds := [][]string{
		{"ip", "-n", p.server, "addr", "add", "198.51.100.1/24", "dev", vs},
		{"ip", "-n", p.server, "addr", "add", "2001:db8::1/64", "dev", vs, "nodad"},
		{"ip", "-n", p.server, "link", "set", vs, "up"},
		{"ip", "-n", p.server, "link", "set", "lo", "up"},
		{"ip", "-n", p.client, "addr", "add", "198.51.100.2/24", "dev", vc},
		{"ip", "-n", p.client, "addr", "add", "198.51.100.3/24", "dev", vc},
		{"ip", "-n", p.client, "addr", "add", "198.51.100.4/24", "dev", vc},
		{"ip", "-n", p.client, "addr", "add", "2001:db8::2/64", "dev", vc, "nodad"},
		{"ip", "-n", p.client, "link", "set", vc, "up"},
		{"ip", "-n", p.client, "link", "set", "lo", "up"},
	}
	for _, c := range cmds {
		run(t, c...)
	}
	return p
}

// queryFrom sends count requests from local to server inside the client
// namespace and returns the decoded responses received within wait.
func queryFrom(t *testing.T, ns string, local, server netip.AddrPort, count int, wait time.Duration) []wireResponse {
	t.Helper()
	var out []wireResponse
	err := inNetns(ns, func() error {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(local))
		if err != nil {
			return err
		}
		defer c.Close()
		dst := net.UDPAddrFromAddrPort(server)
		for i := 0; i < count; i++ {
			req := request(reqOpts{tx: wire.FromTime(time.Now())})
			if _, err := c.WriteToUDP(req, dst); err != nil {
				return err
			}
		}
		deadline := time.Now().Add(wait)
		buf := make([]byte, 2048)
		for i := 0; i < 10*count+10 && time.Now().Before(deadline) && (count > 10 || len(out) < count); i++ {
			_ = c.SetReadDeadline(deadline)
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				break
			}
			p, _, err := wire.Decode(buf[:n])
			if err != nil {
				return err
			}
			out = append(out, wireResponse{stratum: p.Stratum, refID: p.ReferenceID, leap: wire.LeapOf(p.Settings),
				tx: wire.TxTime(&p).Time(time.Now())})
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

type wireResponse struct {
	stratum uint8
	refID   uint32
	leap    uint8
	tx      time.Time
}

func TestNetnsRealClients(t *testing.T) {
	ns := setupNetns(t)
	tab := access.NewTable()
	for _, r := range []access.Rule{
		{Allow: true, Prefix: netip.MustParsePrefix("198.51.100.0/24")},
		{Allow: true, Prefix: netip.MustParsePrefix("2001:db8::/64")},
		{Allow: false, Prefix: netip.MustParsePrefix("198.51.100.3/32")},
	} {
		require.NoError(t, tab.Apply(r))
	}
	ref := &atomic.Pointer[discipline.ReferenceSnapshot]{}
	ref.Store(&discipline.ReferenceSnapshot{Synchronised: true, Stratum: 10, RefID: discipline.LocalRefID, Precision: -20})
	const keyLine = "7 SHA1 HEX:1F2E3D4C5B6A79881F2E3D4C5B6A79881F2E3D4C\n"
	keys, _, err := auth.ParseKeyFile(strings.NewReader(keyLine), "keys")
	require.NoError(t, err)
	var srv *Server
	require.NoError(t, inNetns(ns.server, func() error {
		var err error
		srv, err = Start(context.Background(), Config{
			Port:      123,
			Workers:   2,
			Access:    tab,
			Reference: ref,
			Auth:      NewKeyAuthenticator(keys),
			ClientLog: ClientLogConfig{NTP: RateLimit{Enabled: true, Interval: 3, Burst: 32, Leak: 4, KoD: 1}},
		})
		return err
	}))
	t.Cleanup(srv.Close)
	require.Len(t, srv.LocalAddrs(), 2)

	server4 := netip.MustParseAddrPort("198.51.100.1:123")
	server6 := netip.MustParseAddrPort("[2001:db8::1]:123")

	t.Run("reference over both families", func(t *testing.T) {
		for _, c := range []struct{ local, server netip.AddrPort }{
			{netip.MustParseAddrPort("198.51.100.2:0"), server4},
			{netip.MustParseAddrPort("[2001:db8::2]:0"), server6},
		} {
			got := queryFrom(t, ns.client, c.local, c.server, 1, 2*time.Second)
			require.Len(t, got, 1, "response to %s", c.local)
			assert.Equal(t, uint8(10), got[0].stratum)
			assert.Equal(t, uint32(0x7F7F0101), got[0].refID)
			assert.Equal(t, uint8(0), got[0].leap)
			assert.WithinDuration(t, time.Now(), got[0].tx, 5*time.Second)
		}
	})

	for _, target := range []string{"198.51.100.1", "2001:db8::1"} {
		t.Run("sntp "+target, func(t *testing.T) {
			requireTool(t, hasTool("sntp"), "sntp")
			out, err := exec.Command("ip", "netns", "exec", ns.client, "sntp", "-t", "3", target).CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), " s10 no-leap", "%s", out)
		})
		t.Run("ntpdate "+target, func(t *testing.T) {
			requireTool(t, hasTool("ntpdate"), "ntpdate")
			out, err := exec.Command("ip", "netns", "exec", ns.client, "ntpdate", "-q", "-t", "3", target).CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), " s10 no-leap", "%s", out)
		})
		t.Run("chronyd "+target, func(t *testing.T) {
			requireTool(t, hasTool("chronyd"), "chronyd")
			dir := t.TempDir()
			require.NoError(t, os.Chmod(dir, 0o700))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns.client, "chronyd", "-Q", "-u", "root", "-f", "/dev/null",
				"pidfile "+filepath.Join(dir, "chronyd.pid"),
				"bindcmdaddress "+filepath.Join(dir, "chronyd.sock"),
				"server "+target+" iburst maxsamples 4")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "System clock wrong by", "%s", out)
		})
	}

	t.Run("chronyd xleave", func(t *testing.T) {
		requireTool(t, hasTool("chronyd"), "chronyd")
		before := srv.Stats()
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o700))
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns.client, "chronyd", "-Q", "-u", "root", "-f", "/dev/null",
			"pidfile "+filepath.Join(dir, "chronyd.pid"),
			"bindcmdaddress "+filepath.Join(dir, "chronyd.sock"),
			"server 198.51.100.1 iburst xleave minsamples 6 maxsamples 6")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "System clock wrong by", "%s", out)
		after := srv.Stats()
		assert.Greater(t, after.NTPInterleavedHits, before.NTPInterleavedHits, "interleaved responses")
		assert.Greater(t, after.NTPKernelTx, before.NTPKernelTx, "with kernel transmit timestamps")
	})

	t.Run("chronyd with a symmetric key", func(t *testing.T) {
		requireTool(t, hasTool("chronyd"), "chronyd")
		before := srv.Stats()
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o700))
		keyfile := filepath.Join(dir, "chrony.keys")
		require.NoError(t, os.WriteFile(keyfile, []byte(keyLine), 0o600))
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns.client, "chronyd", "-Q", "-u", "root", "-f", "/dev/null",
			"pidfile "+filepath.Join(dir, "chronyd.pid"),
			"bindcmdaddress "+filepath.Join(dir, "chronyd.sock"),
			"keyfile "+keyfile,
			"server 198.51.100.1 iburst key 7 maxsamples 4")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "System clock wrong by", "%s", out)
		after := srv.Stats()
		assert.Greater(t, after.NTPAuthHits, before.NTPAuthHits, "authenticated requests answered")
	})

	t.Run("denied client gets nothing", func(t *testing.T) {
		before := srv.Stats().DropsByReason["denied"]
		got := queryFrom(t, ns.client, netip.MustParseAddrPort("198.51.100.3:0"), server4, 3, 700*time.Millisecond)
		assert.Empty(t, got)
		assert.Equal(t, before+3, srv.Stats().DropsByReason["denied"])
	})

	t.Run("flood gets KoD RATE", func(t *testing.T) {
		before := srv.Stats()
		got := queryFrom(t, ns.client, netip.MustParseAddrPort("198.51.100.4:0"), server4, 200, time.Second)
		var kod, normal int
		for _, r := range got {
			if r.refID == wire.KoDRate {
				kod++
				assert.Equal(t, uint8(0), r.stratum)
				assert.Equal(t, uint8(3), r.leap)
			} else {
				normal++
			}
		}
		assert.GreaterOrEqual(t, normal, 32, "the burst is answered")
		assert.Less(t, normal, 100)
		assert.Greater(t, kod, 10)
		after := srv.Stats()
		assert.Greater(t, after.NTPDrops, before.NTPDrops)
		assert.Equal(t, uint64(kod), after.KoDSent-before.KoDSent)
		assert.Equal(t, uint64(200), after.NTPHits-before.NTPHits)
		reps, _ := srv.Clients(0, 10000, false, 0, time.Now())
		found := false
		for _, r := range reps {
			if r.Addr == netip.MustParseAddr("198.51.100.4") {
				found = true
				assert.Equal(t, uint32(200), r.NTPHits)
				assert.Equal(t, uint16(after.NTPDrops-before.NTPDrops), r.NTPDrops)
			}
		}
		assert.True(t, found)
	})
}
