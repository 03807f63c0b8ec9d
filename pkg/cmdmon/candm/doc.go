// Package candm is a sans-IO codec for chrony's command and monitoring
// protocol (version 6), the protocol chronyc speaks to chronyd over the Unix
// socket and UDP port 323.
//
// It knows the exact request and reply layouts of chrony 4.0 to 4.8, the
// per-command request lengths (chronyc pads every request to the size of the
// reply it expects, so that a reply is never larger than its request), the
// status codes, chrony's 32-bit floating-point format and its timespec and IP
// address encodings.
//
// Server side: ParseRequest checks a received datagram the way chronyd does
// and returns either a typed Request, a status to answer with, or a verdict to
// drop it; Reply.Encode builds the answer, choosing among the reply versions
// of a command (for example SERVER_STATS3 for chronyc 4.3 and SERVER_STATS4
// for chronyc 4.8) the newest one that fits in the request's length.
//
// Client side: Request.Encode builds a request padded as chronyc 4.8 pads it
// and DecodeReply parses a reply of any known version.
//
// The package performs no I/O and keeps no state.
package candm
