package sourcestats

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// SaveTo writes the sample history in chronyd's dump format (the part of a
// dumpdir .dat file after the source header): a line "NP ASYMRUN" and one
// line per sample "TIME OFFSET ORIGOFFSET PEERDELAY PEERDISP ROOTDELAY
// ROOTDISP". It writes nothing and returns ErrNoSamples without samples.
func (s *Stats) SaveTo(w io.Writer) error {
	if s.n < 1 {
		return ErrNoSamples
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%d %d\n", s.n, s.asymRun)
	for i := 0; i < s.n; i++ {
		p := s.active(i)
		fmt.Fprintf(bw, "%s %.6e %.6e %.6e %.6e %.6e %.6e\n",
			formatTime(p.time), p.offset, p.origOffset, p.peerDelay,
			p.peerDispersion, p.rootDelay, p.rootDispersion)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing sample history: %w", err)
	}
	return nil
}

// ErrNoSamples is returned by SaveTo when there is nothing to save.
var ErrNoSamples = errors.New("no samples to save")

// LoadFrom replaces the history with samples read in the format of SaveTo
// and runs the regression. now is the current (cooked) time: samples from
// the future, out of order or with insane values make the load fail, which
// leaves the statistics reset.
func (s *Stats) LoadFrom(r *bufio.Reader, now time.Time) error {
	s.Reset()
	line, err := readLine(r)
	if err != nil {
		return fmt.Errorf("reading sample count: %w", err)
	}
	var n, arun int
	if _, err := fmt.Sscanf(line, "%d %d", &n, &arun); err != nil {
		return fmt.Errorf("parsing sample count %q: %w", line, err)
	}
	if n < 1 || n > MaxSamples {
		return fmt.Errorf("invalid sample count %d", n)
	}
	pts := make([]point, 0, n)
	for i := 0; i < n; i++ {
		line, err := readLine(r)
		if err != nil {
			return fmt.Errorf("reading sample %d: %w", i+1, err)
		}
		p, err := parsePoint(line)
		if err != nil {
			return fmt.Errorf("sample %d: %w", i+1, err)
		}
		if !saneTime(now, p.time) || !(math.Abs(p.offset) < maxSaneOffset) ||
			float64(p.time.Unix())-p.offset < 0 || p.time.After(now) {
			return fmt.Errorf("sample %d: time or offset out of range", i+1)
		}
		for _, v := range []float64{p.peerDelay, p.peerDispersion, p.rootDelay, p.rootDispersion} {
			if !(math.Abs(v) < 1e6) {
				return fmt.Errorf("sample %d: delay or dispersion out of range", i+1)
			}
		}
		if i > 0 && !p.time.After(pts[i-1].time) {
			return fmt.Errorf("sample %d: not newer than the previous one", i+1)
		}
		pts = append(pts, p)
	}
	s.hist = append(s.hist[:0], pts...)
	s.n = n
	s.asymRun = min(max(arun, -maxAsymmetryRun), maxAsymmetryRun)
	s.findMinDelay()
	s.DoNewRegression()
	return nil
}

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func parsePoint(line string) (point, error) {
	f := strings.Fields(line)
	if len(f) != 7 {
		return point{}, fmt.Errorf("expected 7 fields, got %d", len(f))
	}
	t, err := parseTime(f[0])
	if err != nil {
		return point{}, err
	}
	var v [6]float64
	for i := range v {
		v[i], err = strconv.ParseFloat(f[i+1], 64)
		if err != nil {
			return point{}, fmt.Errorf("parsing %q: %w", f[i+1], err)
		}
	}
	return point{time: t, offset: v[0], origOffset: v[1], peerDelay: v[2],
		peerDispersion: v[3], rootDelay: v[4], rootDispersion: v[5]}, nil
}

// formatTime prints t as chrony's UTI_TimespecToString: seconds.nanoseconds.
func formatTime(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// parseTime reads seconds with an optional fraction, exactly to the
// nanosecond when the fraction has at most 9 digits.
func parseTime(s string) (time.Time, error) {
	secStr, fracStr, hasFrac := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secStr, 10, 64)
	if err == nil && (!hasFrac || (len(fracStr) <= 9 && isDigits(fracStr))) {
		nsec := int64(0)
		if hasFrac && fracStr != "" {
			nsec, _ = strconv.ParseInt(fracStr+strings.Repeat("0", 9-len(fracStr)), 10, 64)
		}
		return time.Unix(sec, nsec), nil
	}
	f, ferr := strconv.ParseFloat(s, 64)
	if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e12 {
		return time.Time{}, fmt.Errorf("invalid sample time %q", s)
	}
	whole := math.Floor(f)
	return time.Unix(int64(whole), int64(math.Round((f-whole)*1e9))), nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// saneTime checks that t is after 1970 and within 2^32 s of ref (chrony's
// UTI_IsTimeOffsetSane, without the NTP era check).
func saneTime(ref, t time.Time) bool {
	off := t.Sub(ref).Seconds()
	return off > -maxSaneOffset && off < maxSaneOffset && t.Unix() >= 0
}
