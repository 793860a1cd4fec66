-- The cpt_code type: formats, errors, ordering, casts, indexes, binary I/O.
CREATE EXTENSION cpt_rules;
\set VERBOSITY default
SET datestyle = ISO;

-- every accepted format, case-insensitive, whitespace tolerated
SELECT v, v::cpt_code AS code, cpt_code_set(v::cpt_code)
  FROM (VALUES ('20933'), ('0001F'), ('0042T'), ('0001U'), ('0002M'), ('G2212'),
               ('c9726'), ('  99292 '), (E'\t27365\n'), ('a0021'), ('00000'), ('99999')) t(v);

-- rejected input: 22P02 with the value and what a valid code looks like
SELECT ''::cpt_code;
SELECT '   '::cpt_code;
SELECT '2093'::cpt_code;
SELECT '209331'::cpt_code;
SELECT '2093 3'::cpt_code;
SELECT 'CCCCC'::cpt_code;
SELECT '2093é'::cpt_code;
SELECT '20-33'::cpt_code;
SELECT '0001X'::cpt_code;
SELECT 'GG212'::cpt_code;
SELECT '2093F5'::cpt_code;
SELECT 'G221A'::cpt_code;
SELECT '20933;'::cpt_code;
SELECT 'Ｇ2212'::cpt_code;
SELECT '２０９３３'::cpt_code;

-- the SQLSTATE itself
DO $$
BEGIN
	PERFORM 'x'::cpt_code;
EXCEPTION WHEN invalid_text_representation THEN
	RAISE NOTICE 'caught SQLSTATE %', SQLSTATE;
END $$;

SELECT cpt_code_valid('20933'), cpt_code_valid('2093'), cpt_code_valid(' g2212 '), cpt_code_valid('CCCCC');

-- ordering equals the canonical text under the C collation
CREATE TABLE codes (c cpt_code);
INSERT INTO codes VALUES ('99292'), ('G2212'), ('0001F'), ('20933'), ('0042T'), ('A0021'),
	('0001U'), ('20000'), ('29999'), ('0002M'), ('C9726'), ('00100'), ('J3490');
SELECT array_agg(c ORDER BY c) AS by_type,
       array_agg(c ORDER BY c::text COLLATE "C") AS by_text
  FROM codes;
SELECT (SELECT array_agg(c ORDER BY c) FROM codes) = (SELECT array_agg(c ORDER BY c::text COLLATE "C") FROM codes) AS same_order;
SELECT c FROM codes WHERE c BETWEEN '20000' AND '29999' ORDER BY c;
SELECT min(c), max(c) FROM codes;

-- comparison operators
SELECT '20933'::cpt_code = '20933', '20933'::cpt_code <> '20934', '20933'::cpt_code < '20934',
       '20933'::cpt_code <= '20933', 'G2212'::cpt_code > '99999', 'A0000'::cpt_code >= '99999';
SELECT cpt_code_cmp('20933', '20934'), cpt_code_cmp('20934', '20933'), cpt_code_cmp('20933', '20933');

-- casts: text, varchar, bpchar, both ways
SELECT '27365'::text::cpt_code, ' g2212'::varchar::cpt_code, '99292'::char(5)::cpt_code,
       '20933'::cpt_code::text, '20933'::cpt_code::varchar(5);
CREATE TABLE conv (id int, code text, code_vc varchar(10), code_bp char(5));
INSERT INTO conv VALUES (1, '20933', ' 27365 ', 'g2212'), (2, NULL, NULL, NULL);
ALTER TABLE conv ALTER COLUMN code TYPE cpt_code USING code::cpt_code,
	ALTER COLUMN code_vc TYPE cpt_code, ALTER COLUMN code_bp TYPE cpt_code;
SELECT * FROM conv ORDER BY id;
INSERT INTO conv (id, code) VALUES (3, 'bogus');
-- assignment cast from text, not implicit
INSERT INTO conv (id, code) SELECT 4, '0001f'::text;
SELECT code || '' FROM conv WHERE id = 4;
SELECT pg_column_size(code) FROM conv WHERE id = 1;

-- arrays
SELECT '{20933, 27365, g2212}'::cpt_code[], array_length('{20933,27365}'::cpt_code[], 1);
SELECT '{20933, 2736}'::cpt_code[];
SELECT '20933'::cpt_code = ANY ('{27365,20933}'::cpt_code[]);

-- btree and hash indexes are used
CREATE TABLE lines AS
	SELECT i AS id, (CASE i % 4 WHEN 0 THEN lpad((i % 100000)::text, 5, '0')
	                            WHEN 1 THEN lpad((i % 10000)::text, 4, '0') || 'F'
	                            WHEN 2 THEN 'G' || lpad((i % 10000)::text, 4, '0')
	                            ELSE lpad((i % 10000)::text, 4, '0') || 'T' END)::cpt_code AS code
	  FROM generate_series(1, 20000) i;
CREATE INDEX lines_code_btree ON lines (code);
ANALYZE lines;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM lines WHERE code = '20933';
EXPLAIN (COSTS OFF) SELECT * FROM lines WHERE code BETWEEN '20000' AND '29999';
EXPLAIN (COSTS OFF) SELECT code FROM lines ORDER BY code LIMIT 3;
CREATE INDEX lines_code_hash ON lines USING hash (code);
DROP INDEX lines_code_btree;
EXPLAIN (COSTS OFF) SELECT * FROM lines WHERE code = '20933';
SELECT count(*) FROM lines WHERE code = '00004';
RESET enable_seqscan;
RESET enable_bitmapscan;
-- the estimators use the column statistics: estimates within 2x of the truth
CREATE FUNCTION estimate(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
	EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO plan;
	RETURN (plan->0->'Plan'->>'Plan Rows')::bigint;
END $$;
CREATE FUNCTION actual(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	EXECUTE 'SELECT count(*) FROM (' || q || ') s' INTO n;
	RETURN n;
END $$;
SELECT q, actual(q), estimate(q) BETWEEN actual(q) / 2 AND actual(q) * 2 AS close
  FROM (VALUES ('SELECT * FROM lines WHERE code < ''20000'''),
               ('SELECT * FROM lines WHERE code >= ''G0000'''),
               ('SELECT * FROM lines WHERE code <= ''50000'''),
               ('SELECT * FROM lines WHERE code > ''90000'''),
               ('SELECT * FROM lines WHERE code BETWEEN ''20000'' AND ''29999'''),
               ('SELECT * FROM lines WHERE code <> ''00004''')) t(q);
SELECT count(*) FROM lines WHERE code BETWEEN '20000' AND '29999';
SELECT count(*) FROM lines WHERE code::text BETWEEN '20000' AND '29999';
-- selectivity estimators give sane row estimates
EXPLAIN (COSTS OFF) SELECT * FROM lines a JOIN lines b ON a.code = b.code;
SET enable_hashjoin = on; SET enable_mergejoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT * FROM lines a JOIN lines b ON a.code = b.code;
SET enable_hashjoin = off; SET enable_mergejoin = on;
EXPLAIN (COSTS OFF) SELECT * FROM lines a JOIN lines b ON a.code = b.code;
RESET enable_hashjoin; RESET enable_mergejoin; RESET enable_nestloop;
SELECT count(*) FROM lines a JOIN lines b ON a.code = b.code;
-- hash aggregation and hash partitioning
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT code, count(*) FROM lines GROUP BY code;
RESET enable_sort;
SELECT count(*) FROM (SELECT code FROM lines GROUP BY code) s;
CREATE TABLE parted (code cpt_code) PARTITION BY HASH (code);
CREATE TABLE parted_0 PARTITION OF parted FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO parted SELECT code FROM lines;
SELECT (SELECT count(*) FROM parted_0) > 0 AND (SELECT count(*) FROM parted_1) > 0 AS both_used,
       (SELECT count(*) FROM parted) = 20000 AS all_there;
SELECT cpt_code_hash_extended('20933', 0) = cpt_code_hash_extended('20933', 0),
       cpt_code_hash_extended('20933', 1) <> cpt_code_hash_extended('20933', 0),
       cpt_code_hash('20933')::bigint = cpt_code_hash_extended('20933', 0) & 4294967295
          OR cpt_code_hash('20933') = (cpt_code_hash_extended('20933', 0))::int AS low_bits;

-- round trips through text and binary COPY
COPY (SELECT code FROM lines ORDER BY id LIMIT 5) TO STDOUT;
CREATE TEMP TABLE bin_out AS SELECT id, code FROM lines;
COPY bin_out TO '/tmp/cpt_rules_regress_bin.copy' WITH (FORMAT binary);
CREATE TEMP TABLE bin_in (id int, code cpt_code);
COPY bin_in FROM '/tmp/cpt_rules_regress_bin.copy' WITH (FORMAT binary);
SELECT count(*), bool_and(a.code = b.code) FROM bin_out a JOIN bin_in b USING (id);
-- binary input is validated like text input
COPY (SELECT 1::int, '2093'::text) TO '/tmp/cpt_rules_regress_bad.copy' WITH (FORMAT binary);
COPY bin_in FROM '/tmp/cpt_rules_regress_bad.copy' WITH (FORMAT binary);
COPY (SELECT 1::int, '20933 '::text) TO '/tmp/cpt_rules_regress_ok.copy' WITH (FORMAT binary);
COPY bin_in FROM '/tmp/cpt_rules_regress_ok.copy' WITH (FORMAT binary);
SELECT cpt_code_send('20933'), cpt_code_send('G2212');
CREATE TEMP TABLE text_rt AS SELECT code::text AS t FROM lines;
SELECT count(*) FROM text_rt r JOIN lines l ON l.code = r.t::cpt_code;

-- btree deduplication works as for text: many lines share a code
CREATE TABLE dup_codes AS
	SELECT ((ARRAY['99213','99214','36415','G0463','20933'])[1 + i % 5])::cpt_code AS code,
	       ((ARRAY['99213','99214','36415','G0463','20933'])[1 + i % 5])::text COLLATE "C" AS code_text
	  FROM generate_series(1, 50000) i;
CREATE INDEX dup_codes_code ON dup_codes (code);
CREATE INDEX dup_codes_text ON dup_codes (code_text);
SELECT pg_relation_size('dup_codes_code') <= pg_relation_size('dup_codes_text') AS no_larger_than_text,
       pg_relation_size('dup_codes_code') < 50000 * 10 AS deduplicated;
SELECT amprocnum, amproc FROM pg_amproc
 WHERE amprocfamily = (SELECT opcfamily FROM pg_opclass WHERE opcname = 'cpt_code_ops') ORDER BY 1;

-- function labels: everything the type uses is IMMUTABLE, STRICT and PARALLEL SAFE
SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'cpt_rules')
   AND p.proname LIKE 'cpt_code%'
   AND (p.provolatile <> 'i' OR NOT p.proisstrict OR p.proparallel <> 's');
SELECT typname, typlen, typbyval, typalign FROM pg_type WHERE typname = 'cpt_code';
SELECT oprname, oprcanhash, oprcanmerge FROM pg_operator
 WHERE oprleft = 'cpt_code'::regtype AND oprname = '=';
-- Category I vaccine administration codes: four digits and A (the PTP
-- files' first rows are 0001A), sorted after 00019 and before 0001F
SELECT c::cpt_code, cpt_code_set(c::cpt_code) FROM unnest('{0001A, 0051a, " 0174A "}'::text[]) c;
SELECT array_agg(c ORDER BY c) FROM unnest('{0001F,0001A,00019,0001M,00020}'::cpt_code[]) c;
