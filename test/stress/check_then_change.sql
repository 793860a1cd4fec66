-- Check early, then keep changing the same claim in the same transaction:
-- every statement after the check must be checked again (a DELETE right
-- after SET CONSTRAINTS ALL IMMEDIATE once slipped through).
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
SELECT 1 + floor(random() * :claims)::int AS claim \gset
INSERT INTO stress.claim_lines (claim_id, code)
SELECT :claim, (ARRAY['20933', '20934', '99292'])[1 + floor(random() * 3)::int];
DELETE FROM stress.claim_lines
 WHERE line_id = (SELECT l.line_id FROM stress.claim_lines l
                   WHERE l.claim_id = :claim ORDER BY random() LIMIT 1);
SELECT pg_sleep(random() * 0.004) AS paused \gset
COMMIT;
