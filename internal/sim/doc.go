// Package sim is chronygo's discrete-event simulator: virtual time, a
// network with delay, jitter, asymmetry, loss and cuts, client oscillators
// with frequency error and random-walk wander, ideal stratum-1 servers and
// falsetickers, and client nodes running the real engine. It reproduces the
// scenarios of chrony's simulation suite (test/simulation) and measures the
// same statistics: sync time, maximum and RMS absolute time and frequency
// error after the scenario's maximum sync time. Runs are seeded and
// deterministic; nothing sleeps and no goroutine is started per packet.
package sim
