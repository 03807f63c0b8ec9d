#!/usr/bin/env bash
# Runs every Go fuzz target of the module for FUZZTIME each (default 30s).
# FUZZTIME is either a duration (30s, 2m) or an execution count (100000x).
# The targets are discovered with "go test -list '^Fuzz'", so a new
# FuzzXxx in any package is picked up without editing this script.
#
# Usage: FUZZTIME=3s scripts/fuzz.sh [PACKAGE_PATTERN...]   (default ./...)
#
# A crash makes go test write the failing input under the package's
# testdata/fuzz/FuzzXxx/ folder; commit it (it then runs as a regression
# test in every plain "go test") and fix the bug. Exit status 1 when any
# target failed or a package did not build.
#
# Go 1.26's fuzz coordinator can fail a duration-limited run with a bare
# "context deadline exceeded" at the end of -fuzztime, with nothing crashed
# (golang/go#75804, fixed in Go 1.27). "make test" therefore uses an
# execution count, which has no deadline to race. For a duration, a failure
# that printed that message and wrote no new input under testdata/fuzz is
# reported as that known race and not counted; any other failure counts.
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
flaked=()
if [ "$list_status" -ne 0 ]; then
	echo "fuzz: listing the targets failed for some packages:" >&2
	grep -E '^(FAIL|#|[^ ]+\.go:)' <<<"$listing" >&2
	failed+=("(listing)")
fi

for target in "${targets[@]}"; do
	read -r pkg name <<<"$target"
	echo "fuzz: $pkg $name for $fuzztime"
	corpus="$(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$name"
	before="$(ls "$corpus" 2>/dev/null | sort)"
	out="$(mktemp)"
	if go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimizetime" "$pkg" 2>&1 | tee "$out"; then
		rm -f "$out"
		continue
	fi
	after="$(ls "$corpus" 2>/dev/null | sort)"
	if [[ "$fuzztime" != *x ]] && [ "$before" = "$after" ] &&
		grep -q '^    context deadline exceeded$' "$out" &&
		! grep -q -E '_test\.go:[0-9]+:|panic:|Failing input written' "$out"; then
		echo "fuzz: $name: only golang/go#75804's end-of-fuzztime race (no input written); not counted" >&2
		flaked+=("$pkg $name")
	else
		failed+=("$pkg $name")
	fi
	rm -f "$out"
done

if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: ${#failed[@]} failure(s) among ${#targets[@]} targets:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: ${#targets[@]} targets passed, $fuzztime each (${#flaked[@]} stopped by golang/go#75804)"
