-- Delete a random line of a random claim.  Deleting the last eligible
-- primary of an add-on fails the check.
BEGIN;
DELETE FROM stress.claim_lines
 WHERE line_id = (SELECT l.line_id FROM stress.claim_lines l
                   WHERE l.claim_id = (SELECT 1 + floor(random() * :claims)::int)
                   ORDER BY random() LIMIT 1);
\ir check_and_commit.sql
