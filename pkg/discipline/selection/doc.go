// Package selection chooses the time sources used to discipline the clock,
// as chronyd's sources module does: it owns one sourcestats.Stats per
// source, builds each source's interval [offset - root distance, offset +
// root distance], finds the truechimers with chrony's variant of Marzullo's
// intersection (trusted sources first), applies minsources, require, prefer,
// maxdistance and maxjitter, keeps the current reference unless another
// source scores better for long enough (reselectdist, stratumweight), and
// combines the selected sources' offsets and frequencies (combinelimit).
//
// The package is sans-IO: time comes in as arguments, and what chronyd would
// log or do elsewhere comes back in a Result (log events with chronyd's
// wording, the reference update, sources to replace).
//
// Units: seconds for offsets and distances, s/s for frequencies and skews.
// Offsets use chrony's sign (positive: local clock ahead of the source).
//
// Typical use by the engine, for each valid measurement of a source:
//
//	res := sel.UpdateReachability(src, true, now) // every poll, reachable or not
//	leap, vote := sel.UpdateStatus(src, stratum, leap, leapSecondClose)
//	events := sel.AccumulateSample(src, sample)
//	res = sel.Select(now, src) // res.Update feeds the reference
//
// and on clock corrections SlewSamples, AddDispersion or UnknownStep. After
// loading dump files (-r), ReloadDone allows the immediate reference update
// chronyd makes.
//
// TestChronyDifferential replays recorded scenarios through this package and
// compares every state, score, interval, statistic, reference update and
// log message with what chronyd 4.8's own code produced for them.
package selection
