package wiring

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/daemon"
	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/selection"
	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
	"github.com/chronygo/chronygo/pkg/ntp/source"
)

// buildWithMaintenance builds an engine (no sources) with a maintenance
// for lines and starts it; it returns the engine and the log hook.
func buildWithMaintenance(t *testing.T, m *maintenance, lines ...string) (*engineComponent, *test.Hook) {
	t.Helper()
	cfg, err := conf.Load("", lines)
	require.NoError(t, err)
	if m != nil && cfg.KeyFile != "" {
		m.keyFile = cfg.KeyFile
		m.setKeys(loadKeys(cfg.KeyFile, nil), nil)
	}
	var ref atomic.Pointer[discipline.ReferenceSnapshot]
	ref.Store(InitialSnapshot(cfg.Local, -20, time.Now()))
	log, hook := test.NewNullLogger()
	e, err := NewEngineFactory(EngineDeps{Clock: (&fakeClocks{}).make})(EngineInputs{
		Config:    cfg,
		Reference: &ref,
		Resources: daemon.Resources{Log: log},
		Fallback:  &cmdmon.UnsyncedHandler{},
		maint:     m,
	})
	require.NoError(t, err)
	ec := e.(*engineComponent)
	require.NoError(t, ec.Start(context.Background()))
	t.Cleanup(func() { _ = ec.Close() })
	return ec, hook
}

// engineKeyIDs returns the IDs of the key set the engine gives sources.
func engineKeyIDs(t *testing.T, e *engineComponent) []uint32 {
	t.Helper()
	var ids []uint32
	require.NoError(t, e.svc.Do(func(en *engine.Engine) { ids = en.Keys().IDs() }))
	return ids
}

// TestEngineKeysFollowRekey checks that the engine gets the keyfile's keys
// and the ones chronyc rekey reads again.
func TestEngineKeysFollowRekey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chrony.keys")
	require.NoError(t, os.WriteFile(path, []byte("1 SHA256 HEX:0011223344556677\n"), 0o600))
	m := &maintenance{}
	e, _ := buildWithMaintenance(t, m, "keyfile "+path)
	assert.Equal(t, []uint32{1}, engineKeyIDs(t, e))

	require.NoError(t, os.WriteFile(path, []byte("2 SHA1 HEX:0011223344556677\n7 MD5 ASCII:secret\n"), 0o600))
	st, handled := m.run(cmdmon.ActionRekey)
	require.True(t, handled)
	assert.Equal(t, candm.StatusSuccess, st)
	assert.Equal(t, []uint32{2, 7}, engineKeyIDs(t, e), "rekey reaches the engine")
}

// TestEngineLeapSecondDatabase checks that leapseclist and leapsectz are
// loaded as chronyd does (the list wins; a bad one is ignored).
func TestEngineLeapSecondDatabase(t *testing.T) {
	list := filepath.Join(t.TempDir(), "leap-seconds.list")
	// 2009 (34), mid-2012 (35), expiry in 2030: passes chronyd's check.
	require.NoError(t, os.WriteFile(list, []byte("#$ 3900000000\n#@ 4102444800\n3439756800 34\n3550089600 35\n"), 0o644))
	bad := filepath.Join(t.TempDir(), "bad.list")
	require.NoError(t, os.WriteFile(bad, []byte("#$ 3900000000\n#@ 4102444800\n3439756800 34\n"), 0o644))
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"leapseclist", []string{"leapseclist " + list}, "Using leap second list " + list},
		{"leapseclist failing the check", []string{"leapseclist " + bad}, "Leap second list " + bad + " failed check, ignoring"},
		{"missing time zone", []string{"leapsectz No/Such_Zone"}, "Timezone No/Such_Zone failed leap second check, ignoring"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, hook := buildWithMaintenance(t, nil, tt.lines...)
			var msgs []string
			for _, e := range hook.AllEntries() {
				msgs = append(msgs, e.Message)
			}
			assert.Contains(t, msgs, tt.want)
		})
	}
}

// TestStatisticsAndSelectionLogFiles checks that `log statistics selection`
// opens both files with chronyd's banner and that cyclelogs reopens them.
func TestStatisticsAndSelectionLogFiles(t *testing.T) {
	dir := t.TempDir()
	cfg, err := conf.Load("", []string{"logdir " + dir, "log statistics selection"})
	require.NoError(t, err)
	l, err := openLogFiles(cfg)
	require.NoError(t, err)
	require.NotNil(t, l.statistics)
	require.NotNil(t, l.selection)
	m := &maintenance{}
	m.addLogs(l)
	l.statistics("stats line 1")
	l.selection("selection line 1")
	for _, name := range []string{"statistics.log", "selection.log"} {
		require.NoError(t, os.Rename(filepath.Join(dir, name), filepath.Join(dir, name+".1")))
	}
	require.NoError(t, m.cycleLogs())
	l.statistics("stats line 2")
	l.selection("selection line 2")
	require.NoError(t, l.Close())
	for _, f := range []struct{ name, header, line string }{
		{"statistics.log", sourcestats.StatisticsLogHeader, "stats line"},
		{"selection.log", selection.SelectionLogHeader, "selection line"},
	} {
		old, err := os.ReadFile(filepath.Join(dir, f.name+".1"))
		require.NoError(t, err)
		fresh, err := os.ReadFile(filepath.Join(dir, f.name))
		require.NoError(t, err)
		for i, data := range []string{string(old), string(fresh)} {
			assert.True(t, strings.HasPrefix(data, source.LogBanner(f.header)), "%s starts with the banner: %q", f.name, data)
			assert.Contains(t, data, f.line+" "+string(rune('1'+i)))
		}
	}
	none, err := openLogFiles(conf.NewConfig())
	require.NoError(t, err)
	assert.Nil(t, none.statistics)
	assert.Nil(t, none.selection)
}
