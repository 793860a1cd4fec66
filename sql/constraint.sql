-- The add-on rule as a constraint on a claim-lines table.
\set VERBOSITY default
SET datestyle = ISO;

CREATE SCHEMA billing;
CREATE TABLE billing.claim_lines (
	line_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	claim_id bigint NOT NULL,
	service_date date NOT NULL DEFAULT '2024-03-01',
	hcpcs_code cpt_code,
	units int NOT NULL DEFAULT 1
);

-- attaching: argument checks
SELECT cpt_rules.enforce_addon_rule('billing.claim_lines', code => 'nope', group_by => '{claim_id}');
SELECT cpt_rules.enforce_addon_rule('billing.claim_lines', code => 'hcpcs_code', group_by => '{nope}');
SELECT cpt_rules.enforce_addon_rule('billing.claim_lines', code => 'units', group_by => '{claim_id}');
SELECT cpt_rules.enforce_addon_rule('billing.claim_lines', code => 'hcpcs_code', group_by => '{claim_id}', service_date => 'units');
SELECT cpt_rules.enforce_addon_rule('billing.claim_lines', code => 'hcpcs_code', group_by => '{}');
SELECT cpt_rules.enforce_addon_rule('billing.claim_lines', code => 'hcpcs_code', group_by => '{claim_id,claim_id}');
SELECT cpt_rules.enforce_addon_rule('billing.claim_lines', code => 'hcpcs_code', group_by => '{hcpcs_code}');
SELECT cpt_rules.enforce_addon_rule('pg_class', code => 'hcpcs_code', group_by => '{claim_id}');

-- attaching to a table with violations fails and says how many and where
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES
	(1, '27365'), (1, '20933'),            -- fine
	(2, '20933'), (2, '99213'),            -- orphan add-on
	(3, '20934'), (3, '20932');            -- two orphans
SELECT * FROM cpt_rules.addon_rule_violations('billing.claim_lines', 'hcpcs_code', '{claim_id}');
SELECT cpt_rules.enforce_addon_rule('billing.claim_lines', code => 'hcpcs_code', group_by => '{claim_id}');
DELETE FROM billing.claim_lines WHERE claim_id IN (2, 3);

-- attaching, idempotently; a warning without an index on the group
SELECT cpt_rules.enforce_addon_rule('billing.claim_lines', code => 'hcpcs_code', group_by => '{claim_id}',
                                    service_date => 'service_date');
SELECT cpt_rules.enforce_addon_rule('billing.claim_lines', code => 'hcpcs_code', group_by => '{claim_id}',
                                    service_date => 'service_date');
CREATE INDEX ON billing.claim_lines (claim_id);
SELECT tgname, tgdeferrable, tginitdeferred, pg_get_triggerdef(oid)
  FROM pg_trigger WHERE tgrelid = 'billing.claim_lines'::regclass ORDER BY tgname;

-- the reference case: 20933 with a primary commits, without one it fails at COMMIT
BEGIN;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (10, '20933');  -- add-on first
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (10, '27365');
COMMIT;
BEGIN;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (11, '20933'), (11, '99213');
COMMIT;
-- the error carries SQLSTATE, constraint, table and schema
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (12, '20933');
DO $$
DECLARE c text; t text; s text; st text;
BEGIN
	INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (13, '20933');
	SET CONSTRAINTS ALL IMMEDIATE;
EXCEPTION WHEN check_violation THEN
	GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, t = TABLE_NAME, s = SCHEMA_NAME, st = RETURNED_SQLSTATE;
	RAISE NOTICE 'sqlstate % constraint % table %.%', st, c, s, t;
END $$;

-- date of service: 20933 became an add-on on 2019-01-01
INSERT INTO billing.claim_lines (claim_id, service_date, hcpcs_code) VALUES (14, '2018-06-01', '20933');
SELECT count(*) FROM billing.claim_lines WHERE claim_id = 14;
-- G2212 with G0463 is fine from 2024 only
INSERT INTO billing.claim_lines (claim_id, service_date, hcpcs_code) VALUES (15, '2023-12-31', 'G2212'), (15, '2023-12-31', 'G0463');
INSERT INTO billing.claim_lines (claim_id, service_date, hcpcs_code) VALUES (15, '2024-01-01', 'G2212'), (15, '2024-01-01', 'G0463');
-- 99292 needs 99291
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (16, '99292');
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (16, '99292'), (16, '99291');
-- a long list of primaries is cut short in the hint
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (17, '20930');
-- a Type 2 add-on without payer primaries needs any line that is not an add-on
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (18, '0054T');
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (18, '0054T'), (18, '20933');
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (18, '0054T'), (18, '27447');
-- ... and once the payer defines primaries, only those
INSERT INTO cpt_rules.payer_pair (addon, primary_code) VALUES ('0055T', '27130');
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (19, '0055T'), (19, '27447');
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (19, '0055T'), (19, '27130');
-- add-on chains: an add-on can be another add-on's primary
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (20, '22552'), (20, '22551');
-- NULL codes are ignored
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (21, NULL), (21, NULL);

-- every write path
-- multi-row insert, add-on and primary together
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (30, '20933'), (30, '20934'), (30, '24150');
-- COPY
COPY billing.claim_lines (claim_id, hcpcs_code) FROM STDIN;
31	27704
31	20933
\.
COPY billing.claim_lines (claim_id, hcpcs_code) FROM STDIN;
32	20933
32	99213
\.
-- DELETE of the only primary
DELETE FROM billing.claim_lines WHERE claim_id = 31 AND hcpcs_code = '27704';
-- DELETE of one of two primaries is fine; of the add-on too
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (31, '27645');
DELETE FROM billing.claim_lines WHERE claim_id = 31 AND hcpcs_code = '27704';
DELETE FROM billing.claim_lines WHERE claim_id = 30 AND hcpcs_code = '20934';
-- UPDATE of the primary's code
UPDATE billing.claim_lines SET hcpcs_code = '99213' WHERE claim_id = 30 AND hcpcs_code = '24150';
-- UPDATE of a code into an add-on
UPDATE billing.claim_lines SET hcpcs_code = '20934' WHERE claim_id = 21;
UPDATE billing.claim_lines SET hcpcs_code = '20934' WHERE claim_id = 30 AND hcpcs_code = '20933';
-- moving the primary to another claim checks the claim it left
UPDATE billing.claim_lines SET claim_id = 33 WHERE claim_id = 31 AND hcpcs_code = '27645';
-- moving a whole claim is fine
UPDATE billing.claim_lines SET claim_id = 34 WHERE claim_id = 31;
SELECT claim_id, hcpcs_code FROM billing.claim_lines WHERE claim_id IN (30, 31, 34) ORDER BY 1, 2;
-- moving an add-on into a claim without its primary
UPDATE billing.claim_lines SET claim_id = 20 WHERE claim_id = 34 AND hcpcs_code = '20933';
-- an unrelated column changes nothing (and checks nothing)
UPDATE billing.claim_lines SET units = 2 WHERE claim_id = 34;
-- a date change that takes the pair out of force
UPDATE billing.claim_lines SET service_date = '2018-01-01' WHERE claim_id = 34;
-- INSERT ... ON CONFLICT DO UPDATE
CREATE UNIQUE INDEX claim_code_uniq ON billing.claim_lines (claim_id, hcpcs_code);
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (34, '27704')
	ON CONFLICT (claim_id, hcpcs_code) DO UPDATE SET hcpcs_code = '99213';
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (35, '20933')
	ON CONFLICT (claim_id, hcpcs_code) DO UPDATE SET units = 9;
DROP INDEX billing.claim_code_uniq;
-- MERGE
CREATE TEMP TABLE incoming (claim_id bigint, hcpcs_code cpt_code);
INSERT INTO incoming VALUES (36, '20933'), (36, '27365');
MERGE INTO billing.claim_lines l USING incoming i ON l.claim_id = i.claim_id AND l.hcpcs_code = i.hcpcs_code
	WHEN NOT MATCHED THEN INSERT (claim_id, hcpcs_code) VALUES (i.claim_id, i.hcpcs_code);
MERGE INTO billing.claim_lines l USING (VALUES (36::bigint, '27365'::cpt_code)) i(claim_id, hcpcs_code)
	ON l.claim_id = i.claim_id AND l.hcpcs_code = i.hcpcs_code
	WHEN MATCHED THEN DELETE;
MERGE INTO billing.claim_lines l USING (VALUES (36::bigint, '27365'::cpt_code)) i(claim_id, hcpcs_code)
	ON l.claim_id = i.claim_id AND l.hcpcs_code = i.hcpcs_code
	WHEN MATCHED THEN UPDATE SET hcpcs_code = '99213';

-- deferred: the order within a transaction does not matter; IMMEDIATE checks at once
BEGIN;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (40, '20933');
SET CONSTRAINTS billing.claim_lines_addon_rule_arriving, billing.claim_lines_addon_rule_moving, billing.claim_lines_addon_rule_leaving IMMEDIATE;
ROLLBACK;
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (40, '20933');
ROLLBACK;
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (40, '20933'), (40, '27365');
DELETE FROM billing.claim_lines WHERE claim_id = 40 AND hcpcs_code = '27365';
ROLLBACK;
-- savepoints: a check inside a rolled-back savepoint does not excuse a later one
BEGIN;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (41, '20933'), (41, '27365');
SAVEPOINT a;
SET CONSTRAINTS ALL IMMEDIATE;
ROLLBACK TO a;
DELETE FROM billing.claim_lines WHERE claim_id = 41 AND hcpcs_code = '27365';
COMMIT;
SELECT count(*) FROM billing.claim_lines WHERE claim_id = 41;
BEGIN;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (42, '20933');
SAVEPOINT a;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (42, '27365');
SET CONSTRAINTS ALL IMMEDIATE;
ROLLBACK TO a;
SET CONSTRAINTS ALL DEFERRED;
COMMIT;
SELECT count(*) FROM billing.claim_lines WHERE claim_id = 42;
-- a primary rolled back beside its add-on is no primary (the add-on's
-- check looks at its neighbours on the page first)
BEGIN;
SAVEPOINT a;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (47, '27365');
ROLLBACK TO a;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (47, '20933');
COMMIT;
-- ... and one behind a rolled-back line or another claim's line still counts
BEGIN;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (48, '27645');
SAVEPOINT a;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (48, '99213');
ROLLBACK TO a;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (49, '99213');
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (48, '20933');
COMMIT;
SELECT claim_id, hcpcs_code FROM billing.claim_lines WHERE claim_id IN (47, 48) ORDER BY 1, 2;
-- a row inserted then deleted in the same transaction leaves nothing to complain about
BEGIN;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (43, '20933');
DELETE FROM billing.claim_lines WHERE claim_id = 43;
COMMIT;
-- in immediate mode, a statement after a check is checked again
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (44, '20933'), (44, '27365');
DELETE FROM billing.claim_lines WHERE claim_id = 44 AND hcpcs_code = '27365';
COMMIT;
BEGIN;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (44, '20933'), (44, '27365');
SET CONSTRAINTS ALL IMMEDIATE;
UPDATE billing.claim_lines SET hcpcs_code = '99213' WHERE claim_id = 44 AND hcpcs_code = '27365';
COMMIT;
-- an add-on updated again without touching the rule's columns is still checked
BEGIN;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (45, '20933');
UPDATE billing.claim_lines SET units = 3 WHERE claim_id = 45;
COMMIT;
BEGIN;
INSERT INTO billing.claim_lines (claim_id, hcpcs_code) VALUES (45, '20933');
UPDATE billing.claim_lines SET hcpcs_code = hcpcs_code WHERE claim_id = 45;
COMMIT;
BEGIN;
UPDATE billing.claim_lines SET claim_id = 46 WHERE claim_id = 10 AND hcpcs_code = '20933';
UPDATE billing.claim_lines SET units = 4 WHERE claim_id = 46;
COMMIT;
SELECT claim_id, hcpcs_code FROM billing.claim_lines WHERE claim_id IN (10, 44, 45, 46) ORDER BY 1, 2;

-- CMS's grouping: patient, practitioner, date of service (several group columns)
CREATE TABLE billing.lines_by_visit (
	patient_id int, "Rendering NPI" text, service_date date, code cpt_code);
CREATE INDEX ON billing.lines_by_visit (patient_id, "Rendering NPI", service_date);
SELECT cpt_rules.enforce_addon_rule('billing.lines_by_visit', code => 'code',
	group_by => '{patient_id,Rendering NPI,service_date}', service_date => 'service_date');
INSERT INTO billing.lines_by_visit VALUES (1, 'A', '2024-01-01', '27365'), (1, 'A', '2024-01-01', '20933');
INSERT INTO billing.lines_by_visit VALUES (1, 'B', '2024-01-01', '20933');
INSERT INTO billing.lines_by_visit VALUES (1, 'A', '2024-01-02', '20933');
-- NULL group values form a group of their own, as in GROUP BY
INSERT INTO billing.lines_by_visit VALUES (2, NULL, '2024-01-01', '27365'), (2, NULL, '2024-01-01', '20933');
INSERT INTO billing.lines_by_visit VALUES (2, NULL, '2024-01-02', '20933');
SELECT * FROM cpt_rules.addon_rule_violations('billing.lines_by_visit', 'code',
	'{patient_id,Rendering NPI,service_date}', 'service_date');

-- partitioned tables: attach to the parent; a claim may span partitions
CREATE TABLE billing.parted_lines (claim_id int, service_date date, code cpt_code)
	PARTITION BY RANGE (service_date);
CREATE TABLE billing.parted_2023 PARTITION OF billing.parted_lines FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE billing.parted_2024 PARTITION OF billing.parted_lines FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX ON billing.parted_lines (claim_id);
SELECT cpt_rules.enforce_addon_rule('billing.parted_lines', code => 'code', group_by => '{claim_id}');
INSERT INTO billing.parted_lines VALUES (1, '2023-12-31', '27365'), (1, '2024-01-01', '20933');
INSERT INTO billing.parted_lines VALUES (2, '2024-06-01', '20933');
DELETE FROM billing.parted_lines WHERE claim_id = 1 AND code = '27365';
-- moving a row across partitions
UPDATE billing.parted_lines SET service_date = '2024-02-01' WHERE claim_id = 1 AND code = '27365';
SELECT tableoid::regclass, * FROM billing.parted_lines ORDER BY claim_id, code;
SELECT * FROM cpt_rules.addon_rule_violations('billing.parted_lines', 'code', '{claim_id}');
-- where the rule is enforced (partition clones are not listed)
SELECT * FROM cpt_rules.enforced_rules ORDER BY table_name::text, rule_name;

-- detaching is idempotent
SELECT cpt_rules.drop_addon_rule('billing.parted_lines');
SELECT cpt_rules.drop_addon_rule('billing.parted_lines');
INSERT INTO billing.parted_lines VALUES (3, '2024-06-01', '20933');
SELECT * FROM cpt_rules.addon_rule_violations('billing.parted_lines', 'code', '{claim_id}');

-- nothing left behind by the failed statements above
SELECT * FROM cpt_rules.addon_rule_violations('billing.claim_lines', 'hcpcs_code', '{claim_id}', 'service_date');
SELECT claim_id, array_agg(hcpcs_code ORDER BY hcpcs_code) FROM billing.claim_lines GROUP BY 1 ORDER BY 1;
DELETE FROM cpt_rules.payer_pair;
