package testutil

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRefIDOf(t *testing.T) {
	tests := []struct {
		addr, want string
	}{
		// Both seen in chronyd 4.3's "chronyc tracking".
		{"203.0.113.15", "CB00710F"},
		{"2001:db8:1:8000::13", "8D087627"},
		{"198.51.100.14", "C633640E"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got, err := RefIDOf(tt.addr)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err := RefIDOf("not an address")
	assert.Error(t, err)
}

func TestParseSources(t *testing.T) {
	out := "^,*,203.0.113.15,1,2,377,2,0.000000535,0.000000175,0.000013000\n" +
		"=,?,198.51.100.12,0,1,0,-,0.0,0.0,0.0\n"
	rows, err := ParseSources(out)
	require.NoError(t, err)
	assert.Equal(t, []SourceRow{
		{Mode: '^', State: '*', Addr: "203.0.113.15", Stratum: 1, Poll: 2, Reach: 0o377, LastRx: 2},
		{Mode: '=', State: '?', Addr: "198.51.100.12", Stratum: 0, Poll: 1, Reach: 0, LastRx: -1},
	}, rows)

	for _, bad := range []string{
		"^,*,x",
		"^,*,203.0.113.15,one,2,377,2",
		"^,*,203.0.113.15,1,2,999,2",
		"^*,*,203.0.113.15,1,2,377,2",
		"^,*,203.0.113.15,1,2,377,soon",
	} {
		_, err := ParseSources(bad)
		assert.Error(t, err, "%q", bad)
	}
	rows, err = ParseSources("\n")
	require.NoError(t, err)
	assert.Empty(t, rows)
}

func TestParseTracking(t *testing.T) {
	out := "CB00710F,203.0.113.15,2,1795633903.681000000,-0.000001617,-0.000000360,0.000001393,-0.014,-0.001,0.049,0.000023191,0.000003946,4.1,Normal\n"
	tr, err := ParseTracking(out)
	require.NoError(t, err)
	assert.Equal(t, Tracking{RefID: "CB00710F", RefAddr: "203.0.113.15", Stratum: 2, RefTime: 1795633903.681, Leap: "Normal"}, tr)

	for _, bad := range []string{"7F7F0101,,10", "", out + out} {
		_, err = ParseTracking(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestParseSourcestats(t *testing.T) {
	out := "203.0.113.15,23,16,59,0.011,0.083,0.000001737,0.000001727\n198.51.100.12,20,12,43,0.007,0.334,0.000019,0.000004813\n"
	rows, err := ParseSourcestats(out)
	require.NoError(t, err)
	assert.Equal(t, []SourcestatsRow{
		{Addr: "203.0.113.15", NP: 23, NR: 16, Span: 59},
		{Addr: "198.51.100.12", NP: 20, NR: 12, Span: 43},
	}, rows)

	_, err = ParseSourcestats("203.0.113.15,many,16,59,0.011,0.083,0.1,0.1")
	assert.Error(t, err)
}
