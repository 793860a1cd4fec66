-- Two changes to one claim in one transaction, with a pause between them:
-- delete one of its lines, then add an add-on or a primary to it.  Keeps
-- transactions open across other clients' commits on the same claim.
BEGIN;
SELECT 1 + floor(random() * :claims)::int AS claim \gset
DELETE FROM stress.claim_lines
 WHERE line_id = (SELECT l.line_id FROM stress.claim_lines l
                   WHERE l.claim_id = :claim ORDER BY random() LIMIT 1);
SELECT pg_sleep(random() * 0.004) AS paused \gset
INSERT INTO stress.claim_lines (claim_id, code)
SELECT :claim, (ARRAY['20933', '20934', '22552', '27365', '27645', '22551'])[1 + floor(random() * 6)::int]::cpt_code;
\ir check_and_commit.sql
