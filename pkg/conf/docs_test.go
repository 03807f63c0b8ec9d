package conf

import (
	"os"
	"regexp"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDirectivesDocumented keeps docs/directives.md and the directive table
// in step: one row per directive, no more, no less.
func TestDirectivesDocumented(t *testing.T) {
	data, err := os.ReadFile("../../docs/directives.md")
	require.NoError(t, err)
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllStringSubmatch(string(data), -1) {
		documented = append(documented, m[1])
	}
	var table []string
	for name := range directiveTable() {
		table = append(table, name)
	}
	sort.Strings(documented)
	sort.Strings(table)
	assert.Equal(t, table, documented)
	assert.Len(t, table, 97, "chrony 4.8 has 93 directives and 4 obsolete ones")
}
