-- Refresh from the CMS file -----------------------------------------------
--
-- The DBA loads the CMS sheet (exported to CSV) client-side into a staging
-- table shaped like cpt_rules.cms_aoc_file, then calls refresh_cms_edits().
-- Everything is validated first; one bad row and nothing changes.

CREATE TABLE cpt_rules.cms_aoc_file (
	aoc_edit_type				text,
	addon_code					text,
	addon_deleted				text,
	primary_code				text,
	primary_deleted				text,
	edit_effective				text,
	edit_deleted				text,
	special_instruction_notes	text
);
COMMENT ON TABLE cpt_rules.cms_aoc_file IS
	'template (always empty) for a staging table: CREATE TEMP TABLE aoc_in (LIKE cpt_rules.cms_aoc_file)';
REVOKE ALL ON cpt_rules.cms_aoc_file FROM PUBLIC;
GRANT SELECT ON cpt_rules.cms_aoc_file TO PUBLIC;

