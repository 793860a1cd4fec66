#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds and installs the
# extension, runs every suite against a throwaway cluster, prints each
# suite's counts (from its TAP, or pg_regress's summary) and time, and ends
# with "N passed, N failed".
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
	ensure_packages "${BASE_PACKAGES[@]}" clang libclang-rt-dev perl
else
	ensure_packages "${BASE_PACKAGES[@]}" clang libclang-rt-dev perl python3 python3-psycopg \
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

# Each kind of suite is counted by what reports its results, never by
# matching its other output: "passed failed [why]", where why says what
# made a failure that no test reported.

# tap_counts OUTPUT STATUS: a shell suite's TAP, read by TAP::Parser.  A
# missing or wrong plan, tests out of sequence or a bail out count as one
# failure more, and an exit status not 0 with no failed test as one.
tap_counts() {
	perl -MTAP::Parser -e '
		my $rc = shift;
		my $in = do { local $/; <STDIN> } // "";
		# (no output at all is a missing plan, not an error of the parser)
		my $tap = TAP::Parser->new({ tap => length $in ? $in : "\n" });
		my $bailed;
		while (my $r = $tap->next) { $bailed = $r->explanation if $r->is_bailout }
		my ($p, $f) = (scalar $tap->passed, scalar $tap->failed);
		my @errors = $tap->parse_errors;
		my $why = defined $bailed ? "bailed out: $bailed"
			: @errors ? $errors[0] . (@errors > 1 ? sprintf(" (and %d more)", @errors - 1) : "")
			: "";
		$f++ if $why;
		($f, $why) = (1, "exited with status $rc, no failed test") if !$f && $rc;
		print "$p $f $why\n";' "$2" <"$1"
}

# regress_counts OUTPUT STATUS: pg_regress's own summary, " All 9 tests
# passed. " or " 2 of 9 tests failed. " (15, framed in "="), the same after
# "# " from 16 on; a failure it was told to ignore counts as neither.  From
# 16 on its TAP lines must agree with the summary.  No summary (it crashed,
# or never ran) is a failure.
regress_counts() {
	perl -MTAP::Parser -e '
		my $rc = shift;
		my $out = do { local $/; <STDIN> } // "";
		my ($p, $f, $runs) = (0, 0, 0);
		for (split /\n/, $out) {
			s/^# //;
			s/^\s+|\s+$//g;
			if (/^All (\d+) tests passed\.$/) {
				$p += $1; $runs++;
			} elsif (/^(\d+) of \d+ tests passed, \d+ failed test\(s\) ignored\.$/) {
				$p += $1; $runs++;
			} elsif (/^(\d+) of (\d+) tests failed(?:, (\d+) of these failures ignored)?\.$/) {
				$p += $2 - $1; $f += $1 - ($3 // 0); $runs++;
			}
		}
		my $why = "";
		if (!$runs) {
			($p, $f, $why) = (0, 1, "no pg_regress summary");
		} else {
			my $tap = TAP::Parser->new({ tap => $out });
			1 while $tap->next;
			if (defined $tap->tests_planned &&
				($tap->passed != $p || $tap->failed != $f || !$tap->is_good_plan)) {
				$f++;
				$why = sprintf "its TAP says %d passed, %d failed", scalar $tap->passed, scalar $tap->failed;
			}
		}
		($f, $why) = (1, "exited with status $rc, no failed test") if !$f && $rc;
		print "$p $f $why\n";' "$2" <"$1"
}

# run_suite tap|regress NAME COMMAND...: run it, count it by its kind, and
# print its counts and time
run_suite() {
	local kind=$1 name=$2
	shift 2
	local out=build/suite-$name.out started=$SECONDS rc p f why
	echo "== running $name"
	"$@" >"$out" 2>&1
	rc=$?
	cat "$out" >>"$LOG"
	read -r p f why < <("${kind}_counts" "$out" $rc)
	if ! [[ ${p:-} =~ ^[0-9]+$ && ${f:-} =~ ^[0-9]+$ ]]; then
		p=0 f=1 why="its results could not be counted"
	fi
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	SUITE_SECONDS=$((SUITE_SECONDS + SECONDS - started))
	echo "== $name: $p passed, $f failed ($((SECONDS - started)) s)"
	if [ "$f" -gt 0 ]; then
		FAILED_NAMES+=("$name${why:+ ($why)}")
		# a failure no test reported: what the suite said last
		[ -z "$why" ] || tail -20 "$out"
	fi
}

SUITE_SECONDS=0
run_suite regress regress make -s installcheck-regress PG_CONFIG="$PG_CONFIG"
run_suite regress isolation make -s installcheck-isolation PG_CONFIG="$PG_CONFIG"
run_suite regress isolation-partitioned make -s installcheck-isolation-partitioned PG_CONFIG="$PG_CONFIG"
for suite in test/suites/*.sh; do
	[ -e "$suite" ] || continue
	name=$(basename "$suite" .sh)
	case " stress sqlsmith valgrind client " in
		*" $name "*) [ -n "$QUICK" ] && { echo "== $name: left out (--quick)"; continue; } ;;
	esac
	run_suite tap "$name" bash "$suite"
done

for d in build/regress build/isolation build/isolation-partitioned/out; do
	[ -f "$d/regression.diffs" ] && [ -s "$d/regression.diffs" ] && { echo "--- $d/regression.diffs"; head -100 "$d/regression.diffs"; }
done
[ ${#FAILED_NAMES[@]} -gt 0 ] && echo "failed suites: ${FAILED_NAMES[*]}"
stop_cluster
echo "== total: $SECONDS s (suites $SUITE_SECONDS s)"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
