#!/usr/bin/env bash
# Cost of the MUE rule on a bulk load, measured side by side in one run on a
# throwaway cluster with PostgreSQL's default settings.
#
# The claim lines of test/bench/generate.sql (5 lines a claim on average,
# common practitioner codes), their dates of service moved into the shipped
# MUE table's quarter (2026-07-01 to 2026-09-30), and made to obey the
# rule's default indicators (1 and 2: one line per patient, practitioner,
# code and date, units within the MUE), are loaded by COPY into two tables
# alike but for the rule, each with the index the rule's checks read:
#
#   no rule    (patient_id, rendering_npi, service_date) index
#   MUE rule   the same, and enforce_mue_rule by (patient_id, rendering_npi)
#
# ROUNDS rounds load both back to back, which goes first alternating; both
# tables are truncated and a CHECKPOINT taken (untimed) before each load.
# A load is the COPY and its COMMIT, where the deferred checks run.  The
# ratio is the median of the rounds' ratios; the backend's CPU time is
# printed beside the elapsed time.  Then a COPY of the first 100k lines into
# each table in a single-user backend under callgrind: instruction counts,
# the same in every run (BENCH_INSTRUCTIONS=0 leaves them out), with and
# without the one read of the MUE tables every session makes on its first
# check (measured alone: a 100k-line COPY bears all of it, a 1M-line load
# a tenth as much a line).
#
# Target (issue: MUE): the MUE rule at most 1.10x the load without it.
#
# Usage: test/bench/mue_copy.sh
# Environment:
#   BENCH_SCALE=small       10x fewer rows
#   BENCH_ROUNDS=N          timed rounds (default 5)
#   BENCH_INSTRUCTIONS=0    no instruction counts
# Exit status: 0 when the target is met, 2 when it is missed.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

STARTED=$SECONDS
case ${BENCH_SCALE:-full} in
	full) DIV=1 ;;
	small) DIV=10 ;;
	*) echo "BENCH_SCALE must be full or small" >&2; exit 1 ;;
esac
ROUNDS=${BENCH_ROUNDS:-5}
case $ROUNDS in '' | *[!0-9]* | 0) echo "BENCH_ROUNDS must be a positive number" >&2; exit 1 ;; esac
TARGET=1.10
CLAIMS=$((200000 / DIV))
CG_LINES=$((100000 / DIV))

ensure_packages "${BASE_PACKAGES[@]}" valgrind
build_and_install >/dev/null
start_cluster
trap stop_cluster EXIT
trap 'exit 130' INT TERM

q() { psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 "$@"; }
loadavg() { local a b c rest; read -r a b c rest </proc/loadavg; echo "$a $b $c"; }
CSV=$PGTMP/mue_lines.csv
CG_CSV=$PGTMP/mue_lines_head.csv

q <<'SQL'
CREATE EXTENSION cpt_rules;
\i test/bench/setup.sql
CALL bench_create_lines('lines_off');
CALL bench_create_lines('lines_on');
CREATE INDEX ON lines_off (patient_id, rendering_npi, service_date);
CREATE INDEX ON lines_on (patient_id, rendering_npi, service_date);
SELECT cpt_rules.enforce_mue_rule('lines_on', code => 'code', units => 'units',
	group_by => '{patient_id,rendering_npi}', service_date => 'service_date') AS attached \gset
CREATE TABLE bench_result (variant text, run int, total_s numeric, cpu_s numeric);
CREATE TABLE src (LIKE lines_off);
SQL

t0=$SECONDS
q -v nclaims="$CLAIMS" -v seed=0.42 -f test/bench/generate.sql >"$PGTMP/generated.csv"
chmod 644 "$PGTMP/generated.csv"
read -r LINES FIRING < <(q -v csv="$CSV" -v gen="$PGTMP/generated.csv" <<'SQL'
COPY src FROM :'gen' WITH (FORMAT csv);
UPDATE src SET service_date = date '2026-07-01' + (service_date - date '2024-01-01') % 92;
-- the rule's defaults hold: one line per group, code and date for
-- indicators 1 and 2, units within the MUE, no line of a code whose MUE is 0
WITH m AS (
	SELECT s.ctid AS tid, e.mue_value,
		   row_number() OVER (PARTITION BY s.patient_id, s.rendering_npi, s.service_date, s.code
							  ORDER BY s.claim_id, s.line_no) AS rn
	  FROM src s JOIN cpt_rules.mue_edit e ON e.setting = 'practitioner' AND e.code = s.code
	 WHERE e.indicator IN (1, 2))
DELETE FROM src s USING m WHERE s.ctid = m.tid AND (m.rn > 1 OR m.mue_value = 0);
UPDATE src s SET units = e.mue_value FROM cpt_rules.mue_edit e
 WHERE e.setting = 'practitioner' AND e.code = s.code AND e.indicator IN (1, 2) AND s.units > e.mue_value;
COPY (SELECT * FROM src ORDER BY claim_id, line_no) TO :'csv' WITH (FORMAT csv);
SELECT count(*), count(*) FILTER (WHERE e.indicator IN (1, 2))
  FROM src s LEFT JOIN cpt_rules.mue_edit e ON e.setting = 'practitioner' AND e.code = s.code;
SQL
)
head -n "$CG_LINES" "$CSV" >"$CG_CSV"
chmod 644 "$CSV" "$CG_CSV"
echo "cpt_rules MUE rule on a bulk load, $ROUNDS rounds; load average at start: $(loadavg)"
q -c "SELECT version()"
echo "data: $LINES lines made in $((SECONDS - t0)) s; $FIRING of them bill a code with an indicator 1 or 2 edit" \
	"(each such line is checked at COMMIT: its group, code and date locked and summed)"

load_timed() {
	q <<SQL
TRUNCATE lines_off, lines_on;
CHECKPOINT;
SELECT bench_cpu_ticks(pg_backend_pid()) AS c0 \gset
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
BEGIN;
COPY lines_$1 FROM '$CSV' WITH (FORMAT csv);
COMMIT;
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 4),
	   round((bench_cpu_ticks(pg_backend_pid()) - :c0) / 100.0, 2);
SQL
}
# warm-up, untimed; the loaded data obeys the rule, and the rule bites
load_timed on >/dev/null
[ "$(q -c "SELECT count(*) FROM cpt_rules.mue_violations('lines_on', 'code', 'units', '{patient_id,rendering_npi}', 'service_date', indicators => '{1,2}')")" = 0 ] ||
	{ echo "the data breaks the rule" >&2; exit 1; }
err=$(q -c "INSERT INTO lines_on SELECT claim_id + 1, 1, patient_id, rendering_npi, service_date, code, units FROM lines_on WHERE code = '99203' LIMIT 1" 2>&1 || true)
[[ $err == *"over its MUE of 1"* ]] || { echo "the rule let a second 99203 in: $err" >&2; exit 1; }

echo
echo "== COPY of $LINES lines and COMMIT: $ROUNDS rounds (load average $(loadavg))"
for run in $(seq "$ROUNDS"); do
	order="off on"
	[ $((run % 2)) = 0 ] && order="on off"
	for v in $order; do
		read -r t u < <(load_timed "$v")
		q -c "INSERT INTO bench_result VALUES ('$v', $run, $t, $u)"
		printf '  round %d  %-8s %8.3f s (CPU %.2f s)\n' "$run" "$v" "$t" "$u"
	done
done
read -r OFF ON RATIO CPU_RATIO < <(q <<'SQL'
WITH p AS (SELECT run, max(total_s) FILTER (WHERE variant = 'off') AS f, max(total_s) FILTER (WHERE variant = 'on') AS n,
				  max(cpu_s) FILTER (WHERE variant = 'off') AS uf, max(cpu_s) FILTER (WHERE variant = 'on') AS un
			 FROM bench_result GROUP BY run)
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY f)::numeric, 3),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY n)::numeric, 3),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY n / f)::numeric, 3),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY un / nullif(uf, 0))::numeric, 3)
  FROM p;
SQL
)
echo "  median: no rule $OFF s, MUE rule $ON s; MUE rule / no rule ${RATIO}x elapsed, ${CPU_RATIO}x CPU" \
	"(medians of the rounds' ratios; target <= ${TARGET}x)"

IR_LINE=
if [ "${BENCH_INSTRUCTIONS:-1}" = 1 ]; then
	echo
	echo "== Instructions: COPY of $CG_LINES lines into each table, a single-user backend under callgrind"
	echo "   (start-up subtracted; the rule's side includes reading the MUE tables once, as every session does)"
	q -c "TRUNCATE lines_off, lines_on"
	CG_FIRING=$(q -c "CREATE TEMP TABLE h (LIKE lines_off); COPY h FROM '$CG_CSV' WITH (FORMAT csv);
		SELECT count(*) FROM h JOIN cpt_rules.mue_edit e ON e.setting = 'practitioner' AND e.code = h.code AND e.indicator IN (1, 2)" | tail -1)
	as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -m fast -w stop >/dev/null
	single_ir() { echo "$1" | single_user "$PGTMP/data" callgrind; }
	base=$(single_ir "SELECT 1")
	IR_OFF=$(($(single_ir "COPY lines_off FROM '$CG_CSV' WITH (FORMAT csv)") - base))
	IR_ON=$(($(single_ir "COPY lines_on FROM '$CG_CSV' WITH (FORMAT csv)") - base))
	# a session's one read of the MUE tables, by the rule's marker asked once
	IR_READ=$(($(single_ir "SELECT cpt_rules.mue_rule_arriving(text 'practitioner', 6, 'lines_on'::regclass::oid, cpt_code '27447', date '2026-07-06', 1, 1, text 'A')") - base))
	as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w start >/dev/null
	IR_RATIO=$(awk -v a="$IR_ON" -v b="$IR_OFF" 'BEGIN { printf "%.3f", a / b }')
	printf '  no rule   %14d instructions, %6d a line\n' "$IR_OFF" $((IR_OFF / CG_LINES))
	printf '  MUE rule  %14d instructions, %6d a line; %d a checked line (%d of them)\n' "$IR_ON" \
		$((IR_ON / CG_LINES)) $(((IR_ON - IR_OFF) / CG_FIRING)) "$CG_FIRING"
	IR_STEADY=$(awk -v a="$IR_ON" -v r="$IR_READ" -v b="$IR_OFF" 'BEGIN { printf "%.3f", (a - r) / b }')
	echo "  MUE rule / no rule ${IR_RATIO}x; ${IR_STEADY}x without the session's one read of the MUE tables ($IR_READ instructions)"
	IR_LINE="; instructions ${IR_RATIO}x (${IR_STEADY}x without the one read of the MUE tables)"
fi

echo
echo "== Summary"
echo "COPY of $LINES lines: MUE rule / no rule ${RATIO}x elapsed, ${CPU_RATIO}x CPU${IR_LINE} (target <= ${TARGET}x)"
echo "run time $((SECONDS - STARTED)) s; load average at end: $(loadavg)"
awk -v v="$RATIO" -v t="$TARGET" 'BEGIN { exit !(v <= t) }' || exit 2
