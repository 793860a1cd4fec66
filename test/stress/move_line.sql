-- Move a random line of a random claim to another random claim: a primary
-- leaving may strand add-ons, an add-on arriving needs a primary there.
BEGIN;
UPDATE stress.claim_lines
   SET claim_id = (SELECT 1 + floor(random() * :claims)::int)
 WHERE line_id = (SELECT l.line_id FROM stress.claim_lines l
                   WHERE l.claim_id = (SELECT 1 + floor(random() * :claims)::int)
                   ORDER BY random() LIMIT 1);
\ir check_and_commit.sql
