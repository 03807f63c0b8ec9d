package sim

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Summary aggregates one scenario's results over several seeds.
type Summary struct {
	Scenario Scenario
	// Runs is the number of client results aggregated.
	Runs int
	// Failed counts runs with problems; Problems keeps the first few.
	Failed   int
	Problems []string
	// Mean and Worst of each statistic, in the units of Figures (s, µs,
	// µs, ppm, ppm).
	Mean, Worst Figures
}

// Summarise runs a scenario with seeds first..first+n-1.
func Summarise(sc Scenario, first uint64, n int) (Summary, error) {
	s := Summary{Scenario: sc}
	for i := 0; i < n; i++ {
		out, err := sc.Run(first + uint64(i))
		if err != nil {
			return s, fmt.Errorf("scenario %s seed %d: %w", sc.Name, first+uint64(i), err)
		}
		if len(out.Problems) > 0 {
			s.Failed++
			if len(s.Problems) < 3 {
				s.Problems = append(s.Problems, fmt.Sprintf("seed %d: %s", first+uint64(i), strings.Join(out.Problems, ", ")))
			}
		}
		for _, r := range out.Results {
			f := Figures{r.SyncTime, r.MaxTime * 1e6, r.RMSTime * 1e6, r.MaxFreq * 1e6, r.RMSFreq * 1e6}
			s.Runs++
			s.Mean.Sync += f.Sync
			s.Mean.MaxTimeUs += f.MaxTimeUs
			s.Mean.RMSTimeUs += f.RMSTimeUs
			s.Mean.MaxFreqPPM += f.MaxFreqPPM
			s.Mean.RMSFreqPPM += f.RMSFreqPPM
			s.Worst.Sync = math.Max(s.Worst.Sync, f.Sync)
			s.Worst.MaxTimeUs = math.Max(s.Worst.MaxTimeUs, f.MaxTimeUs)
			s.Worst.RMSTimeUs = math.Max(s.Worst.RMSTimeUs, f.RMSTimeUs)
			s.Worst.MaxFreqPPM = math.Max(s.Worst.MaxFreqPPM, f.MaxFreqPPM)
			s.Worst.RMSFreqPPM = math.Max(s.Worst.RMSFreqPPM, f.RMSFreqPPM)
		}
	}
	if s.Runs > 0 {
		k := float64(s.Runs)
		s.Mean = Figures{s.Mean.Sync / k, s.Mean.MaxTimeUs / k, s.Mean.RMSTimeUs / k, s.Mean.MaxFreqPPM / k, s.Mean.RMSFreqPPM / k}
	}
	return s, nil
}

// WriteTable prints summaries as a table: for each statistic the mean and
// worst over the seeds, chronyd 4.8's figure and the ratio mean/chronyd
// (below 1 is better than chronyd). The last block compares the means with
// chronyd 4.8's own means over many seeds (Scenario.Measured): sync time,
// max and RMS time error, each with the ratio.
func WriteTable(w io.Writer, sums []Summary) error {
	hdr := fmt.Sprintf("%-44s %4s %4s | %-22s | %-26s | %-26s | %-26s | %-26s | %-35s\n",
		"scenario", "runs", "fail", "sync s mean/worst/chr", "max time µs mean/worst/chr x", "rms time µs mean/worst/chr x",
		"max freq ppm mean/worst/chr x", "rms freq ppm mean/worst/chr x", "chronyd mean: sync x / max x / rms x")
	if _, err := io.WriteString(w, hdr); err != nil {
		return err
	}
	for _, s := range sums {
		r := s.Scenario.Reference
		line := fmt.Sprintf("%-44s %4d %4d | %6.0f %6.0f %6.0f    | %s | %s | %s | %s | %s\n",
			trim(s.Scenario.Name, 44), s.Runs, s.Failed,
			s.Mean.Sync, s.Worst.Sync, r.Sync,
			cell(s.Mean.MaxTimeUs, s.Worst.MaxTimeUs, r.MaxTimeUs),
			cell(s.Mean.RMSTimeUs, s.Worst.RMSTimeUs, r.RMSTimeUs),
			cell(s.Mean.MaxFreqPPM, s.Worst.MaxFreqPPM, r.MaxFreqPPM),
			cell(s.Mean.RMSFreqPPM, s.Worst.RMSFreqPPM, r.RMSFreqPPM),
			measuredCell(s.Mean, s.Scenario.Measured))
		if _, err := io.WriteString(w, line); err != nil {
			return err
		}
		for _, p := range s.Problems {
			if _, err := fmt.Fprintf(w, "    ! %s\n", p); err != nil {
				return err
			}
		}
	}
	return nil
}

// measuredCell compares the means with chronyd's measured means.
func measuredCell(mean, m Figures) string {
	if m == (Figures{}) {
		return "-"
	}
	pair := func(ours, theirs float64) string {
		return fmt.Sprintf("%6s %4s", num(theirs), ratio(ours, theirs))
	}
	return pair(mean.Sync, m.Sync) + " / " + pair(mean.MaxTimeUs, m.MaxTimeUs) + " / " + pair(mean.RMSTimeUs, m.RMSTimeUs)
}

func ratio(ours, ref float64) string {
	if ref <= 0 {
		return "   -"
	}
	return fmt.Sprintf("%4.2f", ours/ref)
}

func cell(mean, worst, ref float64) string {
	return fmt.Sprintf("%6s %6s %6s %s", num(mean), num(worst), num(ref), ratio(mean, ref))
}

// num prints a figure compactly in 6 characters.
func num(x float64) string {
	switch {
	case math.IsInf(x, 0) || math.IsNaN(x):
		return "inf"
	case x >= 1e5:
		return fmt.Sprintf("%.1e", x)
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 1:
		return fmt.Sprintf("%.2f", x)
	default:
		return fmt.Sprintf("%.3f", x)
	}
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
