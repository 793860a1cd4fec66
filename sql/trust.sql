-- No way around the rule: each path below committed an orphan add-on in 1.1.
\set VERBOSITY terse
SET datestyle = ISO;
SET client_min_messages = warning;

CREATE SCHEMA trust;
SET search_path = trust, public;

-- orphans(t): committed add-on lines without an eligible primary, by claim
CREATE FUNCTION orphans(t regclass) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(format('%s:%s', v.group_key->>'claim_id', v.addon), ' '
							   ORDER BY v.group_key->>'claim_id'), 'none')
	  FROM cpt_rules.addon_rule_violations(t, 'code', '{claim_id}') v $$;

CREATE TABLE lines (
	line_id serial PRIMARY KEY,
	claim_id bigint NOT NULL,
	code cpt_code,
	note text
);
CREATE INDEX ON lines (claim_id);
SELECT cpt_rules.enforce_addon_rule('lines', code => 'code', group_by => '{claim_id}') IS NOT NULL AS enforced;

-- 1. A user's BEFORE UPDATE trigger rewrites the row; the statement names another column.
CREATE FUNCTION rewrite_line() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.note = 'recode' THEN NEW.code := '20933'; END IF;
	IF NEW.note = 'move' THEN NEW.claim_id := NEW.claim_id + 1; END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER rewrite_line BEFORE UPDATE ON lines FOR EACH ROW EXECUTE FUNCTION rewrite_line();
INSERT INTO lines (claim_id, code) VALUES (100, '27365'), (100, '99213'),
	(110, '27365'), (110, '20933'), (120, '27365'), (120, '20933');
UPDATE lines SET note = 'recode' WHERE claim_id = 100 AND code = '27365';   -- primary becomes 20933
UPDATE lines SET note = 'move' WHERE claim_id = 110 AND code = '27365';     -- primary moves to claim 111
INSERT INTO lines (line_id, claim_id, code)
	SELECT line_id, 120, '27365' FROM lines WHERE claim_id = 120 AND code = '27365'
	ON CONFLICT (line_id) DO UPDATE SET note = 'move';
-- ... while an UPDATE that leaves the rule's columns alone checks nothing and passes
UPDATE lines SET note = 'checked' WHERE claim_id = 120;
SELECT orphans('lines');

-- 2. Columns renamed, re-added or swapped: the rule follows the columns it was given.
ALTER TABLE lines RENAME COLUMN code TO code_old;
ALTER TABLE lines ADD COLUMN code cpt_code;
INSERT INTO lines (claim_id, code_old) VALUES (200, '20933');               -- orphan in the rule's column
INSERT INTO lines (claim_id, code_old, code) VALUES (201, '27365', '20933'); -- fine: code is not the rule's
SELECT table_name, rule_name, code_column, group_by FROM cpt_rules.enforced_rules WHERE table_name = 'lines'::regclass;
ALTER TABLE lines DROP COLUMN code;
ALTER TABLE lines RENAME COLUMN code_old TO code;
ALTER TABLE lines ADD COLUMN other_claim bigint;
UPDATE lines SET other_claim = claim_id + 1000;
ALTER TABLE lines RENAME COLUMN claim_id TO tmp_claim;
ALTER TABLE lines RENAME COLUMN other_claim TO claim_id;
ALTER TABLE lines RENAME COLUMN tmp_claim TO other_claim;
INSERT INTO lines (other_claim, claim_id, code) VALUES (300, 1300, '20933'), (301, 1300, '27365');  -- split by the rule's column
SELECT code_column, group_by FROM cpt_rules.enforced_rules WHERE table_name = 'lines'::regclass;
ALTER TABLE lines RENAME COLUMN claim_id TO spare;
ALTER TABLE lines RENAME COLUMN other_claim TO claim_id;
-- dropping a rule column is refused, as for a foreign key; CASCADE drops the rule with it
ALTER TABLE lines DROP COLUMN code;
ALTER TABLE lines DROP COLUMN claim_id;
SELECT orphans('lines');

-- 3. Nested writes under IMMEDIATE: the statement's own SQL function deletes the primary.
CREATE FUNCTION drop_primary(c bigint) RETURNS bigint LANGUAGE sql AS $$
	DELETE FROM trust.lines WHERE claim_id = c AND code = '27365' RETURNING claim_id $$;
INSERT INTO lines (claim_id, code) VALUES (400, '27365'), (400, '99213');
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
INSERT INTO lines (claim_id, code) SELECT 400, '20933' FROM (SELECT drop_primary(400)) s;
COMMIT;
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
INSERT INTO lines (claim_id, code) VALUES (401, '27365'), (401, '20933');
SELECT drop_primary(401);
COMMIT;
SELECT orphans('lines');

-- 4. Partitions: a range-partitioned table, claims spanning months.
CREATE TABLE plines (
	claim_id bigint NOT NULL,
	service_date date NOT NULL,
	code cpt_code
) PARTITION BY RANGE (service_date);
CREATE TABLE plines_2026_01 PARTITION OF plines FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE plines_2026_02 PARTITION OF plines FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
CREATE INDEX ON plines (claim_id);
SELECT cpt_rules.enforce_addon_rule('plines', code => 'code', group_by => '{claim_id}',
									service_date => 'service_date') IS NOT NULL AS enforced;
INSERT INTO plines VALUES (500, '2026-01-31', '27365'), (500, '2026-02-01', '20933'),
						  (501, '2026-01-15', '27365'), (501, '2026-01-15', '20933');
-- a table holding an orphan cannot be attached
CREATE TABLE plines_2026_03 (LIKE plines);
INSERT INTO plines_2026_03 VALUES (502, '2026-03-02', '20933');
ALTER TABLE plines ATTACH PARTITION plines_2026_03 FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
-- ... one whose add-on finds its primary in another partition can
DELETE FROM plines_2026_03;
INSERT INTO plines_2026_03 VALUES (501, '2026-03-02', '20933');
ALTER TABLE plines ATTACH PARTITION plines_2026_03 FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
-- taking January away would orphan claim 500's February add-on (and 501's March one)
ALTER TABLE plines DETACH PARTITION plines_2026_01;
DROP TABLE plines_2026_01;
TRUNCATE plines_2026_01;
-- truncating the whole table is fine
BEGIN;
TRUNCATE plines;
ROLLBACK;
-- a partition created later is covered
CREATE TABLE plines_2026_04 PARTITION OF plines FOR VALUES FROM ('2026-04-01') TO ('2026-05-01');
INSERT INTO plines VALUES (503, '2026-04-02', '20933');
INSERT INTO plines VALUES (503, '2026-04-02', '20933'), (503, '2026-04-03', '27365');
SELECT orphans('plines');
SELECT count(*) AS lines FROM plines;

-- 5. Inheritance children are refused: the triggers would not fire for them.
CREATE TABLE child_lines () INHERITS (lines);
CREATE TABLE loose (LIKE lines);
ALTER TABLE loose INHERIT lines;
CREATE TABLE parent_lines (claim_id bigint, code cpt_code);
CREATE TABLE kid_lines () INHERITS (parent_lines);
SELECT cpt_rules.enforce_addon_rule('parent_lines', code => 'code', group_by => '{claim_id}');
SELECT count(*) AS children FROM pg_inherits WHERE inhparent = 'lines'::regclass;

-- DROP COLUMN ... CASCADE takes the rule with it, whole
ALTER TABLE lines DROP COLUMN code CASCADE;
SELECT count(*) AS rules FROM cpt_rules.enforced_rules WHERE table_name = 'lines'::regclass;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'lines'::regclass AND NOT tgisinternal;

-- 6. Row security does not hide lines from the checks.  The owner of a
-- table with FORCE ROW LEVEL SECURITY, and a clerk allowed to TRUNCATE but
-- not to see every line, must not let an orphan in.
CREATE ROLE trust_owner;
CREATE ROLE trust_clerk;
GRANT USAGE, CREATE ON SCHEMA trust TO trust_owner;
GRANT USAGE ON SCHEMA trust TO trust_clerk;
SET ROLE trust_owner;
CREATE TABLE rls_lines (claim_id bigint, dos date, code cpt_code) PARTITION BY RANGE (dos);
CREATE TABLE rls_lines_jan PARTITION OF rls_lines FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE rls_lines_feb PARTITION OF rls_lines FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
CREATE INDEX ON rls_lines (claim_id);
SELECT cpt_rules.enforce_addon_rule('rls_lines', code => 'code', group_by => '{claim_id}');
-- claim 600 spans the two months: the add-on in February relies on January
INSERT INTO rls_lines VALUES (600, '2026-01-31', '27365'), (600, '2026-02-01', '20933');
ALTER TABLE rls_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls_lines FORCE ROW LEVEL SECURITY;
-- everybody, the owner too, sees only the lines of primary codes
CREATE POLICY only_primaries ON rls_lines USING (NOT is_addon(code));
GRANT SELECT, TRUNCATE ON rls_lines, rls_lines_jan, rls_lines_feb TO trust_clerk;
SELECT count(*) AS visible_to_owner FROM rls_lines;
-- a partition holding an orphan add-on cannot be attached (each attempt is
-- rolled back, so that each is tried whatever the one before did)
CREATE TABLE rls_lines_mar (LIKE rls_lines);
INSERT INTO rls_lines_mar VALUES (601, '2026-03-02', '20933');
BEGIN;
ALTER TABLE rls_lines ATTACH PARTITION rls_lines_mar FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
ROLLBACK;
-- nor can January be detached, dropped or truncated from under claim 600
BEGIN;
ALTER TABLE rls_lines DETACH PARTITION rls_lines_jan;
ROLLBACK;
BEGIN;
DROP TABLE rls_lines_jan;
ROLLBACK;
-- enforcing validates the lines the policy hides from the owner
CREATE TABLE rls_pre (claim_id bigint, code cpt_code);
INSERT INTO rls_pre VALUES (603, '20933');
ALTER TABLE rls_pre ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls_pre FORCE ROW LEVEL SECURITY;
CREATE POLICY only_primaries ON rls_pre USING (NOT is_addon(code));
SELECT cpt_rules.enforce_addon_rule('rls_pre', code => 'code', group_by => '{claim_id}');
DROP TABLE rls_pre;
-- what obeys the rule still goes through for the owner
CREATE TABLE rls_lines_apr (LIKE rls_lines);
INSERT INTO rls_lines_apr VALUES (602, '2026-04-02', '20933'), (602, '2026-04-02', '27365');
ALTER TABLE rls_lines ATTACH PARTITION rls_lines_apr FOR VALUES FROM ('2026-04-01') TO ('2026-05-01');
ALTER TABLE rls_lines DETACH PARTITION rls_lines_apr;
RESET ROLE;
-- the clerk, whom the policy applies to, is refused rather than misled
BEGIN;
SET LOCAL ROLE trust_clerk;
TRUNCATE rls_lines_jan;
ROLLBACK;
SELECT orphans('rls_lines');
SELECT count(*) AS lines FROM rls_lines;
DROP TABLE rls_lines, rls_lines_mar, rls_lines_apr;
REVOKE ALL ON SCHEMA trust FROM trust_owner, trust_clerk;
DROP ROLE trust_owner, trust_clerk;

-- 7. Tables dropped or truncated together are judged together, and a
-- partition dropped by DROP SCHEMA ... CASCADE or DROP OWNED is checked as
-- by DROP TABLE.  Claim 700 has its add-on in March and a primary in each
-- of January and February: either primary may go, not both.
CREATE TABLE mlines (claim_id bigint, dos date, code cpt_code) PARTITION BY RANGE (dos);
CREATE TABLE mlines_jan PARTITION OF mlines FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE mlines_feb PARTITION OF mlines FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
CREATE TABLE mlines_mar PARTITION OF mlines FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
CREATE INDEX ON mlines (claim_id);
SELECT cpt_rules.enforce_addon_rule('mlines', code => 'code', group_by => '{claim_id}') IS NOT NULL AS enforced;
INSERT INTO mlines VALUES (700, '2026-01-15', '27365'), (700, '2026-02-15', '27365'), (700, '2026-03-15', '20933');
BEGIN;
DROP TABLE mlines_jan;
ROLLBACK;
BEGIN;
DROP TABLE mlines_jan, mlines_feb;
ROLLBACK;
BEGIN;
TRUNCATE mlines_feb;
ROLLBACK;
BEGIN;
TRUNCATE mlines_jan, mlines_feb;
ROLLBACK;
CREATE SCHEMA trust_old;
ALTER TABLE mlines_jan SET SCHEMA trust_old;
ALTER TABLE mlines_feb SET SCHEMA trust_old;
BEGIN;
DROP SCHEMA trust_old CASCADE;
ROLLBACK;
CREATE ROLE trust_leaver;
ALTER TABLE trust_old.mlines_jan OWNER TO trust_leaver;
-- one partition alone may go, with its owner
BEGIN;
DROP OWNED BY trust_leaver;
SELECT count(*) AS lines_left FROM mlines;
ROLLBACK;
ALTER TABLE trust_old.mlines_feb OWNER TO trust_leaver;
BEGIN;
DROP OWNED BY trust_leaver;
ROLLBACK;
-- a schema owned by the role takes its tables along
ALTER TABLE trust_old.mlines_jan OWNER TO CURRENT_USER;
ALTER TABLE trust_old.mlines_feb OWNER TO CURRENT_USER;
ALTER SCHEMA trust_old OWNER TO trust_leaver;
BEGIN;
DROP OWNED BY trust_leaver CASCADE;
ROLLBACK;
SELECT orphans('mlines');
-- the whole table may go, and a schema holding a whole enforced table
BEGIN;
DROP TABLE mlines;
ROLLBACK;
CREATE SCHEMA trust_all;
CREATE TABLE trust_all.alines (claim_id bigint, dos date, code cpt_code) PARTITION BY RANGE (dos);
CREATE TABLE trust_all.alines_jan PARTITION OF trust_all.alines FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE trust_all.alines_feb PARTITION OF trust_all.alines FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
SELECT cpt_rules.enforce_addon_rule('trust_all.alines', code => 'code', group_by => '{claim_id}') IS NOT NULL AS enforced;
INSERT INTO trust_all.alines VALUES (701, '2026-01-31', '27365'), (701, '2026-02-01', '20933');
DROP SCHEMA trust_all CASCADE;
DROP TABLE mlines;
DROP SCHEMA trust_old;
DROP ROLE trust_leaver;

RESET search_path;
DROP SCHEMA trust CASCADE;
