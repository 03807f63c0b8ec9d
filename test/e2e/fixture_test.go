package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chronygo/chronygo/internal/testutil"
)

// fastMaxPoll is the maxpoll of the "fast" copy of the deployment config
// (log2 seconds): no source of the suite polls less often than every
// 2^fastMaxPoll s.
const fastMaxPoll = 2

// fastPolling is added to the pool and peer lines of the "fast" copy of
// the deployment config: chronyd's defaults (64 s to 1024 s) would make
// the suite last hours. Nothing else of the deployment changes.
var fastPolling = fmt.Sprintf("minpoll 1 maxpoll %d", fastMaxPoll)

// deploymentConfig is the path of the deployment's configuration.
const deploymentConfig = "../../testdata/chrony.conf"

// pool is one pool name of the deployment with the upstreams the test
// DNS server gives for it.
type pool struct {
	name string
	// primaries are the two upstreams the name resolves to (A and AAAA).
	primaries []int
	// spareHost is the upstream (serving another pool) that carries this
	// pool's spare addresses, 203.0.113.64/26 and 2001:db8:1:8000::/64.
	// The DNS server gives them in place of the primaries once those are
	// withdrawn, the way the pool's monitoring drops dead servers.
	spareHost int
	spare4    string
	spare6    string
}

// spares returns the pool's spare addresses.
func (p pool) spares() []string { return []string{p.spare6, p.spare4} }

// twin is one of the two servers of the deployment.
type twin struct {
	impl  implementation
	label string
	h     *host
	d     *daemon
	peer  *twin
}

// fixture is the whole test network, built once and shared by all
// subtests.
type fixture struct {
	net       *network
	upHosts   []*host
	upstreams []*daemon
	dnsHost   *host
	dns       *daemon
	pools     []pool
	// poolOf maps every address a pool name resolves to, to the pool.
	poolOf map[string]string
	// upstreamAddr holds every address of every upstream.
	upstreamAddr map[string]bool
	// servers are cd-a, cd-b (chronyd) and cg-a, cg-b (chronygo).
	servers []*twin
	inside  *host
	outside *host
	// clientDir is a private folder for client pid files.
	clientDir string
}

// pools of the deployment, in testdata/chrony.conf order. Upstream i
// (0-based) is u(i+1).
func deploymentPools() []pool {
	return []pool{
		{name: "2.rocky.pool.ntp.org", primaries: []int{0, 1}, spareHost: 4, spare4: "203.0.113.75", spare6: "2001:db8:1:8000::15"},
		{name: "time.cloudflare.com", primaries: []int{2, 3}, spareHost: 5, spare4: "203.0.113.76", spare6: "2001:db8:1:8000::16"},
		{name: "time.google.com", primaries: []int{4, 5}, spareHost: 2, spare4: "203.0.113.73", spare6: "2001:db8:1:8000::13"},
	}
}

// requireTools skips (or fails under CI) unless every tool is present.
func requireTools(t *testing.T) {
	t.Helper()
	testutil.RequireRoot(t)
	if busyReason != "" {
		testutil.SkipOrFail(t, "%s", busyReason)
	}
	for _, tool := range []string{"ip", "chronyd", "chronyc", "dnsmasq", "sntp", "ntpdate", "sysctl"} {
		testutil.RequireTool(t, tool)
	}
	if _, err := os.Stat(testutil.ChronycPath); err != nil {
		testutil.SkipOrFail(t, "needs %s: %v", testutil.ChronycPath, err)
	}
}

// newFixture builds the network, starts the six upstreams, the DNS
// server and the four deployment servers (two chronyd twins as the
// reference, two chronygo twins under test).
func newFixture(t *testing.T) *fixture {
	t.Helper()
	requireTools(t)
	f := &fixture{net: newNetwork(t), pools: deploymentPools(), poolOf: map[string]string{},
		upstreamAddr: map[string]bool{}, clientDir: testutil.PrivateDir(t)}
	spareOn := map[int][]string{}
	for _, p := range f.pools {
		spareOn[p.spareHost] = append(spareOn[p.spareHost], p.spare4+"/26", p.spare6+"/64")
	}
	for i := 0; i < 6; i++ {
		prefixes := append([]string{fmt.Sprintf("203.0.113.%d/26", 11+i), fmt.Sprintf("2001:db8:1:1::%d/64", 11+i)}, spareOn[i]...)
		h := f.net.addHost(t, fmt.Sprintf("upstream u%d", i+1), gateway4, gateway6, prefixes...)
		f.upHosts = append(f.upHosts, h)
		for _, p := range prefixes {
			f.upstreamAddr[strings.Split(p, "/")[0]] = true
		}
		f.upstreams = append(f.upstreams, newUpstream(t, fmt.Sprintf("u%d", i+1), h))
	}
	f.dnsHost = f.net.addHost(t, "dns", gateway4, gateway6, "203.0.113.53/26", "2001:db8:1:1::53/64")
	for _, p := range f.pools {
		for _, a := range append(f.primaryAddrs(p), p.spares()...) {
			f.poolOf[a] = p.name
		}
	}
	f.dns = newDNS(t, f.dnsHost, f.dnsRecords(""))

	f.inside = f.net.addHost(t, "allowed client", serverGateway4, serverGateway6, "198.51.100.21/24", "2001:db8:1:2::21/64")
	f.outside = f.net.addHost(t, "client outside the allowed subnets", outsideGateway4, outsideGateway6, "203.0.113.130/26", "2001:db8:1:4::30/64")

	for i, spec := range []struct {
		impl  implementation
		label string
	}{{chronyd, "cd-a"}, {chronyd, "cd-b"}, {chronygo, "cg-a"}, {chronygo, "cg-b"}} {
		h := f.net.addHost(t, spec.label, serverGateway4, serverGateway6,
			fmt.Sprintf("198.51.100.%d/24", 11+i), fmt.Sprintf("2001:db8:1:2::%d/64", 11+i))
		useDNS(t, h, f.dnsHost.v4.String())
		f.servers = append(f.servers, &twin{impl: spec.impl, label: spec.label, h: h})
	}
	for i := 0; i < len(f.servers); i += 2 {
		a, b := f.servers[i], f.servers[i+1]
		a.peer, b.peer = b, a
	}
	for _, s := range f.servers {
		s.d = newTimeDaemon(t, s.impl, s.label, s.h, deploymentLines(t, s.peer.h.v4.String()))
	}

	for _, u := range f.upstreams {
		u.start(t)
	}
	f.dns.start(t)
	for _, s := range f.servers {
		s.d.start(t)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range f.servers {
				t.Logf("log of %s:\n%s", s.d.name, s.d.log.String())
			}
			t.Logf("log of dnsmasq:\n%s", f.dns.log.String())
		}
	})
	return f
}

// deploymentLines returns testdata/chrony.conf with only the addresses
// changed to the test network's (the peer is peerAddr, the allow lines
// name the test subnets) and fastPolling added to the pool and peer lines.
func deploymentLines(t *testing.T, peerAddr string) []string {
	t.Helper()
	data, err := os.ReadFile(deploymentConfig)
	if err != nil {
		t.Fatalf("reading the deployment config: %v", err)
	}
	replace := map[string]string{
		"172.16.3.101":             peerAddr,
		"172.16.0.0/16":            allowedSubnet4,
		"2603:7080:7407:dd36::/64": allowedSubnet6,
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		words := strings.Fields(line)
		for i, w := range words {
			if r, ok := replace[w]; ok {
				words[i] = r
				delete(replace, w)
			}
		}
		if len(words) > 0 && (words[0] == "pool" || words[0] == "peer" || words[0] == "server") {
			words = append(words, fastPolling)
		}
		lines = append(lines, strings.Join(words, " "))
	}
	if len(replace) != 0 {
		t.Fatalf("%s changed: the addresses %v it used to name are gone; update the suite's mapping", deploymentConfig, replace)
	}
	return lines
}

// pair returns the two servers of an implementation.
func (f *fixture) pair(impl implementation) []*twin {
	var out []*twin
	for _, s := range f.servers {
		if s.impl == impl {
			out = append(out, s)
		}
	}
	return out
}

// counterpart returns the chronyd server in the same role as s.
func (f *fixture) counterpart(s *twin) *twin {
	for _, o := range f.servers {
		if o.impl == chronyd && o.label[len(o.label)-1] == s.label[len(s.label)-1] {
			return o
		}
	}
	return nil
}

// outcome is what waitServers found for one server.
type outcome struct {
	took time.Duration
	err  error
}

// waitServers evaluates cond on every server in parallel, every second,
// until it holds or limit passes, and returns, per server, how long it
// took (or the last error). A chronygo server is given up on early once
// the chronyd server in the same role has succeeded and twice its time
// plus 10 s (the allowance of timelyAs) has passed.
func waitServers(f *fixture, servers []*twin, limit time.Duration, cond func(*twin) error) map[*twin]outcome {
	return waitEach(servers, limit, func(s *twin, res map[*twin]outcome) (time.Duration, bool) {
		if s.impl != chronygo {
			return 0, false
		}
		ref, ok := res[f.counterpart(s)]
		if !ok || ref.err != nil {
			return 0, false
		}
		return 2*ref.took + 10*time.Second, true
	}, cond)
}

// waitEach is waitServers with the early give-up decided by allowance,
// which is called with the results so far (under a lock) and returns how
// long a server may take, or false for no limit but limit.
func waitEach(servers []*twin, limit time.Duration, allowance func(*twin, map[*twin]outcome) (time.Duration, bool),
	cond func(*twin) error) map[*twin]outcome {
	res := map[*twin]outcome{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			for {
				err = cond(s)
				elapsed := time.Since(start)
				if err == nil || elapsed > limit {
					break
				}
				mu.Lock()
				allowed, ok := allowance(s, res)
				mu.Unlock()
				if ok && elapsed > allowed {
					err = fmt.Errorf("gave up after %v, past chronyd's time allowance: %w", elapsed.Round(time.Second), err)
					break
				}
				time.Sleep(time.Second)
			}
			mu.Lock()
			res[s] = outcome{took: time.Since(start), err: err}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return res
}

// noAllowance lets waitEach wait for every server until the limit.
func noAllowance(*twin, map[*twin]outcome) (time.Duration, bool) { return 0, false }

// synchronised checks that the server has a selected source ('*') and
// tracks at stratum 2 with a normal leap status.
func synchronised(s *twin) error {
	tr, err := readTracking(s.d)
	if err != nil {
		return err
	}
	if tr.Stratum != 2 || tr.Leap != "Normal" {
		return fmt.Errorf("tracking shows %v, want stratum 2 and leap Normal", tr)
	}
	rows, err := readSources(s.d)
	if err != nil {
		return err
	}
	if n := countState(rows, '*'); n != 1 {
		return fmt.Errorf("%d sources marked '*' (want 1): %v", n, rows)
	}
	return nil
}

// countState counts the sources with the given state character.
func countState(rows []testutil.SourceRow, state byte) int {
	return len(slices.DeleteFunc(slices.Clone(rows), func(r testutil.SourceRow) bool { return r.State != state }))
}

// primaryAddrs returns the addresses of a pool's two primary upstreams.
func (f *fixture) primaryAddrs(p pool) []string {
	var out []string
	for _, u := range p.primaries {
		out = append(out, f.upHosts[u].addrs()...)
	}
	return out
}

// dnsRecords returns the DNS server's records: every pool name gives its
// primaries' A and AAAA records, except the pool named withdrawn, which
// gives its spare addresses instead.
func (f *fixture) dnsRecords(withdrawn string) []dnsRecord {
	var records []dnsRecord
	for _, p := range f.pools {
		r := dnsRecord{name: p.name, addrs: f.primaryAddrs(p)}
		if p.name == withdrawn {
			r.addrs = p.spares()
		}
		records = append(records, r)
	}
	return records
}
