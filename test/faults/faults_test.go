package faults

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chronygo/chronygo/internal/fakentp"
	"github.com/chronygo/chronygo/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastServer is a server line polling every 0.5 to 1 s.
func fastServer(addr string) string { return "server " + addr + " iburst minpoll -1 maxpoll 0" }

// allowTestNet lets the test network's clients query the daemon.
const allowTestNet = "allow 203.0.113.0/24"

// waitSources polls p's sources every 250 ms until cond holds or limit
// passes, and returns the last rows read.
func waitSources(t *testing.T, p *proc, limit time.Duration, cond func(map[string]sourceRow) bool) (map[string]sourceRow, bool) {
	t.Helper()
	var last map[string]sourceRow
	ok := testutil.WaitFor(limit, func() bool {
		rows, err := sources(p)
		if err != nil {
			return false
		}
		last = rows
		return cond(rows)
	})
	return last, ok
}

// selected reports whether addr is the selected source ('*').
func selected(addr string) func(map[string]sourceRow) bool {
	return func(rows map[string]sourceRow) bool { return rows[addr].State == '*' }
}

// requireAlive fails unless p still runs and answers chronyc tracking.
func requireAlive(t *testing.T, p *proc) {
	t.Helper()
	require.False(t, p.exited(), "%s exited (%v); log:\n%s", p.name, p.cmd.ProcessState, p.log.String())
	_, err := chronyc(p, 5*time.Second, "tracking")
	require.NoError(t, err, "%s no longer answers chronyc", p.name)
}

// requireNoStep fails if p's log tells of a step.
func requireNoStep(t *testing.T, p *proc) {
	t.Helper()
	assert.Empty(t, steps(p.log.String()), "%s stepped the clock", p.name)
}

// TestFaults runs every fault scenario, each in its own network.
func TestFaults(t *testing.T) {
	t.Run("UpstreamVanishes", testUpstreamVanishes)
	t.Run("GarbageAnswers", testGarbageAnswers)
	t.Run("UpstreamStepsByHours", testUpstreamStepsByHours)
	t.Run("Falseticker", testFalseticker)
	t.Run("BecomesFalseticker", testBecomesFalseticker)
	t.Run("MaxChangeExceeded", testMaxChangeExceeded)
	t.Run("DNSFailsAtStart", testDNSFailsAtStart)
	t.Run("SlowDNS", testSlowDNS)
}

// testUpstreamVanishes: the only upstream dies after the daemon synchronised.
// chronygo must keep answering clients and chronyc, mark the source
// unreachable ('?', reach 0) as chronyd does, and never step.
func testUpstreamVanishes(t *testing.T) {
	b := newBed(t)
	up := b.startUpstream(t, upstreamAddr(1))
	lines := []string{fastServer(upstreamAddr(1)), allowTestNet}
	cg := b.startChronygo(t, lines...)
	ref := b.startReference(t, lines...)

	rows, ok := waitSources(t, cg, 20*time.Second, selected(upstreamAddr(1)))
	require.True(t, ok, "chronygo did not select the upstream within 20 s: %v", rows)
	reply, err := b.queryNTP(clientAddr)
	require.NoError(t, err, "chronygo does not serve while synchronised")
	assert.Equal(t, uint8(2), reply.stratum, "chronygo answers as stratum 2: %v", reply)

	require.NoError(t, up.Cmd.Process.Kill())
	gone := func(rows map[string]sourceRow) bool {
		r := rows[upstreamAddr(1)]
		return r.Reach == 0 && r.State == '?'
	}
	rows, ok = waitSources(t, cg, 25*time.Second, gone)
	require.True(t, ok, "chronygo did not mark the vanished upstream unreachable ('?', reach 0) within 25 s: %v", rows)
	refRows, ok := waitSources(t, ref, 10*time.Second, gone)
	assert.True(t, ok, "the reference chronyd shows the vanished upstream as %v", refRows)

	for i := 0; i < 3; i++ {
		reply, err := b.queryNTP(clientAddr)
		require.NoError(t, err, "chronygo stopped serving clients after its upstream vanished")
		assert.Equal(t, uint8(4), reply.mode, "answer %d: %v", i, reply)
	}
	requireAlive(t, cg)
	requireNoStep(t, cg)
	requireNoStep(t, ref)
}

// testGarbageAnswers: beside one good upstream, servers answer garbage
// bytes, the wrong mode, the wrong origin, leap 3 with stratum 0, KoD RATE
// and KoD DENY. None may ever be selected or give a sample; the good one
// is selected; reachability agrees with chronyd's.
func testGarbageAnswers(t *testing.T) {
	b := newBed(t)
	b.startUpstream(t, upstreamAddr(1))
	bad := map[string]fakentp.Kind{
		upstreamAddr(2): fakentp.Garbage,
		upstreamAddr(3): fakentp.WrongMode,
		upstreamAddr(4): fakentp.WrongOrigin,
		upstreamAddr(5): fakentp.Unsynchronised,
		upstreamAddr(6): fakentp.KoDRate,
		upstreamAddr(7): fakentp.KoDDeny,
	}
	lines := []string{fastServer(upstreamAddr(1)), allowTestNet}
	fakes := map[string]*fakentp.Server{}
	for addr, kind := range bad {
		fakes[addr] = b.startFake(t, addr, fakentp.Behavior{Kind: kind})
		lines = append(lines, fastServer(addr))
	}
	cg := b.startChronygo(t, lines...)
	ref := b.startReference(t, lines...)

	deadline := time.Now().Add(12 * time.Second)
	var rows map[string]sourceRow
	for i := 0; i < 100 && time.Now().Before(deadline); i++ {
		r, err := sources(cg)
		require.NoError(t, err)
		rows = r
		for addr, kind := range bad {
			st := rows[addr].State
			require.False(t, st == '*' || st == '+', "chronygo selected the %s server %s: %v", kind, addr, rows[addr])
		}
		time.Sleep(300 * time.Millisecond)
	}
	assert.Equal(t, byte('*'), rows[upstreamAddr(1)].State, "the good upstream is not selected: %v", rows)

	counts, err := sampleCounts(cg)
	require.NoError(t, err)
	refRows, err := sources(ref)
	require.NoError(t, err)
	for addr, kind := range bad {
		require.Contains(t, rows, addr, "chronygo does not list the %s server", kind)
		assert.Positive(t, fakes[addr].Requests(), "the %s server was never polled", kind)
		assert.Zero(t, counts[addr], "chronygo accepted samples from the %s server %s", kind, addr)
		assert.Equal(t, refRows[addr].Reach == 0, rows[addr].Reach == 0,
			"%s server %s: chronygo reach %o, chronyd reach %o", kind, addr, rows[addr].Reach, refRows[addr].Reach)
	}
	for addr, kind := range bad {
		t.Logf("%s server: chronygo %v (%d samples), chronyd %v", kind, rows[addr], counts[addr], refRows[addr])
	}
	requireAlive(t, cg)
	requireAlive(t, ref)
	requireNoStep(t, cg)
}

// testUpstreamStepsByHours: after three clock updates with makestep 1.0 3
// (the step allowance is used up), the only upstream steps its time by
// +3 hours. chronygo must not step, exactly as chronyd does not.
func testUpstreamStepsByHours(t *testing.T) {
	b := newBed(t)
	fake := b.startFake(t, upstreamAddr(2), fakentp.Behavior{})
	lines := []string{fastServer(upstreamAddr(2)), "makestep 1.0 3", allowTestNet}
	cg := b.startChronygo(t, lines...)
	ref := b.startReference(t, lines...)

	for _, p := range []*proc{cg, ref} {
		ok := testutil.WaitFor(20*time.Second, func() bool {
			c, err := sampleCounts(p)
			return err == nil && c[upstreamAddr(2)] >= 5
		})
		require.True(t, ok, "%s did not collect 5 samples within 20 s", p.name)
		rows, ok := waitSources(t, p, 10*time.Second, selected(upstreamAddr(2)))
		require.True(t, ok, "%s did not select the upstream: %v", p.name, rows)
	}
	fake.SetBehavior(fakentp.Behavior{Offset: 3 * time.Hour})
	time.Sleep(15 * time.Second)

	requireAlive(t, cg)
	requireAlive(t, ref)
	refSteps := steps(ref.log.String())
	cgSteps := steps(cg.log.String())
	require.Empty(t, refSteps, "the reference chronyd stepped: the scenario is not what it should be")
	require.NotEmpty(t, linesWith(ref.log.String(), "System clock wrong by 10"),
		"the reference chronyd never saw the +3 h offset: the scenario is not what it should be")
	assert.Empty(t, cgSteps, "chronygo stepped the clock after its makestep allowance was used up")
	wrongRef := len(linesWith(ref.log.String(), "System clock wrong by 10"))
	wrongCG := len(linesWith(cg.log.String(), "System clock wrong by 10"))
	assert.Equal(t, wrongRef > 0, wrongCG > 0,
		"chronyd logged %d 'System clock wrong by 10...' lines, chronygo %d", wrongRef, wrongCG)
	t.Logf("after the +3 h step: chronyd logged %q, chronygo %q",
		linesWith(ref.log.String(), "System clock wrong by 10"), linesWith(cg.log.String(), "System clock wrong by 10"))
	_, err := b.queryNTP(clientAddr)
	assert.NoError(t, err, "chronygo stopped serving after its upstream stepped")
}

// testFalseticker: three good upstreams and one 5 s off. The falseticker
// is marked 'x' and never selected or combined.
func testFalseticker(t *testing.T) {
	b := newBed(t)
	lines := []string{allowTestNet}
	for i := 1; i <= 3; i++ {
		b.startUpstream(t, upstreamAddr(i))
		lines = append(lines, fastServer(upstreamAddr(i)))
	}
	liar := upstreamAddr(4)
	b.startFake(t, liar, fakentp.Behavior{Offset: 5 * time.Second})
	lines = append(lines, fastServer(liar))
	cg := b.startChronygo(t, lines...)
	ref := b.startReference(t, lines...)

	deadline := time.Now().Add(15 * time.Second)
	var rows map[string]sourceRow
	for i := 0; i < 100 && time.Now().Before(deadline); i++ {
		r, err := sources(cg)
		require.NoError(t, err)
		rows = r
		st := rows[liar].State
		require.False(t, st == '*' || st == '+', "chronygo selected the falseticker: %v", rows)
		time.Sleep(300 * time.Millisecond)
	}
	assert.Equal(t, byte('x'), rows[liar].State, "chronygo does not mark the falseticker 'x': %v", rows)
	refRows, err := sources(ref)
	require.NoError(t, err)
	assert.Equal(t, byte('x'), refRows[liar].State, "the reference chronyd: %v", refRows)
	requireAlive(t, cg)
	requireNoStep(t, cg)
}

// testBecomesFalseticker: four upstreams agree until one of them moves 5 s
// off. Once it has moved, it is never selected as the reference and it
// ends up marked 'x', as chronyd marks it.
func testBecomesFalseticker(t *testing.T) {
	b := newBed(t)
	lines := []string{allowTestNet}
	for i := 1; i <= 3; i++ {
		b.startUpstream(t, upstreamAddr(i))
		lines = append(lines, fastServer(upstreamAddr(i)))
	}
	turncoat := upstreamAddr(4)
	fake := b.startFake(t, turncoat, fakentp.Behavior{})
	lines = append(lines, fastServer(turncoat))
	cg := b.startChronygo(t, lines...)
	ref := b.startReference(t, lines...)
	for _, p := range []*proc{cg, ref} {
		rows, ok := waitSources(t, p, 20*time.Second, func(rows map[string]sourceRow) bool {
			st := rows[turncoat].State
			return st == '*' || st == '+'
		})
		require.True(t, ok, "%s never used the server before it turned: %v", p.name, rows)
	}
	fake.SetBehavior(fakentp.Behavior{Offset: 5 * time.Second})

	deadline := time.Now().Add(15 * time.Second)
	var rows map[string]sourceRow
	for i := 0; i < 100 && time.Now().Before(deadline); i++ {
		r, err := sources(cg)
		require.NoError(t, err)
		rows = r
		// Samples taken before the move may keep it in use for a few
		// polls (chronyd too needs new samples to see the move); after
		// 3 s it must never be the reference.
		if time.Until(deadline) < 12*time.Second {
			require.NotEqual(t, byte('*'), rows[turncoat].State, "chronygo selected the server 5 s off: %v", rows)
		}
		time.Sleep(300 * time.Millisecond)
	}
	assert.Equal(t, byte('x'), rows[turncoat].State, "chronygo does not mark the server 5 s off 'x': %v", rows)
	refRows, err := sources(ref)
	require.NoError(t, err)
	assert.Equal(t, byte('x'), refRows[turncoat].State, "the reference chronyd: %v", refRows)
	requireAlive(t, cg)
	requireNoStep(t, cg)
}

// testMaxChangeExceeded: with maxchange 1000 1 2, the only upstream is
// good for the first update and then two hours off. chronyd ignores two
// updates and exits on the third; chronygo must do the same.
func testMaxChangeExceeded(t *testing.T) {
	b := newBed(t)
	fake := b.startFake(t, upstreamAddr(2), fakentp.Behavior{})
	lines := []string{fastServer(upstreamAddr(2)), "maxchange 1000 1 2", allowTestNet}
	cg := b.startChronygo(t, lines...)
	ref := b.startReference(t, lines...)
	for _, p := range []*proc{cg, ref} {
		rows, ok := waitSources(t, p, 20*time.Second, selected(upstreamAddr(2)))
		require.True(t, ok, "%s did not select the upstream: %v", p.name, rows)
	}
	fake.SetBehavior(fakentp.Behavior{Offset: 2 * time.Hour})

	for _, p := range []*proc{ref, cg} {
		ok := testutil.WaitFor(30*time.Second, p.exited)
		require.True(t, ok, "%s did not exit within 30 s after the upstream went 2 h off with maxchange 1000 1 2", p.name)
	}
	exceed := func(p *proc) []string { return linesWith(p.log.String(), "exceeds the allowed maximum") }
	require.Len(t, exceed(ref), 3, "the reference chronyd does not behave as the scenario expects")
	assert.Equal(t, len(exceed(ref)), len(exceed(cg)), "chronyd logged %q, chronygo %q", exceed(ref), exceed(cg))
	assert.Equal(t, len(linesWith(ref.log.String(), "(ignored)")), len(linesWith(cg.log.String(), "(ignored)")),
		"ignored updates differ")
	assert.Len(t, linesWith(cg.log.String(), "(exiting)"), 1, "chronygo's log:\n%s", cg.log.String())
	assert.Equal(t, ref.cmd.ProcessState.ExitCode(), cg.cmd.ProcessState.ExitCode(), "exit status")
	t.Logf("chronyd: %q, exit %d; chronygo: %q, exit %d", exceed(ref), ref.cmd.ProcessState.ExitCode(),
		exceed(cg), cg.cmd.ProcessState.ExitCode())
	requireNoStep(t, cg)
}

// poolName is the pool the DNS scenarios resolve.
const poolName = "pool.faults.test"

// testDNSFailsAtStart: the pool name cannot be resolved when the daemon
// starts (the DNS server is down). chronygo keeps serving, retries with
// chronyd's backoff, and uses the pool once DNS works; DNS failing again
// later does not disturb the sources it has.
func testDNSFailsAtStart(t *testing.T) {
	b := newBed(t)
	b.addUpstreamAddr(t, dnsAddr)
	b.startUpstream(t, upstreamAddr(1))
	b.startUpstream(t, upstreamAddr(2))
	b.useResolver(t, dnsAddr, "timeout:1 attempts:2")
	pidDir := testutil.PrivateDir(t)
	pidFile := filepath.Join(pidDir, "dnsmasq.pid")
	dnsmasq := []string{testutil.RequireTool(t, "dnsmasq"), "--keep-in-foreground", "--log-facility=-",
		"--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--user=root", "--pid-file=" + pidFile,
		"--bind-interfaces", "--listen-address=" + dnsAddr, "--local-ttl=1",
		"--host-record=" + poolName + "," + upstreamAddr(1), "--host-record=" + poolName + "," + upstreamAddr(2)}

	lines := []string{"pool " + poolName + " iburst minpoll -1 maxpoll 0", allowTestNet}
	cg := b.startChronygo(t, lines...)
	ref := b.startReference(t, lines...)
	start := time.Now()
	time.Sleep(4 * time.Second)
	rows, err := sources(cg)
	require.NoError(t, err, "chronygo does not answer chronyc while DNS fails")
	assert.Empty(t, rows, "sources without DNS?")
	_, err = b.queryNTP(clientAddr)
	require.NoError(t, err, "chronygo does not serve clients while DNS fails")

	dns := startProc(t, "dnsmasq", b.up, pidFile, dnsmasq...)
	both := func(rows map[string]sourceRow) bool {
		_, a := rows[upstreamAddr(1)]
		_, c := rows[upstreamAddr(2)]
		return a && c
	}
	rows, ok := waitSources(t, cg, 45*time.Second, both)
	require.True(t, ok, "chronygo did not resolve the pool within 45 s of DNS coming back (chronyd retries after 28 s): %v", rows)
	cgAfter := time.Since(start)
	refRows, ok := waitSources(t, ref, 10*time.Second, both)
	refAfter := time.Since(start)
	assert.True(t, ok, "the reference chronyd did not resolve the pool: %v", refRows)
	t.Logf("pool resolved %.1f s after start by chronygo, by %.1f s by chronyd", cgAfter.Seconds(), refAfter.Seconds())
	assert.GreaterOrEqual(t, cgAfter, 7*time.Second, "chronygo retried the failed resolution without backoff")

	rows, ok = waitSources(t, cg, 15*time.Second, func(rows map[string]sourceRow) bool {
		return rows[upstreamAddr(1)].State == '*' || rows[upstreamAddr(2)].State == '*'
	})
	require.True(t, ok, "chronygo did not select a pool member: %v", rows)

	dns.stop()
	time.Sleep(5 * time.Second)
	rows, err = sources(cg)
	require.NoError(t, err)
	assert.True(t, both(rows), "chronygo lost its pool sources when DNS failed again: %v", rows)
	_, err = b.queryNTP(clientAddr)
	require.NoError(t, err, "chronygo stopped serving after DNS failed again")
	requireAlive(t, cg)
	requireNoStep(t, cg)
}

// testSlowDNS: the resolver answers only after 5 s. While it waits,
// chronygo answers chronyc quickly and keeps serving NTP; the pool is used
// once the answer comes.
func testSlowDNS(t *testing.T) {
	b := newBed(t)
	b.addUpstreamAddr(t, dnsAddr)
	b.startUpstream(t, upstreamAddr(1))
	conn, err := listenIn(b.up.Name, "udp4", dnsAddr+":53")
	require.NoError(t, err)
	const delay = 5 * time.Second
	dns := serveSlowDNS(conn, poolName, delay, netip.MustParseAddr(upstreamAddr(1)))
	t.Cleanup(dns.close)
	b.useResolver(t, dnsAddr, "timeout:15 attempts:1")

	cg := b.startChronygo(t, "pool "+poolName+" iburst minpoll -1 maxpoll 0", allowTestNet)
	start := time.Now()
	require.True(t, testutil.WaitFor(3*time.Second, func() bool { return dns.queries.Load() > 0 }),
		"chronygo sent no DNS query within 3 s")
	var slow []string
	for i := 0; i < 20 && time.Since(start) < delay-time.Second; i++ {
		t0 := time.Now()
		_, err := chronyc(cg, 2*time.Second, "tracking")
		require.NoError(t, err, "chronygo did not answer chronyc within 2 s while resolving")
		if d := time.Since(t0); d > time.Second {
			slow = append(slow, fmt.Sprintf("%.2f s", d.Seconds()))
		}
		_, err = b.queryNTP(clientAddr)
		require.NoError(t, err, "chronygo did not serve NTP while resolving")
	}
	assert.Empty(t, slow, "chronyc answers were slow while DNS was pending")
	rows, ok := waitSources(t, cg, 20*time.Second, selected(upstreamAddr(1)))
	require.True(t, ok, "chronygo did not use the pool after the slow DNS answer: %v (queries %d)", rows, dns.queries.Load())
	t.Logf("pool member selected %.1f s after start (DNS delay %s)", time.Since(start).Seconds(), delay)
	assert.False(t, strings.Contains(cg.log.String(), "panic"), "chronygo panicked")
	requireAlive(t, cg)
}
