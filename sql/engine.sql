-- The rule engine's own promises: the triggers' WHEN clauses are written by
-- the code that reads them back, and the cached state follows the catalogs
-- precisely (a catalog change elsewhere keeps it, the extension made again
-- drops it).
\set VERBOSITY default
SET client_min_messages = warning;
SET datestyle = ISO;
CREATE EXTENSION IF NOT EXISTS cpt_rules;
SET search_path = public, cpt_rules;

-- 1. The markers' layout: code, date of service (or NULL::date), groups;
-- "moving" takes each as an (OLD, NEW) pair.
SELECT cpt_rules.rule_marker_call('arriving', 'code', 'dos', '{claim_id}');
SELECT cpt_rules.rule_marker_call('moving', 'code', NULL, '{patient,"Rendering NPI"}');
SELECT cpt_rules.rule_marker_call('leaving', 'Code', 'dos', '{a,b,c}');
SELECT cpt_rules.rule_marker_call('starting', 'code', 'dos', '{claim_id}');
SELECT cpt_rules.rule_marker_call('arriving', 'code', 'dos', '{}');
SELECT cpt_rules.rule_marker_call('arriving', 'code', 'dos', '{a,b,c,d,e,f,g,h,i}');
SELECT cpt_rules.rule_marker_call('arriving', NULL, 'dos', '{claim_id}');
-- what enforce_addon_rule makes is what rule_marker_call writes
CREATE TABLE engine_lines ("Claim" bigint, dos date, code cpt_code);
CREATE INDEX ON engine_lines ("Claim");
SELECT cpt_rules.enforce_addon_rule('engine_lines', code => 'code', group_by => '{Claim}', service_date => 'dos');
-- (pg_get_triggerdef writes new. and old. in lower case, and leaves out a
-- schema on the search path)
SET search_path = public;
SELECT t.tgname, position(lower(cpt_rules.rule_marker_call(substring(t.tgname FROM '_([a-z]+)$'), 'code', 'dos', '{Claim}'))
						  IN lower(pg_get_triggerdef(t.oid))) > 0 AS written_so
  FROM pg_trigger t WHERE t.tgrelid = 'engine_lines'::regclass AND NOT t.tgisinternal ORDER BY 1;
SET search_path = public, cpt_rules;
-- a marker called by hand with another layout is refused
SELECT cpt_rules.addon_rule_arriving('20933'::cpt_code, '2024-01-01'::date);
SELECT cpt_rules.addon_rule_moving('20933'::cpt_code, '20933'::cpt_code, NULL::date, NULL::date, 1);

-- 2. A warm backend: catalog changes that are not the rule's keep it right.
INSERT INTO engine_lines VALUES (1, '2024-01-05', '27365'), (1, '2024-01-05', '20933');
CREATE TEMP TABLE scratch (x int);
CREATE TABLE other_table (x int);
CREATE DOMAIN some_domain AS int;
INSERT INTO engine_lines VALUES (2, '2024-01-05', '20933');                   -- refused
DELETE FROM engine_lines WHERE code = '27365';                               -- refused
INSERT INTO engine_lines VALUES (3, '2024-01-05', '27365'), (3, '2024-01-05', '20933');

-- 3. One reporter: a row's error shows the codes and the group's values
-- only to a role that may read the rule's columns (SELECT on the table, or
-- on each of those columns), as a foreign key's error shows its key.
CREATE TABLE engine_priv (claim_id bigint, npi text, dos date, code cpt_code);
CREATE INDEX ON engine_priv (claim_id);
SELECT cpt_rules.enforce_addon_rule('engine_priv', code => 'code', group_by => '{claim_id}', service_date => 'dos');
CREATE ROLE engine_col_reader;
CREATE ROLE engine_blind_writer;
GRANT INSERT ON engine_priv TO engine_col_reader, engine_blind_writer;
GRANT SELECT (claim_id, dos, code) ON engine_priv TO engine_col_reader;
SET ROLE engine_col_reader;
INSERT INTO engine_priv VALUES (1, 'A', '2024-01-05', '20933');               -- refused, shown
RESET ROLE;
SET ROLE engine_blind_writer;
INSERT INTO engine_priv VALUES (1, 'A', '2024-01-05', '20933');               -- refused, not shown
RESET ROLE;
REVOKE SELECT (dos) ON engine_priv FROM engine_col_reader;
SET ROLE engine_col_reader;
INSERT INTO engine_priv VALUES (1, 'A', '2024-01-05', '20933');               -- refused, not shown
RESET ROLE;
DROP TABLE engine_priv;
DROP ROLE engine_col_reader, engine_blind_writer;

-- 4. The extension dropped and made again in the same session (in a
-- database of its own): a new cpt_code type, which the rule's columns must
-- be of, and a new rule on a table of the same name.
DROP TABLE engine_lines, other_table, scratch;
DROP DOMAIN some_domain;
CREATE DATABASE cpt_rules_engine;
\set regress_db :DBNAME
\c cpt_rules_engine
SET datestyle = ISO;
SET client_min_messages = warning;
CREATE EXTENSION cpt_rules;
CREATE TABLE engine_lines ("Claim" bigint, dos date, code cpt_code);
CREATE INDEX ON engine_lines ("Claim");
SELECT cpt_rules.enforce_addon_rule('engine_lines', code => 'code', group_by => '{Claim}', service_date => 'dos');
INSERT INTO engine_lines VALUES (1, '2024-01-05', '27365'), (1, '2024-01-05', '20933');
INSERT INTO engine_lines VALUES (2, '2024-01-05', '20933');                   -- refused
DROP TABLE engine_lines;
DROP EXTENSION cpt_rules;
CREATE EXTENSION cpt_rules;
CREATE TABLE engine_lines ("Claim" bigint, dos date, code cpt_code);
CREATE INDEX ON engine_lines ("Claim");
SELECT cpt_rules.enforce_addon_rule('engine_lines', code => 'code', group_by => '{Claim}', service_date => 'dos');
INSERT INTO engine_lines VALUES (1, '2024-01-05', '27365'), (1, '2024-01-05', '20933');
INSERT INTO engine_lines VALUES (2, '2024-01-05', '20933');                   -- refused
DELETE FROM engine_lines WHERE code = '27365';                               -- refused
\c :regress_db
DROP DATABASE cpt_rules_engine;
