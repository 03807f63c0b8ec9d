package selection

import (
	"net/netip"
	"strings"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const pollInterval = 64 * time.Second

// spec describes a simulated source.
type spec struct {
	offset    float64 // true offset of the local clock against it (s)
	noise     float64 // alternating noise amplitude (s)
	rootDelay float64 // default 2 ms
	rootDisp  float64 // default 100 us
	stratum   int     // default 1
	leap      discipline.LeapStatus
	opts      SelectOptions
	auth      bool
	silent    bool // replies never arrive
}

func addrOf(i int) netip.Addr { return netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}) }

type fixture struct {
	sel   *Selector
	srcs  []*Source
	specs []spec
	k     int // polls done
	all   Result
	last  Result
}

func newFixture(opts Options, specs ...spec) *fixture {
	f := &fixture{sel: New(opts), specs: specs}
	for i, sp := range specs {
		a := addrOf(i)
		b := a.As4()
		f.srcs = append(f.srcs, f.sel.Add(SourceConfig{
			Type:          TypeNTP,
			RefID:         uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]),
			Addr:          a,
			Authenticated: sp.auth,
			Options:       sp.opts,
			MaxUnreach:    -1,
			Stats:         sourcestats.DefaultOptions(),
		}))
		f.sel.SetActive(f.srcs[len(f.srcs)-1], true)
	}
	return f
}

func (f *fixture) now() time.Time { return t0.Add(time.Duration(f.k) * pollInterval) }

func (f *fixture) collect(r Result) {
	f.all.Events = append(f.all.Events, r.Events...)
	f.all.BadSources = append(f.all.BadSources, r.BadSources...)
	f.all.Unsynchronised = f.all.Unsynchronised || r.Unsynchronised
	if r.Update != nil {
		f.all.Update = r.Update
	}
	f.last = r
}

// poll runs n polling rounds: every source is polled at the same time, in
// order, and its sample accumulated and the selection run.
func (f *fixture) poll(n int) {
	for ; n > 0; n-- {
		now := f.now()
		for i, src := range f.srcs {
			f.pollSource(i, src, now)
		}
		f.k++
	}
}

func (f *fixture) pollSource(i int, src *Source, now time.Time) {
	sp := f.specs[i]
	if sp.silent {
		f.collect(f.sel.UpdateReachability(src, false, now))
		return
	}
	f.collect(f.sel.UpdateReachability(src, true, now))
	f.sel.UpdateStatus(src, def(sp.stratum, 1), sp.leap, false)
	off := sp.offset
	if f.k%2 == 0 {
		off += sp.noise
	} else {
		off -= sp.noise
	}
	rd := deff(sp.rootDelay, 2e-3)
	f.sel.AccumulateSample(src, discipline.Sample{
		Time: now, Offset: off, PeerDelay: rd, PeerDispersion: 1e-6,
		RootDelay: rd, RootDispersion: deff(sp.rootDisp, 1e-4), Stratum: def(sp.stratum, 1),
	})
	f.collect(f.sel.Select(now, src))
}

func (f *fixture) states() string {
	var b strings.Builder
	for _, src := range f.srcs {
		b.WriteString(src.Status().String())
	}
	return b.String()
}

func (f *fixture) sourcesChars() string {
	var b strings.Builder
	for _, src := range f.srcs {
		b.WriteByte(src.Report(f.now()).State.Char())
	}
	return b.String()
}

func (f *fixture) messages() []string {
	var m []string
	for _, e := range f.all.Events {
		m = append(m, e.Message)
	}
	return m
}

func def(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func deff(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}
