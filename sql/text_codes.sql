-- Rules on the code columns warehouses already have: text, varchar, char(n)
-- and domains over them, read as cpt_code input reads a value (case,
-- surrounding blanks); a value that is no code is neither an add-on nor a
-- primary.  The checks, the markers and the audit must read alike.
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cpt_rules;
SET search_path = public, cpt_rules;

SELECT v, cpt_code_or_null(v) AS code
  FROM unnest(ARRAY['20933', ' 20933 ', 'g0008', '0054t', '209331', 'XXXXX', '', '0450', E'\t27447\n']) v;
SELECT cpt_code_or_null(NULL) IS NULL AS null_is_null;

-- The Tuva shape: claim_id text, hcpcs_code text, junk in the feed.
CREATE TABLE medical_claim (claim_id text, claim_line_number int, person_id text,
							rendering_npi text, claim_line_start_date date, hcpcs_code text,
							service_unit_quantity numeric);
CREATE INDEX ON medical_claim (claim_id);
INSERT INTO medical_claim VALUES
	('A', 1, 'p1', 'n1', '2026-08-01', ' 27365', 1), ('A', 2, 'p1', 'n1', '2026-08-01', '20933 ', 1),
	('B', 1, 'p2', 'n1', '2026-08-01', 'XXXXX', 1), ('B', 2, 'p2', 'n1', '2026-08-01', '0450', 1),
	('B', 3, 'p2', 'n1', '2026-08-01', '', 1), ('B', 4, 'p2', 'n1', '2026-08-01', NULL, 1),
	('C', 1, 'p3', 'n1', '2026-08-01', 'j3490', 1), ('C', 2, 'p3', 'n1', '2026-08-01', '2736S', 1);
-- an add-on whose primary is junk: the audit and enforcing both find it
INSERT INTO medical_claim VALUES ('D', 1, 'p4', 'n1', '2026-08-01', '20933', 1),
	('D', 2, 'p4', 'n1', '2026-08-01', '27365x', 1);
SELECT group_key, addon, date_of_service
  FROM addon_rule_violations('medical_claim', 'hcpcs_code', '{claim_id}', 'claim_line_start_date');
SELECT enforce_addon_rule('medical_claim', code => 'hcpcs_code', group_by => '{claim_id}',
						  service_date => 'claim_line_start_date');
-- lower case and blanks read as the code they are: a primary
UPDATE medical_claim SET hcpcs_code = ' 27365 ' WHERE claim_id = 'D' AND claim_line_number = 2;
SELECT enforce_addon_rule('medical_claim', code => 'hcpcs_code', group_by => '{claim_id}',
						  service_date => 'claim_line_start_date');
SELECT code_column, group_by FROM enforced_rules WHERE table_name = 'medical_claim'::regclass;

-- junk is no add-on: nothing to check
INSERT INTO medical_claim VALUES ('E', 1, 'p5', 'n1', '2026-08-01', '20933X', 1),
	('E', 2, 'p5', 'n1', '2026-08-01', 'ZZZZZ', 1), ('E', 3, 'p5', 'n1', '2026-08-01', '', 1);
-- junk is no primary either
INSERT INTO medical_claim VALUES ('F', 1, 'p6', 'n1', '2026-08-01', '20933', 1),
	('F', 2, 'p6', 'n1', '2026-08-01', '2736', 1);
-- a lower-case add-on, case read as cpt_code input reads it
INSERT INTO medical_claim VALUES ('F', 1, 'p6', 'n1', '2026-08-01', 'g0289', 1);
-- its primary turned to junk, or deleted: refused
UPDATE medical_claim SET hcpcs_code = '2736S' WHERE claim_id = 'A' AND claim_line_number = 1;
UPDATE medical_claim SET hcpcs_code = NULL WHERE claim_id = 'A' AND claim_line_number = 1;
DELETE FROM medical_claim WHERE claim_id = 'A' AND claim_line_number = 1;
-- junk turned into an add-on: checked
UPDATE medical_claim SET hcpcs_code = '20933' WHERE claim_id = 'B' AND claim_line_number = 1;
-- junk turned into an add-on beside a new primary in one transaction: fine
BEGIN;
UPDATE medical_claim SET hcpcs_code = '20933' WHERE claim_id = 'B' AND claim_line_number = 1;
UPDATE medical_claim SET hcpcs_code = '27365' WHERE claim_id = 'B' AND claim_line_number = 2;
COMMIT;
-- a spelling change of the same code: still the add-on, still its primary
UPDATE medical_claim SET hcpcs_code = ' 27365  ' WHERE claim_id = 'B' AND claim_line_number = 2;
-- a long junk value, stored out of line
INSERT INTO medical_claim VALUES ('G', 1, 'p7', 'n1', '2026-08-01', repeat('20933', 5000), 1);
SELECT count(*) AS violations
  FROM addon_rule_violations('medical_claim', 'hcpcs_code', '{claim_id}', 'claim_line_start_date');

-- a second rule by patient, practitioner and date of service, on the same column
SELECT enforce_addon_rule('medical_claim', code => 'hcpcs_code',
						  group_by => '{person_id,rendering_npi,claim_line_start_date}',
						  constraint_name => 'by_encounter');
INSERT INTO medical_claim VALUES ('A', 3, 'p1', 'n1', '2026-08-01', '20933', 1);
INSERT INTO medical_claim VALUES ('A', 4, 'p9', 'n1', '2026-08-01', '20933', 1);

-- varchar(n), char(n) and a domain over text
CREATE DOMAIN hcpcs AS text CHECK (length(VALUE) <= 7);
CREATE TABLE lines_vc (claim text, code varchar(7));
CREATE TABLE lines_ch (claim text, code char(7));
CREATE TABLE lines_dom (claim text, code hcpcs);
SELECT enforce_addon_rule('lines_vc', 'code', '{claim}');
SELECT enforce_addon_rule('lines_ch', 'code', '{claim}');
SELECT enforce_addon_rule('lines_dom', 'code', '{claim}');
INSERT INTO lines_vc VALUES ('a', '20933'), ('a', '27365');
INSERT INTO lines_ch VALUES ('a', '20933'), ('a', '27365');	-- stored blank-padded
INSERT INTO lines_dom VALUES ('a', '20933'), ('a', '27365');
INSERT INTO lines_vc VALUES ('b', '20933'), ('b', '2736');
INSERT INTO lines_ch VALUES ('b', '20933'), ('b', '2736');
INSERT INTO lines_dom VALUES ('b', '20933'), ('b', '2736');
SELECT count(*) FROM addon_rule_violations('lines_ch', 'code', '{claim}');
DROP TABLE lines_vc, lines_ch, lines_dom;
DROP DOMAIN hcpcs;

-- a partitioned table whose text codes sit in partitions of their own
-- column order, claims grouped across partitions by date
CREATE TABLE claim_lines (claim text, dos date, code text) PARTITION BY RANGE (dos);
CREATE TABLE claim_lines_aug (code text, dos date, claim text);
ALTER TABLE claim_lines ATTACH PARTITION claim_lines_aug FOR VALUES FROM ('2026-08-01') TO ('2026-09-01');
CREATE TABLE claim_lines_sep PARTITION OF claim_lines FOR VALUES FROM ('2026-09-01') TO ('2026-10-01');
CREATE INDEX ON claim_lines (claim);
INSERT INTO claim_lines VALUES ('a', '2026-08-31', '27365'), ('a', '2026-09-01', '20933'),
	('b', '2026-08-31', 'junk!'), ('b', '2026-09-02', 'ZZZZZ');
SELECT enforce_addon_rule('claim_lines', 'code', '{claim}');
-- the primary in the other partition leaves, as junk or as a row
UPDATE claim_lines SET code = '2736?' WHERE claim = 'a' AND dos = '2026-08-31';
DELETE FROM claim_lines WHERE claim = 'a' AND dos = '2026-08-31';
-- an add-on arriving where only junk is
INSERT INTO claim_lines VALUES ('b', '2026-09-03', ' 20933');
-- a partition with junk and an add-on cannot come in
CREATE TABLE claim_lines_oct (claim text, dos date, code text);
INSERT INTO claim_lines_oct VALUES ('c', '2026-10-01', '20933'), ('c', '2026-10-01', 'x27365');
ALTER TABLE claim_lines ATTACH PARTITION claim_lines_oct FOR VALUES FROM ('2026-10-01') TO ('2026-11-01');
UPDATE claim_lines_oct SET code = '27365' WHERE code = 'x27365';
ALTER TABLE claim_lines ATTACH PARTITION claim_lines_oct FOR VALUES FROM ('2026-10-01') TO ('2026-11-01');
DROP TABLE claim_lines;

-- the two readings agree: over generated claims with junk, lower case and
-- blanks, the audit of the text column finds exactly the lines that the
-- audit of the same codes as cpt_code finds, and enforcing refuses the
-- text column as it refuses the typed one
CREATE TABLE gen_text (claim int, code text);
INSERT INTO gen_text
SELECT g / 4, (ARRAY['20933', ' 20933', '27365', '27365 ', 'g0289', 'G0289', '29880', '2736S',
					 'XXXXX', '', '0450', '99213', '209331'])[1 + (g * 7919) % 13]
  FROM generate_series(1, 4000) g;
CREATE TABLE gen_typed AS SELECT claim, cpt_code_or_null(code) AS code FROM gen_text;
SELECT count(*) > 0 AS some_violations,
	   count(*) = (SELECT count(*) FROM addon_rule_violations('gen_typed', 'code', '{claim}')) AS same_count
  FROM addon_rule_violations('gen_text', 'code', '{claim}');
SELECT group_key, addon FROM addon_rule_violations('gen_text', 'code', '{claim}')
EXCEPT
SELECT group_key, addon FROM addon_rule_violations('gen_typed', 'code', '{claim}');
SELECT enforce_addon_rule('gen_text', 'code', '{claim}');
SELECT enforce_addon_rule('gen_typed', 'code', '{claim}');
-- without the violating claims, both are enforced, and the triggers judge
-- each new claim of the same codes alike
DELETE FROM gen_text WHERE claim IN (SELECT (group_key->>'claim')::int
									   FROM addon_rule_violations('gen_text', 'code', '{claim}'));
DELETE FROM gen_typed WHERE claim IN (SELECT (group_key->>'claim')::int
										FROM addon_rule_violations('gen_typed', 'code', '{claim}'));
SELECT enforce_addon_rule('gen_text', 'code', '{claim}');
SELECT enforce_addon_rule('gen_typed', 'code', '{claim}');
CREATE FUNCTION both_accept(codes text[]) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	v_text boolean := true;
	v_typed boolean := true;
BEGIN
	BEGIN
		INSERT INTO gen_text SELECT -1, c FROM unnest(codes) c;
		SET CONSTRAINTS ALL IMMEDIATE;
		RAISE EXCEPTION USING ERRCODE = 'P0001';
	EXCEPTION WHEN check_violation THEN v_text := false; WHEN raise_exception THEN NULL;
	END;
	SET CONSTRAINTS ALL DEFERRED;
	BEGIN
		INSERT INTO gen_typed SELECT -1, cpt_code_or_null(c) FROM unnest(codes) c;
		SET CONSTRAINTS ALL IMMEDIATE;
		RAISE EXCEPTION USING ERRCODE = 'P0001';
	EXCEPTION WHEN check_violation THEN v_typed := false; WHEN raise_exception THEN NULL;
	END;
	SET CONSTRAINTS ALL DEFERRED;
	RETURN CASE WHEN v_text <> v_typed THEN 'DISAGREE' WHEN v_text THEN 'accepted' ELSE 'refused' END;
END $$;
SELECT c, both_accept(c)
  FROM (VALUES (ARRAY['20933']), (ARRAY['20933 ', ' 27365']), (ARRAY['g0289', '29880']),
			   (ARRAY['G0289 ', '2988O']), (ARRAY['20933', 'XXXXX', '']), (ARRAY['209331', 'junk']),
			   (ARRAY[' 20933', '27365', 'g0289'])) v(c);
DROP FUNCTION both_accept(text[]);
DROP TABLE gen_text, gen_typed;

-- other types are refused, with the types that are not
CREATE TABLE int_codes (claim text, code integer);
SELECT enforce_addon_rule('int_codes', 'code', '{claim}');
SELECT addon_rule_violations('int_codes', 'code', '{claim}');
DROP TABLE int_codes;

-- the code column's type cannot change under the rule
ALTER TABLE medical_claim ALTER COLUMN hcpcs_code TYPE varchar(20);
DROP TABLE medical_claim;
