#!/usr/bin/env bash
# Lists the fuzz targets of the module, one "PACKAGE_DIR FUZZ_NAME" a line,
# by looking for "func FuzzXxx(" in test files under pkg/, internal/ and cmd/.
set -euo pipefail
cd "$(dirname "$0")/.."
for root in pkg internal cmd; do
	[ -d "$root" ] || continue
	grep -rHoE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' "$root" || true
done | sed -E 's#^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+)\($#./\1 \2#' | sort -u
