-- Give a random line of a random claim a random code: an add-on, a primary
-- or an ordinary code (99213), so primaries are recoded away and add-ons
-- appear in place.
BEGIN;
UPDATE stress.claim_lines
   SET code = (SELECT (ARRAY['20933', '20934', '22552', '27365', '27645', '22551', '99213'])
                      [1 + floor(random() * 7)::int]::cpt_code)
 WHERE line_id = (SELECT l.line_id FROM stress.claim_lines l
                   WHERE l.claim_id = (SELECT 1 + floor(random() * :claims)::int)
                   ORDER BY random() LIMIT 1);
\ir check_and_commit.sql
