package source

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
)

// MeasurementsHeader is the column header of chronyd's measurements.log.
const MeasurementsHeader = "   Date (UTC) Time     IP Address   L St 123 567 ABCD  LP RP Score    Offset  Peer del. Peer disp.  Root del. Root disp. Refid     MTxRx"

// MeasurementRecord is one line of the measurements log.
type MeasurementRecord struct {
	Time                      time.Time
	Remote                    netip.Addr
	Leap                      discipline.LeapStatus
	Stratum                   int
	Tests                     Tests
	LocalPoll, RemotePoll     int
	PollScore                 float64
	Offset                    float64
	PeerDelay, PeerDispersion float64
	RootDelay, RootDispersion float64
	RefID                     uint32
	Mode                      int
	Interleaved               bool
	TxSource, RxSource        TimestampSource
}

// Measurement is emitted for every processed response; with `log
// measurements` the caller writes it when Synced is true, and always with
// `log rawmeasurements`.
type Measurement struct {
	Record MeasurementRecord
	Synced bool
}

func (Measurement) isAction() {}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FormatMeasurement renders a record in chronyd's column format (without
// the trailing newline).
func FormatMeasurement(r MeasurementRecord) string {
	leapChars := "N+-?"
	mode := 'B'
	if r.Interleaved {
		mode = 'I'
	}
	t := r.Tests
	return fmt.Sprintf("%s %-15s %c %2d %d%d%d %d%d%d %d%d%d%d  %2d %2d %4.2f %10.3e %10.3e %10.3e %10.3e %10.3e %08X %d%c %c %c",
		r.Time.UTC().Format("2006-01-02 15:04:05"), r.Remote.String(), leapChars[r.Leap&3], r.Stratum,
		bit(t.T1), bit(t.T2), bit(t.T3), bit(t.T5), bit(t.T6), bit(t.T7),
		bit(t.A), bit(t.B), bit(t.C), bit(t.D),
		r.LocalPoll, r.RemotePoll, r.PollScore,
		r.Offset, r.PeerDelay, r.PeerDispersion, r.RootDelay, r.RootDispersion,
		r.RefID, r.Mode, mode, byte(orDaemon(r.TxSource)), byte(orDaemon(r.RxSource)))
}

// LogBanner is the three-line banner chronyd writes before a log file's
// header every `logbanner` lines: a rule of '=' as long as the header,
// the header, and the rule again.
func LogBanner(header string) string {
	rule := strings.Repeat("=", len(header))
	return rule + "\n" + header + "\n" + rule + "\n"
}
