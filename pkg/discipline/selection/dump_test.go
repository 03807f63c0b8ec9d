package selection

import (
	"bytes"
	"strings"
	"testing"

	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDumpRoundTrip(t *testing.T) {
	f := newFixture(DefaultOptions(), spec{offset: 1e-3, noise: 1e-6, stratum: 2})
	f.poll(6)
	var buf bytes.Buffer
	require.NoError(t, f.sel.SaveDump(&buf, f.srcs[0]))
	lines := strings.Split(buf.String(), "\n")
	assert.Equal(t, []string{"SRC0", "203.0.113.1", "0 77 6 2 0", "6 0"}, lines[:4])
	name, ok := DumpFileName(f.srcs[0])
	require.True(t, ok)
	assert.Equal(t, "203.0.113.1.dat", name)

	g := newFixture(DefaultOptions(), spec{})
	now := f.now()
	require.NoError(t, g.sel.LoadDump(bytes.NewReader(buf.Bytes()), g.srcs[0], now))
	assert.Equal(t, 6, g.srcs[0].Stats().Samples())
	assert.Equal(t, uint8(0o77), g.srcs[0].Reachability())
	assert.Equal(t, 2, g.srcs[0].Stratum())

	r := g.sel.ReloadDone(now)
	require.NotNil(t, r.Update, "the reference is updated right after reloading")
	assert.Same(t, g.srcs[0], g.sel.Selected())
	assert.InDelta(t, 1e-3, r.Update.Offset, 1e-5)
}

func TestDumpRejects(t *testing.T) {
	f := newFixture(DefaultOptions(), spec{offset: 1e-3, noise: 1e-6})
	f.poll(4)
	var buf bytes.Buffer
	require.NoError(t, f.sel.SaveDump(&buf, f.srcs[0]))
	good := buf.String()
	tests := []struct {
		name string
		text string
		auth bool
	}{
		{"identifier", strings.Replace(good, "SRC0", "SRC1", 1), false},
		{"other source", strings.Replace(good, "203.0.113.1\n", "203.0.113.9\n", 1), false},
		{"bad leap", strings.Replace(good, "0 17 4 1 0", "0 17 4 1 3", 1), false},
		{"bad stratum", strings.Replace(good, "0 17 4 1 0", "0 17 4 16 0", 1), false},
		{"unauthenticated dump for authenticated source", good, true},
		{"truncated", good[:len(good)-30], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newFixture(DefaultOptions(), spec{auth: tc.auth})
			assert.Error(t, g.sel.LoadDump(strings.NewReader(tc.text), g.srcs[0], f.now()))
			assert.Equal(t, uint8(0), g.srcs[0].Reachability())
		})
	}

	empty := newFixture(DefaultOptions(), spec{})
	assert.ErrorIs(t, empty.sel.SaveDump(&buf, empty.srcs[0]), sourcestats.ErrNoSamples)

	ref := New(DefaultOptions()).Add(SourceConfig{Type: TypeRefclock, RefID: 0x47505300})
	name, ok := DumpFileName(ref)
	require.True(t, ok)
	assert.Equal(t, "refid:47505300.dat", name)
	assert.Equal(t, "GPS", ref.String())
}
