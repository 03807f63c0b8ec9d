// Package daemon is chronygo's process lifecycle, the part of chronyd's
// main.c that knows no timing: Run takes the parsed command line (Options)
// and a Loader for the configuration, then logs (syslog, stderr or a file,
// with chronyd's wording), prints the configuration for -p, refuses a second
// instance, writes the pid file, starts the Components the Loader built,
// drops root keeping only the capabilities they need, reports readiness to
// the waiting parent (Detach, for Type=forking) or to systemd (READY=1), and
// serves until a signal, the -t timeout or a component asks to exit; then it
// closes everything in reverse order and removes the pid file.
//
// It knows no component: internal/daemon/wiring builds them from the
// configuration. DirectiveTable records which chrony.conf directives
// chronygo acts on; the daemon names the others at start, and
// scripts/directives prints the table into README.md.
package daemon
