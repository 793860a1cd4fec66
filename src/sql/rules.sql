-- The add-on code rules ---------------------------------------------------
--
-- CMS edits are kept as the shipped baseline (aoc_edit_shipped, recreated by
-- CREATE EXTENSION and never dumped) plus the difference a refresh or a DBA
-- made to it (aoc_edit_added, aoc_edit_removed, dumped in full).  The view
-- cpt_rules.aoc_edit shows the rules in force.  This split is what lets
-- pg_dump/pg_restore reproduce the rules exactly, including shipped rows that
-- were changed or removed: CREATE EXTENSION reloads the baseline and the
-- restored difference is applied on top of it.

CREATE SCHEMA cpt_rules;
COMMENT ON SCHEMA cpt_rules IS 'rule tables and administration of the cpt_rules extension';
GRANT USAGE ON SCHEMA cpt_rules TO PUBLIC;

CREATE TABLE cpt_rules.aoc_edit_shipped (
	aoc_type		smallint NOT NULL CHECK (aoc_type IN (1, 2, 3)),
	addon			@extschema@.cpt_code NOT NULL,
	addon_deleted	date,
	primary_code	@extschema@.cpt_code,
	primary_deleted	date,
	edit_effective	date NOT NULL,
	edit_deleted	date,
	notes			text,
	CONSTRAINT aoc_edit_shipped_period CHECK (edit_deleted > edit_effective),
	CONSTRAINT aoc_edit_shipped_type1_listed CHECK (primary_code IS NOT NULL OR aoc_type <> 1),
	CONSTRAINT aoc_edit_shipped_not_self CHECK (primary_code <> addon),
	CONSTRAINT aoc_edit_shipped_key UNIQUE NULLS NOT DISTINCT (addon, primary_code, edit_effective)
);
COMMENT ON TABLE cpt_rules.aoc_edit_shipped IS
	'CMS add-on code edits shipped with this version of the extension (read-only baseline)';

CREATE TABLE cpt_rules.aoc_edit_added (LIKE cpt_rules.aoc_edit_shipped);
ALTER TABLE cpt_rules.aoc_edit_added
	ADD CONSTRAINT aoc_edit_added_period CHECK (edit_deleted > edit_effective),
	ADD CONSTRAINT aoc_edit_added_type1_listed CHECK (primary_code IS NOT NULL OR aoc_type <> 1),
	ADD CONSTRAINT aoc_edit_added_not_self CHECK (primary_code <> addon),
	ADD CONSTRAINT aoc_edit_added_type CHECK (aoc_type IN (1, 2, 3)),
	ADD CONSTRAINT aoc_edit_added_key UNIQUE NULLS NOT DISTINCT (addon, primary_code, edit_effective);
COMMENT ON TABLE cpt_rules.aoc_edit_added IS
	'CMS add-on code edits in force that are not in the shipped baseline (from a refresh or a DBA)';

CREATE TABLE cpt_rules.aoc_edit_removed (
	addon			@extschema@.cpt_code NOT NULL,
	primary_code	@extschema@.cpt_code,
	edit_effective	date NOT NULL,
	CONSTRAINT aoc_edit_removed_key UNIQUE NULLS NOT DISTINCT (addon, primary_code, edit_effective)
);
COMMENT ON TABLE cpt_rules.aoc_edit_removed IS
	'keys of shipped CMS edits that are no longer in force as shipped (removed or changed)';

CREATE VIEW cpt_rules.aoc_edit AS
	SELECT s.aoc_type, s.addon, s.addon_deleted, s.primary_code, s.primary_deleted,
		   s.edit_effective, s.edit_deleted, s.notes
	  FROM cpt_rules.aoc_edit_shipped s
	 WHERE NOT EXISTS (SELECT 1 FROM cpt_rules.aoc_edit_removed r
						WHERE r.addon OPERATOR(@extschema@.=) s.addon
						  AND r.edit_effective = s.edit_effective
						  AND r.primary_code IS NOT DISTINCT FROM s.primary_code)
	UNION ALL
	SELECT a.aoc_type, a.addon, a.addon_deleted, a.primary_code, a.primary_deleted,
		   a.edit_effective, a.edit_deleted, a.notes
	  FROM cpt_rules.aoc_edit_added a;
COMMENT ON VIEW cpt_rules.aoc_edit IS
	'CMS add-on code (AOC) edits in force: one row per add-on, primary and period; primary_code NULL means contractor-defined (CCCCC)';

CREATE TABLE cpt_rules.payer_pair (
	addon			@extschema@.cpt_code NOT NULL,
	primary_code	@extschema@.cpt_code NOT NULL,
	effective		date NOT NULL DEFAULT '-infinity',
	deleted			date,
	note			text,
	added_by		name NOT NULL DEFAULT current_user,
	added_at		timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT payer_pair_pkey PRIMARY KEY (addon, primary_code, effective),
	CONSTRAINT payer_pair_period CHECK (deleted > effective),
	CONSTRAINT payer_pair_not_self CHECK (primary_code <> addon)
);
COMMENT ON TABLE cpt_rules.payer_pair IS
	'primaries defined by the payer for Type 2 and Type 3 add-ons; kept apart from CMS edits and untouched by a refresh';

-- pg_dump keeps what the DBA or a refresh changed; the baseline comes back
-- with CREATE EXTENSION.
SELECT pg_catalog.pg_extension_config_dump('cpt_rules.aoc_edit_added', '');
SELECT pg_catalog.pg_extension_config_dump('cpt_rules.aoc_edit_removed', '');
SELECT pg_catalog.pg_extension_config_dump('cpt_rules.payer_pair', '');

CREATE INDEX aoc_edit_removed_addon ON cpt_rules.aoc_edit_removed (addon);

REVOKE ALL ON cpt_rules.aoc_edit_shipped, cpt_rules.aoc_edit_added,
	cpt_rules.aoc_edit_removed, cpt_rules.aoc_edit, cpt_rules.payer_pair FROM PUBLIC;
GRANT SELECT ON cpt_rules.aoc_edit_shipped, cpt_rules.aoc_edit_added,
	cpt_rules.aoc_edit_removed, cpt_rules.aoc_edit, cpt_rules.payer_pair TO PUBLIC;

-- Every change to a rule table invalidates the per-backend rules cache.
CREATE FUNCTION cpt_rules.rules_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'rules_changed' LANGUAGE C;
CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON cpt_rules.aoc_edit_shipped FOR EACH STATEMENT EXECUTE FUNCTION cpt_rules.rules_changed();
CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON cpt_rules.aoc_edit_added FOR EACH STATEMENT EXECUTE FUNCTION cpt_rules.rules_changed();
CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON cpt_rules.aoc_edit_removed FOR EACH STATEMENT EXECUTE FUNCTION cpt_rules.rules_changed();
CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON cpt_rules.payer_pair FOR EACH STATEMENT EXECUTE FUNCTION cpt_rules.rules_changed();

-- Consistency the table constraints cannot express: one AOC type per add-on,
-- no overlapping periods for the same pair, payer primaries only where CMS
-- lets the payer define them.  Deferred, so that a multi-row change (say,
-- retyping every row of an add-on) is judged as a whole.
CREATE FUNCTION cpt_rules.check_aoc_edit() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
	v_types smallint[];
	v_other record;
BEGIN
	SELECT array_agg(DISTINCT e.aoc_type ORDER BY e.aoc_type) INTO v_types
	  FROM cpt_rules.aoc_edit e WHERE e.addon OPERATOR(@extschema@.=) NEW.addon;
	IF cardinality(v_types) > 1 THEN
		RAISE EXCEPTION 'add-on code % would have more than one AOC type', NEW.addon
			USING ERRCODE = 'check_violation',
				  DETAIL = format('Its edits carry types %s.', v_types),
				  HINT = 'Give every edit of an add-on code the same AOC type.',
				  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
	END IF;
	SELECT e.* INTO v_other FROM cpt_rules.aoc_edit e
	 WHERE e.addon OPERATOR(@extschema@.=) NEW.addon
	   AND e.primary_code IS NOT DISTINCT FROM NEW.primary_code
	   AND e.edit_effective <> NEW.edit_effective
	   AND daterange(e.edit_effective, e.edit_deleted) && daterange(NEW.edit_effective, NEW.edit_deleted)
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'edit % -> % overlaps another edit of the same pair', NEW.addon,
				coalesce(NEW.primary_code::text, 'CCCCC')
			USING ERRCODE = 'exclusion_violation',
				  DETAIL = format('Periods [%s, %s) and [%s, %s) overlap.', NEW.edit_effective,
						coalesce(NEW.edit_deleted::text, 'open'), v_other.edit_effective,
						coalesce(v_other.edit_deleted::text, 'open')),
				  HINT = 'End the earlier edit (edit_deleted) before the later one takes effect.',
				  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
	END IF;
	RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER aoc_edit_consistent AFTER INSERT OR UPDATE
	ON cpt_rules.aoc_edit_added DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION cpt_rules.check_aoc_edit();

CREATE FUNCTION cpt_rules.check_payer_pair() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
	v_type smallint;
BEGIN
	SELECT e.aoc_type INTO v_type FROM cpt_rules.aoc_edit e
	 WHERE e.addon OPERATOR(@extschema@.=) NEW.addon LIMIT 1;
	IF v_type IS NULL THEN
		RAISE EXCEPTION 'code % is not an add-on code in the CMS edits', NEW.addon
			USING ERRCODE = 'foreign_key_violation',
				  HINT = 'Payer-defined primaries can only be added to Type 2 and Type 3 add-on codes.',
				  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
	ELSIF v_type = 1 THEN
		RAISE EXCEPTION 'add-on code % is Type 1: only its CMS-listed primaries are acceptable', NEW.addon
			USING ERRCODE = 'check_violation',
				  HINT = 'Payer-defined primaries can only be added to Type 2 and Type 3 add-on codes.',
				  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
	END IF;
	IF EXISTS (SELECT 1 FROM cpt_rules.payer_pair p
				WHERE p.addon OPERATOR(@extschema@.=) NEW.addon
				  AND p.primary_code OPERATOR(@extschema@.=) NEW.primary_code
				  AND p.effective <> NEW.effective
				  AND daterange(p.effective, p.deleted) && daterange(NEW.effective, NEW.deleted)) THEN
		RAISE EXCEPTION 'payer pair % -> % overlaps another period of the same pair', NEW.addon, NEW.primary_code
			USING ERRCODE = 'exclusion_violation', TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
	END IF;
	RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER payer_pair_consistent AFTER INSERT OR UPDATE
	ON cpt_rules.payer_pair DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION cpt_rules.check_payer_pair();

-- DML on the view is translated into the baseline difference.
CREATE FUNCTION cpt_rules.aoc_edit_dml() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		DELETE FROM cpt_rules.aoc_edit_added a
		 WHERE a.addon OPERATOR(@extschema@.=) OLD.addon
		   AND a.primary_code IS NOT DISTINCT FROM OLD.primary_code
		   AND a.edit_effective = OLD.edit_effective;
		IF NOT FOUND THEN
			INSERT INTO cpt_rules.aoc_edit_removed (addon, primary_code, edit_effective)
			VALUES (OLD.addon, OLD.primary_code, OLD.edit_effective);
		END IF;
	END IF;
	IF TG_OP IN ('UPDATE', 'INSERT') THEN
		IF EXISTS (SELECT 1 FROM cpt_rules.aoc_edit e
					WHERE e.addon OPERATOR(@extschema@.=) NEW.addon
					  AND e.primary_code IS NOT DISTINCT FROM NEW.primary_code
					  AND e.edit_effective = NEW.edit_effective) THEN
			RAISE EXCEPTION 'edit % -> % effective % already exists', NEW.addon,
					coalesce(NEW.primary_code::text, 'CCCCC'), NEW.edit_effective
				USING ERRCODE = 'unique_violation', TABLE = 'aoc_edit', SCHEMA = 'cpt_rules';
		END IF;
		INSERT INTO cpt_rules.aoc_edit_added
		VALUES (NEW.aoc_type, NEW.addon, NEW.addon_deleted, NEW.primary_code,
				NEW.primary_deleted, NEW.edit_effective, NEW.edit_deleted, NEW.notes);
		RETURN NEW;
	END IF;
	RETURN OLD;
END $$;

CREATE TRIGGER aoc_edit_dml INSTEAD OF INSERT OR UPDATE OR DELETE ON cpt_rules.aoc_edit
	FOR EACH ROW EXECUTE FUNCTION cpt_rules.aoc_edit_dml();

-- Lookups -----------------------------------------------------------------

-- Tells the planner what share of a code column is add-ons.
CREATE FUNCTION cpt_rules.is_addon_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'cpt_is_addon_support' LANGUAGE C STRICT;

CREATE FUNCTION @extschema@.is_addon(@extschema@.cpt_code) RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_is_addon' LANGUAGE C STABLE STRICT PARALLEL SAFE
	SUPPORT cpt_rules.is_addon_support;
CREATE FUNCTION @extschema@.is_addon(@extschema@.cpt_code, date) RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_is_addon' LANGUAGE C STABLE STRICT PARALLEL SAFE
	SUPPORT cpt_rules.is_addon_support;
COMMENT ON FUNCTION @extschema@.is_addon(@extschema@.cpt_code) IS
	'true if the code is an add-on code in the rules, whatever the dates';
COMMENT ON FUNCTION @extschema@.is_addon(@extschema@.cpt_code, date) IS
	'true if the code is an add-on code on the given date of service';

CREATE FUNCTION @extschema@.valid_pairing(addon @extschema@.cpt_code, primary_code @extschema@.cpt_code)
	RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_valid_pairing' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.valid_pairing(addon @extschema@.cpt_code, primary_code @extschema@.cpt_code, on_date date)
	RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_valid_pairing' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.valid_pairing(@extschema@.cpt_code, @extschema@.cpt_code) IS
	'true if primary_code is an acceptable primary for the add-on code in some period of the rules';
COMMENT ON FUNCTION @extschema@.valid_pairing(@extschema@.cpt_code, @extschema@.cpt_code, date) IS
	'true if primary_code is an acceptable primary for the add-on code on the given date of service';

CREATE FUNCTION @extschema@.aoc_type(@extschema@.cpt_code) RETURNS smallint
	AS 'MODULE_PATHNAME', 'cpt_aoc_type' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aoc_type(@extschema@.cpt_code, date) RETURNS smallint
	AS 'MODULE_PATHNAME', 'cpt_aoc_type' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.aoc_type(@extschema@.cpt_code) IS
	'AOC edit type (1, 2 or 3) of an add-on code, NULL for other codes';

CREATE FUNCTION @extschema@.addon_primaries(addon @extschema@.cpt_code, on_date date DEFAULT NULL)
	RETURNS TABLE (primary_code @extschema@.cpt_code, source text, effective date, deleted date)
	LANGUAGE sql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
	SELECT e.primary_code, 'cms'::text, e.edit_effective,
		   LEAST(e.edit_deleted, e.primary_deleted, e.addon_deleted)
	  FROM cpt_rules.aoc_edit e
	 WHERE e.addon OPERATOR(@extschema@.=) $1 AND e.primary_code IS NOT NULL
	   AND ($2 IS NULL OR (e.edit_effective <= $2
			AND $2 < LEAST(e.edit_deleted, e.primary_deleted, e.addon_deleted, 'infinity')))
	UNION ALL
	SELECT p.primary_code, 'payer', p.effective, p.deleted
	  FROM cpt_rules.payer_pair p
	 WHERE p.addon OPERATOR(@extschema@.=) $1
	   AND @extschema@.aoc_type($1) IN (2, 3)
	   AND ($2 IS NULL OR (p.effective <= $2 AND $2 < coalesce(p.deleted, 'infinity')))
	 ORDER BY 1, 3
$$;
COMMENT ON FUNCTION @extschema@.addon_primaries(@extschema@.cpt_code, date) IS
	'eligible primary codes of an add-on code (as of a date of service when one is given)';

CREATE FUNCTION @extschema@.primary_addons(primary_code @extschema@.cpt_code, on_date date DEFAULT NULL)
	RETURNS TABLE (addon @extschema@.cpt_code, aoc_type smallint, source text, effective date, deleted date)
	LANGUAGE sql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
	SELECT e.addon, e.aoc_type, 'cms'::text, e.edit_effective,
		   LEAST(e.edit_deleted, e.primary_deleted, e.addon_deleted)
	  FROM cpt_rules.aoc_edit e
	 WHERE e.primary_code OPERATOR(@extschema@.=) $1
	   AND ($2 IS NULL OR (e.edit_effective <= $2
			AND $2 < LEAST(e.edit_deleted, e.primary_deleted, e.addon_deleted, 'infinity')))
	UNION ALL
	SELECT p.addon, @extschema@.aoc_type(p.addon), 'payer', p.effective, p.deleted
	  FROM cpt_rules.payer_pair p
	 WHERE p.primary_code OPERATOR(@extschema@.=) $1
	   AND @extschema@.aoc_type(p.addon) IN (2, 3)
	   AND ($2 IS NULL OR (p.effective <= $2 AND $2 < coalesce(p.deleted, 'infinity')))
	 ORDER BY 1, 4
$$;
COMMENT ON FUNCTION @extschema@.primary_addons(@extschema@.cpt_code, date) IS
	'add-on codes that the given primary code can carry (as of a date of service when one is given)';
