-- Enforcing without blocking writers: a rule enforced NOT VALID checks new
-- writes at once; validate_addon_rule() validates the lines already there
-- later, under SHARE UPDATE EXCLUSIVE (concurrency: validate-online.spec).
\set VERBOSITY default
SET client_min_messages = notice;
CREATE EXTENSION IF NOT EXISTS cpt_rules;
SET search_path = public, cpt_rules;

CREATE TABLE claims (claim_id bigint, dos date, code text) PARTITION BY RANGE (dos);
CREATE TABLE claims_h1 PARTITION OF claims FOR VALUES FROM ('2026-01-01') TO ('2026-07-01');
CREATE TABLE claims_h2 PARTITION OF claims FOR VALUES FROM ('2026-07-01') TO ('2027-01-01');
CREATE INDEX ON claims (claim_id);
INSERT INTO claims VALUES (1, '2026-02-01', '27365'), (1, '2026-08-01', '20933'),
	(2, '2026-03-01', '20933');							-- stored before the rule
SELECT enforce_addon_rule('claims', 'code', '{claim_id}', validate => false);
SELECT rule_name, enabled, validated FROM enforced_rules WHERE table_name = 'claims'::regclass;
-- the mark is the triggers' second argument, on every clone, and pg_dump keeps it
SELECT tgrelid::regclass AS table, tgname, pg_get_triggerdef(oid) LIKE '%''claims_addon_rule'', ''NOT VALID'')' AS marked
  FROM pg_trigger WHERE tgname LIKE 'claims_addon_rule_%' AND tgname <> 'claims_addon_rule_truncate'
 ORDER BY 1, 2;
-- new writes are checked at once
INSERT INTO claims VALUES (3, '2026-04-01', '20933');
UPDATE claims SET code = 'XXXXX' WHERE claim_id = 1 AND code = '27365';
-- a partition attached or made now carries the mark too
CREATE TABLE claims_2027 PARTITION OF claims FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
SELECT count(*) AS marked_triggers_2027 FROM pg_trigger
 WHERE tgrelid = 'claims_2027'::regclass
   AND CASE WHEN tgfoid = 'cpt_rules.addon_rule_trigger()'::regprocedure
			THEN NOT cpt_rules.rule_trigger_validated(oid) END;
-- validating finds the line stored before: the rule stays NOT VALID
SELECT * FROM validate_addon_rule('claims');
SELECT rule_name, enabled, validated FROM enforced_rules WHERE table_name = 'claims'::regclass;
DELETE FROM claims WHERE claim_id = 2;
SELECT * FROM validate_addon_rule('claims');
SELECT rule_name, enabled, validated FROM enforced_rules WHERE table_name = 'claims'::regclass;
SELECT count(*) AS marked_triggers FROM pg_trigger
 WHERE CASE WHEN tgfoid = 'cpt_rules.addon_rule_trigger()'::regprocedure
			THEN NOT cpt_rules.rule_trigger_validated(oid) END;
-- nothing left to validate; a name that is no rule
SELECT * FROM validate_addon_rule('claims');
SELECT * FROM validate_addon_rule('claims', 'no_such_rule');
SELECT * FROM validate_addon_rule(NULL);

-- the mark changed on a partitioned table locked ONLY: its partitions are
-- locked as it is before their triggers change
BEGIN;
LOCK TABLE ONLY claims IN SHARE UPDATE EXCLUSIVE MODE;
SELECT set_rule_validated('claims', 'claims_addon_rule', false);
SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE l.pid = pg_backend_pid() AND c.relname LIKE 'claims%' AND c.relkind = 'r' ORDER BY 1;
ROLLBACK;

-- enforcing it again with validation validates a NOT VALID rule
CREATE TABLE online_lines (claim_id int, code cpt_code);
INSERT INTO online_lines VALUES (1, '27365'), (1, '20933');
SELECT enforce_addon_rule('online_lines', 'code', '{claim_id}', validate => false);
SELECT enforce_addon_rule('online_lines', 'code', '{claim_id}', validate => false);
SELECT enforce_addon_rule('online_lines', 'code', '{claim_id}');
SELECT validated FROM enforced_rules WHERE table_name = 'online_lines'::regclass;

-- a disabled rule enabled again NOT VALID, then validated; a disabled
-- rule cannot be validated (nothing checks the writes racing it)
ALTER TABLE online_lines DISABLE TRIGGER online_lines_addon_rule_leaving;
DELETE FROM online_lines WHERE code = '27365';
SELECT * FROM validate_addon_rule('online_lines');
SELECT enforce_addon_rule('online_lines', 'code', '{claim_id}', validate => false);
SELECT enabled, validated FROM enforced_rules WHERE table_name = 'online_lines'::regclass;
SELECT * FROM validate_addon_rule('online_lines');
INSERT INTO online_lines VALUES (1, '27365');
SELECT * FROM validate_addon_rule('online_lines');
SELECT enabled, validated FROM enforced_rules WHERE table_name = 'online_lines'::regclass;

-- the mark changes only under a lock that keeps DDL out, and only by the owner
SELECT set_rule_validated('online_lines', 'online_lines_addon_rule', false);
CREATE ROLE online_clerk;
GRANT USAGE ON SCHEMA cpt_rules TO online_clerk;
GRANT ALL ON online_lines TO online_clerk;
BEGIN;
SET LOCAL ROLE online_clerk;
LOCK TABLE online_lines IN SHARE UPDATE EXCLUSIVE MODE;
SELECT set_rule_validated('online_lines', 'online_lines_addon_rule', false);
ROLLBACK;
BEGIN;
LOCK TABLE online_lines IN SHARE UPDATE EXCLUSIVE MODE;
SELECT set_rule_validated('online_lines', 'online_lines_addon_rule', false);
SELECT set_rule_validated('online_lines', 'online_lines_addon_rule', false);
SELECT validated FROM enforced_rules WHERE table_name = 'online_lines'::regclass;
ROLLBACK;

-- progress NOTICEs are off at 0; the setting is the module's own
SET cpt_rules.progress_interval = 0;
SHOW cpt_rules.progress_interval;
SET cpt_rules.progress_interval = '10s';
SET cpt_rules.no_such_setting = 1;

DROP TABLE claims, online_lines;
REVOKE ALL ON SCHEMA cpt_rules FROM online_clerk;
DROP ROLE online_clerk;
