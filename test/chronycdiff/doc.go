// Package chronycdiff holds the end-to-end and differential tests of
// chronygo's command interface as the stock chronyc (Debian, 4.3) sees it.
//
// One test network of three namespaces (named "cd" plus a random suffix)
// joins a real chronyd 4.3 upstream (local stratum 1, 198.51.100.1 and
// 2001:db8::1 on a bridge) to two clients with the same configuration
// (server 198.51.100.1 iburst minpoll 0 maxpoll 2, local stratum 10,
// allow, an unprivileged cmdport, private pid file, socket, drift file,
// dump and log folders): chronygo, the system under test, and a real
// chronyd 4.3 as the reference. Both run in the foreground (-d), as root,
// without clock control (-x).
//
// TestChronyc runs every chronyc command against both, over the Unix
// socket and, for the monitoring ones and the refused ones, over UDP from
// inside the client's namespace; exit status and output must agree line by
// line once values are masked (numbers with their units, dates, fast/slow
// and each daemon's own address; labels, legends, status codes, state
// characters, shared addresses and reference IDs stay). Value checks read
// chronygo alone: the configured source listed and selected (^*), tracking
// at stratum 2 with the upstream's reference ID, the dump files, and after
// the upstream stops the local reference (stratum 10, 7F7F0101). chronyd
// activates the local reference only once its root distance reaches the
// local directive's distance (1 s by default, hours after the upstream
// stops), so the suite lowers it to 1 µs with chronyc "local stratum 10
// distance 0.000001" after checking that both still keep the upstream as
// their reference.
// The steps share the fixture and run in order; the last is shutdown.
//
// The suite needs root, iproute2, chronyd and chronyc; without them it
// skips, except under CI=true where it fails. It lasts about 15 s.
package chronycdiff
