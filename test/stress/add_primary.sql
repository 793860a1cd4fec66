-- Insert a primary line into a random claim (27365, 27645, 24150 are
-- primaries of 20933 and 20934; 22551 is the primary of 22552).
BEGIN;
INSERT INTO stress.claim_lines (claim_id, code)
SELECT 1 + floor(random() * :claims)::int,
       (ARRAY['27365', '27645', '24150', '22551'])[1 + floor(random() * 4)::int]::cpt_code;
\ir check_and_commit.sql
