package source

import "time"

// SlewTimes moves the local timestamps the source keeps between packets
// (the last receive and transmit times, the previous transmit time of the
// interleaved mode and the receive time of a symmetric packet saved for
// restarting the protocol) into the clock's new timescale after a
// correction made at when: the frequency changed by dfreq (s/s) and the
// offset by doffset (s), with chrony's sign (positive doffset = the clock
// was fast). This is chronyd's NCR_SlewTimes; without it a measurement
// whose local timestamps straddle a clock update, as in the interleaved
// and symmetric modes where they can be a polling interval apart, carries
// the update as an error.
func (s *Source) SlewTimes(when time.Time, dfreq, doffset float64) {
	for _, ts := range []*LocalTimestamp{&s.localRx, &s.localTx, &s.prevLocalTx, &s.initLocalRx} {
		ts.Time = slewTime(ts.Time, when, dfreq, doffset)
	}
}

// slewTime maps a stored cooked time t into the timescale after a clock
// correction at when; the zero time (no timestamp) stays zero.
func slewTime(t, when time.Time, dfreq, doffset float64) time.Time {
	if t.IsZero() {
		return t
	}
	delta := diffSeconds(when, t)*dfreq - doffset
	return t.Add(secondsToDuration(delta))
}

// ResetInstance drops the protocol state kept between packets (the
// remote and local timestamps of the last exchanges, counters of the
// interleaved mode, the remote's poll and stratum) without touching the
// polling interval or reachability. chronyd does this to every source after
// an unknown step of the clock, when the stored local timestamps cannot be
// moved with it (NCR_ResetInstance from its clock change handler).
func (s *Source) ResetInstance() { s.resetInstance() }
