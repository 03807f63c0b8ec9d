package server

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/access"
	"github.com/chronygo/chronygo/pkg/ntp/wire"
	"github.com/facebook/time/ntp/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type fixture struct {
	shared *Shared
	resp   *Responder
	now    time.Time
}

type fixtureOpts struct {
	rules   []string
	limit   RateLimit
	noLog   bool
	auth    Authenticator
	peer    func(netip.Addr) bool
	logSize int
}

func newFixture(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	if o.rules == nil {
		o.rules = []string{"allow"}
	}
	tab := access.NewTable()
	for _, s := range o.rules {
		f := splitWords(s)
		r, err := access.ParseRule(f[0] == "allow", f[1:], nil)
		require.NoError(t, err)
		require.NoError(t, tab.Apply(r))
	}
	stats := &Stats{}
	log := NewClientLog(ClientLogConfig{Disabled: o.noLog, LimitBytes: o.logSize, NTP: o.limit}, 12345, stats)
	sh := &Shared{Access: tab, Log: log, Tx: NewTxMemory(log.MaxRecords(), stats), Stats: stats, Auth: o.auth, KnownPeer: o.peer}
	return &fixture{shared: sh, resp: NewResponder(sh, NewSeededRandom(1, 2)), now: t0}
}

func splitWords(s string) []string {
	var out []string
	word := ""
	for _, c := range s {
		if c == ' ' {
			if word != "" {
				out = append(out, word)
			}
			word = ""
			continue
		}
		word += string(c)
	}
	if word != "" {
		out = append(out, word)
	}
	return out
}

func (f *fixture) clock() time.Time { return f.now.Add(50 * time.Microsecond) }

type reqOpts struct {
	version uint8
	mode    wire.Mode
	poll    int8
	rawMode bool
	orig    wire.Timestamp
	rx      wire.Timestamp
	tx      wire.Timestamp
	extra   []byte
}

func request(o reqOpts) []byte {
	if o.version == 0 {
		o.version = 4
	}
	if o.mode == 0 && o.version != 1 && !o.rawMode {
		o.mode = wire.ModeClient
	}
	p := protocol.Packet{Settings: wire.LVM(0, o.version, o.mode), Poll: o.poll}
	wire.SetOrigTime(&p, o.orig)
	wire.SetRxTime(&p, o.rx)
	wire.SetTxTime(&p, o.tx)
	b := make([]byte, wire.HeaderLen)
	wire.PutHeader(b, &p)
	return append(b, o.extra...)
}

func (f *fixture) handle(t *testing.T, b []byte, from string, snap *discipline.ReferenceSnapshot) (protocol.Packet, Verdict, Drop) {
	t.Helper()
	out := make([]byte, wire.MaxPacketLen)
	req := &Request{Data: b, From: netip.MustParseAddrPort(from), RxRaw: f.now, RxSource: TimestampKernel}
	n, v, d := f.resp.Handle(req, snap, f.clock, out)
	var p protocol.Packet
	if v == VerdictRespond {
		require.GreaterOrEqual(t, n, wire.HeaderLen)
		require.LessOrEqual(t, n, len(b))
		var info wire.Info
		require.NoError(t, wire.DecodeHeader(out[:n], &p, &info))
	} else {
		assert.Zero(t, n)
	}
	return p, v, d
}

func syncedSnapshot() *discipline.ReferenceSnapshot {
	return &discipline.ReferenceSnapshot{
		Synchronised:   true,
		Leap:           discipline.LeapNormal,
		Stratum:        3,
		RefID:          0xC6336401,
		RefTime:        t0.Add(-100 * time.Second),
		RootDelay:      0.010,
		RootDispersion: 0.001,
		DispersionRate: 1e-5,
		Precision:      -24,
	}
}

func localSnapshot(stratum uint8) *discipline.ReferenceSnapshot {
	return &discipline.ReferenceSnapshot{
		Synchronised: true,
		Stratum:      stratum,
		RefID:        discipline.LocalRefID,
		Precision:    -24,
	}
}

func TestResponseFields(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	clientTx := wire.FromTime(t0.Add(-3 * time.Millisecond))
	snap := syncedSnapshot()
	p, v, d := f.handle(t, request(reqOpts{poll: 6, tx: clientTx, orig: 12345}), "198.51.100.2:40000", snap)
	require.Equal(t, VerdictRespond, v, d.String())
	assert.Equal(t, wire.ModeServer, wire.ModeOf(p.Settings))
	assert.Equal(t, uint8(4), wire.VersionOf(p.Settings))
	assert.Equal(t, uint8(0), wire.LeapOf(p.Settings))
	assert.Equal(t, uint8(3), p.Stratum)
	assert.Equal(t, int8(6), p.Poll)
	assert.Equal(t, int8(-24), p.Precision)
	assert.Equal(t, uint32(0xC6336401), p.ReferenceID)
	assert.Equal(t, wire.ShortFromSeconds(0.010), p.RootDelay)
	assert.Equal(t, wire.ShortFromSeconds(0.001+100*1e-5), p.RootDispersion)
	assert.Equal(t, wire.FromTime(t0.Add(-100*time.Second)), wire.RefTime(&p))
	assert.Equal(t, clientTx, wire.OrigTime(&p))
	rx := wire.RxTime(&p)
	tx := wire.TxTime(&p)
	assert.Equal(t, uint64(1), uint64(rx)&1, "receive timestamp marked")
	assert.Equal(t, uint64(0), uint64(tx)&1, "transmit timestamp unmarked")
	assert.InDelta(t, 0, rx.Time(t0).Sub(t0).Seconds(), 1e-7)
	assert.InDelta(t, 50e-6, tx.Time(t0).Sub(t0).Seconds(), 1e-7)
	s := f.shared.Stats.Snapshot()
	assert.Equal(t, uint64(1), s.NTPHits)
	assert.Equal(t, uint64(1), s.NTPKernelRx)
	assert.Equal(t, uint64(1), s.NTPDaemonTx)
	assert.Equal(t, uint64(1), s.Responses)
}

func TestResponseVersionsAndModes(t *testing.T) {
	tests := []struct {
		name     string
		req      reqOpts
		from     string
		peer     bool
		verdict  Verdict
		drop     Drop
		respMode wire.Mode
	}{
		{name: "v3 client", req: reqOpts{version: 3}, from: "198.51.100.2:123", verdict: VerdictRespond, respMode: wire.ModeServer},
		{name: "v2 client", req: reqOpts{version: 2}, from: "198.51.100.2:123", verdict: VerdictRespond, respMode: wire.ModeServer},
		{name: "v1 from client port", req: reqOpts{version: 1}, from: "198.51.100.2:1234", verdict: VerdictRespond, respMode: wire.ModeServer},
		{name: "v1 from port 123", req: reqOpts{version: 1}, from: "198.51.100.2:123", verdict: VerdictDrop, drop: DropMode},
		{name: "v4 mode 0", req: reqOpts{version: 4, rawMode: true}, from: "198.51.100.2:1234", verdict: VerdictDrop, drop: DropMode},
		{name: "active from unknown peer", req: reqOpts{mode: wire.ModeActive}, from: "198.51.100.2:123", verdict: VerdictRespond, respMode: wire.ModePassive},
		{name: "active from known peer", req: reqOpts{mode: wire.ModeActive}, from: "198.51.100.2:123", peer: true, verdict: VerdictForward, drop: DropForwarded},
		{name: "passive", req: reqOpts{mode: wire.ModePassive}, from: "198.51.100.2:123", verdict: VerdictForward, drop: DropForwarded},
		{name: "server", req: reqOpts{mode: wire.ModeServer}, from: "198.51.100.2:123", verdict: VerdictForward, drop: DropForwarded},
		{name: "broadcast", req: reqOpts{mode: wire.ModeBroadcast}, from: "198.51.100.2:123", verdict: VerdictForward, drop: DropForwarded},
		{name: "control", req: reqOpts{mode: wire.ModeControl}, from: "198.51.100.2:123", verdict: VerdictDrop, drop: DropControl},
		{name: "private", req: reqOpts{mode: wire.ModePrivate, version: 2}, from: "198.51.100.2:123", verdict: VerdictDrop, drop: DropControl},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{peer: func(netip.Addr) bool { return tc.peer }})
			p, v, d := f.handle(t, request(tc.req), tc.from, syncedSnapshot())
			assert.Equal(t, tc.verdict, v)
			assert.Equal(t, tc.drop, d)
			if v == VerdictRespond {
				assert.Equal(t, tc.respMode, wire.ModeOf(p.Settings))
				want := tc.req.version
				if want == 0 {
					want = 4
				}
				assert.Equal(t, want, wire.VersionOf(p.Settings))
			}
			s := f.shared.Stats.Snapshot()
			if tc.drop != DropNone {
				assert.Equal(t, uint64(1), s.DropsByReason[tc.drop.String()])
			}
		})
	}
}

func TestResponseReference(t *testing.T) {
	insert := syncedSnapshot()
	insert.Leap = discipline.LeapInsertSecond
	del := syncedSnapshot()
	del.Leap = discipline.LeapDeleteSecond
	unsync := syncedSnapshot()
	unsync.Synchronised = false
	tooHigh := syncedSnapshot()
	tooHigh.Stratum = 16
	tests := []struct {
		name      string
		snap      *discipline.ReferenceSnapshot
		leap      uint8
		stratum   uint8
		refID     uint32
		rootDelay uint32
		rootDisp  uint32
		zeroRef   bool
		maxAge    float64
	}{
		{name: "nil snapshot", snap: nil, leap: 3, stratum: 0, refID: 0, rootDelay: 0x10000, rootDisp: 0x10000, zeroRef: true},
		{name: "unsynchronised", snap: unsync, leap: 3, stratum: 0, refID: 0, rootDelay: 0x10000, rootDisp: 0x10000, zeroRef: true},
		{name: "local stratum 10", snap: localSnapshot(10), leap: 0, stratum: 10, refID: 0x7F7F0101, maxAge: 66},
		{name: "insert", snap: insert, leap: 1, stratum: 3, refID: 0xC6336401, rootDelay: wire.ShortFromSeconds(0.01), rootDisp: wire.ShortFromSeconds(0.002), maxAge: 101},
		{name: "delete", snap: del, leap: 2, stratum: 3, refID: 0xC6336401, rootDelay: wire.ShortFromSeconds(0.01), rootDisp: wire.ShortFromSeconds(0.002), maxAge: 101},
		{name: "stratum 16 is sent as 0", snap: tooHigh, leap: 0, stratum: 0, refID: 0xC6336401, rootDelay: wire.ShortFromSeconds(0.01), rootDisp: wire.ShortFromSeconds(0.002), maxAge: 101},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{})
			p, v, _ := f.handle(t, request(reqOpts{tx: 99}), "[2001:db8::2]:123", tc.snap)
			require.Equal(t, VerdictRespond, v)
			assert.Equal(t, tc.leap, wire.LeapOf(p.Settings))
			assert.Equal(t, tc.stratum, p.Stratum)
			assert.Equal(t, tc.refID, p.ReferenceID)
			assert.Equal(t, tc.rootDelay, p.RootDelay)
			assert.Equal(t, tc.rootDisp, p.RootDispersion)
			ref := wire.RefTime(&p)
			if tc.zeroRef {
				assert.Zero(t, ref)
			} else {
				age := wire.TxTime(&p).Sub(ref)
				assert.Greater(t, age, 0.9)
				assert.Less(t, age, tc.maxAge)
			}
		})
	}
}

func TestResponseCooked(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	snap := localSnapshot(10)
	snap.CorrectionBase = t0
	snap.CorrectionOffset = 0.5
	p, v, _ := f.handle(t, request(reqOpts{tx: 99}), "198.51.100.2:123", snap)
	require.Equal(t, VerdictRespond, v)
	assert.InDelta(t, 0.5, wire.RxTime(&p).Time(t0).Sub(t0).Seconds(), 1e-7)
	assert.InDelta(t, 0.50005, wire.TxTime(&p).Time(t0).Sub(t0).Seconds(), 1e-7)
}

func TestDeniedAndMalformed(t *testing.T) {
	f := newFixture(t, fixtureOpts{rules: []string{"allow 198.51.100.0/24", "deny 198.51.100.128/25"}})
	_, v, d := f.handle(t, request(reqOpts{tx: 1}), "203.0.113.5:123", syncedSnapshot())
	assert.Equal(t, VerdictDrop, v)
	assert.Equal(t, DropDenied, d)
	_, _, d = f.handle(t, request(reqOpts{tx: 1}), "198.51.100.200:123", syncedSnapshot())
	assert.Equal(t, DropDenied, d)
	_, _, d = f.handle(t, request(reqOpts{tx: 1}), "[::ffff:198.51.100.7]:123", syncedSnapshot())
	assert.Equal(t, DropNone, d, "mapped address looked up as IPv4")
	_, _, d = f.handle(t, make([]byte, 20), "198.51.100.7:123", syncedSnapshot())
	assert.Equal(t, DropMalformed, d)
	_, _, d = f.handle(t, request(reqOpts{version: 5}), "198.51.100.7:123", syncedSnapshot())
	assert.Equal(t, DropMalformed, d)
	s := f.shared.Stats.Snapshot()
	assert.Equal(t, uint64(2), s.DropsByReason["denied"])
	assert.Equal(t, uint64(2), s.DropsByReason["malformed"])
	assert.Equal(t, uint64(1), s.MalformedByReason[wire.DropTooShort.String()])
	assert.Equal(t, uint64(1), s.MalformedByReason[wire.DropBadVersion.String()])
	assert.Equal(t, uint64(1), s.NTPHits, "denied and malformed packets are not hits")
}

type fakeAuth struct {
	ok     bool
	kod    uint32
	macLen int
}

func (a fakeAuth) CheckRequest([]byte, *wire.Info) (bool, uint32) { return a.ok, a.kod }

func (a fakeAuth) AuthenticateResponse(_ []byte, info *wire.Info, resp []byte, _ uint32) (int, bool) {
	mac := make([]byte, a.macLen)
	binary.BigEndian.PutUint32(mac, info.KeyID)
	resp = append(resp, mac...)
	return len(resp), true
}

func TestAuthentication(t *testing.T) {
	macReq := func(digest int) []byte {
		mac := make([]byte, 4+digest)
		binary.BigEndian.PutUint32(mac, 7)
		return request(reqOpts{tx: 5, extra: mac})
	}
	tests := []struct {
		name   string
		auth   Authenticator
		req    []byte
		drop   Drop
		length int
		hits   uint64
	}{
		{name: "mac without keys", auth: nil, req: macReq(16), drop: DropAuth},
		{name: "bad mac", auth: fakeAuth{ok: false}, req: macReq(16), drop: DropAuth},
		{name: "good mac", auth: fakeAuth{ok: true, macLen: 20}, req: macReq(16), length: 68, hits: 1},
		{name: "response longer than request", auth: fakeAuth{ok: true, macLen: 24}, req: macReq(16), drop: DropResponseTooLong, hits: 1},
		{name: "plain request with authenticator", auth: fakeAuth{ok: false}, req: request(reqOpts{tx: 5}), length: 48},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{auth: tc.auth})
			out := make([]byte, wire.MaxPacketLen)
			req := &Request{Data: tc.req, From: netip.MustParseAddrPort("198.51.100.2:123"), RxRaw: t0}
			n, _, d := f.resp.Handle(req, syncedSnapshot(), f.clock, out)
			assert.Equal(t, tc.drop, d)
			assert.Equal(t, tc.length, n)
			assert.Equal(t, tc.hits, f.shared.Stats.Snapshot().NTPAuthHits)
		})
	}
}

// TestInterleaved runs the exchange of a client in interleaved mode: the
// first two requests get basic responses, the third and later ones carry the
// precise transmit time of the previous response.
func TestInterleaved(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	snap := localSnapshot(10)
	from := "198.51.100.2:123"

	clientTx1 := wire.FromTime(t0.Add(-time.Millisecond))
	r1, v, _ := f.handle(t, request(reqOpts{tx: clientTx1}), from, snap)
	require.Equal(t, VerdictRespond, v)
	assert.Equal(t, clientTx1, wire.OrigTime(&r1))

	// Second request: origin = our receive timestamp, rx = client's
	// receive time of r1, tx = the client's own transmit time.
	f.now = t0.Add(time.Second)
	clientRx1 := wire.FromTime(t0.Add(time.Millisecond))
	clientTx2 := wire.FromTime(t0.Add(999 * time.Millisecond))
	r2, v, _ := f.handle(t, request(reqOpts{orig: wire.RxTime(&r1), rx: clientRx1, tx: clientTx2}), from, snap)
	require.Equal(t, VerdictRespond, v)
	assert.Equal(t, clientTx2, wire.OrigTime(&r2), "no saved timestamps yet: basic response")
	assert.Equal(t, uint64(0), f.shared.Stats.Snapshot().NTPInterleavedHits)
	assert.Equal(t, uint64(1), f.shared.Stats.Snapshot().NTPTimestamps)

	f.now = t0.Add(2 * time.Second)
	clientRx2 := wire.FromTime(t0.Add(1001 * time.Millisecond))
	clientTx3 := wire.FromTime(t0.Add(1999 * time.Millisecond))
	r3, v, _ := f.handle(t, request(reqOpts{orig: wire.RxTime(&r2), rx: clientRx2, tx: clientTx3}), from, snap)
	require.Equal(t, VerdictRespond, v)
	assert.Equal(t, clientRx2, wire.OrigTime(&r3), "interleaved: origin is the client's receive timestamp")
	// The transmit timestamp is the time r2 was sent (1 s + 50 µs).
	assert.InDelta(t, 1.00005, wire.TxTime(&r3).Time(t0).Sub(t0).Seconds(), 1e-6)
	assert.Equal(t, uint64(1), f.shared.Stats.Snapshot().NTPInterleavedHits)
	assert.Equal(t, uint64(wire.RxTime(&r3)-wire.RxTime(&r2))>>32, f.shared.Tx.SpanSeconds(), "span of the saved timestamps")
	assert.Equal(t, uint64(2), f.shared.Stats.Snapshot().NTPTimestamps)

	// Replaying the same request gets a basic response: the timestamp is
	// used once.
	r4, v, _ := f.handle(t, request(reqOpts{orig: wire.RxTime(&r2), rx: clientRx2, tx: clientTx3}), from, snap)
	require.Equal(t, VerdictRespond, v)
	assert.Equal(t, clientTx3, wire.OrigTime(&r4))

	// A client in basic mode (rx == tx in its request) never gets an
	// interleaved response.
	r5, _, _ := f.handle(t, request(reqOpts{orig: wire.RxTime(&r3), rx: 77, tx: 77}), from, snap)
	assert.Equal(t, wire.Timestamp(77), wire.OrigTime(&r5))

	// Not in NTPv3 either, and not without a client log.
	f2 := newFixture(t, fixtureOpts{noLog: true})
	a, _, _ := f2.handle(t, request(reqOpts{tx: 1}), from, snap)
	b, _, _ := f2.handle(t, request(reqOpts{orig: wire.RxTime(&a), rx: 2, tx: 3}), from, snap)
	c, _, _ := f2.handle(t, request(reqOpts{orig: wire.RxTime(&b), rx: 4, tx: 5}), from, snap)
	assert.Equal(t, wire.Timestamp(5), wire.OrigTime(&c))
}

func TestRateLimitKoD(t *testing.T) {
	f := newFixture(t, fixtureOpts{limit: RateLimit{Enabled: true, Interval: 3, Burst: 8, Leak: 2, KoD: 2}})
	snap := localSnapshot(10)
	var passed, kods, drops int
	for i := 0; i < 200; i++ {
		f.now = t0.Add(time.Duration(i) * 10 * time.Millisecond)
		p, v, d := f.handle(t, request(reqOpts{tx: wire.Timestamp(1000 + i)}), "198.51.100.9:123", snap)
		switch {
		case v == VerdictRespond && p.ReferenceID == wire.KoDRate:
			kods++
			assert.Equal(t, uint8(3), wire.LeapOf(p.Settings))
			assert.Equal(t, uint8(0), p.Stratum)
		case v == VerdictRespond:
			passed++
			assert.Equal(t, int8(3), p.Poll, "poll raised to the rate limit interval")
		default:
			assert.Equal(t, DropRateLimit, d)
			drops++
		}
		if i < 8 {
			require.Equal(t, VerdictRespond, v, "burst of 8 passes")
			require.NotEqual(t, wire.KoDRate, p.ReferenceID)
		}
	}
	assert.Greater(t, kods, 5)
	assert.Greater(t, drops, 50)
	assert.Greater(t, passed, 8)
	assert.Less(t, passed, 100)
	s := f.shared.Stats.Snapshot()
	assert.Equal(t, uint64(200), s.NTPHits)
	assert.Equal(t, uint64(drops), s.NTPDrops)
	assert.Equal(t, uint64(kods), s.KoDSent)
	// Another client is not affected.
	_, v, _ := f.handle(t, request(reqOpts{tx: 1}), "198.51.100.10:123", snap)
	assert.Equal(t, VerdictRespond, v)

	reps, next := f.shared.Log.Clients(0, 100, false, 0, f.now)
	assert.Equal(t, f.shared.Log.NumIndices(), next)
	require.Len(t, reps, 2)
	for _, r := range reps {
		if r.Addr == netip.MustParseAddr("198.51.100.9") {
			assert.Equal(t, uint32(200), r.NTPHits)
			assert.Equal(t, uint16(drops), r.NTPDrops)
			assert.Equal(t, uint32(0), r.LastNTPHitAgo)
			assert.Less(t, r.NTPInterval, int8(-4))
		}
	}
}

func TestRateLimitRefill(t *testing.T) {
	f := newFixture(t, fixtureOpts{limit: RateLimit{Enabled: true, Interval: 3, Burst: 2, Leak: 4}})
	snap := localSnapshot(10)
	verdicts := func(start time.Time, n int, gap time.Duration) []Verdict {
		var out []Verdict
		for i := 0; i < n; i++ {
			f.now = start.Add(time.Duration(i) * gap)
			_, v, _ := f.handle(t, request(reqOpts{tx: 1}), "198.51.100.9:123", snap)
			out = append(out, v)
		}
		return out
	}
	// Polling every 8 s (the interval) is never limited.
	for _, v := range verdicts(t0, 20, 8*time.Second) {
		assert.Equal(t, VerdictRespond, v)
	}
}

func TestClientLogEvictionAndCmd(t *testing.T) {
	stats := &Stats{}
	log := NewClientLog(ClientLogConfig{LimitBytes: 1}, 0, stats)
	assert.Equal(t, 16, log.MaxRecords())
	rnd := NewSeededRandom(3, 4)
	for i := 0; i < 20; i++ {
		a := netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})
		log.Access(ServiceNTP, a, t0.Add(time.Duration(i)*time.Second), rnd)
	}
	assert.Equal(t, LimitPass, log.LogCommand(netip.MustParseAddr("::1"), t0.Add(30*time.Second)))
	s := stats.Snapshot()
	assert.Equal(t, uint64(5), s.LogDrops)
	assert.Equal(t, uint64(1), s.CmdHits)
	reps, _ := log.Clients(0, 100, false, 0, t0.Add(40*time.Second))
	assert.Len(t, reps, 16)
	found := false
	for _, r := range reps {
		assert.NotEqual(t, netip.MustParseAddr("198.51.100.1"), r.Addr, "oldest evicted")
		if r.Addr == netip.MustParseAddr("::1") {
			found = true
			assert.Equal(t, uint32(1), r.CmdHits)
			assert.Equal(t, uint32(10), r.LastCmdHitAgo)
			assert.Equal(t, ^uint32(0), r.LastNTPHitAgo)
			assert.Equal(t, int8(127), r.CmdInterval)
		}
	}
	assert.True(t, found)
	// Reset clears the counters.
	_, _ = log.Clients(0, 100, true, 0, t0)
	reps, _ = log.Clients(0, 100, false, 1, t0)
	assert.Empty(t, reps)

	off := NewClientLog(ClientLogConfig{Disabled: true}, 0, stats)
	assert.Equal(t, -1, off.NumIndices())
	assert.Equal(t, LimitPass, off.Access(ServiceNTP, netip.MustParseAddr("198.51.100.1"), t0, rnd))
}

func TestBucketParams(t *testing.T) {
	tests := []struct {
		rl      RateLimit
		max     uint16
		perHit  uint16
		shift   int
		minPoll int
	}{
		{rl: RateLimit{}, minPoll: -19},
		{rl: RateLimit{Enabled: true, Interval: 3, Burst: 8, Leak: 2}, max: 1024, perHit: 128, shift: 0, minPoll: 3},
		{rl: RateLimit{Enabled: true, Interval: 12, Burst: 255, Leak: 2}, max: 255 << 8, perHit: 1 << 8, shift: 8, minPoll: 12},
		{rl: RateLimit{Enabled: true, Interval: -10, Burst: 1, Leak: 2}, max: 64, perHit: 1, shift: -6, minPoll: -10},
	}
	for _, tc := range tests {
		b := newBucket(tc.rl)
		assert.Equal(t, tc.max, b.maxTokens, "%+v", tc.rl)
		assert.Equal(t, tc.perHit, b.tokensPerHit, "%+v", tc.rl)
		assert.Equal(t, tc.shift, b.tokenShift, "%+v", tc.rl)
		assert.Equal(t, tc.minPoll, b.limitInterval, "%+v", tc.rl)
	}
}

func TestHandleDoesNotAllocate(t *testing.T) {
	f := newFixture(t, fixtureOpts{limit: RateLimit{Enabled: true, Interval: -19, Burst: 255, Leak: 2}})
	snap := syncedSnapshot()
	req := &Request{Data: request(reqOpts{tx: 5, orig: 7, rx: 9}), From: netip.MustParseAddrPort("198.51.100.2:123"), RxRaw: t0}
	out := make([]byte, wire.MaxPacketLen)
	clock := f.clock
	allocs := testing.AllocsPerRun(200, func() {
		if _, v, d := f.resp.Handle(req, snap, clock, out); v != VerdictRespond {
			t.Fatalf("dropped: %s", d)
		}
	})
	assert.Zero(t, allocs)
}

func FuzzHandle(f *testing.F) {
	f.Add(request(reqOpts{tx: 5}), uint16(40000))
	f.Add(request(reqOpts{version: 1}), uint16(1234))
	f.Add(request(reqOpts{mode: wire.ModeActive, orig: 3, rx: 1, tx: 2}), uint16(123))
	f.Fuzz(func(t *testing.T, b []byte, port uint16) {
		fx := newFixture(t, fixtureOpts{limit: RateLimit{Enabled: true, Interval: 0, Burst: 4, Leak: 1, KoD: 1}})
		out := make([]byte, wire.MaxPacketLen)
		req := &Request{Data: b, From: netip.AddrPortFrom(netip.MustParseAddr("198.51.100.2"), port), RxRaw: t0}
		for i := 0; i < 3; i++ {
			n, v, d := fx.resp.Handle(req, syncedSnapshot(), fx.clock, out)
			if v == VerdictRespond {
				if n > len(b) || n < wire.HeaderLen || d != DropNone {
					t.Fatalf("bad response n=%d len=%d drop=%s", n, len(b), d)
				}
			} else if n != 0 {
				t.Fatalf("n=%d without a response", n)
			}
		}
	})
}
