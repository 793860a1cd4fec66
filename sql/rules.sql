-- The shipped Medicare AOC rules and the lookup functions.
\set VERBOSITY default
SET datestyle = ISO;

-- all 7,743 rows, 723 add-ons: 669 Type 1, 42 Type 2, 12 Type 3
SELECT count(*) AS edits, count(DISTINCT addon) AS addons FROM cpt_rules.aoc_edit;
SELECT aoc_type, count(DISTINCT addon) FROM cpt_rules.aoc_edit GROUP BY 1 ORDER BY 1;
SELECT count(*) FILTER (WHERE primary_code IS NULL) AS contractor_defined FROM cpt_rules.aoc_edit;

-- 20932/20933/20934: Type 1, exactly the ten primaries, effective 2019-01-01
SELECT addon, aoc_type(addon), array_agg(primary_code ORDER BY primary_code) AS primaries,
       min(edit_effective), max(edit_effective)
  FROM cpt_rules.aoc_edit WHERE addon IN ('20932', '20933', '20934') GROUP BY addon ORDER BY addon;
SELECT * FROM addon_primaries('20933');
SELECT valid_pairing('20933', p) FROM unnest('{23210,23220,24150,25170,27075,27076,27077,27365,27645,27704}'::cpt_code[]) p;
SELECT valid_pairing('20933', '27365', '2019-01-01'), valid_pairing('20933', '27365', '2018-12-31'),
       valid_pairing('20933', '27365', '2018-06-01'), valid_pairing('20933', '27365');
SELECT is_addon('20933'), is_addon('20933', '2018-06-01'), is_addon('20933', '2019-01-01');
-- primaries and ordinary codes are not add-ons; pairing with a non-add-on is false, not an error
SELECT c, is_addon(c), aoc_type(c) FROM unnest('{27365,23210,99213,G0463,0001F}'::cpt_code[]) c;
SELECT valid_pairing('27365', '20933'), valid_pairing('99213', '99214'), valid_pairing('20933', '20933');
SELECT valid_pairing('20933', '27366'), valid_pairing('20933', '99213');
-- strict: NULL in, NULL out
SELECT is_addon(NULL), valid_pairing(NULL, '27365'), valid_pairing('20933', NULL, '2020-01-01');

-- 99292 needs 99291 (CMS's documented exception is a payer matter, not a rule change)
SELECT * FROM addon_primaries('99292');
SELECT valid_pairing('99292', '99291', '2024-01-01'), valid_pairing('99292', '99213', '2024-01-01');

-- G2212's primaries change over time
SELECT primary_code, effective FROM addon_primaries('G2212') ORDER BY effective, primary_code;
SELECT d, array_agg(p.primary_code ORDER BY p.primary_code)
  FROM unnest('{2021-09-30,2021-10-01,2023-01-01,2024-01-01}'::date[]) d,
       LATERAL addon_primaries('G2212', d) p
 GROUP BY d ORDER BY d;
SELECT is_addon('G2212', '2021-09-30'), is_addon('G2212', '2021-10-01'),
       valid_pairing('G2212', 'G0463', '2023-12-31'), valid_pairing('G2212', 'G0463', '2024-01-01');

-- a primary can carry several add-ons
SELECT addon, aoc_type FROM primary_addons('27365') ORDER BY addon;
SELECT count(*) FROM primary_addons('99291');

-- Type 2 and Type 3 add-ons; payer-defined primaries
SELECT addon, aoc_type, primary_code, notes FROM cpt_rules.aoc_edit WHERE addon IN ('0054T', 'C9726') ORDER BY 1, 3;
SELECT aoc_type('0054T'), is_addon('0054T'), valid_pairing('0054T', '27365');
SELECT count(*) FROM addon_primaries('0054T');
INSERT INTO cpt_rules.payer_pair (addon, primary_code, note) VALUES ('0054T', '27447', 'payer policy 12');
INSERT INTO cpt_rules.payer_pair (addon, primary_code, effective, deleted)
	VALUES ('0054T', '27486', '2020-01-01', '2022-01-01');
SELECT valid_pairing('0054T', '27447'), valid_pairing('0054T', '27486', '2021-06-01'),
       valid_pairing('0054T', '27486', '2022-01-01'), valid_pairing('0054T', '27365');
SELECT primary_code, source, effective, deleted FROM addon_primaries('0054T');
SELECT addon, source FROM primary_addons('27447');
-- a Type 3 add-on keeps its CMS list and takes payer additions
SELECT aoc_type('C9726'), valid_pairing('C9726', '99213');
INSERT INTO cpt_rules.payer_pair (addon, primary_code) VALUES ('C9726', '99213');
SELECT valid_pairing('C9726', '99213');
-- payer primaries are refused for Type 1 add-ons and for codes that are not add-ons
INSERT INTO cpt_rules.payer_pair (addon, primary_code) VALUES ('20933', '27447');
INSERT INTO cpt_rules.payer_pair (addon, primary_code) VALUES ('99213', '27447');
-- nonsense is impossible
\set VERBOSITY terse
INSERT INTO cpt_rules.payer_pair (addon, primary_code, effective, deleted) VALUES ('0054T', '27448', '2020-01-01', '2019-01-01');
INSERT INTO cpt_rules.payer_pair (addon, primary_code) VALUES ('0054T', '0054T');
INSERT INTO cpt_rules.payer_pair (addon, primary_code) VALUES ('0054T', '27447');
BEGIN;
INSERT INTO cpt_rules.payer_pair (addon, primary_code, effective) VALUES ('0054T', '27447', '2024-01-01');
COMMIT;
INSERT INTO cpt_rules.aoc_edit_shipped (aoc_type, addon, primary_code, edit_effective) VALUES (4, '20933', '27447', '2020-01-01');
INSERT INTO cpt_rules.aoc_edit (aoc_type, addon, primary_code, edit_effective) VALUES (1, '20933', NULL, '2020-01-01');
INSERT INTO cpt_rules.aoc_edit (aoc_type, addon, primary_code, edit_effective, edit_deleted) VALUES (1, '20933', '27447', '2020-01-01', '2019-01-01');
INSERT INTO cpt_rules.aoc_edit (aoc_type, addon, primary_code, edit_effective) VALUES (1, '20933', '27365', '2019-01-01');
BEGIN;
INSERT INTO cpt_rules.aoc_edit (aoc_type, addon, primary_code, edit_effective) VALUES (1, '20933', '27365', '2020-01-01');
COMMIT;
BEGIN;
INSERT INTO cpt_rules.aoc_edit (aoc_type, addon, primary_code, edit_effective) VALUES (3, '20933', '27447', '2020-01-01');
COMMIT;
\set VERBOSITY default

-- DBA edits through the view: add, change, remove; the cache follows at once
BEGIN;
INSERT INTO cpt_rules.aoc_edit (aoc_type, addon, primary_code, edit_effective) VALUES (1, '20933', '27447', '2020-01-01');
SELECT valid_pairing('20933', '27447', '2021-01-01'), valid_pairing('20933', '27447', '2019-01-01');
UPDATE cpt_rules.aoc_edit SET edit_deleted = '2023-01-01' WHERE addon = '20933' AND primary_code = '27365';
SELECT valid_pairing('20933', '27365', '2022-12-31'), valid_pairing('20933', '27365', '2023-01-01');
DELETE FROM cpt_rules.aoc_edit WHERE addon = '20933' AND primary_code = '27704';
SELECT valid_pairing('20933', '27704');
SELECT count(*) FROM cpt_rules.aoc_edit_added;
SELECT addon, primary_code, edit_effective FROM cpt_rules.aoc_edit_removed ORDER BY 1, 2;
ROLLBACK;
-- rolled back: the cache forgets the change
SELECT valid_pairing('20933', '27447'), valid_pairing('20933', '27704'), valid_pairing('20933', '27365', '2024-01-01');
-- retyping every edit of an add-on in one statement passes the deferred check
BEGIN;
UPDATE cpt_rules.aoc_edit SET aoc_type = 3 WHERE addon = '20934';
SET CONSTRAINTS ALL IMMEDIATE;
SELECT aoc_type('20934');
ROLLBACK;
SELECT aoc_type('20934');

-- privileges: everyone reads, only the owner (or a role it grants) writes
CREATE ROLE rules_reader;
SET ROLE rules_reader;
SELECT count(*) FROM cpt_rules.aoc_edit WHERE addon = '20933';
SELECT is_addon('20933'), valid_pairing('20933', '27365');
INSERT INTO cpt_rules.payer_pair (addon, primary_code) VALUES ('0054T', '27130');
DELETE FROM cpt_rules.aoc_edit WHERE addon = '20933';
DELETE FROM cpt_rules.aoc_edit_shipped;
RESET ROLE;
GRANT INSERT, UPDATE, DELETE ON cpt_rules.payer_pair TO rules_reader;
SET ROLE rules_reader;
INSERT INTO cpt_rules.payer_pair (addon, primary_code) VALUES ('0054T', '27130');
RESET ROLE;
SELECT added_by FROM cpt_rules.payer_pair WHERE primary_code = '27130';
DELETE FROM cpt_rules.payer_pair;
REVOKE ALL ON cpt_rules.payer_pair FROM rules_reader;
DROP ROLE rules_reader;

-- volatility and parallel labels are truthful
SELECT p.oid::regprocedure, p.provolatile, p.proisstrict, p.proparallel
  FROM pg_proc p
 WHERE p.proname IN ('is_addon', 'valid_pairing', 'aoc_type', 'addon_primaries', 'primary_addons')
 ORDER BY p.oid::regprocedure::text;

-- served from the cache, fast enough to run per row
SELECT count(*) FILTER (WHERE is_addon(c)) AS addons, count(*) AS codes
  FROM (SELECT e.primary_code AS c FROM cpt_rules.aoc_edit e WHERE e.primary_code IS NOT NULL
        UNION ALL SELECT addon FROM cpt_rules.aoc_edit) s;

-- the planner knows add-ons are rare (it would otherwise assume a third);
-- estimate() comes from the cpt_code test
CREATE TABLE mix AS
	SELECT (CASE WHEN i % 40 = 0 THEN '20933' WHEN i % 97 = 0 THEN '99292'
	             WHEN i % 7 = 0 THEN '27365' ELSE (ARRAY['99213','99214','36415','85025'])[1 + i % 4] END)::cpt_code AS code,
	       date '2024-01-01' + i % 300 AS dos
	  FROM generate_series(1, 20000) i;
ANALYZE mix;
SELECT count(*) AS actual,
       estimate('SELECT * FROM mix WHERE is_addon(code)') BETWEEN count(*) / 2 AND count(*) * 2 AS estimate_close,
       estimate('SELECT * FROM mix WHERE is_addon(code, dos)') BETWEEN count(*) / 2 AND count(*) * 2 AS dated_estimate_close
  FROM mix WHERE is_addon(code);
DROP TABLE mix;
