package engine

import (
	"fmt"

	"github.com/chronygo/chronygo/pkg/conf"
)

// sourceKey identifies a directive of a sourcedir file: a changed line is a
// different source.
func sourceKey(sc conf.Source) string {
	return fmt.Sprintf("%s %s %d %d %+v", sc.Kind, sc.Name, sc.Port, sc.Family, sc.Options)
}

// reloadSourceDirs reads the sourcedir folders again (at start and for
// chronyc reload sources): sources whose line disappeared are removed, new
// lines are added, unchanged ones are kept with their history.
func (e *Engine) reloadSourceDirs() error {
	if len(e.cfg.SourceDirs) == 0 {
		return nil
	}
	srcs, err := conf.LoadSourceDirs(e.cfg.SourceDirs)
	if e.dirNames == nil {
		e.dirNames = map[string]bool{}
	}
	want := make(map[string]conf.Source, len(srcs))
	for _, sc := range srcs {
		want[sourceKey(sc)] = sc
	}
	for k, sc := range e.dirSources {
		if _, ok := want[k]; ok {
			continue
		}
		for i := 0; i < len(e.sources); {
			s := e.sources[i]
			if s.name != sc.Name || !s.fromDir {
				i++
				continue
			}
			e.names.Remove(s.remote().Addr())
			e.removeSource(s)
		}
		e.log.Infof("Removed %s %s", kindWord(sc), sc.Name)
	}
	added := make(map[string]conf.Source, len(want))
	for k, sc := range want {
		if _, ok := e.dirSources[k]; ok {
			added[k] = sc
			continue
		}
		e.dirNames[sc.Name] = true
		aerr := e.addConfigured(sc)
		if aerr != nil {
			e.log.WithError(aerr).Warnf("Could not add source %s", sc.Name)
			continue
		}
		added[k] = sc
		e.log.Infof("Added %s %s", kindWord(sc), sc.Name)
	}
	e.dirSources = added
	e.dirNames = make(map[string]bool, len(added))
	for _, sc := range added {
		e.dirNames[sc.Name] = true
	}
	e.applyNames(e.names.ResolveNow(e.now()))
	if err != nil {
		return fmt.Errorf("reloading sources: %w", err)
	}
	return nil
}

func kindWord(sc conf.Source) string {
	if sc.Kind == conf.KindPool {
		return "pool"
	}
	return "source"
}
