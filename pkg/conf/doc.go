// Package conf parses the chrony.conf language of chrony 4.8 into a typed
// configuration.
//
// The contract is chronyd's: every line chronyd 4.8 accepts is accepted here
// with the same meaning, and every line it rejects is rejected with an *Error
// that names the file and line and carries chronyd's wording. Numbers are read
// the way chronyd reads them (C sscanf/strtol/strtod semantics, including the
// trailing text those functions tolerate), see scan.go.
//
// Units follow chrony.conf(5): durations and offsets are float64 seconds,
// polling intervals are log2 seconds, frequencies are ppm. Values that chronyd
// keeps as "unset" (for example a source's NTP version) are zero here and
// documented on the field.
//
// Entry points: Load reads the configuration as chronyd does at start (the
// file, or the directives given on the command line instead); Parse reads a
// stream; Config.Print writes what "chronyd -p" prints; Config.Directives
// lists the directives present; LoadSourceDirs reads sourcedir folders (at
// start and for "chronyc reload sources").
//
// Things chronyd decides outside its parser are left to the daemon and noted
// on the fields: -R ignores initstepslew and disables a limited makestep, -Q
// zeroes the NTP and command ports, host names in access rules must resolve
// (AccessRule.ResolveError), and access rules with a prefix longer than the
// address are refused when the rules are set up ("Bad subnet in ...").
//
// The package reads configuration files and globs for include, confdir and
// sourcedir; it never resolves host names or opens sockets. Host names in
// allow/deny rules, sources and broadcast destinations are kept as written for
// the daemon to resolve.
package conf
