//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests check the suite's own helpers; they need neither root nor
// any tool.

func TestRefIDOf(t *testing.T) {
	tests := []struct {
		addr, want string
	}{
		// Both seen in chronyd 4.3's "chronyc tracking" during the suite.
		{"203.0.113.15", "CB00710F"},
		{"2001:db8:1:8000::13", "8D087627"},
		{"198.51.100.14", "C633640E"},
		{"not an address", "invalid:not an address"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) { assert.Equal(t, tt.want, refIDOf(tt.addr)) })
	}
}

func TestParseSources(t *testing.T) {
	out := "^,*,203.0.113.15,1,2,377,2,0.000000535,0.000000175,0.000013000\n" +
		"=,?,198.51.100.12,0,1,0,-,0.0,0.0,0.0\n"
	rows, err := parseSources(out)
	require.NoError(t, err)
	assert.Equal(t, []sourceRow{
		{mode: '^', state: '*', addr: "203.0.113.15", stratum: 1, poll: 2, reach: 0o377},
		{mode: '=', state: '?', addr: "198.51.100.12", stratum: 0, poll: 1, reach: 0},
	}, rows)

	for _, bad := range []string{"^,*,x", "^,*,203.0.113.15,one,2,377,2", "^,*,203.0.113.15,1,2,999,2"} {
		_, err := parseSources(bad)
		assert.Error(t, err, "%q", bad)
	}
	rows, err = parseSources("\n")
	require.NoError(t, err)
	assert.Empty(t, rows)
}

func TestParseTracking(t *testing.T) {
	out := "CB00710F,203.0.113.15,2,1795633903.681000000,-0.000001617,-0.000000360,0.000001393,-0.014,-0.001,0.049,0.000023191,0.000003946,4.1,Normal\n"
	tr, err := parseTracking(out)
	require.NoError(t, err)
	assert.Equal(t, trackingInfo{refID: "CB00710F", refAddr: "203.0.113.15", stratum: 2, refTime: 1795633903.681, leap: "Normal"}, tr)

	_, err = parseTracking("7F7F0101,,10")
	assert.Error(t, err)
}

func TestParseSourcestats(t *testing.T) {
	out := "203.0.113.15,23,16,59,0.011,0.083,0.000001737,0.000001727\n198.51.100.12,20,12,43,0.007,0.334,0.000019,0.000004813\n"
	rows, err := parseSourcestats(out)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"203.0.113.15": 23, "198.51.100.12": 20}, rows)

	_, err = parseSourcestats("203.0.113.15,many,16,59,0.011,0.083,0.1,0.1")
	assert.Error(t, err)
}

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
