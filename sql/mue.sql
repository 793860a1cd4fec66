-- Medically unlikely edits: the shipped practitioner table, lookups by date
-- of service, refresh from CMS's CSV as published, and the audit.
\set VERBOSITY default
SET client_min_messages = notice;
SET datestyle = ISO;
CREATE EXTENSION IF NOT EXISTS cpt_rules;
SET search_path = public, cpt_rules;

-- the shipped table: 15,162 codes in force from 2026-07-01
SELECT * FROM mue_quarter;
SELECT count(*), count(DISTINCT code), count(*) FILTER (WHERE mue_value = 0) AS mue_zero,
	   count(*) FILTER (WHERE indicator = 1) AS i1, count(*) FILTER (WHERE indicator = 2) AS i2,
	   count(*) FILTER (WHERE indicator = 3) AS i3
  FROM mue_edit;
SELECT c, m.* FROM unnest('{20933,27447,99213}'::cpt_code[]) c, mue(c, '2026-08-01') m;
-- before the table's first date, and a code absent from it: no known limit
SELECT count(*) FROM mue('20933', '2026-06-30');
SELECT count(*) FROM mue('J3490', '2026-08-01');
SELECT count(*) FROM mue('20933', '2026-08-01', 'dme');

-- CMS's CSV as published (Latin-1, the notice record, the two-line header)
CREATE TEMP TABLE mue_in (LIKE cpt_rules.cms_mue_file);
\copy mue_in FROM 'test/data/MCR_MUE_PractitionerServices_excerpt_Eff_07-01-2026.csv' WITH (FORMAT csv, ENCODING 'LATIN1')
SELECT count(*) AS records FROM mue_in;
SELECT hcpcs_code, mue_value, indicator FROM mue_in ORDER BY ctid LIMIT 4 OFFSET 1;
-- the excerpt is no full table: refused unless told
SELECT * FROM refresh_mue_edits('mue_in', 'practitioner', '2026-10-01');
-- the next quarter: 99213 raised to 3, 20933 now a line edit, 0001U gone
UPDATE mue_in SET mue_value = '3' WHERE hcpcs_code = '99213';
UPDATE mue_in SET indicator = '1 Line Edit' WHERE hcpcs_code = '20933';
DELETE FROM mue_in WHERE hcpcs_code = '0001U';
CREATE TEMP TABLE changes AS
SELECT * FROM refresh_mue_edits('mue_in', 'practitioner', '2026-10-01', allow_shrink => true);
SELECT change, count(*) FROM changes GROUP BY change ORDER BY change;
SELECT * FROM changes WHERE change <> 'removed' OR code = '0001U';
SELECT setting, effective, ends, source, codes FROM mue_quarter ORDER BY effective;
-- each claim judged by the table in force on its date of service
SELECT d, m.mue_value, m.indicator, m.effective
  FROM unnest('{2026-09-30,2026-10-01}'::date[]) d, mue('99213', d) m;
SELECT count(*) AS known_limit FROM mue('0001U', '2026-10-01');
SELECT count(*) AS known_limit FROM mue('0001U', '2026-09-30');
-- loading the same quarter again replaces it, and says what changed
UPDATE mue_in SET mue_value = '4' WHERE hcpcs_code = '99213';
SELECT * FROM refresh_mue_edits('mue_in', 'practitioner', '2026-10-01', allow_shrink => true);

-- every record checked first; nothing changes on a bad one
INSERT INTO mue_in VALUES ('2093X', '1', '2 Date of Service Edit: Policy', 'x'),
	('27447', 'one', '2', 'x'), ('99214', '1', '4 Something', 'x'), ('99213', '1', '3', 'again');
SELECT * FROM refresh_mue_edits('mue_in', 'practitioner', '2027-01-01', allow_shrink => true);
SELECT count(*) FROM mue_quarter;
-- the setting must match the file's own header, the date be a quarter's first day
DELETE FROM mue_in WHERE rationale IN ('x', 'again');
SELECT * FROM refresh_mue_edits('mue_in', 'outpatient hospital', '2027-01-01');
UPDATE mue_in SET mue_value = 'DME Supplier Services MUE Values' WHERE mue_value = 'Practitioner Services MUE Values';
SELECT * FROM refresh_mue_edits('mue_in', 'dme', '2027-01-15');
SELECT count(*) FROM refresh_mue_edits('mue_in', 'dme', '2027-01-01');
SELECT setting, effective, codes FROM mue_quarter ORDER BY setting, effective;
SELECT * FROM refresh_mue_edits('mue_in', 'hospice', '2027-01-01');
-- a file without its header
DELETE FROM mue_in WHERE hcpcs_code ILIKE 'HCPCS%';
SELECT * FROM refresh_mue_edits('mue_in', 'dme', '2027-04-01');

-- The audit.  Lines of a Tuva-shaped table: units in a numeric column
-- (NULL bills one unit), text codes (junk is no code), a from/to line.
CREATE TABLE medical_claim (claim_id text, claim_line_number int, person_id text, rendering_npi text,
							claim_line_start_date date, claim_line_end_date date, hcpcs_code text,
							service_unit_quantity numeric);
INSERT INTO medical_claim VALUES
	('A', 1, 'p1', 'n1', '2026-08-03', NULL, '20933', 1),		-- MUE 1 (indicator 3) per day:
	('A', 2, 'p1', 'n1', '2026-08-03', NULL, ' 20933', 1),		--   two lines, 2 units
	('B', 1, 'p2', 'n1', '2026-08-03', NULL, '99213', 2),		-- MUE 2: at the limit
	('C', 1, 'p3', 'n1', '2026-08-03', NULL, '27447', NULL),	-- NULL: one unit
	('C', 2, 'p3', 'n1', '2026-08-04', NULL, '27447', 1),		-- another day
	('C', 3, 'p3', 'n2', '2026-08-03', NULL, '27447', 1),		-- another practitioner
	('D', 1, 'p4', 'n1', '2026-08-03', '2026-08-06', '99213', 12),	-- 12 units over 4 days
	('E', 1, 'p5', 'n1', '2026-08-03', NULL, 'XXXXX', 99),		-- junk
	('F', 1, 'p6', 'n1', '2026-08-03', NULL, '99486', 5),		-- MUE 4, a line edit: over
	('F', 2, 'p6', 'n1', '2026-08-03', NULL, '99486', 4),		--   at the limit
	('G', 1, 'p7', 'n1', '2026-10-05', NULL, '99213', 3),		-- 3 units: over in Q3, not in Q4
	('G', 2, 'p7', 'n1', '2026-09-30', NULL, '99213', 3),
	('H', 1, 'p8', 'n1', '2026-10-05', NULL, '20933', 2);		-- a line edit from Q4: over
SELECT group_key, billed_code, date_of_service, indicator, units_billed, mue_value, lines,
	   line_table, line_ctid IS NOT NULL AS has_line
  FROM mue_violations('medical_claim', 'hcpcs_code', 'service_unit_quantity',
					  '{person_id,rendering_npi}', 'claim_line_start_date');
-- the from/to line's units divided over its days: 3 a day, over on each
SELECT date_of_service, units_billed, mue_value
  FROM mue_violations('medical_claim', 'hcpcs_code', 'service_unit_quantity',
					  '{person_id,rendering_npi}', 'claim_line_start_date',
					  service_end_date => 'claim_line_end_date')
 WHERE group_key->>'person_id' = 'p4';
-- only the indicators asked for
SELECT billed_code, indicator FROM mue_violations('medical_claim', 'hcpcs_code', 'service_unit_quantity',
	'{person_id,rendering_npi}', 'claim_line_start_date', indicators => '{2}');
SELECT DISTINCT indicator FROM mue_violations('medical_claim', 'hcpcs_code', 'service_unit_quantity',
	'{person_id,rendering_npi}', 'claim_line_start_date', indicators => '{1}');
-- a cpt_code column gives the same answer
CREATE TABLE typed AS SELECT person_id, rendering_npi, claim_line_start_date,
	cpt_code_or_null(hcpcs_code) AS code, service_unit_quantity FROM medical_claim;
SELECT (SELECT count(*) FROM mue_violations('typed', 'code', 'service_unit_quantity',
			'{person_id,rendering_npi}', 'claim_line_start_date')) =
	   (SELECT count(*) FROM mue_violations('medical_claim', 'hcpcs_code', 'service_unit_quantity',
			'{person_id,rendering_npi}', 'claim_line_start_date')) AS same;
-- argument errors
SELECT * FROM mue_violations('medical_claim', 'hcpcs_code', 'claim_id', '{person_id}', 'claim_line_start_date');
SELECT * FROM mue_violations('medical_claim', 'hcpcs_code', 'nope', '{person_id}', 'claim_line_start_date');
SELECT * FROM mue_violations('medical_claim', 'hcpcs_code', 'service_unit_quantity', '{person_id}',
							 'claim_line_start_date', setting => 'hospice');
SELECT * FROM mue_violations('medical_claim', 'claim_line_number', 'service_unit_quantity', '{person_id}',
							 'claim_line_start_date');
DROP TABLE medical_claim, typed;
-- the loaded tables go back to the shipped one
DELETE FROM cpt_rules.mue_edit_loaded;
DELETE FROM cpt_rules.mue_file;
SELECT setting, effective, source FROM mue_quarter;
