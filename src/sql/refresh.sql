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

CREATE FUNCTION cpt_rules.refresh_cms_edits(staging regclass)
	RETURNS TABLE (change text, aoc_type smallint, addon @extschema@.cpt_code,
				   primary_code @extschema@.cpt_code, edit_effective date, edit_deleted date)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_bad text[];
	v_nbad bigint;
	v_counts text;
BEGIN
	-- Stage the file as typed rows, numbered in file order.
	CREATE TEMP TABLE cpt_rules_refresh_raw ON COMMIT DROP AS
		SELECT 0::bigint AS line, r.* FROM cpt_rules.cms_aoc_file r WITH NO DATA;
	EXECUTE format(
		'INSERT INTO pg_temp.cpt_rules_refresh_raw
		 SELECT row_number() OVER (ORDER BY ctid), aoc_edit_type, addon_code, addon_deleted,
				primary_code, primary_deleted, edit_effective, edit_deleted, special_instruction_notes
		   FROM %s', staging);

	CREATE TEMP TABLE cpt_rules_refresh_check ON COMMIT DROP AS
	SELECT r.*,
		CASE
			WHEN btrim(coalesce(r.aoc_edit_type, '')) NOT IN ('1', '2', '3', 'I', 'II', 'III')
				THEN format('AOC edit type %L is not 1, 2 or 3', r.aoc_edit_type)
			WHEN r.addon_code IS NULL OR NOT @extschema@.cpt_code_valid(r.addon_code)
				THEN format('add-on code %L is not a valid procedure code', r.addon_code)
			WHEN r.primary_code IS NULL
				 OR NOT (@extschema@.cpt_code_valid(r.primary_code) OR upper(btrim(r.primary_code)) = 'CCCCC')
				THEN format('primary code %L is not a valid procedure code or CCCCC', r.primary_code)
			WHEN NOT cpt_rules.cms_date_valid(r.addon_deleted)
				THEN format('add-on deletion date %L is not a YYYYDDD or YYYY-MM-DD date', r.addon_deleted)
			WHEN NOT cpt_rules.cms_date_valid(r.primary_deleted)
				THEN format('primary deletion date %L is not a YYYYDDD or YYYY-MM-DD date', r.primary_deleted)
			WHEN NOT cpt_rules.cms_date_valid(r.edit_effective) OR btrim(coalesce(r.edit_effective, '')) = ''
				THEN format('edit effective date %L is missing or not a YYYYDDD or YYYY-MM-DD date', r.edit_effective)
			WHEN NOT cpt_rules.cms_date_valid(r.edit_deleted)
				THEN format('edit deletion date %L is not a YYYYDDD or YYYY-MM-DD date', r.edit_deleted)
		END AS problem
	  FROM pg_temp.cpt_rules_refresh_raw r;

	CREATE TEMP TABLE cpt_rules_refresh_new ON COMMIT DROP AS
	SELECT c.line,
		   (CASE btrim(c.aoc_edit_type) WHEN 'I' THEN '1' WHEN 'II' THEN '2' WHEN 'III' THEN '3'
				ELSE btrim(c.aoc_edit_type) END)::smallint AS aoc_type,
		   @extschema@.cpt_code(c.addon_code) AS addon,
		   cpt_rules.cms_date(c.addon_deleted) AS addon_deleted,
		   CASE WHEN upper(btrim(c.primary_code)) = 'CCCCC' THEN NULL
				ELSE @extschema@.cpt_code(c.primary_code) END AS primary_code,
		   cpt_rules.cms_date(c.primary_deleted) AS primary_deleted,
		   cpt_rules.cms_date(c.edit_effective) AS edit_effective,
		   cpt_rules.cms_date(c.edit_deleted) AS edit_deleted,
		   nullif(btrim(c.special_instruction_notes), '') AS notes
	  FROM pg_temp.cpt_rules_refresh_check c
	 WHERE c.problem IS NULL;

	-- Row-level problems, then problems between rows.
	WITH problems AS (
		SELECT c.line, c.problem FROM pg_temp.cpt_rules_refresh_check c WHERE c.problem IS NOT NULL
		UNION ALL
		SELECT n.line, 'Type 1 add-on code ' || n.addon || ' cannot have a contractor-defined (CCCCC) primary'
		  FROM pg_temp.cpt_rules_refresh_new n WHERE n.aoc_type = 1 AND n.primary_code IS NULL
		UNION ALL
		SELECT n.line, 'add-on code ' || n.addon || ' is listed as its own primary'
		  FROM pg_temp.cpt_rules_refresh_new n WHERE n.primary_code OPERATOR(@extschema@.=) n.addon
		UNION ALL
		SELECT n.line, format('edit deletion date %s is not after the effective date %s', n.edit_deleted, n.edit_effective)
		  FROM pg_temp.cpt_rules_refresh_new n WHERE n.edit_deleted <= n.edit_effective
		UNION ALL
		SELECT n.line, format('add-on code %s has AOC type %s here but type %s on line %s',
							  n.addon, n.aoc_type, o.aoc_type, o.line)
		  FROM pg_temp.cpt_rules_refresh_new n
		  JOIN pg_temp.cpt_rules_refresh_new o
			ON o.addon OPERATOR(@extschema@.=) n.addon AND o.aoc_type <> n.aoc_type AND o.line < n.line
		 WHERE NOT EXISTS (SELECT 1 FROM pg_temp.cpt_rules_refresh_new o2
							WHERE o2.addon OPERATOR(@extschema@.=) n.addon
							  AND o2.aoc_type <> n.aoc_type AND o2.line < o.line)
		UNION ALL
		SELECT n.line, format('edit %s -> %s overlaps the edit on line %s',
							  n.addon, coalesce(n.primary_code::text, 'CCCCC'), o.line)
		  FROM pg_temp.cpt_rules_refresh_new n
		  JOIN pg_temp.cpt_rules_refresh_new o
			ON o.addon OPERATOR(@extschema@.=) n.addon
		   AND o.primary_code IS NOT DISTINCT FROM n.primary_code
		   AND o.line < n.line
		   AND daterange(o.edit_effective, o.edit_deleted) && daterange(n.edit_effective, n.edit_deleted)
	)
	SELECT count(*), (array_agg(format('line %s: %s', p.line, p.problem) ORDER BY p.line))[1:100]
	  INTO v_nbad, v_bad
	  FROM problems p;

	IF v_nbad > 0 THEN
		RAISE EXCEPTION 'CMS add-on code file has % bad row(s); the rules were not changed', v_nbad
			USING ERRCODE = 'bad_copy_file_format',
				  DETAIL = array_to_string(v_bad, E'\n')
						   || CASE WHEN v_nbad > 100 THEN format(E'\n... and %s more', v_nbad - 100) ELSE '' END,
				  HINT = 'Lines are data rows of the staging table in file order, counting from 1 (a header line is not counted).';
	END IF;

	-- What changes, pair by pair, against the rules now in force.
	CREATE TEMP TABLE cpt_rules_refresh_diff ON COMMIT DROP AS
	SELECT CASE
			 WHEN o.addon IS NULL THEN 'added'
			 WHEN n.addon IS NULL THEN 'removed'
			 WHEN o.edit_deleted IS NULL AND n.edit_deleted IS NOT NULL THEN 'ended'
			 ELSE 'changed'
		   END AS change,
		   coalesce(n.aoc_type, o.aoc_type) AS aoc_type,
		   coalesce(n.addon, o.addon) AS addon,
		   CASE WHEN n.addon IS NULL THEN o.primary_code ELSE n.primary_code END AS primary_code,
		   coalesce(n.edit_effective, o.edit_effective) AS edit_effective,
		   CASE WHEN n.addon IS NULL THEN o.edit_deleted ELSE n.edit_deleted END AS edit_deleted
	  FROM pg_temp.cpt_rules_refresh_new n
	  FULL JOIN cpt_rules.aoc_edit o
		ON o.addon OPERATOR(@extschema@.=) n.addon
	   AND o.primary_code IS NOT DISTINCT FROM n.primary_code
	   AND o.edit_effective = n.edit_effective
	 WHERE o.addon IS NULL OR n.addon IS NULL
		OR (o.aoc_type, o.addon_deleted, o.primary_deleted, o.edit_deleted, o.notes)
		   IS DISTINCT FROM (n.aoc_type, n.addon_deleted, n.primary_deleted, n.edit_deleted, n.notes);

	-- Re-express the new rules as a difference from the shipped baseline.
	DELETE FROM cpt_rules.aoc_edit_added;
	DELETE FROM cpt_rules.aoc_edit_removed;
	INSERT INTO cpt_rules.aoc_edit_removed (addon, primary_code, edit_effective)
	SELECT s.addon, s.primary_code, s.edit_effective
	  FROM cpt_rules.aoc_edit_shipped s
	 WHERE NOT EXISTS (
		SELECT 1 FROM pg_temp.cpt_rules_refresh_new n
		 WHERE n.addon OPERATOR(@extschema@.=) s.addon
		   AND n.primary_code IS NOT DISTINCT FROM s.primary_code
		   AND n.edit_effective = s.edit_effective
		   AND (n.aoc_type, n.addon_deleted, n.primary_deleted, n.edit_deleted, n.notes)
			   IS NOT DISTINCT FROM (s.aoc_type, s.addon_deleted, s.primary_deleted, s.edit_deleted, s.notes));
	INSERT INTO cpt_rules.aoc_edit_added
	SELECT n.aoc_type, n.addon, n.addon_deleted, n.primary_code, n.primary_deleted,
		   n.edit_effective, n.edit_deleted, n.notes
	  FROM pg_temp.cpt_rules_refresh_new n
	 WHERE NOT EXISTS (
		SELECT 1 FROM cpt_rules.aoc_edit_shipped s
		 WHERE n.addon OPERATOR(@extschema@.=) s.addon
		   AND n.primary_code IS NOT DISTINCT FROM s.primary_code
		   AND n.edit_effective = s.edit_effective
		   AND (n.aoc_type, n.addon_deleted, n.primary_deleted, n.edit_deleted, n.notes)
			   IS NOT DISTINCT FROM (s.aoc_type, s.addon_deleted, s.primary_deleted, s.edit_deleted, s.notes));

	SELECT string_agg(format('%s %s', d.n, d.change), ', ' ORDER BY d.change) INTO v_counts
	  FROM (SELECT count(*) AS n, x.change FROM pg_temp.cpt_rules_refresh_diff x GROUP BY x.change) d;
	RAISE NOTICE 'CMS add-on code edits refreshed: % rows read, %', 
		(SELECT count(*) FROM pg_temp.cpt_rules_refresh_new), coalesce(v_counts, 'no changes');

	RETURN QUERY SELECT d.change, d.aoc_type, d.addon, d.primary_code, d.edit_effective, d.edit_deleted
				   FROM pg_temp.cpt_rules_refresh_diff d
				  ORDER BY d.addon, d.primary_code NULLS FIRST, d.edit_effective;

	DROP TABLE pg_temp.cpt_rules_refresh_raw, pg_temp.cpt_rules_refresh_check,
			   pg_temp.cpt_rules_refresh_new, pg_temp.cpt_rules_refresh_diff;
END $$;
COMMENT ON FUNCTION cpt_rules.refresh_cms_edits(regclass) IS
	'replace the CMS add-on code edits with the rows of a staging table shaped like cpt_rules.cms_aoc_file; returns the changes';
REVOKE ALL ON FUNCTION cpt_rules.refresh_cms_edits(regclass) FROM PUBLIC;
