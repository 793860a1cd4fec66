-- The MUE rule: enforcing medically unlikely edits on a claims table, on the
-- engine of the add-on rule.  27447 has MUE 1 (indicator 2), 20933 MUE 1
-- (indicator 3), 99213 MUE 2 (indicator 3), A0425 MUE 250 (indicator 1).
\set VERBOSITY default
SET client_min_messages = warning;
SET datestyle = ISO;
CREATE EXTENSION IF NOT EXISTS cpt_rules;
SET client_min_messages = notice;
CREATE SCHEMA mue_rule;
SET search_path = mue_rule, public;

CREATE TABLE lines (claim_id int, patient int, npi text, dos date, code cpt_code, units numeric);
CREATE INDEX ON lines (patient, npi);
INSERT INTO lines VALUES (1, 7, 'A', '2026-07-06', '27447', 1), (2, 7, 'A', '2026-07-06', '27447', 1);
-- lines already there must obey it
SELECT cpt_rules.enforce_mue_rule('lines', 'code', 'units', '{patient,npi}', 'dos');
DELETE FROM lines WHERE claim_id = 2;
SELECT cpt_rules.enforce_mue_rule('lines', 'code', 'units', '{patient,npi}', 'dos');
SELECT table_name, rule_name, code_column, units_column, service_date_column, group_by, setting, indicators,
	   initially_deferred, enabled FROM cpt_rules.enforced_mue_rules;
-- the same rule again: nothing to do
SELECT cpt_rules.enforce_mue_rule('lines', 'code', 'units', '{patient,npi}', 'dos');

-- with the defaults (indicators 1 and 2): 27447 twice for one patient on one day is refused
INSERT INTO lines VALUES (3, 7, 'A', '2026-07-06', '27447', 1);
-- another day, another practitioner, another patient: each its own sum
INSERT INTO lines VALUES (3, 7, 'A', '2026-07-07', '27447', 1), (4, 7, 'B', '2026-07-06', '27447', 1),
						 (5, 8, 'A', '2026-07-06', '27447', 1);
-- 20933 is indicator 3: not enforced by default
INSERT INTO lines VALUES (6, 7, 'A', '2026-07-06', '20933', 1), (7, 7, 'A', '2026-07-06', '20933', 1);
-- indicator 1 judges each line: 250 units of A0425 on a line pass, 251 do not; two lines of 200 pass
INSERT INTO lines VALUES (8, 7, 'A', '2026-07-06', 'A0425', 250);
INSERT INTO lines VALUES (9, 7, 'A', '2026-07-06', 'A0425', 251);
INSERT INTO lines VALUES (9, 7, 'A', '2026-07-08', 'A0425', 200), (10, 7, 'A', '2026-07-08', 'A0425', 200);
-- NULL units bill one unit; negative units (a reversal) lower the sum
INSERT INTO lines VALUES (11, 9, 'A', '2026-07-06', '27447', NULL);
INSERT INTO lines VALUES (12, 9, 'A', '2026-07-06', '27447', NULL);
INSERT INTO lines VALUES (12, 9, 'A', '2026-07-06', '27447', -1), (13, 9, 'A', '2026-07-06', '27447', 1);
-- before the shipped table's first date, and a code without an edit: no known limit
INSERT INTO lines VALUES (14, 7, 'A', '2026-06-30', '27447', 5), (15, 7, 'A', '2026-07-06', 'J3490', 99);
-- within one transaction, checked at COMMIT: a line taken back in time is no violation
BEGIN;
INSERT INTO lines VALUES (16, 10, 'A', '2026-07-06', '27447', 1), (17, 10, 'A', '2026-07-06', '27447', 1);
DELETE FROM lines WHERE claim_id = 17;
COMMIT;
-- IMMEDIATE: refused at the statement
BEGIN;
SET CONSTRAINTS lines_mue_rule_arriving IMMEDIATE;
INSERT INTO lines VALUES (18, 10, 'A', '2026-07-06', '27447', 1);
ROLLBACK;
-- UPDATEs: raising the units, moving a line to another day or patient
UPDATE lines SET units = 2 WHERE claim_id = 16;
UPDATE lines SET dos = '2026-07-06' WHERE claim_id = 3 AND dos = '2026-07-07';
UPDATE lines SET patient = 7, npi = 'A' WHERE claim_id = 5;
UPDATE lines SET units = 0 WHERE claim_id = 16;
-- the error's fields, for applications
DO $$
DECLARE s text; t text; c text; st text;
BEGIN
	INSERT INTO mue_rule.lines VALUES (19, 7, 'A', '2026-07-06', '27447', 1);
	SET CONSTRAINTS ALL IMMEDIATE;
EXCEPTION WHEN check_violation THEN
	GET STACKED DIAGNOSTICS s = SCHEMA_NAME, t = TABLE_NAME, c = CONSTRAINT_NAME, st = RETURNED_SQLSTATE;
	RAISE NOTICE 'sqlstate %, schema %, table %, constraint %', st, s, t, c;
END $$;
SELECT * FROM cpt_rules.mue_violations('lines', 'code', 'units', '{patient,npi}', 'dos', indicators => '{1,2}');

-- indicator 3 enforced too: 20933 twice is refused (the lines already there first)
SELECT cpt_rules.enforce_mue_rule('lines', 'code', 'units', '{patient,npi}', 'dos', indicators => '{1,2,3}',
								  constraint_name => 'all_indicators');
DELETE FROM lines WHERE claim_id = 7;
SELECT cpt_rules.enforce_mue_rule('lines', 'code', 'units', '{patient,npi}', 'dos', indicators => '{1,2,3}',
								  constraint_name => 'all_indicators');
INSERT INTO lines VALUES (20, 7, 'A', '2026-07-06', '20933', 1);
SELECT cpt_rules.drop_mue_rule('lines');
SELECT cpt_rules.drop_mue_rule('lines', 'all_indicators');

-- renamed columns stay bound; a changed units type is refused
ALTER TABLE lines RENAME COLUMN units TO service_units;
ALTER TABLE lines RENAME COLUMN dos TO line_date;
SELECT rule_name, units_column, service_date_column FROM cpt_rules.enforced_mue_rules;
INSERT INTO lines VALUES (21, 7, 'A', '2026-07-06', '27447', 1);
ALTER TABLE lines ALTER COLUMN service_units TYPE integer;
ALTER TABLE lines DROP COLUMN service_units;
-- a user's BEFORE trigger that raises the units cannot slip past
CREATE FUNCTION double_units() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.service_units := NEW.service_units * 2; RETURN NEW; END $$;
CREATE TRIGGER a_double BEFORE INSERT ON lines FOR EACH ROW EXECUTE FUNCTION double_units();
INSERT INTO lines VALUES (22, 11, 'A', '2026-07-06', '27447', 1);
DROP TRIGGER a_double ON lines;
-- disabled, then enabled again: what was written meanwhile is validated
ALTER TABLE lines DISABLE TRIGGER lines_mue_rule_arriving;
INSERT INTO lines VALUES (23, 11, 'A', '2026-07-06', '27447', 2);
SELECT cpt_rules.enforce_mue_rule('lines', 'code', 'service_units', '{patient,npi}', 'line_date');
DELETE FROM lines WHERE claim_id = 23;
SELECT cpt_rules.enforce_mue_rule('lines', 'code', 'service_units', '{patient,npi}', 'line_date');

-- a text code column, junk and lower case included
CREATE TABLE text_lines (patient int, dos date, code text, units integer);
CREATE INDEX ON text_lines (patient);
SELECT cpt_rules.enforce_mue_rule('text_lines', 'code', 'units', '{patient}', 'dos');
INSERT INTO text_lines VALUES (1, '2026-07-06', ' 27447', 1), (1, '2026-07-06', 'XXXXX', 5), (1, '2026-07-06', '0520', 9);
INSERT INTO text_lines VALUES (1, '2026-07-06', '27447 ', 1);
INSERT INTO text_lines VALUES (1, '2026-07-06', 'a0425', 251);

-- partitioned by date of service: a day's lines in one partition; by claim: spread out
CREATE TABLE parted (claim_id int, patient int, dos date, code cpt_code, units smallint) PARTITION BY HASH (claim_id);
CREATE TABLE parted_0 PARTITION OF parted FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE INDEX ON parted (patient);
SELECT cpt_rules.enforce_mue_rule('parted', 'code', 'units', '{patient}', 'dos');
INSERT INTO parted VALUES (1, 1, '2026-07-06', '27447', 1);
INSERT INTO parted VALUES (2, 1, '2026-07-06', '27447', 1);
SELECT tableoid::regclass, claim_id FROM parted ORDER BY 2;
-- attaching a partition whose lines push a sum over is refused; detaching takes nothing to check
CREATE TABLE parted_more (claim_id int, patient int, dos date, code cpt_code, units smallint);
INSERT INTO parted_more VALUES (4, 1, '2026-07-06', '27447', 1);
ALTER TABLE parted DETACH PARTITION parted_1;
ALTER TABLE parted ATTACH PARTITION parted_1 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE parted_by_day (claim_id int, patient int, dos date, code cpt_code, units smallint) PARTITION BY RANGE (dos);
CREATE TABLE parted_by_day_07 PARTITION OF parted_by_day FOR VALUES FROM ('2026-07-01') TO ('2026-08-01');
CREATE INDEX ON parted_by_day (patient);
SELECT cpt_rules.enforce_mue_rule('parted_by_day', 'code', 'units', '{patient}', 'dos');
CREATE TABLE parted_by_day_08 (LIKE parted_by_day);
INSERT INTO parted_by_day_08 VALUES (1, 1, '2026-08-03', '27447', 1), (2, 1, '2026-08-03', '27447', 1);
ALTER TABLE parted_by_day ATTACH PARTITION parted_by_day_08 FOR VALUES FROM ('2026-08-01') TO ('2026-09-01');
DELETE FROM parted_by_day_08 WHERE claim_id = 2;
ALTER TABLE parted_by_day ATTACH PARTITION parted_by_day_08 FOR VALUES FROM ('2026-08-01') TO ('2026-09-01');
INSERT INTO parted_by_day VALUES (3, 1, '2026-08-03', '27447', 1);

-- a new quarter loaded in this session is what the next check judges by
CREATE TEMP TABLE mue_in (LIKE cpt_rules.cms_mue_file);
\copy mue_in FROM 'test/data/MCR_MUE_PractitionerServices_excerpt_Eff_07-01-2026.csv' WITH (FORMAT csv, ENCODING 'LATIN1')
UPDATE mue_in SET mue_value = '2' WHERE hcpcs_code = '27447';
SELECT count(*) FROM cpt_rules.refresh_mue_edits('mue_in', 'practitioner', '2026-10-01', allow_shrink => true);
INSERT INTO parted VALUES (10, 2, '2026-10-05', '27447', 1), (11, 2, '2026-10-05', '27447', 1);
INSERT INTO parted VALUES (12, 2, '2026-10-05', '27447', 1);
-- an edit a quarter dropped has no known limit from its date on
INSERT INTO parted VALUES (13, 2, '2026-10-05', '99214', 9);
-- a quarter that the lines already stored break: loaded, with a warning
UPDATE mue_in SET mue_value = '1' WHERE hcpcs_code = '27447';
SELECT change, code, mue_value, old_mue_value
  FROM cpt_rules.refresh_mue_edits('mue_in', 'practitioner', '2026-10-01', allow_shrink => true)
 WHERE code = '27447';
INSERT INTO parted VALUES (14, 3, '2026-10-05', '27447', 2);
DELETE FROM cpt_rules.mue_edit_loaded WHERE effective = '2026-10-01';
DELETE FROM cpt_rules.mue_file WHERE effective = '2026-10-01';

-- statements of many lines (each transaction then locks the whole rule
-- after 256 keys): every key checked, within one statement and across them
CREATE TABLE bulk (claim_id int, patient int, npi text, dos date, code cpt_code, units int);
CREATE INDEX ON bulk (patient, npi, dos);
SELECT cpt_rules.enforce_mue_rule('bulk', 'code', 'units', '{patient,npi}', 'dos');
INSERT INTO bulk VALUES (0, 5, 'A', '2026-07-06', '27447', 1);
-- 2,000 keys within their MUE: committed
INSERT INTO bulk SELECT g, 1000 + g, 'A', '2026-07-06', '27447', 1 FROM generate_series(1, 2000) g;
-- among 2,000 lines, one key twice, one over a line committed before
INSERT INTO bulk SELECT g, 5000 + g, 'A', date '2026-07-06', cpt_code '27447', 1 FROM generate_series(1, 2000) g
UNION ALL SELECT 1, 5001, 'A', '2026-07-06', '27447', 1;
INSERT INTO bulk SELECT g, 5000 + g, 'A', date '2026-07-06', cpt_code '27447', 1 FROM generate_series(1, 2000) g
UNION ALL SELECT 1, 5, 'A', '2026-07-06', '27447', 1;
-- within one transaction: a line of a key written by an earlier statement
BEGIN;
INSERT INTO bulk SELECT g, 9000 + g, 'A', '2026-07-07', '27447', 1 FROM generate_series(1, 2000) g;
INSERT INTO bulk VALUES (1, 9001, 'A', '2026-07-07', '27447', 1);
COMMIT;
-- a savepoint rolled back takes its lines and locks with it
BEGIN;
SAVEPOINT s;
INSERT INTO bulk SELECT g, 9000 + g, 'A', '2026-07-07', '27447', 1 FROM generate_series(1, 2000) g;
ROLLBACK TO s;
INSERT INTO bulk SELECT g, 9000 + g, 'A', '2026-07-07', '27447', 1 FROM generate_series(1, 2000) g;
COMMIT;
SELECT count(*), count(DISTINCT (patient, dos)) FROM bulk;
SELECT count(*) FROM cpt_rules.mue_violations('bulk', 'code', 'units', '{patient,npi}', 'dos');

-- Many checks against a small table: one sweep of the table judges every
-- key holding a line of the transaction, under the rule's exclusive lock,
-- in place of a key lock and a read per line
CREATE VIEW mue_locks AS
SELECT count(*) FILTER (WHERE objsubid = 19797) AS key_locks,
	   string_agg(mode, ',' ORDER BY mode) FILTER (WHERE objsubid = 19798) AS rule_locks
  FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
CREATE TABLE swept (claim_id int, patient int, npi text, dos date, code cpt_code, units numeric);
CREATE INDEX ON swept (patient, npi, dos);
SELECT cpt_rules.enforce_mue_rule('swept', 'code', 'units', '{patient,npi}', 'dos');
INSERT INTO swept VALUES (0, 5, 'A', '2026-07-06', '27447', 1);
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
INSERT INTO swept SELECT g, 1000 + g, 'A', '2026-07-06', '27447', 1 FROM generate_series(1, 100) g;
SELECT * FROM mue_locks;
COMMIT;
-- what the sweep finds is reported as a line's check reports it: a key
-- over a committed line, a sum of numeric units, a line over its own MUE
INSERT INTO swept SELECT g, 2000 + g, 'A', date '2026-07-06', cpt_code '27447', 1 FROM generate_series(1, 100) g
UNION ALL SELECT 1, 5, 'A', '2026-07-06', '27447', 1;
INSERT INTO swept SELECT g, 2000 + g, 'A', date '2026-07-06', cpt_code '27447', 1 FROM generate_series(1, 100) g
UNION ALL SELECT 1, 7, 'B', '2026-07-08', '27447', 0.5 UNION ALL SELECT 1, 7, 'B', '2026-07-08', '27447', 0.75;
INSERT INTO swept SELECT g, 2000 + g, 'A', date '2026-07-06', cpt_code '27447', 1 FROM generate_series(1, 100) g
UNION ALL SELECT 1, 7, 'B', '2026-07-08', 'A0425', 251;
-- a negative line lowers the sum, as it does for one line's check
INSERT INTO swept SELECT g, 2000 + g, 'A', date '2026-07-06', cpt_code '27447', 1 FROM generate_series(1, 100) g
UNION ALL SELECT 1, 7, 'B', '2026-07-08', '27447', 1 UNION ALL SELECT 1, 7, 'B', '2026-07-08', '27447', 1
UNION ALL SELECT 1, 7, 'B', '2026-07-08', '27447', -1;
-- lines written after a sweep in the same transaction are checked too:
-- a later statement's line of a key swept, another's raised units
BEGIN;
INSERT INTO swept SELECT g, 3000 + g, 'A', '2026-07-06', '27447', 1 FROM generate_series(1, 100) g;
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
INSERT INTO swept VALUES (1, 3001, 'A', '2026-07-06', '27447', 1);
COMMIT;
BEGIN;
INSERT INTO swept SELECT g, 3000 + g, 'A', '2026-07-06', '27447', 1 FROM generate_series(1, 100) g;
SET CONSTRAINTS ALL IMMEDIATE;
UPDATE swept SET units = 2 WHERE patient = 3050;
COMMIT;
-- sums outgrowing maintenance_work_mem: the sweep reads the table again in
-- parts, each part's keys of the transaction's lines and their sums
SET maintenance_work_mem = '1MB';
INSERT INTO swept SELECT g, 10000 + g, 'A', date '2026-07-06', cpt_code '27447', 1 FROM generate_series(1, 20000) g
UNION ALL SELECT 1, 29999, 'A', '2026-07-06', '27447', 1;
RESET maintenance_work_mem;
-- lines written frozen by COPY FREEZE are the transaction's own too
BEGIN;
CREATE TABLE swept_frozen (LIKE swept);
CREATE INDEX ON swept_frozen (patient, npi, dos);
SELECT cpt_rules.enforce_mue_rule('swept_frozen', 'code', 'units', '{patient,npi}', 'dos');
COPY swept_frozen FROM stdin WITH (FORMAT csv, FREEZE);
1,4001,A,2026-07-06,27447,1
2,4002,A,2026-07-06,27447,1
3,4003,A,2026-07-06,27447,1
4,4004,A,2026-07-06,27447,1
5,4005,A,2026-07-06,27447,1
6,4006,A,2026-07-06,27447,1
7,4007,A,2026-07-06,27447,1
8,4008,A,2026-07-06,27447,1
9,4009,A,2026-07-06,27447,1
10,4010,A,2026-07-06,27447,1
11,4011,A,2026-07-06,27447,1
12,4012,A,2026-07-06,27447,1
13,4013,A,2026-07-06,27447,1
14,4014,A,2026-07-06,27447,1
15,4015,A,2026-07-06,27447,1
16,4016,A,2026-07-06,27447,1
17,4017,A,2026-07-06,27447,1
18,4018,A,2026-07-06,27447,1
19,4019,A,2026-07-06,27447,1
20,4020,A,2026-07-06,27447,1
1,4007,A,2026-07-06,27447,1
\.
COMMIT;
SELECT count(*), sum(units) FROM swept;
SELECT count(*) FROM cpt_rules.mue_violations('swept', 'code', 'units', '{patient,npi}', 'dos');
-- partitioned by claim, a patient's lines spread over the partitions: the
-- sweep reads them all; by day, only the day's partition
CREATE TABLE swept_parted (claim_id int, patient int, dos date, code cpt_code, units smallint) PARTITION BY HASH (claim_id);
CREATE TABLE swept_parted_0 PARTITION OF swept_parted FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE swept_parted_1 PARTITION OF swept_parted FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE INDEX ON swept_parted (patient, dos);
SELECT cpt_rules.enforce_mue_rule('swept_parted', 'code', 'units', '{patient}', 'dos');
INSERT INTO swept_parted SELECT g, g, '2026-07-06', '27447', 1 FROM generate_series(1, 200) g;
INSERT INTO swept_parted SELECT 1000 + g, 1000 + g, date '2026-07-06', cpt_code '27447', 1 FROM generate_series(1, 200) g
UNION ALL SELECT 3, 150, '2026-07-06', '27447', 1;
SELECT tableoid::regclass, count(*) FROM swept_parted GROUP BY 1 ORDER BY 1;
CREATE TABLE swept_by_day (claim_id int, patient int, dos date, code cpt_code, units smallint) PARTITION BY RANGE (dos);
CREATE TABLE swept_by_day_06 PARTITION OF swept_by_day FOR VALUES FROM ('2026-07-06') TO ('2026-07-07');
CREATE TABLE swept_by_day_07 PARTITION OF swept_by_day FOR VALUES FROM ('2026-07-07') TO ('2026-07-08');
CREATE INDEX ON swept_by_day (patient, dos);
SELECT cpt_rules.enforce_mue_rule('swept_by_day', 'code', 'units', '{patient}', 'dos');
INSERT INTO swept_by_day SELECT g, g, date '2026-07-06' + g % 2, '27447', 1 FROM generate_series(1, 200) g;
INSERT INTO swept_by_day SELECT 1000 + g, 1000 + g, date '2026-07-06' + g % 2, '27447', 1 FROM generate_series(1, 200) g
UNION ALL SELECT 3, 151, '2026-07-07', '27447', 1;
SELECT tableoid::regclass, count(*) FROM swept_by_day GROUP BY 1 ORDER BY 1;
-- two MUE rules on one table, grouped differently: each sweeps for itself
-- (the first to fire groups by practitioner, the second only by patient)
CREATE TABLE swept_two (claim_id int, patient int, npi text, dos date, code cpt_code, units int);
CREATE INDEX ON swept_two (patient, npi, dos);
SELECT cpt_rules.enforce_mue_rule('swept_two', 'code', 'units', '{patient,npi}', 'dos',
	constraint_name => 'a_by_practitioner');
SELECT cpt_rules.enforce_mue_rule('swept_two', 'code', 'units', '{patient}', 'dos',
	constraint_name => 'b_by_patient');
INSERT INTO swept_two SELECT g, 6000 + g, 'A', date '2026-07-06', cpt_code '27447', 1 FROM generate_series(1, 100) g
UNION ALL SELECT 1, 6050, 'B', '2026-07-06', '27447', 1;
INSERT INTO swept_two SELECT g, 6000 + g, 'A', date '2026-07-06', cpt_code '27447', 1 FROM generate_series(1, 100) g;
SELECT count(*) FROM swept_two;
-- Once a sweep is due, the marker queues no more checks: the lines it
-- skips are judged by the sweep the first check of the rule makes
CREATE TABLE skipped (claim_id int, patient int, npi text, dos date, code cpt_code, units int);
CREATE INDEX ON skipped (patient, npi, dos);
SELECT cpt_rules.enforce_mue_rule('skipped', 'code', 'units', '{patient,npi}', 'dos');
SET track_functions = 'all';
BEGIN;
INSERT INTO skipped SELECT g, g, 'A', '2026-07-06', '27447', 1 FROM generate_series(1, 3000) g;
SET CONSTRAINTS ALL IMMEDIATE;
SELECT calls < 100 AS few_checks_fired
  FROM pg_stat_xact_user_functions WHERE funcname = 'mue_rule_trigger';
COMMIT;
RESET track_functions;
-- a skipped line breaking the rule, deferred and IMMEDIATE
INSERT INTO skipped SELECT g, 10000 + g, 'A', '2026-07-06', '27447', 1 FROM generate_series(1, 3000) g
UNION ALL SELECT 1, 10, 'A', date '2026-07-06', cpt_code '27447', 1;
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
INSERT INTO skipped SELECT g, 10000 + g, 'A', '2026-07-06', '27447', 1 FROM generate_series(1, 3000) g
UNION ALL SELECT 1, 12000, 'A', date '2026-07-06', cpt_code '27447', 1;
ROLLBACK;
-- a statement rolled back to a savepoint takes its queued checks with it:
-- the next statement queues its own before it skips any line
BEGIN;
SAVEPOINT s;
INSERT INTO skipped SELECT g, 10000 + g, 'A', '2026-07-06', '27447', 1 FROM generate_series(1, 3000) g;
ROLLBACK TO SAVEPOINT s;
INSERT INTO skipped SELECT g, 10000 + g, 'A', '2026-07-06', '27447', 1 FROM generate_series(1, 3000) g
UNION ALL SELECT 1, 12000, 'A', date '2026-07-06', cpt_code '27447', 1;
COMMIT;
-- lines skipped after a sweep, by a later statement, are swept again
BEGIN;
INSERT INTO skipped SELECT g, 20000 + g, 'A', '2026-07-06', '27447', 1 FROM generate_series(1, 3000) g;
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
INSERT INTO skipped SELECT g, 30000 + g, 'A', '2026-07-06', '27447', 1 FROM generate_series(1, 3000) g
UNION ALL SELECT 1, 20002, 'A', date '2026-07-06', cpt_code '27447', 1;
COMMIT;
-- a sweep in a subtransaction rolled back is made again at COMMIT
BEGIN;
INSERT INTO skipped SELECT g, 40000 + g, 'A', '2026-07-06', '27447', 1 FROM generate_series(1, 3000) g;
SAVEPOINT s;
SET CONSTRAINTS ALL IMMEDIATE;
ROLLBACK TO SAVEPOINT s;
INSERT INTO skipped VALUES (1, 40001, 'A', '2026-07-07', '27447', 1);
UPDATE skipped SET dos = '2026-07-06' WHERE patient = 40001 AND dos = '2026-07-07';
COMMIT;
-- a plpgsql loop: each INSERT its own statement, with its own checks
DO $$
BEGIN
	FOR i IN 1..400 LOOP
		INSERT INTO skipped VALUES (i, 50000 + i, 'A', '2026-07-06', '27447', 1);
	END LOOP;
	INSERT INTO skipped VALUES (1, 50400, 'A', '2026-07-06', '27447', 1);
END $$;
-- a statement the skipping one runs sweeps midway: the lines skipped after
-- it are swept again at the end
CREATE FUNCTION skipped_nested(g int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	IF g = 2000 THEN
		INSERT INTO mue_rule.skipped VALUES (0, 60000, 'A', '2026-07-06', '27447', 1);
	END IF;
	RETURN g;
END $$;
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
INSERT INTO skipped SELECT skipped_nested(g), 60000 + g, 'A', '2026-07-06', '27447', 1 FROM generate_series(1, 3000) g
UNION ALL SELECT 1, 62999, 'A', date '2026-07-06', cpt_code '27447', 1;
ROLLBACK;
DROP FUNCTION skipped_nested(int);
SELECT count(*), count(DISTINCT patient) FROM skipped;
SELECT count(*) FROM cpt_rules.mue_violations('skipped', 'code', 'units', '{patient,npi}', 'dos');
DROP TABLE swept, swept_parted, swept_by_day, swept_two, skipped;
DROP VIEW mue_locks;
SELECT cpt_rules.drop_mue_rule('bulk');
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'bulk'::regclass;

-- bad arguments
SELECT cpt_rules.enforce_mue_rule('lines', 'code', 'patient', '{npi}', 'line_date', indicators => '{4}');
SELECT cpt_rules.enforce_mue_rule('lines', 'code', 'npi', '{patient}', 'line_date');
SELECT cpt_rules.enforce_mue_rule('lines', 'code', 'service_units', '{patient}', 'line_date', setting => 'hospital');
SELECT cpt_rules.enforce_mue_rule('lines', 'code', 'service_units', '{patient}', NULL);
DROP SCHEMA mue_rule CASCADE;
