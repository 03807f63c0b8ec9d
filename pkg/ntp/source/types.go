package source

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/auth"
)

// TimestampSource tells where a local timestamp came from, with the
// characters `chronyc ntpdata` shows.
type TimestampSource byte

// Timestamp sources.
const (
	TimestampDaemon   TimestampSource = 'D'
	TimestampKernel   TimestampSource = 'K'
	TimestampHardware TimestampSource = 'H'
)

// LocalTimestamp is a cooked local time with its error and origin.
type LocalTimestamp struct {
	Time   time.Time
	Err    float64
	Source TimestampSource
}

// RxInfo describes how a packet was received.
type RxInfo struct {
	// Time is the cooked receive time.
	Time time.Time
	// Err is the error of Time in seconds (0 if unknown).
	Err float64
	// Source is TimestampKernel for SO_TIMESTAMPNS times, else
	// TimestampDaemon.
	Source TimestampSource
	// Local is the local address the packet arrived at (may be invalid).
	Local netip.Addr
}

// TxInfo is the improved transmit time of a sent request.
type TxInfo struct {
	// Seq identifies the Transmit action the time belongs to.
	Seq uint64
	// Time is the cooked transmit time.
	Time time.Time
	// Err is its error in seconds.
	Err float64
	// Source is TimestampKernel for error-queue timestamps, else
	// TimestampDaemon.
	Source TimestampSource
}

// DelayTestData is what the statistics provide for tests B and C
// (chronyd's SST_GetDelayTestData).
type DelayTestData struct {
	LastSampleAgo   float64
	PredictedOffset float64
	MinDelay        float64
	Skew            float64
	StdDev          float64
}

// Stats is the read-only view of the source's statistics the state
// machine needs. Offsets use chrony's sign (positive = local clock fast).
type Stats interface {
	// Samples is the number of samples held.
	Samples() int
	// SamplesAfter is the number of samples held once sample is
	// accumulated and the regression has dropped old ones (chronyd adjusts
	// the polling interval with this count).
	SamplesAfter(sample discipline.Sample) int
	// PredictOffset predicts the offset at t (0 without samples).
	PredictOffset(t time.Time) float64
	// DelayTestData returns the data of the delay tests, false when there
	// are too few samples.
	DelayTestData(t time.Time) (DelayTestData, bool)
	// FrequencyRange is the lower and upper bound of the frequency
	// offset estimate.
	FrequencyRange() (lo, hi float64)
	// MinRoundTripDelay is the smallest delay held (0 without samples).
	MinRoundTripDelay() float64
	// JitterAsymmetry is the estimated jitter asymmetry.
	JitterAsymmetry() float64
	// Selected reports whether the source is the one synchronised to.
	Selected() bool
}

// Env is what a Source needs from the daemon besides packets and time.
type Env struct {
	// Keys is the loaded keyfile (nil when none).
	Keys *auth.KeySet
	// Stats is the source's statistics (nil means none yet).
	Stats Stats
	// Reference returns the published reference (for symmetric packets and
	// the loop test); nil means unsynchronised.
	Reference func() *discipline.ReferenceSnapshot
	// Precision is the local clock's precision in seconds.
	Precision float64
	// MaxClockError is maxclockerror in s/s (chronyd's default 1e-6).
	MaxClockError float64
	// ServerSocketOpen enables the synchronisation loop test (D): it only
	// matters when we serve time.
	ServerSocketOpen bool
	// Rand supplies randomness (request cookies, timer jitter); nil seeds a
	// ChaCha8 generator from crypto/rand. The simulator passes a seeded one
	// for reproducible runs; the daemon should leave it nil.
	Rand *rand.Rand
}

// Action is an output of the state machine for the caller to apply.
type Action interface{ isAction() }

// Transmit asks the shell to send Packet to To. Client requests go out on
// the source's client socket, peer packets (Peer) on the server socket.
type Transmit struct {
	To     netip.AddrPort
	Packet []byte
	// Seq identifies the transmission for HandleTxTimestamp.
	Seq uint64
	// Peer is true for symmetric-mode packets.
	Peer bool
	// ReceiveWindow is how long replies are worth waiting for; a client
	// socket may be closed after it.
	ReceiveWindow time.Duration
}

// SetTimer (re)arms the source's single timer: call HandleTimer at At.
// Separation is the minimum spacing chronyd keeps between timers of the
// same class (client or peer) to spread the load.
type SetTimer struct {
	At         time.Time
	Separation time.Duration
	Peer       bool
}

// CancelTimer disarms the source's timer (the source went offline).
type CancelTimer struct{}

// DeliverSample hands a good measurement to the statistics; the caller
// then runs source selection.
type DeliverSample struct {
	Sample discipline.Sample
}

// Reachability reports an update of the reachability register.
type Reachability struct {
	// Reach is the 8-bit register; Size how many bits are valid (max 8).
	Reach uint8
	Size  int
	// Unreachable is true when the register is full and all zero, the
	// point at which chronyd tries to replace a pool/named source.
	Unreachable bool
	// UnreachableRun counts consecutive updates with a zero register.
	UnreachableRun int
	// Reset is true when the register was cleared (the source went
	// offline, chronyd's SRC_ResetReachability) rather than shifted.
	Reset bool
}

// StatusUpdate reports the stratum (with minstratum applied) and leap of a
// synchronised response, and with the copy option the reference ID to use.
type StatusUpdate struct {
	Stratum int
	Leap    discipline.LeapStatus
	// RefID is non-zero only with the copy option: the server's refid.
	RefID uint32
}

// ResetStatistics asks the caller to drop the source's samples (copy
// option with an unsynchronised server, or a changed address).
type ResetStatistics struct{}

// KissOfDeath reports a KoD response. RATE makes the source back off;
// DENY and RSTR stop it (Stopped is then true, RFC 5905).
type KissOfDeath struct {
	Code    string
	Stopped bool
}

// CorrectOffset asks the caller to add Delta (seconds, chrony sign) to
// every offset held in the source's statistics before the next sample
// (chronyd's SST_CorrectOffset), separating the server's time steps from
// its frequency corrections with the F323 extension field.
type CorrectOffset struct {
	Delta float64
}

// CloseClientSocket tells the shell no more replies are expected to the
// last request.
type CloseClientSocket struct{}

func (Transmit) isAction()          {}
func (SetTimer) isAction()          {}
func (CancelTimer) isAction()       {}
func (DeliverSample) isAction()     {}
func (Reachability) isAction()      {}
func (StatusUpdate) isAction()      {}
func (ResetStatistics) isAction()   {}
func (KissOfDeath) isAction()       {}
func (CloseClientSocket) isAction() {}
func (CorrectOffset) isAction()     {}

// Tests are the packet test results of the last valid response, in
// `chronyc ntpdata` order: tests 1, 2, 3, 5, 6, 7 and A, B, C, D.
type Tests struct {
	T1, T2, T3, T5, T6, T7 bool
	A, B, C, D             bool
}

// Bits packs the tests as chronyd's report does (test 1 is bit 9).
func (t Tests) Bits() uint16 {
	var v uint16
	for _, b := range []bool{t.T1, t.T2, t.T3, t.T5, t.T6, t.T7, t.A, t.B, t.C, t.D} {
		v <<= 1
		if b {
			v |= 1
		}
	}
	return v
}

// NTPReport is the data of `chronyc ntpdata` for a source.
type NTPReport struct {
	RemoteAddr      netip.Addr
	RemotePort      uint16
	LocalAddr       netip.Addr
	Leap            discipline.LeapStatus
	Version         int
	Mode            int
	Stratum         int
	Poll            int
	Precision       int
	RootDelay       float64
	RootDispersion  float64
	RefID           uint32
	RefTime         time.Time
	Offset          float64
	PeerDelay       float64
	PeerDispersion  float64
	ResponseTime    float64
	JitterAsymmetry float64
	Tests           Tests
	Interleaved     bool
	Authenticated   bool
	TxTimestamp     TimestampSource
	RxTimestamp     TimestampSource
	TotalTx         uint32
	TotalRx         uint32
	TotalValid      uint32
	TotalGood       uint32
	TotalKernelTx   uint32
	TotalKernelRx   uint32
	TotalHardwareTx uint32
	TotalHardwareRx uint32
}

// Counters counts dropped packets by reason (beyond chronyd's report).
type Counters struct {
	Malformed    uint64
	WrongMode    uint64
	WrongAddress uint64
	Offline      uint64
	AuthFailed   uint64
	Duplicate    uint64
	Bogus        uint64
}

// SourceReport is the NTP part of a `chronyc sources` line.
type SourceReport struct {
	Mode Mode
	// Poll is the polling interval used for transmissions (log2 s).
	Poll  int
	Reach uint8
	// LastRx is the cooked time of the last good sample (zero if none).
	LastRx time.Time
	// LastSample is the last good sample, if any.
	LastSample *discipline.Sample
	Online     bool
	Stopped    bool
}
