package selection

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
)

// dumpIdentifier is the first line of chronyd's source dump files.
const dumpIdentifier = "SRC0"

// Messages chronyd logs around dump files (%s is Source.String()).
const (
	LoadedDumpMessage       = "Loaded dump file for %s"
	CouldNotLoadDumpMessage = "Could not load dump file for %s"
	dumpNameForRefclocks    = "."
)

// DumpFileName returns the name of the source's file in the dumpdir: the IP
// address or "refid:XXXXXXXX" with the ".dat" suffix. ok is false for NTP
// sources without a real address yet.
func DumpFileName(src *Source) (name string, ok bool) {
	if src.typ == TypeRefclock {
		return fmt.Sprintf("refid:%08x.dat", src.refID), true
	}
	if !src.addr.IsValid() {
		return "", false
	}
	return src.addr.String() + ".dat", true
}

// dumpName is the name recorded in the file: the configured name of an NTP
// source (its address when it has none) or "." for a reference clock.
func (src *Source) dumpName() string {
	if src.typ == TypeRefclock {
		return dumpNameForRefclocks
	}
	if src.name != "" {
		return src.name
	}
	return src.addr.String()
}

// SaveDump writes the source in chronyd's dump file format: the identifier,
// the name, "AUTH REACH(octal) REACHSIZE STRATUM LEAP" and the sample
// history. Sources without samples return sourcestats.ErrNoSamples (chronyd
// then removes the file).
func (s *Selector) SaveDump(w io.Writer, src *Source) error {
	auth := 0
	if src.auth {
		auth = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n%d %o %d %d %d\n", dumpIdentifier, src.dumpName(), auth,
		src.reach, src.reachSize, src.stratum, int(src.leap))
	if src.stats.Samples() < 1 {
		return fmt.Errorf("dump of %s: %w", src, sourcestats.ErrNoSamples)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("dump of %s: %w", src, err)
	}
	if err := src.stats.SaveTo(w); err != nil {
		return fmt.Errorf("dump of %s: %w", src, err)
	}
	return nil
}

// LoadDump restores a source from a dump file written by SaveDump (or by
// chronyd). It fails when the file belongs to another name, the source is
// authenticated and the file's was not, or any value is invalid; the
// statistics are then reset. After loading all sources call ReloadDone.
func (s *Selector) LoadDump(r io.Reader, src *Source, now time.Time) error {
	br := bufio.NewReader(r)
	line := func() (string, error) {
		l, err := br.ReadString('\n')
		if err != nil && (err != io.EOF || l == "") {
			return "", err
		}
		return strings.TrimRight(l, "\r\n"), nil
	}
	id, err := line()
	if err != nil || id != dumpIdentifier {
		return fmt.Errorf("dump of %s: missing identifier", src)
	}
	name, err := line()
	if err != nil {
		return fmt.Errorf("dump of %s: missing name: %w", src, err)
	}
	fields := strings.Fields(name)
	if len(fields) != 1 || (src.typ == TypeNTP && fields[0] != src.dumpName()) {
		return fmt.Errorf("dump of %s: name %q does not match", src, name)
	}
	status, err := line()
	if err != nil {
		return fmt.Errorf("dump of %s: missing status: %w", src, err)
	}
	var auth, reachSize, stratum, leap int
	var reach uint
	if n, err := fmt.Sscanf(status, "%d %o %d %d %d", &auth, &reach, &reachSize, &stratum, &leap); err != nil || n != 5 {
		return fmt.Errorf("dump of %s: invalid status line %q", src, status)
	}
	if (auth == 0 && src.auth) || stratum < 0 || stratum >= MaxStratum ||
		leap < int(discipline.LeapNormal) || leap >= int(discipline.LeapUnsynchronised) {
		return fmt.Errorf("dump of %s: unusable status line %q", src, status)
	}
	if err := src.stats.LoadFrom(br, now); err != nil {
		return fmt.Errorf("dump of %s: %w", src, err)
	}
	src.reach = reach & (1<<ReachBits - 1)
	src.reachSize = min(max(reachSize, 0), ReachBits)
	src.stratum = stratum
	src.leap = discipline.LeapStatus(leap)
	return nil
}

// ReloadDone allows an immediate reference update from every source after
// the dump files were loaded, and selects at now.
func (s *Selector) ReloadDone(now time.Time) Result {
	s.begin()
	for _, src := range s.sources {
		src.updates++
	}
	s.selectSource(now, nil)
	return s.end()
}
