package wiring

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/ntp/source"
)

func TestLogFileBanner(t *testing.T) {
	dir := t.TempDir()
	l, err := openLogFile(dir, "x.log", "HEAD", 2)
	require.NoError(t, err)
	for _, line := range []string{"a", "b\n", "c"} {
		l.write(line)
	}
	require.NoError(t, l.close())
	data, err := os.ReadFile(filepath.Join(dir, "x.log"))
	require.NoError(t, err)
	assert.Equal(t, "====\nHEAD\n====\na\nb\n====\nHEAD\n====\nc\n", string(data))
}

func TestOpenLogFiles(t *testing.T) {
	rec := source.MeasurementRecord{Remote: netip.MustParseAddr("198.51.100.9"), Stratum: 1}
	tests := []struct {
		name         string
		log          string
		wantTracking bool
		wantLines    int // measurements.log lines for one synced and one unsynced measurement
	}{
		{"tracking only", "log tracking", true, -1},
		{"measurements: synced ones", "log measurements", false, 1},
		{"rawmeasurements: all", "log rawmeasurements", false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg, err := conf.Load("", []string{"logdir " + dir, tt.log, "logbanner 0"})
			require.NoError(t, err)
			l, err := openLogFiles(cfg)
			require.NoError(t, err)
			assert.Equal(t, tt.wantTracking, l.tracking != nil)
			if l.measurement != nil {
				l.measurement(source.Measurement{Record: rec, Synced: true})
				l.measurement(source.Measurement{Record: rec, Synced: false})
			}
			require.NoError(t, l.Close())
			data, err := os.ReadFile(filepath.Join(dir, "measurements.log"))
			if tt.wantLines < 0 {
				assert.True(t, os.IsNotExist(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantLines, strings.Count(string(data), "198.51.100.9"))
		})
	}
	none, err := openLogFiles(conf.NewConfig())
	require.NoError(t, err)
	assert.Nil(t, none.tracking, "no logdir, no files")
	assert.NoError(t, none.Close())
}
