#!/usr/bin/env bash
# Randomized concurrency stress test of the add-on rule.
#
# A table of claim lines with the rule attached starts with 20 valid claims
# (a primary and an add-on each).  Four clients then run random transactions
# on these shared claims for STRESS_SECONDS (default 20) at each isolation
# level: insert add-ons, insert primaries, delete random lines, recode random
# lines, move lines between claims, and delete-then-insert within one claim
# (test/stress/*.sql).  Half of the transactions run the deferred check at
# COMMIT, the other half run it early (SET CONSTRAINTS ALL IMMEDIATE after
# their changes); every transaction then pauses a few milliseconds before
# COMMIT, so that conflicting transactions overlap, and so that a check
# that did not lock what it relied on would let others change it before
# the checked transaction commits.  The audit (cpt_rules.addon_rule_violations),
# run every 20ms during the run and once after it, must never find an
# add-on line without an eligible primary; a transaction may only fail with
# 23514 (check_violation), 40001 (serialization_failure) or 40P01
# (deadlock_detected).
#
# The clients are psql sessions, one per client, each reading a generated
# list of the transaction scripts (reproducible from STRESS_SEED) until a
# deadline.  pgbench is not used: in PostgreSQL 15 it retries 40001/40P01
# but aborts a client on any other error, and a 23514 is an expected
# outcome here.
#
# Runs against the cluster of test/run_all.sh (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
. "$(dirname "$0")/../tap.sh"
cd "$(dirname "$0")/../.."
stress_dir=$PWD/test/stress
seconds=${STRESS_SECONDS:-20}
clients=${STRESS_CLIENTS:-4}
claims=${STRESS_CLAIMS:-20}
seed=${STRESS_SEED:-$RANDOM}
db=cpt_rules_stress
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# seed $seed, $clients clients, $claims claims, ${seconds}s per isolation level"

dropdb --if-exists "$db" 2>/dev/null
createdb "$db" && q >/dev/null <<'SQL' || { not_ok "set up"; tap_plan; exit 1; }
CREATE EXTENSION cpt_rules;
CREATE SCHEMA stress;
CREATE TABLE stress.claim_lines (line_id bigserial PRIMARY KEY, claim_id int NOT NULL, code cpt_code);
CREATE INDEX ON stress.claim_lines (claim_id);
SELECT cpt_rules.enforce_addon_rule('stress.claim_lines', code => 'code', group_by => '{claim_id}');
SQL

audit_sql="SELECT count(*) FROM cpt_rules.addon_rule_violations('stress.claim_lines', 'code', '{claim_id}')"

# The audit must see a violation when there is one, or its 0 means nothing.
planted=$(q <<'SQL'
BEGIN;
ALTER TABLE stress.claim_lines DISABLE TRIGGER USER;
INSERT INTO stress.claim_lines (claim_id, code) VALUES (-1, '20933');
SELECT count(*) FROM cpt_rules.addon_rule_violations('stress.claim_lines', 'code', '{claim_id}');
ROLLBACK;
SQL
)
if [ "$planted" = 1 ]; then ok "the audit finds a planted violation"
else not_ok "the audit finds a planted violation (got '$planted')"; fi

# One client's script: the transaction scripts in random order, weighted,
# each preceded by a check of the deadline and by the choice of when its
# check runs (:early, see test/stress/check_and_commit.sql).
client_script() {
	awk -v seed="$1" -v dir="$stress_dir" 'BEGIN {
		srand(seed);
		nw = split("add_addon 15 add_primary 10 delete_line 35 update_code 15 move_line 10 swap 15 check_then_change 10", w, " ");
		for (i = 1; i <= nw; i += 2) { total += w[i + 1]; }
		print "\\set VERBOSITY sqlstate";
		for (t = 0; t < 25000; t++) {
			print "SELECT clock_timestamp() >= :'"'"'deadline'"'"'::timestamptz AS stop \\gset";
			print "\\if :stop";
			print "\\q";
			print "\\endif";
			r = rand() * total;
			for (i = 1; i <= nw; i += 2) { r -= w[i + 1]; if (r < 0) break; }
			if (i > nw) i = nw - 1;
			print "\\set early " (rand() < 0.5 ? "t" : "f");
			print "\\i " dir "/" w[i] ".sql";
		}
	}'
}

# The auditor: the audit every 20ms while the clients run, at READ
# COMMITTED (one snapshot per audit), so that a violation committed and
# repaired later during the run is seen too.
auditor_script() {
	awk -v audit="$audit_sql" 'BEGIN {
		print "SET default_transaction_isolation = '"'"'read committed'"'"';";
		for (t = 0; t < 5000; t++) {
			print "SELECT clock_timestamp() >= :'"'"'deadline'"'"'::timestamptz AS stop \\gset";
			print "\\if :stop";
			print "\\q";
			print "\\endif";
			print audit ";";
			print "SELECT pg_sleep(0.02) AS paused \\gset";
		}
	}'
}

# ddl_script: the DDL client of the partitioned round.  It detaches and
# re-attaches the partition holding 27645 and 99213 (refused with 23514
# whenever a claim relies on a primary there), changes the rules and rolls
# the change back (no check may see it), and adds and removes a payer pair
# no claim uses (every check must keep working across the invalidations).
ddl_script() {
	awk -v seed="$1" 'BEGIN {
		srand(seed);
		print "\\set VERBOSITY sqlstate";
		for (t = 0; t < 5000; t++) {
			print "SELECT clock_timestamp() >= :'"'"'deadline'"'"'::timestamptz AS stop \\gset";
			print "\\if :stop";
			print "\\q";
			print "\\endif";
			r = rand();
			if (r < 0.4) {
				print "BEGIN;";
				print "ALTER TABLE stress.claim_lines DETACH PARTITION stress.claim_lines_high;";
				print "SELECT pg_sleep(0.01) AS paused \\gset";
				print "ALTER TABLE stress.claim_lines ATTACH PARTITION stress.claim_lines_high FOR VALUES FROM ('"'"'27500'"'"') TO (MAXVALUE);";
				print "COMMIT;";
			} else if (r < 0.7) {
				print "BEGIN;";
				print "DELETE FROM cpt_rules.aoc_edit WHERE addon IN ('"'"'20933'"'"', '"'"'22552'"'"');";
				print "SELECT pg_sleep(0.02) AS paused \\gset";
				print "ROLLBACK;";
			} else {
				print "INSERT INTO cpt_rules.payer_pair (addon, primary_code) VALUES ('"'"'0054T'"'"', '"'"'99213'"'"');";
				print "DELETE FROM cpt_rules.payer_pair WHERE addon = '"'"'0054T'"'"';";
			}
			print "SELECT pg_sleep(0.05) AS paused \\gset";
		}
	}'
}

# run_round LEVEL TAG [ddl]: the clients (and, with ddl, the DDL client) on
# the same 20 valid claims for $seconds at one isolation level
run_round() {
	local level=$1 tag=$2 ddl=${3:-}
	# the same 20 valid claims at the start of each level
	q >/dev/null <<SQL
TRUNCATE stress.claim_lines;
INSERT INTO stress.claim_lines (claim_id, code)
SELECT c, code::cpt_code
  FROM generate_series(1, $claims) c,
       LATERAL (VALUES (CASE WHEN c % 2 = 1 THEN '27365' ELSE '22551' END),
                       (CASE WHEN c % 2 = 1 THEN '20933' ELSE '22552' END)) v(code);
SQL
	export PGOPTIONS="-c default_transaction_isolation=${level// /\\ } -c deadlock_timeout=50ms -c statement_timeout=60s"
	shown=$(q -c "SHOW default_transaction_isolation")
	deadline=$(q -c "SELECT now() + interval '$seconds seconds'")
	pids=()
	for c in $(seq 1 "$clients"); do
		client_script "$((seed * 10 + c))" >"$work/client$c.sql"
		psql -X -d "$db" -v claims="$claims" -v deadline="$deadline" -f "$work/client$c.sql" \
			>"$work/$tag.$c.out" 2>"$work/$tag.$c.err" &
		pids+=($!)
	done
	if [ -n "$ddl" ]; then
		ddl_script "$((seed * 10))" >"$work/ddl.sql"
		psql -X -d "$db" -v deadline="$deadline" -f "$work/ddl.sql" \
			>"$work/$tag.ddl.out" 2>"$work/$tag.ddl.err" &
		pids+=($!)
	fi
	auditor_script >"$work/auditor.sql"
	psql -X -q -At -d "$db" -v deadline="$deadline" -f "$work/auditor.sql" >"$work/$tag.audits" 2>&1 &
	pids+=($!)
	for pid in "${pids[@]}"; do wait "$pid"; done
	unset PGOPTIONS

	committed=$(cat "$work/$tag".[0-9]*.out | grep -cx COMMIT)
	errors=$(cat "$work/$tag".*.err | grep -o 'ERROR:  [0-9A-Z]\{5\}' | awk '{print $2}')
	n23514=$(grep -cx 23514 <<<"$errors")
	n40001=$(grep -cx 40001 <<<"$errors")
	n40P01=$(grep -cx 40P01 <<<"$errors")
	failed=$((n23514 + n40001 + n40P01))
	# everything else: a statement after an error in the same transaction
	# (25P02) is expected, any other message is not
	unexpected=$(cat "$work/$tag".*.err | grep -v 'ERROR:  \(23514\|40001\|40P01\|25P02\)$' | sort | uniq -c | head -5)
	# the audits during the run, then one after it
	q -c "$audit_sql" >>"$work/$tag.audits" 2>&1
	audits=$(grep -c . "$work/$tag.audits")
	violations=$(awk '$1 ~ /^[0-9]+$/ { if ($1 > max) max = $1; next } { bad = 1 } END { print bad ? "?" : max + 0 }' "$work/$tag.audits")
	lines=$(q -c "SELECT count(*) || ' lines in ' || count(DISTINCT claim_id) || ' claims' FROM stress.claim_lines")
	echo "# $level${ddl:+, partitioned, with DDL}: $lines at the end; 23514: $n23514, 40001: $n40001, 40P01: $n40P01"
	[ -n "$ddl" ] && echo "# DDL client: $(grep -cx COMMIT "$work/$tag.ddl.out") detach/attach committed, $(grep -cx ROLLBACK "$work/$tag.ddl.out") rule changes rolled back"
	msg="stress $level${ddl:+, range-partitioned, with partition DDL and rule changes}: $committed transactions committed, $failed failed with 23514/40001/40P01, $violations violations in $audits audits"
	if [ "$shown" != "$level" ]; then
		not_ok "$msg (default_transaction_isolation was '$shown')"
	elif [ -n "$unexpected" ]; then
		not_ok "$msg, unexpected client output:"
		sed 's/^/#   /' <<<"$unexpected"
	elif [ "$violations" != 0 ] || [ "$committed" -le 0 ]; then
		not_ok "$msg"
		grep -v '^0$' "$work/$tag.audits" | sort | uniq -c | head -5 | sed 's/^/#   audit: /'
		q -c "SELECT * FROM cpt_rules.addon_rule_violations('stress.claim_lines', 'code', '{claim_id}') LIMIT 10" | sed 's/^/#   /'
	else
		ok "$msg"
	fi

}

for level in "read committed" "repeatable read" "serializable"; do
	run_round "$level" "${level// /_}"
done

# The same clients on a range-partitioned table (claims span partitions),
# with a DDL client detaching and attaching partitions and changing rules.
q >/dev/null <<'SQL' || not_ok "set up the partitioned table"
DROP TABLE stress.claim_lines;
CREATE TABLE stress.claim_lines (line_id bigserial, claim_id int NOT NULL, code cpt_code)
	PARTITION BY RANGE (code);
CREATE TABLE stress.claim_lines_low PARTITION OF stress.claim_lines FOR VALUES FROM (MINVALUE) TO ('25000');
CREATE TABLE stress.claim_lines_mid PARTITION OF stress.claim_lines FOR VALUES FROM ('25000') TO ('27500');
CREATE TABLE stress.claim_lines_high PARTITION OF stress.claim_lines FOR VALUES FROM ('27500') TO (MAXVALUE);
CREATE TABLE stress.claim_lines_none PARTITION OF stress.claim_lines DEFAULT;
CREATE INDEX ON stress.claim_lines (claim_id);
CREATE INDEX ON stress.claim_lines (line_id);
SELECT cpt_rules.enforce_addon_rule('stress.claim_lines', code => 'code', group_by => '{claim_id}');
SQL
run_round "read committed" partitioned ddl

q -c "SELECT 1" >/dev/null && ok "server still answers" || not_ok "server still answers"
dropdb --if-exists "$db"
tap_plan
