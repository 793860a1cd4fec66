-- Medically unlikely edits (MUE): lookups, refresh, audit ------------------
--
-- The tables are in src/sql/mue_tables.sql.  A setting is 'practitioner',
-- 'outpatient hospital' or 'dme' (DME supplier).  This file is part of the
-- install script and of the update from the previous version.

-- The shipped edits were just written: the planner judges the audits' joins
-- by their statistics from now on, not from when autovacuum first comes by.
ANALYZE cpt_rules.mue_edit_shipped, cpt_rules.mue_file_shipped;

-- The header CMS gives each setting's value column.
CREATE OR REPLACE FUNCTION cpt_rules.mue_value_header(setting text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT CASE setting
		WHEN 'practitioner' THEN 'Practitioner Services MUE Values'
		WHEN 'outpatient hospital' THEN 'Outpatient Hospital Services MUE Values'
		WHEN 'dme' THEN 'DME Supplier Services MUE Values'
	END
$$;
COMMENT ON FUNCTION cpt_rules.mue_value_header(text) IS
	'the header of the value column of CMS''s MUE file for a setting (practitioner, outpatient hospital, dme); NULL for any other';

-- The edit of a code on a date of service.
CREATE OR REPLACE FUNCTION cpt_rules.mue(code @extschema@.cpt_code, on_date date,
		setting text DEFAULT 'practitioner')
	RETURNS TABLE (mue_value integer, indicator smallint, rationale text, effective date)
	LANGUAGE sql STABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
	SELECT e.mue_value, e.indicator, e.rationale, q.effective
	  FROM cpt_rules.mue_quarter q
	  JOIN cpt_rules.mue_edit e
		ON e.setting = q.setting AND e.effective = q.effective AND e.code OPERATOR(@extschema@.=) $1
	 WHERE q.setting = $3 AND q.effective <= $2 AND (q.ends IS NULL OR q.ends > $2)
$$;
COMMENT ON FUNCTION cpt_rules.mue(@extschema@.cpt_code, date, text) IS
	'the MUE of a code in force on a date of service for a setting: the most units, the adjudication indicator (1 per line, 2 per date of service by policy, 3 per date of service clinically), CMS''s rationale and the table''s first date; no row when no limit is known';

-- Refresh from CMS's CSV, loaded as CMS ships it (notice, two-line header).
CREATE OR REPLACE FUNCTION cpt_rules.refresh_mue_edits(staging regclass, setting text, effective date,
		allow_shrink boolean DEFAULT false)
	RETURNS TABLE (change text, code @extschema@.cpt_code, mue_value integer, indicator smallint,
				   old_mue_value integer, old_indicator smallint)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_header_at bigint;
	v_header record;
	v_expected text := cpt_rules.mue_value_header(setting);
	v_file_setting text;
	v_bad text[];
	v_nbad bigint;
	v_new bigint;
	v_prev_effective date;
	v_prev bigint;
	v_counts text;
BEGIN
	IF staging IS NULL OR setting IS NULL OR effective IS NULL THEN
		RAISE EXCEPTION 'arguments "staging", "setting" and "effective" must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF v_expected IS NULL THEN
		RAISE EXCEPTION 'setting "%" is not an MUE setting', setting
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The settings are practitioner, outpatient hospital and dme.';
	END IF;
	IF effective NOT IN ('infinity', '-infinity') AND extract(day FROM effective) <> 1 THEN
		RAISE EXCEPTION 'effective date % is not the first day of a month', effective
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'CMS''s file names give it: MCR_MUE_PractitionerServices_Eff_07-01-2026.csv is in force from 2026-07-01.';
	ELSIF effective IN ('infinity', '-infinity') THEN
		RAISE EXCEPTION 'effective date must be finite' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- one refresh of the MUE tables at a time
	LOCK TABLE cpt_rules.mue_edit_loaded IN SHARE ROW EXCLUSIVE MODE;

	-- The file's records in file order, counted from 1 as the file has them.
	CREATE TEMP TABLE cpt_rules_mue_raw ON COMMIT DROP AS
		SELECT 0::bigint AS record, r.* FROM cpt_rules.cms_mue_file r WITH NO DATA;
	EXECUTE format('INSERT INTO pg_temp.cpt_rules_mue_raw
					SELECT row_number() OVER (ORDER BY ctid), hcpcs_code, mue_value, indicator, rationale
					  FROM %s', staging);

	-- The header: the first record whose first cell is CMS's "HCPCS/\nCPT Code".
	SELECT min(r.record) INTO v_header_at FROM pg_temp.cpt_rules_mue_raw r
	 WHERE regexp_replace(r.hcpcs_code, '\s+', '', 'g') ILIKE 'HCPCS/CPTCode';
	IF v_header_at IS NULL THEN
		RAISE EXCEPTION 'no header record in %: CMS''s MUE file has one ("HCPCS/CPT Code", "%", ...)',
			staging, v_expected
			USING ERRCODE = 'bad_copy_file_format',
				  HINT = 'Load the file as CMS ships it: \copy staging FROM ''file.csv'' WITH (FORMAT csv, ENCODING ''LATIN1'')';
	END IF;
	SELECT * INTO v_header FROM pg_temp.cpt_rules_mue_raw r WHERE r.record = v_header_at;
	IF btrim(v_header.mue_value) IS DISTINCT FROM v_expected THEN
		SELECT s INTO v_file_setting FROM unnest(ARRAY['practitioner', 'outpatient hospital', 'dme']) s
		 WHERE cpt_rules.mue_value_header(s) = btrim(v_header.mue_value);
		RAISE EXCEPTION 'the file''s values are "%", not "%"', v_header.mue_value, v_expected
			USING ERRCODE = 'bad_copy_file_format',
				  HINT = CASE WHEN v_file_setting IS NOT NULL
							  THEN format('It is the %s table: setting => %L.', v_file_setting, v_file_setting)
							  ELSE 'Is it a CMS MUE table?' END;
	END IF;

	-- Every data record checked before anything changes.
	CREATE TEMP TABLE cpt_rules_mue_new ON COMMIT DROP AS
	SELECT r.record, btrim(r.hcpcs_code) AS code_text, btrim(r.mue_value) AS value_text,
		   btrim(r.indicator) AS indicator_text, nullif(btrim(r.rationale), '') AS rationale,
		   CASE
			   WHEN NOT @extschema@.cpt_code_valid(coalesce(r.hcpcs_code, ''))
				   THEN format('%s is not a valid code', coalesce(quote_literal(r.hcpcs_code), 'NULL'))
			   WHEN coalesce(btrim(r.mue_value), '') !~ '^[0-9]{1,9}$'
				   THEN format('MUE value %s is not a whole number of units', coalesce(quote_literal(r.mue_value), 'NULL'))
			   WHEN coalesce(btrim(r.indicator), '') !~ '^[123]($|\s)'
				   THEN format('adjudication indicator %s is not 1, 2 or 3', coalesce(quote_literal(r.indicator), 'NULL'))
		   END AS problem
	  FROM pg_temp.cpt_rules_mue_raw r
	 WHERE r.record > v_header_at
	   -- a spreadsheet's trailing empty records
	   AND coalesce(r.hcpcs_code, '') || coalesce(r.mue_value, '') || coalesce(r.indicator, '')
		   || coalesce(r.rationale, '') !~ '^\s*$';

	WITH problems AS (
		SELECT n.record, n.problem FROM pg_temp.cpt_rules_mue_new n WHERE n.problem IS NOT NULL
		UNION ALL
		SELECT n.record, format('code %s is listed again (first on record %s)', n.code_text, o.record)
		  FROM pg_temp.cpt_rules_mue_new n
		  JOIN pg_temp.cpt_rules_mue_new o ON o.code_text::@extschema@.cpt_code OPERATOR(@extschema@.=) n.code_text::@extschema@.cpt_code
			   AND o.record < n.record
		 WHERE n.problem IS NULL AND o.problem IS NULL
		   AND NOT EXISTS (SELECT 1 FROM pg_temp.cpt_rules_mue_new o2
							WHERE o2.problem IS NULL AND o2.record < o.record
							  AND o2.code_text::@extschema@.cpt_code OPERATOR(@extschema@.=) n.code_text::@extschema@.cpt_code)
	)
	SELECT count(*), (array_agg(format('record %s: %s', p.record, p.problem) ORDER BY p.record))[1:100]
	  INTO v_nbad, v_bad
	  FROM problems p;
	IF v_nbad > 0 THEN
		RAISE EXCEPTION 'CMS MUE file has % bad record(s); the MUE tables were not changed', v_nbad
			USING ERRCODE = 'bad_copy_file_format',
				  DETAIL = array_to_string(v_bad, E'\n')
						   || CASE WHEN v_nbad > 100 THEN format(E'\n... and %s more', v_nbad - 100) ELSE '' END,
				  HINT = 'Records are counted in file order from 1, the notice and the header included.';
	END IF;

	-- What was in force for that setting on that date before (the same
	-- quarter when it is loaded again, else the one before it).
	SELECT q.effective INTO v_prev_effective FROM cpt_rules.mue_quarter q
	 WHERE q.setting = refresh_mue_edits.setting AND q.effective <= refresh_mue_edits.effective
	 ORDER BY q.effective DESC LIMIT 1;
	SELECT count(*) INTO v_new FROM pg_temp.cpt_rules_mue_new;
	SELECT count(*) INTO v_prev FROM cpt_rules.mue_edit e
	 WHERE e.setting = refresh_mue_edits.setting AND e.effective = v_prev_effective;
	IF v_new < v_prev / 2 AND NOT allow_shrink THEN
		RAISE EXCEPTION 'the file lists % code(s), against % in the % table in force before %', v_new, v_prev,
			setting, effective
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A truncated or empty file would leave most codes without a known limit.',
				  HINT = 'If that is intended, pass allow_shrink => true.';
	END IF;

	CREATE TEMP TABLE cpt_rules_mue_diff ON COMMIT DROP AS
	SELECT CASE WHEN o.code IS NULL THEN 'added' WHEN n.code IS NULL THEN 'removed' ELSE 'changed' END AS change,
		   coalesce(n.code, o.code) AS code, n.mue_value, n.indicator, o.mue_value AS old_mue_value,
		   o.indicator AS old_indicator
	  FROM (SELECT c.code_text::@extschema@.cpt_code AS code, c.value_text::integer AS mue_value,
				   left(c.indicator_text, 1)::smallint AS indicator
			  FROM pg_temp.cpt_rules_mue_new c) n
	  FULL JOIN (SELECT e.code, e.mue_value, e.indicator FROM cpt_rules.mue_edit e
				  WHERE e.setting = refresh_mue_edits.setting AND e.effective = v_prev_effective) o
		ON o.code OPERATOR(@extschema@.=) n.code
	 WHERE o.code IS NULL OR n.code IS NULL OR o.mue_value <> n.mue_value OR o.indicator <> n.indicator;

	DELETE FROM cpt_rules.mue_edit_loaded l
	 WHERE l.setting = refresh_mue_edits.setting AND l.effective = refresh_mue_edits.effective;
	INSERT INTO cpt_rules.mue_edit_loaded (setting, effective, code, mue_value, indicator, rationale)
	SELECT refresh_mue_edits.setting, refresh_mue_edits.effective, c.code_text::@extschema@.cpt_code,
		   c.value_text::integer, left(c.indicator_text, 1)::smallint, c.rationale
	  FROM pg_temp.cpt_rules_mue_new c;
	-- replaced by a delete and an insert, not ON CONFLICT ... DO UPDATE, which
	-- Citus refuses on a reference table when it sets loaded_at = now()
	DELETE FROM cpt_rules.mue_file f
	 WHERE f.setting = refresh_mue_edits.setting AND f.effective = refresh_mue_edits.effective;
	INSERT INTO cpt_rules.mue_file (setting, effective, codes)
	VALUES (refresh_mue_edits.setting, refresh_mue_edits.effective, v_new);

	SELECT string_agg(format('%s %s', n, d.change), ', ' ORDER BY d.change) INTO v_counts
	  FROM (SELECT d.change, count(*) AS n FROM pg_temp.cpt_rules_mue_diff d GROUP BY d.change) d;
	RAISE NOTICE 'MUE table (%) in force from %: % codes; against the table before it (%): %',
		setting, effective, v_new, coalesce(v_prev_effective::text, 'none'), coalesce(v_counts, 'no change');

	-- Claims already stored are not re-checked (as for the add-on edits): say
	-- what the MUE rules of this setting now find, read blind to no line.
	FOR v_header IN SELECT r.* FROM cpt_rules.enforced_mue_rules r
					 WHERE r.setting = refresh_mue_edits.setting ORDER BY r.table_name::text, r.rule_name LOOP
		BEGIN
			PERFORM cpt_rules.validate_mue_rule(v_header.table_name, v_header.rule_name, v_header.code_column,
												v_header.units_column, v_header.group_by,
												v_header.service_date_column, v_header.setting,
												v_header.indicators, 'the new MUE table');
		EXCEPTION
			WHEN check_violation THEN
				RAISE WARNING '%', SQLERRM USING HINT = 'Claims already stored are not re-checked; correct them or enforce fewer indicators.';
			WHEN insufficient_privilege THEN
				RAISE WARNING 'could not audit table % under the new MUE table: %', v_header.table_name, SQLERRM;
		END;
	END LOOP;
	RETURN QUERY SELECT d.change, d.code, d.mue_value, d.indicator, d.old_mue_value, d.old_indicator
				   FROM pg_temp.cpt_rules_mue_diff d ORDER BY d.code, d.change;
	DROP TABLE pg_temp.cpt_rules_mue_raw, pg_temp.cpt_rules_mue_new, pg_temp.cpt_rules_mue_diff;
END $$;
COMMENT ON FUNCTION cpt_rules.refresh_mue_edits(regclass, text, date, boolean) IS
	'load one CMS MUE table (a setting''s full table, in force from effective) from a staging table holding CMS''s CSV as shipped; every record checked first; returns what changed against the table in force before it';

-- The audit: what goes over its MUE, per line (indicator 1) and per
-- group, code and date of service (indicators 2 and 3).
CREATE OR REPLACE FUNCTION cpt_rules.mue_violations(tbl regclass, code name, units name, group_by name[],
		service_date name, setting text DEFAULT 'practitioner', indicators integer[] DEFAULT '{1,2,3}',
		service_end_date name DEFAULT NULL)
	RETURNS TABLE (group_key jsonb, billed_code @extschema@.cpt_code, date_of_service date, indicator smallint,
				   units_billed numeric, mue_value integer, lines bigint, line_table regclass, line_ctid tid)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_code text;
	v_type regtype;
	v_base regtype;
	v_category "char";
	v_groups text;
	v_key text;
	v_units text;
	v_days text;
	v_day text;
BEGIN
	IF units IS NULL OR service_date IS NULL OR setting IS NULL OR indicators IS NULL THEN
		RAISE EXCEPTION 'arguments "units", "service_date", "setting" and "indicators" must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF cpt_rules.mue_value_header(setting) IS NULL THEN
		RAISE EXCEPTION 'setting "%" is not an MUE setting', setting
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The settings are practitioner, outpatient hospital and dme.';
	END IF;
	PERFORM cpt_rules.rule_columns(tbl, code, group_by, service_date);
	SELECT a.atttypid::regtype, t.typcategory INTO v_type, v_category
	  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
	 WHERE a.attrelid = tbl AND a.attname = units AND a.attnum > 0 AND NOT a.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'column "%" of relation "%" does not exist', units, tbl USING ERRCODE = 'undefined_column';
	ELSIF v_category <> 'N' THEN
		RAISE EXCEPTION 'units column "%" is of type %, not a number', units, v_type
			USING ERRCODE = 'datatype_mismatch';
	END IF;
	IF service_end_date IS NOT NULL THEN
		-- a date, or a domain over one
		SELECT a.atttypid::regtype, CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END::regtype
		  INTO v_type, v_base
		  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
		 WHERE a.attrelid = tbl AND a.attname = service_end_date AND a.attnum > 0 AND NOT a.attisdropped;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'column "%" of relation "%" does not exist', service_end_date, tbl
				USING ERRCODE = 'undefined_column';
		ELSIF v_base <> 'date'::regtype THEN
			RAISE EXCEPTION 'service end date column "%" is of type %, not date', service_end_date, v_type
				USING ERRCODE = 'datatype_mismatch';
		END IF;
	END IF;

	v_code := cpt_rules.audit_code_expression(tbl, code);
	-- the group columns carried as g1__, g2__...: no name of the table's
	-- can meet a name of the query's own
	SELECT string_agg(format('t.%I AS g%s__', g, n), ', ' ORDER BY n), string_agg(format('%L, l.g%s__', g, n), ', ' ORDER BY n)
	  INTO v_groups, v_key
	  FROM unnest(group_by) WITH ORDINALITY u(g, n);
	-- a line without units bills one unit
	v_units := format('coalesce(t.%I, 1)::numeric', units);
	IF service_end_date IS NULL THEN
		v_day := format('t.%I::date', service_date);
		v_days := '';
	ELSE
		-- a from/to line: its units divided by its days, rounded, on each day
		v_day := 'd.day::date';
		v_units := format('CASE WHEN t.%2$I > t.%1$I THEN round(%3$s / (t.%2$I::date - t.%1$I::date + 1)) ELSE %3$s END',
						  service_date, service_end_date, v_units);
		v_days := format(' CROSS JOIN LATERAL generate_series(t.%1$I::date, greatest(t.%1$I::date, t.%2$I::date), interval ''1 day'') d(day)',
						 service_date, service_end_date);
	END IF;

	RETURN QUERY EXECUTE format($q$
		WITH periods AS (
			SELECT q.effective, coalesce(q.ends, 'infinity') AS ends
			  FROM cpt_rules.mue_quarter q WHERE q.setting = $1
		), lines AS (
			SELECT %1$s, %2$s AS code__, %3$s AS day__, %4$s AS units__, t.tableoid AS tab__, t.ctid AS tid__
			  FROM %5$s t%6$s
		), judged AS (
			SELECT l.*, e.indicator AS mai__, e.mue_value AS mue__
			  FROM lines l
			  JOIN periods p ON l.day__ >= p.effective AND l.day__ < p.ends
			  JOIN cpt_rules.mue_edit e
				ON e.setting = $1 AND e.effective = p.effective AND e.code OPERATOR(@extschema@.=) l.code__
			 WHERE e.indicator = ANY ($2)
		), groups AS (
			SELECT jsonb_build_object(%7$s) AS key__, l.code__, l.day__, l.mai__, l.mue__,
				   sum(l.units__) AS units__, count(*) AS lines__,
				   array_agg(l.tab__) FILTER (WHERE l.units__ > l.mue__) AS tabs__,
				   array_agg(l.tid__) FILTER (WHERE l.units__ > l.mue__) AS tids__,
				   array_agg(l.units__) FILTER (WHERE l.units__ > l.mue__) AS over__
			  FROM judged l
			 GROUP BY %8$s, l.code__, l.day__, l.mai__, l.mue__
			HAVING CASE WHEN l.mai__ = 1 THEN bool_or(l.units__ > l.mue__) ELSE sum(l.units__) > l.mue__ END
		)
		SELECT g.key__, g.code__, g.day__, g.mai__, g.units__, g.mue__, g.lines__, NULL::regclass, NULL::tid
		  FROM groups g WHERE g.mai__ <> 1
		UNION ALL
		SELECT g.key__, g.code__, g.day__, g.mai__, x.units, g.mue__, 1::bigint, x.tab, x.tid
		  FROM groups g, unnest(g.tabs__, g.tids__, g.over__) x(tab, tid, units)
		 WHERE g.mai__ = 1
		 ORDER BY 1, 2, 3, 9$q$,
		v_groups, v_code, v_day, v_units, tbl, v_days, v_key,
		(SELECT string_agg(format('l.g%s__', n), ', ' ORDER BY n) FROM unnest(group_by) WITH ORDINALITY u(g, n)))
	USING setting, indicators;
END $$;
COMMENT ON FUNCTION cpt_rules.mue_violations(regclass, name, name, name[], name, text, integer[], name) IS
	'lines (indicator 1) and groups, codes and dates of service (indicators 2 and 3, their lines'' units summed) over the MUE in force on the date for the setting; a line without units bills one unit; a from/to line (service_end_date) bills its units divided by its days, rounded, on each day';
