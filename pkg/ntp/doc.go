// Package ntp is the root of chronygo's NTP implementation. It holds no
// code; its subpackages each have one job:
//
//   - wire: the NTP wire format (timestamps with era handling, the short
//     format, reference IDs, precision, and chronyd's packet validation
//     rules for versions, extension fields and MACs);
//   - access: allow/deny tables with chronyd's semantics, shared by the NTP
//     server (allow, deny) and the command monitor (cmdallow, cmddeny);
//   - server: the NTP server (responder logic, client log with rate
//     limiting and KoD, interleaved mode, counters for chronyc serverstats
//     and clients, and the socket shell with kernel timestamps);
//   - source: the per-source client and symmetric peer state machines;
//   - pool: sources given by name (server and pool directives);
//   - clientio: the socket shell of client requests;
//   - auth: symmetric-key authentication (the key file and MACs).
//
// Logic packages take packets and times as inputs and never open sockets or
// read the clock; the server and clientio shells do.
package ntp
