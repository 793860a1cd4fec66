-- Refresh from the CMS file (part of the install script and of the upgrade
-- from 1.1, so it replaces the 1.1 function).

-- A CMS date: Julian YYYYDDD (the CMS format) or ISO YYYY-MM-DD; blank is NULL.
-- Year 0000 and other impossible dates are invalid, never an error: each CASE
-- branch tests the year before any make_date() sees it.
CREATE OR REPLACE FUNCTION cpt_rules.cms_date_valid(s text) RETURNS boolean
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
	SELECT CASE
		WHEN s IS NULL OR btrim(s) = '' THEN true
		WHEN btrim(s) !~ '^[0-9]{7}$' AND btrim(s) !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN false
		WHEN substr(btrim(s), 1, 4)::int < 1 THEN false
		WHEN btrim(s) ~ '^[0-9]{7}$' THEN
			substr(btrim(s), 5, 3)::int BETWEEN 1 AND
				(make_date(substr(btrim(s), 1, 4)::int, 12, 31)
				 - make_date(substr(btrim(s), 1, 4)::int, 1, 1) + 1)
		WHEN substr(btrim(s), 6, 2)::int NOT BETWEEN 1 AND 12 THEN false
		ELSE substr(btrim(s), 9, 2)::int BETWEEN 1 AND
				extract(day FROM make_date(substr(btrim(s), 1, 4)::int, substr(btrim(s), 6, 2)::int, 1)
						+ interval '1 month - 1 day')::int
	END
$$;

CREATE OR REPLACE FUNCTION cpt_rules.cms_date(s text) RETURNS date
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

CREATE OR REPLACE FUNCTION cpt_rules.refresh_cms_edits(staging regclass, allow_shrink boolean DEFAULT false)
	RETURNS TABLE (change text, aoc_type smallint, addon @extschema@.cpt_code,
				   primary_code @extschema@.cpt_code, edit_effective date, edit_deleted date)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_bad text[];
	v_nbad bigint;
	v_counts text;
	v_addons_now bigint;
	v_addons_kept bigint;
	v_rule record;
BEGIN
	IF staging IS NULL THEN
		RAISE EXCEPTION 'argument "staging" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
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

	-- temporary tables have no statistics until analyzed: the checks below join them to themselves
	ANALYZE pg_temp.cpt_rules_refresh_new;

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

	-- A file that drops most add-ons is far more likely a wrong or truncated
	-- export than a CMS release: refuse unless told otherwise.
	SELECT (SELECT count(DISTINCT e.addon) FROM cpt_rules.aoc_edit e),
		   (SELECT count(*) FROM (SELECT e.addon FROM cpt_rules.aoc_edit e
								  INTERSECT SELECT n.addon FROM pg_temp.cpt_rules_refresh_new n) k)
	  INTO v_addons_now, v_addons_kept;
	IF NOT coalesce(allow_shrink, false) AND v_addons_now > 0 AND v_addons_kept * 2 < v_addons_now THEN
		SELECT string_agg(format('%s %s', d.n, d.change), ', ' ORDER BY d.change) INTO v_counts
		  FROM (SELECT count(*) AS n, x.change FROM pg_temp.cpt_rules_refresh_diff x GROUP BY x.change) d;
		RAISE EXCEPTION 'the CMS file would remove % of the % add-on codes in force', v_addons_now - v_addons_kept, v_addons_now
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('%s rows read; the edits would change by: %s.  Nothing was changed.',
								  (SELECT count(*) FROM pg_temp.cpt_rules_refresh_new), coalesce(v_counts, 'nothing')),
				  HINT = 'Check that the whole file was loaded; if the shrink is intended, call cpt_rules.refresh_cms_edits(..., allow_shrink => true).';
	END IF;

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

	-- Claims already stored are not re-checked; say how many the new rules reject.
	FOR v_rule IN SELECT r.table_name, r.rule_name, r.code_column, r.group_by, r.service_date_column
					FROM cpt_rules.enforced_rules r ORDER BY r.table_name::text, r.rule_name LOOP
		BEGIN
			-- row security must not make the count smaller than it is
			SELECT count(*) INTO v_nbad
			  FROM cpt_rules.violations_unfiltered(v_rule.table_name, v_rule.code_column, v_rule.group_by,
												   v_rule.service_date_column);
		EXCEPTION WHEN insufficient_privilege THEN
			RAISE WARNING 'could not audit table % under the new rules: %', v_rule.table_name, SQLERRM;
			CONTINUE;
		END;
		IF v_nbad > 0 THEN
			RAISE WARNING 'under the new rules, % committed add-on line(s) of table % have no eligible primary code',
					v_nbad, v_rule.table_name
				USING HINT = format('List them with SELECT * FROM cpt_rules.addon_rule_violations(%L, %L, %L%s);',
									v_rule.table_name::text, v_rule.code_column, v_rule.group_by,
									CASE WHEN v_rule.service_date_column IS NOT NULL
										 THEN format(', %L', v_rule.service_date_column) ELSE '' END);
		END IF;
	END LOOP;

	RETURN QUERY SELECT d.change, d.aoc_type, d.addon, d.primary_code, d.edit_effective, d.edit_deleted
				   FROM pg_temp.cpt_rules_refresh_diff d
				  ORDER BY d.addon, d.primary_code NULLS FIRST, d.edit_effective;

	DROP TABLE pg_temp.cpt_rules_refresh_raw, pg_temp.cpt_rules_refresh_check,
			   pg_temp.cpt_rules_refresh_new, pg_temp.cpt_rules_refresh_diff;
END $$;
COMMENT ON FUNCTION cpt_rules.refresh_cms_edits(regclass, boolean) IS
	'replace the CMS add-on code edits with the rows of a staging table shaped like cpt_rules.cms_aoc_file (refusing a file that drops most add-ons unless allow_shrink); returns the changes';
REVOKE ALL ON FUNCTION cpt_rules.refresh_cms_edits(regclass, boolean) FROM PUBLIC;
