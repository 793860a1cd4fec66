-- Hostile search_path, odd identifiers, row-level security, separate roles.
\set VERBOSITY terse
SET datestyle = ISO;

-- 1. Look-alike objects ahead of the extension's must change nothing.
CREATE SCHEMA evil;
CREATE FUNCTION evil.is_addon(cpt_code) RETURNS boolean LANGUAGE sql AS 'SELECT false';
CREATE FUNCTION evil.valid_pairing(cpt_code, cpt_code) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE FUNCTION evil.always(bigint, bigint) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, PROCEDURE = evil.always);
CREATE FUNCTION evil.code_always(cpt_code, cpt_code) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = cpt_code, RIGHTARG = cpt_code, PROCEDURE = evil.code_always);
CREATE TABLE evil.aoc_edit (addon cpt_code);
CREATE TABLE evil.payer_pair (addon cpt_code);
CREATE FUNCTION evil.quote_ident(text) RETURNS text LANGUAGE sql AS $$SELECT 'claim_id'$$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT 'epoch'::timestamptz$$;
CREATE FUNCTION evil.cardinality(anyarray) RETURNS int LANGUAGE sql AS 'SELECT 1';

CREATE TABLE sp_lines (claim_id bigint, code cpt_code);
CREATE TABLE sp_lines_noidx (claim_id bigint, code cpt_code);
CREATE INDEX ON sp_lines (claim_id);
SET search_path = evil, pg_catalog, public;
SELECT cpt_rules.enforce_addon_rule('sp_lines', code => 'code', group_by => '{claim_id}');
SELECT cpt_rules.enforce_addon_rule('sp_lines_noidx', code => 'code', group_by => '{claim_id}');
-- the unqualified calls resolve to evil's, the extension's own code does not
SELECT is_addon('20933'::cpt_code) AS evil_is_addon, public.is_addon('20933') AS real_is_addon;
-- claim 2 must be rejected even though evil's "=" would match claim 1's primary
INSERT INTO sp_lines VALUES (1, '27365'), (1, '20933');
INSERT INTO sp_lines VALUES (2, '20933');
INSERT INTO sp_lines_noidx VALUES (1, '27365'), (1, '20933');
INSERT INTO sp_lines_noidx VALUES (2, '20933');
DELETE FROM sp_lines WHERE code OPERATOR(public.=) '27365';
SELECT count(*) FROM cpt_rules.addon_rule_violations('sp_lines', 'code', '{claim_id}');
INSERT INTO sp_lines_noidx VALUES (3, '20933'), (3, '99213');
SELECT count(*) FROM public.addon_primaries('20933');
RESET search_path;
DROP SCHEMA evil CASCADE;

-- 2. Odd column names are quoted everywhere; injection attempts fail harmlessly.
CREATE TABLE "Odd Lines" ("Claim ID" bigint, "code""; DROP TABLE victim; --" cpt_code, "DOS" date);
CREATE TABLE victim (x int);
CREATE INDEX ON "Odd Lines" ("Claim ID");
SELECT cpt_rules.enforce_addon_rule('"Odd Lines"', code => 'code"; DROP TABLE victim; --',
	group_by => '{Claim ID}', service_date => 'DOS');
INSERT INTO "Odd Lines" VALUES (1, '27365', '2024-01-01'), (1, '20933', '2024-01-01');
INSERT INTO "Odd Lines" VALUES (2, '20933', '2024-01-01');
UPDATE "Odd Lines" SET "Claim ID" = 3 WHERE "code""; DROP TABLE victim; --" = '27365';
SELECT * FROM cpt_rules.addon_rule_violations('"Odd Lines"', 'code"; DROP TABLE victim; --', '{Claim ID}', 'DOS');
SELECT cpt_rules.enforce_addon_rule('"Odd Lines"', code => 'code"; DROP TABLE victim; --',
	group_by => '{"Claim ID\"); DROP TABLE victim; --"}');
SELECT cpt_rules.addon_rule_violations('"Odd Lines"', 'x'' OR true; DROP TABLE victim; --', '{Claim ID}');
SELECT cpt_rules.enforce_addon_rule('victim; DROP TABLE victim', code => 'x', group_by => '{x}');
SELECT count(*) FROM victim;
-- the same rule attached under a name with spaces and quotes
SELECT cpt_rules.enforce_addon_rule('"Odd Lines"', code => 'code"; DROP TABLE victim; --',
	group_by => '{Claim ID}', constraint_name => 'My "Rule"');
SELECT tgname FROM pg_trigger WHERE tgrelid = '"Odd Lines"'::regclass ORDER BY 1;
SELECT cpt_rules.drop_addon_rule('"Odd Lines"', 'My "Rule"');
SELECT count(*) FROM victim;

-- 3. Three roles: the table owner, a writer, and the extension owner (us).
CREATE ROLE tab_owner;
CREATE ROLE clerk;
CREATE ROLE insert_only;
CREATE SCHEMA claims AUTHORIZATION tab_owner;
GRANT USAGE ON SCHEMA claims TO clerk, insert_only;
SET ROLE tab_owner;
CREATE TABLE claims.lines (claim_id bigint, npi text, code cpt_code);
CREATE INDEX ON claims.lines (claim_id);
CREATE TABLE claims.lines_noidx (claim_id bigint, npi text, code cpt_code);
SELECT cpt_rules.enforce_addon_rule('claims.lines', code => 'code', group_by => '{claim_id}');
SELECT cpt_rules.enforce_addon_rule('claims.lines_noidx', code => 'code', group_by => '{claim_id}');
GRANT SELECT, INSERT, UPDATE, DELETE ON claims.lines, claims.lines_noidx TO clerk;
GRANT INSERT ON claims.lines, claims.lines_noidx TO insert_only;
-- Row-level security: the clerk sees only lines of practitioner 'A'.
ALTER TABLE claims.lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE claims.lines_noidx ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_npi ON claims.lines USING (npi = 'A');
CREATE POLICY own_npi ON claims.lines_noidx USING (npi = 'A');
CREATE POLICY ins_any ON claims.lines FOR INSERT TO insert_only WITH CHECK (true);
CREATE POLICY ins_any ON claims.lines_noidx FOR INSERT TO insert_only WITH CHECK (true);
INSERT INTO claims.lines VALUES (1, 'B', '27365');        -- the primary, billed by B
INSERT INTO claims.lines_noidx VALUES (1, 'B', '27365');
RESET ROLE;
SET ROLE clerk;
SELECT count(*) FROM claims.lines WHERE claim_id = 1;     -- the clerk cannot see it
-- ... but the check sees the whole claim, as a foreign key check would
INSERT INTO claims.lines VALUES (1, 'A', '20933');
INSERT INTO claims.lines_noidx VALUES (1, 'A', '20933');
-- an orphan is still rejected; row security applies to the clerk, so the
-- error shows neither the codes nor the group's values, as a foreign key's
-- would not (the insert-only role below may not read them either; the owner
-- further down may, and sees them)
INSERT INTO claims.lines VALUES (2, 'A', '20933');
INSERT INTO claims.lines_noidx VALUES (2, 'A', '20933');
RESET ROLE;
SET ROLE insert_only;
INSERT INTO claims.lines VALUES (3, 'C', '99292'), (3, 'C', '99291');
INSERT INTO claims.lines_noidx VALUES (3, 'C', '99292'), (3, 'C', '99291');
INSERT INTO claims.lines VALUES (4, 'C', '99292');
INSERT INTO claims.lines_noidx VALUES (4, 'C', '99292');
RESET ROLE;
SELECT claim_id, npi, code FROM claims.lines ORDER BY 1, 3;
SELECT claim_id, npi, code FROM claims.lines_noidx ORDER BY 1, 3;
-- the owner may not drop a primary the clerk's add-on relies on
SET ROLE tab_owner;
DELETE FROM claims.lines WHERE code = '27365';
DELETE FROM claims.lines_noidx WHERE code = '27365';
-- FORCE ROW LEVEL SECURITY on the owner does not blind the check either (but
-- hides the values from the owner's error)
ALTER TABLE claims.lines_noidx FORCE ROW LEVEL SECURITY;
INSERT INTO claims.lines_noidx VALUES (1, 'A', '20934');
INSERT INTO claims.lines_noidx VALUES (5, 'A', '20934');
RESET ROLE;
DROP SCHEMA claims CASCADE;
DROP ROLE tab_owner, clerk, insert_only;
