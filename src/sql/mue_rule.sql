-- The MUE rule: medically unlikely edits enforced on a claims table --------
--
-- The second kind of rule on the engine of the add-on rule (src/mue_kind.c):
-- three constraint triggers whose WHEN clauses call the markers below with
-- the rule's setting, its indicators and its columns.  This file is part of
-- the install script and of the update from the previous version.

-- A refresh of the MUE tables reaches every session's copy (src/mue_cache.c).
DROP TRIGGER IF EXISTS rules_changed ON cpt_rules.mue_edit_loaded;
CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON cpt_rules.mue_edit_loaded FOR EACH STATEMENT EXECUTE FUNCTION cpt_rules.rules_changed();
DROP TRIGGER IF EXISTS rules_changed ON cpt_rules.mue_file;
CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON cpt_rules.mue_file FOR EACH STATEMENT EXECUTE FUNCTION cpt_rules.rules_changed();

CREATE OR REPLACE FUNCTION cpt_rules.mue_rule_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME', 'mue_rule_trigger' LANGUAGE C;
COMMENT ON FUNCTION cpt_rules.mue_rule_trigger() IS
	'constraint trigger of an MUE rule (see cpt_rules.enforce_mue_rule)';
CREATE OR REPLACE FUNCTION cpt_rules.mue_rule_arriving(VARIADIC "any") RETURNS boolean
	AS 'MODULE_PATHNAME', 'mue_rule_arriving' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.mue_rule_arriving("any") IS
	'WHEN clause of an MUE rule''s INSERT trigger: may this line (setting, indicators, code, date, units, group) break the rule?';
CREATE OR REPLACE FUNCTION cpt_rules.mue_rule_moving(VARIADIC "any") RETURNS boolean
	AS 'MODULE_PATHNAME', 'mue_rule_moving' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.mue_rule_moving("any") IS
	'WHEN clause of an MUE rule''s UPDATE trigger: did the line change (OLD, NEW pairs), and may it break the rule now?';
CREATE OR REPLACE FUNCTION cpt_rules.mue_rule_leaving(VARIADIC "any") RETURNS boolean
	AS 'MODULE_PATHNAME', 'mue_rule_leaving' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.mue_rule_leaving("any") IS
	'WHEN clause of an MUE rule''s DELETE trigger: false, a line leaving only lowers a sum';

CREATE OR REPLACE FUNCTION cpt_rules.mue_rule_marker_call(role text, code name, service_date name, units name,
		group_by name[], setting text, indicators integer[])
	RETURNS text
	AS 'MODULE_PATHNAME', 'cpt_mue_rule_marker_call' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.mue_rule_marker_call(text, name, name, name, name[], text, integer[]) IS
	'the WHEN clause of the trigger of that role (arriving, moving, leaving) of an MUE rule';

CREATE OR REPLACE FUNCTION cpt_rules.rule_trigger_definition(trigger oid,
		OUT kind text, OUT rule_name name, OUT role text, OUT code_column name,
		OUT service_date_column name, OUT units_column name, OUT group_by name[],
		OUT setting text, OUT indicators integer[], OUT validated boolean)
	RETURNS record
	AS 'MODULE_PATHNAME', 'cpt_rule_trigger_definition' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.rule_trigger_definition(oid) IS
	'the rule of any kind a trigger belongs to: its kind, name, the trigger''s role, the current names of its columns and its options';

CREATE OR REPLACE FUNCTION cpt_rules.validate_mue_rule(tbl regclass, rule_name name, code name, units name,
		group_by name[], service_date name, setting text, indicators integer[], what text DEFAULT NULL)
	RETURNS void
	AS 'MODULE_PATHNAME', 'cpt_validate_mue_rule' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION cpt_rules.validate_mue_rule(regclass, name, name, name, name[], name, text, integer[], text) IS
	'raise the MUE rule''s check violation if lines of the table (read blind to no row, with the latest snapshot) break it';

-- Where MUE rules are enforced, one row per rule, with the columns' current names.
CREATE OR REPLACE VIEW cpt_rules.enforced_mue_rules AS
SELECT t.tgrelid::pg_catalog.regclass AS table_name,
	   d.rule_name, d.code_column, d.units_column, d.service_date_column, d.group_by,
	   d.setting, d.indicators,
	   pg_catalog.bool_and(t.tgdeferrable) AS deferrable,
	   pg_catalog.bool_and(t.tginitdeferred) AS initially_deferred,
	   pg_catalog.bool_and(t.tgenabled OPERATOR(pg_catalog.=) ANY ('{O,A}'::"char"[]))
		 AND pg_catalog.count(DISTINCT d.role) = 3 AS enabled,
	   pg_catalog.array_agg(t.tgname ORDER BY t.tgname) AS triggers,
	   pg_catalog.bool_and(d.validated) AS validated
  FROM pg_catalog.pg_trigger t
 CROSS JOIN LATERAL cpt_rules.rule_trigger_definition(t.oid) d
 WHERE t.tgfoid = 'cpt_rules.mue_rule_trigger()'::pg_catalog.regprocedure
   AND t.tgparentid = 0
 GROUP BY t.tgrelid, d.rule_name, d.code_column, d.units_column, d.service_date_column, d.group_by,
		  d.setting, d.indicators;
COMMENT ON VIEW cpt_rules.enforced_mue_rules IS
	'tables where an MUE rule is attached, with the columns it uses, its setting and the indicators it enforces';
GRANT SELECT ON cpt_rules.enforced_mue_rules TO PUBLIC;

CREATE OR REPLACE FUNCTION cpt_rules.enforce_mue_rule(tbl regclass, code name, units name, group_by name[],
		service_date name, setting text DEFAULT 'practitioner', indicators integer[] DEFAULT '{1,2}',
		constraint_name name DEFAULT NULL)
	RETURNS name
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_base name;
	v_rule record;
	v_role text;
	v_type regtype;
	v_foreign text;
	v_citus text;
	v_indicators integer[];
BEGIN
	IF service_date IS NULL OR units IS NULL OR setting IS NULL OR indicators IS NULL THEN
		RAISE EXCEPTION 'arguments "units", "service_date", "setting" and "indicators" must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'An MUE limits the units of a code per line or per date of service.';
	END IF;
	PERFORM cpt_rules.rule_columns(tbl, code, group_by, service_date);
	IF units = code OR units = service_date OR units = ANY (group_by) THEN
		RAISE EXCEPTION 'the units column cannot also be the code, date-of-service or a group column'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT a.atttypid::regtype INTO v_type FROM pg_attribute a
	 WHERE a.attrelid = tbl AND a.attname = units AND a.attnum > 0 AND NOT a.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'column "%" (argument "units") of relation "%" does not exist', units, tbl
			USING ERRCODE = 'undefined_column';
	ELSIF cpt_rules.units_type_ok(v_type) IS NOT TRUE THEN
		RAISE EXCEPTION 'units column "%" is of type %, not smallint, integer, bigint, numeric, real or double precision',
			units, v_type USING ERRCODE = 'datatype_mismatch';
	END IF;
	IF cpt_rules.mue_value_header(setting) IS NULL THEN
		RAISE EXCEPTION 'setting "%" is not an MUE setting', setting
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The settings are practitioner, outpatient hospital and dme.';
	END IF;
	v_indicators := ARRAY(SELECT DISTINCT i FROM unnest(indicators) i ORDER BY i);
	IF cardinality(v_indicators) = 0 OR NOT v_indicators <@ '{1,2,3}'::integer[] THEN
		RAISE EXCEPTION 'argument "indicators" must list MUE adjudication indicators 1, 2 or 3'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
				WHERE i.inhparent = tbl AND NOT c.relispartition) THEN
		RAISE EXCEPTION 'table % has inheritance children', tbl
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'The rule''s triggers would not fire for lines written to a child table.',
				  HINT = 'Use declarative partitioning (PARTITION BY).';
	END IF;
	SELECT string_agg(p.relid::regclass::text, ', ' ORDER BY p.relid::regclass::text) INTO v_foreign
	  FROM pg_partition_tree(tbl) p JOIN pg_class c ON c.oid = p.relid
	 WHERE c.relkind = 'f';
	IF v_foreign IS NOT NULL THEN
		RAISE EXCEPTION 'cannot enforce an MUE rule on table %: partition % is a foreign table', tbl, v_foreign
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'PostgreSQL fires no constraint trigger on a foreign table, so lines written to it would not be checked.';
	END IF;
	-- Blocks writers (as CREATE TRIGGER would) so that what we validate stays true.
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', tbl);

	SELECT * INTO v_rule FROM cpt_rules.enforced_mue_rules r
	 WHERE r.table_name = tbl AND (constraint_name IS NULL OR r.rule_name = constraint_name)
	   AND r.code_column = code AND r.units_column = units AND r.service_date_column = service_date
	   AND r.group_by @> enforce_mue_rule.group_by AND r.group_by <@ enforce_mue_rule.group_by
	   AND r.setting = enforce_mue_rule.setting AND r.indicators = v_indicators
	   AND cardinality(r.triggers) = 3
	 ORDER BY r.rule_name LIMIT 1;
	IF FOUND AND v_rule.enabled THEN
		RAISE NOTICE 'MUE rule "%" is already enforced on %', v_rule.rule_name, tbl;
		RETURN v_rule.rule_name;
	ELSIF FOUND THEN
		PERFORM cpt_rules.validate_mue_rule(tbl, v_rule.rule_name, code, units, group_by, service_date,
											setting, v_indicators, 'enabling the rule');
		EXECUTE format('ALTER TABLE %s %s', tbl,
					   (SELECT string_agg(format('ENABLE TRIGGER %I', t), ', ') FROM unnest(v_rule.triggers) t));
		RAISE NOTICE 'MUE rule "%" on % enabled again; the lines already there obey it', v_rule.rule_name, tbl;
		RETURN v_rule.rule_name;
	END IF;

	v_base := coalesce(constraint_name, (SELECT c.relname FROM pg_class c WHERE c.oid = tbl) || '_mue_rule');
	IF EXISTS (SELECT 1 FROM pg_trigger t
				WHERE t.tgrelid = tbl AND t.tgname IN (v_base || '_arriving', v_base || '_moving', v_base || '_leaving')) THEN
		RAISE EXCEPTION 'a rule named "%" already exists on table %', v_base, tbl
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Drop it first, or choose another constraint_name.';
	END IF;

	-- On Citus: distributed by a group column, the MUE tables on every node,
	-- the triggers allowed onto the shards
	v_citus := cpt_rules.citus_prepare(tbl, group_by, v_base);

	-- Existing rows must obey the rule, as with ALTER TABLE ... ADD CONSTRAINT.
	PERFORM cpt_rules.validate_mue_rule(tbl, v_base, code, units, group_by, service_date, setting, v_indicators);

	FOREACH v_role IN ARRAY '{arriving,moving,leaving}'::text[] LOOP
		EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER %s ON %s '
					   'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (%s) '
					   'EXECUTE FUNCTION cpt_rules.mue_rule_trigger(%L)',
					   v_base || '_' || v_role,
					   CASE v_role WHEN 'arriving' THEN 'INSERT' WHEN 'moving' THEN 'UPDATE' ELSE 'DELETE' END,
					   tbl,
					   cpt_rules.mue_rule_marker_call(v_role, code, service_date, units, group_by, setting, v_indicators),
					   v_base);
	END LOOP;
	IF v_citus IS NOT NULL THEN
		PERFORM set_config('citus.enable_unsafe_triggers', v_citus, true);
	END IF;
	PERFORM cpt_rules.warn_unindexed(tbl, group_by);
	RETURN v_base;
END $$;
COMMENT ON FUNCTION cpt_rules.enforce_mue_rule(regclass, name, name, name[], name, text, integer[], name) IS
	'attach an MUE rule to a table of claim lines: the units of a code per line (indicator 1) or per group and date of service (2, 3) may not exceed its MUE in force for the setting; validates the lines already there; returns the rule''s name';

CREATE OR REPLACE FUNCTION cpt_rules.drop_mue_rule(tbl regclass, constraint_name name DEFAULT NULL)
	RETURNS boolean
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	v_rules name[];
	v_trg name;
	v_citus text;
BEGIN
	IF tbl IS NULL THEN
		RAISE EXCEPTION 'argument "tbl" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT array_agg(DISTINCT r.rule_name) INTO v_rules FROM cpt_rules.enforced_mue_rules r
	 WHERE r.table_name = tbl AND (constraint_name IS NULL OR r.rule_name = constraint_name);
	IF v_rules IS NULL THEN
		RAISE NOTICE 'no MUE rule% is enforced on %, skipping',
			CASE WHEN constraint_name IS NULL THEN '' ELSE format(' "%s"', constraint_name) END, tbl;
		RETURN false;
	END IF;
	IF cardinality(v_rules) > 1 THEN
		RAISE EXCEPTION 'table % has % MUE rules', tbl, cardinality(v_rules)
			USING ERRCODE = 'ambiguous_parameter',
				  HINT = format('Name the one to drop: %s.', array_to_string(v_rules, ', '));
	END IF;
	-- dropping needs no check of the distribution, only the setting
	v_citus := cpt_rules.citus_allow_triggers(tbl);
	FOR v_trg IN SELECT unnest(r.triggers) FROM cpt_rules.enforced_mue_rules r
				  WHERE r.table_name = tbl AND r.rule_name = v_rules[1] LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', v_trg, tbl);
	END LOOP;
	IF v_citus IS NOT NULL THEN
		PERFORM set_config('citus.enable_unsafe_triggers', v_citus, true);
	END IF;
	RETURN true;
END $$;
COMMENT ON FUNCTION cpt_rules.drop_mue_rule(regclass, name) IS
	'remove an MUE rule from a table (the only one, when no name is given); returns false if it was not there';

CREATE OR REPLACE FUNCTION cpt_rules.units_type_ok(typ regtype) RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_units_type_ok' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cpt_rules.units_type_ok(regtype) IS
	'whether a column of this type can hold an MUE rule''s units (a number type, or a domain over one)';
