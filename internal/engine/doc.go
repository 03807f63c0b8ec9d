// Package engine is chronygo's event loop: one goroutine owns every piece of
// mutable timing state (the sources, their statistics, the selection and the
// reference) and moves only when it is given an explicit input — a timer
// firing, a packet arriving with its receive timestamp, a name resolved, a
// chronyc request, shutdown. Its outputs (packets to send, clock
// adjustments, log lines, a new reference snapshot) go through injected
// interfaces, so the same engine runs in the daemon over real timers and in
// the simulator over virtual time.
//
// The flow of one measurement, as in chronyd: the per-source state machine
// (pkg/ntp/source) turns a response into a sample; the selector
// (pkg/discipline/selection) accumulates it in the source's statistics and
// selects and combines the sources; the reference (pkg/discipline/reference)
// folds the result into the clock driver (pkg/discipline/clock); the engine
// then publishes a new immutable discipline.ReferenceSnapshot through an
// atomic pointer, which the NTP server reads without waiting for the loop.
// Clock changes are fed back to the statistics (chrony's parameter change
// handlers), bad sources of a pool or given by name are replaced, the drift
// file is written hourly and at shutdown, and the measurement histories are
// dumped (dumpdir) and reloaded (-r).
//
// Pieces:
//   - Engine: the state, driven by Start, HandlePacket, timer callbacks and
//     Shutdown; every method runs on the loop.
//   - Scheduler: timers at absolute raw-clock times. LoopScheduler keeps
//     one runtime timer for the earliest event, which the Loop itself waits
//     on (no periodic tick, no goroutine per timer); RealScheduler posts
//     fired timers to a Loop; VirtualScheduler is the simulator's queue.
//   - Loop: the goroutine that runs inputs one at a time (Post, TryPost,
//     Call); TryRun runs a caller's function directly when the loop is
//     idle, under the same exclusive ownership.
//   - Control: chronyc's cmdmon.Handler, answering through a Caller that
//     runs each request on the loop.
//   - Service: the daemon's component — Engine, Loop, LoopScheduler and
//     Control together, with Deliver for received packets.
//
// Wiring in the daemon (sketch):
//
//	svc, err := engine.NewService(engine.ServiceOptions{
//		Engine: engine.Options{
//			Config:      cfg,               // *conf.Config
//			Clock:       sysClock,          // clock.NewSystem(...), NewNoControl for -x
//			Transmit:    shell.Send,        // clientio.Shell; tx.Peer to the server socket
//			CloseSocket: shell.CloseSocket,
//			Logger:      log,
//			Snapshot:    ref,               // the server's *atomic.Pointer
//		},
//		Lookup:     net.DefaultResolver,      // a pool.Lookup
//		Fallback:   serverHandler,            // serverstats, clients, allow/deny, RTC...
//		OnShutdown: stopDaemon,
//	})
//	// responses: go svc.DeliverFrom(ctx, shell.Received())
//	// peers: the server's VerdictForward packets, Deliver with RxRaw
//	// cmdmon:  cmdmon.NewServer(svc.Handler(), ...)
//	// start: svc.Start(ctx); stop: svc.Close() (drift file, dump files)
package engine
