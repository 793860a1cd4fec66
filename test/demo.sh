#!/usr/bin/env bash
# The demo: a throwaway PostgreSQL with cpt_rules installed, a claim-lines
# table enforcing the add-on rule, and a few claims.  Installs what is
# missing, and removes the cluster when done.
# Usage: test/demo.sh            (runs the scripted demo)
#        test/demo.sh --shell    (then leaves you in psql; quit to clean up)
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

ensure_packages "${BASE_PACKAGES[@]}"
build_and_install
start_cluster
echo "PostgreSQL $PG_MAJOR running in $PGTMP (port $PGPORT); it is removed on exit."

psql -X -q -v ON_ERROR_STOP=0 <<'SQL'
\set ECHO queries
CREATE EXTENSION cpt_rules;

-- The type: validated, canonical, 4 bytes, ordered like the code text.
SELECT ' g2212 '::cpt_code AS hcpcs, '0042t'::cpt_code AS cat_iii,
       cpt_code_set('20933') AS code_set, pg_column_size('20933'::cpt_code) AS bytes;
SELECT '209331'::cpt_code;

-- The rules: 20933 is an add-on; which primaries does it accept?
SELECT is_addon('20933') AS is_addon, aoc_type('20933') AS aoc_type,
       valid_pairing('20933', '27365') AS with_27365,
       valid_pairing('20933', '27365', '2018-06-01') AS before_2019;
SELECT string_agg(primary_code::text, ' ') AS primaries_of_20933 FROM addon_primaries('20933');

-- A claim-lines table that can never commit an add-on without its primary.
CREATE TABLE claim_lines (
	line_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	claim_id bigint NOT NULL,
	service_date date NOT NULL,
	hcpcs_code cpt_code NOT NULL
);
CREATE INDEX ON claim_lines (claim_id);
SELECT cpt_rules.enforce_addon_rule('claim_lines', code => 'hcpcs_code',
	group_by => '{claim_id}', service_date => 'service_date');

-- A good claim: the add-on may come first, the check runs at COMMIT.
BEGIN;
INSERT INTO claim_lines (claim_id, service_date, hcpcs_code) VALUES (1001, '2024-05-02', '20933');
INSERT INTO claim_lines (claim_id, service_date, hcpcs_code) VALUES (1001, '2024-05-02', '27365');
COMMIT;
-- An ordinary claim.
INSERT INTO claim_lines (claim_id, service_date, hcpcs_code)
VALUES (1002, '2024-05-02', '99213'), (1002, '2024-05-02', '36415');
-- A bad claim: 20933 beside an office visit only.  Rejected at COMMIT.
BEGIN;
INSERT INTO claim_lines (claim_id, service_date, hcpcs_code)
VALUES (1003, '2024-05-03', '99214'), (1003, '2024-05-03', '20933');
COMMIT;
-- Deleting the primary of a good claim is rejected too.
DELETE FROM claim_lines WHERE claim_id = 1001 AND hcpcs_code = '27365';

SELECT claim_id, string_agg(hcpcs_code::text, ' ' ORDER BY line_id) AS codes
  FROM claim_lines GROUP BY claim_id ORDER BY claim_id;
-- The audit finds nothing to complain about.
SELECT count(*) AS violations FROM cpt_rules.addon_rule_violations('claim_lines', 'hcpcs_code', '{claim_id}', 'service_date');
SQL

if [ "${1:-}" = "--shell" ]; then
	echo "Entering psql; \\q to stop and remove the cluster."
	psql -X
fi
