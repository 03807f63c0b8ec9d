package hostile

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bounds of every flood.
const (
	floodPackets  = 300000
	floodDuration = 1500 * time.Millisecond
)

// floodKind makes the i-th packet of one kind of hostile traffic.
type floodKind struct {
	name string
	make func(i int, r *rand.Rand) []byte
	// replies tells whether the daemon may answer at all; any reply must
	// still be no larger than the smallest request of the kind.
	replies bool
	// minLen is the smallest request the kind sends (the amplification
	// bound for replies).
	minLen int
	// rateLimited: the kind is valid traffic from one address, so the
	// daemon must drop most of it and count the drops.
	rateLimited bool
}

func floodKinds() []floodKind {
	return []floodKind{
		{name: "malformed (bad version)", minLen: 0, make: func(_ int, r *rand.Rand) []byte {
			p := randomBytes(r, r.IntN(200))
			if len(p) > 0 {
				p[0] = p[0]&^0x38 | []byte{0, 5 << 3, 6 << 3, 7 << 3}[r.IntN(4)]
			}
			return p
		}},
		{name: "truncated", minLen: 0, make: func(i int, _ *rand.Rand) []byte {
			return clientRequest(ntpNow())[:i%headerLen]
		}},
		{name: "oversized garbage after the header", replies: true, minLen: headerLen + 16, make: func(i int, r *rand.Rand) []byte {
			n := 16 + 4*r.IntN(2000)
			if i%100 == 0 {
				n = 8192
			}
			return append(clientRequest(ntpNow()), randomBytes(r, n)...)
		}},
		{name: "mode 6 control", minLen: 12, make: func(i int, r *rand.Rand) []byte {
			p := make([]byte, 12+4*r.IntN(10))
			p[0] = 2<<3 | modeControl
			p[1] = 2 // read variables
			binary.BigEndian.PutUint16(p[2:], uint16(i))
			return p
		}},
		{name: "mode 7 monlist", minLen: headerLen, make: func(_ int, _ *rand.Rand) []byte {
			p := make([]byte, headerLen+144)
			p[0] = 2<<3 | modePrivate
			p[2] = 3  // implementation XNTPD
			p[3] = 42 // MON_GETLIST_1
			return p
		}},
		{name: "kiss-o'-death and unsolicited server packets", minLen: headerLen, make: func(i int, _ *rand.Rand) []byte {
			p := clientRequest(ntpNow())
			p[0] = 4<<3 | modeServer
			p[offStratum] = 0
			copy(p[offRefID:], []string{"RATE", "DENY", "RSTR", "CRYP"}[i%4])
			binary.BigEndian.PutUint64(p[offOrigin:], ntpNow())
			return p
		}},
		{name: "well-formed unknown extension fields", replies: true, minLen: headerLen + 16, make: func(i int, r *rand.Rand) []byte {
			p := clientRequest(ntpNow())
			for n := 1 + i%4; n > 0; n-- {
				body := 4 * (3 + r.IntN(60)) // 16 to 252 bytes with the header
				ef := make([]byte, 4+body)
				binary.BigEndian.PutUint16(ef[0:], uint16(0x2000+r.IntN(0x1000))) // no NTS type
				binary.BigEndian.PutUint16(ef[2:], uint16(len(ef)))
				p = append(p, ef...)
			}
			return p
		}},
		{name: "MAC with an unknown key", replies: true, minLen: headerLen + 20, make: func(i int, r *rand.Rand) []byte {
			p := clientRequest(ntpNow())
			return append(p, randomBytes(r, []int{20, 24}[i%2])...)
		}},
		{name: "symmetric active, broadcast and version 1 mode 0", replies: true, minLen: headerLen, make: func(i int, _ *rand.Rand) []byte {
			p := clientRequest(ntpNow())
			p[0] = []byte{4<<3 | 1, 4<<3 | 5, 1 << 3}[i%3]
			return p
		}},
		{name: "spoofed origin and receive timestamps", replies: true, rateLimited: true, minLen: headerLen, make: func(_ int, r *rand.Rand) []byte {
			p := clientRequest(ntpNow())
			binary.BigEndian.PutUint64(p[offOrigin:], r.Uint64())
			binary.BigEndian.PutUint64(p[offReceive:], r.Uint64())
			return p
		}},
		{name: "replayed request", replies: true, rateLimited: true, minLen: headerLen, make: func() func(int, *rand.Rand) []byte {
			fixed := clientRequest(ntpNow())
			return func(int, *rand.Rand) []byte { return fixed }
		}()},
	}
}

func randomBytes(r *rand.Rand, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

// floodResult is what the flooder saw.
type floodResult struct {
	sent, replies int64
	maxReply      int
}

// flood sends the kind's packets from 127.0.0.2 to the daemon, bounded by
// floodPackets and floodDuration, and collects the replies.
func flood(t *testing.T, port int, kind floodKind) floodResult {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	var replies atomic.Int64
	var maxReply atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			replies.Add(1)
			for {
				m := maxReply.Load()
				if int64(n) <= m || maxReply.CompareAndSwap(m, int64(n)) {
					break
				}
			}
		}
	}()
	r := rand.New(rand.NewPCG(1, uint64(len(kind.name))))
	var sent int64
	deadline := time.Now().Add(floodDuration)
	for i := 0; i < floodPackets && time.Now().Before(deadline); i++ {
		if _, err := c.WriteToUDP(kind.make(i, r), dst); err == nil {
			sent++
		}
	}
	// Let the last replies arrive, then stop the reader.
	time.Sleep(300 * time.Millisecond)
	_ = c.SetReadDeadline(time.Now())
	wg.Wait()
	return floodResult{sent: sent, replies: replies.Load(), maxReply: int(maxReply.Load())}
}

// TestFloodsKeepServing runs each kind of hostile traffic against one
// daemon while a good client polls it: the client must be served during
// and after every flood, the daemon must never answer more bytes than it
// was sent, answer nothing to traffic it must ignore, count the drops of
// rate-limited floods, and keep its memory bounded.
func TestFloodsKeepServing(t *testing.T) {
	d := startDaemon(t, "allow 127.0.0.0/8", "ratelimit interval -4 burst 16", "clientloglimit 1048576")
	d.requireDirectives(t, "allow", "ratelimit", "clientloglimit", "port")
	rssStart := d.vmRSS(t)
	for _, kind := range floodKinds() {
		t.Run(kind.name, func(t *testing.T) {
			before := d.serverStats(t)
			good := startGoodClient(d.port, 100*time.Millisecond)
			res := flood(t, d.port, kind)
			attempts, served := good.finish()
			require.True(t, d.alive(), "chronygo died during the flood")
			t.Logf("sent %d, replies %d (largest %d bytes); good client served %d of %d",
				res.sent, res.replies, res.maxReply, served, attempts)
			require.Positive(t, res.sent)
			require.GreaterOrEqual(t, attempts, int64(5), "the good client polled too rarely to judge")
			// A flood filling the socket buffer loses some good packets in the
			// kernel whatever the daemon does; most must get through.
			assert.GreaterOrEqual(t, served, attempts/2, "the good client must be served during the flood")
			for i := 0; i < 3; i++ {
				_, err := queryNTP(d.port, "127.0.0.1", time.Second)
				require.NoError(t, err, "the good client must be served after the flood")
			}
			if !kind.replies {
				assert.Zero(t, res.replies, "such packets must never be answered")
			}
			assert.LessOrEqual(t, res.maxReply, kind.minLen, "a reply larger than the request amplifies attacks")
			after := d.serverStats(t)
			if kind.rateLimited {
				dropped := after["NTP packets dropped"] - before["NTP packets dropped"]
				assert.Positive(t, dropped, "serverstats must count the rate-limited packets")
				assert.Less(t, res.replies, res.sent/2, "a flood from one address must be rate limited")
			}
		})
	}
	rssEnd := d.vmRSS(t)
	t.Logf("VmRSS %d KiB before the floods, %d KiB after", rssStart, rssEnd)
	assert.Less(t, rssEnd-rssStart, 64*1024, "memory grew by more than 64 MiB under floods")
}
