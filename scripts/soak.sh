#!/usr/bin/env bash
# Soak test ("make soak"): builds chronygo and the soak driver, then runs
# chronygo for SOAK_SECONDS (default 600) with SOAK_CLIENTS (default 10000)
# NTP clients from distinct 127.2.x.y addresses and SOAK_SOURCES (default
# 20) sources over SOAK_UPSTREAMS (default 4) chronyd -x upstreams on
# loopback. It samples open fds, threads and VmRSS every 10 s and fails
# when any of them keeps growing or clients go unanswered. Needs root and
# /usr/sbin/chronyd. Extra arguments go to cmd/chronygo-soak (e.g. -keep).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "soak: needs root (upstream chronyd -u root, 10 000 sockets)" >&2
	exit 1
fi
if [ ! -x /usr/sbin/chronyd ]; then
	echo "soak: /usr/sbin/chronyd is missing (scripts/install-test-deps.sh installs it)" >&2
	exit 1
fi
bindir="$(mktemp -d /tmp/chronygo-soak-bin-XXXXXX)"
trap 'rm -rf "$bindir"' EXIT
CGO_ENABLED=0 go build -o "$bindir/chronygo" ./cmd/chronygo
go build -o "$bindir/chronygo-soak" ./cmd/chronygo-soak
exec_args=(
	-daemon "$bindir/chronygo"
	-seconds "${SOAK_SECONDS:-600}"
	-clients "${SOAK_CLIENTS:-10000}"
	-sources "${SOAK_SOURCES:-20}"
	-upstreams "${SOAK_UPSTREAMS:-4}"
	-interval 10s
)
"$bindir/chronygo-soak" "${exec_args[@]}" "$@"
