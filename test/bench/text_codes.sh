#!/usr/bin/env bash
# Cost of the add-on rule on a text code column against a cpt_code one,
# measured side by side in one run on a throwaway cluster with PostgreSQL's
# default settings.
#
# The same claim lines (CSV, made once by the server: 5 lines a claim on
# average, one claim in ten holding an add-on beside an eligible primary)
# are loaded by COPY into four tables alike but for the code column's type
# and the rule, each with the same index on claim_id:
#
#   cpt_code           code cpt_code, no rule
#   cpt_code + rule    code cpt_code, enforce_addon_rule by claim_id
#   text               code text, no rule
#   text + rule        code text, enforce_addon_rule by claim_id
#
# ROUNDS rounds load all four back to back, each pair (rule, no rule) of a
# type one after the other, which type and which side go first alternating;
# every table is truncated and a CHECKPOINT taken (untimed) before each
# load.  A load is the COPY and its COMMIT, where the deferred checks run.
# Every ratio is the median of the rounds' ratios and every rule cost the
# median of the rounds' differences (rule - no rule) per claim holding an
# add-on.  The backend's CPU time, which other work on the machine disturbs
# less, is printed beside the elapsed time.
#
# Then a COPY of the first 100k lines into each table in a single-user
# backend under callgrind: instruction counts, the same in every run
# (BENCH_INSTRUCTIONS=0 leaves them out).
#
# Targets, by elapsed time and by instructions: text + rule at most 1.10x
# text; the rule's cost per add-on claim on text at most 1.10x its cost on
# cpt_code.
#
# Usage: test/bench/text_codes.sh
# Environment:
#   BENCH_SCALE=small       10x fewer rows (100k lines timed, 10k counted)
#   BENCH_ROUNDS=N          timed rounds (default 5)
#   BENCH_INSTRUCTIONS=0    no instruction counts
#   BENCH_CALLGRIND_DIR=dir keep each COPY's callgrind profile there
# Exit status: 0 when every target is met, 2 when one is missed.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

STARTED=$SECONDS
SCALE=${BENCH_SCALE:-full}
case $SCALE in
	full) DIV=1 ;;
	small) DIV=10 ;;
	*) echo "BENCH_SCALE must be full or small" >&2; exit 1 ;;
esac
ROUNDS=${BENCH_ROUNDS:-5}
case $ROUNDS in '' | *[!0-9]* | 0) echo "BENCH_ROUNDS must be a positive number" >&2; exit 1 ;; esac
TARGET_RATIO=1.10		# text + rule / text
TARGET_COST=1.10		# rule cost per add-on claim, text / cpt_code

CLAIMS=$((200000 / DIV))		# 1M lines
LINES=$((CLAIMS * 5))
# whole claims: every block of 10 claims holds 50 lines
CG_LINES=$((100000 / DIV))

ensure_packages "${BASE_PACKAGES[@]}" valgrind
build_and_install >/dev/null
start_cluster
trap stop_cluster EXIT
trap 'exit 130' INT TERM

q() { psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 "$@"; }
show() { psql -X -q -P footer=off -v ON_ERROR_STOP=1; }
human() {	# 1000000 -> 1M
	local n=$1
	if [ $((n % 1000000)) -eq 0 ]; then echo "$((n / 1000000))M"
	elif [ $((n % 1000)) -eq 0 ]; then echo "$((n / 1000))k"
	else echo "$n"; fi
}
# other work on the machine skews timings: say how busy it was
loadavg() { local a b c rest; read -r a b c rest </proc/loadavg; echo "$a $b $c"; }

VARIANTS=(cpt_off cpt_on text_off text_on)
declare -A LABEL=([cpt_off]="cpt_code" [cpt_on]="cpt_code + rule" [text_off]="text" [text_on]="text + rule")
TABLES="lines_cpt_off, lines_cpt_on, lines_text_off, lines_text_on"
# the server reads it (COPY FROM a file), so no client shares the 2 cores
CSV=$PGTMP/claim_lines.csv
CG_CSV=$PGTMP/claim_lines_head.csv

# ---------------------------------------------------------------- setup

q <<'SQL'
CREATE EXTENSION cpt_rules;
\i test/bench/setup.sql
CREATE TABLE bench_result (
	variant		text NOT NULL,
	run			int NOT NULL,
	copy_s		numeric,		-- the COPY statement
	commit_s	numeric,		-- its COMMIT: the deferred checks
	total_s		numeric,
	cpu_s		numeric			-- CPU time of the backend
);
CALL bench_create_lines('lines_cpt_off');
CALL bench_create_lines('lines_cpt_on');
CALL bench_create_lines('lines_text_off');
CALL bench_create_lines('lines_text_on');
ALTER TABLE lines_text_off ALTER code TYPE text USING code::text;
ALTER TABLE lines_text_on ALTER code TYPE text USING code::text;
SELECT cpt_rules.enforce_addon_rule('lines_cpt_on', code => 'code',
	group_by => '{claim_id}', service_date => 'service_date') AS attached \gset
SELECT cpt_rules.enforce_addon_rule('lines_text_on', code => 'code',
	group_by => '{claim_id}', service_date => 'service_date') AS attached \gset
SQL

echo "cpt_rules on a text code column vs cpt_code, BENCH_SCALE=$SCALE, $ROUNDS rounds;" \
	"load average at start: $(loadavg)"
q -c "SELECT version()"
echo "Server settings are PostgreSQL's defaults (fsync off); autovacuum off on the benchmark tables."
show <<'SQL'
SELECT c.relname AS "table", format_type(a.atttypid, a.atttypmod) AS code,
	   EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal) AS rule,
	   (SELECT string_agg(pg_get_indexdef(i.indexrelid), '; ') FROM pg_index i WHERE i.indrelid = c.oid) AS indexes
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'code'
 WHERE c.relname LIKE 'lines\_%' ORDER BY c.relname;
SQL

# ---------------------------------------------------------------- data

t0=$SECONDS
# a fixed seed: the same file every time
q -v nclaims="$CLAIMS" -v seed=0.42 -f test/bench/generate.sql >"$CSV"
head -n "$CG_LINES" "$CSV" >"$CG_CSV"
chmod 644 "$CSV" "$CG_CSV"
echo "generated $(human "$LINES") lines in $((SECONDS - t0)) s"

# load_timed VARIANT [ALL]: TRUNCATE (every table with ALL, else its own)
# and CHECKPOINT, untimed; then COPY and COMMIT in a new session.  Prints:
# copy_s commit_s total_s cpu_s
load_timed() {
	local tbl=lines_$1 trunc=lines_$1
	[ "${2:-}" = all ] && trunc=$TABLES
	q <<SQL
TRUNCATE $trunc;
CHECKPOINT;
SELECT bench_cpu_ticks(pg_backend_pid()) AS c0 \gset
BEGIN;
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
COPY $tbl FROM '$CSV' WITH (FORMAT csv);
SELECT extract(epoch FROM clock_timestamp()) AS t1 \gset
COMMIT;
SELECT round((:t1 - :t0)::numeric, 4), round((extract(epoch FROM clock_timestamp()) - :t1)::numeric, 4),
	   round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 4),
	   round((bench_cpu_ticks(pg_backend_pid()) - :c0) / 100.0, 2);
SQL
}

# Warm-up, untimed: the file in the OS cache; then all four tables hold the
# data, which must be the same codes in each, every add-on with its primary.
for v in "${VARIANTS[@]}"; do load_timed "$v" >/dev/null; done
# the file's head holds whole claims (a block of 10 claims: 50 lines)
read -r ADDON_CLAIMS CG_ADDON SAME BAD_CPT BAD_TEXT < <(q -v head_claims=$((CG_LINES / 5)) <<'SQL'
SELECT (SELECT count(DISTINCT claim_id) FROM lines_cpt_off WHERE is_addon(code)),
	   (SELECT count(DISTINCT claim_id) FROM lines_cpt_off WHERE is_addon(code) AND claim_id <= :head_claims),
	   (SELECT count(*) FROM lines_cpt_off) = (SELECT count(*) FROM lines_text_on)
	   AND NOT EXISTS (SELECT FROM lines_cpt_off a FULL JOIN lines_text_on b USING (claim_id, line_no)
					    WHERE a.code::text IS DISTINCT FROM b.code),
	   (SELECT count(*) FROM cpt_rules.addon_rule_violations('lines_cpt_on', 'code', '{claim_id}', 'service_date')),
	   (SELECT count(*) FROM cpt_rules.addon_rule_violations('lines_text_on', 'code', '{claim_id}', 'service_date'));
SQL
)
[ "$SAME" = t ] || { echo "the cpt_code and text tables hold different data" >&2; exit 1; }
if [ "$BAD_CPT" != 0 ] || [ "$BAD_TEXT" != 0 ]; then echo "VIOLATIONS in loaded data" >&2; exit 1; fi
# the rule must bite on text as on cpt_code: a lone add-on is refused
for v in cpt_on text_on; do
	err=$(psql -X -q -c "INSERT INTO lines_$v VALUES (-1, 1, 1, 'x', '2024-06-01', '20933', 1)" 2>&1 >/dev/null || true)
	[[ $err == *"add-on code 20933 has no eligible primary code"* ]] ||
		{ echo "lines_$v accepted an add-on without a primary: $err" >&2; exit 1; }
done
echo "data: $(human "$LINES") lines, $(human "$CLAIMS") claims of 1-8 lines, $ADDON_CLAIMS claims with an add-on" \
	"and an eligible primary; the same codes in every table, no violations, a lone add-on refused by both rules"

# ---------------------------------------------------------------- timed loads

echo
echo "== COPY of $(human "$LINES") lines: $ROUNDS rounds, every table truncated and a CHECKPOINT before each" \
	"load (load average $(loadavg))"
# A type's two loads run back to back; which type and which side go first
# alternate, so that neither always meets a warmer or busier machine.
order_of() {
	case $((($1 - 1) % 4)) in
	0) echo cpt_off cpt_on text_off text_on ;;
	1) echo text_on text_off cpt_on cpt_off ;;
	2) echo text_off text_on cpt_off cpt_on ;;
	3) echo cpt_on cpt_off text_on text_off ;;
	esac
}
for run in $(seq "$ROUNDS"); do
	for v in $(order_of "$run"); do
		read -r c m t u < <(load_timed "$v" all)
		q -c "INSERT INTO bench_result VALUES ('$v', $run, $c, $m, $t, $u)"
		printf '  round %d  %-16s %8.3f s (COPY %.3f, COMMIT %.3f; CPU %.2f s)\n' "$run" "${LABEL[$v]}" "$t" "$c" "$m" "$u"
	done
done

show <<'SQL'
SELECT CASE variant WHEN 'cpt_off' THEN 'cpt_code' WHEN 'cpt_on' THEN 'cpt_code + rule'
					WHEN 'text_off' THEN 'text' ELSE 'text + rule' END AS variant,
	   string_agg(to_char(total_s, 'FM990.000'), ' ' ORDER BY run) AS "runs (s)",
	   to_char(percentile_cont(0.5) WITHIN GROUP (ORDER BY total_s), 'FM990.000') AS "median s",
	   to_char(percentile_cont(0.5) WITHIN GROUP (ORDER BY copy_s), 'FM990.000') AS "in COPY",
	   to_char(percentile_cont(0.5) WITHIN GROUP (ORDER BY commit_s), 'FM990.000') AS "in COMMIT",
	   to_char(percentile_cont(0.5) WITHIN GROUP (ORDER BY cpu_s), 'FM990.00') AS "CPU s"
  FROM bench_result GROUP BY variant
 ORDER BY array_position('{cpt_off,cpt_on,text_off,text_on}'::text[], variant);
SQL

# Per round: the rule's ratio and its cost per add-on claim (us) for each
# type, by elapsed and CPU time, and the COMMIT's share; then the medians.
read -r R_CPT R_TEXT CR_CPT CR_TEXT US_CPT US_TEXT CUS_CPT CUS_TEXT COMMIT_CPT COMMIT_TEXT R_PLAIN R_RULE \
	< <(q -v addon="$ADDON_CLAIMS" <<'SQL'
WITH p AS (
	SELECT run,
		   max(total_s) FILTER (WHERE variant = 'cpt_off') AS co, max(total_s) FILTER (WHERE variant = 'cpt_on') AS cn,
		   max(total_s) FILTER (WHERE variant = 'text_off') AS tf, max(total_s) FILTER (WHERE variant = 'text_on') AS tn,
		   max(cpu_s) FILTER (WHERE variant = 'cpt_off') AS uco, max(cpu_s) FILTER (WHERE variant = 'cpt_on') AS ucn,
		   max(cpu_s) FILTER (WHERE variant = 'text_off') AS utf, max(cpu_s) FILTER (WHERE variant = 'text_on') AS utn,
		   max(commit_s) FILTER (WHERE variant = 'cpt_off') AS mco, max(commit_s) FILTER (WHERE variant = 'cpt_on') AS mcn,
		   max(commit_s) FILTER (WHERE variant = 'text_off') AS mtf, max(commit_s) FILTER (WHERE variant = 'text_on') AS mtn
	  FROM bench_result GROUP BY run
)
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY cn / co)::numeric, 4),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY tn / tf)::numeric, 4),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ucn / nullif(uco, 0))::numeric, 4),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY utn / nullif(utf, 0))::numeric, 4),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY (cn - co) * 1e6 / :addon)::numeric, 2),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY (tn - tf) * 1e6 / :addon)::numeric, 2),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY (ucn - uco) * 1e6 / :addon)::numeric, 2),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY (utn - utf) * 1e6 / :addon)::numeric, 2),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY (mcn - mco) * 1e6 / :addon)::numeric, 2),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY (mtn - mtf) * 1e6 / :addon)::numeric, 2),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY tf / co)::numeric, 4),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY tn / cn)::numeric, 4)
  FROM p;
SQL
)

missed=0
MISSED_WHAT=()
# judge VAR NAME VALUE TARGET: VAR set to PASS or MISS (counted), n/a for
# no value; not in a subshell, so that the count holds
judge() {
	local res
	if [ "$3" = n/a ]; then
		res=n/a; missed=$((missed + 1)); MISSED_WHAT+=("$2 n/a (a cost not above zero: noise)")
	elif awk -v v="$3" -v t="$4" 'BEGIN { exit !(v <= t) }'; then
		res=PASS
	else
		res=MISS; missed=$((missed + 1)); MISSED_WHAT+=("$2 ${3}x > ${4}x")
	fi
	printf -v "$1" '%s' "$res"
}
# cost_ratio TEXT CPT: text / cpt_code; n/a when a cost is not above zero,
# the noise being larger than the cost (a miss: nothing is shown met)
cost_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.3f", a / b; else print "n/a" }'; }
as_ratio() { if [ "$1" = n/a ]; then echo n/a; else echo "${1}x"; fi; }
COST_RATIO=$(cost_ratio "$US_TEXT" "$US_CPT")
CPU_COST_RATIO=$(cost_ratio "$CUS_TEXT" "$CUS_CPT")

judge V_RATIO "elapsed: text + rule / text" "$R_TEXT" "$TARGET_RATIO"
judge V_COST "elapsed: cost per add-on claim text / cpt_code" "$COST_RATIO" "$TARGET_COST"
LINE='  %-48s %10s %10s %8s  %s\n'
echo
# shellcheck disable=SC2059
printf "$LINE" "" "elapsed" "CPU" "target" ""
# shellcheck disable=SC2059
{
	printf "$LINE" "rule / no rule, cpt_code" "${R_CPT}x" "${CR_CPT}x" "" ""
	printf "$LINE" "rule / no rule, text" "${R_TEXT}x" "${CR_TEXT}x" "<= ${TARGET_RATIO}x" "$V_RATIO"
	printf "$LINE" "rule cost per add-on claim, cpt_code (us)" "$US_CPT" "$CUS_CPT" "" ""
	printf "$LINE" "rule cost per add-on claim, text (us)" "$US_TEXT" "$CUS_TEXT" "" ""
	printf "$LINE" "cost per add-on claim, text / cpt_code" "$(as_ratio "$COST_RATIO")" "$(as_ratio "$CPU_COST_RATIO")" "<= ${TARGET_COST}x" "$V_COST"
	printf "$LINE" "  of which at COMMIT, cpt_code / text (us)" "$COMMIT_CPT / $COMMIT_TEXT" "" "" ""
	printf "$LINE" "text / cpt_code, no rule (for information)" "${R_PLAIN}x" "" "" ""
	printf "$LINE" "text + rule / cpt_code + rule (for information)" "${R_RULE}x" "" "" ""
}
echo "  (ratios: medians of the $ROUNDS rounds' ratios; costs: medians of the rounds' differences rule - no rule"
echo "   over $ADDON_CLAIMS claims holding an add-on, and their ratio; on text the rule also reads every line's"
echo "   code as cpt_code input would, which the cpt_code table's COPY does on both sides)"

# ---------------------------------------------------------------- instructions

IR_SUMMARY=
if [ "${BENCH_INSTRUCTIONS:-1}" = 1 ]; then
	echo
	echo "== Instructions: COPY of $(human "$CG_LINES") lines into each table, a single-user backend under callgrind"
	echo "   (start-up, a SELECT 1, subtracted; the rule's side includes building the rules cache, as every session does)"
	q -c "TRUNCATE $TABLES"
	as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -m fast -w stop >/dev/null
	single_ir() { echo "$1" | single_user "$PGTMP/data" callgrind; }
	base=$(single_ir "SELECT 1")
	declare -A IR
	for v in "${VARIANTS[@]}"; do
		IR[$v]=$(($(single_ir "COPY lines_$v FROM '$CG_CSV' WITH (FORMAT csv)") - base))
		# for callgrind_annotate: where the instructions go
		[ -z "${BENCH_CALLGRIND_DIR:-}" ] || cp "$PGTMP/callgrind.out" "$BENCH_CALLGRIND_DIR/$v.callgrind"
	done
	as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w start >/dev/null
	[ "$(q -c "SELECT (SELECT count(*) FROM lines_cpt_on) + (SELECT count(*) FROM lines_text_on)")" = $((2 * CG_LINES)) ] ||
		{ echo "the single-user COPY did not load every line" >&2; exit 1; }

	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
	IR_R_CPT=$(ratio "${IR[cpt_on]}" "${IR[cpt_off]}")
	IR_R_TEXT=$(ratio "${IR[text_on]}" "${IR[text_off]}")
	IR_C_CPT=$(((IR[cpt_on] - IR[cpt_off]) / CG_ADDON))
	IR_C_TEXT=$(((IR[text_on] - IR[text_off]) / CG_ADDON))
	IR_COST_RATIO=$(cost_ratio "$IR_C_TEXT" "$IR_C_CPT")
	judge V_IR_RATIO "instructions: text + rule / text" "$IR_R_TEXT" "$TARGET_RATIO"
	judge V_IR_COST "instructions: cost per add-on claim text / cpt_code" "$IR_COST_RATIO" "$TARGET_COST"
	for v in "${VARIANTS[@]}"; do
		printf '  %-48s %14s instructions, %6s a line\n' "${LABEL[$v]}" "${IR[$v]}" "$((IR[$v] / CG_LINES))"
	done
	# shellcheck disable=SC2059
	{
		printf "$LINE" "rule / no rule, cpt_code" "${IR_R_CPT}x" "" "" ""
		printf "$LINE" "rule / no rule, text" "${IR_R_TEXT}x" "" "<= ${TARGET_RATIO}x" "$V_IR_RATIO"
		printf "$LINE" "rule cost per add-on claim, cpt_code" "$IR_C_CPT" "" "" ""
		printf "$LINE" "rule cost per add-on claim, text" "$IR_C_TEXT" "" "" ""
		printf "$LINE" "cost per add-on claim, text / cpt_code" "$(as_ratio "$IR_COST_RATIO")" "" "<= ${TARGET_COST}x" "$V_IR_COST"
		printf "$LINE" "text / cpt_code, no rule (for information)" "$(ratio "${IR[text_off]}" "${IR[cpt_off]}")x" "" "" ""
		printf "$LINE" "text + rule / cpt_code + rule (for information)" "$(ratio "${IR[text_on]}" "${IR[cpt_on]}")x" "" "" ""
	}
	echo "  ($CG_ADDON claims holding an add-on in the $(human "$CG_LINES") lines)"
	IR_SUMMARY="; instructions: text + rule ${IR_R_TEXT}x ($V_IR_RATIO), cost text / cpt_code $(as_ratio "$IR_COST_RATIO") ($V_IR_COST)"
fi

# ---------------------------------------------------------------- summary

echo
echo "== Summary"
echo "elapsed: text + rule / text ${R_TEXT}x (target <= ${TARGET_RATIO}x, $V_RATIO)," \
	"cost per add-on claim text / cpt_code $(as_ratio "$COST_RATIO") (target <= ${TARGET_COST}x, $V_COST)${IR_SUMMARY}"
if [ "$missed" -eq 0 ]; then
	echo "all targets met"
else
	echo "$missed target(s) missed: $(printf '%s; ' "${MISSED_WHAT[@]}" | sed 's/; $//')"
fi
echo "run time $((SECONDS - STARTED)) s; load average at end: $(loadavg)"
[ "$missed" -eq 0 ] || exit 2
