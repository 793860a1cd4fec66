-- The constraint ------------------------------------------------------------
--
-- This file is part of both the install script and the upgrade from 1.1, so
-- everything in it can be run over the objects of 1.1: CREATE OR REPLACE,
-- or DROP ... IF EXISTS first where a signature or a view's columns change.
--
-- A rule is three constraint triggers on the table (see src/addon_trigger.c):
-- <rule>_arriving, <rule>_moving and <rule>_leaving.  Their WHEN clauses call
-- the marker functions below with the rule's columns, which is how the
-- triggers bind those columns by number (src/rule_binding.c).

CREATE OR REPLACE FUNCTION cpt_rules.addon_rule_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME', 'addon_rule_trigger' LANGUAGE C;
COMMENT ON FUNCTION cpt_rules.addon_rule_trigger() IS
	'constraint trigger of the add-on rule; its argument is the rule name, its WHEN clause one of the addon_rule_arriving/moving/leaving markers';

CREATE OR REPLACE FUNCTION cpt_rules.addon_rule_arriving(VARIADIC "any") RETURNS boolean
	AS 'MODULE_PATHNAME', 'addon_rule_arriving' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.addon_rule_arriving("any") IS
	'WHEN clause of a rule''s INSERT trigger: (code, date of service or NULL::date, group columns...); true for an add-on';
CREATE OR REPLACE FUNCTION cpt_rules.addon_rule_moving(VARIADIC "any") RETURNS boolean
	AS 'MODULE_PATHNAME', 'addon_rule_moving' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.addon_rule_moving("any") IS
	'WHEN clause of a rule''s UPDATE trigger: the same columns as (OLD, NEW) pairs; true when any of them changed';
CREATE OR REPLACE FUNCTION cpt_rules.addon_rule_leaving(VARIADIC "any") RETURNS boolean
	AS 'MODULE_PATHNAME', 'addon_rule_leaving' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.addon_rule_leaving("any") IS
	'WHEN clause of a rule''s DELETE trigger: (code, date of service or NULL::date, group columns...); true for a line with a code';

-- Per-group evaluation used by the audit; the trigger applies the same rule.
CREATE OR REPLACE FUNCTION cpt_rules.violating_lines(codes @extschema@.cpt_code[], dates date[] DEFAULT NULL)
	RETURNS integer[]
	AS 'MODULE_PATHNAME', 'cpt_violating_lines' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.violating_lines(@extschema@.cpt_code[], date[]) IS
	'1-based positions of the add-on codes of one group that have no eligible primary in the group';

-- What the C code knows about rules, for the SQL below.
CREATE OR REPLACE FUNCTION cpt_rules.rule_marker_call(role text, code name, service_date name,
		group_by name[])
	RETURNS text
	AS 'MODULE_PATHNAME', 'cpt_rule_marker_call' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.rule_marker_call(text, name, name, name[]) IS
	'the WHEN clause of a rule''s trigger of that role (arriving, moving, leaving): the marker function called with the rule''s columns';
CREATE OR REPLACE FUNCTION cpt_rules.rule_trigger_columns(trigger oid,
		OUT rule_name name, OUT role text, OUT code_column name,
		OUT service_date_column name, OUT group_by name[])
	RETURNS record
	AS 'MODULE_PATHNAME', 'cpt_rule_trigger_columns' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.rule_trigger_columns(oid) IS
	'the rule a trigger belongs to, its role, and the current names of the rule''s columns';
CREATE OR REPLACE FUNCTION cpt_rules.group_index(tbl regclass, group_by name[]) RETURNS regclass
	AS 'MODULE_PATHNAME', 'cpt_group_index' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.group_index(regclass, name[]) IS
	'the index a check of these group columns uses on this table, or NULL (then each check scans the table)';
CREATE OR REPLACE FUNCTION cpt_rules.group_type_ok(typ regtype) RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_group_type_ok' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.group_type_ok(regtype) IS
	'whether a column of this type can group claim lines (it has a btree equality)';
CREATE OR REPLACE FUNCTION cpt_rules.partitions_keep_groups(root regclass, parent regclass, group_by name[])
	RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_partitions_keep_groups' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.partitions_keep_groups(regclass, regclass, name[]) IS
	'whether every partitioned table from root down to parent routes all lines of a group to one partition';

-- Check the arguments of a rule.
CREATE OR REPLACE FUNCTION cpt_rules.rule_columns(tbl regclass, code name, group_by name[], service_date name)
	RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_col name;
	v_type regtype;
	v_base regtype;
	v_role text;
BEGIN
	IF tbl IS NULL THEN
		RAISE EXCEPTION 'argument "tbl" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF code IS NULL THEN
		RAISE EXCEPTION 'argument "code" must name the column of procedure codes'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF group_by IS NULL OR array_position(group_by, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'argument "group_by" must name 1 to 8 columns, none of them NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF (SELECT c.relkind FROM pg_class c WHERE c.oid = tbl) NOT IN ('r', 'p') THEN
		RAISE EXCEPTION '"%" is not a table', tbl USING ERRCODE = 'wrong_object_type';
	END IF;
	IF cardinality(group_by) NOT BETWEEN 1 AND 8 THEN
		RAISE EXCEPTION 'argument "group_by" must name 1 to 8 columns'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'For CMS''s rule, group by patient, rendering practitioner and date of service.';
	END IF;
	IF cardinality(group_by) <> (SELECT count(DISTINCT g) FROM unnest(group_by) g) THEN
		RAISE EXCEPTION 'argument "group_by" names a column twice' USING ERRCODE = 'duplicate_column';
	END IF;
	IF code = ANY (group_by) OR service_date = code THEN
		RAISE EXCEPTION 'the code column cannot also be a group or date-of-service column'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR v_col, v_role IN
		SELECT c, r FROM unnest(array_prepend(code, group_by) || service_date,
								array_prepend('code', array_fill('group_by'::text, ARRAY[cardinality(group_by)]))
								|| 'service_date'::text) u(c, r)
		 WHERE c IS NOT NULL
	LOOP
		SELECT a.atttypid::regtype INTO v_type FROM pg_attribute a
		 WHERE a.attrelid = tbl AND a.attname = v_col AND a.attnum > 0 AND NOT a.attisdropped;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'column "%" (argument "%") of relation "%" does not exist', v_col, v_role, tbl
				USING ERRCODE = 'undefined_column';
		END IF;
		-- a domain is judged by the type it is over, however deep
		v_base := v_type;
		WHILE (SELECT t.typtype FROM pg_type t WHERE t.oid = v_base) = 'd' LOOP
			SELECT t.typbasetype INTO v_base FROM pg_type t WHERE t.oid = v_base;
		END LOOP;
		IF v_role = 'code' AND v_base <> '@extschema@.cpt_code'::regtype THEN
			RAISE EXCEPTION 'code column "%" is of type %, not cpt_code', v_col, v_type
				USING ERRCODE = 'datatype_mismatch',
					  HINT = format('Convert it first: ALTER TABLE %s ALTER COLUMN %I TYPE @extschema@.cpt_code;', tbl, v_col);
		ELSIF v_role = 'service_date' AND v_base <> 'date'::regtype THEN
			RAISE EXCEPTION 'date-of-service column "%" is of type %, not date', v_col, v_type
				USING ERRCODE = 'datatype_mismatch';
		ELSIF v_role = 'group_by' AND NOT cpt_rules.group_type_ok(v_type) THEN
			RAISE EXCEPTION 'group column "%" is of type %, which has no btree equality operator', v_col, v_type
				USING ERRCODE = 'datatype_mismatch';
		END IF;
	END LOOP;
END $$;

-- One row per trigger of a rule, as attached (clones on partitions left out).
CREATE OR REPLACE VIEW cpt_rules.rule_triggers AS
SELECT t.oid AS trigger_oid, t.tgrelid AS table_oid, t.tgname AS trigger_name, c.rule_name, c.role,
	   c.code_column, c.service_date_column, c.group_by,
	   t.tgdeferrable, t.tginitdeferred, t.tgenabled
  FROM pg_catalog.pg_trigger t
 CROSS JOIN LATERAL cpt_rules.rule_trigger_columns(t.oid) c
 WHERE t.tgfoid = 'cpt_rules.addon_rule_trigger()'::pg_catalog.regprocedure
   AND t.tgparentid = 0;
COMMENT ON VIEW cpt_rules.rule_triggers IS 'the triggers that make up each add-on rule';
GRANT SELECT ON cpt_rules.rule_triggers TO PUBLIC;

-- Where the rule is enforced, one row per rule, with the columns' current names.
CREATE OR REPLACE VIEW cpt_rules.enforced_rules AS
SELECT r.table_oid::pg_catalog.regclass AS table_name,
	   r.rule_name,
	   r.code_column,
	   r.service_date_column,
	   r.group_by,
	   pg_catalog.bool_and(r.tgdeferrable) AS deferrable,
	   pg_catalog.bool_and(r.tginitdeferred) AS initially_deferred,
	   -- 'O' fires unless session_replication_role = replica, 'A' always
	   pg_catalog.bool_and(r.tgenabled OPERATOR(pg_catalog.=) ANY ('{O,A}'::"char"[]))
		 AND (pg_catalog.count(DISTINCT r.role) = 3 OR pg_catalog.bool_or(r.role = 'legacy')) AS enabled,
	   pg_catalog.bool_or(r.role = 'legacy') AS legacy,
	   pg_catalog.array_agg(r.trigger_name ORDER BY r.trigger_name) AS triggers
  FROM cpt_rules.rule_triggers r
 GROUP BY r.table_oid, r.rule_name, r.code_column, r.service_date_column, r.group_by;
COMMENT ON VIEW cpt_rules.enforced_rules IS
	'tables where the add-on rule is attached, with the columns it uses; enabled is false when any of its triggers does not fire';
GRANT SELECT ON cpt_rules.enforced_rules TO PUBLIC;

-- The audit.  Over a whole hierarchy (partitions and inheritance children);
-- only_groups_of limits it to the groups that have a line in that table,
-- excluding leaves out the lines of those tables and their partitions.
DROP FUNCTION IF EXISTS cpt_rules.addon_rule_violations(regclass, name, name[], name);
DROP FUNCTION IF EXISTS cpt_rules.addon_rule_violations(regclass, name, name[], name, regclass, regclass);
CREATE OR REPLACE FUNCTION cpt_rules.addon_rule_violations(tbl regclass, code name, group_by name[],
		service_date name DEFAULT NULL, only_groups_of regclass DEFAULT NULL,
		excluding regclass[] DEFAULT NULL)
	RETURNS TABLE (group_key jsonb, addon @extschema@.cpt_code, date_of_service date,
				   line_table regclass, line_ctid tid)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_cols text;
	v_gcols text;
	v_key text;
	v_anynull text;
	v_same text;
	v_date text;
	v_where text := 'true';
	v_tab text := 't.tableoid::regclass';
	v_query text;
BEGIN
	PERFORM cpt_rules.rule_columns(tbl, code, group_by, service_date);
	-- on Citus a line's tableoid is its shard's on some worker: name the table
	IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
		IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = tbl) THEN
			v_tab := 'NULL::regclass';
		END IF;
	END IF;
	SELECT string_agg(format('t.%I', g), ', '),
		   string_agg(format('l.%I', g), ', '),
		   'jsonb_build_object(' || string_agg(format('%L, g.%I', g, g), ', ') || ')',
		   string_agg(format('t.%I IS NULL', g), ' OR '),
		   string_agg(format('k.%1$I IS NOT DISTINCT FROM t.%1$I', g), ' AND ')
	  INTO v_cols, v_gcols, v_key, v_anynull, v_same
	  FROM unnest(group_by) g;
	-- columns of a domain type are read as the type the domain is over
	v_date := CASE WHEN service_date IS NULL THEN 'NULL::date' ELSE format('t.%I::date', service_date) END;
	IF excluding IS NOT NULL THEN
		v_where := format('t.tableoid <> ALL (ARRAY(SELECT p.relid FROM unnest(%L::oid[]) e, '
						  'pg_partition_tree(e::regclass) p))', excluding::oid[]);
	END IF;
	IF only_groups_of IS NOT NULL THEN
		v_where := v_where || format(' AND EXISTS (SELECT 1 FROM %s k WHERE %s)', only_groups_of, v_same);
	END IF;

	-- Only groups holding an add-on can break the rule: find those first,
	-- then judge each group once with the same rule as the trigger.  Groups
	-- with a NULL key column cannot be joined on, so they are judged apart.
	v_query := format($q$
		WITH lines AS (
			SELECT %1$s, t.%2$I::@extschema@.cpt_code AS code__, %3$s AS dos__, %9$s AS tab__, t.ctid AS tid__
			  FROM %4$s t
			 WHERE (%1$s) IN (SELECT %1$s FROM %4$s t
							   WHERE t.%2$I IS NOT NULL AND @extschema@.is_addon(t.%2$I) AND %8$s)
			   AND %8$s
			UNION ALL
			SELECT %1$s, t.%2$I::@extschema@.cpt_code, %3$s, %9$s, t.ctid
			  FROM %4$s t
			 WHERE (%5$s) AND %8$s
		), groups AS (
			SELECT %6$s, array_agg(l.code__) AS codes, array_agg(l.dos__) AS dates,
				   array_agg(l.tab__) AS tabs, array_agg(l.tid__) AS tids
			  FROM lines l GROUP BY %6$s
		)
		SELECT %7$s, g.codes[i], g.dates[i], g.tabs[i], g.tids[i]
		  FROM groups g, unnest(cpt_rules.violating_lines(g.codes, g.dates)) i
		 ORDER BY 1, 2$q$,
		v_cols, code, v_date, tbl, v_anynull, v_gcols, v_key, v_where, v_tab);
	IF v_tab = 't.tableoid::regclass' THEN
		RETURN QUERY EXECUTE v_query;
	ELSE
		FOR group_key, addon, date_of_service, line_table, line_ctid IN EXECUTE v_query LOOP
			line_table := tbl;
			RETURN NEXT;
		END LOOP;
	END IF;
END $$;
COMMENT ON FUNCTION cpt_rules.addon_rule_violations(regclass, name, name[], name, regclass, regclass[]) IS
	'lines of a table (and its partitions or children) whose add-on code has no eligible primary in its group (usable with or without the rule attached)';

-- The same rows, as the checks must read them: blind to no line, whatever
-- row security would hide (src/unfiltered_read.c).
CREATE OR REPLACE FUNCTION cpt_rules.violations_unfiltered(tbl regclass, code name, group_by name[],
		service_date name DEFAULT NULL, only_groups_of regclass DEFAULT NULL,
		excluding regclass[] DEFAULT NULL)
	RETURNS TABLE (group_key jsonb, addon @extschema@.cpt_code, date_of_service date,
				   line_table regclass, line_ctid tid)
	AS 'MODULE_PATHNAME', 'cpt_violations_unfiltered'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION cpt_rules.violations_unfiltered(regclass, name, name[], name, regclass, regclass[]) IS
	'addon_rule_violations() with row security off, as the table owner (FORCE not applied) for a caller with the owner''s privileges, and with the latest snapshot: what enforcing and the DDL checks judge by';

-- Raise the rule's violation for lines of tbl, as after "what".
DROP FUNCTION IF EXISTS cpt_rules.check_rule(regclass, name, text, regclass, regclass);
CREATE OR REPLACE FUNCTION cpt_rules.check_rule(tbl regclass, rule_name name, what text,
		only_groups_of regclass DEFAULT NULL, excluding regclass[] DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_rule record;
	v_nbad bigint;
	v_examples text;
BEGIN
	SELECT r.code_column, r.group_by, r.service_date_column INTO STRICT v_rule
	  FROM cpt_rules.enforced_rules r WHERE r.table_name = tbl AND r.rule_name = check_rule.rule_name;
	SELECT count(*), string_agg(format('%s in group %s', v.addon, v.group_key), '; ') FILTER (WHERE v.rn <= 5)
	  INTO v_nbad, v_examples
	  FROM (SELECT x.*, row_number() OVER () AS rn
			  FROM cpt_rules.violations_unfiltered(tbl, v_rule.code_column, v_rule.group_by,
												   v_rule.service_date_column, only_groups_of, excluding) x) v;
	IF v_nbad > 0 THEN
		RAISE EXCEPTION '% would leave % add-on line(s) of table % without an eligible primary code',
				what, v_nbad, tbl
			USING ERRCODE = 'check_violation',
				  DETAIL = format('Add-on rule "%s": for example %s.', check_rule.rule_name, v_examples),
				  HINT = format('List them with SELECT * FROM cpt_rules.addon_rule_violations(%L, %L, %L%s);',
								tbl::text, v_rule.code_column, v_rule.group_by,
								CASE WHEN v_rule.service_date_column IS NOT NULL
									 THEN format(', %L', v_rule.service_date_column) ELSE '' END),
				  TABLE = (SELECT c.relname FROM pg_class c WHERE c.oid = tbl),
				  SCHEMA = (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
							 WHERE c.oid = tbl),
				  CONSTRAINT = check_rule.rule_name;
	END IF;
END $$;

-- TRUNCATE of one partition fires no row event: a statement trigger on
-- every table of a partitioned hierarchy checks the claims it would take
-- away from the other partitions (src/ddl_guard.c).
CREATE OR REPLACE FUNCTION cpt_rules.addon_rule_truncate() RETURNS trigger
	AS 'MODULE_PATHNAME', 'cpt_truncate_guard' LANGUAGE C;
COMMENT ON FUNCTION cpt_rules.addon_rule_truncate() IS
	'BEFORE TRUNCATE trigger on the partitions of a table with an add-on rule: checks the claims that span partitions';

CREATE OR REPLACE FUNCTION cpt_rules.guard_truncate(tbl regclass, rule_name name)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_rel regclass;
BEGIN
	FOR v_rel IN SELECT p.relid FROM pg_partition_tree(tbl) p
				  WHERE NOT EXISTS (SELECT 1 FROM pg_trigger t
									 WHERE t.tgrelid = p.relid AND t.tgname = guard_truncate.rule_name || '_truncate') LOOP
		EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT '
					   'EXECUTE FUNCTION cpt_rules.addon_rule_truncate()', rule_name || '_truncate', v_rel);
	END LOOP;
END $$;

CREATE OR REPLACE FUNCTION cpt_rules.unguard_truncate(tbl regclass, rule_name name)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_trg record;
BEGIN
	FOR v_trg IN SELECT t.tgrelid::regclass AS rel, t.tgname
				   FROM (SELECT tbl AS relid UNION SELECT p.relid FROM pg_partition_tree(tbl) p) p
				   JOIN pg_trigger t ON t.tgrelid = p.relid
				  WHERE t.tgname = unguard_truncate.rule_name || '_truncate'
					AND t.tgfoid = 'cpt_rules.addon_rule_truncate()'::regprocedure LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', v_trg.tgname, v_trg.rel);
	END LOOP;
END $$;

-- Each check reads one group: without an index that is a full scan.  Said
-- once, when the rule is enforced or a partition joins it.
CREATE OR REPLACE FUNCTION cpt_rules.warn_unindexed(tbl regclass, group_by name[])
	RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_unindexed text;
BEGIN
	SELECT string_agg(p.relid::regclass::text, ', ' ORDER BY p.relid::regclass::text) INTO v_unindexed
	  FROM (SELECT t.relid FROM pg_partition_tree(tbl) t WHERE t.isleaf
			UNION SELECT tbl WHERE NOT EXISTS (SELECT 1 FROM pg_partition_tree(tbl))) p
	 WHERE cpt_rules.group_index(p.relid, group_by) IS NULL;
	IF v_unindexed IS NOT NULL THEN
		RAISE WARNING 'no index on % leads with the group columns (%)', v_unindexed, array_to_string(group_by, ', ')
			USING HINT = format('Each check reads one group; create one: CREATE INDEX ON %s (%s);',
								tbl, (SELECT string_agg(format('%I', g), ', ') FROM unnest(group_by) g));
	END IF;
END $$;

-- Citus --------------------------------------------------------------------
--
-- On a Citus cluster every node checks its own shards with its own copy of
-- the rules, so the rule tables must be the same everywhere: they become
-- reference tables, written by the coordinator in one two-phase
-- transaction, and each node reads its own placement (src/rules_cache.c).
CREATE OR REPLACE FUNCTION cpt_rules.citus_setup() RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_tbl regclass;
	v_unsafe text;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension e WHERE e.extname = 'citus') THEN
		RAISE EXCEPTION 'Citus is not installed in this database'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Without Citus there is nothing to set up.';
	END IF;
	IF NOT pg_catalog.citus_is_coordinator() THEN
		RAISE EXCEPTION 'cpt_rules.citus_setup() runs on the coordinator'
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_node n WHERE n.groupid = 0) THEN
		RAISE EXCEPTION 'the coordinator is not in the cluster''s metadata'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'The rule tables become reference tables, and the coordinator checks claims with its own placement of them.',
				  HINT = 'SELECT citus_set_coordinator_host(''<coordinator host>'', <port>); then call this again.';
	END IF;
	-- the rule tables' own triggers go with them to every placement
	v_unsafe := current_setting('citus.enable_unsafe_triggers');
	PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
	FOREACH v_tbl IN ARRAY ARRAY['cpt_rules.aoc_edit_shipped', 'cpt_rules.aoc_edit_added',
								 'cpt_rules.aoc_edit_removed', 'cpt_rules.payer_pair']::regclass[] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = v_tbl) THEN
			PERFORM pg_catalog.create_reference_table(v_tbl);
		END IF;
	END LOOP;
	PERFORM set_config('citus.enable_unsafe_triggers', v_unsafe, true);
END $$;
COMMENT ON FUNCTION cpt_rules.citus_setup() IS
	'on a Citus coordinator: make the rule tables reference tables, so that every node checks claims with the same rules';
REVOKE ALL ON FUNCTION cpt_rules.citus_setup() FROM PUBLIC;

-- On Citus: a distributed table must keep each group on one shard, the rule
-- tables must be on every node, and the rule's triggers must reach every
-- shard (Citus copies a trigger to the shards only under
-- citus.enable_unsafe_triggers).  Returns the setting to restore, or NULL
-- where tbl is not a Citus table.
CREATE OR REPLACE FUNCTION cpt_rules.citus_prepare(tbl regclass, group_by name[], rule_name name)
	RETURNS text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_dist record;
	v_unsafe text;
BEGIN
	IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT p.partmethod::text AS method, pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) AS col
	  INTO v_dist FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = tbl;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	IF v_dist.method <> 'n' AND (v_dist.method <> 'h' OR NOT (v_dist.col = ANY (group_by))) THEN
		RAISE EXCEPTION 'cannot enforce add-on rule "%" on table %: it is distributed by %, not by a group column',
				rule_name, tbl, coalesce(quote_ident(v_dist.col), 'no column')
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Each shard checks the groups it holds; a group whose lines lie on several shards cannot be judged.',
				  HINT = format('Distribute the table by a group column first, e.g. SELECT alter_distributed_table(%L, distribution_column := %L);',
								tbl::text, group_by[1]);
	END IF;
	IF EXISTS (SELECT 1 FROM unnest(ARRAY['cpt_rules.aoc_edit_shipped', 'cpt_rules.aoc_edit_added',
										  'cpt_rules.aoc_edit_removed', 'cpt_rules.payer_pair']::regclass[]) r(t)
				WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = r.t)) THEN
		PERFORM cpt_rules.citus_setup();
	END IF;
	v_unsafe := current_setting('citus.enable_unsafe_triggers');
	PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
	RETURN v_unsafe;
END $$;
COMMENT ON FUNCTION cpt_rules.citus_prepare(regclass, name[], name) IS
	'before a rule''s triggers are made or dropped on a Citus table: check its distribution, put the rules on every node, allow the triggers';

-- The triggers of a rule, unchecked: enforce_addon_rule validates first.
CREATE OR REPLACE FUNCTION cpt_rules.create_rule_triggers(tbl regclass, rule_name name, code name,
		group_by name[], service_date name)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_base name := rule_name;
BEGIN
	EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER INSERT ON %s '
				   'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (%s) '
				   'EXECUTE FUNCTION cpt_rules.addon_rule_trigger(%L)',
				   v_base || '_arriving', tbl,
				   cpt_rules.rule_marker_call('arriving', code, service_date, group_by), v_base);
	EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER UPDATE ON %s '
				   'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (%s) '
				   'EXECUTE FUNCTION cpt_rules.addon_rule_trigger(%L)',
				   v_base || '_moving', tbl,
				   cpt_rules.rule_marker_call('moving', code, service_date, group_by), v_base);
	EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER DELETE ON %s '
				   'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (%s) '
				   'EXECUTE FUNCTION cpt_rules.addon_rule_trigger(%L)',
				   v_base || '_leaving', tbl,
				   cpt_rules.rule_marker_call('leaving', code, service_date, group_by), v_base);
	IF (SELECT c.relkind FROM pg_class c WHERE c.oid = tbl) = 'p' THEN
		PERFORM cpt_rules.guard_truncate(tbl, v_base);
	END IF;

END $$;

CREATE OR REPLACE FUNCTION cpt_rules.enforce_addon_rule(tbl regclass, code name, group_by name[],
											 service_date name DEFAULT NULL,
											 constraint_name name DEFAULT NULL)
	RETURNS name
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_base name;
	v_rule record;
	v_trg record;
	v_foreign text;
	v_citus text;
BEGIN
	PERFORM cpt_rules.rule_columns(tbl, code, group_by, service_date);
	IF EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
				WHERE i.inhparent = tbl AND NOT c.relispartition) THEN
		RAISE EXCEPTION 'table % has inheritance children', tbl
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'The rule''s triggers would not fire for lines written to a child table.',
				  HINT = 'Use declarative partitioning (PARTITION BY), or enforce the rule on each table of the hierarchy.';
	END IF;

	SELECT string_agg(p.relid::regclass::text, ', ' ORDER BY p.relid::regclass::text) INTO v_foreign
	  FROM pg_partition_tree(tbl) p JOIN pg_class c ON c.oid = p.relid
	 WHERE c.relkind = 'f';
	IF v_foreign IS NOT NULL THEN
		RAISE EXCEPTION 'cannot enforce an add-on rule on table %: partition % is a foreign table', tbl, v_foreign
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'PostgreSQL fires no constraint trigger on a foreign table, so lines written to it would not be checked.',
				  HINT = 'Detach the foreign partitions (ALTER TABLE ... DETACH PARTITION), or enforce the rule where those lines are stored.';
	END IF;

	-- Blocks writers (as CREATE TRIGGER would) so that what we validate stays true.
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', tbl);

	-- The same rule already there (under any name, if none was given)?
	SELECT * INTO v_rule FROM cpt_rules.enforced_rules r
	 WHERE r.table_name = tbl AND (constraint_name IS NULL OR r.rule_name = constraint_name)
	   AND r.code_column = code AND r.service_date_column IS NOT DISTINCT FROM service_date
	   AND r.group_by @> enforce_addon_rule.group_by AND r.group_by <@ enforce_addon_rule.group_by
	   AND NOT r.legacy AND cardinality(r.triggers) = 3
	 ORDER BY r.rule_name LIMIT 1;
	IF FOUND AND v_rule.enabled THEN
		RAISE NOTICE 'add-on rule "%" is already enforced on %', v_rule.rule_name, tbl;
		RETURN v_rule.rule_name;
	ELSIF FOUND THEN
		-- disabled: validate what was written meanwhile, as VALIDATE CONSTRAINT would
		PERFORM cpt_rules.check_rule(tbl, v_rule.rule_name, 'enabling the rule');
		v_citus := cpt_rules.citus_prepare(tbl, group_by, v_rule.rule_name);
		-- one statement, so that the rule is never seen half enabled
		EXECUTE format('ALTER TABLE %s %s', tbl,
					   (SELECT string_agg(format('ENABLE TRIGGER %I', r.trigger_name), ', ')
						  FROM cpt_rules.rule_triggers r
						 WHERE r.table_oid = tbl AND r.rule_name = v_rule.rule_name));
		IF v_citus IS NOT NULL THEN
			PERFORM set_config('citus.enable_unsafe_triggers', v_citus, true);
		END IF;
		RAISE NOTICE 'add-on rule "%" on % enabled again; the lines already there obey it', v_rule.rule_name, tbl;
		RETURN v_rule.rule_name;
	END IF;

	v_base := coalesce(constraint_name, (SELECT c.relname FROM pg_class c WHERE c.oid = tbl) || '_addon_rule');
	v_citus := cpt_rules.citus_prepare(tbl, group_by, v_base);
	-- A rule of that name on other columns, or made by 1.1, is replaced.
	FOR v_trg IN SELECT r.trigger_name FROM cpt_rules.rule_triggers r
				  WHERE r.table_oid = tbl AND r.rule_name = v_base LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', v_trg.trigger_name, tbl);
	END LOOP;
	FOR v_trg IN SELECT t.tgname FROM pg_trigger t
				  WHERE t.tgrelid = tbl AND t.tgname IN (v_base || '_arriving', v_base || '_moving', v_base || '_leaving') LOOP
		RAISE EXCEPTION 'trigger "%" already exists on table %', v_trg.tgname, tbl
			USING ERRCODE = 'duplicate_object', HINT = 'Choose another constraint_name.';
	END LOOP;

	-- Existing rows must obey the rule, as with ALTER TABLE ... ADD FOREIGN KEY.
	DECLARE
		v_nbad bigint;
		v_examples text;
	BEGIN
		SELECT count(*), string_agg(format('%s in group %s', v.addon, v.group_key), '; ') FILTER (WHERE v.rn <= 5)
		  INTO v_nbad, v_examples
		  FROM (SELECT x.*, row_number() OVER () AS rn
				  FROM cpt_rules.violations_unfiltered(tbl, code, group_by, service_date) x) v;
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
	END;

	PERFORM cpt_rules.create_rule_triggers(tbl, v_base, code, group_by, service_date);
	IF v_citus IS NOT NULL THEN
		PERFORM set_config('citus.enable_unsafe_triggers', v_citus, true);
	END IF;

	PERFORM cpt_rules.warn_unindexed(tbl, group_by);
	RETURN v_base;
END $$;
COMMENT ON FUNCTION cpt_rules.enforce_addon_rule(regclass, name, name[], name, name) IS
	'attach the add-on code rule to a table of claim lines (or enable it again, validating the lines); returns the rule''s name';

CREATE OR REPLACE FUNCTION cpt_rules.drop_addon_rule(tbl regclass, constraint_name name DEFAULT NULL)
	RETURNS boolean
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_rules name[];
	v_trg record;
	v_citus text;
BEGIN
	IF tbl IS NULL THEN
		RAISE EXCEPTION 'argument "tbl" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT array_agg(DISTINCT r.rule_name) INTO v_rules FROM cpt_rules.rule_triggers r
	 WHERE r.table_oid = tbl AND (constraint_name IS NULL OR r.rule_name = constraint_name);
	IF v_rules IS NULL THEN
		IF constraint_name IS NULL THEN
			RAISE NOTICE 'no add-on rule is enforced on %, skipping', tbl;
		ELSE
			RAISE NOTICE 'add-on rule "%" is not enforced on %, skipping', constraint_name, tbl;
		END IF;
		RETURN false;
	END IF;
	IF cardinality(v_rules) > 1 THEN
		RAISE EXCEPTION 'table % has % add-on rules', tbl, cardinality(v_rules)
			USING ERRCODE = 'ambiguous_parameter',
				  HINT = format('Name the one to drop: %s.', array_to_string(v_rules, ', '));
	END IF;
	-- dropping needs no check of the distribution, only the setting
	IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
		IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = tbl) THEN
			v_citus := current_setting('citus.enable_unsafe_triggers');
			PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
		END IF;
	END IF;
	FOR v_trg IN SELECT r.trigger_name FROM cpt_rules.rule_triggers r
				  WHERE r.table_oid = tbl AND r.rule_name = v_rules[1] LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', v_trg.trigger_name, tbl);
	END LOOP;
	PERFORM cpt_rules.unguard_truncate(tbl, v_rules[1]);
	IF v_citus IS NOT NULL THEN
		PERFORM set_config('citus.enable_unsafe_triggers', v_citus, true);
	END IF;
	RETURN true;
END $$;
COMMENT ON FUNCTION cpt_rules.drop_addon_rule(regclass, name) IS
	'remove an add-on code rule from a table (the only one, when no name is given); returns false if it was not there';

-- DDL that could let a violation in without a row event: see src/ddl_guard.c,
-- which calls this with what the statement does.  gone: every table the
-- statement drops or truncates (DROP TABLE a, b; DROP SCHEMA; TRUNCATE a, b),
-- when more than the child: the claims are judged without all of them.
DROP FUNCTION IF EXISTS cpt_rules.check_ddl(text, regclass, regclass);
CREATE OR REPLACE FUNCTION cpt_rules.check_ddl(action text, parent regclass, child regclass,
		gone regclass[] DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_rule record;
BEGIN
	IF action = 'inherit' THEN
		IF EXISTS (SELECT 1 FROM cpt_rules.rule_triggers r WHERE r.table_oid = parent) THEN
			RAISE EXCEPTION 'table % cannot inherit from %, which enforces an add-on rule', child, parent
				USING ERRCODE = 'feature_not_supported',
					  DETAIL = 'The rule''s triggers would not fire for lines written to the child table.',
					  HINT = 'Use declarative partitioning (PARTITION BY ... and PARTITION OF) instead.';
		END IF;
		RETURN;
	END IF;

	IF action = 'triggers' THEN
		FOR v_rule IN SELECT r.rule_name FROM cpt_rules.enforced_rules r
					   WHERE r.table_name = child AND NOT r.enabled LOOP
			RAISE WARNING 'add-on rule "%" on table % is not enforced: some of its triggers do not fire',
					v_rule.rule_name, child
				USING HINT = format('Lines written meanwhile are not checked.  Enable it again, validating them: '
									'SELECT cpt_rules.enforce_addon_rule(%L, ...);', child::text);
		END LOOP;
		RETURN;
	END IF;

	-- attach, detach, detach concurrently, drop: the rules over parent
	FOR v_rule IN
		SELECT r.table_name, r.rule_name, r.group_by FROM cpt_rules.enforced_rules r
		 WHERE r.table_name IN (SELECT a.relid FROM pg_partition_ancestors(parent) a)
		 ORDER BY r.table_name::text, r.rule_name
	LOOP
		IF action IN ('attach', 'create partition') THEN
			PERFORM cpt_rules.guard_truncate(child, v_rule.rule_name);
			PERFORM cpt_rules.warn_unindexed(child, v_rule.group_by);
		ELSIF action = 'detach' THEN
			PERFORM cpt_rules.unguard_truncate(child, v_rule.rule_name);
		END IF;
		CONTINUE WHEN action NOT IN ('attach')
				  AND cpt_rules.partitions_keep_groups(v_rule.table_name, parent, v_rule.group_by);
		IF action = 'attach' THEN
			PERFORM cpt_rules.check_rule(v_rule.table_name, v_rule.rule_name,
										 format('attaching partition %s', child), only_groups_of => child);
		ELSIF action = 'detach' THEN
			-- the partition is gone from the hierarchy: judge what is left
			PERFORM cpt_rules.check_rule(v_rule.table_name, v_rule.rule_name,
										 format('detaching partition %s', child), only_groups_of => child);
		ELSIF action IN ('drop', 'truncate') THEN
			-- the partition's lines are gone, with those of the rest of gone
			PERFORM cpt_rules.check_rule(v_rule.table_name, v_rule.rule_name,
										 format('%s partition %s',
												CASE action WHEN 'drop' THEN 'dropping' ELSE 'truncating' END, child)
										 || CASE WHEN cardinality(gone) > 1
												 THEN format(' with %s other table(s)', cardinality(gone) - 1)
												 ELSE '' END,
										 only_groups_of => child,
										 excluding => coalesce(gone, ARRAY[child]));
		ELSIF action = 'detach concurrently' THEN
			RAISE EXCEPTION 'cannot detach partition % concurrently: add-on rule "%" on % lets claims span partitions',
					child, v_rule.rule_name, v_rule.table_name
				USING ERRCODE = 'feature_not_supported',
					  HINT = 'DETACH PARTITION without CONCURRENTLY checks the claims the partition takes away.';
		END IF;
	END LOOP;
END $$;

-- A column the rule uses cannot change type under its triggers; say what to run.
CREATE OR REPLACE FUNCTION cpt_rules.check_ddl_column(action text, tbl regclass, col name)
	RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_rule record;
BEGIN
	FOR v_rule IN SELECT r.* FROM cpt_rules.enforced_rules r
				   WHERE r.table_name = tbl
					 AND (col = r.code_column OR col = r.service_date_column OR col = ANY (r.group_by)) LOOP
		RAISE EXCEPTION 'cannot alter type of column "%" of table %: add-on rule "%" uses it', col, tbl, v_rule.rule_name
			USING ERRCODE = 'dependent_objects_still_exist',
				  HINT = format('Drop the rule, alter the column, and enforce the rule again: '
								'SELECT cpt_rules.drop_addon_rule(%L, %L); ALTER TABLE %s ALTER COLUMN %I TYPE ...; '
								'SELECT cpt_rules.enforce_addon_rule(%L, code => %L, group_by => %L%s, constraint_name => %L);',
								tbl::text, v_rule.rule_name, tbl, col, tbl::text, v_rule.code_column, v_rule.group_by,
								CASE WHEN v_rule.service_date_column IS NOT NULL
									 THEN format(', service_date => %L', v_rule.service_date_column) ELSE '' END,
								v_rule.rule_name);
	END LOOP;
END $$;

CREATE OR REPLACE FUNCTION cpt_rules.ddl_guard() RETURNS event_trigger
	AS 'MODULE_PATHNAME', 'cpt_ddl_guard' LANGUAGE C;
DROP EVENT TRIGGER IF EXISTS cpt_rules_ddl_start;
DROP EVENT TRIGGER IF EXISTS cpt_rules_ddl_end;
CREATE EVENT TRIGGER cpt_rules_ddl_start ON ddl_command_start
	WHEN TAG IN ('ALTER TABLE', 'CREATE FOREIGN TABLE', 'DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
	EXECUTE FUNCTION cpt_rules.ddl_guard();
CREATE EVENT TRIGGER cpt_rules_ddl_end ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE') EXECUTE FUNCTION cpt_rules.ddl_guard();
