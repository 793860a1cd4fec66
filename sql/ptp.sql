-- Procedure-to-procedure edits: CMS's files loaded as shipped (the four
-- parts of a quarter, Medicare and Medicaid layouts, both settings), every
-- record checked with its part and line, quarters kept by period, lookups.
\set VERBOSITY default
SET client_min_messages = warning;
SET datestyle = ISO;
CREATE EXTENSION IF NOT EXISTS cpt_rules;
SET client_min_messages = notice;
SET search_path = public, cpt_rules;

-- 25 real records of part 1 of the practitioner file for 2026 Q3, as CMS ships them
CREATE TEMP TABLE ptp_in (LIKE cpt_rules.cms_ptp_file);
\copy ptp_in FROM 'test/data/ccipra-v322r0-f1.excerpt.txt' WITH (FORMAT csv, DELIMITER E'\t', ENCODING 'LATIN1')
SELECT count(*) AS records FROM ptp_in;
SELECT * FROM refresh_ptp_edits('ptp_in', 'practitioner', '2026-07-01');
SELECT * FROM ptp_quarter_period;
SELECT rationale FROM ptp_rationale ORDER BY id;
-- in force from the effective date until the day before the deletion date,
-- in either order; indicator 9 never
SELECT d, p.* FROM unnest('{2021-12-31,2022-01-01,2023-12-30,2023-12-31}'::date[]) d
  LEFT JOIN LATERAL ptp('99213', '0001A', d) p ON true ORDER BY d;
SELECT count(*) FROM ptp('0001A', '90473', '2022-01-01');
SELECT count(*) FROM ptp('0001A', 'G0008', '2022-01-01');
SELECT column1, column2, modifier_indicator, deleted FROM ptp('0030U', '0001U', '2026-08-01');
SELECT column1, column2, pre_1996, effective, deleted, modifier_indicator FROM ptp_edit
 WHERE column1 = '0001M' ORDER BY column2;
-- the storage: one row per quarter and column 1 code, the edits' fields as
-- parallel arrays
SELECT attname, atttypid::regtype, attlen FROM pg_attribute
 WHERE attrelid = 'cpt_rules.ptp_edit_loaded'::regclass AND attnum > 0 ORDER BY attnum;

-- Generated files in CMS's exact layout: an outpatient-hospital quarter in
-- four parts, each under the six header lines, written out and loaded back
CREATE TEMP TABLE gen (part int, line int, r cpt_rules.cms_ptp_file);
INSERT INTO gen
SELECT p, l, h FROM generate_series(1, 4) p,
	 (SELECT row_number() OVER () AS l, h FROM (SELECT (c1, c2, c3, c4, c5, c6, c7)::cpt_rules.cms_ptp_file AS h
	   FROM (VALUES ('CPT only copyright 2025 American Medical Association.  All rights reserved.', NULL, NULL, NULL, NULL, NULL, NULL),
					('Column1/Column2 Edits', NULL, NULL, NULL, NULL, NULL, NULL),
					('Column 1', 'Column 2', '*=in existence', 'Effective', 'Deletion', 'Modifier', 'PTP Edit Rationale'),
					(NULL, NULL, 'prior to 1996', 'Date', 'Date', '0=not allowed', NULL),
					(NULL, NULL, NULL, NULL, '*=no data', '1=allowed', NULL),
					(NULL, NULL, NULL, NULL, NULL, '9=not applicable', NULL)) v(c1, c2, c3, c4, c5, c6, c7)) x) hdr(l, h)
UNION ALL
SELECT p, 6 + g, (lpad((10000 + p * 1000 + g)::text, 5, '0'), lpad((20000 + g)::text, 5, '0'),
				  CASE WHEN g % 7 = 0 THEN '*' END, '2019' || lpad((1 + g % 12)::text, 2, '0') || '01',
				  CASE WHEN g % 5 = 0 THEN '20251231' ELSE '*' END, (ARRAY['0', '1', '1', '9'])[1 + g % 4],
				  (ARRAY['Mutually exclusive procedures', 'Standards of medical/surgical practice'])[1 + g % 2])::cpt_rules.cms_ptp_file
  FROM generate_series(1, 4) p, generate_series(1, 50) g;
\copy (SELECT (r).* FROM gen WHERE part = 1 ORDER BY line) TO 'build/regress/ccioph-f1.txt' WITH (FORMAT csv, DELIMITER E'\t')
\copy (SELECT (r).* FROM gen WHERE part = 2 ORDER BY line) TO 'build/regress/ccioph-f2.txt' WITH (FORMAT csv, DELIMITER E'\t')
\copy (SELECT (r).* FROM gen WHERE part = 3 ORDER BY line) TO 'build/regress/ccioph-f3.txt' WITH (FORMAT csv, DELIMITER E'\t')
\copy (SELECT (r).* FROM gen WHERE part = 4 ORDER BY line) TO 'build/regress/ccioph-f4.txt' WITH (FORMAT csv, DELIMITER E'\t')
CREATE TEMP TABLE hosp (LIKE cpt_rules.cms_ptp_file);
\copy hosp FROM 'build/regress/ccioph-f1.txt' WITH (FORMAT csv, DELIMITER E'\t', ENCODING 'LATIN1')
\copy hosp FROM 'build/regress/ccioph-f2.txt' WITH (FORMAT csv, DELIMITER E'\t', ENCODING 'LATIN1')
\copy hosp FROM 'build/regress/ccioph-f3.txt' WITH (FORMAT csv, DELIMITER E'\t', ENCODING 'LATIN1')
\copy hosp FROM 'build/regress/ccioph-f4.txt' WITH (FORMAT csv, DELIMITER E'\t', ENCODING 'LATIN1')
SELECT * FROM refresh_ptp_edits('hosp', 'outpatient hospital', '2026-07-01');
SELECT column1, column2, modifier_indicator, rationale FROM ptp('20006', '11006', '2026-08-01', 'outpatient hospital');
SELECT count(*) FROM ptp('20006', '11006', '2026-08-01');

-- bad records anywhere in the files: each named by part and line, nothing changed
UPDATE gen SET r.column1 = '1201' WHERE (r).column1 = '12010';
UPDATE gen SET r.effective = '20190230' WHERE (r).column1 = '13020';
UPDATE gen SET r.deleted = '20181231' WHERE (r).column1 = '14005';
UPDATE gen SET r.modifier = '2' WHERE (r).column1 = '14040';
\copy (SELECT (r).* FROM gen WHERE part = 2 ORDER BY line) TO 'build/regress/ccioph-f2.txt' WITH (FORMAT csv, DELIMITER E'\t')
\copy (SELECT (r).* FROM gen WHERE part = 3 ORDER BY line) TO 'build/regress/ccioph-f3.txt' WITH (FORMAT csv, DELIMITER E'\t')
\copy (SELECT (r).* FROM gen WHERE part = 4 ORDER BY line) TO 'build/regress/ccioph-f4.txt' WITH (FORMAT csv, DELIMITER E'\t')
TRUNCATE hosp;
\copy hosp FROM 'build/regress/ccioph-f1.txt' WITH (FORMAT csv, DELIMITER E'\t', ENCODING 'LATIN1')
\copy hosp FROM 'build/regress/ccioph-f2.txt' WITH (FORMAT csv, DELIMITER E'\t', ENCODING 'LATIN1')
\copy hosp FROM 'build/regress/ccioph-f3.txt' WITH (FORMAT csv, DELIMITER E'\t', ENCODING 'LATIN1')
\copy hosp FROM 'build/regress/ccioph-f4.txt' WITH (FORMAT csv, DELIMITER E'\t', ENCODING 'LATIN1')
SELECT * FROM refresh_ptp_edits('hosp', 'outpatient hospital', '2026-10-01');
SELECT program, setting, effective, edits FROM ptp_quarter ORDER BY id;

-- Medicaid's layout (no pre-1996 column); a file loaded under the wrong program
CREATE TEMP TABLE mcd (LIKE cpt_rules.cms_ptp_file_medicaid);
INSERT INTO mcd SELECT column1, column2, effective, deleted, modifier, rationale FROM ptp_in;
SELECT * FROM refresh_ptp_edits('mcd', 'practitioner', '2026-07-01');
SELECT * FROM refresh_ptp_edits('mcd', 'practitioner', '2026-07-01', program => 'medicaid');
SELECT column1, column2, modifier_indicator FROM ptp('0001A', '99213', '2023-01-01', program => 'medicaid');
SELECT * FROM refresh_ptp_edits('ptp_in', 'dme', '2026-07-01');

-- the next quarter: a part left out is refused, unless told; claims judged
-- by the quarter of their date (the first also before it)
UPDATE ptp_in SET deleted = '*' WHERE column1 = '0001A' AND column2 = '99213';
DELETE FROM ptp_in WHERE column1 IN ('0001U', '0001M');
SELECT * FROM refresh_ptp_edits('ptp_in', 'practitioner', '2026-10-01');
SELECT quarter, edits, previous_quarter, previous_edits
  FROM refresh_ptp_edits('ptp_in', 'practitioner', '2026-10-01', allow_shrink => true);
SELECT d, p.quarter, p.deleted FROM unnest('{2023-06-01,2026-09-30,2026-10-01}'::date[]) d
  LEFT JOIN LATERAL ptp('0001A', '99213', d) p ON true ORDER BY d;
SELECT count(*) FROM ptp('0001U', '0030U', '2026-09-30');
SELECT count(*) FROM ptp('0001U', '0030U', '2026-10-01');
SELECT drop_ptp_quarter('medicare', 'practitioner', '2026-10-01');
SELECT count(*) FROM ptp('0001U', '0030U', '2026-10-01');

-- not CMS's file; bad arguments
CREATE TEMP TABLE junk (LIKE cpt_rules.cms_ptp_file);
INSERT INTO junk VALUES ('0001A', '99213', NULL, '20220101', '*', '1', 'x');
SELECT * FROM refresh_ptp_edits('junk', 'practitioner', '2027-01-01');
SELECT * FROM refresh_ptp_edits('ptp_in', 'practitioner', '2027-01-15');
SELECT * FROM refresh_ptp_edits('ptp_in', 'practitioner', '2027-01-01', program => 'tricare');
SELECT cms_yyyymmdd(s) FROM unnest('{20240229,20230229,2023-01-01, 20230101 ,00000101,20231301}'::text[]) s;

-- The packed storage: CMS's duplicate pairs kept in file order after the
-- sort by column 2, a column 1 code whose edits span two parts, an edit in
-- each order of a pair (Medicaid's layout, its DME setting)
CREATE TEMP TABLE pk (LIKE cpt_rules.cms_ptp_file_medicaid);
INSERT INTO pk (column1) VALUES ('CPT only copyright 2025 American Medical Association.  All rights reserved.');
INSERT INTO pk VALUES ('11000', '97597', '20200101', '*', '1', 'Mutually exclusive procedures'),
	('11000', '11102', '20190101', '20210101', '0', 'Standards of medical/surgical practice'),
	('11001', '11000', '20190101', '*', '1', NULL),
	('11000', '97597', '20180101', '20200101', '0', 'Mutually exclusive procedures');
INSERT INTO pk (column1) VALUES ('CPT only copyright 2025 American Medical Association.  All rights reserved.');
INSERT INTO pk VALUES ('11000', '11010', '20190101', '20190101', '9', ''),
	('11000', '97597', '20210101', '*', '0', 'Misuse of Column Two code with Column One code'),
	('11000', '11001', '20190101', '*', '1', ' Mutually exclusive procedures ');
SELECT parts, edits, modifier_0, modifier_1, modifier_9
  FROM refresh_ptp_edits('pk', 'dme', '2026-07-01', program => 'medicaid');
SELECT e.column1, e.column2, e.effective, e.deleted, e.modifier, e.pre_1996, e.rationale
  FROM cpt_rules.ptp_edit_loaded e JOIN ptp_quarter q ON q.id = e.quarter
 WHERE q.program = 'medicaid' AND q.setting = 'dme' ORDER BY e.column1;
SELECT count(*) FROM ptp_edit WHERE program = 'medicaid' AND setting = 'dme';
-- the duplicate pair's edits by date: each in force in its own period
SELECT d, p.column1, p.column2, p.modifier_indicator, p.effective, p.deleted, p.rationale
  FROM unnest('{2019-06-01,2020-06-01,2022-01-01}'::date[]) d
  LEFT JOIN LATERAL ptp('97597', '11000', d, 'dme', 'medicaid') p ON true ORDER BY d, p.effective;
-- both orders of a pair find the edits of both rows
SELECT column1, column2, modifier_indicator, rationale FROM ptp('11000', '11001', '2026-08-01', 'dme', 'medicaid') ORDER BY 1;
SELECT column1, column2, modifier_indicator, rationale FROM ptp('11001', '11000', '2026-08-01', 'dme', 'medicaid') ORDER BY 1;
SELECT count(*) FROM ptp('11000', '11010', '2019-01-01', 'dme', 'medicaid');
SELECT count(*) FROM ptp('11000', '11000', '2026-08-01', 'dme', 'medicaid');
-- loaded again: replaced, not added to
DELETE FROM pk WHERE column1 = '11001';
SELECT parts, edits, previous_quarter, previous_edits
  FROM refresh_ptp_edits('pk', 'dme', '2026-07-01', program => 'medicaid');
SELECT count(*) AS rows, sum(cardinality(e.column2)) AS edits
  FROM cpt_rules.ptp_edit_loaded e JOIN ptp_quarter q ON q.id = e.quarter
 WHERE q.program = 'medicaid' AND q.setting = 'dme';
SELECT count(*) FROM ptp('11000', '11001', '2026-08-01', 'dme', 'medicaid');
SELECT drop_ptp_quarter('medicaid', 'dme', '2026-07-01');
SELECT count(*) FROM cpt_rules.ptp_edit_loaded e WHERE NOT EXISTS (SELECT FROM ptp_quarter q WHERE q.id = e.quarter);
-- a bad record in the last part after 12,000 good ones; then more than
-- 100 bad records: the first 100 named, the rest counted
CREATE TEMP VIEW pk_gen AS
SELECT p, g, CASE WHEN g = 0 THEN 'CPT only copyright 2025 American Medical Association.  All rights reserved.'
				  ELSE lpad((10000 + g % 997)::text, 5, '0') END AS c1,
	   CASE WHEN g > 0 THEN lpad((30000 + p * 3000 + g)::text, 5, '0') END AS c2
  FROM generate_series(1, 4) p, generate_series(0, 3000) g;
TRUNCATE pk;
INSERT INTO pk
SELECT c1, c2, CASE WHEN g > 0 THEN '20200101' END, CASE WHEN g > 0 THEN '*' END,
	   CASE WHEN g = 3000 AND p = 4 THEN '7' WHEN g > 0 THEN '1' END, NULL
  FROM pk_gen ORDER BY p, g;
SELECT * FROM refresh_ptp_edits('pk', 'dme', '2026-07-01', program => 'medicaid');
TRUNCATE pk;
INSERT INTO pk
SELECT c1, c2, CASE WHEN g > 0 AND c2 LIKE '%7' THEN '2020-01-01' WHEN g > 0 THEN '20200101' END,
	   CASE WHEN g > 0 THEN '*' END, CASE WHEN g > 0 THEN '1' END, NULL
  FROM pk_gen ORDER BY p, g;
DO $$
DECLARE
	v_detail text;
BEGIN
	PERFORM cpt_rules.refresh_ptp_edits('pk', 'dme', '2026-07-01', program => 'medicaid');
EXCEPTION WHEN bad_copy_file_format THEN
	GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
	RAISE NOTICE '% lines; first: %; 100th: %; last: %', array_length(string_to_array(v_detail, E'\n'), 1),
		split_part(v_detail, E'\n', 1), split_part(v_detail, E'\n', 100), split_part(v_detail, E'\n', 101);
END $$;
SELECT count(*) FROM ptp_quarter WHERE program = 'medicaid' AND setting = 'dme';

-- a staging table under row security is refused, not read whole past its
-- policies (ptp_load, which refresh_ptp_edits calls, may be called by anyone)
CREATE ROLE ptp_rls_user;
CREATE TABLE ptp_rls (LIKE cpt_rules.cms_ptp_file);
INSERT INTO ptp_rls SELECT * FROM pk LIMIT 10;
ALTER TABLE ptp_rls OWNER TO ptp_rls_user;
ALTER TABLE ptp_rls ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY none_visible ON ptp_rls USING (false);
SET ROLE ptp_rls_user;
SELECT * FROM cpt_rules.ptp_load('ptp_rls', true, 99::smallint, 'medicare', 'practitioner', NULL, NULL, false);
RESET ROLE;
DROP TABLE ptp_rls;
DROP ROLE ptp_rls_user;

-- clean up, so that later tests and dumps see none
SELECT drop_ptp_quarter(program, setting, effective) FROM ptp_quarter ORDER BY id;
DELETE FROM ptp_rationale;
