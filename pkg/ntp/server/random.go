package server

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
)

// Random is a source of random bits for one worker (timestamp fuzz, leak and
// KoD decisions). It is not safe for concurrent use.
type Random struct {
	src  rand.Source
	bits uint64
	left int
}

// NewRandom returns a Random seeded from the operating system.
func NewRandom() *Random {
	var seed [16]byte
	_, _ = crand.Read(seed[:])
	return NewSeededRandom(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:]))
}

// NewSeededRandom returns a deterministic Random, for tests and simulation.
func NewSeededRandom(s1, s2 uint64) *Random {
	return &Random{src: rand.NewPCG(s1, s2)}
}

// Uint64 returns 64 random bits.
func (r *Random) Uint64() uint64 { return r.src.Uint64() }

// Pass returns true on average once in 2^rate calls (rate 0: always).
func (r *Random) Pass(rate int) bool {
	if rate <= 0 {
		return true
	}
	if r.left < rate {
		r.bits = r.src.Uint64()
		r.left = 64
	}
	pass := r.bits&(1<<rate-1) == 0
	r.bits >>= rate
	r.left -= rate
	return pass
}
