#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds and installs the
# extension, runs every suite against a throwaway cluster, and ends with
# "N passed, N failed".  Usage: test/run_all.sh [--quick]
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

ensure_packages "${BASE_PACKAGES[@]}" clang libclang-rt-14-dev python3 python3-psycopg \
	postgresql-contrib sqlsmith valgrind
build_and_install || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
start_cluster || { echo "cluster did not start"; echo "0 passed, 1 failed"; exit 1; }

PASSED=0
FAILED=0
FAILED_NAMES=()
mkdir -p build
LOG=build/test-output.log
: >"$LOG"

# Count "ok"/"not ok" lines (TAP style) and pg_regress result lines.
tally() {
	local name=$1 out=$2 p f
	p=$(grep -Ec '^(ok [0-9]+ |ok - |test .* \.\.\. ok|     [a-z_0-9-]+ +\.\.\. ok|ok +[0-9]+ +[-+] )' "$out")
	f=$(grep -Ec '^(not ok|test .* \.\.\. FAILED|     [a-z_0-9-]+ +\.\.\. FAILED)' "$out")
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	[ "$f" -gt 0 ] && FAILED_NAMES+=("$name")
	echo "== $name: $p passed, $f failed"
}

run_suite() {
	local name=$1; shift
	local out=build/suite-$name.out
	echo "== running $name"
	"$@" >"$out" 2>&1
	local rc=$?
	cat "$out" >>"$LOG"
	tally "$name" "$out"
	if [ $rc -ne 0 ] && ! grep -Eq '^(not ok|.*\.\.\. FAILED)' "$out"; then
		# the suite died without reporting a failed test: count it as one
		FAILED=$((FAILED + 1)); FAILED_NAMES+=("$name (exit $rc)")
		tail -20 "$out"
	fi
}

run_suite regress make -s installcheck-regress PG_CONFIG="$PG_CONFIG"
run_suite isolation make -s installcheck-isolation PG_CONFIG="$PG_CONFIG"
for suite in test/suites/*.sh; do
	[ -e "$suite" ] || continue
	name=$(basename "$suite" .sh)
	run_suite "$name" bash "$suite"
done

for d in build/regress build/isolation; do
	[ -f "$d/regression.diffs" ] && [ -s "$d/regression.diffs" ] && { echo "--- $d/regression.diffs"; head -100 "$d/regression.diffs"; }
done
[ ${#FAILED_NAMES[@]} -gt 0 ] && echo "failed suites: ${FAILED_NAMES[*]}"
stop_cluster
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
