-- The rule's life cycle, as robust as a foreign key's: rename, re-enforce,
-- alter, disable, refresh, drop; group columns of any type; clear errors.
\set VERBOSITY terse
SET datestyle = ISO;
SET client_min_messages = notice;
CREATE SCHEMA life;
SET search_path = life, public;

CREATE TABLE lines (claim_id bigint, service_date date DEFAULT '2024-03-01', code cpt_code);
CREATE INDEX ON lines (claim_id);
SELECT cpt_rules.enforce_addon_rule('lines', code => 'code', group_by => '{claim_id}', service_date => 'service_date');

-- renaming the table: the rule goes with it, enforcing again is a no-op, dropping works
ALTER TABLE lines RENAME TO claim_lines;
SELECT cpt_rules.enforce_addon_rule('claim_lines', code => 'code', group_by => '{claim_id}', service_date => 'service_date');
SELECT table_name, rule_name, enabled, triggers FROM cpt_rules.enforced_rules WHERE table_name = 'claim_lines'::regclass;
INSERT INTO claim_lines (claim_id, code) VALUES (1, '20933');
SELECT cpt_rules.drop_addon_rule('claim_lines');
SELECT cpt_rules.drop_addon_rule('claim_lines');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'claim_lines'::regclass;
DELETE FROM claim_lines;
SELECT cpt_rules.enforce_addon_rule('claim_lines', code => 'code', group_by => '{claim_id}', service_date => 'service_date');

-- two rules on one table: dropping needs a name
SELECT cpt_rules.enforce_addon_rule('claim_lines', code => 'code', group_by => '{claim_id, service_date}', constraint_name => 'by_visit');
SELECT cpt_rules.drop_addon_rule('claim_lines');
SELECT cpt_rules.drop_addon_rule('claim_lines', 'by_visit');

-- a column the rule uses cannot change type under it; the hint says what to run
ALTER TABLE claim_lines ALTER COLUMN claim_id TYPE numeric;

-- disabling: enforced_rules says so, and enforcing again validates what came in meanwhile
ALTER TABLE claim_lines DISABLE TRIGGER USER;
SELECT rule_name, enabled FROM cpt_rules.enforced_rules WHERE table_name = 'claim_lines'::regclass;
INSERT INTO claim_lines (claim_id, code) VALUES (2, '20933');
SELECT cpt_rules.enforce_addon_rule('claim_lines', code => 'code', group_by => '{claim_id}', service_date => 'service_date');
DELETE FROM claim_lines WHERE claim_id = 2;
SELECT cpt_rules.enforce_addon_rule('claim_lines', code => 'code', group_by => '{claim_id}', service_date => 'service_date');
SELECT rule_name, enabled FROM cpt_rules.enforced_rules WHERE table_name = 'claim_lines'::regclass;
INSERT INTO claim_lines (claim_id, code) VALUES (2, '20933');
-- ENABLE REPLICA: fires only under session_replication_role = replica, so not enforcing
ALTER TABLE claim_lines ENABLE REPLICA TRIGGER claim_lines_addon_rule_arriving;
SELECT rule_name, enabled FROM cpt_rules.enforced_rules WHERE table_name = 'claim_lines'::regclass;
ALTER TABLE claim_lines ENABLE TRIGGER claim_lines_addon_rule_arriving;

-- bad arguments: the argument is named, the SQLSTATE fits
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT cpt_rules.enforce_addon_rule('claim_lines', code => NULL, group_by => '{claim_id}');
SELECT cpt_rules.enforce_addon_rule('claim_lines', code => 'code', group_by => '{NULL}');
SELECT cpt_rules.enforce_addon_rule('claim_lines', code => 'code', group_by => NULL);
SELECT cpt_rules.enforce_addon_rule(NULL, code => 'code', group_by => '{claim_id}');
SELECT cpt_rules.enforce_addon_rule('claim_lines', code => 'code', group_by => '{claim_id}', service_date => 'claim_id');
SELECT cpt_rules.enforce_addon_rule('claim_lines', code => 'code', group_by => '{nope}');
SELECT cpt_rules.drop_addon_rule(NULL);
-- a date of service the rules cannot express
INSERT INTO claim_lines VALUES (3, 'infinity', '20933');
INSERT INTO claim_lines VALUES (3, '-infinity', '99213');
\set VERBOSITY terse

-- group columns of any type with a btree equality
CREATE COLLATION IF NOT EXISTS ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE typed (
	v varchar(12), c char(4), t text COLLATE ci, n numeric, u uuid, d date, code cpt_code);
CREATE INDEX typed_t_c ON typed (t COLLATE "C");
SELECT cpt_rules.enforce_addon_rule('typed', code => 'code', group_by => '{v}', constraint_name => 'by_v');
SELECT cpt_rules.enforce_addon_rule('typed', code => 'code', group_by => '{c, n}', constraint_name => 'by_cn');
SELECT cpt_rules.enforce_addon_rule('typed', code => 'code', group_by => '{u, d}', constraint_name => 'by_ud');
SELECT cpt_rules.enforce_addon_rule('typed', code => 'code', group_by => '{t}', constraint_name => 'by_t');
-- an index under another collation cannot serve a nondeterministic one
SELECT cpt_rules.group_index('typed', '{t}') AS index_for_t;
CREATE INDEX typed_t ON typed (t);
SELECT cpt_rules.group_index('typed', '{t}') AS index_for_t;
-- 'AB' and 'ab' are one group under ci; 1.0 and 1.00 are one numeric group
INSERT INTO typed VALUES ('x', 'a', 'ab', 1.0, '00000000-0000-0000-0000-000000000001', '2024-01-01', '27365'),
						 ('x', 'a', 'AB', 1.00, '00000000-0000-0000-0000-000000000001', '2024-01-01', '20933');
INSERT INTO typed VALUES ('y', 'b', 'cd', 2, '00000000-0000-0000-0000-000000000002', '2024-01-01', '20933');
UPDATE typed SET v = 'z' WHERE code = '27365';
UPDATE typed SET t = 'other' WHERE code = '27365';
SELECT rule_name, group_by FROM cpt_rules.enforced_rules WHERE table_name = 'typed'::regclass ORDER BY 1;

-- hash partitions by the group key hold claims whole: detaching, dropping and truncating one needs no check
CREATE TABLE hashed (claim_id bigint, code cpt_code) PARTITION BY HASH (claim_id);
CREATE TABLE hashed_0 PARTITION OF hashed FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE hashed_1 PARTITION OF hashed FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE INDEX ON hashed (claim_id);
SELECT cpt_rules.enforce_addon_rule('hashed', code => 'code', group_by => '{claim_id}');
INSERT INTO hashed SELECT g, '27365' FROM generate_series(1, 10) g;
INSERT INTO hashed SELECT g, '20933' FROM generate_series(1, 10) g;
SELECT cpt_rules.partitions_keep_groups('hashed', 'hashed', '{claim_id}') AS keeps_groups;
TRUNCATE hashed_0;
ALTER TABLE hashed DETACH PARTITION hashed_1;
SELECT count(*) FROM hashed_1;
-- ... and a table without an index on the group is reported per partition
CREATE TABLE ranged (claim_id bigint, d date, code cpt_code) PARTITION BY RANGE (d);
CREATE TABLE ranged_a PARTITION OF ranged FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE ranged_b PARTITION OF ranged FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
CREATE INDEX ON ranged_a (claim_id);
SELECT cpt_rules.enforce_addon_rule('ranged', code => 'code', group_by => '{claim_id}', service_date => 'd');
SELECT cpt_rules.partitions_keep_groups('ranged', 'ranged', '{claim_id}') AS keeps_groups;
-- a partition that joins later without an index is reported too
CREATE TABLE ranged_c PARTITION OF ranged FOR VALUES FROM ('2024-03-01') TO ('2024-04-01');
SELECT tgrelid::regclass, tgname FROM pg_trigger WHERE tgname LIKE 'ranged%truncate' ORDER BY 1;
SELECT cpt_rules.drop_addon_rule('ranged');
SELECT count(*) AS left_behind FROM pg_trigger WHERE tgname LIKE 'ranged%';

-- without an index, a statement writing many claims maps the table's groups
-- once (after a few probes); the map is a hint, checked against the table
CREATE TABLE unindexed (claim_id int, code cpt_code);
SELECT cpt_rules.enforce_addon_rule('unindexed', code => 'code', group_by => '{claim_id}');
INSERT INTO unindexed SELECT g, c::cpt_code FROM generate_series(1, 50) g, unnest('{27365,20933}'::text[]) c;
INSERT INTO unindexed SELECT g, '20933' FROM generate_series(51, 60) g
	UNION ALL SELECT g, '27365' FROM generate_series(51, 59) g;
BEGIN;
INSERT INTO unindexed SELECT g, c::cpt_code FROM generate_series(61, 80) g, unnest('{20933,99213}'::text[]) c;
INSERT INTO unindexed SELECT g, '27365' FROM generate_series(61, 80) g WHERE g <> 70;
COMMIT;
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
INSERT INTO unindexed SELECT g, c::cpt_code FROM generate_series(81, 90) g, unnest('{20933,27645}'::text[]) c;
DELETE FROM unindexed WHERE claim_id = 85 AND code = '27645';
COMMIT;
SELECT count(*) AS lines, count(DISTINCT claim_id) AS claims FROM unindexed;
SELECT * FROM cpt_rules.addon_rule_violations('unindexed', 'code', '{claim_id}');

-- a parallel query's workers read the rules too, right after a rule change
CREATE TABLE par AS SELECT g, (ARRAY['20933', '99213'])[1 + g % 2]::cpt_code AS code FROM generate_series(1, 20000) g;
ANALYZE par;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
BEGIN;
INSERT INTO cpt_rules.payer_pair (addon, primary_code) VALUES ('0054T', '99213');
SELECT count(*) FILTER (WHERE is_addon(code)) AS addons, count(*) FILTER (WHERE valid_pairing('0054T', code)) AS pairs FROM par;
ROLLBACK;
SELECT count(*) FILTER (WHERE valid_pairing('0054T', code)) AS pairs FROM par;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- refreshing: an empty file is refused; a rule change that breaks stored claims says how many
CREATE TEMP TABLE aoc_empty (LIKE cpt_rules.cms_aoc_file);
SELECT count(*) FROM cpt_rules.refresh_cms_edits('aoc_empty');
SELECT count(*) FROM cpt_rules.aoc_edit;
INSERT INTO claim_lines (claim_id, code) VALUES (10, '27365'), (10, '20933');
CREATE TEMP TABLE aoc_in (LIKE cpt_rules.cms_aoc_file);
INSERT INTO aoc_in SELECT aoc_type, addon, addon_deleted, coalesce(primary_code::text, 'CCCCC'), primary_deleted,
						  edit_effective, edit_deleted, notes
  FROM cpt_rules.aoc_edit WHERE NOT (addon = '20933' AND primary_code = '27365');
SELECT change, addon, primary_code FROM cpt_rules.refresh_cms_edits('aoc_in');
DELETE FROM cpt_rules.aoc_edit_added;
DELETE FROM cpt_rules.aoc_edit_removed;
-- allow_shrink lets a deliberate shrink through
BEGIN;
SELECT count(*) FROM cpt_rules.refresh_cms_edits('aoc_empty', allow_shrink => true);
SELECT count(*) FROM cpt_rules.aoc_edit;
ROLLBACK;

-- DROP EXTENSION without CASCADE is refused while rules and cpt_code columns
-- exist (the upgrade suite drops it cleanly in a database of its own)
BEGIN;
DROP EXTENSION cpt_rules;
ROLLBACK;

RESET search_path;
DROP SCHEMA life CASCADE;
