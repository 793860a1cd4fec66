-- The constraint ------------------------------------------------------------

CREATE FUNCTION cpt_rules.addon_rule_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME', 'addon_rule_trigger' LANGUAGE C;
COMMENT ON FUNCTION cpt_rules.addon_rule_trigger() IS
	'constraint trigger: arguments are the code column, the date-of-service column or '''', then 1 to 8 group columns';

-- Per-group evaluation used by the audit; the trigger applies the same rule.
CREATE FUNCTION cpt_rules.violating_lines(codes @extschema@.cpt_code[], dates date[] DEFAULT NULL)
	RETURNS integer[]
	AS 'MODULE_PATHNAME', 'cpt_violating_lines' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.violating_lines(@extschema@.cpt_code[], date[]) IS
	'1-based positions of the add-on codes of one group that have no eligible primary in the group';

-- Check the arguments of a rule and return its column list, quoted.
CREATE FUNCTION cpt_rules.rule_columns(tbl regclass, code name, group_by name[], service_date name)
	RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_col name;
	v_type regtype;
BEGIN
	IF (SELECT c.relkind FROM pg_class c WHERE c.oid = tbl) NOT IN ('r', 'p') THEN
		RAISE EXCEPTION '"%" is not a table', tbl USING ERRCODE = 'wrong_object_type';
	END IF;
	IF group_by IS NULL OR cardinality(group_by) NOT BETWEEN 1 AND 8 THEN
		RAISE EXCEPTION 'group_by must name 1 to 8 columns'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'For CMS''s rule, group by patient, rendering practitioner and date of service.';
	END IF;
	IF cardinality(group_by) <> (SELECT count(DISTINCT g) FROM unnest(group_by) g) THEN
		RAISE EXCEPTION 'group_by names a column twice' USING ERRCODE = 'duplicate_column';
	END IF;
	FOREACH v_col IN ARRAY array_prepend(code, group_by) || service_date LOOP
		CONTINUE WHEN v_col IS NULL;
		SELECT a.atttypid::regtype INTO v_type FROM pg_attribute a
		 WHERE a.attrelid = tbl AND a.attname = v_col AND a.attnum > 0 AND NOT a.attisdropped;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'column "%" of relation "%" does not exist', v_col, tbl
				USING ERRCODE = 'undefined_column';
		END IF;
		IF v_col = code AND v_type <> '@extschema@.cpt_code'::regtype THEN
			RAISE EXCEPTION 'code column "%" is of type %, not cpt_code', v_col, v_type
				USING ERRCODE = 'datatype_mismatch',
					  HINT = format('Convert it first: ALTER TABLE %s ALTER COLUMN %I TYPE @extschema@.cpt_code;', tbl, v_col);
		ELSIF v_col = service_date AND v_type <> 'date'::regtype THEN
			RAISE EXCEPTION 'date-of-service column "%" is of type %, not date', v_col, v_type
				USING ERRCODE = 'datatype_mismatch';
		ELSIF v_col = ANY (group_by) AND NOT EXISTS (
				SELECT 1 FROM pg_opclass o JOIN pg_am m ON m.oid = o.opcmethod
				 WHERE m.amname = 'btree' AND o.opcdefault AND o.opcintype IN (
					SELECT v_type UNION SELECT t.typbasetype FROM pg_type t WHERE t.oid = v_type)) THEN
			RAISE EXCEPTION 'group column "%" is of type %, which has no default btree operator class', v_col, v_type
				USING ERRCODE = 'datatype_mismatch';
		END IF;
	END LOOP;
	IF code = ANY (group_by) OR service_date = code THEN
		RAISE EXCEPTION 'the code column cannot also be a group or date column'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END $$;

CREATE FUNCTION cpt_rules.addon_rule_violations(tbl regclass, code name, group_by name[],
												service_date name DEFAULT NULL)
	RETURNS TABLE (group_key jsonb, addon @extschema@.cpt_code, date_of_service date,
				   line_table regclass, line_ctid tid)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_only text;
	v_cols text;
	v_gcols text;
	v_key text;
	v_anynull text;
	v_date text;
BEGIN
	PERFORM cpt_rules.rule_columns(tbl, code, group_by, service_date);
	v_only := CASE WHEN (SELECT c.relkind FROM pg_class c WHERE c.oid = tbl) = 'p' THEN '' ELSE 'ONLY ' END;
	SELECT string_agg(format('t.%I', g), ', '),
		   string_agg(format('l.%I', g), ', '),
		   'jsonb_build_object(' || string_agg(format('%L, g.%I', g, g), ', ') || ')',
		   string_agg(format('t.%I IS NULL', g), ' OR ')
	  INTO v_cols, v_gcols, v_key, v_anynull
	  FROM unnest(group_by) g;
	v_date := CASE WHEN service_date IS NULL THEN 'NULL::date' ELSE format('t.%I', service_date) END;

	-- Only groups holding an add-on can break the rule: find those first,
	-- then judge each group once with the same rule as the trigger.  Groups
	-- with a NULL key column cannot be joined on, so they are judged apart.
	-- Grouping is on the columns themselves, whose statistics the planner
	-- knows; the key is built for the few groups that fail.
	RETURN QUERY EXECUTE format($q$
		WITH lines AS (
			SELECT %1$s, t.%2$I AS code__, %3$s AS dos__, t.tableoid::regclass AS tab__, t.ctid AS tid__
			  FROM %4$s%5$s t
			 WHERE (%1$s) IN (SELECT %1$s FROM %4$s%5$s t
							   WHERE t.%2$I IS NOT NULL AND @extschema@.is_addon(t.%2$I))
			UNION ALL
			SELECT %1$s, t.%2$I, %3$s, t.tableoid::regclass, t.ctid
			  FROM %4$s%5$s t
			 WHERE %6$s
		), groups AS (
			SELECT %7$s, array_agg(l.code__) AS codes, array_agg(l.dos__) AS dates,
				   array_agg(l.tab__) AS tabs, array_agg(l.tid__) AS tids
			  FROM lines l GROUP BY %7$s
		)
		SELECT %8$s, g.codes[i], g.dates[i], g.tabs[i], g.tids[i]
		  FROM groups g, unnest(cpt_rules.violating_lines(g.codes, g.dates)) i
		 ORDER BY 1, 2$q$,
		v_cols, code, v_date, v_only, tbl, v_anynull, v_gcols, v_key);
END $$;
COMMENT ON FUNCTION cpt_rules.addon_rule_violations(regclass, name, name[], name) IS
	'lines of a table whose add-on code has no eligible primary in its group (usable with or without the rule attached)';

CREATE FUNCTION cpt_rules.enforce_addon_rule(tbl regclass, code name, group_by name[],
											 service_date name DEFAULT NULL,
											 constraint_name name DEFAULT NULL)
	RETURNS name
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_base name := coalesce(constraint_name,
							(SELECT c.relname FROM pg_class c WHERE c.oid = tbl) || '_addon_rule');
	v_addon_trg name := v_base || '_addon';
	v_primary_trg name := v_base || '_primary';
	v_args text;
	v_watch text;
	v_existing int;
	v_nbad bigint;
	v_examples text;
	v_indexed boolean;
BEGIN
	PERFORM cpt_rules.rule_columns(tbl, code, group_by, service_date);

	-- Blocks writers (as CREATE TRIGGER would) so that what we validate stays true.
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', tbl);

	v_args := format('%L, %L', code, coalesce(service_date, ''))
			  || (SELECT string_agg(format(', %L', g), '') FROM unnest(group_by) g);
	-- the columns whose change can break the rule, each once
	SELECT string_agg(format('%I', c), ', ' ORDER BY ord) INTO v_watch
	  FROM (SELECT DISTINCT ON (c) c, ord
			  FROM unnest(array_prepend(code, group_by) || service_date) WITH ORDINALITY u(c, ord)
			 WHERE c IS NOT NULL ORDER BY c, ord) w;

	-- Same triggers with the same arguments: nothing to do.
	SELECT count(*) INTO v_existing FROM pg_trigger t
	 WHERE t.tgrelid = tbl AND t.tgname IN (v_addon_trg, v_primary_trg)
	   AND t.tgfoid = 'cpt_rules.addon_rule_trigger()'::regprocedure
	   AND t.tgargs = (SELECT string_agg(convert_to(a, current_setting('server_encoding')) || '\x00'::bytea,
										 ''::bytea ORDER BY ord)
						 FROM unnest(array_prepend(code, array_prepend(coalesce(service_date, ''), group_by)))
							  WITH ORDINALITY u(a, ord));
	IF v_existing = 2 THEN
		RAISE NOTICE 'add-on rule "%" is already enforced on %', v_base, tbl;
		RETURN v_base;
	END IF;
	IF EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = tbl AND t.tgname = v_addon_trg) THEN
		EXECUTE format('DROP TRIGGER %I ON %s', v_addon_trg, tbl);
	END IF;
	IF EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = tbl AND t.tgname = v_primary_trg) THEN
		EXECUTE format('DROP TRIGGER %I ON %s', v_primary_trg, tbl);
	END IF;

	-- Existing rows must obey the rule, as with ALTER TABLE ... ADD FOREIGN KEY.
	SELECT count(*), string_agg(format('%s in group %s', v.addon, v.group_key), '; ')
				 FILTER (WHERE v.rn <= 5)
	  INTO v_nbad, v_examples
	  FROM (SELECT x.*, row_number() OVER () AS rn
			  FROM cpt_rules.addon_rule_violations(tbl, code, group_by, service_date) x) v;
	IF v_nbad > 0 THEN
		RAISE EXCEPTION 'table % has % add-on line(s) without an eligible primary code', tbl, v_nbad
			USING ERRCODE = 'check_violation',
				  DETAIL = 'For example: ' || v_examples || '.',
				  HINT = format('List them with SELECT * FROM cpt_rules.addon_rule_violations(%L, %L, %L%s);',
								tbl::text, code, group_by,
								CASE WHEN service_date IS NOT NULL THEN format(', %L', service_date) ELSE '' END),
				  TABLE = (SELECT c.relname FROM pg_class c WHERE c.oid = tbl),
				  SCHEMA = (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
							 WHERE c.oid = tbl),
				  CONSTRAINT = v_base;
	END IF;

	-- Lines arriving as add-ons: ordinary lines queue nothing.
	EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER INSERT OR UPDATE OF %s ON %s '
				   'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW '
				   'WHEN (NEW.%I IS NOT NULL AND @extschema@.is_addon(NEW.%I)) '
				   'EXECUTE FUNCTION cpt_rules.addon_rule_trigger(%s)',
				   v_addon_trg, v_watch, tbl, code, code, v_args);
	-- Lines leaving a group that they may have completed.
	EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER DELETE OR UPDATE OF %s ON %s '
				   'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW '
				   'WHEN (OLD.%I IS NOT NULL) '
				   'EXECUTE FUNCTION cpt_rules.addon_rule_trigger(%s)',
				   v_primary_trg, v_watch, tbl, code, v_args);

	-- Each check reads one group: without an index that is a full scan.
	SELECT EXISTS (
		SELECT 1 FROM pg_index i
		 WHERE i.indrelid = tbl AND i.indpred IS NULL
		   AND (SELECT array_agg(a.attname ORDER BY a.attname) FROM pg_attribute a
				 WHERE a.attrelid = tbl
				   AND a.attnum = ANY ((i.indkey::int2[])[0:cardinality(group_by) - 1]))
			   = (SELECT array_agg(g ORDER BY g) FROM unnest(group_by) g))
	  INTO v_indexed;
	IF NOT v_indexed THEN
		RAISE WARNING 'no index on % leads with the group columns (%)', tbl, array_to_string(group_by, ', ')
			USING HINT = format('Each check reads one group; create one: CREATE INDEX ON %s (%s);',
								tbl, (SELECT string_agg(format('%I', g), ', ') FROM unnest(group_by) g));
	END IF;
	RETURN v_base;
END $$;
COMMENT ON FUNCTION cpt_rules.enforce_addon_rule(regclass, name, name[], name, name) IS
	'attach the add-on code rule to a table of claim lines; returns the rule''s base name';

CREATE FUNCTION cpt_rules.drop_addon_rule(tbl regclass, constraint_name name DEFAULT NULL)
	RETURNS boolean
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_base name := coalesce(constraint_name,
							(SELECT c.relname FROM pg_class c WHERE c.oid = tbl) || '_addon_rule');
	v_found boolean;
BEGIN
	SELECT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = tbl
					  AND t.tgname IN (v_base || '_addon', v_base || '_primary')
					  AND t.tgfoid = 'cpt_rules.addon_rule_trigger()'::regprocedure)
	  INTO v_found;
	IF NOT v_found THEN
		RAISE NOTICE 'add-on rule "%" is not enforced on %, skipping', v_base, tbl;
		RETURN false;
	END IF;
	EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', v_base || '_addon', tbl);
	EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', v_base || '_primary', tbl);
	RETURN true;
END $$;
COMMENT ON FUNCTION cpt_rules.drop_addon_rule(regclass, name) IS
	'remove the add-on code rule from a table; returns false if it was not there';

-- Where the rule is enforced (one row per trigger the DBA attached; clones
-- on partitions are left out).
CREATE VIEW cpt_rules.enforced_rules AS
SELECT t.tgrelid::regclass AS table_name,
	   t.tgname AS trigger_name,
	   CASE WHEN t.tgtype & 4 <> 0 AND t.tgtype & 8 <> 0 THEN 'arriving and leaving lines'
			WHEN t.tgtype & 4 <> 0 THEN 'arriving lines'
			WHEN t.tgtype & 8 <> 0 THEN 'leaving lines'
			ELSE 'updated lines' END AS checks,
	   a.args[1]::name AS code_column,
	   nullif(a.args[2], '')::name AS service_date_column,
	   a.args[3:]::name[] AS group_by,
	   t.tgdeferrable AS deferrable,
	   t.tginitdeferred AS initially_deferred,
	   t.tgenabled <> 'D' AS enabled
  FROM pg_catalog.pg_trigger t
 CROSS JOIN LATERAL (
	SELECT pg_catalog.array_agg(pg_catalog.convert_from(
				pg_catalog.substr(t.tgargs, z.prev + 2, z.pos - z.prev - 1),
				pg_catalog.current_setting('server_encoding')) ORDER BY z.pos) AS args
	  FROM (SELECT i AS pos, coalesce(pg_catalog.lag(i) OVER (ORDER BY i), -1) AS prev
			  FROM pg_catalog.generate_series(0, pg_catalog.length(t.tgargs) - 1) i
			 WHERE pg_catalog.get_byte(t.tgargs, i) = 0) z) a
 WHERE t.tgfoid = 'cpt_rules.addon_rule_trigger()'::pg_catalog.regprocedure
   AND t.tgparentid = 0;
COMMENT ON VIEW cpt_rules.enforced_rules IS
	'tables where the add-on rule is enforced, with the columns it uses';
GRANT SELECT ON cpt_rules.enforced_rules TO PUBLIC;
