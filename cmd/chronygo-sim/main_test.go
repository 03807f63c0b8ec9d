package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunPrintsTable(t *testing.T) {
	tests := []struct {
		name    string
		match   string
		wantErr string
		want    []string
	}{
		{"one scenario", "^defaults$", "", []string{"scenario", "defaults", "131"}},
		{"makestep variants", "^makestep", "", []string{"makestep -1", "makestep 1 "}},
		{"no match", "^nothing$", "no scenario", nil},
		{"bad pattern", "(", "bad -run pattern", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(&out, 2, 1, tc.match)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			for _, w := range tc.want {
				assert.True(t, strings.Contains(out.String(), w), "%q not in\n%s", w, out.String())
			}
		})
	}
}
