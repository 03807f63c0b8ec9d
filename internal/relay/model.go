// Package relay is a UDP delay relay for tests and benchmarks: it stands
// between an NTP client and its server and gives every datagram a one-way
// delay of base + k × jitter × Exp(1) per direction (the delay model of
// chrony's simulation suite), drops a fraction of them, and may make the
// two directions asymmetric.
//
// The decisions are sans-IO (Model: a datagram and the time it arrived in,
// the time to let it out or a drop out); Relay is the thin UDP shell that
// reads datagrams, asks the model and sends them when due.
package relay

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Link is the delay model of one direction.
type Link struct {
	// Base is the fixed part of the one-way delay.
	Base time.Duration
	// Jitter is the mean of the exponentially distributed extra delay
	// (0: none).
	Jitter time.Duration
	// Loss is the probability of dropping a datagram (0..1).
	Loss float64
}

// Config is the delay model of both directions.
type Config struct {
	// Up is the client-to-server direction (requests).
	Up Link
	// Down is the server-to-client direction (responses).
	Down Link
	// Seed seeds the random numbers; the same seed and the same traffic
	// give the same delays.
	Seed uint64
	// Realtime runs the relay's sender thread under SCHED_FIFO (root
	// only; ignored when refused), so that a busy machine does not make
	// releases late.
	Realtime bool
}

// Symmetric returns the model of chrony's simulation suite: both
// directions have the same base delay and loss, and jitter scaled by
// 1 − 2a upstream and 1 + 2a downstream for the jitter asymmetry a
// (−0.5..0.5; 0 is symmetric).
func Symmetric(base, jitter time.Duration, asymmetry, loss float64, seed uint64) Config {
	scale := func(k float64) time.Duration { return time.Duration(math.Round(float64(jitter) * k)) }
	return Config{
		Up:   Link{Base: base, Jitter: scale(1 - 2*asymmetry), Loss: loss},
		Down: Link{Base: base, Jitter: scale(1 + 2*asymmetry), Loss: loss},
		Seed: seed,
	}
}

// Validate reports a model that cannot be used.
func (c Config) Validate() error {
	for _, l := range []struct {
		name string
		link Link
	}{{"up", c.Up}, {"down", c.Down}} {
		if l.link.Base < 0 || l.link.Jitter < 0 {
			return fmt.Errorf("relay: %s link: negative delay (base %v, jitter %v)", l.name, l.link.Base, l.link.Jitter)
		}
		if l.link.Loss < 0 || l.link.Loss > 1 || math.IsNaN(l.link.Loss) {
			return fmt.Errorf("relay: %s link: loss %v outside 0..1", l.name, l.link.Loss)
		}
	}
	return nil
}

// Direction tells which way a datagram travels.
type Direction int

const (
	// Upstream is from the client to the server.
	Upstream Direction = iota
	// Downstream is from the server to the client.
	Downstream
)

// String names the direction.
func (d Direction) String() string {
	if d == Upstream {
		return "up"
	}
	return "down"
}

// Model decides the fate of each datagram. It is not safe for concurrent
// use: the relay calls it from one goroutine.
type Model struct {
	cfg Config
	rng *rand.Rand
}

// NewModel returns the model of cfg, which must be valid.
func NewModel(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Model{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}, nil
}

// Plan decides what happens to a datagram that arrived at arrival going
// in direction d: the time to send it on, or drop true.
func (m *Model) Plan(d Direction, arrival time.Time) (release time.Time, drop bool) {
	link := m.cfg.Up
	if d == Downstream {
		link = m.cfg.Down
	}
	// Draw both numbers every time so that a change of loss does not
	// shift the delays of the datagrams that get through.
	lossDraw := m.rng.Float64()
	jitterDraw := m.rng.ExpFloat64()
	if lossDraw < link.Loss {
		return time.Time{}, true
	}
	delay := link.Base + time.Duration(math.Round(float64(link.Jitter)*jitterDraw))
	return arrival.Add(delay), false
}
