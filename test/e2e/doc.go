// Package e2e is chronygo's end-to-end suite: the deployment of
// testdata/chrony.conf (two dual-stack servers with three pools, peering
// with each other and falling back to the local reference) run inside a
// private test network of network namespaces, side by side with two real
// chronyd 4.3 twins doing the same job, and read only through the stock
// chronyc.
//
// The network: a hub namespace with a bridge routes between the subnets
// (203.0.113.0/26 and 2001:db8:1:1::/64 upstreams and DNS,
// 203.0.113.64/26 and 2001:db8:1:8000::/64 the pools' spare addresses,
// 198.51.100.0/24 and 2001:db8:1:2::/64 the servers and the allowed
// client, 203.0.113.128/26 and 2001:db8:1:4::/64 a client not allowed).
// Six stratum-1 chronyd upstreams, dnsmasq answering the three pool names,
// the four servers, the clients (sntp, ntpdate -q, chronyd -Q) and the
// interoperability checks (chronygo and chronyd as each other's client and
// peer, a chronygo behind internal/relay with 10 % loss and 1 ms jitter)
// each live in their own namespace.
//
// The servers run a "fast" copy of the deployment config: only the
// addresses are changed (peer, allow) and "minpoll 1 maxpoll 2" is added
// to the pool and peer lines, so that the scenario takes 5 to 8 minutes
// instead of hours. The scenario: start; stop one pool's two upstreams
// and withdraw them from DNS (which then gives the pool's spare
// addresses), while the interoperability checks run; stop every upstream
// and the DNS server; restart them; kill a twin and restart it. The
// chronyd twins' subtests check the suite itself and give the timings
// chronygo is held to (at most twice chronyd's time plus 10 s), except
// where chrony's own timing is random: how long a server keeps selecting
// unreachable upstreams is checked against chrony's rule for unreachable
// sources instead (see stale_test.go).
//
// As root it runs with the other tests, serially and with a long enough
// timeout:
//
//	go test -p 1 -count=1 -timeout 12m ./test/e2e/
//
// It needs iproute2, chronyd, chronyc, dnsmasq, sntp and ntpdate; without
// root or a tool, or with a -timeout under 9 minutes, it skips, except
// under CI=true where it fails. Every namespace it creates is named "e2"
// plus a random suffix, every /etc/netns folder likewise; a run holds the
// lock /run/chronygo-e2e.lock, first sweeps what a crashed earlier run
// left behind, and sweeps its own network 20 s before its -timeout would
// kill the test binary (which then runs no cleanup).
package e2e
