#!/usr/bin/env bash
# pg_dump/pg_restore (custom format) and a plain SQL dump through psql must
# restore an identical, enforcing database: cpt_code columns and indexes,
# rules the DBA added, changed and removed, payer pairs, the attached rules
# (add-on and MUE).
# Runs against the cluster of test/run_all.sh (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
. "$(dirname "$0")/../tap.sh"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for db in dr_src dr_custom dr_plain; do dropdb --if-exists "$db" 2>/dev/null; done
createdb dr_src

q dr_src >/dev/null <<'SQL' || { not_ok "source database set up"; tap_plan; exit 1; }
CREATE EXTENSION cpt_rules;
CREATE SCHEMA billing;
CREATE TABLE billing.claim_lines (
	line_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	claim_id bigint NOT NULL, service_date date NOT NULL, code cpt_code);
CREATE INDEX claim_lines_claim ON billing.claim_lines (claim_id);
CREATE INDEX claim_lines_code ON billing.claim_lines (code);
CREATE INDEX claim_lines_code_hash ON billing.claim_lines USING hash (code);
SELECT cpt_rules.enforce_addon_rule('billing.claim_lines', code => 'code',
	group_by => '{claim_id}', service_date => 'service_date');
-- the DBA's changes to the CMS edits, and payer pairs
INSERT INTO cpt_rules.aoc_edit (aoc_type, addon, primary_code, edit_effective, notes)
	VALUES (1, '20933', '27078', '2026-10-01', 'local addition');
UPDATE cpt_rules.aoc_edit SET edit_deleted = '2026-10-01' WHERE addon = '20933' AND primary_code = '27704';
DELETE FROM cpt_rules.aoc_edit WHERE addon = '20934' AND primary_code = '23210';
INSERT INTO cpt_rules.payer_pair (addon, primary_code, note) VALUES ('0054T', '27447', 'payer policy 12');
INSERT INTO billing.claim_lines (claim_id, service_date, code) VALUES
	(1, '2024-01-05', '27365'), (1, '2024-01-05', '20933'),
	(2, '2026-11-01', '27078'), (2, '2026-11-01', '20933'),
	(3, '2024-02-01', '27447'), (3, '2024-02-01', '0054T'),
	(4, '2024-02-01', '99213'), (4, '2024-02-01', NULL);
SET client_min_messages = warning;
-- a warehouse's text codes, junk among them, under a rule enforced NOT
-- VALID over a line that breaks it: restored NOT VALID, the line with it
CREATE TABLE billing.medical_claim (claim_id text, claim_line_start_date date, hcpcs_code text);
CREATE INDEX ON billing.medical_claim (claim_id);
INSERT INTO billing.medical_claim VALUES ('A', '2024-01-05', ' 27365'), ('A', '2024-01-05', '20933 '),
	('B', '2024-01-05', 'XXXXX'), ('B', '2024-01-05', '20933'), ('C', '2024-01-05', '0450');
SELECT cpt_rules.enforce_addon_rule('billing.medical_claim', code => 'hcpcs_code',
	group_by => '{claim_id}', service_date => 'claim_line_start_date', validate => false);
-- an MUE rule beside them, on all three indicators, its units column renamed since
CREATE TABLE billing.service_lines (patient int, npi text, dos date, code cpt_code, units numeric);
CREATE INDEX ON billing.service_lines (patient, npi);
INSERT INTO billing.service_lines VALUES (1, 'A', '2026-08-03', '27447', 1), (1, 'A', '2026-08-03', '99213', 2);
SELECT cpt_rules.enforce_mue_rule('billing.service_lines', code => 'code', units => 'units',
	group_by => '{patient,npi}', service_date => 'dos', indicators => '{1,2,3}', constraint_name => 'service_mue');
ALTER TABLE billing.service_lines RENAME COLUMN units TO unit_count;
SQL

# an MUE table loaded from CMS's CSV for a later quarter: dumped, restored beside the shipped one
mue_csv=$(cd "$(dirname "$0")/../data" && pwd)/MCR_MUE_PractitionerServices_excerpt_Eff_07-01-2026.csv
q dr_src >/dev/null <<SQL || not_ok "an MUE table loaded into the source database"
SET client_min_messages = warning;
CREATE TEMP TABLE mue_in (LIKE cpt_rules.cms_mue_file);
\copy mue_in FROM '$mue_csv' WITH (FORMAT csv, ENCODING 'LATIN1')
UPDATE mue_in SET mue_value = '3' WHERE hcpcs_code = '99213';
SELECT count(*) FROM cpt_rules.refresh_mue_edits('mue_in', 'practitioner', '2026-10-01', allow_shrink => true);
SQL

# a PTP quarter loaded from CMS's file (an excerpt): dumped, restored, looked up
ptp_txt=$(cd "$(dirname "$0")/../data" && pwd)/ccipra-v322r0-f1.excerpt.txt
q dr_src >/dev/null <<SQL || not_ok "a PTP quarter loaded into the source database"
SET client_min_messages = warning;
CREATE TEMP TABLE ptp_in (LIKE cpt_rules.cms_ptp_file);
\copy ptp_in FROM '$ptp_txt' WITH (FORMAT csv, DELIMITER E'\t', ENCODING 'LATIN1')
SELECT count(*) FROM cpt_rules.refresh_ptp_edits('ptp_in', 'practitioner', '2026-07-01');
SQL

snapshot() {
	q "$1" <<'SQL'
SELECT 'edit', aoc_type, addon, primary_code, edit_effective, edit_deleted, notes FROM cpt_rules.aoc_edit
 ORDER BY 2, 3, 4, 5;
SELECT 'payer', addon, primary_code, effective, deleted, note FROM cpt_rules.payer_pair ORDER BY 2, 3;
SELECT 'line', line_id, claim_id, service_date, code FROM billing.claim_lines ORDER BY line_id;
SELECT 'trigger', tgname, pg_get_triggerdef(oid) FROM pg_trigger
 WHERE tgrelid IN ('billing.claim_lines'::regclass, 'billing.medical_claim'::regclass) ORDER BY tgname;
SELECT 'rule', table_name, rule_name, code_column, enabled, validated FROM cpt_rules.enforced_rules ORDER BY 2, 3;
SELECT 'mue rule', table_name, rule_name, code_column, units_column, service_date_column, group_by, setting,
	   indicators, enabled FROM cpt_rules.enforced_mue_rules ORDER BY 2, 3;
SELECT 'mue trigger', tgname, pg_get_triggerdef(oid) FROM pg_trigger
 WHERE tgrelid = 'billing.service_lines'::regclass ORDER BY tgname;
SELECT 'service line', patient, npi, dos, code, unit_count FROM billing.service_lines ORDER BY 2, 3, 4, 5;
SELECT 'text line', claim_id, hcpcs_code FROM billing.medical_claim ORDER BY 2, 3;
SELECT 'index', indexrelid::regclass, pg_get_indexdef(indexrelid) FROM pg_index
 WHERE indrelid = 'billing.claim_lines'::regclass ORDER BY 2::text;
SELECT 'lookup', valid_pairing('20933', '27078', '2026-10-01'), valid_pairing('20933', '27704', '2026-10-01'),
       valid_pairing('20934', '23210'), valid_pairing('0054T', '27447');
SELECT 'mue quarter', setting, effective, ends, source, codes FROM cpt_rules.mue_quarter ORDER BY 2, 3;
SELECT 'mue', d, m.* FROM unnest('{2026-09-30,2026-10-01}'::date[]) d, cpt_rules.mue('99213', d) m;
SELECT 'mue codes', count(*) FROM cpt_rules.mue_edit;
SELECT 'ptp quarter', program, setting, effective, edits FROM cpt_rules.ptp_quarter ORDER BY 2, 3, 4;
SELECT 'ptp', md5(string_agg(e::text, ',' ORDER BY e::text)) FROM cpt_rules.ptp_edit e;
SELECT 'ptp lookup', p.* FROM cpt_rules.ptp('99213', '0001A', '2023-06-01') p;
SQL
}
snapshot dr_src >"$work/src.txt"

# An orphan add-on must be rejected, a valid claim accepted.
enforcing() {
	local db=$1 out
	out=$(psql -X -q -d "$db" -v ON_ERROR_STOP=1 -v VERBOSITY=verbose \
		-c "INSERT INTO billing.claim_lines (claim_id, service_date, code) VALUES (99, '2024-03-01', '20933')" 2>&1)
	grep -q "23514" <<<"$out" || grep -q "has no eligible primary code" <<<"$out" || return 1
	q "$db" -c "BEGIN; INSERT INTO billing.claim_lines (claim_id, service_date, code) VALUES (98, '2024-03-01', '20933'), (98, '2024-03-01', '27645'); ROLLBACK;" >/dev/null || return 1
	# the NOT VALID rule on text codes checks new writes, and its validation finds the stored line
	out=$(psql -X -q -d "$db" -c "INSERT INTO billing.medical_claim VALUES ('Z', '2024-03-01', '20933')" 2>&1)
	grep -q "has no eligible primary code" <<<"$out" || return 1
	out=$(psql -X -q -d "$db" -c "SELECT cpt_rules.validate_addon_rule('billing.medical_claim')" 2>&1)
	grep -q "table billing.medical_claim has 1 add-on line(s) without an eligible primary code" <<<"$out" || return 1
	# the MUE rule: a second 27447 (indicator 2) and a third unit of 99213 (indicator 3) are refused, another day is not
	out=$(psql -X -q -d "$db" -c "INSERT INTO billing.service_lines VALUES (1, 'A', '2026-08-03', '27447', 1)" 2>&1)
	grep -q "code 27447 is billed for 2 units on .* over its MUE of 1" <<<"$out" || return 1
	out=$(psql -X -q -d "$db" -c "INSERT INTO billing.service_lines VALUES (1, 'A', '2026-08-03', '99213', NULL)" 2>&1)
	grep -q "code 99213 is billed for 3 units on .* over its MUE of 2" <<<"$out" || return 1
	q "$db" -c "BEGIN; INSERT INTO billing.service_lines VALUES (1, 'A', '2026-08-04', '27447', 1); ROLLBACK;" >/dev/null
}

pg_dump -Fc -f "$work/db.dump" dr_src && ok "pg_dump -Fc" || not_ok "pg_dump -Fc"
createdb dr_custom
pg_restore --exit-on-error -d dr_custom "$work/db.dump" && ok "pg_restore" || not_ok "pg_restore"
snapshot dr_custom >"$work/custom.txt"
check "custom-format restore has identical rules, lines, indexes and triggers" diff -u "$work/src.txt" "$work/custom.txt"
check "custom-format restore enforces the rule" enforcing dr_custom

pg_dump -Fp -f "$work/db.sql" dr_src && ok "pg_dump plain" || not_ok "pg_dump plain"
createdb dr_plain
psql -X -q -v ON_ERROR_STOP=1 -d dr_plain -f "$work/db.sql" >/dev/null && ok "plain dump restores through psql" ||
	not_ok "plain dump restores through psql"
snapshot dr_plain >"$work/plain.txt"
check "plain restore has identical rules, lines, indexes and triggers" diff -u "$work/src.txt" "$work/plain.txt"
check "plain restore enforces the rule" enforcing dr_plain
check "the source enforces the rule too" enforcing dr_src
# holds_difference DUMP: the DBA's changes are in it, the shipped rows are not
holds_difference() { [ "$(grep -c 'aoc_edit_shipped' "$1")" -le 12 ] && grep -q 'local addition' "$1"; }
check "the dump holds the rule difference, not the shipped baseline" holds_difference "$work/db.sql"

# Across versions: the run on 15 leaves its dump and what it restores to in
# $CPT_RULES_CROSS_DIR; the runs on 17 and 18 (test/run_all.sh --all-versions,
# which carries the directory into their roots) restore it and compare.
cross=${CPT_RULES_CROSS_DIR:-/var/tmp/cpt_rules-cross}
major=$(q dr_src -c "SELECT current_setting('server_version_num')::int / 10000")
if [ "$major" = 15 ]; then
	mkdir -p "$cross" && cp "$work/db.dump" "$cross/pg15.dump" && cp "$work/src.txt" "$cross/pg15.txt" &&
		ok "the PostgreSQL 15 dump is kept for the other versions' runs" ||
		not_ok "keep the PostgreSQL 15 dump in $cross"
elif [ -f "$cross/pg15.dump" ]; then
	dropdb --if-exists dr_cross 2>/dev/null; createdb dr_cross
	pg_restore --exit-on-error -d dr_cross "$cross/pg15.dump" && ok "a PostgreSQL 15 dump restores into $major" ||
		not_ok "a PostgreSQL 15 dump restores into $major"
	snapshot dr_cross >"$work/cross.txt"
	check "... with identical rules, lines, indexes and triggers" diff -u "$cross/pg15.txt" "$work/cross.txt"
	check "... and enforces the rule" enforcing dr_cross
	dropdb --if-exists dr_cross
else
	echo "# no PostgreSQL 15 dump in $cross: run test/run_all.sh --all-versions for the cross-version restore"
fi

for db in dr_src dr_custom dr_plain; do dropdb --if-exists "$db"; done
tap_plan
