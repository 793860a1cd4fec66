#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds and installs the
# extension, runs every suite against a throwaway cluster, and ends with
# "N passed, N failed".
#
# Usage: test/run_all.sh [--quick] [--pg VERSION | --all-versions]
#   --quick         leave out the slow suites (stress, sqlsmith, valgrind,
#                   client): regress, isolation (plain and partitioned),
#                   unit, fuzz, upgrade and dump_restore remain
#   --pg VERSION    test against PostgreSQL VERSION: 15 is this machine's,
#                   17 and 18 run in Debian roots (test/pg_root.sh)
#   --all-versions  the whole suite on 15, then --quick on 17 and 18; the
#                   last line counts them all
set -uo pipefail
cd "$(dirname "$0")/.."

QUICK=
VERSION=
ALL=
while [ $# -gt 0 ]; do
	case $1 in
		--quick) QUICK=1 ;;
		--pg) VERSION=${2:?--pg needs a version}; shift ;;
		--pg=*) VERSION=${1#--pg=} ;;
		--all-versions) ALL=1 ;;
		-h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

# Another version: the same script inside that version's root.
if [ -n "$VERSION" ] && [ "$VERSION" != "${CPT_RULES_PG:-15}" ]; then
	exec test/pg_root.sh "$VERSION" test/run_all.sh ${QUICK:+--quick}
fi

if [ -n "$ALL" ]; then
	total_p=0; total_f=0
	for v in 15 17 18; do
		echo "=== PostgreSQL $v"
		if [ $v = 15 ]; then test/run_all.sh ${QUICK:+--quick}; else test/run_all.sh --quick --pg $v; fi |
			tee "/tmp/cpt_rules-run-$v.log"
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "/tmp/cpt_rules-run-$v.log" | tail -1)
		[ -n "$line" ] || line="0 passed, 1 failed"
		echo "=== PostgreSQL $v: $line"
		total_p=$((total_p + ${line%% passed*}))
		f=${line#*passed, }; total_f=$((total_f + ${f%% failed}))
		rm -f "/tmp/cpt_rules-run-$v.log"
	done
	echo "$total_p passed, $total_f failed"
	[ "$total_f" -eq 0 ] && [ "$total_p" -gt 0 ]
	exit
fi

. test/lib.sh

if [ -n "$QUICK" ]; then
	ensure_packages "${BASE_PACKAGES[@]}" clang libclang-rt-dev
else
	ensure_packages "${BASE_PACKAGES[@]}" clang libclang-rt-dev python3 python3-psycopg \
		postgresql-contrib sqlsmith valgrind
fi
build_and_install || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
start_cluster || { echo "cluster did not start"; echo "0 passed, 1 failed"; exit 1; }
echo "# PostgreSQL $("$PGBIN/postgres" --version | sed 's/.* //')"

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
run_suite isolation-partitioned make -s installcheck-isolation-partitioned PG_CONFIG="$PG_CONFIG"
for suite in test/suites/*.sh; do
	[ -e "$suite" ] || continue
	name=$(basename "$suite" .sh)
	case " stress sqlsmith valgrind client " in
		*" $name "*) [ -n "$QUICK" ] && { echo "== $name: left out (--quick)"; continue; } ;;
	esac
	run_suite "$name" bash "$suite"
done

for d in build/regress build/isolation build/isolation-partitioned/out; do
	[ -f "$d/regression.diffs" ] && [ -s "$d/regression.diffs" ] && { echo "--- $d/regression.diffs"; head -100 "$d/regression.diffs"; }
done
[ ${#FAILED_NAMES[@]} -gt 0 ] && echo "failed suites: ${FAILED_NAMES[*]}"
stop_cluster
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
