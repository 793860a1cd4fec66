#!/usr/bin/env bash
# Unit tests of the procedure-code parser/formatter (src/cpt_code_parse.c),
# built twice: plain, and with AddressSanitizer + UndefinedBehaviorSanitizer.
# Prints the tests of both builds as one TAP stream, descriptions prefixed
# "plain:" and "asan:".  Binaries go to build/unit/.  Exit status non-zero on
# any failure.
# Usage: test/suites/unit.sh        (CC=... to choose the compiler; default cc)
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh
. test/tap.sh

CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || ensure_packages build-essential

OUT=build/unit
mkdir -p "$OUT"
SOURCES=(test/unit/test_parse.c src/cpt_code_parse.c)
COMMON=(-std=gnu99 -Wall -Wextra -Werror -Isrc)
STATUS=0

# run_build NAME FLAGS...: compile with FLAGS, run, print its tests as TAP
# numbered on from the build before (each binary counts from 1 and prints its
# own plan; the suite prints one plan for both)
run_build() {
	local name=$1; shift
	local bin=$OUT/test_parse_$name log=$OUT/test_parse_$name.out rc line n=0 failed=0 plan=
	if ! "$CC" "${COMMON[@]}" "$@" "${SOURCES[@]}" -o "$bin" >"$OUT/compile_$name.log" 2>&1; then
		sed 's/^/# /' "$OUT/compile_$name.log"
		not_ok "$name: compile test_parse with $CC ${COMMON[*]} $*"
		STATUS=1
		return
	fi
	ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:halt_on_error=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$bin" "$name" >"$log" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
			"ok "[0-9]*) n=$((n + 1)); ok "${line#ok * - }" ;;
			"not ok "[0-9]*) n=$((n + 1)); failed=$((failed + 1)); not_ok "${line#not ok * - }" ;;
			1..*) plan=${line#1..} ;;
			*) echo "$line" ;;
		esac
	done <"$log"
	[ $failed -eq 0 ] || STATUS=1
	if [ $rc -ne 0 ]; then
		STATUS=1
		# died (e.g. a sanitizer report) without reporting a failed test?
		[ $failed -gt 0 ] || not_ok "$name: test_parse exited with status $rc after $n passing tests"
	elif [ "$plan" != "$n" ]; then
		STATUS=1
		not_ok "$name: test_parse planned ${plan:-no} tests and ran $n"
	fi
}

run_build plain -O2
run_build asan -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

tap_plan
exit $STATUS
