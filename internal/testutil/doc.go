// Package testutil holds helpers shared by chronygo's tests: skipping (or,
// under CI=true, failing) when root or a Debian tool is missing, private
// 0700 folders, free ports, bounded waiting, network namespaces with veth
// pairs that are always removed, and running the real chronyd safely (-x,
// its own pid file and command socket, killed at cleanup).
package testutil
