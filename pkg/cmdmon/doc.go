// Package cmdmon serves chrony's command and monitoring protocol, so that a
// stock chronyc (4.0 to 4.8) can monitor and control chronygo exactly as it
// does chronyd.
//
// It is split in three layers:
//
//   - candm (subpackage): the pure codec of the protocol.
//   - Dispatcher (dispatch.go, policy.go): the sans-IO policy that takes one
//     datagram, the channel it came from and the time, applies chronyd's
//     access rules (every command over the Unix socket; over UDP only the open
//     monitoring commands, only to addresses admitted by cmdallow/cmddeny and
//     localhost, with optional rate limiting), calls the Handler and returns
//     the reply datagram.
//   - Server (server.go): the I/O shell owning the Unix datagram socket and
//     the UDP sockets.
//
// The Handler is implemented by the engine. The Dispatcher calls it from the
// goroutine of each socket, so several calls may run at once: the engine must
// serialise them (for example by forwarding each call to its event loop, or
// answering monitoring calls from an immutable published snapshot).
package cmdmon
