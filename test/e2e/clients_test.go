package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/chronygo/chronygo/internal/testutil"
)

// ntpClient is one of the stock NTP clients the suite queries servers
// with. query returns the stratum of the answer, or an error when there
// was none; out is the client's output for messages.
type ntpClient struct {
	name  string
	query func(h *host, addr string) (stratum int, out string, err error)
}

// runIn runs a program in h's namespace, bounded to limit, and returns
// its combined output.
func runIn(h *host, limit time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	out, err := h.ns.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

var (
	// sntpStratum finds the stratum in ntpdig's result line ("... s2
	// no-leap"), which ntpsec's ntpdate -q prints too.
	sntpStratum = regexp.MustCompile(`\ss(\d+)\s`)
	// chronydOffset finds chronyd -Q's measurement.
	chronydOffset = regexp.MustCompile(`System clock wrong by (-?[0-9.]+) seconds`)
)

// sntpClient queries with sntp (ntpsec's ntpdig).
func sntpClient() ntpClient {
	return ntpClient{name: "sntp", query: func(h *host, addr string) (int, string, error) {
		out, err := runIn(h, 10*time.Second, "sntp", "-t", "2", addr)
		return parseStratum(sntpStratum, out, err)
	}}
}

// ntpdateClient queries with "ntpdate -q".
func ntpdateClient() ntpClient {
	return ntpClient{name: "ntpdate -q", query: func(h *host, addr string) (int, string, error) {
		out, err := runIn(h, 15*time.Second, "ntpdate", "-q", "-t", "2", addr)
		return parseStratum(sntpStratum, out, err)
	}}
}

// parseStratum extracts the stratum with re from a client's output.
func parseStratum(re *regexp.Regexp, out string, err error) (int, string, error) {
	if err != nil {
		return 0, out, fmt.Errorf("no answer: %w", err)
	}
	m := re.FindStringSubmatch(out)
	if m == nil {
		return 0, out, fmt.Errorf("no stratum in the output")
	}
	s, err := strconv.Atoi(m[1])
	return s, out, err
}

// chronydMeasure runs "chronyd -Q" (measure once, never set the clock)
// against addr from h and returns its output; it fails when chronyd got
// no measurement. dir is a private folder for its pid files.
func chronydMeasure(h *host, dir, addr string) (string, error) {
	own, err := os.MkdirTemp(dir, "q")
	if err != nil {
		return "", fmt.Errorf("chronyd -Q: %w", err)
	}
	defer os.RemoveAll(own)
	out, err := runIn(h, 20*time.Second, "/usr/sbin/chronyd", "-Q", "-u", "root", "-f", "/dev/null", "-t", "8",
		"server "+addr+" iburst", "pidfile "+filepath.Join(own, "chronyd.pid"), "cmdport 0")
	if err != nil {
		return out, fmt.Errorf("chronyd -Q: %w", err)
	}
	if !chronydOffset.MatchString(out) {
		return out, fmt.Errorf("chronyd -Q printed no measurement")
	}
	return out, nil
}

// waitUntil polls cond every interval until it returns nil or limit
// passes; it returns the time it took and cond's last error.
func waitUntil(limit, interval time.Duration, cond func() error) (time.Duration, error) {
	start := time.Now()
	var err error
	testutil.WaitEvery(limit, interval, func() bool { err = cond(); return err == nil })
	return time.Since(start), err
}
