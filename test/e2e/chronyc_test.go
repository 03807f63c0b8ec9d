//go:build e2e

package e2e

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

// chronycPath is the stock client every assertion reads through.
const chronycPath = "/usr/bin/chronyc"

// chronyc runs the stock chronyc against the daemon's command socket
// (bounded to 10 s) and returns its standard output.
func chronyc(d *daemon, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chronycPath, append([]string{"-h", d.socket}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("chronyc -h %s %s: %w: %s%s", d.socket, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out), nil
}

// sourceRow is one line of "chronyc -c -n sources".
type sourceRow struct {
	// mode is '^' (server), '=' (peer) or '#' (reference clock).
	mode byte
	// state is '*', '+', '-', '?', 'x' or '~'.
	state   byte
	addr    string
	stratum int
	poll    int
	// reach is the 8-bit reachability register.
	reach uint8
}

func (s sourceRow) String() string {
	return fmt.Sprintf("%c%c %s stratum %d reach %o", s.mode, s.state, s.addr, s.stratum, s.reach)
}

// readSources returns the daemon's sources as chronyc lists them.
func readSources(d *daemon) ([]sourceRow, error) {
	out, err := chronyc(d, "-c", "-n", "sources")
	if err != nil {
		return nil, err
	}
	return parseSources(out)
}

// parseSources parses the CSV output of "chronyc -c -n sources".
func parseSources(out string) ([]sourceRow, error) {
	var rows []sourceRow
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 7 || len(f[0]) != 1 || len(f[1]) != 1 {
			return nil, fmt.Errorf("unexpected chronyc sources line %q", line)
		}
		stratum, err1 := strconv.Atoi(f[3])
		poll, err2 := strconv.Atoi(f[4])
		reach, err3 := strconv.ParseUint(f[5], 8, 8)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("unexpected numbers in chronyc sources line %q", line)
		}
		rows = append(rows, sourceRow{mode: f[0][0], state: f[1][0], addr: f[2],
			stratum: stratum, poll: poll, reach: uint8(reach)})
	}
	return rows, nil
}

// trackingInfo is the part of "chronyc -c -n tracking" the suite checks.
type trackingInfo struct {
	refID   string
	refAddr string
	stratum int
	// refTime is the time of the last clock update (seconds since 1970).
	refTime float64
	leap    string
}

func (tr trackingInfo) String() string {
	return fmt.Sprintf("reference ID %s (%s) stratum %d ref time %.3f leap %s",
		tr.refID, tr.refAddr, tr.stratum, tr.refTime, tr.leap)
}

// readTracking returns the daemon's tracking report.
func readTracking(d *daemon) (trackingInfo, error) {
	out, err := chronyc(d, "-c", "-n", "tracking")
	if err != nil {
		return trackingInfo{}, err
	}
	return parseTracking(out)
}

// parseTracking parses the CSV output of "chronyc -c -n tracking".
func parseTracking(out string) (trackingInfo, error) {
	line := strings.TrimSpace(out)
	f := strings.Split(line, ",")
	if len(f) < 14 {
		return trackingInfo{}, fmt.Errorf("unexpected chronyc tracking output %q", line)
	}
	stratum, err1 := strconv.Atoi(f[2])
	refTime, err2 := strconv.ParseFloat(f[3], 64)
	if err1 != nil || err2 != nil {
		return trackingInfo{}, fmt.Errorf("unexpected numbers in chronyc tracking output %q", line)
	}
	return trackingInfo{refID: f[0], refAddr: f[1], stratum: stratum, refTime: refTime, leap: f[13]}, nil
}

// readSourcestats returns the names of the rows of "chronyc -c -n
// sourcestats" with their number of samples.
func readSourcestats(d *daemon) (map[string]int, error) {
	out, err := chronyc(d, "-c", "-n", "sourcestats")
	if err != nil {
		return nil, err
	}
	return parseSourcestats(out)
}

// parseSourcestats parses the CSV output of "chronyc -c -n sourcestats".
func parseSourcestats(out string) (map[string]int, error) {
	rows := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 8 {
			return nil, fmt.Errorf("unexpected chronyc sourcestats line %q", line)
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("unexpected sample count in chronyc sourcestats line %q", line)
		}
		rows[f[0]] = n
	}
	return rows, nil
}

// refIDOf returns the reference ID NTP uses for a source address, as
// chronyc prints it: the IPv4 address itself, or the first four bytes of
// the MD5 digest of an IPv6 address.
func refIDOf(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return "invalid:" + addr
	}
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%08X", binary.BigEndian.Uint32(b[:]))
	}
	b := a.As16()
	sum := md5.Sum(b[:])
	return fmt.Sprintf("%08X", binary.BigEndian.Uint32(sum[:4]))
}
