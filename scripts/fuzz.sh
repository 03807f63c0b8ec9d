#!/usr/bin/env bash
# Runs every Go fuzz target of the module for FUZZTIME each (default 30s).
# The targets are discovered with "go test -list '^Fuzz'", so a new
# FuzzXxx in any package is picked up without editing this script.
#
# Usage: FUZZTIME=3s scripts/fuzz.sh [PACKAGE_PATTERN...]   (default ./...)
#
# A crash makes go test write the failing input under the package's
# testdata/fuzz/FuzzXxx/ folder; commit it (it then runs as a regression
# test in every plain "go test") and fix the bug. Exit status 1 when any
# target failed or a package did not build.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
fuzztime="${FUZZTIME:-30s}"
# Minimising each new interesting input can outlast a short -fuzztime, and
# go test then fails with "context deadline exceeded" although nothing
# crashed. FUZZMINIMIZETIME=0 (the default here) keeps short runs honest;
# crashers are still reported and saved, just not minimised.
minimizetime="${FUZZMINIMIZETIME:-0}"
patterns=("$@")
[ "${#patterns[@]}" -gt 0 ] || patterns=(./...)

listing="$(go test -list '^Fuzz' "${patterns[@]}" 2>&1)"
list_status=$?
targets=()
pending=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) pending+=("$line") ;;
	ok*)
		pkg="$(awk '{print $2}' <<<"$line")"
		for name in "${pending[@]}"; do targets+=("$pkg $name"); done
		pending=()
		;;
	*) pending=() ;;
	esac
done <<<"$listing"

failed=()
if [ "$list_status" -ne 0 ]; then
	echo "fuzz: listing the targets failed for some packages:" >&2
	grep -E '^(FAIL|#|[^ ]+\.go:)' <<<"$listing" >&2
	failed+=("(listing)")
fi

for target in "${targets[@]}"; do
	read -r pkg name <<<"$target"
	echo "fuzz: $pkg $name for $fuzztime"
	if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimizetime" "$pkg"; then
		failed+=("$pkg $name")
	fi
done

if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: ${#failed[@]} failure(s) among ${#targets[@]} targets:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: ${#targets[@]} targets passed, $fuzztime each"
