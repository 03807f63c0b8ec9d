// Package source is the per-source NTP state machine of chronygo: one
// Source per configured server (client mode 3) or peer (symmetric active
// mode 1), modelled on chronyd's ntp_core.c and shaped like ntpd-rs's
// source.rs. It never reads a clock or touches a socket: the caller feeds
// it timer expiries (HandleTimer), received packets (HandleIncoming) and
// transmit timestamps (HandleTxTimestamp), each with the current time, and
// applies the Actions it returns (send a packet, set the next timer,
// deliver a sample to the statistics, report reachability, ask for a
// replacement, stop after a Kiss-o'-Death).
//
// Transmit timestamps: in client mode chronyd never reveals its clock, so
// the origin, receive and transmit fields of a request are random cookies
// and the true local transmit time is kept aside. The state machine takes
// the time passed to HandleTimer as a provisional transmit time; the I/O
// shell improves it by calling HandleTxTimestamp with the time it read
// just before sendmsg (daemon timestamp) or the kernel's software transmit
// timestamp from the error queue, tagged with the Transmit's Seq. The
// improved time is used for the offset/delay of the response and, in
// interleaved mode, for the next request. In symmetric mode the packet's
// transmit field carries the HandleTimer time.
//
// The local timestamps kept between packets are cooked times: when the
// clock is corrected, the caller passes the correction to SlewTimes so they
// follow it (chronyd's NCR_SlewTimes). Interleaved and symmetric
// measurements combine timestamps taken up to a polling interval apart,
// across the clock update made after the previous sample.
//
// The package also formats `log measurements` lines (FormatMeasurement).
package source
