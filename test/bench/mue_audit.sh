#!/usr/bin/env bash
# The MUE audit against the plain query it has to beat, side by side in one
# run on a throwaway cluster with default settings: LINES claim lines in the
# shape warehouses keep (text codes, numeric units; patients, practitioners
# and dates of service such that a group holds a few lines a day), then
#
#   plain   SELECT person_id, rendering_npi, hcpcs_code, claim_line_start_date,
#           sum(units) ... GROUP BY the four, counted
#   audit   cpt_rules.mue_violations() over the same lines, counted
#
# ROUNDS alternating rounds (default 3); printed: each time, their medians,
# the median of the rounds' ratios audit / plain (target 1.5), and lines per
# second.  The audit's answer is checked against a SQL rendering of the same
# rule over the same lines first.
#
# Usage: test/bench/mue_audit.sh [LINES]     (default 10000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

LINES=${1:-${BENCH_LINES:-10000000}}
case "$LINES" in '' | *[!0-9]*) echo "LINES must be a number" >&2; exit 1 ;; esac
ROUNDS=${BENCH_ROUNDS:-3}
TARGET=1.5
started=$SECONDS

ensure_packages "${BASE_PACKAGES[@]}" bc
build_and_install >/dev/null
start_cluster "max_wal_size = '8GB'" "checkpoint_timeout = '30min'"
trap stop_cluster EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

echo "== $LINES claim lines, text codes"
t0=$(now)
q <<SQL
CREATE EXTENSION cpt_rules;
CREATE TABLE medical_claim (claim_id text, claim_line_number int, person_id text, rendering_npi text,
	claim_line_start_date date, hcpcs_code text, service_unit_quantity numeric);
-- 3 lines a patient and day on average, a twentieth of them over an MUE
INSERT INTO medical_claim
SELECT (g / 5)::text, g % 5 + 1, 'P' || (g / 3 % 400000), 'N' || (g / 3 % 5000),
	   DATE '2026-07-01' + (g / 1200000), 
	   (ARRAY['99213', '36415', '85025', '80053', '20933', '27447', '97110', 'J1100', 'XXXXX', '99214'])[1 + g % 10],
	   CASE WHEN g % 20 = 0 THEN 9 WHEN g % 7 = 0 THEN NULL ELSE 1 END
  FROM generate_series(0, $LINES - 1) g;
VACUUM ANALYZE medical_claim;
SQL
printf "loaded in %.0f s; table %s\n" "$(echo "$(now) - $t0" | bc)" \
	"$(q -c "SELECT pg_size_pretty(pg_table_size('medical_claim'))")"

PLAIN="SELECT count(*) FROM (SELECT person_id, rendering_npi, hcpcs_code, claim_line_start_date,
	sum(coalesce(service_unit_quantity, 1)) FROM medical_claim GROUP BY 1, 2, 3, 4) s"
AUDIT="SELECT count(*) FROM cpt_rules.mue_violations('medical_claim', 'hcpcs_code', 'service_unit_quantity',
	'{person_id,rendering_npi}', 'claim_line_start_date')"
# the same rule written out in SQL, to check the audit's count
CHECK="SELECT count(*) FROM (
	SELECT 1 FROM medical_claim t JOIN cpt_rules.mue_edit e
	    ON e.code = cpt_code_or_null(t.hcpcs_code) AND e.setting = 'practitioner'
	 WHERE e.indicator = 1 AND coalesce(t.service_unit_quantity, 1) > e.mue_value
	UNION ALL
	SELECT 1 FROM medical_claim t JOIN cpt_rules.mue_edit e
	    ON e.code = cpt_code_or_null(t.hcpcs_code) AND e.setting = 'practitioner'
	 WHERE e.indicator IN (2, 3)
	 GROUP BY t.person_id, t.rendering_npi, e.code, t.claim_line_start_date, e.mue_value
	HAVING sum(coalesce(t.service_unit_quantity, 1)) > e.mue_value) s"
audit_count=$(q -c "$AUDIT"); check_count=$(q -c "$CHECK")
[ "$audit_count" = "$check_count" ] || { echo "the audit found $audit_count, the check $check_count" >&2; exit 1; }
echo "the audit finds $audit_count lines and groups over their MUE, as the check does"

timed() { local t; t=$(now); q -c "$1" >/dev/null; echo "$(now) - $t" | bc; }
P=(); A=(); R=()
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then p=$(timed "$PLAIN"); a=$(timed "$AUDIT"); else a=$(timed "$AUDIT"); p=$(timed "$PLAIN"); fi
	P+=("$p"); A+=("$a"); R+=("$(echo "$a / $p" | bc -l)")
	printf "round %d: plain %.2f s, audit %.2f s: %.3fx\n" "$r" "$p" "$a" "${R[-1]}"
done
p=$(printf '%s\n' "${P[@]}" | median); a=$(printf '%s\n' "${A[@]}" | median); ratio=$(printf '%s\n' "${R[@]}" | median)
printf "plain GROUP BY   %7.2f s  %9.0f lines/s\n" "$p" "$(echo "$LINES / $p" | bc -l)"
printf "audit            %7.2f s  %9.0f lines/s\n" "$a" "$(echo "$LINES / $a" | bc -l)"
printf "audit / plain    %7.3fx   (target <= %s)\n" "$ratio" "$TARGET"
printf "elapsed %d s\n" $((SECONDS - started))
[ "$(echo "$ratio <= $TARGET" | bc)" = 1 ] || { echo "target missed"; exit 2; }
