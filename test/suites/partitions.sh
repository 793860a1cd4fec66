#!/usr/bin/env bash
# A rule on a table of 1000 daily partitions, as a DBA keeping three years
# of claims would have it: what a backend holds and locks, and the rule
# still exact while other sessions attach, detach and index partitions.
# Runs against the cluster of test/run_all.sh (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
. "$(dirname "$0")/../tap.sh"
db=partitions_suite
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
# sqlstate SQL: the SQLSTATE the statements fail with, or "ok"
sqlstate() {
	local out
	if out=$(psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$db" -c "$1" 2>&1); then
		echo ok
	else
		sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' <<<"$out" | head -1
	fi
}
is() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want '$3')"; fi; }

P=1000
dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
q -c "CREATE EXTENSION cpt_rules"
q -c "CREATE TABLE claims (claim_id bigint NOT NULL, line int NOT NULL,
		service_date date NOT NULL, code cpt_code) PARTITION BY RANGE (service_date)"
q -c "DO \$\$ BEGIN
		FOR d IN 0..$((P - 1)) LOOP
			EXECUTE format('CREATE TABLE %I PARTITION OF claims FOR VALUES FROM (%L) TO (%L)',
				'claims_' || d, DATE '2024-01-01' + d, DATE '2024-01-01' + d + 1);
		END LOOP; END \$\$"
q -c "CREATE INDEX ON claims (claim_id)"
q -c "SELECT cpt_rules.enforce_addon_rule('claims', code => 'code', group_by => '{claim_id}',
		service_date => 'service_date')" >/dev/null

# One fresh backend, one claim (primary beside its add-on) into each partition.
load=$(mktemp)
trap 'rm -f "$load"' EXIT
{
	for d in $(seq 0 $((P - 1))); do
		echo "INSERT INTO claims VALUES ($d, 1, DATE '2024-01-01' + $d, '23210'), ($d, 2, DATE '2024-01-01' + $d, '20933');"
	done
	echo "SELECT round(sum(total_bytes) / 1048576.0, 1) || ' ' ||"
	echo "       round(coalesce(sum(total_bytes) FILTER (WHERE name LIKE 'cpt_rules%'), 0) / 1048576.0, 1)"
	echo "  FROM pg_backend_memory_contexts;"
} >"$load"
read -r total ours < <(q -f "$load" | tail -1)
is "all $P claims loaded" "$(q -c "SELECT count(*) FROM claims")" $((2 * P))
check "a backend that wrote into $P partitions holds at most 32 MB (holds $total MB)" \
	awk -v m="$total" 'BEGIN { exit !(m ~ /^[0-9.]+$/ && m + 0 <= 32) }'
check "the rule's own state for $P partitions is at most 4 MB (is $ours MB)" \
	awk -v m="$ours" 'BEGIN { exit !(m ~ /^[0-9.]+$/ && m + 0 <= 4) }'

# A check that finds the primary in the add-on's own partition opens no other.
locked=$(q -c "BEGIN" -c "INSERT INTO claims VALUES (5000, 1, '2024-06-01', '23210'), (5000, 2, '2024-06-01', '20933')" \
	-c "SET CONSTRAINTS ALL IMMEDIATE" \
	-c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		 WHERE l.pid = pg_backend_pid() AND c.relname LIKE 'claims\_%' AND c.relkind = 'r'" -c "ROLLBACK" | tail -1)
is "a claim checked in its own partition locks only that partition" "$locked" 1

# The rule across partitions, in a backend whose state is warm.
is "a claim spanning two days is accepted" \
	"$(sqlstate "INSERT INTO claims VALUES (7000, 1, '2024-03-02', '23210'), (7000, 2, '2024-03-01', '20933')")" ok
is "a lone add-on is refused" \
	"$(sqlstate "INSERT INTO claims VALUES (7001, 1, '2025-03-01', '20933')")" 23514
is "deleting the primary of a claim spanning two days is refused" \
	"$(sqlstate "DELETE FROM claims WHERE claim_id = 7000 AND line = 1")" 23514

# Another session changes the tree under a warm backend (one psql, many statements).
warm=$(psql -X -q -At -d "$db" -v VERBOSITY=verbose 2>&1 <<'SQL'
\set ON_ERROR_STOP 0
INSERT INTO claims VALUES (8000, 1, '2024-02-01', '23210'), (8000, 2, '2024-02-01', '20933');
\! psql -X -q -d partitions_suite -c "DROP INDEX claims_claim_id_idx"
INSERT INTO claims VALUES (8001, 1, '2024-02-03', '23210'), (8001, 2, '2024-02-02', '20933');
INSERT INTO claims VALUES (8002, 2, '2024-02-02', '20933');
\! psql -X -q -d partitions_suite -c "CREATE INDEX ON claims_31 (claim_id)"
\! psql -X -q -d partitions_suite -c "CREATE TABLE claims_new (LIKE claims)" -c "INSERT INTO claims_new VALUES (8003, 1, '2027-01-01', '23210')" -c "ALTER TABLE claims ATTACH PARTITION claims_new FOR VALUES FROM ('2027-01-01') TO ('2027-02-01')"
INSERT INTO claims VALUES (8003, 2, '2024-02-02', '20933');
CREATE TEMP TABLE scratch (x int);
DELETE FROM claims WHERE claim_id = 8003 AND line = 1;
SELECT 'count ' || count(*) FROM claims WHERE claim_id BETWEEN 8000 AND 8003;
SQL
)
# accepted: 8000, 8001 (spanning, after the index went), 8003 (its primary in
# the attached partition); refused: the lone 8002, deleting 8003's primary
is "with the tree changed by another session, the right statements are refused" \
	"$(grep -c 'ERROR:  23514' <<<"$warm")" 2
is "with the tree changed by another session, the right lines are kept" \
	"$(grep '^count' <<<"$warm")" "count 6"
# A warm backend's partition state after the group column is renamed twice:
# the state of the old names is given back, not kept beside the new.
sets=$(psql -X -q -At -d "$db" 2>&1 <<'SQL'
\set ON_ERROR_STOP 1
INSERT INTO claims VALUES (9000, 1, '2024-05-01', '23210'), (9000, 2, '2024-05-02', '20933');
SELECT 'before ' || sum(total_bytes) FROM pg_backend_memory_contexts WHERE name = 'cpt_rules partition set';
ALTER TABLE claims RENAME COLUMN claim_id TO claim_no;
INSERT INTO claims VALUES (9001, 1, '2024-05-01', '23210'), (9001, 2, '2024-05-02', '20933');
ALTER TABLE claims RENAME COLUMN claim_no TO claim_id;
INSERT INTO claims VALUES (9002, 1, '2024-05-01', '23210'), (9002, 2, '2024-05-02', '20933');
SELECT 'after ' || sum(total_bytes) FROM pg_backend_memory_contexts WHERE name = 'cpt_rules partition set';
SQL
)
before=$(sed -n 's/^before //p' <<<"$sets")
after=$(sed -n 's/^after //p' <<<"$sets")
# held_once: after two renames, at most half again what one set held
held_once() { [ -n "$before" ] && [ -n "$after" ] && [ "$after" -le $((before * 3 / 2)) ]; }
check "after two renames a backend holds the partition state once ($before bytes before, $after after)" held_once

# audit_clean: the audit finds no add-on without its primary
audit_clean() {
	[ "$(q -c "SELECT count(*) FROM cpt_rules.addon_rule_violations('claims', 'code', '{claim_id}', 'service_date')")" = 0 ]
}
check "the rule's tables audit clean" audit_clean

dropdb "$db"
tap_plan
