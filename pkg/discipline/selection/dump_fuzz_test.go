package selection

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
)

// fuzzNow is a little after the samples of the seed written by chronyd 4.3.
var fuzzNow = time.Unix(1795640000, 0)

// FuzzLoadDump feeds arbitrary dump files to LoadDump for a source named
// 127.0.0.1 (the name chronyd 4.3 wrote in the seed): it must never panic;
// a rejected file leaves the source without samples; an accepted one is
// written back identically loadable, and selecting after it never panics.
func FuzzLoadDump(f *testing.F) {
	header := "SRC0\n127.0.0.1\n0 377 8 10 0\n"
	for _, seed := range []string{
		header + "1 3\n1795632779.996806265 2.304981e-06 3.050000e-07 8.088000e-06 3.493294e-08 8.088000e-06 3.493294e-08\n",
		header, "SRC0\n", "", "SRC0\n127.0.0.2\n0 377 8 10 0\n1 0\n1795632779.5 0 0 0 0 0 0\n",
		"SRC0\n127.0.0.1\n0 777777777777777777777 -8 16 3\n1 0\n1795632779.5 0 0 0 0 0 0\n",
		"SRC0\n127.0.0.1\n0 377 8 10\n",
	} {
		f.Add([]byte(seed))
	}
	addr := netip.MustParseAddr("127.0.0.1")
	f.Fuzz(func(t *testing.T, data []byte) {
		sel := New(DefaultOptions())
		src := sel.Add(SourceConfig{Type: TypeNTP, RefID: 0x7f000001, Addr: addr,
			MaxUnreach: -1, Stats: sourcestats.DefaultOptions()})
		if err := sel.LoadDump(bytes.NewReader(data), src, fuzzNow); err != nil {
			if src.Stats().Samples() != 0 {
				t.Fatalf("rejected dump (%v) left %d samples", err, src.Stats().Samples())
			}
			return
		}
		if r := src.Reachability(); int(r) >= 1<<ReachBits {
			t.Fatalf("reachability %o out of range", r)
		}
		var out bytes.Buffer
		if err := sel.SaveDump(&out, src); err != nil {
			t.Fatalf("saving an accepted dump: %v", err)
		}
		sel2 := New(DefaultOptions())
		src2 := sel2.Add(SourceConfig{Type: TypeNTP, RefID: 0x7f000001, Addr: addr,
			MaxUnreach: -1, Stats: sourcestats.DefaultOptions()})
		if err := sel2.LoadDump(bytes.NewReader(out.Bytes()), src2, fuzzNow); err != nil {
			t.Fatalf("cannot reload our own dump %q: %v", out.String(), err)
		}
		_ = sel.ReloadDone(fuzzNow)
	})
}
