-- The cpt_code type -------------------------------------------------------

CREATE TYPE @extschema@.cpt_code;

CREATE FUNCTION @extschema@.cpt_code_in(cstring) RETURNS @extschema@.cpt_code
	AS 'MODULE_PATHNAME', 'cpt_code_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code_out(@extschema@.cpt_code) RETURNS cstring
	AS 'MODULE_PATHNAME', 'cpt_code_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code_recv(internal) RETURNS @extschema@.cpt_code
	AS 'MODULE_PATHNAME', 'cpt_code_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code_send(@extschema@.cpt_code) RETURNS bytea
	AS 'MODULE_PATHNAME', 'cpt_code_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.cpt_code (
	INPUT = @extschema@.cpt_code_in,
	OUTPUT = @extschema@.cpt_code_out,
	RECEIVE = @extschema@.cpt_code_recv,
	SEND = @extschema@.cpt_code_send,
	INTERNALLENGTH = 4,
	PASSEDBYVALUE,
	ALIGNMENT = int4,
	STORAGE = plain
);
COMMENT ON TYPE @extschema@.cpt_code IS
	'HCPCS procedure code (CPT Category I/II/III, PLA, MAAA, HCPCS Level II), stored in 4 bytes';

-- Casts. Assignment casts from text let ALTER COLUMN ... TYPE cpt_code work
-- on existing text columns; none is implicit, so operator resolution stays
-- unambiguous.
CREATE FUNCTION @extschema@.cpt_code(text) RETURNS @extschema@.cpt_code
	AS 'MODULE_PATHNAME', 'cpt_code_from_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code(bpchar) RETURNS @extschema@.cpt_code
	AS 'MODULE_PATHNAME', 'cpt_code_from_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.text(@extschema@.cpt_code) RETURNS text
	AS 'MODULE_PATHNAME', 'cpt_code_to_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (text AS @extschema@.cpt_code)
	WITH FUNCTION @extschema@.cpt_code(text) AS ASSIGNMENT;
CREATE CAST (varchar AS @extschema@.cpt_code)
	WITH FUNCTION @extschema@.cpt_code(text) AS ASSIGNMENT;
CREATE CAST (bpchar AS @extschema@.cpt_code)
	WITH FUNCTION @extschema@.cpt_code(bpchar) AS ASSIGNMENT;
CREATE CAST (@extschema@.cpt_code AS text)
	WITH FUNCTION @extschema@.text(@extschema@.cpt_code) AS ASSIGNMENT;
CREATE CAST (@extschema@.cpt_code AS varchar)
	WITH FUNCTION @extschema@.text(@extschema@.cpt_code) AS ASSIGNMENT;

CREATE FUNCTION @extschema@.cpt_code_set(@extschema@.cpt_code) RETURNS text
	AS 'MODULE_PATHNAME', 'cpt_code_set' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.cpt_code_set(@extschema@.cpt_code) IS
	'code set of a procedure code: CPT Category I, II, III, CPT PLA, CPT MAAA or HCPCS Level II';

CREATE FUNCTION @extschema@.cpt_code_valid(text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_code_valid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.cpt_code_valid(text) IS
	'true when the text would be accepted as a cpt_code';

-- Comparison --------------------------------------------------------------

CREATE FUNCTION @extschema@.cpt_code_eq(@extschema@.cpt_code, @extschema@.cpt_code) RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_code_eq' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code_ne(@extschema@.cpt_code, @extschema@.cpt_code) RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_code_ne' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code_lt(@extschema@.cpt_code, @extschema@.cpt_code) RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_code_lt' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code_le(@extschema@.cpt_code, @extschema@.cpt_code) RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_code_le' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code_gt(@extschema@.cpt_code, @extschema@.cpt_code) RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_code_gt' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code_ge(@extschema@.cpt_code, @extschema@.cpt_code) RETURNS boolean
	AS 'MODULE_PATHNAME', 'cpt_code_ge' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code_cmp(@extschema@.cpt_code, @extschema@.cpt_code) RETURNS integer
	AS 'MODULE_PATHNAME', 'cpt_code_cmp' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code_sortsupport(internal) RETURNS void
	AS 'MODULE_PATHNAME', 'cpt_code_sortsupport' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code_hash(@extschema@.cpt_code) RETURNS integer
	AS 'MODULE_PATHNAME', 'cpt_code_hash' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code_hash_extended(@extschema@.cpt_code, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'cpt_code_hash_extended' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code_larger(@extschema@.cpt_code, @extschema@.cpt_code) RETURNS @extschema@.cpt_code
	AS 'MODULE_PATHNAME', 'cpt_code_larger' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cpt_code_smaller(@extschema@.cpt_code, @extschema@.cpt_code) RETURNS @extschema@.cpt_code
	AS 'MODULE_PATHNAME', 'cpt_code_smaller' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.cpt_code, RIGHTARG = @extschema@.cpt_code,
	PROCEDURE = @extschema@.cpt_code_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.cpt_code, RIGHTARG = @extschema@.cpt_code,
	PROCEDURE = @extschema@.cpt_code_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.cpt_code, RIGHTARG = @extschema@.cpt_code,
	PROCEDURE = @extschema@.cpt_code_lt,
	COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.cpt_code, RIGHTARG = @extschema@.cpt_code,
	PROCEDURE = @extschema@.cpt_code_le,
	COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.cpt_code, RIGHTARG = @extschema@.cpt_code,
	PROCEDURE = @extschema@.cpt_code_gt,
	COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.cpt_code, RIGHTARG = @extschema@.cpt_code,
	PROCEDURE = @extschema@.cpt_code_ge,
	COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE OPERATOR CLASS @extschema@.cpt_code_ops
	DEFAULT FOR TYPE @extschema@.cpt_code USING btree AS
		OPERATOR 1 @extschema@.<,
		OPERATOR 2 @extschema@.<=,
		OPERATOR 3 @extschema@.=,
		OPERATOR 4 @extschema@.>=,
		OPERATOR 5 @extschema@.>,
		FUNCTION 1 @extschema@.cpt_code_cmp(@extschema@.cpt_code, @extschema@.cpt_code),
		FUNCTION 2 @extschema@.cpt_code_sortsupport(internal),
		-- equal codes are bitwise equal, so btree deduplication is safe
		FUNCTION 4 btequalimage(oid);

CREATE OPERATOR CLASS @extschema@.cpt_code_hash_ops
	DEFAULT FOR TYPE @extschema@.cpt_code USING hash AS
		OPERATOR 1 @extschema@.=,
		FUNCTION 1 @extschema@.cpt_code_hash(@extschema@.cpt_code),
		FUNCTION 2 @extschema@.cpt_code_hash_extended(@extschema@.cpt_code, bigint);

CREATE AGGREGATE @extschema@.min(@extschema@.cpt_code) (
	SFUNC = @extschema@.cpt_code_smaller, STYPE = @extschema@.cpt_code,
	SORTOP = OPERATOR(@extschema@.<), COMBINEFUNC = @extschema@.cpt_code_smaller,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.max(@extschema@.cpt_code) (
	SFUNC = @extschema@.cpt_code_larger, STYPE = @extschema@.cpt_code,
	SORTOP = OPERATOR(@extschema@.>), COMBINEFUNC = @extschema@.cpt_code_larger,
	PARALLEL = SAFE
);
