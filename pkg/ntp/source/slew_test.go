package source

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSlewTime(t *testing.T) {
	when := t0.Add(100 * time.Second)
	tests := []struct {
		name    string
		ts      time.Time
		dfreq   float64
		doffset float64
		want    time.Time
	}{
		{"zero stays zero", time.Time{}, 1e-3, 0.5, time.Time{}},
		{"offset moves back", t0, 0, 1e-3, t0.Add(-time.Millisecond)},
		{"negative offset moves forward", t0, 0, -2e-6, t0.Add(2 * time.Microsecond)},
		{"frequency scales the age", t0, 1e-6, 0, t0.Add(100 * time.Microsecond)},
		{"both", t0, -1e-6, 1e-4, t0.Add(-200 * time.Microsecond)},
		{"at the correction", when, 1e-3, 0, when},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, slewTime(tc.ts, when, tc.dfreq, tc.doffset))
		})
	}
}

func TestSlewTimesMovesStoredTimestamps(t *testing.T) {
	src, err := New(serverAddr, DefaultOptions(ModePeer), env())
	require.NoError(t, err)
	src.localRx.Time = t0
	src.localTx.Time = t0.Add(time.Second)
	src.prevLocalTx.Time = t0.Add(2 * time.Second)
	src.SlewTimes(t0.Add(10*time.Second), 0, 1e-3)
	assert.Equal(t, t0.Add(-time.Millisecond), src.localRx.Time)
	assert.Equal(t, t0.Add(time.Second-time.Millisecond), src.localTx.Time)
	assert.Equal(t, t0.Add(2*time.Second-time.Millisecond), src.prevLocalTx.Time)
	assert.True(t, src.initLocalRx.Time.IsZero(), "no timestamp stays absent")
}

// TestInterleavedAcrossClockCorrection corrects the local clock between
// two interleaved exchanges. The interleaved response measures the previous
// exchange from stored local timestamps, so they must follow the clock into
// its new timescale or the sample carries the whole correction as error.
func TestInterleavedAcrossClockCorrection(t *testing.T) {
	const correction = 1e-3 // the clock was this fast and is moved back
	opts := DefaultOptions(ModeClient)
	opts.XLeave = true
	h := newHarness(t, opts, env())
	h.srv.interleaved = true
	h.srv.offset = -0.003
	for i := 0; i < 3; i++ {
		h.step()
	}
	require.NotEmpty(t, h.samples)
	for _, s := range h.samples {
		assert.InDelta(t, 0.003, s.Offset, 1e-8)
	}
	h.src.SlewTimes(h.now, 0, correction)
	before := len(h.samples)
	shift := secondsToDuration(correction) // true time = local time + shift
	for i := 0; i < 3; i++ {
		require.True(t, h.armed)
		local := h.timer
		h.now, h.armed = local, false
		for _, tx := range h.apply(h.src.HandleTimer(local)) {
			srvRx := local.Add(shift + h.delay)
			srvTx := srvRx.Add(30 * time.Microsecond)
			resp := h.srv.respond(t, tx.Packet, srvRx, srvTx)
			cliRx := srvTx.Add(h.delay - shift)
			h.apply(h.src.HandleIncoming(resp, tx.To, RxInfo{Time: cliRx, Source: TimestampKernel, Local: clientAddr}))
		}
	}
	after := h.samples[before:]
	require.Len(t, after, 3)
	for _, s := range after {
		assert.InDelta(t, 0.003-correction, s.Offset, 1e-8, "offset in the corrected timescale")
		assert.InDelta(t, 0.001, s.PeerDelay, 1e-8)
	}
}

func TestResetInstanceForgetsTimestamps(t *testing.T) {
	opts := DefaultOptions(ModeClient)
	opts.XLeave = true
	h := newHarness(t, opts, env())
	h.srv.interleaved = true
	for i := 0; i < 3; i++ {
		h.step()
	}
	require.True(t, h.src.NTPReport().Interleaved)
	reach, _ := h.src.Reach()
	poll := h.src.Poll()

	h.src.ResetInstance()
	assert.Zero(t, h.src.remoteNTPRx)
	assert.True(t, h.src.localRx.Time.IsZero())
	assert.False(t, h.src.validTimestamps)
	gotReach, _ := h.src.Reach()
	assert.Equal(t, reach, gotReach, "reachability kept")
	assert.Equal(t, poll, h.src.Poll(), "polling interval kept")

	// The next request cannot name an earlier exchange, so it is answered
	// in basic mode and still gives a good sample.
	before := len(h.samples)
	h.step()
	assert.Zero(t, decodeHeader(h.sent[len(h.sent)-1].Packet).origin)
	assert.False(t, h.src.NTPReport().Interleaved)
	assert.Len(t, h.samples, before+1)
}
