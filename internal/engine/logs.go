package engine

// setSelectionLog turns selection.log on when fn is not nil.
func (e *Engine) setSelectionLog(fn func(string)) {
	e.selLog = fn
	e.sel.SetSelectionLog(fn != nil)
}

// writeSelectionLog hands a selection's selection.log lines over.
func (e *Engine) writeSelectionLog(lines []string) {
	if e.selLog == nil {
		return
	}
	for _, l := range lines {
		e.selLog(l)
	}
}

// writeStatisticsLog writes the source's regression to statistics.log when
// the last sample produced a new one, as chronyd does after each
// successful regression of a source's samples.
func (e *Engine) writeStatisticsLog(s *sourceEntry) {
	if e.statsLog == nil {
		return
	}
	rec, ok := s.sel.Stats().LastStatistics()
	if !ok || rec == s.loggedStats {
		return
	}
	s.loggedStats = rec
	e.statsLog(rec.Line(s.remote().Addr().String()))
}
