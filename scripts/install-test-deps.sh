#!/usr/bin/env bash
# Installs what chronygo's tests need, only when missing, and quietly when
# everything is present:
#   chrony          the reference chronyd and the stock chronyc (interop tests)
#   sntp            an independent NTP client (server tests)
#   ntpsec-ntpdate  another independent NTP client (server tests)
#   dnsmasq         a small DNS server for name-resolution tests in namespaces
#   iproute2        ip netns / veth for isolated network tests
#   staticcheck     the linter used by "make lint"
# Debian packages are installed with a temporary /usr/sbin/policy-rc.d that
# forbids starting services, and the services of packages installed here are
# stopped and disabled afterwards, so that no chronyd or dnsmasq is left
# running. Without root, missing packages are reported (an error when CI=true).
set -euo pipefail

packages=(chrony sntp ntpsec-ntpdate dnsmasq iproute2)
services_of() {
	case "$1" in
	chrony) echo "chrony.service chronyd.service" ;;
	dnsmasq) echo "dnsmasq.service" ;;
	esac
}

in_ci() { [ "${CI:-}" = "true" ]; }

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
	for p in "${packages[@]}"; do
		installed "$p" || missing+=("$p")
	done
else
	echo "install-test-deps: not a Debian system (no dpkg-query); tests needing Debian tools will skip" >&2
	in_ci && exit 1
fi

if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-test-deps: missing ${missing[*]}; run this script as root to install them" >&2
		in_ci && exit 1
	else
		policy=/usr/sbin/policy-rc.d
		backup=""
		if [ -e "$policy" ]; then
			backup="$(mktemp)"
			cp -p "$policy" "$backup"
		fi
		restore_policy() {
			if [ -n "$backup" ]; then
				mv -f "$backup" "$policy"
			else
				rm -f "$policy"
			fi
		}
		trap restore_policy EXIT
		printf '#!/bin/sh\n# Written by chronygo scripts/install-test-deps.sh: start no service.\nexit 101\n' >"$policy"
		chmod 0755 "$policy"

		echo "install-test-deps: installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

		restore_policy
		trap - EXIT

		# Leave no service of a package installed here running or enabled.
		if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
			for p in "${missing[@]}"; do
				for s in $(services_of "$p"); do
					if systemctl list-unit-files "$s" >/dev/null 2>&1; then
						systemctl disable --now "$s" >/dev/null 2>&1 || true
					fi
				done
			done
		fi
		for p in "${missing[@]}"; do
			case "$p" in
			chrony) [ -x /etc/init.d/chrony ] && /etc/init.d/chrony stop >/dev/null 2>&1 || true ;;
			dnsmasq) [ -x /etc/init.d/dnsmasq ] && /etc/init.d/dnsmasq stop >/dev/null 2>&1 || true ;;
			esac
		done
	fi
fi

# staticcheck, installed into GOBIN (or GOPATH/bin) when missing.
gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
if ! command -v staticcheck >/dev/null 2>&1 && [ ! -x "$gobin/staticcheck" ]; then
	echo "install-test-deps: installing staticcheck into $gobin"
	if ! GOFLAGS= go install honnef.co/go/tools/cmd/staticcheck@latest; then
		echo "install-test-deps: could not install staticcheck" >&2
		in_ci && exit 1
	fi
fi
exit 0
