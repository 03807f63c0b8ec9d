// Package faults holds the fault tests of chronygo: upstreams that vanish,
// answer garbage, step their time by hours or tell the wrong time
// (falsetickers), a maxchange limit exceeded, DNS that fails or answers
// slowly. Each scenario runs chronygo with -x (it decides steps and slews
// and logs them in chronyd's words, without touching the clock) in its own
// network namespaces, often beside a real chronyd 4.3 client with the same
// configuration as the reference, and asserts that chronygo neither steps
// the clock outside the makestep and maxchange rules, nor crashes, nor
// stops serving NTP clients and chronyc.
//
// The tests need root, iproute2, chronyd, chronyc and dnsmasq; without
// them they skip (fail under CI=true).
package faults
