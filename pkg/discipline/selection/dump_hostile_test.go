package selection

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"syscall"
	"testing"

	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chronydDump is a dump file written by chronyd 4.3 ("chronyc dump") for
// a server on 127.0.0.1 with 43 samples.
const chronydDump = "testdata/dumps/chronyd-4.3-127.0.0.1.dat"

func newLoopbackSource(sel *Selector) *Source {
	return sel.Add(SourceConfig{Type: TypeNTP, RefID: 0x7f000001,
		Addr: netip.MustParseAddr("127.0.0.1"), MaxUnreach: -1,
		Stats: sourcestats.DefaultOptions()})
}

// TestLoadChronydDump loads the real chronyd file completely.
func TestLoadChronydDump(t *testing.T) {
	data, err := os.ReadFile(chronydDump)
	require.NoError(t, err)
	sel := New(DefaultOptions())
	src := newLoopbackSource(sel)
	require.NoError(t, sel.LoadDump(bytes.NewReader(data), src, fuzzNow))
	assert.Equal(t, 43, src.Stats().Samples())
	assert.Equal(t, uint8(0o377), src.Reachability())
	assert.Equal(t, 10, src.Stratum())
}

// TestTruncatedDumpIsRejected cuts the real dump at every byte: a file
// that stops before its last sample line is complete must be rejected and
// leave the source without samples, and no cut may panic.
func TestTruncatedDumpIsRejected(t *testing.T) {
	data, err := os.ReadFile(chronydDump)
	require.NoError(t, err)
	lastLine := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	for cut := 0; cut < len(data); cut++ {
		sel := New(DefaultOptions())
		src := newLoopbackSource(sel)
		err := sel.LoadDump(bytes.NewReader(data[:cut]), src, fuzzNow)
		if cut <= lastLine {
			require.Error(t, err, "a dump cut at byte %d of %d was accepted", cut, len(data))
		}
		if err != nil {
			require.Zero(t, src.Stats().Samples(), "rejected dump cut at %d left samples", cut)
		}
	}
}

// TestGarbageDumpIsRejected corrupts one line of the real dump at a time.
func TestGarbageDumpIsRejected(t *testing.T) {
	data, err := os.ReadFile(chronydDump)
	require.NoError(t, err)
	lines := bytes.SplitAfter(data, []byte("\n"))
	garbage := [][]byte{{0, 0xff, 0xfe, '\n'}, []byte("nan nan nan nan nan nan nan\n"), []byte("\n")}
	for i := 0; i < len(lines) && i < 8; i++ {
		for _, g := range garbage {
			bad := bytes.Join(append(append(append([][]byte{}, lines[:i]...), g), lines[i+1:]...), nil)
			sel := New(DefaultOptions())
			src := newLoopbackSource(sel)
			require.Error(t, sel.LoadDump(bytes.NewReader(bad), src, fuzzNow), "line %d replaced by %q", i+1, g)
			require.Zero(t, src.Stats().Samples())
		}
	}
}

// failingWriter accepts room bytes, then fails like a full disk.
type failingWriter struct{ room int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= w.room {
		w.room -= len(p)
		return len(p), nil
	}
	n := w.room
	w.room = 0
	return n, syscall.ENOSPC
}

// TestSaveDumpReportsWriteErrors makes the writer fail at every point of
// the dump: SaveDump must return the error (so that the caller keeps the
// old file) instead of reporting a short dump as saved.
func TestSaveDumpReportsWriteErrors(t *testing.T) {
	data, err := os.ReadFile(chronydDump)
	require.NoError(t, err)
	sel := New(DefaultOptions())
	src := newLoopbackSource(sel)
	require.NoError(t, sel.LoadDump(bytes.NewReader(data), src, fuzzNow))
	var full bytes.Buffer
	require.NoError(t, sel.SaveDump(&full, src))
	for room := 0; room < full.Len(); room += 7 {
		err := sel.SaveDump(&failingWriter{room: room}, src)
		require.Error(t, err, "write failing after %d of %d bytes", room, full.Len())
		assert.True(t, errors.Is(err, syscall.ENOSPC), "error %v hides ENOSPC", err)
	}
}
