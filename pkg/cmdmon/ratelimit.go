package cmdmon

import (
	"math"
	"net/netip"
	"time"
)

// RateLimit is the cmdratelimit directive: responses to one (non-localhost)
// address are limited to one per 2^Interval seconds on average, with bursts
// of up to Burst responses. Leak is kept for the configuration's sake:
// chronyd lets one in 2^Leak limited requests through at random; this
// limiter is deterministic and does not.
type RateLimit struct {
	Enabled  bool
	Interval int
	Burst    int
	Leak     int
}

// DefaultRateLimit is chronyd's cmdratelimit default (disabled unless the
// directive is given): interval -4, burst 8, leak 2.
var DefaultRateLimit = RateLimit{Interval: -4, Burst: 8, Leak: 2}

// maxLimiterEntries bounds the limiter's memory.
const maxLimiterEntries = 4096

// rateLimiter is a per-address token bucket, sans-IO (time is an input).
type rateLimiter struct {
	cfg     RateLimit
	period  float64 // seconds per token
	buckets map[netip.Addr]bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(cfg RateLimit) *rateLimiter {
	if cfg.Burst < 1 {
		cfg.Burst = 1
	}
	return &rateLimiter{cfg: cfg, period: math.Ldexp(1, cfg.Interval), buckets: map[netip.Addr]bucket{}}
}

// allow takes a token for addr at time now and reports whether a response
// may be sent.
func (l *rateLimiter) allow(addr netip.Addr, now time.Time) bool {
	if !l.cfg.Enabled {
		return true
	}
	b, ok := l.buckets[addr]
	if !ok {
		if len(l.buckets) >= maxLimiterEntries {
			l.evictOldest()
		}
		b = bucket{tokens: float64(l.cfg.Burst), last: now}
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(float64(l.cfg.Burst), b.tokens+el/l.period)
		b.last = now
	}
	allowed := b.tokens >= 1
	if allowed {
		b.tokens--
	}
	l.buckets[addr] = b
	return allowed
}

func (l *rateLimiter) evictOldest() {
	var oldest netip.Addr
	var when time.Time
	for a, b := range l.buckets {
		if !oldest.IsValid() || b.last.Before(when) {
			oldest, when = a, b.last
		}
	}
	delete(l.buckets, oldest)
}
