package server

import (
	"sync"
	"time"

	"github.com/chronygo/chronygo/pkg/ntp/wire"
)

// txEntry remembers the transmit time of one response, keyed by the receive
// timestamp that response carried.
type txEntry struct {
	rx       wire.Timestamp
	tx       int64 // Unix nanoseconds; 0 when not valid
	src      TimestampSource
	disabled bool
}

// TxMemory is the server's memory of transmit timestamps for interleaved
// mode: a client in interleaved mode sends back our receive timestamp as its
// origin timestamp, and gets in return the precise transmit time of our
// previous response. It is a fixed-size, direct-mapped table (a newer entry
// replaces an older one that hashes to the same place) guarded by striped
// locks, so it never allocates after creation.
type TxMemory struct {
	locks   [lockStripes]sync.Mutex
	entries []txEntry
	mask    uint64
	stats   *Stats
}

// NewTxMemory creates a memory of size entries (rounded down to a power of
// two, at least 16).
func NewTxMemory(size int, stats *Stats) *TxMemory {
	n := 16
	for n*2 <= size {
		n *= 2
	}
	return &TxMemory{entries: make([]txEntry, n), mask: uint64(n - 1), stats: stats}
}

func (m *TxMemory) index(rx wire.Timestamp) uint64 {
	h := uint64(rx) * 0x9E3779B97F4A7C15
	return (h >> 32) & m.mask
}

func (m *TxMemory) lock(i uint64) *sync.Mutex { return &m.locks[i%lockStripes] }

// validTx returns tx as Unix nanoseconds when it lies within two seconds of
// the receive time, as chronyd requires, else 0.
func validTx(rx wire.Timestamp, tx time.Time) int64 {
	if tx.IsZero() {
		return 0
	}
	rxTime := rx.Time(tx)
	d := tx.Sub(rxTime)
	if d <= -2*time.Second || d >= 2*time.Second {
		return 0
	}
	return tx.UnixNano()
}

// Save records that the response carrying receive timestamp rx was sent at
// tx. If rx is already known, the entry is disabled instead, to avoid
// answering with a wrong transmit timestamp.
func (m *TxMemory) Save(rx wire.Timestamp, tx time.Time, src TimestampSource) {
	if rx == 0 {
		return
	}
	i := m.index(rx)
	mu := m.lock(i)
	mu.Lock()
	defer mu.Unlock()
	e := &m.entries[i]
	if e.rx == rx {
		e.disabled = true
		return
	}
	if e.rx == 0 && m.stats != nil {
		m.stats.timestamps.Add(1)
	}
	*e = txEntry{rx: rx, tx: validTx(rx, tx), src: src}
}

// maxTxDelay is the longest accepted delay of a kernel transmit timestamp
// after the daemon's estimate of the transmit time.
const maxTxDelay = time.Second

// UpdateTx replaces the transmit time of the response that carried rx with
// a more accurate one (a kernel transmit timestamp), if it follows the saved
// estimate by no more than a second, as chronyd requires. It reports whether
// the timestamp was used.
func (m *TxMemory) UpdateTx(rx wire.Timestamp, tx time.Time, src TimestampSource) bool {
	if rx == 0 {
		return false
	}
	i := m.index(rx)
	mu := m.lock(i)
	mu.Lock()
	defer mu.Unlock()
	e := &m.entries[i]
	if e.rx != rx || e.tx == 0 {
		return false
	}
	delay := tx.Sub(time.Unix(0, e.tx))
	if delay < 0 || delay > maxTxDelay {
		return false
	}
	if v := validTx(rx, tx); v != 0 {
		e.tx, e.src = v, src
		return true
	}
	return false
}

// Take looks up rx. When it is known and not disabled, it returns the
// transmit time (zero if not valid) and its source, and disables the entry so
// that only one interleaved response uses it.
func (m *TxMemory) Take(rx wire.Timestamp) (time.Time, TimestampSource, bool) {
	if rx == 0 {
		return time.Time{}, 0, false
	}
	i := m.index(rx)
	mu := m.lock(i)
	mu.Lock()
	defer mu.Unlock()
	e := &m.entries[i]
	if e.rx != rx || e.disabled {
		return time.Time{}, 0, false
	}
	e.disabled = true
	var tx time.Time
	if e.tx != 0 {
		tx = time.Unix(0, e.tx).UTC()
	}
	return tx, e.src, true
}

// Reset forgets every timestamp (after an unknown step of the clock).
func (m *TxMemory) Reset() {
	for s := range m.locks {
		m.locks[s].Lock()
	}
	clear(m.entries)
	if m.stats != nil {
		m.stats.timestamps.Store(0)
	}
	for s := range m.locks {
		m.locks[s].Unlock()
	}
}

// SpanSeconds returns the time between the oldest and the newest saved
// timestamps, in whole seconds (chronyc serverstats). It scans the table, so
// it is meant for occasional reports.
func (m *TxMemory) SpanSeconds() uint64 {
	var lo, hi wire.Timestamp
	found := false
	for s := range m.locks {
		m.locks[s].Lock()
		for i := s; i < len(m.entries); i += lockStripes {
			rx := m.entries[i].rx
			if rx == 0 {
				continue
			}
			if !found || int64(rx-lo) < 0 {
				lo = rx
			}
			if !found || int64(rx-hi) > 0 {
				hi = rx
			}
			found = true
		}
		m.locks[s].Unlock()
	}
	if !found {
		return 0
	}
	return uint64(hi-lo) >> 32
}
