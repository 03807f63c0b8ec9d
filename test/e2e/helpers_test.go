package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/testutil"
)

// These tests check the suite's own helpers; they need neither root nor
// any tool.

func TestParseStratum(t *testing.T) {
	line := "2026-11-25 18:56:51.317448 (+0000) +0.000005 +/- 0.000106 198.51.100.11 s2 no-leap\n"
	st, _, err := parseStratum(sntpStratum, line, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, st)

	_, _, err = parseStratum(sntpStratum, "ntpdig: no eligible servers\n", nil)
	assert.Error(t, err)
}

func TestDeploymentLines(t *testing.T) {
	lines := deploymentLines(t, "198.51.100.12")
	conf := strings.Join(lines, "\n")
	for _, want := range []string{
		"pool 2.rocky.pool.ntp.org iburst maxsources 2 " + fastPolling,
		"pool time.cloudflare.com iburst maxsources 2 " + fastPolling,
		"pool time.google.com iburst maxsources 2 " + fastPolling,
		"peer 198.51.100.12 " + fastPolling,
		"minsources 2",
		"local stratum 10",
		"allow 127.0.0.1",
		"allow " + allowedSubnet4,
		"allow " + allowedSubnet6,
	} {
		assert.Contains(t, lines, want, "in the test copy of the deployment config:\n%s", conf)
	}
	for _, gone := range []string{"172.16.", "2603:"} {
		assert.NotContains(t, conf, gone, "an address of the real deployment is left")
	}
}

func TestStaleRule(t *testing.T) {
	twin := func(reach uint8, lastRx int64) testutil.SourceRow {
		return testutil.SourceRow{Mode: '=', State: '+', Addr: "198.51.100.12", Reach: reach, LastRx: lastRx}
	}
	up := func(addr string, reach uint8, lastRx int64) testutil.SourceRow {
		return testutil.SourceRow{Mode: '^', State: '+', Addr: addr, Reach: reach, LastRx: lastRx}
	}
	stats := func(twinSpan int64) []testutil.SourcestatsRow {
		return []testutil.SourcestatsRow{
			{Addr: "198.51.100.12", NP: 20, Span: twinSpan},
			{Addr: "203.0.113.11", NP: 10, Span: 40},
			{Addr: "203.0.113.12", NP: 10, Span: 40},
			{Addr: "203.0.113.13", NP: 2, Span: 4},
		}
	}
	tests := []struct {
		name  string
		rows  []testutil.SourceRow
		stats []testutil.SourcestatsRow
		want  ruleVerdict
	}{
		{"upstreams reachable", []testutil.SourceRow{up("203.0.113.11", 0o376, 3), twin(0o377, 1)}, stats(20), ruleKeep},
		{"unreachable, newer than the twin's oldest sample", []testutil.SourceRow{up("203.0.113.11", 0, 40), twin(0o377, 2)}, stats(100), ruleKeep},
		{"unreachable, older than the twin's oldest sample", []testutil.SourceRow{up("203.0.113.11", 0, 40), twin(0o377, 2)}, stats(20), ruleDrop},
		{"within the tolerance", []testutil.SourceRow{up("203.0.113.11", 0, 40), twin(0o377, 2)}, stats(37), ruleUnsure},
		{"too few samples to count", []testutil.SourceRow{up("203.0.113.13", 0o377, 1), twin(0o377, 2)}, stats(100), ruleDrop},
		{"twin unreachable too", []testutil.SourceRow{up("203.0.113.11", 0, 40), up("203.0.113.12", 0, 40), twin(0, 2)}, stats(100), ruleDrop},
		{"no sample shown", []testutil.SourceRow{up("203.0.113.11", 0o377, -1), twin(0o377, 2)}, stats(100), ruleDrop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, why := staleRule(tt.rows, tt.stats)
			assert.Equal(t, tt.want, got, why)
		})
	}
}

func TestStaleWatchFindsContradictions(t *testing.T) {
	stats := []testutil.SourcestatsRow{{Addr: "203.0.113.11", NP: 10, Span: 40}, {Addr: "198.51.100.12", NP: 20, Span: 10}}
	selected := []testutil.SourceRow{
		{Mode: '^', State: '*', Addr: "203.0.113.11", Reach: 0, LastRx: 60},
		{Mode: '=', State: '+', Addr: "198.51.100.12", Reach: 0o377, LastRx: 1},
	}
	var w staleWatch
	w.observe(time.Minute, selected, stats)
	require.Len(t, w.contradiction, 1)
	assert.Contains(t, w.contradiction[0], "kept a selected source that chrony's rule drops")

	unselected := slices.Clone(selected)
	unselected[0].State, unselected[0].Reach = '?', 0o17
	w = staleWatch{}
	w.observe(time.Minute, unselected, stats)
	require.Len(t, w.contradiction, 1)
	assert.Contains(t, w.contradiction[0], "had no selected source and showed 203.0.113.11 as '?'")
	assert.Contains(t, w.String(), "+1m0s selected=false rule=keep")

	// Selectable sources ('-') without a selected one: chrony waits for an
	// update of the best source (SRC_WAITS_UPDATE); no contradiction.
	waiting := slices.Clone(unselected)
	waiting[0].State = '-'
	waiting[1].State = '-'
	w = staleWatch{}
	w.observe(time.Minute, waiting, stats)
	assert.Empty(t, w.contradiction)
	assert.False(t, w.selected)
	assert.Equal(t, ruleKeep, w.verdict)
}

func TestSettledSelection(t *testing.T) {
	twinAddrs := []string{"198.51.100.12", "2001:db8:1:1::12"}
	row := func(state byte, addr string, reach uint8, lastRx int64) testutil.SourceRow {
		return testutil.SourceRow{State: state, Addr: addr, Reach: reach, LastRx: lastRx}
	}
	tests := []struct {
		name string
		rows []testutil.SourceRow
		want string // a word of the reason, or "" for not settled
	}{
		{"nothing selected", []testutil.SourceRow{row('-', "203.0.113.11", 0, 90), row('-', "198.51.100.12", 0o377, 2)}, "no selected source"},
		{"follows the twin", []testutil.SourceRow{row('-', "203.0.113.11", 0, 90), row('*', "198.51.100.12", 0o377, 2)}, "follows its twin"},
		{"twin's samples refused", []testutil.SourceRow{row('*', "203.0.113.11", 0, 90), row('+', "198.51.100.12", 0o377, 40)}, "refused as a synchronisation loop"},
		{"stale upstream still selected, twin sampled", []testutil.SourceRow{row('*', "203.0.113.11", 0, 90), row('+', "198.51.100.12", 0o377, 3)}, ""},
		{"twin unreachable", []testutil.SourceRow{row('*', "203.0.113.11", 0, 90), row('?', "198.51.100.12", 0, 40)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := settledSelection(tt.rows, twinAddrs)
			if tt.want == "" {
				assert.Empty(t, got)
			} else {
				assert.Contains(t, got, tt.want)
			}
		})
	}
}
