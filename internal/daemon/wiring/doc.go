// Package wiring turns a parsed chrony.conf (pkg/conf) into the daemon's
// components: it maps the configuration to the settings the lifecycle acts
// on, resolves host names in access rules, publishes the initial reference
// snapshot and builds the NTP server and chronyc listeners. It is the one
// place that knows every component; internal/daemon knows none of them.
//
// The timing engine plugs in through EngineFactory: when one is given it
// takes over publishing reference snapshots and answering chronyc; until
// then the published snapshot is the static truth of the configuration
// (the local reference with "local", else unsynchronised).
package wiring
