-- Rules attached by 1.1 name their columns in trigger arguments, which do
-- not follow renames.  Replace each by the triggers of 1.2, bound by column
-- number, keeping its name, its columns and whether it was enabled.  The
-- lines already stored are not re-validated here (the upgrade must not fail
-- on data); a warning tells how many the audit finds.
DO $upgrade$
DECLARE
	r record;
	t record;
	v_nbad bigint;
BEGIN
	FOR r IN
		SELECT DISTINCT ON (x.table_oid, x.rule_name)
			   x.table_oid::regclass AS tbl, x.rule_name, x.code_column, x.group_by,
			   x.service_date_column, bool_and(x.tgenabled = 'D') OVER w AS disabled
		  FROM cpt_rules.rule_triggers x
		 WHERE x.role = 'legacy'
		WINDOW w AS (PARTITION BY x.table_oid, x.rule_name)
	LOOP
		FOR t IN SELECT x.trigger_name FROM cpt_rules.rule_triggers x
				  WHERE x.table_oid = r.tbl AND x.rule_name = r.rule_name AND x.role = 'legacy' LOOP
			EXECUTE format('DROP TRIGGER %I ON %s', t.trigger_name, r.tbl);
		END LOOP;
		PERFORM cpt_rules.create_rule_triggers(r.tbl, r.rule_name, r.code_column, r.group_by,
											   r.service_date_column);
		IF r.disabled THEN
			FOR t IN SELECT x.trigger_name FROM cpt_rules.rule_triggers x
					  WHERE x.table_oid = r.tbl AND x.rule_name = r.rule_name LOOP
				EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', r.tbl, t.trigger_name);
			END LOOP;
		END IF;
		SELECT count(*) INTO v_nbad
		  FROM cpt_rules.addon_rule_violations(r.tbl, r.code_column, r.group_by, r.service_date_column);
		IF v_nbad > 0 THEN
			RAISE WARNING 'table % holds % add-on line(s) without an eligible primary code', r.tbl, v_nbad
				USING HINT = 'Version 1.1 let some DDL and user triggers around the rule; list them with cpt_rules.addon_rule_violations().';
		END IF;
	END LOOP;
END $upgrade$;
