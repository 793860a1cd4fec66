-- cpt_rules 1.0 -> 1.1

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION cpt_rules UPDATE TO '1.1'" to load this file. \quit

-- Equal codes are bitwise equal: declaring it lets btree indexes on
-- cpt_code deduplicate, as text indexes do.  Existing indexes deduplicate
-- once rebuilt (REINDEX).
ALTER OPERATOR FAMILY @extschema@.cpt_code_ops USING btree
	ADD FUNCTION 4 (@extschema@.cpt_code) btequalimage(oid);

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
