#!/usr/bin/env bash
# Enforcing without blocking writers, measured on a throwaway cluster with
# default settings: a claims table of LINES lines in the shape warehouses
# keep (text codes, claim_id text, an index on claim_id), the add-on rule
# enforced NOT VALID, then validated by cpt_rules.validate_addon_rule():
#
#   A. the validation alone: its time with progress NOTICEs (the default,
#      every 10 s) and without (cpt_rules.progress_interval = 0), rounds
#      alternating; printed: medians, their ratio, lines per second
#   B. a writer (pgbench, one client, one new five-line claim holding 20933
#      beside its primary per transaction) running throughout, while the
#      validation runs in the middle: the writer's rate during the
#      validation against its rate in windows of the same length just
#      before and just after it, in the same pgbench run; printed: the
#      medians of the rounds' ratios, the validation's time with the
#      writer beside it, and that no transaction of the writer failed
#
# The rule is marked NOT VALID again between rounds (a catalog change of
# a few rows, cpt_rules.set_rule_validated).
#
# Usage: test/bench/validate_online.sh [LINES]     (default 10000000)
#   BENCH_ROUNDS=N (default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

LINES=${1:-${BENCH_LINES:-10000000}}
case "$LINES" in '' | *[!0-9]*) echo "LINES must be a number" >&2; exit 1 ;; esac
ROUNDS=${BENCH_ROUNDS:-3}
TARGET_WRITER=0.80		# writer's rate during the validation, at least this times its rate alone
started=$SECONDS

ensure_packages "${BASE_PACKAGES[@]}" bc
build_and_install >/dev/null
# checkpoints spaced out, so that none falls in one window and not the other
start_cluster "max_wal_size = '8GB'" "checkpoint_timeout = '30min'"
WORK=$(mktemp -d)
writer_pid=
cleanup() {
	[ -n "$writer_pid" ] && kill "$writer_pid" 2>/dev/null && wait "$writer_pid" 2>/dev/null
	stop_cluster
	rm -rf "$WORK"
}
trap cleanup EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

echo "== $LINES claim lines, text codes (1 claim in 4 holds 20933 beside 27365)"
t0=$(now)
q <<SQL
CREATE EXTENSION cpt_rules;
CREATE TABLE medical_claim (claim_id text NOT NULL, claim_line_number int NOT NULL,
	person_id text, rendering_npi text, claim_line_start_date date, hcpcs_code text,
	service_unit_quantity numeric);
INSERT INTO medical_claim
SELECT (g / 5)::text, g % 5 + 1, 'P' || (g / 50), 'N' || (g / 5000), DATE '2026-01-01' + (g / 5) % 180,
	   CASE WHEN g % 5 = 0 THEN '27365' WHEN g % 20 = 1 THEN '20933'
			ELSE (ARRAY['99213', '36415', '85025', '80053', ' 99214', 'XXXXX'])[1 + g % 6] END,
	   1
  FROM generate_series(0, $LINES - 1) g;
CREATE INDEX ON medical_claim (claim_id);
VACUUM ANALYZE medical_claim;
-- autovacuum would work on the table in the writer's windows and not
-- during the validation, whose lock it yields to: off, so both compare
ALTER TABLE medical_claim SET (autovacuum_enabled = off);
CREATE SEQUENCE writer_claims;
SET client_min_messages = warning;
SELECT cpt_rules.enforce_addon_rule('medical_claim', code => 'hcpcs_code', group_by => '{claim_id}',
	service_date => 'claim_line_start_date', validate => false);
SQL
printf "loaded and indexed in %.0f s; table %s, index %s\n" "$(echo "$(now) - $t0" | bc)" \
	"$(q -c "SELECT pg_size_pretty(pg_table_size('medical_claim'))")" \
	"$(q -c "SELECT pg_size_pretty(pg_indexes_size('medical_claim'))")"

not_valid_again() {
	q -c "BEGIN" -c "LOCK medical_claim IN SHARE UPDATE EXCLUSIVE MODE" \
		-c "SELECT cpt_rules.set_rule_validated('medical_claim', 'medical_claim_addon_rule', false)" \
		-c "COMMIT" >/dev/null
}
# validate INTERVAL: seconds the validation took; fails unless it validated
validate() {
	local t s out
	not_valid_again
	t=$(now)
	out=$(q -c "SET cpt_rules.progress_interval = '$1'" \
		-c "SELECT * FROM cpt_rules.validate_addon_rule('medical_claim')" 2>"$WORK/notices")
	s=$(echo "$(now) - $t" | bc)
	[ "$out" = medical_claim_addon_rule ] || { echo "validation failed: $out" >&2; cat "$WORK/notices" >&2; exit 1; }
	echo "$s"
}

echo
echo "== A. the validation alone (median of $ROUNDS rounds each, alternating)"
: >"$WORK/a_on"; : >"$WORK/a_off"
for r in $(seq 1 "$ROUNDS"); do
	validate 10s >>"$WORK/a_on"
	cp "$WORK/notices" "$WORK/notices_last"
	validate 0 >>"$WORK/a_off"
done
on=$(median <"$WORK/a_on"); off=$(median <"$WORK/a_off")
printf "with progress NOTICEs    %7.2f s   %9.0f lines/s\n" "$on" "$(echo "$LINES / $on" | bc -l)"
printf "without                  %7.2f s   %9.0f lines/s\n" "$off" "$(echo "$LINES / $off" | bc -l)"
printf "progress costs           %7.3fx\n" "$(echo "$on / $off" | bc -l)"
echo "its NOTICEs, last round:"
grep "NOTICE" "$WORK/notices_last" | sed 's/^/    /' || echo "    (none: the validation took under 10 s)"

echo
echo "== B. a writer throughout, the validation in the middle (median of $ROUNDS rounds)"
cat >"$WORK/claim.sql" <<'SQL'
BEGIN;
INSERT INTO medical_claim
SELECT 'w' || n, l, 'PW', 'NW', DATE '2026-06-01', (ARRAY['27365', '20933', '99213', '36415', '85025'])[l], 1
  FROM (SELECT nextval('writer_claims') AS n) s, generate_series(1, 5) l;
COMMIT;
SQL
: >"$WORK/b_ratio"; : >"$WORK/b_time"
for r in $(seq 1 "$ROUNDS"); do
	not_valid_again
	pgbench -n -c 1 -T 100000 -f "$WORK/claim.sql" >"$WORK/pgbench.out" 2>&1 &
	writer_pid=$!
	sleep 3
	v() { q -c "SELECT last_value FROM writer_claims"; }
	# the validation's length, from part A, sets the windows' length
	win=$(printf "%.0f" "$on"); [ "$win" -ge 2 ] || win=2
	a0=$(v); ta0=$(now); sleep "$win"; a1=$(v); ta1=$(now)
	t=$(validate 10s); b1=$(v); tb1=$(now)
	sleep "$win"; c1=$(v); tc1=$(now)
	# (a background job of a script ignores SIGINT)
	kill -TERM "$writer_pid"; wait "$writer_pid" 2>/dev/null || true; writer_pid=
	before=$(echo "($a1 - $a0) / ($ta1 - $ta0)" | bc -l)
	during=$(echo "($b1 - $a1) / ($tb1 - $ta1)" | bc -l)
	after=$(echo "($c1 - $b1) / ($tc1 - $tb1)" | bc -l)
	ratio=$(echo "$during / (($before + $after) / 2)" | bc -l)
	printf "round %d: validation %.2f s; writer %.0f tps before, %.0f during, %.0f after: %.3fx\n" \
		"$r" "$t" "$before" "$during" "$after" "$ratio"
	echo "$ratio" >>"$WORK/b_ratio"; echo "$t" >>"$WORK/b_time"
	if grep -qiE "error" "$WORK/pgbench.out"; then
		echo "the writer saw errors:" >&2; cat "$WORK/pgbench.out" >&2; exit 1
	fi
done
ratio=$(median <"$WORK/b_ratio")
printf "validation with the writer beside it   %7.2f s (alone %.2f s)\n" "$(median <"$WORK/b_time")" "$on"
printf "writer's rate during / alone            %7.3fx   (target >= %s)\n" "$ratio" "$TARGET_WRITER"
echo "writer transactions failed: 0; rule validated: $(q -c "SELECT validated FROM cpt_rules.enforced_rules")"
printf "elapsed %d s\n" $((SECONDS - started))
[ "$(echo "$ratio >= $TARGET_WRITER" | bc)" = 1 ] || { echo "target missed"; exit 2; }
