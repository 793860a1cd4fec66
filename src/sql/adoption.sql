-- Adopting the rules where the codes already are ----------------------------
--
-- A claims table whose codes are text (as most warehouses keep them) can be
-- cleaned, or judged, before or instead of converting the column: which of
-- its values would cpt_code read (cpt_code_valid), and which not.  This
-- file is part of both the install script and the upgrade from the
-- previous version.

-- The values of a column that are not valid codes, most frequent first.
CREATE OR REPLACE FUNCTION cpt_rules.invalid_codes(tbl regclass, code name)
	RETURNS TABLE (value text, lines bigint)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
	IF tbl IS NULL OR code IS NULL THEN
		RAISE EXCEPTION 'arguments "tbl" and "code" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_attribute a
					WHERE a.attrelid = tbl AND a.attname = code AND a.attnum > 0 AND NOT a.attisdropped) THEN
		RAISE EXCEPTION 'column "%" of relation "%" does not exist', code, tbl
			USING ERRCODE = 'undefined_column';
	END IF;
	RETURN QUERY EXECUTE format(
		'SELECT t.%1$I::text, count(*) FROM %2$s t'
		' WHERE t.%1$I IS NOT NULL AND NOT @extschema@.cpt_code_valid(t.%1$I::text)'
		' GROUP BY 1 ORDER BY 2 DESC, 1', code, tbl);
END $$;
COMMENT ON FUNCTION cpt_rules.invalid_codes(regclass, name) IS
	'the values of a code column (of any type with a text form) that cpt_code would not read, with how many lines hold each, most frequent first';

-- What a text code column holds for the rules: the code as cpt_code input
-- reads it, or NULL where the value is none (the audit reads it so).
CREATE OR REPLACE FUNCTION @extschema@.cpt_code_or_null(text) RETURNS @extschema@.cpt_code
	AS 'MODULE_PATHNAME', 'cpt_code_or_null' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.cpt_code_or_null(text) IS
	'the value read as a cpt_code, or NULL when it is not a valid code (no error)';
