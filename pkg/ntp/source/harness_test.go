package source

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/auth"
	"github.com/stretchr/testify/require"
)

var (
	serverAddr = netip.MustParseAddr("203.0.113.1")
	clientAddr = netip.MustParseAddr("198.51.100.7")
	t0         = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
)

// fakeServer answers client requests like a chronyd server whose clock is
// offset seconds ahead of true time, optionally in interleaved mode.
type fakeServer struct {
	offset      float64
	stratum     int
	leap        discipline.LeapStatus
	refID       uint32
	rootDelay   float64
	rootDisp    float64
	precision   int8
	poll        int8
	key         *auth.Key
	interleaved bool
	// monoEpoch, when non-zero, makes the server answer F323 requests;
	// monoOffset is its monotonic clock minus its real-time clock.
	monoEpoch  uint32
	monoOffset float64
	// mutate edits the response header before signing.
	mutate func(b []byte)

	lastRxNTP uint64    // receive timestamp put in the last response
	lastTx    time.Time // server-clock transmit time of the last response
}

func newFakeServer() *fakeServer {
	return &fakeServer{stratum: 1, refID: 0x47505300, precision: -24, rootDisp: 1e-5, poll: 6}
}

func (f *fakeServer) clock(trueTime time.Time) time.Time {
	return trueTime.Add(secondsToDuration(f.offset))
}

// respond builds the response to req received at true time rx and sent at
// true time tx.
func (f *fakeServer) respond(t testing.TB, req []byte, rx, tx time.Time) []byte {
	t.Helper()
	reqH := decodeHeader(req)
	b := make([]byte, 48)
	b[0] = byte(f.leap)<<6 | byte(reqH.version)<<3 | modeServer
	b[1] = byte(f.stratum)
	b[2] = byte(f.poll)
	b[3] = byte(f.precision)
	binary.BigEndian.PutUint32(b[4:], secondsToNTPShort(f.rootDelay))
	binary.BigEndian.PutUint32(b[8:], secondsToNTPShort(f.rootDisp))
	binary.BigEndian.PutUint32(b[12:], f.refID)
	binary.BigEndian.PutUint64(b[16:], toNTP64(f.clock(rx).Add(-time.Minute)))
	rxNTP := toNTP64(f.clock(rx))
	interleaved := f.interleaved && reqH.origin != 0 && reqH.origin == f.lastRxNTP && !f.lastTx.IsZero()
	if interleaved {
		binary.BigEndian.PutUint64(b[24:], reqH.receive)
		binary.BigEndian.PutUint64(b[40:], toNTP64(f.lastTx))
	} else {
		binary.BigEndian.PutUint64(b[24:], reqH.transmit)
		binary.BigEndian.PutUint64(b[40:], toNTP64(f.clock(tx)))
	}
	binary.BigEndian.PutUint64(b[32:], rxNTP)
	f.lastRxNTP = rxNTP
	f.lastTx = f.clock(tx)
	if f.mutate != nil {
		f.mutate(b)
	}
	if f.monoEpoch != 0 && len(req) >= 48+28 && binary.BigEndian.Uint16(req[48:]) == efMonoRoot {
		ef := make([]byte, 28)
		binary.BigEndian.PutUint16(ef[0:], efMonoRoot)
		binary.BigEndian.PutUint16(ef[2:], 28)
		binary.BigEndian.PutUint32(ef[4:], efMonoRootMagic)
		binary.BigEndian.PutUint32(ef[8:], uint32(f.rootDelay*(1<<28)))
		binary.BigEndian.PutUint32(ef[12:], uint32(f.rootDisp*(1<<28)))
		binary.BigEndian.PutUint64(ef[16:], toNTP64(f.clock(rx).Add(secondsToDuration(f.monoOffset))))
		binary.BigEndian.PutUint32(ef[24:], f.monoEpoch)
		b = append(b, ef...)
	}
	if f.key != nil {
		signed, err := auth.Sign(b, f.key)
		require.NoError(t, err)
		b = signed
	}
	return b
}

// harness drives one client Source against a fakeServer over a symmetric
// network path with the given one-way delay.
type harness struct {
	t           testing.TB
	src         *Source
	srv         *fakeServer
	now         time.Time
	delay       time.Duration
	timer       time.Time
	armed       bool
	samples     []discipline.Sample
	reach       []Reachability
	kods        []KissOfDeath
	meas        []Measurement
	corrections []float64
	sent        []Transmit
	txOffset    time.Duration // added to the TX time reported back (0 = none)
	lost        bool          // drop responses
}

func newHarness(t testing.TB, opts Options, env Env) *harness {
	t.Helper()
	src, err := New(serverAddr, opts, env)
	require.NoError(t, err)
	h := &harness{t: t, src: src, srv: newFakeServer(), now: t0, delay: 500 * time.Microsecond}
	h.apply(src.Start(h.now))
	return h
}

func (h *harness) apply(acts []Action) []Transmit {
	var tx []Transmit
	for _, a := range acts {
		switch a := a.(type) {
		case SetTimer:
			h.timer, h.armed = a.At, true
		case CancelTimer:
			h.armed = false
		case DeliverSample:
			h.samples = append(h.samples, a.Sample)
		case Reachability:
			h.reach = append(h.reach, a)
		case KissOfDeath:
			h.kods = append(h.kods, a)
		case Measurement:
			h.meas = append(h.meas, a)
		case CorrectOffset:
			h.corrections = append(h.corrections, a.Delta)
		case Transmit:
			tx = append(tx, a)
			h.sent = append(h.sent, a)
		}
	}
	return tx
}

// step fires the timer and completes the exchange; it returns the interval
// waited before the timer fired.
func (h *harness) step() time.Duration {
	h.t.Helper()
	require.True(h.t, h.armed, "timer armed")
	waited := h.timer.Sub(h.now)
	h.now = h.timer
	h.armed = false
	txs := h.apply(h.src.HandleTimer(h.now))
	for _, tx := range txs {
		sendTime := h.now
		if h.txOffset != 0 {
			h.src.HandleTxTimestamp(TxInfo{Seq: tx.Seq, Time: h.now.Add(h.txOffset), Source: TimestampKernel})
			sendTime = h.now.Add(h.txOffset)
		}
		if h.lost {
			continue
		}
		srvRx := sendTime.Add(h.delay)
		srvTx := srvRx.Add(30 * time.Microsecond)
		resp := h.srv.respond(h.t, tx.Packet, srvRx, srvTx)
		cliRx := srvTx.Add(h.delay)
		h.apply(h.src.HandleIncoming(resp, tx.To, RxInfo{Time: cliRx, Source: TimestampKernel, Local: clientAddr}))
	}
	return waited
}

// fakeStats is a configurable Stats.
type fakeStats struct {
	samples    int
	after      int // SamplesAfter's answer when > 0
	predict    float64
	delayData  DelayTestData
	haveDelay  bool
	freqLo     float64
	freqHi     float64
	minDelay   float64
	selected   bool
	asymmetric float64
}

func (f *fakeStats) Samples() int { return f.samples }
func (f *fakeStats) SamplesAfter(discipline.Sample) int {
	if f.after > 0 {
		return f.after
	}
	return f.samples + 1
}
func (f *fakeStats) PredictOffset(time.Time) float64 { return f.predict }
func (f *fakeStats) DelayTestData(time.Time) (DelayTestData, bool) {
	return f.delayData, f.haveDelay
}
func (f *fakeStats) FrequencyRange() (float64, float64) { return f.freqLo, f.freqHi }
func (f *fakeStats) MinRoundTripDelay() float64         { return f.minDelay }
func (f *fakeStats) JitterAsymmetry() float64           { return f.asymmetric }
func (f *fakeStats) Selected() bool                     { return f.selected }
