package selection

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
	"github.com/stretchr/testify/require"
)

// The files in testdata/chrony-diff hold scripted scenarios (*.script.gz) and
// what chronyd 4.8's own sources.c and sourcestats.c printed and logged for
// them (*.out.gz, *.log.gz, and for some *.selection.log.gz and
// *.statistics.log.gz without their headers and banners), recorded by driving its code
// through a small local harness that is deliberately kept out of this
// repository (it builds chrony's GPL code). The test
// replays every script through Selector and expects the same states, scores,
// intervals, statistics, reference updates, filtered samples, dumps, log
// messages and log files.
//
// Script operations (times in seconds, offsets with the local-ahead sign):
//
//	opts MINSOURCES MAXDIST MAXJITTER RESELECTDIST STRATUMWEIGHT COMBINELIMIT ORPHANSTRATUM
//	localrefid HEX (the local reference ID used by orphan mode)
//	add AUTH OPTIONS [ASYMMETRY MINDELAY]
//	reach I REACHABLE TIME
//	status I STRATUM LEAP
//	sample I TIME OFFSET PEERDELAY PEERDISP ROOTDELAY ROOTDISP
//	select I|-1 TIME
//	slew TIME DFREQ DOFFSET (a clock correction applied to all sources)
//	disp DISPERSION
//	dump I (the sample history in the dump file format)
//	step TIME (a clock step by an unknown amount)
//	fcreate MINSAMPLES MAXSAMPLES MAXDISP COMBINERATIO (a sample filter)
//	faccum TIME OFFSET PEERDELAY PEERDISP ROOTDELAY ROOTDISP
//	fslew TIME DFREQ DOFFSET
//	fget
func TestChronyDifferential(t *testing.T) {
	scripts, err := filepath.Glob(filepath.Join("testdata", "chrony-diff", "*.script.gz"))
	require.NoError(t, err)
	require.NotEmpty(t, scripts)
	for _, script := range scripts {
		name := strings.TrimSuffix(filepath.Base(script), ".script.gz")
		t.Run(name, func(t *testing.T) {
			base := strings.TrimSuffix(script, ".script.gz")
			want := readGzipLines(t, base+".out.gz")
			wantLog := readGzipLines(t, base+".log.gz")
			require.True(t, strings.HasPrefix(want[0], "PRECISION "))
			precision, err := strconv.ParseFloat(strings.Fields(want[0])[1], 64)
			require.NoError(t, err)

			got, gotLog, gotFiles := replay(t, script, precision)
			compareGroups(t, groupByOp(want[1:]), groupByOp(got))
			for _, file := range []string{"selection", "statistics"} {
				path := base + "." + file + ".log.gz"
				if _, err := os.Stat(path); err != nil {
					continue
				}
				want, got := readGzipLines(t, path), gotFiles[file]
				for i := 0; i < min(len(want), len(got)); i++ {
					require.Equal(t, want[i], got[i], "%s.log line %d", file, i+1)
				}
				require.Len(t, got, len(want), "%s.log lines", file)
			}

			var wantMsgs []string
			for _, l := range wantLog {
				// Strip chronyd's "YYYY-MM-DDTHH:MM:SSZ " prefix.
				if _, msg, ok := strings.Cut(l, "Z "); ok {
					wantMsgs = append(wantMsgs, msg)
				}
			}
			require.Equal(t, wantMsgs, gotLog)
		})
	}
}

func readGzipLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	var lines []string
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.NoError(t, sc.Err())
	return lines
}

// scriptTime converts seconds as chrony's UTI_DoubleToTimespec does.
func scriptTime(s string) time.Time {
	d, _ := strconv.ParseFloat(s, 64)
	sec := math.Trunc(d)
	return time.Unix(int64(sec), int64(1e9*(d-sec)))
}

func replay(t *testing.T, script string, precision float64) (out, msgs []string, files map[string][]string) {
	t.Helper()
	lines := readGzipLines(t, script)
	opts := DefaultOptions()
	var sel *Selector
	var srcs []*Source
	var localRefID uint32
	var filter *sourcestats.Filter
	sample := func(f []string, atof func(int) float64) discipline.Sample {
		return discipline.Sample{Time: scriptTime(f[0]), Offset: atof(1), PeerDelay: atof(2),
			PeerDispersion: atof(3), RootDelay: atof(4), RootDispersion: atof(5)}
	}
	emit := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	logEvents := func(ev []Event) {
		for _, e := range ev {
			msgs = append(msgs, e.Message)
		}
	}
	files = map[string][]string{}
	result := func(r Result) {
		logEvents(r.Events)
		files["selection"] = append(files["selection"], r.SelectionLog...)
		for _, b := range r.BadSources {
			emit("BAD %s", b)
		}
		if r.Unsynchronised {
			emit("UNSYNC")
		}
		if u := r.Update; u != nil {
			emit("REF %d %d %d %08x %d.%09d %.12g %.12g %.12g %.12g %.12g %.12g %.12g", u.Stratum, u.Leap,
				u.Combined, u.RefID, u.RefTime.Unix(), u.RefTime.Nanosecond(), u.Offset, u.OffsetSD,
				u.Frequency, u.FrequencySD, u.Skew, u.RootDelay, u.RootDispersion)
		}
	}
	state := func() {
		var b strings.Builder
		for _, s := range srcs {
			b.WriteString(s.Status().String())
		}
		idx := -1
		for i, s := range srcs {
			if s == sel.Selected() {
				idx = i
			}
		}
		line := fmt.Sprintf("S %s %d", b.String(), idx)
		for _, s := range srcs {
			r := s.SelectReport()
			line += fmt.Sprintf(" %.12g %.12g %.12g", r.Score, r.LoLimit, r.HiLimit)
		}
		out = append(out, line)
	}
	for _, line := range lines {
		f := strings.Fields(line)
		out = append(out, "== "+line)
		atoi := func(i int) int { v, _ := strconv.Atoi(f[i]); return v }
		atof := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v }
		switch f[0] {
		case "opts":
			opts.MinSources = atoi(1)
			opts.MaxDistance = atof(2)
			opts.MaxJitter = atof(3)
			opts.ReselectDistance = atof(4)
			opts.StratumWeight = atof(5)
			opts.CombineLimit = atof(6)
			sel = New(opts)
			sel.SetOrphanStratum(atoi(7))
			sel.SetSelectionLog(true)
		case "localrefid":
			v, err := strconv.ParseUint(f[1], 16, 32)
			require.NoError(t, err)
			localRefID = uint32(v)
		case "add":
			if sel == nil {
				sel = New(opts)
			}
			i := len(srcs)
			addr := netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i)})
			st := sourcestats.DefaultOptions()
			st.Precision = precision
			st.MaxJitter = opts.MaxJitter
			if len(f) > 4 {
				st.Asymmetry = atof(3)
				st.MinDelay = atof(4)
			}
			src := sel.Add(SourceConfig{
				Type: TypeNTP, RefID: 0xCB007101 + uint32(i), Addr: addr,
				Authenticated: atoi(1) != 0, Options: SelectOptions(atoi(2)),
				MaxUnreach: -1, Stats: st,
			})
			sel.SetActive(src, true)
			src.SetLocalRefID(localRefID)
			srcs = append(srcs, src)
		case "reach":
			result(sel.UpdateReachability(srcs[atoi(1)], atoi(2) != 0, scriptTime(f[3])))
			state()
		case "status":
			if leap, vote := sel.UpdateStatus(srcs[atoi(1)], atoi(2), discipline.LeapStatus(atoi(3)), false); vote {
				emit("LEAP %d", leap)
			}
		case "sample":
			i := atoi(1)
			now := scriptTime(f[2])
			logEvents(sel.AccumulateSample(srcs[i], discipline.Sample{
				Time: now, Offset: atof(3), PeerDelay: atof(4), PeerDispersion: atof(5),
				RootDelay: atof(6), RootDispersion: atof(7),
			}))
			if rec, ok := srcs[i].Stats().LastStatistics(); ok {
				files["statistics"] = append(files["statistics"], rec.Line(srcs[i].String()))
			}
			r := srcs[i].Stats().Report(now)
			emit("SST %d %d %d %d %.12g %.12g %.12g %.12g %.12g", i, r.NP, r.NR, r.Span,
				r.FrequencyPPM, r.SkewPPM, r.Offset, r.OffsetErr, r.StdDev)
			st := srcs[i].Stats()
			later := now.Add(10 * time.Second)
			lo, hi := st.FrequencyRange()
			emit("SSX %d %.12g %.12g %.12g %.12g %.12g", i, st.JitterAsymmetry(), lo, hi,
				st.MinRoundTripDelay(), st.PredictOffset(later))
			if d, ok := st.DelayTestData(later); ok {
				emit("DT %d %.12g %.12g %.12g %.12g %.12g", i, d.LastSampleAgo, d.PredictedOffset,
					d.MinDelay, d.Skew, d.StdDev)
			}
		case "slew":
			sel.SlewSamples(scriptTime(f[1]), atof(2), atof(3))
		case "dump":
			var b strings.Builder
			if err := srcs[atoi(1)].Stats().SaveTo(&b); err == nil {
				out = append(out, strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")...)
			}
		case "disp":
			sel.AddDispersion(atof(1))
		case "step":
			result(sel.UnknownStep(scriptTime(f[1])))
			state()
		case "fcreate":
			filter = sourcestats.NewFilter(sourcestats.FilterOptions{MinSamples: atoi(1),
				MaxSamples: atoi(2), MaxDispersion: atof(3), CombineRatio: atof(4), Precision: precision})
		case "faccum":
			ok := filter.Accumulate(sample(f[1:], func(i int) float64 { return atof(i + 1) }))
			if ok {
				emit("FACC 1")
			} else {
				emit("FACC 0")
			}
		case "fslew":
			filter.SlewSamples(scriptTime(f[1]), atof(2), atof(3))
		case "fget":
			if s, ok := filter.Filtered(); ok {
				emit("FILT %d.%09d %.12g %.12g %.12g %.12g %.12g %.12g", s.Time.Unix(), s.Time.Nanosecond(),
					s.Offset, s.PeerDelay, s.PeerDispersion, s.RootDelay, s.RootDispersion,
					filter.AvgSampleDispersion())
			} else {
				emit("FILT FAIL")
			}
		case "select":
			var upd *Source
			if i := atoi(1); i >= 0 {
				upd = srcs[i]
			}
			result(sel.Select(scriptTime(f[2]), upd))
			state()
		default:
			t.Fatalf("unknown operation %q", line)
		}
	}
	return out, msgs, files
}

// groupByOp splits the output into one group per script operation.
func groupByOp(lines []string) [][]string {
	var groups [][]string
	for _, l := range lines {
		if strings.HasPrefix(l, "== ") || len(groups) == 0 {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], l)
	}
	return groups
}

// compareGroups compares the outputs of each operation, ignoring the order
// of lines within an operation, with numbers equal to a relative 1e-12
// (the outputs are printed with 12 significant digits).
func compareGroups(t *testing.T, want, got [][]string) {
	t.Helper()
	require.Equal(t, len(want), len(got), "number of operations")
	for i := range want {
		w := append([]string(nil), want[i]...)
		g := append([]string(nil), got[i]...)
		sort.Strings(w[1:])
		sort.Strings(g[1:])
		if len(w) != len(g) {
			t.Fatalf("operation %d %q:\nchrony: %q\nours:   %q", i, w[0], w, g)
		}
		for j := range w {
			if !sameLine(w[j], g[j]) {
				t.Fatalf("operation %d %q line %d:\nchrony: %s\nours:   %s", i, w[0], j, w[j], g[j])
			}
		}
	}
}

func sameLine(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		if fa[i] == fb[i] {
			continue
		}
		x, errX := strconv.ParseFloat(fa[i], 64)
		y, errY := strconv.ParseFloat(fb[i], 64)
		if errX != nil || errY != nil {
			return false
		}
		if math.Abs(x-y) > 1e-12*math.Max(math.Abs(x), math.Abs(y))+1e-15 {
			return false
		}
	}
	return true
}
