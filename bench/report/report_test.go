package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFigureRatioAndTarget(t *testing.T) {
	tests := []struct {
		name      string
		fig       Figure
		wantRatio *float64
		wantMet   *bool
	}{
		{"higher is better, met", Figure{Chronygo: Value(200), Chronyd: Value(100), Target: &Target{">=", 1}}, Value(2), boolPtr(true)},
		{"lower is better, missed", Figure{Chronygo: Value(5), Chronyd: Value(4), Target: &Target{"<=", 0.95}}, Value(1.25), boolPtr(false)},
		{"lower is better, met at the bound", Figure{Chronygo: Value(3), Chronyd: Value(1), Target: &Target{"<=", 3}}, Value(3), boolPtr(true)},
		{"chronygo missing", Figure{Chronyd: Value(4), Target: &Target{"<=", 1}}, nil, nil},
		{"both zero", Figure{Chronygo: Value(0), Chronyd: Value(0), Target: &Target{"<=", 1}}, nil, boolPtr(true)},
		{"chronyd zero, chronygo not", Figure{Chronygo: Value(0.12), Chronyd: Value(0), Target: &Target{"<=", 1}}, nil, boolPtr(false)},
		{"no target", Figure{Chronygo: Value(1), Chronyd: Value(2)}, Value(0.5), nil},
		{"unknown operator", Figure{Chronygo: Value(1), Chronyd: Value(2), Target: &Target{"<", 1}}, Value(0.5), boolPtr(false)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.wantRatio, tc.fig.Ratio())
			assert.Equal(t, tc.wantMet, tc.fig.Met())
		})
	}
}

func boolPtr(b bool) *bool { return &b }

func TestFormatValue(t *testing.T) {
	tests := []struct {
		in   *float64
		want string
	}{
		{nil, "n/a"}, {Value(0), "0"}, {Value(170123.4), "170123"}, {Value(123.45), "123.5"},
		{Value(4.567), "4.57"}, {Value(0.01234), "0.0123"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, FormatValue(tc.in))
	}
}

func sample() Results {
	r := Results{
		Started:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Finished: time.Date(2026, 1, 2, 3, 9, 5, 0, time.UTC),
		Versions: map[string]string{"chronyd": "chronyd (chrony) version 4.3"},
		Settings: map[string]string{"rounds": "3"},
	}
	r.Add(Figure{Section: "throughput", Name: "replies/s IPv4", Unit: "1/s", Better: Higher,
		Chronygo: Value(180000), Chronyd: Value(170000), Echo: Value(200000), Target: &Target{">=", 1}, Note: "median of 3 rounds"})
	r.Add(Figure{Section: "accuracy", Name: "RMS error", Unit: "µs", Better: Lower,
		Chronyd: Value(11), Target: &Target{"<=", 1}, NA: "chronygo does not synchronise yet"})
	r.Note("no workers knob")
	return r
}

func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, sample().WriteTable(&buf))
	out := buf.String()
	lines := strings.Split(out, "\n")
	assert.Contains(t, lines[0], "go/chronyd")
	assert.Contains(t, out, "[throughput]")
	assert.Contains(t, out, "[accuracy]")
	assert.Regexp(t, `replies/s IPv4\s+1/s\s+180000\s+170000\s+1\.06\s+200000\s+0\.90\s+go/chronyd >= 1\s+yes`, out)
	assert.Regexp(t, `RMS error\s+µs\s+n/a\s+11\.00\s+n/a\s+go/chronyd <= 1\s+n/a`, out)
	assert.Contains(t, out, "accuracy / RMS error: n/a: chronygo does not synchronise yet")
	assert.Contains(t, out, "throughput / replies/s IPv4: median of 3 rounds")
	assert.Contains(t, out, "Notes:\n  no workers knob")
}

func TestWriteJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	require.NoError(t, sample().WriteJSON(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"op": ">="`, "readable operators")
	var got struct {
		Started string `json:"started"`
		Figures []struct {
			Name      string   `json:"name"`
			Chronygo  *float64 `json:"chronygo"`
			Chronyd   *float64 `json:"chronyd"`
			Ratio     *float64 `json:"ratio_chronygo_chronyd"`
			EchoRatio *float64 `json:"ratio_chronygo_echo"`
			Met       *bool    `json:"target_met"`
			NA        string   `json:"na"`
			Target    *Target  `json:"target"`
		} `json:"figures"`
		Notes    []string          `json:"notes"`
		Settings map[string]string `json:"settings"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, "2026-01-02T03:04:05Z", got.Started)
	require.Len(t, got.Figures, 2)
	f := got.Figures[0]
	assert.InDelta(t, 180000/170000.0, *f.Ratio, 1e-9)
	assert.InDelta(t, 0.9, *f.EchoRatio, 1e-9)
	assert.True(t, *f.Met)
	assert.Equal(t, &Target{">=", 1}, f.Target)
	n := got.Figures[1]
	assert.Nil(t, n.Chronygo, "n/a is null, never a made-up number")
	assert.Nil(t, n.Ratio)
	assert.Nil(t, n.Met)
	assert.Equal(t, "chronygo does not synchronise yet", n.NA)
	assert.Equal(t, []string{"no workers knob"}, got.Notes)
	assert.Equal(t, "3", got.Settings["rounds"])
}

func TestWriteJSONBadPath(t *testing.T) {
	assert.Error(t, sample().WriteJSON(filepath.Join(t.TempDir(), "missing", "r.json")))
}
