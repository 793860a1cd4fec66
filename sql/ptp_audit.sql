-- The PTP audit: pairs of lines of one patient, provider and date of service
-- that an edit in force pairs, which line is denied and whether a modifier
-- bypassed the edit; text and cpt_code columns, modifiers from several
-- columns or an array, quarters judged by date, partitions; checked against
-- ptp() called for every pair of a generated table.
\set VERBOSITY default
SET client_min_messages = warning;
SET datestyle = ISO;
CREATE EXTENSION IF NOT EXISTS cpt_rules;
SET client_min_messages = notice;
SET search_path = public, cpt_rules;

-- the 25 real records of 2026 Q3 (0001A's edits in force 2022-01-01 to
-- 2023-12-30: with 36591 indicator 0, with 99213 indicator 1, with 90473
-- indicator 9), and a later quarter in which 0001A/99213 is not deleted
CREATE TEMP TABLE ptp_in (LIKE cpt_rules.cms_ptp_file);
\copy ptp_in FROM 'test/data/ccipra-v322r0-f1.excerpt.txt' WITH (FORMAT csv, DELIMITER E'\t', ENCODING 'LATIN1')
SET client_min_messages = warning;
SELECT edits FROM refresh_ptp_edits('ptp_in', 'practitioner', '2026-07-01');
UPDATE ptp_in SET deleted = '*' WHERE column1 = '0001A' AND column2 = '99213';
SELECT edits FROM refresh_ptp_edits('ptp_in', 'practitioner', '2026-10-01');
SET client_min_messages = notice;

-- a Tuva-shaped table: text codes with junk, five modifier columns
CREATE TABLE medical_claim (claim_id text, claim_line_number int, person_id text, rendering_npi text,
	claim_line_start_date date, hcpcs_code text, hcpcs_modifier_1 text, hcpcs_modifier_2 text,
	hcpcs_modifier_3 text, hcpcs_modifier_4 text, hcpcs_modifier_5 varchar(4));
INSERT INTO medical_claim VALUES
	-- indicator 0 (36591 denied whatever the modifiers) and 1 (99213 denied)
	('c1', 1, 'p1', 'n1', '2023-03-01', '0001A', NULL, NULL, NULL, NULL, NULL),
	('c1', 2, 'p1', 'n1', '2023-03-01', '99213', NULL, NULL, NULL, NULL, NULL),
	('c1', 3, 'p1', 'n1', '2023-03-01', ' 36591', '59', NULL, NULL, NULL, NULL),
	-- a PTP-associated modifier on either line bypasses indicator 1, in any
	-- column, any case, blanks around it; 22, 76 and 77 do not
	('c2', 1, 'p2', 'n1', '2023-03-01', '0001a', NULL, NULL, NULL, NULL, ' xu'),
	('c2', 2, 'p2', 'n1', '2023-03-01', '99213', '22', '76', '77', NULL, NULL),
	('c3', 1, 'p3', 'n1', '2023-03-01', '0001A', '22', NULL, NULL, NULL, NULL),
	('c3', 2, 'p3', 'n1', '2023-03-01', '99213', NULL, NULL, NULL, NULL, NULL),
	('c4', 1, 'p4', 'n1', '2023-03-01', '0001A', NULL, NULL, NULL, NULL, NULL),
	('c4', 2, 'p4', 'n1', '2023-03-01', '99213', NULL, NULL, NULL, 'RT', NULL),
	-- another provider, another day: no pair
	('c5', 1, 'p5', 'n1', '2023-03-01', '0001A', NULL, NULL, NULL, NULL, NULL),
	('c5', 2, 'p5', 'n2', '2023-03-01', '99213', NULL, NULL, NULL, NULL, NULL),
	('c6', 1, 'p6', 'n1', '2023-03-01', '0001A', NULL, NULL, NULL, NULL, NULL),
	('c6', 2, 'p6', 'n1', '2023-03-02', '99213', NULL, NULL, NULL, NULL, NULL),
	-- two claims of one patient, provider and day pair across the claims
	('c7', 1, 'p7', 'n1', '2023-03-01', '0001A', NULL, NULL, NULL, NULL, NULL),
	('c8', 1, 'p7', 'n1', '2023-03-01', '99213', NULL, NULL, NULL, NULL, NULL),
	-- indicator 9 never; outside the edit's dates none; junk is no code
	('c9', 1, 'p9', 'n1', '2023-03-01', '0001A', NULL, NULL, NULL, NULL, NULL),
	('c9', 2, 'p9', 'n1', '2023-03-01', '90473', NULL, NULL, NULL, NULL, NULL),
	('c9', 3, 'p9', 'n1', '2023-03-01', 'XXXXX', NULL, NULL, NULL, NULL, NULL),
	('c9', 4, 'p9', 'n1', '2023-03-01', '', NULL, NULL, NULL, NULL, NULL),
	('c9', 5, 'p9', 'n1', '2023-03-01', NULL, NULL, NULL, NULL, NULL, NULL),
	('c10', 1, 'p10', 'n1', '2021-12-31', '0001A', NULL, NULL, NULL, NULL, NULL),
	('c10', 2, 'p10', 'n1', '2021-12-31', '99213', NULL, NULL, NULL, NULL, NULL),
	('c11', 1, 'p11', 'n1', '2023-12-30', '0001A', NULL, NULL, NULL, NULL, NULL),
	('c11', 2, 'p11', 'n1', '2023-12-30', '99213', NULL, NULL, NULL, NULL, NULL),
	('c12', 1, 'p12', 'n1', '2023-12-31', '0001A', NULL, NULL, NULL, NULL, NULL),
	('c12', 2, 'p12', 'n1', '2023-12-31', '99213', NULL, NULL, NULL, NULL, NULL),
	-- judged by the later quarter, where 0001A/99213 is not deleted
	('c13', 1, 'p13', 'n1', '2026-10-05', '0001A', NULL, NULL, NULL, NULL, NULL),
	('c13', 2, 'p13', 'n1', '2026-10-05', '99213', NULL, NULL, NULL, NULL, NULL),
	('c14', 1, 'p14', 'n1', '2026-09-30', '0001A', NULL, NULL, NULL, NULL, NULL),
	('c14', 2, 'p14', 'n1', '2026-09-30', '99213', NULL, NULL, NULL, NULL, NULL),
	-- NULL patients group together, as the rules group them; the same code
	-- twice pairs with the other code once per line
	('c15', 1, NULL, 'n1', '2023-03-01', '0001A', NULL, NULL, NULL, NULL, NULL),
	('c15', 2, NULL, 'n1', '2023-03-01', '99213', NULL, NULL, NULL, NULL, NULL),
	('c16', 1, NULL, 'n1', '2023-03-01', '99213', NULL, NULL, NULL, NULL, NULL);
SELECT v.group_key, v.date_of_service, v.column1, v.column2, v.modifier_indicator, v.bypassed, v.bypass_modifiers,
	   c1.claim_id || '/' || c1.claim_line_number AS column1_line, c2.claim_id || '/' || c2.claim_line_number AS column2_line,
	   v.rationale
  FROM ptp_violations('medical_claim', 'hcpcs_code', '{person_id,rendering_npi}', 'claim_line_start_date',
					  modifiers => '{hcpcs_modifier_1,hcpcs_modifier_2,hcpcs_modifier_3,hcpcs_modifier_4,hcpcs_modifier_5}') v
  JOIN medical_claim c1 ON c1.ctid = v.column1_ctid
  JOIN medical_claim c2 ON c2.ctid = v.column2_ctid
 ORDER BY column1_line, column2_line;
-- without the modifier columns nothing is bypassed
SELECT count(*) FILTER (WHERE bypassed) AS bypassed, count(*) AS pairs
  FROM ptp_violations('medical_claim', 'hcpcs_code', '{person_id,rendering_npi}', 'claim_line_start_date');
-- grouped by claim instead: c7 and c8 no longer pair
SELECT count(*) FROM ptp_violations('medical_claim', 'hcpcs_code', '{claim_id}', 'claim_line_start_date')
 WHERE group_key = '{"claim_id": "c7"}' OR group_key = '{"claim_id": "c8"}';
-- another setting or program: no edits loaded, no pairs
SELECT count(*) FROM ptp_violations('medical_claim', 'hcpcs_code', '{person_id}', 'claim_line_start_date',
									setting => 'outpatient hospital');
SELECT count(*) FROM ptp_violations('medical_claim', 'hcpcs_code', '{person_id}', 'claim_line_start_date',
									program => 'medicaid');

-- modifiers in an array column (the PTP-associated ones listed in the
-- manual's order), codes as cpt_code, varchar and char(5)
CREATE TABLE lines_arr (patient int, npi text, dos date, code cpt_code, mods text[]);
INSERT INTO lines_arr VALUES (1, 'n', '2023-03-01', '0001A', '{LT,59}'), (1, 'n', '2023-03-01', '99213', NULL),
	(2, 'n', '2023-03-01', '0001A', '{}'), (2, 'n', '2023-03-01', '99213', '{NULL,rt}');
SELECT group_key, column1, column2, bypassed, bypass_modifiers
  FROM ptp_violations('lines_arr', 'code', '{patient,npi}', 'dos', modifiers => '{mods}') ORDER BY 1;
CREATE TABLE lines_vc (patient int, dos date, code varchar(8), code_c char(5), m1 char(2), mods varchar[]);
INSERT INTO lines_vc VALUES (1, '2023-03-01', '0001A', '0001A', NULL, '{}'), (1, '2023-03-01', '99213 ', '99213', '25', '{}');
SELECT column1, column2, bypassed, bypass_modifiers
  FROM ptp_violations('lines_vc', 'code', '{patient}', 'dos', modifiers => '{m1,mods}');
SELECT column1, column2, bypassed
  FROM ptp_violations('lines_vc', 'code_c', '{patient}', 'dos');

-- a partitioned table: the pair's lines in two partitions, each named
CREATE TABLE lines_part (patient int, dos date, code text, m1 text) PARTITION BY LIST (code);
CREATE TABLE lines_part_a PARTITION OF lines_part FOR VALUES IN ('0001A');
CREATE TABLE lines_part_b PARTITION OF lines_part DEFAULT;
INSERT INTO lines_part VALUES (1, '2023-03-01', '0001A', NULL), (1, '2023-03-01', '99213', NULL), (1, '2023-03-01', '36591', NULL);
SELECT column1, column2, modifier_indicator, column1_table, column2_table
  FROM ptp_violations('lines_part', 'code', '{patient}', 'dos', modifiers => '{m1}') ORDER BY 2;

-- names that need quoting, and names the audit's own query uses
CREATE TABLE "Lines Q" ("Patient Id" int, day__ date, "Code" text, a_code__ text, codes__ text[]);
INSERT INTO "Lines Q" VALUES (1, '2023-03-01', '0001A', 'x', '{59}'), (1, '2023-03-01', '99213', 'x', NULL);
SELECT group_key, date_of_service, column1, column2, bypassed, bypass_modifiers
  FROM ptp_violations('"Lines Q"', 'Code', '{Patient Id,a_code__}', 'day__', modifiers => '{codes__}');

-- bad arguments
SELECT * FROM ptp_violations('lines_arr', 'code', '{patient}', 'dos', modifiers => NULL);
SELECT * FROM ptp_violations('lines_arr', 'code', '{patient}', 'dos', modifiers => '{patient}');
SELECT * FROM ptp_violations('lines_arr', 'code', '{patient}', 'dos', modifiers => '{nope}');
SELECT * FROM ptp_violations('lines_arr', 'code', '{patient}', 'dos', modifiers => ARRAY[NULL]::name[]);
SELECT * FROM ptp_violations('lines_arr', 'code', '{patient}', 'dos', setting => 'dme');
SELECT * FROM ptp_violations('lines_arr', 'code', '{patient}', 'dos', program => 'tricare');
SELECT * FROM ptp_violations('lines_arr', 'patient', '{npi}', 'dos');
SELECT * FROM ptp_violations('lines_arr', 'code', '{patient}', 'npi');

-- a generated quarter and table: the audit finds exactly the pairs that
-- ptp(), asked about every ordered pair of a group's lines, finds
SET client_min_messages = warning;
CREATE TEMP TABLE gen_in (LIKE cpt_rules.cms_ptp_file);
INSERT INTO gen_in
SELECT h.c1, h.c2, NULL, h.c3, h.c4, h.c5, h.c6
  FROM (VALUES ('CPT only copyright 2025 American Medical Association.  All rights reserved.', NULL, NULL, NULL, NULL, NULL),
			   ('Column1/Column2 Edits', NULL, NULL, NULL, NULL, NULL)) h(c1, c2, c3, c4, c5, c6);
INSERT INTO gen_in
SELECT a, b, CASE WHEN n % 7 = 0 THEN '*' END,
	   (2020 + n % 5)::text || '0101',
	   CASE WHEN n % 9 = 0 THEN (2020 + n % 5)::text || '0101' WHEN n % 4 = 0 THEN (2021 + n % 5 + n % 2)::text || '0701' ELSE '*' END,
	   CASE WHEN n % 9 = 0 THEN '9' WHEN n % 3 = 0 THEN '0' ELSE '1' END, 'Mutually exclusive procedures'
  FROM (SELECT a, b, row_number() OVER (ORDER BY a, b) AS n
		  FROM unnest('{10021,10040,11042,11045,20610,36415,76942,99213,99214,J1100}'::text[]) a,
			   unnest('{10021,10040,11042,11045,20610,36415,76942,99213,99214,J1100}'::text[]) b
		 WHERE a <> b AND (hashtext(a || b) & 3) <> 0 AND (a < b OR (hashtext(b || a) & 3) = 0)) p;
SELECT edits FROM refresh_ptp_edits('gen_in', 'outpatient hospital', '2026-07-01');
SET client_min_messages = notice;
CREATE TABLE gen_lines (patient int, npi int, dos date, code text, m1 text, m2 text);
INSERT INTO gen_lines
SELECT g % 23, g % 2, DATE '2020-06-01' + (g % 11) * 200,
	   (ARRAY['10021','10040','11042','11045','20610','36415','76942','99213','99214','J1100','junk'])[1 + abs(hashint4(g)) % 11],
	   (ARRAY[NULL, NULL, NULL, '59', 'xs', '22', NULL])[1 + g % 7],
	   (ARRAY[NULL, '25', NULL, NULL, 'LT'])[1 + g % 5]
  FROM generate_series(1, 3000) g;
WITH audit AS (
	SELECT column1_ctid, column2_ctid, modifier_indicator, bypassed
	  FROM ptp_violations('gen_lines', 'code', '{patient,npi}', 'dos', modifiers => '{m1,m2}', setting => 'outpatient hospital')
), brute AS (
	SELECT a.ctid AS column1_ctid, b.ctid AS column2_ctid, p.modifier_indicator,
		   p.modifier_indicator = 1
		   AND ARRAY(SELECT upper(btrim(m)) FROM unnest(ARRAY[a.m1, a.m2, b.m1, b.m2]) m) && ptp_modifiers() AS bypassed
	  FROM gen_lines a JOIN gen_lines b ON a.patient = b.patient AND a.npi = b.npi AND a.dos = b.dos AND a.ctid <> b.ctid
	 CROSS JOIN LATERAL ptp(cpt_code_or_null(a.code), cpt_code_or_null(b.code), a.dos, 'outpatient hospital') p
	 WHERE p.column1 = cpt_code_or_null(a.code)
)
SELECT (SELECT count(*) FROM audit) AS audit_pairs, (SELECT count(*) FROM brute) AS brute_pairs,
	   (SELECT count(*) FROM audit WHERE bypassed) AS bypassed,
	   (SELECT count(*) FROM (SELECT * FROM audit EXCEPT ALL SELECT * FROM brute) x) AS audit_only,
	   (SELECT count(*) FROM (SELECT * FROM brute EXCEPT ALL SELECT * FROM audit) x) AS brute_only;

-- clean up, so that later tests and dumps see none
SET client_min_messages = warning;
SELECT count(drop_ptp_quarter(program, setting, effective)) FROM ptp_quarter;
DELETE FROM ptp_rationale;
DROP TABLE medical_claim, lines_arr, lines_vc, lines_part, gen_lines, "Lines Q";
