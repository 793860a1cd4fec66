-- cpt_code input reports a bad code softly where PostgreSQL asks for that:
-- pg_input_is_valid() (16 and later), COPY ... (ON_ERROR ignore) (17 and
-- later).  On 15 a bad code is an error wherever it is read, and this test
-- stops here (soft_errors_1.out).
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cpt_rules;
SET search_path = public, cpt_rules;
SELECT current_setting('server_version_num')::int >= 170000 AS on_error_ignore \gset
\if :on_error_ignore
\else
SELECT '20933'::cpt_code;
SELECT '209331'::cpt_code;
\quit
\endif
SELECT pg_input_is_valid('20933', 'cpt_code'), pg_input_is_valid(' 0054t ', 'cpt_code'),
	   pg_input_is_valid('209331', 'cpt_code'), pg_input_is_valid('', 'cpt_code');
SELECT message, detail, hint, sql_error_code FROM pg_input_error_info('209331', 'cpt_code');
-- the cast still raises
SELECT '209331'::cpt_code;
CREATE TABLE soft_lines (claim_id int, code cpt_code);
SET client_min_messages = notice;
COPY soft_lines FROM STDIN (ON_ERROR ignore);
1	27447
1	20933
2	XXXXX
2	209331
3	j3490
\.
RESET client_min_messages;
SELECT * FROM soft_lines ORDER BY 1, 2;
-- without ON_ERROR the whole COPY fails on the first bad code
COPY soft_lines FROM STDIN;
4	27447
4	0450
\.
SELECT count(*) FROM soft_lines;
DROP TABLE soft_lines;
