// Package sim is chronygo's discrete-event simulator: virtual time, a
// network with delay, jitter, asymmetry, loss and cuts, client oscillators
// with frequency error and random-walk wander, ideal stratum-1 servers and
// falsetickers, and client nodes running the real engine. It reproduces the
// scenarios of chrony's simulation suite (test/simulation) and measures the
// same statistics: sync time, maximum and RMS absolute time and frequency
// error after the scenario's maximum sync time. Runs are seeded and
// deterministic; nothing sleeps and no goroutine is started per packet.
//
// Each scenario carries two sets of chronyd 4.8 figures: Reference, the
// single run quoted in DESIGN.md (the targets), and Measured, chronyd's own
// mean over 40 seeds of the same test script under clknetsim (MeasuredNote).
// A single run scatters widely: for several scenarios the quoted run is
// well below chronyd's own mean, so the table prints both ratios.
package sim
