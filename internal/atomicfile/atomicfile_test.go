package atomicfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name    string
		old     string // existing content; "" means no file
		data    string
		perm    os.FileMode
		wantErr bool
	}{
		{name: "new file", data: "one\n", perm: 0o644},
		{name: "replaces", old: "old\n", data: "new\n", perm: 0o600},
		{name: "empty data", old: "old\n", data: "", perm: 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if tt.old != "" {
				require.NoError(t, os.WriteFile(path, []byte(tt.old), 0o644))
			}
			require.NoError(t, Write(path, []byte(tt.data), tt.perm))
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, tt.data, string(got))
			st, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, tt.perm, st.Mode().Perm())
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, entries, 1, "no temporary file left behind")
		})
	}
}

func TestWriteFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o644))
	// A missing folder makes the temporary file impossible to create.
	err := Write(filepath.Join(dir, "missing", "f"), []byte("x"), 0o644)
	require.Error(t, err)
	// Renaming over a folder fails after the data was written.
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "keep"), nil, 0o644))
	require.Error(t, Write(sub, []byte("x"), 0o644))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no temporary file left behind")
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old\n", string(got))
}
