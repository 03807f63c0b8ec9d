package testutil

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ChronycPath is the stock chronyc that tests read daemons through.
const ChronycPath = "/usr/bin/chronyc"

// Chronyc runs the stock chronyc against the command socket (bounded to
// 10 s) and returns its standard output. The error carries the command,
// its output and its standard error.
func Chronyc(socket string, args ...string) (string, error) {
	return ChronycWithin(10*time.Second, socket, args...)
}

// ChronycWithin is Chronyc with the time limit given, for tests that
// check a daemon answers promptly.
func ChronycWithin(limit time.Duration, socket string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, ChronycPath, append([]string{"-h", socket}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("chronyc -h %s %s: %w: %s%s", socket, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out), nil
}

// SourceRow is one line of "chronyc -c -n sources".
type SourceRow struct {
	// Mode is '^' (server), '=' (peer) or '#' (reference clock).
	Mode byte
	// State is '*', '+', '-', '?', 'x' or '~'.
	State   byte
	Addr    string
	Stratum int
	Poll    int
	// Reach is the 8-bit reachability register.
	Reach uint8
	// LastRx is the age of the last sample in seconds ("-" gives -1).
	LastRx int64
}

// String formats the row compactly for messages.
func (s SourceRow) String() string {
	return fmt.Sprintf("%c%c %s stratum %d reach %o last %ds", s.Mode, s.State, s.Addr, s.Stratum, s.Reach, s.LastRx)
}

// csvLines returns the non-empty lines of chronyc -c output split into
// fields, each with at least minFields fields.
func csvLines(out, what string, minFields int) ([][]string, error) {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < minFields {
			return nil, fmt.Errorf("unexpected chronyc %s line %q", what, line)
		}
		rows = append(rows, f)
	}
	return rows, nil
}

// ParseSources parses the output of "chronyc -c -n sources".
func ParseSources(out string) ([]SourceRow, error) {
	lines, err := csvLines(out, "sources", 7)
	if err != nil {
		return nil, err
	}
	rows := make([]SourceRow, 0, len(lines))
	for _, f := range lines {
		if len(f[0]) != 1 || len(f[1]) != 1 {
			return nil, fmt.Errorf("unexpected mode or state in chronyc sources line %q", strings.Join(f, ","))
		}
		stratum, err1 := strconv.Atoi(f[3])
		poll, err2 := strconv.Atoi(f[4])
		reach, err3 := strconv.ParseUint(f[5], 8, 8)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("unexpected numbers in chronyc sources line %q", strings.Join(f, ","))
		}
		lastRx := int64(-1)
		if f[6] != "-" {
			if lastRx, err = strconv.ParseInt(f[6], 10, 64); err != nil {
				return nil, fmt.Errorf("unexpected last sample age in chronyc sources line %q", strings.Join(f, ","))
			}
		}
		rows = append(rows, SourceRow{Mode: f[0][0], State: f[1][0], Addr: f[2],
			Stratum: stratum, Poll: poll, Reach: uint8(reach), LastRx: lastRx})
	}
	return rows, nil
}

// SourcestatsRow is one line of "chronyc -c -n sourcestats".
type SourcestatsRow struct {
	Addr string
	// NP is the number of samples in the regression, NR the number of
	// runs of residuals of the same sign.
	NP, NR int
	// Span is the time between the oldest and the newest sample (s).
	Span int64
}

// String formats the row compactly for messages.
func (s SourcestatsRow) String() string {
	return fmt.Sprintf("%s np %d nr %d span %ds", s.Addr, s.NP, s.NR, s.Span)
}

// ParseSourcestats parses the output of "chronyc -c -n sourcestats".
func ParseSourcestats(out string) ([]SourcestatsRow, error) {
	lines, err := csvLines(out, "sourcestats", 8)
	if err != nil {
		return nil, err
	}
	rows := make([]SourcestatsRow, 0, len(lines))
	for _, f := range lines {
		np, err1 := strconv.Atoi(f[1])
		nr, err2 := strconv.Atoi(f[2])
		span, err3 := strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("unexpected numbers in chronyc sourcestats line %q", strings.Join(f, ","))
		}
		rows = append(rows, SourcestatsRow{Addr: f[0], NP: np, NR: nr, Span: span})
	}
	return rows, nil
}

// Tracking is the part of "chronyc -c -n tracking" tests check.
type Tracking struct {
	RefID   string
	RefAddr string
	Stratum int
	// RefTime is the time of the last clock update (seconds since 1970).
	RefTime float64
	Leap    string
}

// String formats the report compactly for messages.
func (tr Tracking) String() string {
	return fmt.Sprintf("reference ID %s (%s) stratum %d ref time %.3f leap %s",
		tr.RefID, tr.RefAddr, tr.Stratum, tr.RefTime, tr.Leap)
}

// ParseTracking parses the output of "chronyc -c -n tracking".
func ParseTracking(out string) (Tracking, error) {
	lines, err := csvLines(out, "tracking", 14)
	if err != nil {
		return Tracking{}, err
	}
	if len(lines) != 1 {
		return Tracking{}, fmt.Errorf("chronyc tracking printed %d lines, want 1: %q", len(lines), out)
	}
	f := lines[0]
	stratum, err1 := strconv.Atoi(f[2])
	refTime, err2 := strconv.ParseFloat(f[3], 64)
	if err1 != nil || err2 != nil {
		return Tracking{}, fmt.Errorf("unexpected numbers in chronyc tracking output %q", strings.Join(f, ","))
	}
	return Tracking{RefID: f[0], RefAddr: f[1], Stratum: stratum, RefTime: refTime, Leap: f[13]}, nil
}

// RefIDOf returns the reference ID NTP uses for a source address, as
// chronyc prints it: the IPv4 address itself, or the first four bytes of
// the MD5 digest of an IPv6 address.
func RefIDOf(addr string) (string, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return "", fmt.Errorf("reference ID of %q: %w", addr, err)
	}
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%08X", binary.BigEndian.Uint32(b[:])), nil
	}
	b := a.As16()
	sum := md5.Sum(b[:])
	return fmt.Sprintf("%08X", binary.BigEndian.Uint32(sum[:4])), nil
}
