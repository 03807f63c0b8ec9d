// Package reference keeps track of the reference the daemon is synchronised
// to, as chronyd's reference.c: it folds each combined selection result into
// the frequency estimate (skew-weighted, limited by maxupdateskew), decides
// between stepping and slewing (makestep, maxchange), drives the Clock,
// follows leap seconds (leapsectz, leapseclist, leapsecmode), takes over as
// the local reference (local directive), keeps the drift file and reports
// everything chronyc tracking shows. Smoother is smoothtime (Options.Smooth):
// the reference owns it, and Snapshot publishes its ramp for the server.
//
// It is sans-IO apart from the injected Clock, DriftStore and LeapSource:
// every method takes the engine's event time "now" (monotonic in practice;
// only differences are used) and reads raw and cooked time from the Clock.
//
// How the engine drives it:
//
//	ref := reference.New(now, clk, opts)           // reads the drift file
//	res := ref.SetReference(now, update)           // each selection result
//	res = ref.SetUnsynchronised(now)               // no selectable source
//	if res.ModeEnded { ... exit with res.ModeOK }  // -q, -Q, maxchange
//	at, ok := ref.NextTimeout()                    // cooked time; then
//	ref.HandleTimeout(now)                         // leap and fallback timers
//	snap := ref.Snapshot(now)                      // publish after every input
//	ref.Close()                                    // at exit: drift file
//
// Units and signs follow chrony: offsets in seconds, positive when the local
// clock is ahead of true time; frequencies handed in by selection are
// dimensionless (s/s, the gradient of offset against local time); tracking
// reports frequencies in ppm.
package reference
