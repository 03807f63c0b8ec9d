package server

import (
	"cmp"
	"hash/maphash"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Service is a service whose accesses the client log records.
type Service uint8

// Services, in chronyd's order.
const (
	ServiceNTP Service = iota
	ServiceNTSKE
	ServiceCmdmon
	numServices
)

// Limit is the outcome of rate limiting one request.
type Limit uint8

// Rate limiting outcomes.
const (
	LimitPass Limit = iota
	LimitDrop
	LimitKoD
)

// Constants of chronyd's client log.
const (
	slotBits = 4
	slotSize = 1 << slotBits
	maxSlots = 1 << (24 - slotBits)
	// tsFrac is the number of fractional bits of the coarse timestamps.
	tsFrac    = 4
	invalidTS = 0
	rateScale = 4
	minRate   = -14 * rateScale
	// invalidRate marks a rate not yet measured.
	invalidRate = -128
	// minLimitInterval and maxLimitInterval bound the ratelimit interval.
	minLimitInterval = -15 - tsFrac
	maxLimitInterval = 12
	minLimitBurst    = 1
	maxLimitBurst    = 255
	minLeakRate      = 1
	maxLeakRate      = 4
	minKoDRate       = 0
	maxKoDRate       = 4
	// recordCost is the memory chronyd charges per client in the
	// clientloglimit budget (record plus NTP timestamps, with the 3/2 factor
	// for expanding the table).
	recordCost = (64 + 16) * 3 / 2
	// lockStripes is the number of locks guarding the record slots.
	lockStripes = 64
)

// RateLimit is the configuration of one service's rate limiting
// (the ratelimit, ntsratelimit and cmdratelimit directives).
type RateLimit struct {
	// Enabled turns rate limiting on.
	Enabled bool
	// Interval is the log2 of the minimum interval between responses.
	Interval int
	// Burst is the number of responses allowed in a burst.
	Burst int
	// Leak is the log2 of the inverse of the rate at which responses are
	// randomly allowed over the limit.
	Leak int
	// KoD is the log2 of the inverse of the rate at which KoD RATE
	// responses are sent over the limit (0 = never). NTP only.
	KoD int
}

// DefaultNTPRateLimit returns chronyd's defaults for the ratelimit directive
// (interval 3, burst 8, leak 2, kod 0), disabled.
func DefaultNTPRateLimit() RateLimit { return RateLimit{Interval: 3, Burst: 8, Leak: 2} }

// DefaultNTSRateLimit returns chronyd's ntsratelimit defaults, disabled.
func DefaultNTSRateLimit() RateLimit { return RateLimit{Interval: 6, Burst: 8, Leak: 2} }

// DefaultCmdRateLimit returns chronyd's cmdratelimit defaults, disabled.
func DefaultCmdRateLimit() RateLimit { return RateLimit{Interval: -4, Burst: 8, Leak: 2} }

// bucket is the token bucket configuration derived from a RateLimit.
type bucket struct {
	maxTokens     uint16
	tokensPerHit  uint16
	tokenShift    int
	leak          int
	kod           int
	limitInterval int
}

func clamp(lo, v, hi int) int { return min(max(v, lo), hi) }

// newBucket derives chronyd's token bucket parameters.
func newBucket(rl RateLimit) bucket {
	b := bucket{limitInterval: minLimitInterval}
	if !rl.Enabled {
		return b
	}
	interval := clamp(minLimitInterval, rl.Interval, maxLimitInterval)
	burst := clamp(minLimitBurst, rl.Burst, maxLimitBurst)
	if interval >= -tsFrac {
		// The smallest shift with which the maximum fits in 16 bits.
		for b.tokenShift = 0; b.tokenShift < interval+tsFrac; b.tokenShift++ {
			if burst<<(tsFrac+interval-b.tokenShift) < 1<<16 {
				break
			}
		}
	} else {
		// Coarse limiting: whole bursts per timestamp tick.
		b.tokenShift = interval + tsFrac
		burst = max(1<<-b.tokenShift, burst)
	}
	b.tokensPerHit = uint16(1) << (tsFrac + interval - b.tokenShift)
	b.maxTokens = b.tokensPerHit * uint16(burst)
	b.leak = clamp(minLeakRate, rl.Leak, maxLeakRate)
	b.kod = clamp(minKoDRate, rl.KoD, maxKoDRate)
	b.limitInterval = interval
	return b
}

// record is the log of one client address.
type record struct {
	addr netip.Addr
	// created orders records by first appearance for chronyc clients.
	created        uint64
	lastHit        [numServices]uint32
	hits           [numServices]uint32
	drops          [numServices]uint16
	tokens         [numServices]uint16
	rate           [numServices]int8
	ntpTimeoutRate int8
	dropFlags      uint8
}

// ClientLogConfig configures a client log.
type ClientLogConfig struct {
	// Disabled is the noclientlog directive.
	Disabled bool
	// LimitBytes is the clientloglimit directive (default 524288).
	LimitBytes int
	// NTP, NTSKE and Cmd are the rate limits of the three services.
	NTP, NTSKE, Cmd RateLimit
}

// ClientLog records accesses per client address for chronyc clients and
// implements chronyd's per-address rate limiting. It is safe for concurrent
// use; records are spread over slots guarded by striped locks.
type ClientLog struct {
	active  bool
	buckets [numServices]bucket
	seed    maphash.Seed
	// tsOffset randomises the alignment of the coarse timestamps.
	tsOffset uint32
	locks    [lockStripes]sync.Mutex
	// slots holds slotSize records per slot, allocated on first use.
	slots   []*[slotSize]record
	maxSize int
	stats   *Stats
	// cmdRnd serves LogCommand, whose callers have no Random of their own.
	cmdMu  sync.Mutex
	cmdRnd *Random
	// nextCreated numbers new records in order of appearance.
	nextCreated atomic.Uint64
}

// NewClientLog creates a client log. tsOffset (any value) randomises the
// alignment of its coarse timestamps, as chronyd does; stats receives the
// log's counters.
func NewClientLog(cfg ClientLogConfig, tsOffset uint32, stats *Stats) *ClientLog {
	c := &ClientLog{
		active:   !cfg.Disabled,
		seed:     maphash.MakeSeed(),
		tsOffset: tsOffset % (1e9 / (1 << tsFrac)),
		stats:    stats,
		cmdRnd:   NewRandom(),
	}
	c.buckets[ServiceNTP] = newBucket(cfg.NTP)
	c.buckets[ServiceNTSKE] = newBucket(cfg.NTSKE)
	c.buckets[ServiceCmdmon] = newBucket(cfg.Cmd)
	if !c.active {
		return c
	}
	limit := cfg.LimitBytes
	if limit <= 0 {
		limit = 524288
	}
	n := clamp(1, limit/(recordCost*slotSize), maxSlots)
	slots := 1
	for slots*2 <= n {
		slots *= 2
	}
	c.slots = make([]*[slotSize]record, slots)
	c.maxSize = slots * slotSize
	return c
}

// Active reports whether client logging is enabled (not noclientlog).
func (c *ClientLog) Active() bool { return c.active }

// MaxRecords returns the number of clients the log can hold.
func (c *ClientLog) MaxRecords() int { return c.maxSize }

// MinPoll returns the log2 of the NTP rate limiting interval, which the
// server uses as the minimum poll value in its responses.
func (c *ClientLog) MinPoll() int { return c.buckets[ServiceNTP].limitInterval }

// coarseTS converts a time to the log's 1/16 s timestamps.
func (c *ClientLog) coarseTS(t time.Time) uint32 {
	sec := uint32(t.Unix())
	nsec := uint32(t.Nanosecond()) + c.tsOffset
	if nsec >= 1e9 {
		nsec -= 1e9
		sec++
	}
	return sec<<tsFrac | uint32((uint64(nsec)<<tsFrac)/1e9)
}

func compareTS(x, y uint32) int {
	switch {
	case x == y:
		return 0
	case y == invalidTS:
		return 1
	case int32(x-y) > 0:
		return 1
	default:
		return -1
	}
}

func (r *record) totalHits() uint32 {
	var n uint32
	for _, h := range r.hits {
		n += h
	}
	return n
}

// getRecord finds or creates the record of addr in slot s, whose lock the
// caller holds.
func (c *ClientLog) getRecord(s int, addr netip.Addr) *record {
	slot := c.slots[s]
	if slot == nil {
		slot = new([slotSize]record)
		c.slots[s] = slot
	}
	var oldest *record
	var oldestHit uint32
	for i := range slot {
		r := &slot[i]
		if r.addr == addr {
			return r
		}
		if !r.addr.IsValid() {
			oldest = r
			break
		}
		var last uint32
		for j, h := range r.lastHit {
			if j == 0 || compareTS(last, h) < 0 {
				last = h
			}
		}
		if oldest == nil || compareTS(oldestHit, last) > 0 ||
			(oldestHit == last && oldest.totalHits() > r.totalHits()) {
			oldest, oldestHit = r, last
		}
	}
	if oldest.addr.IsValid() && c.stats != nil {
		c.stats.LogDrops.Add(1)
	}
	*oldest = record{addr: addr, created: c.nextCreated.Add(1), ntpTimeoutRate: invalidRate}
	for i := range oldest.rate {
		oldest.tokens[i] = c.buckets[i].maxTokens
		oldest.rate[i] = invalidRate
	}
	return oldest
}

func (c *ClientLog) slotOf(addr netip.Addr) int {
	return int(maphash.Comparable(c.seed, addr) % uint64(len(c.slots)))
}

// update records a hit at now, refilling the bucket and updating the rate.
func (c *ClientLog) update(svc Service, r *record, now uint32) {
	prev := r.lastHit[svc]
	r.lastHit[svc] = now
	r.hits[svc]++
	interval := now - prev
	if prev == invalidTS || int32(interval) < 0 {
		return
	}
	b := &c.buckets[svc]
	var tokens uint32
	switch {
	case b.tokenShift >= 0:
		tokens = (now >> b.tokenShift) - (prev >> b.tokenShift)
	case now-prev > uint32(b.maxTokens):
		tokens = uint32(b.maxTokens)
	default:
		tokens = (now - prev) << -b.tokenShift
	}
	r.tokens[svc] = uint16(min(uint32(r.tokens[svc])+tokens, uint32(b.maxTokens)))

	// The interval as a scaled and rounded log2.
	var interval2 int
	if interval != 0 {
		interval += interval >> 1
		for interval2 = -rateScale * tsFrac; interval2 < -minRate; interval2 += rateScale {
			if interval <= 1 {
				break
			}
			interval >>= 1
		}
	} else {
		interval2 = -rateScale * (tsFrac + 1)
	}
	rate := &r.rate[svc]
	if svc == ServiceNTP && r.dropFlags&(1<<svc) != 0 {
		rate = &r.ntpTimeoutRate
	}
	// A rough exponential moving average.
	switch {
	case *rate == invalidRate:
		*rate = int8(-interval2)
	case int(*rate) < -interval2:
		*rate++
	case int(*rate) > -interval2:
		if int(*rate) > rateScale*5/2-interval2 {
			*rate = int8(rateScale*5/2 - interval2)
		} else {
			*rate = int8((int(*rate) - interval2 - 1) / 2)
		}
	}
}

// Access logs one access of a service by addr at now and applies the
// service's rate limit; rnd supplies random bits for the leak and KoD
// decisions. It returns LimitPass when the log is disabled.
func (c *ClientLog) Access(svc Service, addr netip.Addr, now time.Time, rnd *Random) Limit {
	return c.access(svc, addr, now, rnd, nil)
}

// access is Access counting the hit in hits (nil: the log's Stats).
func (c *ClientLog) access(svc Service, addr netip.Addr, now time.Time, rnd *Random, hits *atomic.Uint64) Limit {
	switch {
	case hits != nil:
		hits.Add(1)
	case c.stats != nil:
		c.stats.hits[svc].Add(1)
	}
	if !c.active || !addr.IsValid() {
		return LimitPass
	}
	addr = addr.Unmap().WithZone("")
	s := c.slotOf(addr)
	mu := &c.locks[s%lockStripes]
	mu.Lock()
	defer mu.Unlock()
	r := c.getRecord(s, addr)
	c.update(svc, r, c.coarseTS(now))
	return c.limit(svc, r, rnd)
}

// LogCommand logs a command request (chronyc) from addr at now and applies
// the cmdratelimit limit; the command monitor drops the request unless it
// returns LimitPass. It is safe for concurrent use.
func (c *ClientLog) LogCommand(addr netip.Addr, now time.Time) Limit {
	c.cmdMu.Lock()
	defer c.cmdMu.Unlock()
	l := c.Access(ServiceCmdmon, addr, now, c.cmdRnd)
	if l == LimitKoD {
		l = LimitDrop
	}
	return l
}

// LogNTSKE logs an NTS-KE connection from addr at now and applies the
// ntsratelimit limit.
func (c *ClientLog) LogNTSKE(addr netip.Addr, now time.Time) Limit {
	c.cmdMu.Lock()
	defer c.cmdMu.Unlock()
	l := c.Access(ServiceNTSKE, addr, now, c.cmdRnd)
	if l == LimitKoD {
		l = LimitDrop
	}
	return l
}

func (c *ClientLog) limit(svc Service, r *record, rnd *Random) Limit {
	b := &c.buckets[svc]
	if b.tokensPerHit == 0 {
		return LimitPass
	}
	r.dropFlags &^= 1 << svc
	if r.tokens[svc] >= b.tokensPerHit {
		r.tokens[svc] -= b.tokensPerHit
		return LimitPass
	}
	drop := !rnd.Pass(b.leak)
	// A client that polls faster when unanswered: give up limiting it.
	if svc == ServiceNTP && r.ntpTimeoutRate != invalidRate &&
		int(r.ntpTimeoutRate) > int(r.rate[svc])+rateScale {
		drop = !drop
	}
	if !drop {
		r.tokens[svc] = 0
		return LimitPass
	}
	if b.kod > 0 && rnd.Pass(b.kod) {
		return LimitKoD
	}
	r.dropFlags |= 1 << svc
	r.drops[svc]++
	if c.stats != nil {
		c.stats.drops[svc].Add(1)
	}
	return LimitDrop
}

// ClientReport is one client's line of chronyc clients.
type ClientReport struct {
	Addr netip.Addr
	// Hits and Drops per service (NTP, NTS-KE, command).
	NTPHits, NTSKEHits, CmdHits    uint32
	NTPDrops, NTSKEDrops, CmdDrops uint16
	// Intervals are log2 seconds of the average interval between requests
	// (127 when unknown).
	NTPInterval, NTSKEInterval, CmdInterval, NTPTimeoutInterval int8
	// LastHitAgo are seconds since the last request (MaxUint32 when none).
	LastNTPHitAgo, LastNTSKEHitAgo, LastCmdHitAgo uint32
}

func intervalOf(rate int8) int8 {
	if rate == invalidRate {
		return 127
	}
	r := int(rate)
	if r > 0 {
		r += rateScale / 2
	} else {
		r -= rateScale / 2
	}
	return int8(r / -rateScale)
}

func lastAgo(now, hit uint32) uint32 {
	if hit == invalidTS || int32(now-hit) < 0 {
		return ^uint32(0)
	}
	return (now - hit) >> tsFrac
}

// NumIndices returns the number of record indices (chronyc clients pages
// through them), or -1 when the log is disabled.
func (c *ClientLog) NumIndices() int {
	if !c.active {
		return -1
	}
	return c.maxSize
}

// Report returns the report of the record at index, counted in the order
// the records were created, when it exists and has at least minHits hits of
// some service (any record when minHits is 0); reset clears its hit and drop
// counters afterwards.
func (c *ClientLog) Report(index int, reset bool, minHits uint32, now time.Time) (ClientReport, bool) {
	order := c.creationOrder()
	if index < 0 || index >= len(order) {
		return ClientReport{}, false
	}
	return c.reportAt(order[index], reset, minHits, now)
}

// creationOrder returns the storage positions of the records in use, oldest
// first. chronyd lists its clients in order of appearance while its table
// is small; chronygo keeps that order whatever the log's size.
func (c *ClientLog) creationOrder() []int {
	if !c.active {
		return nil
	}
	type entry struct {
		created uint64
		pos     int
	}
	var entries []entry
	for s := range c.slots {
		mu := &c.locks[s%lockStripes]
		mu.Lock()
		if slot := c.slots[s]; slot != nil {
			for i := range slot {
				if slot[i].addr.IsValid() {
					entries = append(entries, entry{slot[i].created, s*slotSize + i})
				}
			}
		}
		mu.Unlock()
	}
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.created, b.created) })
	order := make([]int, len(entries))
	for i, e := range entries {
		order[i] = e.pos
	}
	return order
}

// reportAt is Report for the record at storage position pos.
func (c *ClientLog) reportAt(pos int, reset bool, minHits uint32, now time.Time) (ClientReport, bool) {
	if !c.active || pos < 0 || pos >= c.maxSize {
		return ClientReport{}, false
	}
	index := pos
	s := index / slotSize
	mu := &c.locks[s%lockStripes]
	mu.Lock()
	defer mu.Unlock()
	slot := c.slots[s]
	if slot == nil {
		return ClientReport{}, false
	}
	r := &slot[index%slotSize]
	if !r.addr.IsValid() {
		return ClientReport{}, false
	}
	ok := minHits == 0
	for _, h := range r.hits {
		if h >= minHits {
			ok = true
		}
	}
	var rep ClientReport
	if ok {
		nowTS := c.coarseTS(now)
		rep = ClientReport{
			Addr:               r.addr,
			NTPHits:            r.hits[ServiceNTP],
			NTSKEHits:          r.hits[ServiceNTSKE],
			CmdHits:            r.hits[ServiceCmdmon],
			NTPDrops:           r.drops[ServiceNTP],
			NTSKEDrops:         r.drops[ServiceNTSKE],
			CmdDrops:           r.drops[ServiceCmdmon],
			NTPInterval:        intervalOf(r.rate[ServiceNTP]),
			NTSKEInterval:      intervalOf(r.rate[ServiceNTSKE]),
			CmdInterval:        intervalOf(r.rate[ServiceCmdmon]),
			NTPTimeoutInterval: intervalOf(r.ntpTimeoutRate),
			LastNTPHitAgo:      lastAgo(nowTS, r.lastHit[ServiceNTP]),
			LastNTSKEHitAgo:    lastAgo(nowTS, r.lastHit[ServiceNTSKE]),
			LastCmdHitAgo:      lastAgo(nowTS, r.lastHit[ServiceCmdmon]),
		}
	}
	if reset {
		r.hits = [numServices]uint32{}
		r.drops = [numServices]uint16{}
	}
	return rep, ok
}

// Clients returns the reports of up to n records starting at index first
// (see Report), and the index to continue from.
func (c *ClientLog) Clients(first, n int, reset bool, minHits uint32, now time.Time) ([]ClientReport, int) {
	var out []ClientReport
	order := c.creationOrder()
	i := max(first, 0)
	for ; i < len(order) && len(out) < n; i++ {
		if rep, ok := c.reportAt(order[i], reset, minHits, now); ok {
			out = append(out, rep)
		}
	}
	if i >= len(order) {
		// Past the last record: the whole index space was walked, as
		// chronyd's next index says at the end of its table.
		i = max(i, c.maxSize)
	}
	return out, i
}
