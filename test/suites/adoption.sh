#!/usr/bin/env bash
# The README's adoption path, run as written: its SQL blocks (marked
# "adoption: survey" and "adoption: validate") are taken from README.md
# and run against a Tuva-shaped medical_claim table whose text codes hold
# revenue codes, blanks, XXXXX and lower case, with claims that break the
# rule by claim and by encounter.  Then the progress NOTICEs of a long
# validation.  Runs against the cluster of test/run_all.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/tap.sh

db=adoption_suite
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists "$db" 2>/dev/null' EXIT
dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

# block NAME: the SQL block that follows the README's marker "adoption: NAME"
block() {
	awk -v marker="<!-- adoption: $1 -->" '
		$0 == marker { want = 1; next }
		want && /^```sql$/ { inside = 1; next }
		inside && /^```$/ { exit }
		inside { print }' README.md
}
block survey >"$work/survey.sql"
block validate >"$work/validate.sql"
has_sql() { [ -s "$1" ] && grep -q "cpt_rules\." "$1"; }
check "the README has the survey block" has_sql "$work/survey.sql"
check "the README has the validation block" has_sql "$work/validate.sql"

q >/dev/null <<'SQL' || { not_ok "medical_claim set up"; tap_plan; exit 1; }
CREATE EXTENSION cpt_rules;
-- the Tuva Project's medical_claim, the columns the rules read and a few more
CREATE TABLE medical_claim (
	claim_id text, claim_line_number int, claim_type text, person_id text, member_id text,
	rendering_npi text, billing_npi text, claim_line_start_date date, claim_line_end_date date,
	place_of_service_code text, revenue_center_code text, service_unit_quantity numeric,
	hcpcs_code text, hcpcs_modifier_1 text, hcpcs_modifier_2 text, hcpcs_modifier_3 text,
	hcpcs_modifier_4 text, hcpcs_modifier_5 text, paid_amount numeric);
-- 2,000 claims of 5 lines: a primary and 20933 in one claim in four, junk
-- and lower case among the rest
INSERT INTO medical_claim (claim_id, claim_line_number, claim_type, person_id, member_id, rendering_npi,
						   claim_line_start_date, claim_line_end_date, hcpcs_code, service_unit_quantity)
SELECT 'C' || c, l, 'professional', 'P' || (c % 700), 'M' || (c % 700), 'N' || (c % 40),
	   DATE '2026-07-01' + c % 60, DATE '2026-07-01' + c % 60,
	   CASE WHEN c % 4 = 0 AND l = 1 THEN (ARRAY['27365', ' 27365', '23210'])[1 + c % 3]
			WHEN c % 4 = 0 AND l = 2 THEN (ARRAY['20933', '20933 '])[1 + c % 2]
			ELSE (ARRAY['99213', '0450', 'XXXXX', '', 'j3490', 'g0008', '36415', NULL])[1 + (c * 5 + l) % 8] END,
	   1
  FROM generate_series(1, 2000) c, generate_series(1, 5) l;
-- breaking the rule by claim: a lone add-on, and one beside a junk "primary"
INSERT INTO medical_claim (claim_id, claim_line_number, person_id, rendering_npi, claim_line_start_date, hcpcs_code)
VALUES ('BAD1', 1, 'Q1', 'N1', '2026-08-01', '20933'),
	   ('BAD2', 1, 'Q2', 'N1', '2026-08-01', '2736X'), ('BAD2', 2, 'Q2', 'N1', '2026-08-01', ' 20933'),
-- and by encounter only: the primary is on the same claim, billed by another practitioner
	   ('BAD3', 1, 'Q3', 'N1', '2026-08-01', '27365'), ('BAD3', 2, 'Q3', 'N2', '2026-08-01', '20933');
SQL

psql -X -v ON_ERROR_STOP=1 -d "$db" -f "$work/survey.sql" >"$work/survey.out" 2>&1
check "the survey block runs as written" [ $? = 0 ]
survey_found() {
	grep -q '^ XXXXX ' "$work/survey.out" && grep -q '^ 0450 ' "$work/survey.out" &&
		grep -q '"claim_id": "BAD1"' "$work/survey.out" && grep -q '"claim_id": "BAD2"' "$work/survey.out" &&
		! grep -q '"claim_id": "BAD3"' "$work/survey.out" && grep -q '"person_id": "Q3"' "$work/survey.out"
}
check "... listing the junk codes and the claims that break each rule" survey_found
rules_state() { [ "$(q -c "SELECT string_agg(rule_name || ':' || enabled || ':' || validated, ' ' ORDER BY rule_name)
							 FROM cpt_rules.enforced_rules WHERE table_name = 'medical_claim'::regclass")" = "$1" ]; }
check "... and leaving both rules enforced, NOT VALID" \
	rules_state "medical_claim_addon_rule:true:false medical_claim_by_encounter:true:false"

refused() { ! q -c "$1" >/dev/null 2>"$work/err" && grep -q "has no eligible primary code" "$work/err"; }
check "a lone add-on written now is refused" \
	refused "INSERT INTO medical_claim (claim_id, claim_line_number, person_id, rendering_npi, claim_line_start_date, hcpcs_code) VALUES ('NEW1', 1, 'Q9', 'N9', '2026-09-01', '20933')"
check "an add-on whose primary another practitioner billed is refused by the encounter rule" \
	refused "INSERT INTO medical_claim (claim_id, claim_line_number, person_id, rendering_npi, claim_line_start_date, hcpcs_code) VALUES ('NEW2', 1, 'Q9', 'N9', '2026-09-01', '27365'), ('NEW2', 2, 'Q9', 'N8', '2026-09-01', '20933')"
check "a valid claim with text quirks is accepted" \
	q -c "INSERT INTO medical_claim (claim_id, claim_line_number, person_id, rendering_npi, claim_line_start_date, hcpcs_code) VALUES ('NEW3', 1, 'Q9', 'N9', '2026-09-01', ' 27365 '), ('NEW3', 2, 'Q9', 'N9', '2026-09-01', '20933'), ('NEW3', 3, 'Q9', 'N9', '2026-09-01', 'XXXXX')"

validation_refused() {
	! psql -X -v ON_ERROR_STOP=1 -d "$db" -f "$work/validate.sql" >"$work/validate.out" 2>&1 &&
		grep -q "add-on line(s) without an eligible primary code" "$work/validate.out"
}
check "the validation block, run before the claims are corrected, fails and says why" validation_refused
check "... leaving both rules NOT VALID" \
	rules_state "medical_claim_addon_rule:true:false medical_claim_by_encounter:true:false"

# the correction the README leaves to the reader: what step 2 listed, removed
q -c "DELETE FROM medical_claim WHERE claim_id IN ('BAD1', 'BAD2', 'BAD3')" >/dev/null
psql -X -v ON_ERROR_STOP=1 -d "$db" -f "$work/validate.sql" >"$work/validate.out" 2>&1
check "the validation block runs as written once they are" [ $? = 0 ]
check "... and both rules are validated" \
	rules_state "medical_claim_addon_rule:true:true medical_claim_by_encounter:true:true"

# Progress: a validation reading 300,000 lines, a NOTICE every millisecond
# at most (the clock is read once per 4,096 lines).
q >/dev/null <<'SQL'
CREATE TABLE big_claims (claim_id bigint, code text);
INSERT INTO big_claims SELECT g / 3, CASE g % 3 WHEN 0 THEN '27365' WHEN 1 THEN '20933' ELSE '99213' END
  FROM generate_series(0, 299999) g;
CREATE INDEX ON big_claims (claim_id);
ANALYZE big_claims;
SET client_min_messages = warning;
SELECT cpt_rules.enforce_addon_rule('big_claims', 'code', '{claim_id}', validate => false);
SQL
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SET cpt_rules.progress_interval = '1ms'" \
	-c "SELECT cpt_rules.validate_addon_rule('big_claims')" >"$work/progress.out" 2>&1
progress_reported() {
	grep -qE '^NOTICE:  validating add-on rule "big_claims_addon_rule" on table big_claims: pass [123] of 3, [0-9]+ of about 300000 lines \([0-9]+%\), [0-9]+ s$' "$work/progress.out" &&
		grep -qE '^NOTICE:  validating add-on rule "big_claims_addon_rule" on table big_claims: judging the groups, [0-9]+ judged, [0-9]+ s$' "$work/progress.out"
}
check "a long validation reports its progress, reading the lines and judging the groups" progress_reported
progress_silent() {
	q -c "BEGIN" -c "LOCK big_claims IN SHARE UPDATE EXCLUSIVE MODE" \
		-c "SELECT cpt_rules.set_rule_validated('big_claims', 'big_claims_addon_rule', false)" -c "COMMIT" >/dev/null &&
		psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SET cpt_rules.progress_interval = 0" \
			-c "SELECT cpt_rules.validate_addon_rule('big_claims')" >"$work/silent.out" 2>&1 &&
		! grep -q "NOTICE" "$work/silent.out"
}
check "... and none at cpt_rules.progress_interval = 0" progress_silent
tap_plan
