// Package chronyc is a client of chrony's command and monitoring protocol
// that behaves like chrony 4.8's chronyc: the same command language, the
// same reports with the same columns, unit scaling and legends, the same CSV
// mode, status lines and exit status, plus a JSON output mode with the raw
// values in SI units.
//
// The package is split into a pure part and a thin I/O shell:
//   - report.go and units.go format values exactly as chronyc prints them;
//   - sourcereports.go (per-source tables, tracking, ntpdata) and
//     daemonreports.go (activity, clients, serverstats, ...) fetch and
//     render each report; json.go holds the JSON forms;
//   - args.go and scan.go parse command arguments into typed requests;
//   - session.go runs command lines against an Exchanger (any transport);
//   - transport.go and cli.go are the shell: the Unix-socket and UDP
//     transports with chronyc's retries and timeouts, and the command line.
package chronyc
