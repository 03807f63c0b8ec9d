// Package loadgen is a batched NTP load generator: a few UDP sockets (many
// source ports) each keep a window of client requests in flight to one
// server, sent with sendmmsg and read with recvmmsg, and account for every
// request (answered, lost after a timeout, or a stray reply).
//
// The accounting (Window) is sans-IO: time enters as a parameter. Run is
// the socket shell around it.
package loadgen

import "time"

// Counts is the accounting of one window or of a whole run.
type Counts struct {
	// Sent is the number of requests sent.
	Sent uint64 `json:"sent"`
	// Received is the number of requests answered (once each).
	Received uint64 `json:"received"`
	// Lost is the number of requests not answered within the timeout.
	Lost uint64 `json:"lost"`
	// Stray is the number of replies matching no request in flight
	// (duplicates, late replies, foreign datagrams).
	Stray uint64 `json:"stray"`
}

// Add returns the sum of two counts.
func (c Counts) Add(o Counts) Counts {
	return Counts{Sent: c.Sent + o.Sent, Received: c.Received + o.Received, Lost: c.Lost + o.Lost, Stray: c.Stray + o.Stray}
}

// LossRatio is Lost / (Received + Lost), 0 when nothing was settled.
func (c Counts) LossRatio() float64 {
	if c.Received+c.Lost == 0 {
		return 0
	}
	return float64(c.Lost) / float64(c.Received+c.Lost)
}

// slot is one request in flight.
type slot struct {
	seq  uint64
	sent int64
	live bool
}

// Window tracks the requests of one socket: sequence numbers are issued
// in order, at most Limit are in flight, and a request unanswered for
// longer than the timeout counts as lost and frees its place.
type Window struct {
	slots    []slot
	mask     uint64
	limit    int
	timeout  int64
	next     uint64
	oldest   uint64
	inflight int
	counts   Counts
}

// NewWindow returns a window of at most limit (≥ 1) requests in flight
// with the given timeout.
func NewWindow(limit int, timeout time.Duration) *Window {
	limit = max(limit, 1)
	size := 1
	for size < 2*limit {
		size <<= 1
	}
	return &Window{slots: make([]slot, size), mask: uint64(size - 1), limit: limit, timeout: int64(timeout)}
}

// Room is how many requests may be sent now.
func (w *Window) Room() int {
	byLimit := w.limit - w.inflight
	byRing := len(w.slots) - int(w.next-w.oldest)
	return max(min(byLimit, byRing), 0)
}

// InFlight is the number of requests awaiting a reply.
func (w *Window) InFlight() int { return w.inflight }

// Send records a request sent at now (nanoseconds on any monotonic
// scale) and returns its sequence number. The caller checks Room first.
func (w *Window) Send(now int64) uint64 {
	seq := w.next
	w.next++
	w.slots[seq&w.mask] = slot{seq: seq, sent: now, live: true}
	w.inflight++
	w.counts.Sent++
	return seq
}

// Receive records a reply to seq and reports whether it answered a
// request in flight.
func (w *Window) Receive(seq uint64) bool {
	if seq < w.oldest || seq >= w.next {
		w.counts.Stray++
		return false
	}
	s := &w.slots[seq&w.mask]
	if !s.live || s.seq != seq {
		w.counts.Stray++
		return false
	}
	s.live = false
	w.inflight--
	w.counts.Received++
	w.advance()
	return true
}

// Expire counts the requests older than the timeout at now as lost.
func (w *Window) Expire(now int64) {
	for w.oldest < w.next {
		s := &w.slots[w.oldest&w.mask]
		if s.live {
			if now-s.sent <= w.timeout {
				return
			}
			s.live = false
			w.inflight--
			w.counts.Lost++
		}
		w.oldest++
	}
}

// ExpireAll counts every request still in flight as lost.
func (w *Window) ExpireAll() {
	for ; w.oldest < w.next; w.oldest++ {
		s := &w.slots[w.oldest&w.mask]
		if s.live {
			s.live = false
			w.inflight--
			w.counts.Lost++
		}
	}
}

// advance moves oldest past answered requests.
func (w *Window) advance() {
	for w.oldest < w.next && !w.slots[w.oldest&w.mask].live {
		w.oldest++
	}
}

// Counts returns the accounting so far.
func (w *Window) Counts() Counts { return w.counts }
