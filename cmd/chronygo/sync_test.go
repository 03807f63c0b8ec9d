package main

import (
	"context"
	"crypto/md5"
	byteorder "encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/testutil"
)

// upstreamPort is the port of the chronyd upstream inside a test
// namespace (chronygo keeps port 123 there for sntp).
const upstreamPort = 11123

// syncTimeout bounds how long a daemon may take to select its source.
const syncTimeout = 30 * time.Second

// chronyc runs the stock chronyc against a command socket (bounded to 10 s).
func chronyc(t *testing.T, socket string, args ...string) string {
	t.Helper()
	bin := testutil.RequireTool(t, "chronyc")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, append([]string{"-h", socket}, args...)...).CombinedOutput()
	return string(out)
}

// waitForOutput polls chronyc until its output matches re (bounded by
// limit) and returns the last output.
func waitForOutput(t *testing.T, socket string, re *regexp.Regexp, limit time.Duration, args ...string) (string, bool) {
	t.Helper()
	var out string
	ok := testutil.WaitFor(limit, func() bool {
		out = chronyc(t, socket, args...)
		return re.MatchString(out)
	})
	return out, ok
}

// refIDOf is the reference ID chronyd derives from a source address: the
// IPv4 address itself, or the first 4 octets of the MD5 of an IPv6 one.
func refIDOf(a netip.Addr) uint32 {
	if a.Is4() {
		b := a.As4()
		return byteorder.BigEndian.Uint32(b[:])
	}
	b := a.As16()
	sum := md5.Sum(b[:])
	return byteorder.BigEndian.Uint32(sum[:4])
}

// startDaemon writes a configuration with the daemon's private files
// (pid file, command socket, drift file, log folder) and extra, and starts
// chronygo -x -d with it (dumpdir and the tracking and measurements logs
// on), in ns when not nil; the daemon is killed at
// cleanup. It returns the private folder and the daemon's output.
func startDaemon(t *testing.T, ns *testutil.Netns, extra ...string) (private, *testutil.SyncBuffer) {
	t.Helper()
	p := newPrivate(t, extra...)
	lines := []string{
		"pidfile " + p.pid, "bindcmdaddress " + p.sock, "cmdport 0",
		"driftfile " + filepath.Join(p.dir, "drift"),
		"logdir " + filepath.Join(p.dir, "log"), "log tracking measurements",
		"dumpdir " + filepath.Join(p.dir, "dump"),
	}
	asRoot := true
	for _, l := range extra {
		asRoot = asRoot && !strings.HasPrefix(l, "user ")
	}
	if asRoot {
		lines = append(lines, "user root")
	} else {
		// Let the unprivileged user reach the folders the daemon creates,
		// as it reaches /run/chrony in a real deployment.
		for dir := p.dir; dir != os.TempDir() && dir != "/"; dir = filepath.Dir(dir) {
			require.NoError(t, os.Chmod(dir, 0o711))
		}
	}
	lines = append(lines, extra...)
	require.NoError(t, os.WriteFile(p.conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	args := []string{"-x", "-d", "-f", p.conf}
	var cmd *exec.Cmd
	if ns != nil {
		cmd = ns.Command(binary, args...)
	} else {
		cmd = exec.Command(binary, args...)
	}
	out := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	startCmd(t, cmd)
	require.True(t, testutil.WaitFor(10*time.Second, func() bool { return testutil.FileExists(p.sock) }),
		"chronygo did not open its command socket; log:\n%s", out.String())
	return p, out
}

// TestSynchronisesToChronyd runs chronygo -x in a namespace with a real
// chronyd (local stratum 1) as its only server, over IPv4 and over IPv6,
// and checks what the stock chronyc and sntp see: the source selected,
// stratum 2 with the upstream's reference ID, clients, serverstats and
// allow/accheck, and the drift, dump and log files after SIGTERM.
func TestSynchronisesToChronyd(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "chronyd")
	testutil.RequireTool(t, "chronyc")
	sntp := testutil.RequireTool(t, "sntp")
	tests := []struct {
		name     string
		upstream string
		prefix   string
	}{
		{"IPv4", "198.51.100.1", "/32"},
		{"IPv6", "2001:db8::1", "/128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := testutil.NewNetns(t, "ig")
			testutil.CheckTestAddress(t, tt.upstream+tt.prefix)
			ns.IP(t, "addr", "add", tt.upstream+tt.prefix, "dev", "lo")
			testutil.StartChronyd(t, ns, "local stratum 1", "allow all", "cmdport 0", "port "+strconv.Itoa(upstreamPort))

			upstream := netip.MustParseAddr(tt.upstream)
			p, out := startDaemon(t, ns,
				fmt.Sprintf("server %s port %d iburst minpoll 0 maxpoll 0", tt.upstream, upstreamPort),
				"allow 127.0.0.1", "port 123")

			selected := regexp.MustCompile(`(?m)^\^\* ` + regexp.QuoteMeta(tt.upstream) + `\s`)
			sources, ok := waitForOutput(t, p.sock, selected, syncTimeout, "-n", "sources")
			t.Logf("chronyc -n sources:\n%s", sources)
			require.True(t, ok, "source not selected within %s; chronyc:\n%s\nlog:\n%s", syncTimeout, sources, out.String())

			tracking := chronyc(t, p.sock, "-n", "tracking")
			t.Logf("chronyc -n tracking:\n%s", tracking)
			assert.Regexp(t, `(?m)^Stratum\s+: 2$`, tracking)
			assert.Contains(t, tracking, fmt.Sprintf("Reference ID    : %08X (%s)", refIDOf(upstream), tt.upstream))
			assert.Regexp(t, `(?m)^Leap status\s+: Normal$`, tracking)

			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			sntpOut, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns.Name, sntp, "-t", "2", "127.0.0.1").CombinedOutput()
			require.NoError(t, err, "sntp: %s", sntpOut)
			assert.Regexp(t, `\ss2\s`, string(sntpOut), "sntp sees stratum 2")

			clients := chronyc(t, p.sock, "-n", "clients")
			assert.Regexp(t, `(?m)^127\.0\.0\.1\s+[1-9]`, clients, "sntp's requests are in the client log")
			stats := chronyc(t, p.sock, "serverstats")
			assert.Regexp(t, `(?m)^NTP packets received\s+: [1-9]`, stats)

			assert.Contains(t, chronyc(t, p.sock, "allow", "203.0.113.0/24"), "200 OK")
			assert.Contains(t, chronyc(t, p.sock, "accheck", "203.0.113.7"), "208 Access allowed")
			assert.Contains(t, chronyc(t, p.sock, "accheck", "198.51.100.77"), "209 Access denied")

			require.NoError(t, stopDaemon(t, p))
			assert.FileExists(t, filepath.Join(p.dir, "drift"), "drift file written at exit")
			assert.FileExists(t, filepath.Join(p.dir, "dump", tt.upstream+".dat"), "measurements dumped at exit")
			assert.FileExists(t, filepath.Join(p.dir, "log", "tracking.log"))
			measurements, err := os.ReadFile(filepath.Join(p.dir, "log", "measurements.log"))
			require.NoError(t, err)
			assert.Contains(t, string(measurements), tt.upstream)
		})
	}
}

// stopDaemon sends SIGTERM to the daemon of p and waits (bounded) until
// its pid file is gone.
func stopDaemon(t *testing.T, p private) error {
	t.Helper()
	pid := readPid(p.pid)
	if pid <= 0 {
		return fmt.Errorf("no pid in %s", p.pid)
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	if err := proc.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if !testutil.WaitFor(10*time.Second, func() bool { return !testutil.FileExists(p.pid) }) {
		return fmt.Errorf("daemon %d did not exit", pid)
	}
	return nil
}

// TestSymmetricPeers runs two chronygo daemons on loopback peering with
// each other over their NTP ports; each must see the other as a
// symmetric peer ("=") that answered. B drops root to nobody, as a
// deployment does.
func TestSymmetricPeers(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "chronyc")
	portA, portB := testutil.FreeUDPPort(t, "127.0.0.1"), testutil.FreeUDPPort(t, "127.0.0.1")
	peer := func(mine, other int) []string {
		return []string{
			"local stratum 10", "bindaddress 127.0.0.1", "port " + strconv.Itoa(mine),
			fmt.Sprintf("peer 127.0.0.1 port %d minpoll 0 maxpoll 0", other),
		}
	}
	a, outA := startDaemon(t, nil, peer(portA, portB)...)
	b, outB := startDaemon(t, nil, append(peer(portB, portA), "user nobody")...)
	answered := regexp.MustCompile(`(?m)^=[*+\-?x~ ] 127\.0\.0\.1\s+\d+\s+-?\d+\s+(\d+)`)
	for _, d := range []struct {
		name string
		p    private
		out  *testutil.SyncBuffer
	}{{"A", a, outA}, {"B", b, outB}} {
		var sources string
		ok := testutil.WaitFor(syncTimeout, func() bool {
			sources = chronyc(t, d.p.sock, "-n", "sources")
			m := answered.FindStringSubmatch(sources)
			return m != nil && m[1] != "0"
		})
		t.Logf("peer %s, chronyc -n sources:\n%s", d.name, sources)
		assert.True(t, ok, "peer %s does not see the other answering; log:\n%s", d.name, d.out.String())
	}
	for _, d := range []struct {
		name string
		p    private
	}{{"A", a}, {"B", b}} {
		ntpdata := chronyc(t, d.p.sock, "-n", "ntpdata")
		t.Logf("peer %s, chronyc -n ntpdata:\n%s", d.name, ntpdata)
		assert.Contains(t, ntpdata, "Symmetric active")
		assert.Contains(t, ntpdata, "Local address   : 127.0.0.1")
		assertKernelTimestamping(t, ntpdata)
	}
}

// assertKernelTimestamping checks in chronyc ntpdata output that a peer's
// last exchange was timestamped by the kernel, as a server's is. (The
// "Total kernel TX/RX" counters are not printed by chronyc 4.3.)
func assertKernelTimestamping(t *testing.T, ntpdata string) {
	t.Helper()
	assert.Regexp(t, `(?m)^TX timestamping : Kernel$`, ntpdata)
	assert.Regexp(t, `(?m)^RX timestamping : Kernel$`, ntpdata)
}

// TestPrintOnce runs chronygo -Q against a loopback chronyd: it prints the
// offset in chronyd's words and exits 0 without touching the clock; with
// no source it gives up at once with status 1.
func TestPrintOnce(t *testing.T) {
	testutil.RequireRoot(t)
	port := testutil.FreeUDPPort(t, "127.0.0.1")
	testutil.StartChronyd(t, nil, "local stratum 1", "allow 127.0.0.1", "cmdport 0", "bindaddress 127.0.0.1", "port "+strconv.Itoa(port))

	r := runBinary(t, nil, "-Q", fmt.Sprintf("server 127.0.0.1 port %d iburst", port))
	assert.Equal(t, 0, r.status, r.stderr)
	assert.Regexp(t, `System clock wrong by -?\d+\.\d{6} seconds \(ignored\)`, r.stderr)
	assert.Contains(t, r.stderr, "Disabled control of system clock")
	assert.Empty(t, r.stdout)

	r = runBinary(t, nil, "-Q", "cmdport 0")
	assert.Equal(t, 1, r.status, r.stderr)
	assert.Contains(t, r.stderr, "No suitable source for synchronisation")
}

// netnsFile writes /etc/netns/NS/name, which "ip netns exec" mounts over
// /etc/name inside the namespace, and removes the folder at cleanup.
func netnsFile(t *testing.T, ns *testutil.Netns, name, content string) {
	t.Helper()
	dir := filepath.Join("/etc/netns", ns.Name)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
}

// TestPoolHonoursFamily resolves a pool name (from the namespace's hosts
// file) with A and AAAA records in the background and checks that -4 and
// -6 keep only the addresses of their family, each polled and answering.
func TestPoolHonoursFamily(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "chronyd")
	testutil.RequireTool(t, "chronyc")
	ns := testutil.NewNetns(t, "ig")
	v4 := []string{"198.51.100.1", "198.51.100.2"}
	v6 := []string{"2001:db8::1", "2001:db8::2"}
	var hosts strings.Builder
	for i := range v4 {
		testutil.CheckTestAddress(t, v4[i]+"/32")
		testutil.CheckTestAddress(t, v6[i]+"/128")
		ns.IP(t, "addr", "add", v4[i]+"/32", "dev", "lo")
		ns.IP(t, "addr", "add", v6[i]+"/128", "dev", "lo")
		fmt.Fprintf(&hosts, "%s pool.chronygo.test\n%s pool.chronygo.test\n", v4[i], v6[i])
		testutil.StartChronyd(t, ns, "local stratum 1", "allow all", "cmdport 0",
			"port "+strconv.Itoa(upstreamPort), "bindaddress "+v4[i], "bindaddress "+v6[i])
	}
	netnsFile(t, ns, "hosts", hosts.String())

	tests := []struct {
		flag       string
		want, none []string
	}{
		{"-4", v4, v6},
		{"-6", v6, v4},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			p := newPrivate(t, "port 0")
			lines := []string{
				"pidfile " + p.pid, "bindcmdaddress " + p.sock, "cmdport 0", "port 0", "user root",
				fmt.Sprintf("pool pool.chronygo.test port %d iburst minpoll 0 maxpoll 0 maxsources 4", upstreamPort),
			}
			require.NoError(t, os.WriteFile(p.conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
			out := &testutil.SyncBuffer{}
			cmd := ns.Command(binary, tt.flag, "-x", "-d", "-f", p.conf)
			cmd.Stdout, cmd.Stderr = out, out
			startCmd(t, cmd)

			answered := func(sources, addr string) bool {
				re := regexp.MustCompile(`(?m)^\^[*+\-?x~ ] ` + regexp.QuoteMeta(addr) + `\s+1\s+-?\d+\s+[1-7]`)
				return re.MatchString(sources)
			}
			var sources string
			ok := testutil.WaitFor(syncTimeout, func() bool {
				sources = chronyc(t, p.sock, "-n", "sources")
				for _, a := range tt.want {
					if !answered(sources, a) {
						return false
					}
				}
				return true
			})
			t.Logf("chronygo %s, chronyc -n sources:\n%s", tt.flag, sources)
			require.True(t, ok, "pool members not all answering; log:\n%s", out.String())
			for _, a := range tt.none {
				assert.NotContains(t, sources, a+" ", "address of the other family used")
			}
			assert.Contains(t, chronyc(t, p.sock, "-n", "sourcename", tt.want[0]), "pool.chronygo.test")
		})
	}
}
