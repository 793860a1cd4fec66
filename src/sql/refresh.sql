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

-- A CMS date: Julian YYYYDDD (the CMS format) or ISO YYYY-MM-DD; blank is NULL.
CREATE FUNCTION cpt_rules.cms_date_valid(s text) RETURNS boolean
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
	SELECT CASE
		WHEN s IS NULL OR btrim(s) = '' THEN true
		WHEN btrim(s) ~ '^[0-9]{7}$' THEN
			substr(btrim(s), 5, 3)::int BETWEEN 1 AND
				(make_date(substr(btrim(s), 1, 4)::int, 12, 31)
				 - make_date(substr(btrim(s), 1, 4)::int, 1, 1) + 1)
			AND substr(btrim(s), 1, 4)::int >= 1
		WHEN btrim(s) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
			substr(btrim(s), 1, 4)::int >= 1
			AND substr(btrim(s), 6, 2)::int BETWEEN 1 AND 12
			AND substr(btrim(s), 9, 2)::int BETWEEN 1 AND
				extract(day FROM make_date(substr(btrim(s), 1, 4)::int, substr(btrim(s), 6, 2)::int, 1)
						+ interval '1 month - 1 day')::int
		ELSE false
	END
$$;

CREATE FUNCTION cpt_rules.cms_date(s text) RETURNS date
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
	SELECT CASE
		WHEN s IS NULL OR btrim(s) = '' THEN NULL
		WHEN btrim(s) ~ '^[0-9]{7}$' THEN
			make_date(substr(btrim(s), 1, 4)::int, 1, 1) + (substr(btrim(s), 5, 3)::int - 1)
		ELSE make_date(substr(btrim(s), 1, 4)::int, substr(btrim(s), 6, 2)::int,
					   substr(btrim(s), 9, 2)::int)
	END
$$;
COMMENT ON FUNCTION cpt_rules.cms_date(text) IS
	'date from a CMS file field: Julian YYYYDDD or ISO YYYY-MM-DD, blank is NULL';

