package server

import (
	"math"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/wire"
)

// Time smoothing (smoothtime): the engine publishes the smoothing ramp in
// the reference snapshot and the server adds its offset, taken once at
// the request's cooked receive time, to the receive, transmit and
// reference timestamps of a response, serving reference ID 127.127.1.255
// while the offset exceeds the clock's precision, as chronyd does. A
// leap second being smeared (leapsecmode slew) is not announced.

// smoothed returns t moved by offset seconds (t itself for zero).
func smoothed(t time.Time, offset float64) time.Time {
	if offset == 0 || t.IsZero() {
		return t
	}
	return t.Add(time.Duration(math.Round(offset * 1e9)))
}

// smoothParams returns the smoothing offset (s) to add to the timestamps
// of a response to a client received at cooked time rx, and adjusts the
// response's reference fields: an announced leap second is hidden while
// it is smeared, and a served offset moves the reference time and gives
// reference ID 127.127.1.255. snap.Smoothing must not be nil.
func smoothParams(snap *discipline.ReferenceSnapshot, rx time.Time, p *refParams) float64 {
	if snap.Smoothing.SuppressLeap && (p.leap == discipline.LeapInsertSecond || p.leap == discipline.LeapDeleteSecond) {
		p.leap = discipline.LeapNormal
	}
	offset := snap.ServedOffset(rx)
	if offset != 0 {
		p.refID = wire.RefIDSmooth
		p.refTime = smoothed(p.refTime, offset)
	}
	return offset
}

// servedKernelTx converts a kernel transmit timestamp (raw) into the time
// saved for interleaved responses: cooked, plus the smoothing offset at
// that time (chronyd applies it there without the precision threshold).
func servedKernelTx(snap *discipline.ReferenceSnapshot, raw time.Time) time.Time {
	t := snap.Cook(raw)
	if snap != nil && snap.Smoothing != nil {
		t = smoothed(t, snap.Smoothing.OffsetAt(t))
	}
	return t
}
