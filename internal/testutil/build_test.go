package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestModuleRootHoldsGoMod(t *testing.T) {
	root, err := ModuleRoot()
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(root, "go.mod"))
	assert.DirExists(t, filepath.Join(root, "cmd", "chronygo"))
}

func TestDeclaresModule(t *testing.T) {
	tests := []struct {
		name  string
		goMod string
		want  bool
	}{
		{"this module", "module github.com/chronygo/chronygo\n\ngo 1.26\n", true},
		{"quoted", "module \"github.com/chronygo/chronygo\"\n", true},
		{"other module", "module example.com/other\n", false},
		{"no module line", "go 1.26\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, declaresModule(tt.goMod))
		})
	}
}

func TestBuildChronygoTempBuildsStaticTrimmedBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds chronygo")
	}
	bin, cleanup, err := BuildChronygoTemp("testutil-build-")
	require.NoError(t, err)
	dir := filepath.Dir(bin)
	assert.Equal(t, "chronygo", filepath.Base(bin))
	st, err := os.Stat(bin)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&0o111, "executable")

	info, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	require.NoError(t, err, "%s", info)
	assert.Contains(t, string(info), "CGO_ENABLED=0")
	assert.Contains(t, string(info), "-trimpath=true")

	cleanup()
	assert.NoDirExists(t, dir)
}

func TestBuildCommandReportsFailure(t *testing.T) {
	_, err := BuildCommand(t.TempDir(), "./cmd/no-such-command")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "building ./cmd/no-such-command")
}
