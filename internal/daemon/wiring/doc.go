// Package wiring turns a parsed chrony.conf (pkg/conf) into the daemon's
// components: it maps the configuration to the settings the lifecycle acts
// on, resolves host names in access rules, publishes the initial reference
// snapshot and builds the NTP server, the timing engine and the chronyc
// listeners. It is the one place that knows every component;
// internal/daemon knows none of them.
//
// The timing engine plugs in through EngineFactory. NewEngineFactory is the
// daemon's: internal/engine's Service over the clock driver (the system
// clock, or NoControl with -x and -Q; ClockFactory is the seam tests use),
// client requests sent from pkg/ntp/clientio sockets, symmetric peers
// sharing the NTP server's port (the server hands their packets over
// through its Peer callback, and a socket per peer bound to the same port
// and connected to the peer sends and receives the rest), names resolved
// in the background, the drift, dump and log files, and -q/-Q ending the
// daemon through Resources.Exit. Once started, the engine publishes every
// reference snapshot into the pointer the NTP server reads and answers
// chronyc; the commands that belong to the server (clients, serverstats,
// allow/deny, accheck) fall back to a handler over the running server.
// Without an engine the published snapshot is the static truth of the
// configuration (the local reference with "local", else unsynchronised).
package wiring
