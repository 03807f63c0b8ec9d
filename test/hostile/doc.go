// Package hostile holds black-box tests that attack a running chronygo on
// loopback:
//
//   - floods of malformed, truncated, oversized, mode 6/7, spoofed-origin,
//     replayed, kiss-o'-death, unknown-extension and unknown-MAC NTP packets
//     while a good client polls (it must be served during and after, no
//     reply may be larger than its request, rate-limited drops must show in
//     "chronyc serverstats", memory must stay bounded), and the same packets
//     sent one by one to a real chronyd and to chronygo must be answered or
//     ignored alike;
//   - requests from 200 000 spoofed loopback addresses against
//     clientloglimit (raw socket, root);
//   - hostile control (cmdmon) datagrams, control commands over UDP ("501
//     Not authorised"), and the same datagrams sent to a real chronyd for
//     comparison;
//   - the command socket's mode and folder check, and the credentials and
//     capabilities after "-u nobody", compared with a real chronyd;
//   - state files: truncated or garbage drift and dump files at start, and
//     saves on a full tmpfs.
//
// Every flood is bounded in packets and time. The daemon is built from
// ./cmd/chronygo in TestMain. A feature the daemon lacks, or a defect, makes
// its test fail with a precise message. Tests needing root or the stock
// chronyd/chronyc skip without them, and fail instead when CI=true.
package hostile
