// Package fakentp is a small NTP server for fault tests: it answers
// correctly (optionally with a fixed offset, like a falseticker), or
// misbehaves on demand — silence, garbage bytes, the wrong mode, the wrong
// origin timestamp, an unsynchronised leap/stratum, Kiss-o'-Death packets,
// or a step of its time after a number of good answers. The reply is built
// by a pure function (Respond) of the behaviour, the request and the
// receive and transmit times; Server is the thin I/O shell around it, whose
// behaviour can be changed while it runs.
package fakentp
