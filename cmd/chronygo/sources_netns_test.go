package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/testutil"
)

// sourceRow is one line of "chronyc -n sources".
type sourceRow struct {
	addr  string
	poll  int
	reach string
}

// sourceRowPattern matches an NTP source line of "chronyc -n sources":
// mode and state, address, stratum, poll and reach (octal).
var sourceRowPattern = regexp.MustCompile(`(?m)^\^[*+\-?x~ ] (\S+)\s+\d+\s+(-?\d+)\s+([0-7]+)\s`)

// parseSources returns the NTP source rows of "chronyc -n sources".
func parseSources(out string) []sourceRow {
	var rows []sourceRow
	for _, m := range sourceRowPattern.FindAllStringSubmatch(out, -1) {
		poll, err := strconv.Atoi(m[2])
		if err != nil {
			continue
		}
		rows = append(rows, sourceRow{addr: m[1], poll: poll, reach: m[3]})
	}
	return rows
}

// sourceSamples returns the NP column of addr in "chronyc -n sourcestats"
// output, or -1 when addr is not listed.
func sourceSamples(out, addr string) int {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(addr) + `\s+(\d+)\s`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// listedAddrs returns the addresses in "chronyc -n sources" output, sorted.
func listedAddrs(out string) []string {
	var addrs []string
	for _, r := range parseSources(out) {
		addrs = append(addrs, r.addr)
	}
	slices.Sort(addrs)
	return addrs
}

// TestSourcesAgainstChronyd runs chronygo -x in a namespace with real
// chronyd 4.3 upstreams (local stratum 1) and checks with the stock chronyc
// what the time-sources work must deliver: an IPv4 and an IPv6 server
// collect samples, reach 377 and raise their poll to maxpoll (chronyd
// holds a sub-second poll at 0 until the source proves to be on a LAN, so
// the lowest poll observed lies anywhere from -2 to 0);
// a pool of six addresses with maxsources 2 uses exactly two of them and
// replaces one whose chronyd was stopped by another of the six.
func TestSourcesAgainstChronyd(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "chronyd")
	testutil.RequireTool(t, "chronyc")
	ns := testutil.NewNetns(t, "s5")
	addAddr := func(addr string) {
		bits := "/32"
		if strings.Contains(addr, ":") {
			bits = "/128"
		}
		testutil.CheckTestAddress(t, addr+bits)
		ns.IP(t, "addr", "add", addr+bits, "dev", "lo")
	}
	upstream := func(addrs ...string) *testutil.Chronyd {
		directives := []string{"local stratum 1", "allow all", "cmdport 0", "port " + strconv.Itoa(upstreamPort)}
		for _, a := range addrs {
			directives = append(directives, "bindaddress "+a)
		}
		return testutil.StartChronyd(t, ns, directives...)
	}

	// One chronyd serving the two single servers over both families.
	v4, v6 := "198.51.100.1", "2001:db8::1"
	addAddr(v4)
	addAddr(v6)
	upstream(v4, v6)

	// Six chronyd, one per pool address, and the name resolving to all.
	const poolName = "pool6.chronygo.test"
	members := map[string]*testutil.Chronyd{}
	var hosts strings.Builder
	for i := 11; i <= 16; i++ {
		a := fmt.Sprintf("198.51.100.%d", i)
		addAddr(a)
		members[a] = upstream(a)
		fmt.Fprintf(&hosts, "%s %s\n", a, poolName)
	}
	netnsFile(t, ns, "hosts", hosts.String())

	t.Run("SamplesReachAndPoll", func(t *testing.T) {
		t.Parallel()
		p, out := startDaemon(t, ns, "port 0",
			fmt.Sprintf("server %s port %d iburst minpoll -2 maxpoll 1 polltarget 6", v4, upstreamPort),
			fmt.Sprintf("server %s port %d iburst minpoll -2 maxpoll 1 polltarget 6", v6, upstreamPort))
		want := []string{v4, v6}
		const limit = 90 * time.Second
		var sources, stats string
		lowest := map[string]int{v4: 99, v6: 99}
		done := testutil.WaitEvery(limit, 500*time.Millisecond, func() bool {
			sources = chronyc(t, p.sock, "-n", "sources")
			stats = chronyc(t, p.sock, "-n", "sourcestats")
			rows := parseSources(sources)
			ok := true
			for _, a := range want {
				i := slices.IndexFunc(rows, func(r sourceRow) bool { return r.addr == a })
				if i < 0 {
					ok = false
					continue
				}
				lowest[a] = min(lowest[a], rows[i].poll)
				ok = ok && rows[i].poll == 1 && rows[i].reach == "377" && sourceSamples(stats, a) >= 4
			}
			return ok
		})
		t.Logf("chronyc -n sources:\n%s\nchronyc -n sourcestats:\n%s", sources, stats)
		require.True(t, done, "within %s the sources did not all reach 377 with poll 1 and 4+ samples; log:\n%s", limit, out.String())
		for _, a := range want {
			t.Logf("%s: lowest poll seen %d", a, lowest[a])
			assert.Less(t, lowest[a], 1, "%s was never seen polling below maxpoll", a)
			assert.GreaterOrEqual(t, sourceSamples(stats, a), 4, "samples of %s", a)
		}
		for _, r := range parseSources(sources) {
			assert.Equal(t, 1, r.poll, "poll of %s", r.addr)
			assert.Equal(t, "377", r.reach, "reach of %s", r.addr)
		}
	})

	t.Run("PoolOfSixReplacesStoppedSource", func(t *testing.T) {
		t.Parallel()
		p, out := startDaemon(t, ns, "port 0",
			fmt.Sprintf("pool %s port %d iburst minpoll -2 maxpoll 0 maxsources 2", poolName, upstreamPort))
		isMember := func(a string) bool { _, ok := members[a]; return ok }
		answering := func(sources string) []string {
			var addrs []string
			for _, r := range parseSources(sources) {
				if r.reach != "0" {
					addrs = append(addrs, r.addr)
				}
			}
			return addrs
		}

		// Exactly two of the six, both answering.
		var sources string
		ok := testutil.WaitEvery(30*time.Second, 500*time.Millisecond, func() bool {
			sources = chronyc(t, p.sock, "-n", "sources")
			return len(listedAddrs(sources)) == 2 && len(answering(sources)) == 2
		})
		t.Logf("chronyc -n sources:\n%s", sources)
		require.True(t, ok, "pool did not settle on two answering sources; log:\n%s", out.String())
		first := listedAddrs(sources)
		for _, a := range first {
			assert.True(t, isMember(a), "%s is not one of the pool's addresses", a)
		}

		// Stop the chronyd behind one of them: it must be replaced.
		stopped, kept := first[0], first[1]
		require.NoError(t, members[stopped].Cmd.Process.Kill())
		const limit = 90 * time.Second
		var now []string
		ok = testutil.WaitEvery(limit, 500*time.Millisecond, func() bool {
			sources = chronyc(t, p.sock, "-n", "sources")
			now = listedAddrs(sources)
			return len(now) == 2 && !slices.Contains(now, stopped) && len(answering(sources)) == 2
		})
		t.Logf("after stopping %s, chronyc -n sources:\n%s", stopped, sources)
		require.True(t, ok, "%s not replaced by an answering source within %s (listed %v); log:\n%s", stopped, limit, now, out.String())
		assert.Contains(t, now, kept, "the answering source was kept")
		assert.NotEqual(t, now[0], now[1], "two distinct sources")
		for _, a := range now {
			assert.True(t, isMember(a), "replacement %s is not one of the pool's addresses", a)
		}
		assert.Contains(t, chronyc(t, p.sock, "-n", "sourcename", now[0]), poolName)
	})
}
