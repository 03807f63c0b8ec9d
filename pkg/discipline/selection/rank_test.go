package selection

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
)

// TestAddKeepsRankOrder checks that sources are kept in ascending rank and
// in order of addition within a rank (chronyd's configuration order), also
// after a removal.
func TestAddKeepsRankOrder(t *testing.T) {
	tests := []struct {
		name   string
		ranks  []int
		remove int // index into the added sources, -1 for none
		want   []int
	}{
		{"all zero keeps addition order", []int{0, 0, 0}, -1, []int{0, 1, 2}},
		{"peer configured last, pool members added later", []int{3, 0, 0, 1}, -1, []int{1, 2, 3, 0}},
		{"late addition goes last", []int{0, 2, 1, 2}, -1, []int{0, 2, 1, 3}},
		{"removal keeps the order", []int{3, 0, 1, 0}, 1, []int{3, 2, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sel := New(DefaultOptions())
			var added []*Source
			for i, r := range tc.ranks {
				added = append(added, sel.Add(SourceConfig{
					Type: TypeNTP, Addr: addrOf(i), MaxUnreach: -1, Rank: r,
					Stats: sourcestats.DefaultOptions(),
				}))
			}
			if tc.remove >= 0 {
				sel.Remove(added[tc.remove], t0)
			}
			var got []int
			for i, src := range sel.Sources() {
				require.Equal(t, i, src.index, "index of %v", src.Addr())
				got = append(got, int(src.Addr().As4()[3])-1)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
