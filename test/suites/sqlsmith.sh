#!/usr/bin/env bash
# Random SQL (sqlsmith) against a database holding the extension, a claims
# table with the rule attached and some claims.  The server must survive:
# still answering afterwards and no backend "terminated by signal" in its log.
# Reproducible: fixed seed and query count (SQLSMITH_SEED, SQLSMITH_QUERIES).
set -uo pipefail
. "$(dirname "$0")/../tap.sh"
seed=${SQLSMITH_SEED:-20933}
queries=${SQLSMITH_QUERIES:-20000}
db=sqlsmith_target
log=${PGTMP:-}/server.log

dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL' || { not_ok "set up"; tap_plan; exit 1; }
CREATE EXTENSION cpt_rules;
ALTER DATABASE sqlsmith_target SET statement_timeout = '1s';
CREATE TABLE claim_lines (
	line_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	claim_id bigint NOT NULL, service_date date, code cpt_code, units int);
CREATE INDEX ON claim_lines (claim_id);
CREATE INDEX ON claim_lines USING hash (code);
SELECT cpt_rules.enforce_addon_rule('claim_lines', code => 'code', group_by => '{claim_id}',
	service_date => 'service_date');
INSERT INTO claim_lines (claim_id, service_date, code, units)
SELECT c, date '2024-01-01' + c % 365,
       (ARRAY['99213','27365','20933','99291','99292','G2212','99215','0054T','36415',NULL])[1 + (c * 3 + l) % 10]::cpt_code, l
  FROM generate_series(1, 300) c, generate_series(1, 4) l
 WHERE (c * 3 + l) % 10 NOT IN (2, 4, 5, 7);  -- keep out add-ons without primaries
INSERT INTO claim_lines (claim_id, service_date, code) VALUES (1000, '2024-03-01', '27365'), (1000, '2024-03-01', '20933');
CREATE TABLE codes AS SELECT DISTINCT code FROM claim_lines;
SQL

before=$(grep -c "terminated by signal" "$log" 2>/dev/null || true)
out=$(mktemp)
timeout 900 sqlsmith --target="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$db" \
	--seed="$seed" --max-queries="$queries" --exclude-catalog --verbose >"$out" 2>&1
rc=$?
tr '\r' '\n' <"$out" | grep -v '^$' | tail -4 | sed 's/^/# /'
rm -f "$out"
if [ $rc -eq 0 ]; then ok "sqlsmith ran $queries queries (seed $seed)"; else not_ok "sqlsmith exited with $rc"; fi
if psql -X -At -d "$db" -c "SELECT 1" >/dev/null 2>&1; then ok "server still answers"; else not_ok "server still answers"; fi
after=$(grep -c "terminated by signal" "$log" 2>/dev/null || true)
if [ -z "${PGTMP:-}" ] || [ ! -f "$log" ]; then
	not_ok "server log not found (run through test/run_all.sh)"
elif [ "${after:-0}" -eq "${before:-0}" ]; then
	ok "no backend terminated by a signal"
else
	not_ok "a backend was terminated by a signal"; grep -B3 -A3 "terminated by signal" "$log" | sed 's/^/# /'
fi
violations=$(psql -X -At -d "$db" -c "SELECT count(*) FROM cpt_rules.addon_rule_violations('claim_lines', 'code', '{claim_id}', 'service_date')")
if [ "$violations" = 0 ]; then ok "no committed violation after the random statements"; else not_ok "$violations committed violations"; fi
dropdb --if-exists "$db"
tap_plan
