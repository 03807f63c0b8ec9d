package sourcestats

import (
	"fmt"
	"time"
)

// StatisticsLogHeader is the column header chronyd writes in statistics.log
// (log statistics).
const StatisticsLogHeader = "   Date (UTC) Time     IP Address    Std dev'n Est offset  Offset sd  Diff freq   Est skew  Stress  Ns  Bs  Nr  Asym"

// StatisticsRecord is one line of statistics.log: the result of a successful
// regression.
type StatisticsRecord struct {
	// Time is the time of the newest sample.
	Time time.Time
	// StdDev, Offset and OffsetSD are in seconds.
	StdDev, Offset, OffsetSD float64
	// Frequency and Skew are in s/s.
	Frequency, Skew float64
	// Stress is the change of frequency relative to the previous skew.
	Stress float64
	// Samples is the number of samples before dropping, BestStart how many
	// were dropped, Runs the number of runs of residuals.
	Samples, BestStart, Runs int
	// Asymmetry is the jitter asymmetry in use.
	Asymmetry float64
}

// LastStatistics returns the record of the last regression; ok is false
// when it failed.
func (s *Stats) LastStatistics() (r StatisticsRecord, ok bool) {
	return s.lastStats, s.lastStatsOK
}

// Line formats the record as chronyd does; name is the source's address or
// reference ID.
func (r StatisticsRecord) Line(name string) string {
	return fmt.Sprintf("%s %-15s %10.3e %10.3e %10.3e %10.3e %10.3e %7.1e %3d %3d %3d %5.2f",
		LogTime(r.Time), name, r.StdDev, r.Offset, r.OffsetSD, r.Frequency, r.Skew, r.Stress,
		r.Samples, r.BestStart, r.Runs, r.Asymmetry)
}

// LogTime formats a time as the first columns of chronyd's log files.
func LogTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05")
}
