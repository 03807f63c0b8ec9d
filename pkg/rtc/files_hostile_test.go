package rtc

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadCoefsRejectsBadFiles loads truncated, garbage and non-finite
// rtcfiles: each must fail with ErrBadCoefs and the path (regressions for
// NaN, infinite and out-of-range values found by FuzzParseCoefs), and a
// file as chronyd writes it must load.
func TestLoadCoefsRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name, content string
		ok            bool
	}{
		{"as chronyd writes it", "1 1795632779 -0.123456 12.345\n", true},
		{"empty", "", false},
		{"truncated", "1 1795632779 -0.12", false},
		{"garbage", "\x00\xff\x13 x y z\n", false},
		{"NaN reference time", "1 nan 0 0\n", false},
		{"reference time beyond int64", "1 1e300 0 0\n", false},
		{"infinite offset", "1 1795632779 inf 0\n", false},
		{"NaN rate", "1 1795632779 0 NaN\n", false},
		{"infinite rate", "1 1795632779 0 -Inf\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rtc")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o644))
			c, err := LoadCoefs(path)
			if tc.ok {
				require.NoError(t, err)
				assert.True(t, c.Valid)
				assert.InDelta(t, -0.123456, c.Offset, 1e-9)
				return
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrBadCoefs), "%v", err)
			assert.Contains(t, err.Error(), path)
			assert.Equal(t, Coefs{}, c)
		})
	}
}
