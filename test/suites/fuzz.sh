#!/usr/bin/env bash
# A short, reproducible fuzz run of the procedure-code parser: builds
# test/fuzz/fuzz_parse.c with clang (coverage-guided fuzzing + ASan + UBSan)
# into build/fuzz/, runs a fixed number of inputs with a fixed seed, starting
# from a fresh copy of test/fuzz/corpus/ (the repository is not modified),
# and prints one TAP test.
# Usage: test/suites/fuzz.sh
#   FUZZ_RUNS (default 300000), FUZZ_SEED (default 20240601),
#   FUZZ_MAX_LEN (default 128), FUZZ_MAX_TIME (seconds, default 900: a
#   safety net only, normally the run ends after FUZZ_RUNS inputs).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh
. test/tap.sh

RUNS=${FUZZ_RUNS:-300000}
SEED=${FUZZ_SEED:-20240601}
MAX_LEN=${FUZZ_MAX_LEN:-128}
MAX_TIME=${FUZZ_MAX_TIME:-900}
NAME="fuzz cpt_code_parse"

ensure_packages clang libclang-rt-dev
CLANG=${CLANG:-}
if [ -z "$CLANG" ]; then
	for c in clang clang-14; do
		command -v "$c" >/dev/null 2>&1 && { CLANG=$c; break; }
	done
fi
if [ -z "$CLANG" ]; then
	not_ok "$NAME: clang not found"
	tap_plan
	exit 1
fi

OUT=build/fuzz
BIN=$OUT/fuzz_parse
CORPUS=$OUT/corpus
LOG=$OUT/fuzz_parse.log
mkdir -p "$OUT"

if ! "$CLANG" -g -O1 -Wall -Wextra -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Isrc test/fuzz/fuzz_parse.c src/cpt_code_parse.c -o "$BIN" >"$OUT/compile.log" 2>&1; then
	sed 's/^/# /' "$OUT/compile.log"
	not_ok "$NAME: build failed"
	tap_plan
	exit 1
fi

rm -rf "$CORPUS"
cp -r test/fuzz/corpus "$CORPUS"
rm -f "$OUT"/crash-* "$OUT"/leak-* "$OUT"/timeout-* "$OUT"/oom-*

# The fuzzer hashes code addresses of comparisons, so a fixed seed gives the
# same run only without address-space randomisation: turn it off if we can.
NORAND=()
if command -v setarch >/dev/null 2>&1 && setarch "$(uname -m)" -R true 2>/dev/null; then
	NORAND=(setarch "$(uname -m)" -R)
fi

echo "# $BIN -runs=$RUNS -seed=$SEED -max_len=$MAX_LEN $CORPUS"
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
"${NORAND[@]}" "$BIN" -runs="$RUNS" -seed="$SEED" -max_len="$MAX_LEN" -max_total_time="$MAX_TIME" \
	-timeout=10 -rss_limit_mb=2048 -reload=0 -print_final_stats=1 \
	-artifact_prefix="$OUT/" "$CORPUS" >"$LOG" 2>&1
rc=$?

done_line=$(grep -E '^Done [0-9]+ runs' "$LOG" | tail -1)
runs=$(grep -E '^stat::number_of_executed_units:' "$LOG" | tail -1 | awk '{print $2}')
[ -n "$runs" ] || runs=$(echo "$done_line" | awk '{print $2}')
[ -n "$runs" ] || runs="?"
cov=$(grep -E '^#[0-9]+[[:space:]]' "$LOG" | tail -1 | tr -s '\t ' ' ')

if [ $rc -eq 0 ] && [ -n "$done_line" ]; then
	echo "# $done_line"
	[ -n "$cov" ] && echo "# last status: $cov"
	ok "$NAME: $runs runs, no crash"
	tap_plan
	exit 0
fi

# failure: show what the fuzzer said and how to reproduce
grep -E 'property violated|ERROR: |runtime error' "$LOG" | head -10 | sed 's/^/# /'
tail -30 "$LOG" | sed 's/^/# /'
for a in "$OUT"/crash-* "$OUT"/leak-* "$OUT"/timeout-* "$OUT"/oom-*; do
	[ -e "$a" ] || continue
	echo "# reproduce: $BIN $a"
	echo "# input bytes: $(od -An -c "$a" | tr -s ' \n' ' ' | head -c 300)"
done
not_ok "$NAME: fuzzer exited with status $rc after $runs runs"
tap_plan
exit 1
