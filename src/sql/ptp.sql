-- Procedure-to-procedure (PTP) edits: refresh from CMS's files, lookups -----
--
-- The tables are in src/sql/ptp_tables.sql.  A deletion date is the first
-- date of service an edit no longer applies to, as for the add-on edits; an
-- edit of modifier indicator 9 (its deletion date its effective date) was
-- never in force.  This file is part of the install script and of the
-- update from the previous version.

CREATE OR REPLACE FUNCTION cpt_rules.cms_yyyymmdd(text) RETURNS date
	AS 'MODULE_PATHNAME', 'cpt_cms_yyyymmdd' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.cms_yyyymmdd(text) IS
	'the date written as eight digits YYYYMMDD, as CMS''s PTP files write them; NULL for anything else';

-- A program and setting CMS publishes PTP edits for.
CREATE OR REPLACE FUNCTION cpt_rules.ptp_check_program_setting(program text, setting text)
	RETURNS void
	LANGUAGE plpgsql IMMUTABLE STRICT
AS $$
BEGIN
	IF program NOT IN ('medicare', 'medicaid') THEN
		RAISE EXCEPTION 'program "%" is not medicare or medicaid', program USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF setting NOT IN ('practitioner', 'outpatient hospital', 'dme') OR (setting = 'dme' AND program = 'medicare') THEN
		RAISE EXCEPTION 'setting "%" has no % PTP edits', setting, program
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Medicare''s settings are practitioner and outpatient hospital; Medicaid also has dme.';
	END IF;
END $$;

-- refresh_ptp_edits()'s work on the records, in C: one scan of the
-- staging table checks every record, then (with none bad and no shrink
-- refused) the new rationale labels are added, the quarter's earlier edits
-- deleted and the edits stored packed; the parts, the edits and how many of
-- each modifier indicator returned.
CREATE OR REPLACE FUNCTION cpt_rules.ptp_load(staging regclass, medicare_layout boolean, quarter smallint,
		program text, setting text, previous_effective date, previous_edits integer, allow_shrink boolean,
		OUT parts bigint, OUT edits bigint, OUT modifier_0 bigint, OUT modifier_1 bigint, OUT modifier_9 bigint)
	AS 'MODULE_PATHNAME', 'cpt_ptp_load' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION cpt_rules.ptp_load(regclass, boolean, smallint, text, text, date, integer, boolean) IS
	'the records of refresh_ptp_edits(): checked, and stored for the quarter; called by it (it checks the privileges it needs)';

-- Load one quarter's PTP files (all four parts \copy'd into one staging
-- table, header lines and all) for a program and setting.
CREATE OR REPLACE FUNCTION cpt_rules.refresh_ptp_edits(staging regclass, setting text, effective date,
		program text DEFAULT 'medicare', allow_shrink boolean DEFAULT false)
	RETURNS TABLE (quarter date, parts bigint, edits bigint, modifier_0 bigint, modifier_1 bigint,
				   modifier_9 bigint, previous_quarter date, previous_edits bigint)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_medicare_layout boolean;
	v_layout_ok boolean;
	v_prev record;
	v_id smallint;
	v_new boolean;
	v_load record;
BEGIN
	IF staging IS NULL OR setting IS NULL OR effective IS NULL OR program IS NULL THEN
		RAISE EXCEPTION 'arguments "staging", "setting", "effective" and "program" must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM cpt_rules.ptp_check_program_setting(program, setting);
	IF effective NOT IN ('infinity', '-infinity') AND extract(day FROM effective) <> 1 THEN
		RAISE EXCEPTION 'effective date % is not the first day of a quarter''s month', effective
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'CMS''s file names give the quarter: ccipra-v322r0 is in force from 2026-07-01.';
	ELSIF effective IN ('infinity', '-infinity') THEN
		RAISE EXCEPTION 'effective date must be finite' USING ERRCODE = 'invalid_parameter_value';
	END IF;

	-- the staging table's layout: Medicare's seven columns or Medicaid's six
	SELECT array_agg(a.attname::text ORDER BY a.attnum) = '{column1,column2,pre_1996,effective,deleted,modifier,rationale}',
		   array_agg(a.attname::text ORDER BY a.attnum) = '{column1,column2,effective,deleted,modifier,rationale}'
			 OR array_agg(a.attname::text ORDER BY a.attnum) = '{column1,column2,pre_1996,effective,deleted,modifier,rationale}'
	  INTO v_medicare_layout, v_layout_ok
	  FROM pg_attribute a WHERE a.attrelid = staging AND a.attnum > 0 AND NOT a.attisdropped;
	IF v_medicare_layout IS DISTINCT FROM (program = 'medicare') OR v_layout_ok IS NOT TRUE THEN
		RAISE EXCEPTION 'staging table % does not have the layout of CMS''s % PTP files', staging, program
			USING ERRCODE = 'bad_copy_file_format',
				  HINT = format('Create it as CREATE TEMP TABLE ... (LIKE cpt_rules.%s) and \copy each part into it with (FORMAT csv, DELIMITER E''\t'', ENCODING ''LATIN1'').',
								CASE program WHEN 'medicare' THEN 'cms_ptp_file' ELSE 'cms_ptp_file_medicaid' END);
	END IF;

	-- one refresh of the PTP tables at a time
	LOCK TABLE cpt_rules.ptp_edit_loaded IN SHARE ROW EXCLUSIVE MODE;

	-- The quarter this one follows (or replaces, loaded again).
	SELECT q.id, q.effective, q.edits INTO v_prev FROM cpt_rules.ptp_quarter q
	 WHERE q.program = refresh_ptp_edits.program AND q.setting = refresh_ptp_edits.setting
	   AND q.effective <= refresh_ptp_edits.effective
	 ORDER BY q.effective DESC LIMIT 1;
	SELECT q.id INTO v_id FROM cpt_rules.ptp_quarter q
	 WHERE q.program = refresh_ptp_edits.program AND q.setting = refresh_ptp_edits.setting
	   AND q.effective = refresh_ptp_edits.effective;
	v_new := NOT FOUND;
	IF v_new THEN
		SELECT coalesce(max(q.id), 0) + 1 INTO v_id FROM cpt_rules.ptp_quarter q;
	END IF;

	-- Every record checked (each part under CMS's six header lines), a
	-- shrink refused, then the rationale labels added and the edits stored,
	-- the quarter's earlier ones replaced.
	v_load := cpt_rules.ptp_load(staging, v_medicare_layout, v_id, program, setting, v_prev.effective, v_prev.edits, allow_shrink);

	IF v_new THEN
		INSERT INTO cpt_rules.ptp_quarter (id, program, setting, effective, edits)
		VALUES (v_id, refresh_ptp_edits.program, refresh_ptp_edits.setting, refresh_ptp_edits.effective, v_load.edits);
	ELSE
		UPDATE cpt_rules.ptp_quarter q SET edits = v_load.edits, loaded_by = current_user, loaded_at = now()
		 WHERE q.id = v_id;
	END IF;

	RAISE NOTICE '% % PTP edits in force from %: % edits in % part(s)%', program, setting, effective,
		v_load.edits, v_load.parts,
		CASE WHEN v_prev.effective IS NULL THEN ''
			 ELSE format('; the quarter of %s had %s', v_prev.effective, v_prev.edits) END;
	RETURN QUERY
	SELECT refresh_ptp_edits.effective, v_load.parts, v_load.edits, v_load.modifier_0, v_load.modifier_1,
		   v_load.modifier_9, v_prev.effective, v_prev.edits::bigint;
END $$;
COMMENT ON FUNCTION cpt_rules.refresh_ptp_edits(regclass, text, date, text, boolean) IS
	'load one quarter''s CMS PTP edits for a program (medicare, medicaid) and setting from a staging table holding the four parts as CMS ships them; every record checked first; a quarter loaded again is replaced';
REVOKE ALL ON FUNCTION cpt_rules.refresh_ptp_edits(regclass, text, date, text, boolean) FROM PUBLIC;

-- The edit between two codes, in either order, in force on a date of service:
-- the row of each code in the quarter of the date probed by the key, its
-- column 2 codes searched for the other.
CREATE OR REPLACE FUNCTION cpt_rules.ptp(code_a @extschema@.cpt_code, code_b @extschema@.cpt_code, on_date date,
		setting text DEFAULT 'practitioner', program text DEFAULT 'medicare')
	RETURNS TABLE (column1 @extschema@.cpt_code, column2 @extschema@.cpt_code, modifier_indicator smallint,
				   rationale text, effective date, deleted date, quarter date)
	AS 'MODULE_PATHNAME', 'cpt_ptp_lookup' LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 1;
COMMENT ON FUNCTION cpt_rules.ptp(@extschema@.cpt_code, @extschema@.cpt_code, date, text, text) IS
	'the PTP edit between two codes (either order) in force on a date of service: which is column 1, the modifier indicator (0: no modifier allows the pair, 1: a PTP-associated modifier may), the rationale; no row when none';

-- Dropping a quarter no longer needed (the files are large).
CREATE OR REPLACE FUNCTION cpt_rules.drop_ptp_quarter(program text, setting text, effective date)
	RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_id smallint;
	v_n bigint;
BEGIN
	LOCK TABLE cpt_rules.ptp_edit_loaded IN SHARE ROW EXCLUSIVE MODE;
	DELETE FROM cpt_rules.ptp_quarter q
	 WHERE q.program = drop_ptp_quarter.program AND q.setting = drop_ptp_quarter.setting
	   AND q.effective = drop_ptp_quarter.effective
	RETURNING q.id, q.edits INTO v_id, v_n;
	IF v_id IS NULL THEN
		RAISE NOTICE 'no % % PTP quarter of % is loaded, skipping', program, setting, effective;
		RETURN 0;
	END IF;
	DELETE FROM cpt_rules.ptp_edit_loaded e WHERE e.quarter = v_id;
	RETURN v_n;
END $$;
COMMENT ON FUNCTION cpt_rules.drop_ptp_quarter(text, text, date) IS
	'remove a PTP quarter loaded by refresh_ptp_edits() and its edits; returns how many edits';
REVOKE ALL ON FUNCTION cpt_rules.drop_ptp_quarter(text, text, date) FROM PUBLIC;

-- CMS's PTP-associated modifiers (NCCI Policy Manual for Medicare Services,
-- ch. I, E): anatomic, global surgery and the others.  22, 76 and 77 are not
-- among them and bypass no edit.
CREATE OR REPLACE FUNCTION cpt_rules.ptp_modifiers() RETURNS text[]
	AS 'MODULE_PATHNAME', 'cpt_ptp_modifiers' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.ptp_modifiers() IS
	'the NCCI PTP-associated modifiers, which may bypass an edit of modifier indicator 1';

-- The PTP-associated modifiers among a pair's, as the audit carries them (a
-- line's modifiers separated by blanks): each once, upper case, in the
-- list's order; NULL when none.
CREATE OR REPLACE FUNCTION cpt_rules.ptp_bypass_modifiers(modifiers text) RETURNS text[]
	AS 'MODULE_PATHNAME', 'cpt_ptp_bypass_modifiers' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.ptp_bypass_modifiers(text) IS
	'the PTP-associated modifiers among modifiers separated by blanks, in ptp_modifiers() order; NULL when none';

-- Audit: every pair of lines of one group (patient, provider) and date of
-- service that a PTP edit in force on that date pairs, column 1 line and
-- column 2 line, the edit's indicator and whether a PTP-associated modifier
-- on either line bypasses it (indicator 1 only).  A group's lines are
-- gathered by one hash aggregate, and only a group holding two different
-- codes is paired, each ordered pair of its lines probed once against the
-- edits of the quarter judging the date.  The pairs come in no particular
-- order.
CREATE OR REPLACE FUNCTION cpt_rules.ptp_violations(tbl regclass, code name, group_by name[], service_date name,
		modifiers name[] DEFAULT '{}', setting text DEFAULT 'practitioner', program text DEFAULT 'medicare')
	RETURNS TABLE (group_key jsonb, date_of_service date, column1 @extschema@.cpt_code, column2 @extschema@.cpt_code,
				   modifier_indicator smallint, rationale text, bypassed boolean, bypass_modifiers text[],
				   column1_table regclass, column1_ctid tid, column2_table regclass, column2_ctid tid)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
	-- the pairs are counted as ten per group, and then sorted to meet the
	-- edits by merging, where hashing the few edits is much cheaper (500,000
	-- lines: 15.7 s merging, 8.2 s hashing)
	SET enable_mergejoin = off
AS $$
DECLARE
	v_code text;
	v_mods text;
	v_col name;
	v_type regtype;
	v_array boolean;
	v_category "char";
	v_groups text;
	v_xcols text;
	v_key text;
BEGIN
	IF modifiers IS NULL OR setting IS NULL OR program IS NULL THEN
		RAISE EXCEPTION 'arguments "modifiers", "setting" and "program" must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass modifiers => ''{}'' for a table without modifier columns.';
	END IF;
	PERFORM cpt_rules.ptp_check_program_setting(program, setting);
	PERFORM cpt_rules.rule_columns(tbl, code, group_by, service_date);
	IF array_position(modifiers, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'argument "modifiers" must not hold a NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;

	-- each modifier column a text type, or an array of one; a line's
	-- modifiers carried as one string of them separated by blanks
	FOREACH v_col IN ARRAY modifiers LOOP
		SELECT a.atttypid::regtype, t.typcategory = 'A', coalesce(et.typcategory, t.typcategory)
		  INTO v_type, v_array, v_category
		  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
		  LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
		 WHERE a.attrelid = tbl AND a.attname = v_col AND a.attnum > 0 AND NOT a.attisdropped;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'column "%" (argument "modifiers") of relation "%" does not exist', v_col, tbl
				USING ERRCODE = 'undefined_column';
		ELSIF v_category <> 'S' THEN
			RAISE EXCEPTION 'modifier column "%" is of type %, not a text type or an array of one', v_col, v_type
				USING ERRCODE = 'datatype_mismatch';
		END IF;
		v_mods := concat_ws(', ', v_mods,
							CASE WHEN v_array
								 THEN format('array_to_string(t.%I::text[], '' '')', v_col)
								 ELSE format('t.%I::text', v_col) END);
	END LOOP;
	v_mods := CASE WHEN v_mods IS NULL THEN 'NULL::text' ELSE format('concat_ws('' '', %s)', v_mods) END;

	v_code := cpt_rules.audit_code_expression(tbl, code);
	-- the group columns carried as g1__, g2__...: no name of the table's
	-- can meet a name of the query's own
	SELECT string_agg(format('t.%I AS g%s__', g, n), ', ' ORDER BY n), string_agg(format('x.g%s__', n), ', ' ORDER BY n),
		   string_agg(format('%L, pr.g%s__', g, n), ', ' ORDER BY n)
	  INTO v_groups, v_xcols, v_key
	  FROM unnest(group_by) WITH ORDINALITY u(g, n);

	-- The groups holding two codes or more, materialized: read for the
	-- codes they hold, and paired.  Only the edits between two of those codes
	-- are hashed for the pairs to probe (the whole quarter would spill).
	RETURN QUERY EXECUTE format($q$
		WITH periods AS (
			SELECT p.id, CASE WHEN p.first THEN '-infinity' ELSE p.effective END AS starts,
				   coalesce(p.ends, 'infinity') AS ends
			  FROM cpt_rules.ptp_quarter_period p WHERE p.program = $1 AND p.setting = $2
		), g AS MATERIALIZED (
			SELECT %6$s, x.day__, p.id AS quarter__, array_agg(x.code__) AS codes__, array_agg(x.mods__) AS mods__,
				   array_agg(x.tab__) AS tabs__, array_agg(x.tid__) AS tids__
			  FROM (SELECT %1$s, %2$s AS code__, t.%3$I::date AS day__, %4$s AS mods__,
						   t.tableoid::regclass AS tab__, t.ctid AS tid__
					  FROM %5$s t) x
			  JOIN periods p ON x.day__ >= p.starts AND x.day__ < p.ends
			 WHERE x.code__ IS NOT NULL
			 GROUP BY %6$s, x.day__, p.id
			HAVING min(x.code__) OPERATOR(@extschema@.<>) max(x.code__)
		), codes AS MATERIALIZED (
			SELECT DISTINCT g.quarter__ AS quarter, c.code FROM g, unnest(g.codes__) c(code)
		), edits AS MATERIALIZED (
			SELECT e.quarter, e.column1, u.column2, u.effective, u.deleted, u.modifier, r.rationale
			  FROM cpt_rules.ptp_edit_loaded e
			 CROSS JOIN LATERAL unnest(e.column2, e.effective, e.deleted, e.modifier, e.rationale)
					 u(column2, effective, deleted, modifier, rationale)
			  LEFT JOIN cpt_rules.ptp_rationale r ON r.id = u.rationale
			 WHERE u.modifier <> 9
			   AND (e.quarter, e.column1) IN (SELECT c.quarter, c.code FROM codes c)
			   AND (e.quarter, u.column2) IN (SELECT c.quarter, c.code FROM codes c)
		)
		SELECT jsonb_build_object(%7$s), pr.day__, e.column1, e.column2, e.modifier, e.rationale,
			   e.modifier = 1 AND bp.mods IS NOT NULL, bp.mods, pr.a_tab__, pr.a_tid__, pr.b_tab__, pr.b_tid__
		  FROM (SELECT g.*, a.code AS a_code__, a.mods AS a_mods__, a.tab AS a_tab__, a.tid AS a_tid__,
					   b.code AS b_code__, b.mods AS b_mods__, b.tab AS b_tab__, b.tid AS b_tid__
				  FROM g
				 CROSS JOIN LATERAL unnest(g.codes__, g.mods__, g.tabs__, g.tids__) a(code, mods, tab, tid)
				 CROSS JOIN LATERAL unnest(g.codes__, g.mods__, g.tabs__, g.tids__) b(code, mods, tab, tid)
				 WHERE a.code OPERATOR(@extschema@.<>) b.code
				-- the pairs made before they meet the edits, never the edits
				-- joined to whole groups first
				OFFSET 0) pr
		  JOIN edits e
			ON e.quarter = pr.quarter__ AND e.column1 OPERATOR(@extschema@.=) pr.a_code__
		   AND e.column2 OPERATOR(@extschema@.=) pr.b_code__
		 CROSS JOIN LATERAL (SELECT cpt_rules.ptp_bypass_modifiers(concat_ws(' ', pr.a_mods__, pr.b_mods__)) AS mods) bp
		 WHERE e.effective <= pr.day__ AND (e.deleted IS NULL OR e.deleted > pr.day__)$q$,
		v_groups, v_code, service_date, v_mods, tbl, v_xcols, v_key)
	USING program, setting;
END $$;
COMMENT ON FUNCTION cpt_rules.ptp_violations(regclass, name, name[], name, name[], text, text) IS
	'pairs of lines of one group and date of service that a PTP edit in force on the date pairs: the column 1 line, the column 2 line (denied unless bypassed), the modifier indicator, and whether a PTP-associated modifier on either line bypasses it (indicator 1 only)';
