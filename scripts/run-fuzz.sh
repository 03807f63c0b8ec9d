#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME (default 5s) each, one
# after the other (go test -fuzz takes a single target in a single package).
# Usage: scripts/run-fuzz.sh [FUZZTIME]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-5s}"
count=0
failed=()
while read -r dir name; do
	[ -n "$dir" ] || continue
	count=$((count + 1))
	echo "fuzz: $name in $dir for $fuzztime"
	if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$dir"; then
		failed+=("$dir $name")
	fi
done < <(scripts/fuzz-targets.sh)
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: ${#failed[@]} of $count targets failed:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: $count targets passed ($fuzztime each)"
