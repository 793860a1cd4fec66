#!/usr/bin/env bash
# The PTP audit against a plain self-join of the same groups, side by side in
# one run on a throwaway cluster with default settings.
#
# A synthetic practitioner quarter of 2,633,389 edits in CMS's exact layout
# (test/bench/ptp_quarter.sh; about half the pairs of the claims' common
# codes among them) is loaded by the README's recipe.  LINES claim lines in
# Tuva's medical_claim shape (text codes, five text modifier columns, one
# line in nine with a modifier; a claim of five lines per patient,
# practitioner and date of service), then
#
#   plain   the lines joined to themselves on patient, practitioner and
#           date, pairs of different codes, counted: the pairs the audit
#           has to consider, and nothing else
#   audit   cpt_rules.ptp_violations() over the same lines, counted
#
# ROUNDS alternating rounds (default 3); printed: each time, their medians,
# the median of the rounds' ratios audit / plain, and lines per second.
# The audit's count is checked first against the same pairs found by a SQL
# join of the self-join to the edits.
#
# Usage: test/bench/ptp_audit.sh [LINES]     (default 10000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

LINES=${1:-${BENCH_LINES:-10000000}}
case "$LINES" in '' | *[!0-9]*) echo "LINES must be a number" >&2; exit 1 ;; esac
ROUNDS=${BENCH_ROUNDS:-3}
case $ROUNDS in '' | *[!0-9]* | 0) echo "BENCH_ROUNDS must be a positive number" >&2; exit 1 ;; esac
RECORDS=2633389
started=$SECONDS

ensure_packages "${BASE_PACKAGES[@]}" bc
build_and_install >/dev/null
start_cluster "max_wal_size = '8GB'" "checkpoint_timeout = '30min'"
trap stop_cluster EXIT
trap 'exit 130' INT TERM
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
. test/bench/ptp_quarter.sh

CODES='{99213,99214,36415,85025,80053,99203,99204,99212,80061,83036,84443,81001,71046,93000,G0463,J1100,96372,90686,G0008,87086,73030,72100,97110,97140,99232,99233,77067,74177,70450,J3420,82306,84153,99396,99395,80048,85610}'
echo "== a PTP quarter of $RECORDS edits, loaded by the recipe"
t0=$(now)
q -c "CREATE EXTENSION cpt_rules"
write_ptp_quarter "$RECORDS" "$PGTMP" "$CODES"
q <<SQL
SET client_min_messages = warning;
CREATE TEMP TABLE staging (LIKE cpt_rules.cms_ptp_file);
$(for part in 1 2 3 4; do echo "COPY staging FROM '$PGTMP/ccipra-f$part.txt' WITH (FORMAT csv, DELIMITER E'\t', ENCODING 'LATIN1');"; done)
SELECT count(*) FROM cpt_rules.refresh_ptp_edits('staging', 'practitioner', '2026-07-01');
SQL
rm -f "$PGTMP"/ccipra-f*.txt
q -c "VACUUM ANALYZE cpt_rules.ptp_edit_loaded"
printf "made and loaded in %.0f s: %s edits, %s between the claims' codes\n" "$(echo "$(now) - $t0" | bc)" \
	"$(q -c "SELECT count(*) FROM cpt_rules.ptp_edit")" \
	"$(q -c "SELECT count(*) FROM cpt_rules.ptp_edit WHERE column1::text = ANY ('$CODES') AND column2::text = ANY ('$CODES')")"

echo "== $LINES claim lines, text codes"
t0=$(now)
q <<SQL
CREATE TABLE medical_claim (claim_id text, claim_line_number int, person_id text, rendering_npi text,
	claim_line_start_date date, hcpcs_code text, hcpcs_modifier_1 text, hcpcs_modifier_2 text,
	hcpcs_modifier_3 text, hcpcs_modifier_4 text, hcpcs_modifier_5 text);
-- claims of five lines, each its patient's, practitioner's and date's;
-- common codes as often as practices bill them; a ninth of the lines with
-- a modifier (59, XU, 25, LT, or 76, which bypasses nothing)
INSERT INTO medical_claim
SELECT (g / 5)::text, g % 5 + 1, 'P' || (g / 5 % 400000), 'N' || (g / 5 % 5000),
	   DATE '2026-07-01' + (g / 5 / 400000) % 92,
	   ('$CODES'::text[] || '{99213,99213,99213,99213,99214,99214,99214,36415,36415,36415,85025,85025,80053,80053}'::text[])
		   [1 + abs(hashint8(g)) % 50],
	   CASE WHEN abs(hashint8(g * 3)) % 9 = 0 THEN (ARRAY['59', 'XU', '25', 'LT', '76'])[1 + abs(hashint8(-g)) % 5] END,
	   CASE WHEN g % 97 = 0 THEN 'RT' END, NULL, NULL, NULL
  FROM generate_series(0, $LINES - 1) g;
VACUUM ANALYZE medical_claim;
SQL
printf "loaded in %.0f s; table %s\n" "$(echo "$(now) - $t0" | bc)" \
	"$(q -c "SELECT pg_size_pretty(pg_table_size('medical_claim'))")"

PAIRS="FROM medical_claim a JOIN medical_claim b
	    ON a.person_id = b.person_id AND a.rendering_npi = b.rendering_npi
	   AND a.claim_line_start_date = b.claim_line_start_date AND a.hcpcs_code <> b.hcpcs_code"
PLAIN="SELECT count(*) $PAIRS"
AUDIT="SELECT count(*) FROM cpt_rules.ptp_violations('medical_claim', 'hcpcs_code', '{person_id,rendering_npi}',
	'claim_line_start_date', modifiers => '{hcpcs_modifier_1,hcpcs_modifier_2,hcpcs_modifier_3,hcpcs_modifier_4,hcpcs_modifier_5}')"
# the same pairs found by joining the self-join to the edits, to check the count
CHECK="SELECT count(*) $PAIRS
	  JOIN cpt_rules.ptp_edit e ON e.column1 = cpt_code_or_null(a.hcpcs_code) AND e.column2 = cpt_code_or_null(b.hcpcs_code)
	 WHERE e.modifier_indicator <> 9 AND e.effective <= a.claim_line_start_date
	   AND (e.deleted IS NULL OR e.deleted > a.claim_line_start_date)"
audit_count=$(q -c "$AUDIT"); check_count=$(q -c "$CHECK"); pairs=$(q -c "$PLAIN")
[ "$audit_count" = "$check_count" ] || { echo "the audit found $audit_count pairs, the check $check_count" >&2; exit 1; }
echo "the audit finds $audit_count pairs under an edit in force, as the check does, among $pairs pairs of lines"

timed() { local t; t=$(now); q -c "$1" >/dev/null; echo "$(now) - $t" | bc; }
P=(); A=(); R=()
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then p=$(timed "$PLAIN"); a=$(timed "$AUDIT"); else a=$(timed "$AUDIT"); p=$(timed "$PLAIN"); fi
	P+=("$p"); A+=("$a"); R+=("$(echo "$a / $p" | bc -l)")
	printf "round %d: plain %.2f s, audit %.2f s: %.3fx\n" "$r" "$p" "$a" "${R[-1]}"
done
p=$(printf '%s\n' "${P[@]}" | median); a=$(printf '%s\n' "${A[@]}" | median); ratio=$(printf '%s\n' "${R[@]}" | median)
printf "plain self-join  %7.2f s  %9.0f lines/s\n" "$p" "$(echo "$LINES / $p" | bc -l)"
printf "audit            %7.2f s  %9.0f lines/s\n" "$a" "$(echo "$LINES / $a" | bc -l)"
printf "audit / plain    %7.3fx\n" "$ratio"
printf "elapsed %d s\n" $((SECONDS - started))
