#!/usr/bin/env bash
# Unit tests of the procedure-code parser/formatter (src/cpt_code_parse.c),
# built twice: plain, and with AddressSanitizer + UndefinedBehaviorSanitizer.
# Prints the TAP output of each build, descriptions prefixed "plain:" and
# "asan:".  Binaries go to build/unit/.  Exit status non-zero on any failure.
# Usage: test/suites/unit.sh        (CC=... to choose the compiler; default cc)
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || ensure_packages build-essential

OUT=build/unit
mkdir -p "$OUT"
SOURCES=(test/unit/test_parse.c src/cpt_code_parse.c)
COMMON=(-std=gnu99 -Wall -Wextra -Werror -Isrc)
STATUS=0

# run_build NAME FLAGS...: compile with FLAGS, run, print TAP
run_build() {
	local name=$1; shift
	local bin=$OUT/test_parse_$name log=$OUT/test_parse_$name.out rc n
	if ! "$CC" "${COMMON[@]}" "$@" "${SOURCES[@]}" -o "$bin" >"$OUT/compile_$name.log" 2>&1; then
		sed 's/^/# /' "$OUT/compile_$name.log"
		echo "not ok 1 - $name: compile test_parse with $CC ${COMMON[*]} $*"
		STATUS=1
		return
	fi
	ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:halt_on_error=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$bin" "$name" >"$log" 2>&1
	rc=$?
	cat "$log"
	if [ $rc -ne 0 ]; then
		STATUS=1
		# died (e.g. a sanitizer report) without reporting a failed test?
		if ! grep -q '^not ok' "$log"; then
			n=$(grep -Ec '^ok [0-9]+ ' "$log")
			echo "not ok $((n + 1)) - $name: test_parse exited with status $rc after $n passing tests"
		fi
	fi
}

run_build plain -O2
run_build asan -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

exit $STATUS
