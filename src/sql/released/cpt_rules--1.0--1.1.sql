-- cpt_rules 1.0 -> 1.1

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION cpt_rules UPDATE TO '1.1'" to load this file. \quit

-- Equal codes are bitwise equal: declaring it lets btree indexes on
-- cpt_code deduplicate, as text indexes do.  Existing indexes deduplicate
-- once rebuilt (REINDEX).
ALTER OPERATOR FAMILY @extschema@.cpt_code_ops USING btree
	ADD FUNCTION 4 (@extschema@.cpt_code) btequalimage(oid);

-- The planner learns what share of a code column is add-ons (it assumed a
-- third), so queries filtering on is_addon() are sized right.
CREATE FUNCTION cpt_rules.is_addon_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'cpt_is_addon_support' LANGUAGE C STRICT;
ALTER FUNCTION @extschema@.is_addon(@extschema@.cpt_code) SUPPORT cpt_rules.is_addon_support;
ALTER FUNCTION @extschema@.is_addon(@extschema@.cpt_code, date) SUPPORT cpt_rules.is_addon_support;

-- The audit groups on the group columns themselves rather than on a jsonb
-- key, so the planner can size the aggregation from their statistics.
CREATE OR REPLACE FUNCTION cpt_rules.addon_rule_violations(tbl regclass, code name, group_by name[],
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

-- cms_date() was labelled IMMUTABLE but called to_date(), which is only
-- STABLE; it now builds the date from its parts.
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
