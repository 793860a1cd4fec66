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
		group_by name[], kind text DEFAULT 'add-on')
	RETURNS text
	AS 'MODULE_PATHNAME', 'cpt_rule_marker_call' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.rule_marker_call(text, name, name, name[], text) IS
	'the WHEN clause of the trigger of that role (arriving, moving, leaving) of a rule of that kind: its marker function called with the rule''s columns';
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
		IF v_role = 'code' AND v_base NOT IN ('@extschema@.cpt_code'::regtype, 'text'::regtype,
											  'character varying'::regtype, 'character'::regtype) THEN
			RAISE EXCEPTION 'code column "%" is of type %, not cpt_code or a text type', v_col, v_type
				USING ERRCODE = 'datatype_mismatch',
					  HINT = 'A code column is of type cpt_code, text, varchar or char; a text value that is not a valid code is neither an add-on nor a primary.';
		ELSIF v_role = 'service_date' AND v_base <> 'date'::regtype THEN
			RAISE EXCEPTION 'date-of-service column "%" is of type %, not date', v_col, v_type
				USING ERRCODE = 'datatype_mismatch';
		ELSIF v_role = 'group_by' AND NOT cpt_rules.group_type_ok(v_type) THEN
			RAISE EXCEPTION 'group column "%" is of type %, which has no btree equality operator', v_col, v_type
				USING ERRCODE = 'datatype_mismatch';
		END IF;
	END LOOP;
END $$;

CREATE OR REPLACE FUNCTION cpt_rules.rule_trigger_validated(trigger oid) RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_rule_trigger_validated' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.rule_trigger_validated(oid) IS
	'false when the trigger''s rule was enforced NOT VALID and its lines are not validated yet';

-- One row per trigger of a rule, as attached (clones on partitions left out).
CREATE OR REPLACE VIEW cpt_rules.rule_triggers AS
SELECT t.oid AS trigger_oid, t.tgrelid AS table_oid, t.tgname AS trigger_name, c.rule_name, c.role,
	   c.code_column, c.service_date_column, c.group_by,
	   t.tgdeferrable, t.tginitdeferred, t.tgenabled,
	   cpt_rules.rule_trigger_validated(t.oid) AS validated
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
	   pg_catalog.array_agg(r.trigger_name ORDER BY r.trigger_name) AS triggers,
	   pg_catalog.bool_and(r.validated) AS validated
  FROM cpt_rules.rule_triggers r
 GROUP BY r.table_oid, r.rule_name, r.code_column, r.service_date_column, r.group_by;
COMMENT ON VIEW cpt_rules.enforced_rules IS
	'tables where the add-on rule is attached, with the columns it uses; enabled is false when any of its triggers does not fire, validated when the lines stored before it was enforced NOT VALID have been validated';
GRANT SELECT ON cpt_rules.enforced_rules TO PUBLIC;

-- The audit's query, built in C (src/rule_audit.c) for the audit below and
-- for the checks, which run it themselves.
CREATE OR REPLACE FUNCTION cpt_rules.audit_query(tbl regclass, code name, group_by name[],
		service_date name DEFAULT NULL, only_groups_of regclass DEFAULT NULL,
		excluding regclass[] DEFAULT NULL)
	RETURNS text
	AS 'MODULE_PATHNAME', 'cpt_audit_query' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.audit_query(regclass, name, name[], name, regclass, regclass[]) IS
	'the query of cpt_rules.addon_rule_violations() for these arguments';

-- How the audits read a line's code of table t: a text code column as
-- cpt_code input reads it (a value that is no code as NULL), any other as
-- cpt_code; the audits written in SQL (MUE, PTP) read it as the add-on
-- audit does.
CREATE OR REPLACE FUNCTION cpt_rules.audit_code_expression(tbl regclass, code name)
	RETURNS text
	AS 'MODULE_PATHNAME', 'cpt_audit_code_expression' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.audit_code_expression(regclass, name) IS
	'the SQL expression by which the audits read a code column of table t';

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
	v_query text;
BEGIN
	PERFORM cpt_rules.rule_columns(tbl, code, group_by, service_date);
	v_query := cpt_rules.audit_query(tbl, code, group_by, service_date, only_groups_of, excluding);
	-- on Citus the query cannot name a line's table (see src/rule_audit.c)
	IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
		IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = tbl) THEN
			FOR group_key, addon, date_of_service, line_table, line_ctid IN EXECUTE v_query LOOP
				line_table := tbl;
				RETURN NEXT;
			END LOOP;
			RETURN;
		END IF;
	END IF;
	RETURN QUERY EXECUTE v_query;
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

-- The lines of tbl must obey the rule (src/rule_validate.c): when it is
-- enforced (what NULL) or enabled again ("enabling the rule").
DROP FUNCTION IF EXISTS cpt_rules.check_rule(regclass, name, text, regclass, regclass);
DROP FUNCTION IF EXISTS cpt_rules.check_rule(regclass, name, text, regclass, regclass[]);
CREATE OR REPLACE FUNCTION cpt_rules.validate_rule(tbl regclass, rule_name name, code name,
		group_by name[], service_date name, what text DEFAULT NULL)
	RETURNS void
	AS 'MODULE_PATHNAME', 'cpt_validate_rule' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION cpt_rules.validate_rule(regclass, name, name, name[], name, text) IS
	'raise the rule''s check violation if lines of the table (read blind to no row, with the latest snapshot) break it';

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
-- transaction, and each node reads its own placement (src/rules_cache.c,
-- src/mue_cache.c).
CREATE OR REPLACE FUNCTION cpt_rules.citus_rule_tables() RETURNS regclass[]
	LANGUAGE sql STABLE
	AS $f$SELECT '{cpt_rules.aoc_edit_shipped,cpt_rules.aoc_edit_added,cpt_rules.aoc_edit_removed,cpt_rules.payer_pair,cpt_rules.mue_edit_shipped,cpt_rules.mue_edit_loaded,cpt_rules.mue_file_shipped,cpt_rules.mue_file}'::text[]::regclass[]$f$;
COMMENT ON FUNCTION cpt_rules.citus_rule_tables() IS
	'the tables the rules'' checks read, which Citus must keep on every node';

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
	FOREACH v_tbl IN ARRAY cpt_rules.citus_rule_tables() LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = v_tbl) THEN
			PERFORM pg_catalog.create_reference_table(v_tbl);
		END IF;
	END LOOP;
	PERFORM set_config('citus.enable_unsafe_triggers', v_unsafe, true);
END $$;
COMMENT ON FUNCTION cpt_rules.citus_setup() IS
	'on a Citus coordinator: make the rule tables (add-on and MUE edits) reference tables, so that every node checks claims with the same rules';
REVOKE ALL ON FUNCTION cpt_rules.citus_setup() FROM PUBLIC;

-- On a Citus table, let this transaction's trigger changes reach the shards
-- (Citus copies a trigger to them only under citus.enable_unsafe_triggers).
-- Returns the setting to restore, or NULL where tbl is not a Citus table.
CREATE OR REPLACE FUNCTION cpt_rules.citus_allow_triggers(tbl regclass)
	RETURNS text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_unsafe text;
BEGIN
	-- two statements: without Citus the second one cannot even be planned
	IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
		RETURN NULL;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = tbl) THEN
		RETURN NULL;
	END IF;
	v_unsafe := current_setting('citus.enable_unsafe_triggers');
	PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
	RETURN v_unsafe;
END $$;
COMMENT ON FUNCTION cpt_rules.citus_allow_triggers(regclass) IS
	'on a Citus table: allow this transaction''s trigger changes onto its shards; returns the setting to restore';

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
		RAISE EXCEPTION 'cannot enforce rule "%" on table %: it is distributed by %, not by a group column',
				rule_name, tbl, coalesce(quote_ident(v_dist.col), 'no column')
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Each shard checks the groups it holds; a group whose lines lie on several shards cannot be judged.',
				  HINT = format('Distribute the table by a group column first, e.g. SELECT alter_distributed_table(%L, distribution_column := %L);',
								tbl::text, group_by[1]);
	END IF;
	IF EXISTS (SELECT 1 FROM unnest(cpt_rules.citus_rule_tables()) r(t)
				WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = r.t)) THEN
		PERFORM cpt_rules.citus_setup();
	END IF;
	RETURN cpt_rules.citus_allow_triggers(tbl);
END $$;
COMMENT ON FUNCTION cpt_rules.citus_prepare(regclass, name[], name) IS
	'before a rule''s triggers are made or dropped on a Citus table: check its distribution, put the rules on every node, allow the triggers';

-- The triggers of a rule, unchecked: enforce_addon_rule validates first,
-- or marks them NOT VALID for validate_addon_rule to validate later.
DROP FUNCTION IF EXISTS cpt_rules.create_rule_triggers(regclass, name, name, name[], name);
CREATE OR REPLACE FUNCTION cpt_rules.create_rule_triggers(tbl regclass, rule_name name, code name,
		group_by name[], service_date name, not_valid boolean)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_base name := rule_name;
	v_args text := CASE WHEN not_valid THEN format('%L, %L', rule_name, 'NOT VALID')
						ELSE format('%L', rule_name) END;
BEGIN
	EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER INSERT ON %s '
				   'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (%s) '
				   'EXECUTE FUNCTION cpt_rules.addon_rule_trigger(%s)',
				   v_base || '_arriving', tbl,
				   cpt_rules.rule_marker_call('arriving', code, service_date, group_by), v_args);
	EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER UPDATE ON %s '
				   'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (%s) '
				   'EXECUTE FUNCTION cpt_rules.addon_rule_trigger(%s)',
				   v_base || '_moving', tbl,
				   cpt_rules.rule_marker_call('moving', code, service_date, group_by), v_args);
	EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER DELETE ON %s '
				   'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (%s) '
				   'EXECUTE FUNCTION cpt_rules.addon_rule_trigger(%s)',
				   v_base || '_leaving', tbl,
				   cpt_rules.rule_marker_call('leaving', code, service_date, group_by), v_args);
	IF (SELECT c.relkind FROM pg_class c WHERE c.oid = tbl) = 'p' THEN
		PERFORM cpt_rules.guard_truncate(tbl, v_base);
	END IF;
END $$;

-- Counting the lines a validation reads, for its progress NOTICEs
-- (src/validation_progress.c).
CREATE OR REPLACE FUNCTION cpt_rules.validation_tick(pass integer) RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_validation_tick' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED COST 0.001;
COMMENT ON FUNCTION cpt_rules.validation_tick(integer) IS
	'true; counts a line read by that pass of a validation, and reports its progress now and then';

CREATE OR REPLACE FUNCTION cpt_rules.set_rule_validated(tbl regclass, rule_name name, validated boolean)
	RETURNS integer
	AS 'MODULE_PATHNAME', 'cpt_set_rule_validated' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION cpt_rules.set_rule_validated(regclass, name, boolean) IS
	'put the NOT VALID mark on a rule''s triggers and their clones, or take it off (the table locked SHARE UPDATE EXCLUSIVE or more); validate_addon_rule() validates first';


DROP FUNCTION IF EXISTS cpt_rules.enforce_addon_rule(regclass, name, name[], name, name);
CREATE OR REPLACE FUNCTION cpt_rules.enforce_addon_rule(tbl regclass, code name, group_by name[],
											 service_date name DEFAULT NULL,
											 constraint_name name DEFAULT NULL,
											 validate boolean DEFAULT true)
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
		IF validate AND NOT v_rule.validated THEN
			-- enforced NOT VALID: validate it now, as VALIDATE CONSTRAINT would
			PERFORM cpt_rules.validate_rule(tbl, v_rule.rule_name, v_rule.code_column, v_rule.group_by,
											v_rule.service_date_column);
			PERFORM cpt_rules.set_rule_validated(tbl, v_rule.rule_name, true);
			RAISE NOTICE 'add-on rule "%" on % validated: the lines already there obey it', v_rule.rule_name, tbl;
		ELSE
			RAISE NOTICE 'add-on rule "%" is already enforced on %', v_rule.rule_name, tbl;
		END IF;
		RETURN v_rule.rule_name;
	ELSIF FOUND THEN
		IF validate THEN
			-- disabled: validate what was written meanwhile, as VALIDATE CONSTRAINT would
			PERFORM cpt_rules.validate_rule(tbl, v_rule.rule_name, v_rule.code_column, v_rule.group_by,
											v_rule.service_date_column, 'enabling the rule');
		END IF;
		PERFORM cpt_rules.set_rule_validated(tbl, v_rule.rule_name, validate AND v_rule.validated);
		v_citus := cpt_rules.citus_prepare(tbl, group_by, v_rule.rule_name);
		-- one statement, so that the rule is never seen half enabled
		EXECUTE format('ALTER TABLE %s %s', tbl,
					   (SELECT string_agg(format('ENABLE TRIGGER %I', r.trigger_name), ', ')
						  FROM cpt_rules.rule_triggers r
						 WHERE r.table_oid = tbl AND r.rule_name = v_rule.rule_name));
		IF v_citus IS NOT NULL THEN
			PERFORM set_config('citus.enable_unsafe_triggers', v_citus, true);
		END IF;
		IF validate THEN
			RAISE NOTICE 'add-on rule "%" on % enabled again; the lines already there obey it', v_rule.rule_name, tbl;
		ELSE
			RAISE NOTICE 'add-on rule "%" on % enabled again, NOT VALID: the lines written meanwhile are not validated', v_rule.rule_name, tbl
				USING HINT = format('Validate them without blocking writers: SELECT cpt_rules.validate_addon_rule(%L, %L);',
									tbl::text, v_rule.rule_name);
		END IF;
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

	-- Existing rows must obey the rule, as with ALTER TABLE ... ADD FOREIGN
	-- KEY, unless it is enforced NOT VALID: then only new writes are checked
	-- until validate_addon_rule() validates the lines already there.
	IF validate THEN
		PERFORM cpt_rules.validate_rule(tbl, v_base, code, group_by, service_date);
	END IF;

	PERFORM cpt_rules.create_rule_triggers(tbl, v_base, code, group_by, service_date, NOT validate);
	IF v_citus IS NOT NULL THEN
		PERFORM set_config('citus.enable_unsafe_triggers', v_citus, true);
	END IF;

	PERFORM cpt_rules.warn_unindexed(tbl, group_by);
	IF NOT validate THEN
		RAISE NOTICE 'add-on rule "%" on % enforced NOT VALID: new writes are checked, the lines already there are not validated yet', v_base, tbl
			USING HINT = format('Validate them without blocking writers: SELECT cpt_rules.validate_addon_rule(%L, %L);',
								tbl::text, v_base);
	END IF;
	RETURN v_base;
END $$;
COMMENT ON FUNCTION cpt_rules.enforce_addon_rule(regclass, name, name[], name, name, boolean) IS
	'attach the add-on code rule to a table of claim lines (or enable it again), validating the lines already there unless validate is false (NOT VALID); returns the rule''s name';

-- ALTER TABLE ... VALIDATE CONSTRAINT for a rule enforced NOT VALID: its
-- triggers check every write already, so the lines stored before them are
-- read under a SHARE UPDATE EXCLUSIVE lock, which lets the application go
-- on writing; a write racing the validation is checked by the triggers,
-- a line committed before it began is read by it.
CREATE OR REPLACE FUNCTION cpt_rules.validate_addon_rule(tbl regclass, constraint_name name DEFAULT NULL)
	RETURNS SETOF name
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_rule record;
	v_found boolean := false;
BEGIN
	IF tbl IS NULL THEN
		RAISE EXCEPTION 'argument "tbl" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	EXECUTE format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE', tbl);
	FOR v_rule IN SELECT * FROM cpt_rules.enforced_rules r
				   WHERE r.table_name = tbl AND (constraint_name IS NULL OR r.rule_name = constraint_name)
				   ORDER BY r.rule_name LOOP
		v_found := true;
		IF NOT v_rule.enabled THEN
			-- lines written while it is off are seen by nothing
			RAISE EXCEPTION 'add-on rule "%" on % is not enabled', v_rule.rule_name, tbl
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  DETAIL = 'A validation relies on the rule''s triggers to check the writes that race it.',
					  HINT = format('Enable it, validating the lines: SELECT cpt_rules.enforce_addon_rule(%L, code => %L, group_by => %L%s, constraint_name => %L);',
									tbl::text, v_rule.code_column, v_rule.group_by,
									CASE WHEN v_rule.service_date_column IS NOT NULL
										 THEN format(', service_date => %L', v_rule.service_date_column) ELSE '' END,
									v_rule.rule_name);
		END IF;
		IF v_rule.validated THEN
			CONTINUE;
		END IF;
		PERFORM cpt_rules.validate_rule(tbl, v_rule.rule_name, v_rule.code_column, v_rule.group_by,
										v_rule.service_date_column);
		PERFORM cpt_rules.set_rule_validated(tbl, v_rule.rule_name, true);
		RETURN NEXT v_rule.rule_name;
	END LOOP;
	IF NOT v_found THEN
		IF constraint_name IS NULL THEN
			RAISE EXCEPTION 'table % enforces no add-on rule', tbl USING ERRCODE = 'undefined_object';
		END IF;
		RAISE EXCEPTION 'add-on rule "%" of table % does not exist', constraint_name, tbl
			USING ERRCODE = 'undefined_object';
	END IF;
END $$;
COMMENT ON FUNCTION cpt_rules.validate_addon_rule(regclass, name) IS
	'validate the lines of a rule enforced NOT VALID (every such rule of the table when no name is given) without blocking writers; returns the rules it validated';

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
	v_citus := cpt_rules.citus_allow_triggers(tbl);
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

-- DDL that could let a violation in without a row event: src/ddl_guard.c
-- hands it to src/rule_validate.c, which checks it in C.
DROP FUNCTION IF EXISTS cpt_rules.check_ddl(text, regclass, regclass);
DROP FUNCTION IF EXISTS cpt_rules.check_ddl(text, regclass, regclass, regclass[]);
DROP FUNCTION IF EXISTS cpt_rules.check_ddl_column(text, regclass, name);

CREATE OR REPLACE FUNCTION cpt_rules.ddl_guard() RETURNS event_trigger
	AS 'MODULE_PATHNAME', 'cpt_ddl_guard' LANGUAGE C;
DROP EVENT TRIGGER IF EXISTS cpt_rules_ddl_start;
DROP EVENT TRIGGER IF EXISTS cpt_rules_ddl_end;
CREATE EVENT TRIGGER cpt_rules_ddl_start ON ddl_command_start
	WHEN TAG IN ('ALTER TABLE', 'CREATE FOREIGN TABLE', 'DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
	EXECUTE FUNCTION cpt_rules.ddl_guard();
CREATE EVENT TRIGGER cpt_rules_ddl_end ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE') EXECUTE FUNCTION cpt_rules.ddl_guard();
