#!/usr/bin/env bash
# Upgrade paths: CREATE EXTENSION at an old version, populate, ALTER EXTENSION
# UPDATE (at once, or one version at a time).
# Data, rules and triggers must keep working, and the upgraded extension
# must be indistinguishable from a fresh install of the new version.
# Runs against the cluster of test/run_all.sh (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
. "$(dirname "$0")/../tap.sh"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

latest=$(sed -n "s/^default_version = '\(.*\)'/\1/p" cpt_rules.control)

# Every member object of the extension, with its definition and privileges.
describe() {
	q "$1" <<'SQL'
WITH members AS (
	SELECT d.classid, d.objid, d.objsubid FROM pg_depend d
	 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
	   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'cpt_rules'))
SELECT pg_describe_object(m.classid, m.objid, m.objsubid) || ' | ' ||
	coalesce(CASE m.classid
		WHEN 'pg_proc'::regclass THEN (SELECT concat_ws(' ', CASE WHEN p.prokind = 'a' THEN
				(SELECT concat_ws(' ', a.aggtransfn, a.aggcombinefn, a.aggsortop::regoperator) FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
				ELSE pg_get_functiondef(p.oid) END, p.provolatile,
				p.proparallel, p.proisstrict, p.proleakproof, p.proacl) FROM pg_proc p WHERE p.oid = m.objid)
		WHEN 'pg_class'::regclass THEN (SELECT concat_ws(' ', c.relkind, c.relacl,
				CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END,
				CASE WHEN c.relkind = 'i' THEN pg_get_indexdef(c.oid) END,
				(SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull
								   || coalesce(' ' || pg_get_expr(ad.adbin, ad.adrelid), ''), ', ' ORDER BY a.attnum)
				   FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
				  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
				(SELECT string_agg(co.conname || ' ' || pg_get_constraintdef(co.oid), ', ' ORDER BY co.conname)
				   FROM pg_constraint co WHERE co.conrelid = c.oid),
				(SELECT string_agg(pg_get_triggerdef(t.oid), ', ' ORDER BY t.tgname)
				   FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal),
				obj_description(c.oid, 'pg_class'))
			FROM pg_class c WHERE c.oid = m.objid)
		WHEN 'pg_type'::regclass THEN (SELECT concat_ws(' ', t.typlen, t.typbyval, t.typalign, t.typstorage,
				t.typinput, t.typoutput, t.typreceive, t.typsend) FROM pg_type t WHERE t.oid = m.objid)
		WHEN 'pg_operator'::regclass THEN (SELECT concat_ws(' ', o.oprcode, o.oprrest, o.oprjoin, o.oprcanhash,
				o.oprcanmerge, o.oprcom::regoperator, o.oprnegate::regoperator) FROM pg_operator o WHERE o.oid = m.objid)
		WHEN 'pg_opfamily'::regclass THEN (SELECT concat_ws(' ',
				(SELECT string_agg(p.amprocnum || ':' || p.amproc::regprocedure, ',' ORDER BY p.amprocnum)
				   FROM pg_amproc p WHERE p.amprocfamily = m.objid),
				(SELECT string_agg(o.amopstrategy || ':' || o.amopopr::regoperator, ',' ORDER BY o.amopstrategy)
				   FROM pg_amop o WHERE o.amopfamily = m.objid)))
		WHEN 'pg_namespace'::regclass THEN (SELECT n.nspacl::text FROM pg_namespace n WHERE n.oid = m.objid)
	END, '')
  FROM members m ORDER BY 1;
SELECT 'config ' || c::regclass || ' ' || coalesce(f, '')
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(c, f)
 WHERE e.extname = 'cpt_rules' ORDER BY 1;
SQL
}

dropdb --if-exists up_new 2>/dev/null; createdb up_new
q up_new -c "CREATE EXTENSION cpt_rules" && ok "a fresh CREATE EXTENSION installs $latest" || not_ok "fresh CREATE EXTENSION"
describe up_new >"$work/fresh.txt"

state() {
	q "$1" <<'SQL'
SELECT 'edit', count(*), md5(string_agg(e::text, ',' ORDER BY e::text)) FROM cpt_rules.aoc_edit e;
SELECT 'payer', addon, primary_code FROM cpt_rules.payer_pair ORDER BY 2, 3;
SELECT 'line', line_id, claim_id, service_date, code FROM claim_lines ORDER BY 1;
SELECT 'lookup', valid_pairing('20934', '23210'), valid_pairing('0054T', '27447'), is_addon('20933');
SQL
}

# What the checks below ask of the database DB (and, where named, of
# versions FROM and TO).
at_version() { # at_version DB VERSION
	[ "$(q "$1" -c "SELECT extversion FROM pg_extension WHERE extname = 'cpt_rules'")" = "$2" ]
}
rules_kept() {
	[ "$(q "$1" -c "SELECT string_agg(format('%s %s %s %s %s %s %s', table_name, rule_name, code_column, group_by, service_date_column, enabled, legacy), '; ' ORDER BY 1) FROM cpt_rules.enforced_rules")" = 'claim_lines claim_lines_addon_rule code {claim_id} service_date t f; paused paused_addon_rule code {claim_id}  f f' ]
}
orphan_rejected() {
	! q "$1" -c "INSERT INTO claim_lines (claim_id, service_date, code) VALUES (9, '2024-03-01', '20933')" 2>/dev/null
}
rule_follows_rename() {
	q "$1" -c 'ALTER TABLE claim_lines RENAME COLUMN code TO hcpcs' &&
		! q "$1" -c "INSERT INTO claim_lines (claim_id, service_date, hcpcs) VALUES (11, '2024-03-01', '20933')" 2>/dev/null &&
		q "$1" -c 'ALTER TABLE claim_lines RENAME COLUMN hcpcs TO code'
}
audit_clean() {
	[ "$(q "$1" -c "SELECT count(*) FROM cpt_rules.addon_rule_violations('claim_lines', 'code', '{claim_id}', 'service_date')")" = 0 ]
}
update_path_exists() { # update_path_exists DB FROM TO
	q "$1" -c "SELECT 1 FROM pg_extension_update_paths('cpt_rules') WHERE source = '$2' AND target = '$3' AND path IS NOT NULL" | grep -q 1
}
both_kinds() { # an MUE rule beside an add-on rule on one table: each refuses its own violations
	q "$1" -c "CREATE TABLE both_kinds (claim_id int, patient int, dos date, code cpt_code, units int)" \
		-c "CREATE INDEX ON both_kinds (claim_id)" -c "CREATE INDEX ON both_kinds (patient)" \
		-c "SELECT cpt_rules.enforce_addon_rule('both_kinds', 'code', '{claim_id}', 'dos')" \
		-c "SELECT cpt_rules.enforce_mue_rule('both_kinds', 'code', 'units', '{patient}', 'dos')" >/dev/null &&
		q "$1" -c "INSERT INTO both_kinds VALUES (1, 1, '2026-08-03', '27447', 1)" &&
		! q "$1" -c "INSERT INTO both_kinds VALUES (2, 1, '2026-08-03', '27447', 1)" 2>/dev/null &&
		! q "$1" -c "INSERT INTO both_kinds VALUES (3, 2, '2026-08-03', '20933', 1)" 2>/dev/null &&
		q "$1" -c "INSERT INTO both_kinds VALUES (4, 3, '2026-08-03', '20933', 1), (4, 3, '2026-08-03', '27365', 1)" &&
		q "$1" -c "DROP TABLE both_kinds"
}
cms_date_immutable() {
	! q "$1" -c "SELECT prosrc FROM pg_proc WHERE proname = 'cms_date'" | grep -q to_date
}

# upgrade_path FROM [STEP...]: a database made at FROM, updated through each STEP
# (none: straight to the latest), must behave and look like a fresh install.
upgrade_path() {
	local from=$1; shift
	local path="$from -> ${*:-$latest}" db=up_old
	dropdb --if-exists $db 2>/dev/null; createdb $db
	q $db >/dev/null <<SQL || { not_ok "$path: populate a $from database"; return; }
CREATE EXTENSION cpt_rules VERSION '$from';
CREATE TABLE claim_lines (line_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	claim_id bigint NOT NULL, service_date date NOT NULL, code cpt_code);
CREATE INDEX ON claim_lines (claim_id);
CREATE INDEX ON claim_lines (code);
SELECT cpt_rules.enforce_addon_rule('claim_lines', code => 'code', group_by => '{claim_id}',
	service_date => 'service_date');
CREATE TABLE paused (claim_id bigint, code cpt_code);
SELECT cpt_rules.enforce_addon_rule('paused', code => 'code', group_by => '{claim_id}');
ALTER TABLE paused DISABLE TRIGGER USER;
INSERT INTO cpt_rules.payer_pair (addon, primary_code) VALUES ('0054T', '27447');
DELETE FROM cpt_rules.aoc_edit WHERE addon = '20934' AND primary_code = '23210';
INSERT INTO claim_lines (claim_id, service_date, code) VALUES
	(1, '2024-01-05', '27365'), (1, '2024-01-05', '20933'),
	(2, '2024-02-01', '27447'), (2, '2024-02-01', '0054T'), (3, '2024-02-01', '99213');
SQL
	ok "$path: populate a database at version $from"
	state $db >"$work/before.txt"
	if [ $# -eq 0 ]; then
		q $db -c "ALTER EXTENSION cpt_rules UPDATE" 2>"$work/update.err" && ok "$path: ALTER EXTENSION cpt_rules UPDATE" ||
			{ not_ok "$path: ALTER EXTENSION cpt_rules UPDATE"; sed 's/^/# /' "$work/update.err"; }
	else
		for step in "$@"; do
			q $db -c "ALTER EXTENSION cpt_rules UPDATE TO '$step'" 2>"$work/update.err" && ok "$path: UPDATE TO '$step'" ||
				{ not_ok "$path: UPDATE TO '$step'"; sed 's/^/# /' "$work/update.err"; }
		done
	fi
	check "$path: the extension is at version $latest" at_version $db "$latest"
	state $db >"$work/after.txt"
	check "$path: data, rules and payer pairs are unchanged by the update" diff -u "$work/before.txt" "$work/after.txt"
	check "$path: each rule keeps its name, columns and state, now bound by column number" rules_kept $db
	check "$path: after the update an orphan add-on is still rejected" orphan_rejected $db
	check "$path: after the update a valid claim is still accepted" \
		q $db -c "INSERT INTO claim_lines (claim_id, service_date, code) VALUES (10, '2024-03-01', '99292'), (10, '2024-03-01', '99291')"
	check "$path: after renaming the columns the rule follows them" rule_follows_rename $db
	check "$path: after the update the audit is clean" audit_clean $db
	check "$path: after the update an MUE rule works beside an add-on rule on one table" both_kinds $db
	if ! describe $db >"$work/upgraded.txt" || [ "$(wc -l <"$work/fresh.txt")" -lt 100 ]; then
		not_ok "$path: describe the extension's objects"
	elif diff -u "$work/fresh.txt" "$work/upgraded.txt" >"$work/diff.txt"; then
		ok "$path: the updated extension has exactly the objects, definitions and privileges of a fresh $latest ($(wc -l <"$work/fresh.txt") objects)"
	else
		not_ok "$path: the updated extension differs from a fresh $latest"; head -40 "$work/diff.txt" | sed 's/^/# /'
	fi
	check "$path: an update path leads from $from to $latest" update_path_exists $db "$from" "$latest"
	check "$path: cms_date is truthfully immutable (no stable to_date inside)" cms_date_immutable $db
}

upgrade_path 1.0
upgrade_path 1.0 1.1 1.2 1.3 1.4 1.5 "$latest"
upgrade_path 1.1
upgrade_path 1.2
upgrade_path 1.3
upgrade_path 1.4
upgrade_path 1.5

# Leaving: drop the rules and convert the columns, and DROP EXTENSION leaves
# every table and row in place; without that it is refused.
db=up_old
drop_refused() { ! q "$1" -c 'DROP EXTENSION cpt_rules' 2>/dev/null; }
drop_leaves_rows() {
	q "$1" -c "SELECT cpt_rules.drop_addon_rule(r.table_name, r.rule_name) FROM cpt_rules.enforced_rules r" >/dev/null &&
		q "$1" -c 'ALTER TABLE claim_lines ALTER COLUMN code TYPE text' -c 'ALTER TABLE paused ALTER COLUMN code TYPE text' &&
		q "$1" -c 'DROP EXTENSION cpt_rules' && [ "$(q "$1" -c 'SELECT count(*) FROM claim_lines')" = 7 ]
}
check "DROP EXTENSION is refused while a rule and cpt_code columns exist" drop_refused $db
check "after drop_addon_rule and converting the columns, DROP EXTENSION leaves the rows" drop_leaves_rows $db

# The version lives in cpt_rules.control; what cannot be derived from it
# (Debian's changelog, the README's prose) must agree with it.
changelog_at() { head -1 debian/changelog | grep -q "($1-"; }
check "debian/changelog's upstream version is the control file's ($latest)" changelog_at "$latest"
check "the README names the current version" grep -q "The current version is $latest" README.md

for db in up_old up_new; do dropdb --if-exists "$db"; done
tap_plan
