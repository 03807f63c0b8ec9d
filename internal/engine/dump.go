package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/chronygo/chronygo/internal/atomicfile"
	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
)

// dumpIdentifier is the first line of chronyd's measurement dump files.
const dumpIdentifier = "SRC0"

// dumpPath returns the dump file of a source in the dumpdir.
func (e *Engine) dumpPath(s *sourceEntry) string {
	return filepath.Join(e.cfg.DumpDir, s.remote().Addr().String()+".dat")
}

// Dump saves every source's measurement history in the dumpdir, in
// chronyd's format (chronyc dump, and at exit). Without a dumpdir it does
// nothing.
func (e *Engine) Dump() error {
	if e.cfg.DumpDir == "" {
		return nil
	}
	var errs []error
	for _, s := range e.sources {
		var b bytes.Buffer
		auth := 0
		if s.opts.Key != 0 {
			auth = 1
		}
		fmt.Fprintf(&b, "%s\n%s\n%d %o %d %d %d\n", dumpIdentifier, s.name, auth,
			s.sel.Reachability(), reachSize(s), s.sel.Stratum(), int(s.sel.Leap()))
		if err := s.sel.Stats().SaveTo(&b); err != nil {
			if errors.Is(err, sourcestats.ErrNoSamples) {
				continue
			}
			errs = append(errs, err)
			continue
		}
		if err := atomicfile.Write(e.dumpPath(s), b.Bytes(), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("writing dump file: %w", err))
		}
	}
	return errors.Join(errs...)
}

func reachSize(s *sourceEntry) int {
	_, n := s.sm.Reach()
	return n
}

// LoadDumps reloads the sources' measurement histories from the dumpdir
// (chronyd -r) and reselects. A missing file is skipped; a bad one is
// logged as chronyd does.
func (e *Engine) LoadDumps() {
	if e.cfg.DumpDir == "" {
		return
	}
	now := e.now()
	for _, s := range e.sources {
		data, err := os.ReadFile(e.dumpPath(s))
		if err != nil {
			continue
		}
		if err := e.loadDump(s, data); err != nil {
			e.log.Warnf("Could not load dump file for %s", s.remote().Addr())
			continue
		}
		e.log.Infof("Loaded dump file for %s", s.remote().Addr())
	}
	e.applySelection(e.sel.Reselect(now))
	e.after()
}

func (e *Engine) loadDump(s *sourceEntry, data []byte) error {
	r := bufio.NewReader(bytes.NewReader(data))
	var lines [3]string
	for i := range lines {
		l, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("reading dump header: %w", err)
		}
		lines[i] = strings.TrimRight(l, "\n")
	}
	if lines[0] != dumpIdentifier || strings.TrimSpace(lines[1]) != s.name {
		return errors.New("dump file of another source")
	}
	var auth, size, stratum, leap int
	var reach uint
	if _, err := fmt.Sscanf(lines[2], "%d %o %d %d %d", &auth, &reach, &size, &stratum, &leap); err != nil {
		return fmt.Errorf("parsing dump header: %w", err)
	}
	if (auth == 0 && s.opts.Key != 0) || stratum < 0 || stratum >= 16 || leap < 0 || leap >= 3 {
		return errors.New("invalid dump header")
	}
	if err := s.sel.Stats().LoadFrom(r, e.now()); err != nil {
		return err
	}
	e.sel.UpdateStatus(s.sel, stratum, leapOf(leap), false)
	return nil
}

// removeDumpFiles deletes the sources' dump files once they were used (or
// not wanted), so that a later -r does not load stale histories.
func (e *Engine) removeDumpFiles() {
	if e.cfg.DumpDir == "" {
		return
	}
	matches, err := filepath.Glob(filepath.Join(e.cfg.DumpDir, "*.dat"))
	if err != nil {
		return
	}
	for _, m := range matches {
		name := strings.TrimSuffix(filepath.Base(m), ".dat")
		if _, err := netip.ParseAddr(name); err != nil && !strings.HasPrefix(name, "refid:") {
			continue
		}
		if err := os.Remove(m); err != nil {
			e.log.WithError(err).Debugf("Could not remove %s", m)
		}
	}
}
