-- The same claims get the same verdicts whatever the table layout: plain,
-- hash-partitioned by the claim, range-partitioned by month (claims span
-- months), and without an index.  Random claims (fixed seed), each written
-- and then partly deleted one statement at a time under IMMEDIATE.
SET datestyle = ISO;
SET client_min_messages = warning;
CREATE SCHEMA layouts;
SET search_path = layouts, public;

SELECT setseed(0.4242);
CREATE TABLE src AS
SELECT c AS claim_id, l AS line,
	   date '2024-01-20' + floor(random() * 70)::int AS service_date,
	   (ARRAY['20933','27365','27645','99292','99291','22614','22600','G2212','99215',
			  '0054T','99213','36415','20934','23210'])[1 + floor(random() * 14)::int]::cpt_code AS code
  FROM generate_series(1, 400) c, generate_series(1, 1 + (c * 7) % 5) l;

CREATE TABLE plain (claim_id int, line int, service_date date, code cpt_code);
CREATE INDEX ON plain (claim_id);
CREATE TABLE hashed (claim_id int, line int, service_date date, code cpt_code) PARTITION BY HASH (claim_id);
CREATE TABLE hashed_0 PARTITION OF hashed FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE hashed_1 PARTITION OF hashed FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE hashed_2 PARTITION OF hashed FOR VALUES WITH (MODULUS 3, REMAINDER 2);
CREATE INDEX ON hashed (claim_id);
CREATE TABLE ranged (claim_id int, line int, service_date date, code cpt_code) PARTITION BY RANGE (service_date);
CREATE TABLE ranged_01 PARTITION OF ranged FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE ranged_02 PARTITION OF ranged FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
CREATE TABLE ranged_03 PARTITION OF ranged FOR VALUES FROM ('2024-03-01') TO ('2024-04-01');
CREATE INDEX ON ranged (claim_id);
CREATE TABLE unindexed (claim_id int, line int, service_date date, code cpt_code);
SELECT cpt_rules.enforce_addon_rule(t, code => 'code', group_by => '{claim_id}', service_date => 'service_date')
  FROM unnest('{plain,hashed,ranged,unindexed}'::regclass[]) t;

-- verdicts(t): write each claim in one statement, then delete every third
-- line; one row per statement with its outcome, the table's name left out
CREATE FUNCTION verdicts(t regclass) RETURNS TABLE (step text, outcome text)
LANGUAGE plpgsql AS $$
DECLARE
	c int;
	r record;
BEGIN
	SET CONSTRAINTS ALL IMMEDIATE;
	FOR c IN SELECT DISTINCT s.claim_id FROM src s ORDER BY 1 LOOP
		step := 'insert claim ' || c;
		BEGIN
			EXECUTE format('INSERT INTO %s SELECT * FROM layouts.src WHERE claim_id = $1', t) USING c;
			outcome := 'ok';
		EXCEPTION WHEN check_violation THEN
			outcome := regexp_replace(SQLERRM, 'of table "[^"]*"', 'of the table');
		END;
		RETURN NEXT;
	END LOOP;
	FOR r IN SELECT s.claim_id, s.line FROM src s WHERE (s.claim_id + s.line) % 3 = 0 ORDER BY 1, 2 LOOP
		step := format('delete line %s.%s', r.claim_id, r.line);
		BEGIN
			EXECUTE format('DELETE FROM %s WHERE claim_id = $1 AND line = $2', t) USING r.claim_id, r.line;
			outcome := 'ok';
		EXCEPTION WHEN check_violation THEN
			outcome := regexp_replace(SQLERRM, 'of table "[^"]*"', 'of the table');
		END;
		RETURN NEXT;
	END LOOP;
END $$;

CREATE TABLE results AS
SELECT t::text AS layout, v.* FROM unnest('{plain,hashed,ranged,unindexed}'::regclass[]) t, verdicts(t) v;

-- every layout agrees with the plain table, step by step
SELECT layout, count(*) AS steps,
	   count(*) FILTER (WHERE outcome = 'ok') AS accepted,
	   count(*) FILTER (WHERE outcome <> 'ok') AS rejected,
	   count(*) FILTER (WHERE outcome IS DISTINCT FROM
						(SELECT p.outcome FROM results p WHERE p.layout = 'plain' AND p.step = r.step)) AS disagree
  FROM results r GROUP BY layout ORDER BY layout;
-- the claims that span months, and the rejections among them
SELECT count(*) AS spanning_claims FROM (SELECT claim_id FROM src GROUP BY 1
	HAVING count(DISTINCT date_trunc('month', service_date)) > 1) s;
SELECT step, outcome FROM results WHERE layout = 'plain' AND outcome <> 'ok' ORDER BY step LIMIT 5;
-- and what was committed is the same everywhere, and clean
SELECT (SELECT count(*) FROM plain) AS plain, (SELECT count(*) FROM hashed) AS hashed,
	   (SELECT count(*) FROM ranged) AS ranged, (SELECT count(*) FROM unindexed) AS unindexed,
	   (SELECT count(*) FROM (SELECT * FROM plain EXCEPT SELECT * FROM ranged) d) AS plain_not_ranged,
	   (SELECT count(*) FROM (SELECT * FROM plain EXCEPT SELECT * FROM hashed) d) AS plain_not_hashed,
	   (SELECT count(*) FROM (SELECT * FROM plain EXCEPT SELECT * FROM unindexed) d) AS plain_not_unindexed;
SELECT t, count(v.*) AS violations
  FROM unnest('{plain,hashed,ranged,unindexed}'::regclass[]) t
  LEFT JOIN LATERAL cpt_rules.addon_rule_violations(t, 'code', '{claim_id}', 'service_date') v ON true
 GROUP BY t ORDER BY t::text;

-- Lines written one or two at a time into random claims, so that a claim's
-- lines lie among other claims' (and beside deleted and updated ones): every
-- statement's verdict under IMMEDIATE must be the audit's, which reads the
-- whole table with a query, not the trigger's path.  Before each statement
-- the table is clean; the statement, run first deferred in a subtransaction
-- that is rolled back, must be refused exactly when the audit then finds a
-- violation.
CREATE FUNCTION interleaved(t regclass, steps int) RETURNS TABLE (accepted int, rejected int, disagree int)
LANGUAGE plpgsql AS $$
DECLARE
	codes cpt_code[] := '{20933,27365,23210,99292,99291,22614,22600,99213,36415,20934}';
	sql text;
	c int;
	expect_ok bool;
	got_ok bool;
BEGIN
	accepted := 0; rejected := 0; disagree := 0;
	FOR i IN 1..steps LOOP
		c := 1 + floor(random() * 8)::int;
		sql := CASE floor(random() * 4)::int
			WHEN 0 THEN format('DELETE FROM %s WHERE ctid = (SELECT ctid FROM %s WHERE claim_id = %s ORDER BY line LIMIT 1)', t, t, c)
			WHEN 1 THEN format('UPDATE %s SET code = %L WHERE claim_id = %s AND line = (SELECT max(line) FROM %s WHERE claim_id = %s)',
							   t, codes[1 + floor(random() * 10)::int], c, t, c)
			WHEN 2 THEN format('INSERT INTO %s VALUES (%s, %s, %L, %L)', t, c, i,
						date '2024-01-20' + floor(random() * 60)::int, codes[1 + floor(random() * 10)::int])
			ELSE format('INSERT INTO %s VALUES (%s, %s, %L, %L), (%s, %s, %L, %L)', t,
						c, i, date '2024-01-20' + floor(random() * 60)::int, codes[1 + floor(random() * 10)::int],
						c, -i, date '2024-01-20' + floor(random() * 60)::int, codes[1 + floor(random() * 10)::int])
		END;
		BEGIN
			SET CONSTRAINTS ALL DEFERRED;
			EXECUTE sql;
			expect_ok := NOT EXISTS (SELECT 1 FROM cpt_rules.addon_rule_violations(t, 'code', '{claim_id}', 'service_date'));
			RAISE EXCEPTION 'undo' USING ERRCODE = 'P0001';
		EXCEPTION WHEN raise_exception THEN
		END;
		BEGIN
			SET CONSTRAINTS ALL IMMEDIATE;
			EXECUTE sql;
			got_ok := true;
		EXCEPTION WHEN check_violation THEN
			got_ok := false;
		END;
		IF got_ok THEN accepted := accepted + 1; ELSE rejected := rejected + 1; END IF;
		IF got_ok IS DISTINCT FROM expect_ok THEN
			disagree := disagree + 1;
			RAISE NOTICE 'step %: % accepted %, audit %', i, sql, got_ok, expect_ok;
		END IF;
	END LOOP;
	RETURN NEXT;
END $$;
TRUNCATE plain, hashed, ranged, unindexed;
SELECT setseed(0.2025);
SELECT t, i.* FROM unnest('{plain,hashed,ranged,unindexed}'::regclass[]) t, interleaved(t, 400) i;
SELECT t, count(v.*) AS violations
  FROM unnest('{plain,hashed,ranged,unindexed}'::regclass[]) t
  LEFT JOIN LATERAL cpt_rules.addon_rule_violations(t, 'code', '{claim_id}', 'service_date') v ON true
 GROUP BY t ORDER BY t::text;

-- Which indexes a check reads: scan counters before and after a commit
-- (after this session's counters are flushed, which \gset keeps quiet).
-- A new session: how the neighbour probe fared above is forgotten.
\c
SET client_min_messages = warning;
SET search_path = layouts, public;
-- \c does not wait for the old session to exit, and an exiting backend
-- flushes its scan counters (a slow exit, under valgrind, did so between a
-- mark and its count): wait until no other client backend is connected here.
DO $$
BEGIN
	FOR i IN 1..6000 LOOP
		PERFORM pg_stat_clear_snapshot();
		EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity
							   WHERE datname = current_database() AND pid <> pg_backend_pid()
								 AND backend_type = 'client backend');
		PERFORM pg_sleep(0.01);
	END LOOP;
END $$;
CREATE TEMP TABLE scans_before AS
	SELECT relname, idx_scan FROM pg_stat_user_indexes WHERE schemaname = 'layouts' AND relname LIKE 'ranged_%';
CREATE FUNCTION scans_mark() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_stat_clear_snapshot();
	UPDATE scans_before b SET idx_scan = a.idx_scan
	  FROM pg_stat_user_indexes a WHERE a.schemaname = 'layouts' AND a.relname = b.relname;
END $$;
CREATE FUNCTION scans_since() RETURNS TABLE (relname name, scans bigint) LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_stat_clear_snapshot();
	RETURN QUERY SELECT a.relname, a.idx_scan - b.idx_scan
	  FROM pg_stat_user_indexes a JOIN scans_before b USING (relname)
	 WHERE a.schemaname = 'layouts' ORDER BY 1;
END $$;

-- A valid claim inserted by one statement: the add-on's primary is found
-- beside it on its page, and no index is read.
SELECT pg_stat_force_next_flush() \gset
SELECT scans_mark() \gset
BEGIN;
INSERT INTO ranged VALUES (9001, 1, '2024-02-10', '27365'), (9001, 2, '2024-02-10', '20933');
COMMIT;
SELECT pg_stat_force_next_flush() \gset
SELECT * FROM scans_since();

-- A claim whose lines are not side by side (another claim's line between
-- them): its own partition's index finds the primary, and the other
-- partitions are not read.
SELECT scans_mark() \gset
BEGIN;
INSERT INTO ranged VALUES (9002, 1, '2024-02-10', '27365');
INSERT INTO ranged VALUES (9003, 1, '2024-02-10', '99213');
INSERT INTO ranged VALUES (9002, 2, '2024-02-10', '20933');
COMMIT;
SELECT pg_stat_force_next_flush() \gset
SELECT * FROM scans_since();

-- A claim spanning months, its primary in January: its own partition's
-- index, then the others' until the primary is found.
SELECT scans_mark() \gset
BEGIN;
INSERT INTO ranged VALUES (9004, 1, '2024-01-31', '27365');
INSERT INTO ranged VALUES (9004, 2, '2024-02-01', '20933');
COMMIT;
SELECT pg_stat_force_next_flush() \gset
SELECT * FROM scans_since();

-- ... the months next to its own first: an add-on in March with its primary
-- in February does not read January.
SELECT scans_mark() \gset
BEGIN;
INSERT INTO ranged VALUES (9005, 1, '2024-02-29', '27365');
INSERT INTO ranged VALUES (9005, 2, '2024-03-01', '20933');
COMMIT;
SELECT pg_stat_force_next_flush() \gset
SELECT * FROM scans_since();

RESET search_path;
DROP SCHEMA layouts CASCADE;
