-- Refreshing the CMS edits from the quarterly file.
\set VERBOSITY default
SET datestyle = ISO;
SET client_min_messages = notice;

CREATE ROLE rules_admin;
GRANT INSERT, UPDATE, DELETE ON cpt_rules.aoc_edit_added, cpt_rules.aoc_edit_removed TO rules_admin;
GRANT EXECUTE ON FUNCTION cpt_rules.refresh_cms_edits(regclass, boolean) TO rules_admin;

-- Julian and ISO dates
SELECT s, cpt_rules.cms_date_valid(s), CASE WHEN cpt_rules.cms_date_valid(s) THEN cpt_rules.cms_date(s) END
  FROM unnest('{2019001,2013091,2020366,2021365,2021366,2019000,2019-01-01,2019-02-29,2020-02-29,"",20190101,x}'::text[]) s;

-- the current edits, as a CMS-shaped file (8 columns, Julian dates)
CREATE TEMP TABLE current_file AS
SELECT aoc_type::text AS aoc_edit_type, addon::text AS addon_code,
       to_char(addon_deleted, 'YYYYDDD') AS addon_deleted,
       coalesce(primary_code::text, 'CCCCC') AS primary_code,
       to_char(primary_deleted, 'YYYYDDD') AS primary_deleted,
       to_char(edit_effective, 'YYYYDDD') AS edit_effective,
       to_char(edit_deleted, 'YYYYDDD') AS edit_deleted,
       notes AS special_instruction_notes
  FROM cpt_rules.aoc_edit;
COPY current_file TO '/tmp/cpt_rules_regress_aoc.csv' WITH (FORMAT csv, HEADER);

-- reloading the same file changes nothing (as a non-superuser, through \copy)
SET ROLE rules_admin;
CREATE TEMP TABLE aoc_in (LIKE cpt_rules.cms_aoc_file);
\copy aoc_in FROM '/tmp/cpt_rules_regress_aoc.csv' WITH (FORMAT csv, HEADER)
SELECT count(*) FROM aoc_in;
SELECT * FROM cpt_rules.refresh_cms_edits('aoc_in');
SELECT count(*) FROM cpt_rules.aoc_edit_added;
SELECT count(*) FROM cpt_rules.aoc_edit_removed;

-- a table the admin may read only through a policy that hides its lines:
-- the audit after the refresh must not report it clean
RESET ROLE;
CREATE TABLE rls_claims (claim_id bigint, code cpt_code);
CREATE INDEX ON rls_claims (claim_id);
SELECT cpt_rules.enforce_addon_rule('rls_claims', code => 'code', group_by => '{claim_id}') IS NOT NULL AS enforced;
INSERT INTO rls_claims VALUES (1, '23210'), (1, '20934');
ALTER TABLE rls_claims ENABLE ROW LEVEL SECURITY;
CREATE POLICY nothing_for_admins ON rls_claims TO rules_admin USING (false);
GRANT SELECT ON rls_claims TO rules_admin;
SET ROLE rules_admin;
-- a new quarter: a pair added, a pair ended, a pair removed, a note changed
UPDATE aoc_in SET edit_deleted = '2026274' WHERE addon_code = '20933' AND primary_code = '27704';
DELETE FROM aoc_in WHERE addon_code = '20934' AND primary_code = '23210';
INSERT INTO aoc_in VALUES ('1', '20933', NULL, '27078', NULL, '2026-10-01', NULL, NULL);
UPDATE aoc_in SET special_instruction_notes = 'revised' WHERE addon_code = '99292';
SELECT * FROM cpt_rules.refresh_cms_edits('aoc_in');
RESET ROLE;
DROP TABLE rls_claims;
SELECT valid_pairing('20933', '27078', '2026-10-01'), valid_pairing('20933', '27078', '2026-09-30'),
       valid_pairing('20933', '27704', '2026-09-30'), valid_pairing('20933', '27704', '2026-10-01'),
       valid_pairing('20934', '23210'), valid_pairing('20932', '23210');
SELECT count(*) AS edits, count(DISTINCT addon) AS addons FROM cpt_rules.aoc_edit;
SELECT notes FROM cpt_rules.aoc_edit WHERE addon = '99292';
-- payer-defined pairs are kept apart and survive a refresh
INSERT INTO cpt_rules.payer_pair (addon, primary_code) VALUES ('0054T', '27447');
SET ROLE rules_admin;
SELECT count(*) FROM cpt_rules.refresh_cms_edits('aoc_in');
RESET ROLE;
SELECT valid_pairing('0054T', '27447');

-- a file with bad rows: every one is reported with its line, nothing changes
SET ROLE rules_admin;
CREATE TEMP TABLE bad_in (LIKE cpt_rules.cms_aoc_file);
INSERT INTO bad_in SELECT * FROM aoc_in WHERE addon_code IN ('20932', '20933');
INSERT INTO bad_in VALUES
	('4', '20933', NULL, '27365', NULL, '2019001', NULL, NULL),        -- line 22: type
	('1', '2093', NULL, '27365', NULL, '2019001', NULL, NULL),         -- line 23: add-on code
	('1', '20933', NULL, 'CCCCC', NULL, '2019001', NULL, NULL),        -- line 24: CCCCC for Type 1
	('1', '20933', NULL, '27365', NULL, '2019400', NULL, NULL),        -- line 25: Julian day 400
	('1', '20933', NULL, '27365', NULL, '2019-02-30', NULL, NULL),     -- line 26: no such date
	('1', '20933', NULL, '27366', NULL, '2020001', '2019001', NULL),   -- line 27: ends before it starts
	('1', '20933', NULL, '27365', NULL, '2020001', NULL, NULL),        -- line 28: overlaps line 8
	('3', '20932', NULL, '27447', NULL, '2020001', NULL, NULL),        -- line 29: second type
	('1', '20933', NULL, '20933', NULL, '2019001', NULL, NULL),        -- line 30: its own primary
	('1', '20933', NULL, '27365', NULL, NULL, NULL, NULL);             -- line 31: no effective date
SELECT * FROM cpt_rules.refresh_cms_edits('bad_in');
RESET ROLE;
SELECT valid_pairing('20933', '27078', '2026-10-01'), valid_pairing('20934', '23210'),
       (SELECT count(*) FROM cpt_rules.aoc_edit) AS edits;

-- CCCCC records the add-on's type, not a fake primary; Type 2 from a file
SET ROLE rules_admin;
TRUNCATE bad_in;
INSERT INTO bad_in SELECT * FROM aoc_in;
INSERT INTO bad_in VALUES ('2', 'G9999', NULL, 'ccccc', NULL, '2026274', NULL, 'Contractor Defined Primary Codes');
SELECT * FROM cpt_rules.refresh_cms_edits('bad_in');
RESET ROLE;
SELECT aoc_type('G9999'), is_addon('G9999', '2026-10-01'), is_addon('G9999', '2026-09-30'),
       (SELECT count(*) FROM addon_primaries('G9999'));
SELECT aoc_type, addon, primary_code, edit_effective FROM cpt_rules.aoc_edit WHERE addon = 'G9999';

-- only the owner or a granted role may refresh
CREATE ROLE nobody_special;
SET ROLE nobody_special;
SELECT * FROM cpt_rules.refresh_cms_edits('bad_in');
RESET ROLE;
DROP ROLE nobody_special;

-- back to the shipped rules
SET ROLE rules_admin;
TRUNCATE aoc_in;
\copy aoc_in FROM '/tmp/cpt_rules_regress_aoc.csv' WITH (FORMAT csv, HEADER)
SELECT change, count(*) FROM cpt_rules.refresh_cms_edits('aoc_in') GROUP BY 1 ORDER BY 1;
RESET ROLE;
SELECT count(*) FROM cpt_rules.aoc_edit_added;
SELECT count(*) FROM cpt_rules.aoc_edit_removed;
DELETE FROM cpt_rules.payer_pair;
DROP TABLE aoc_in, bad_in;
REVOKE ALL ON cpt_rules.aoc_edit_added, cpt_rules.aoc_edit_removed FROM rules_admin;
REVOKE ALL ON FUNCTION cpt_rules.refresh_cms_edits(regclass, boolean) FROM rules_admin;
DROP ROLE rules_admin;
