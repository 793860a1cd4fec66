-- Insert an add-on line into a random claim.  Its check fails (23514) when
-- the claim has no eligible primary by then.
BEGIN;
INSERT INTO stress.claim_lines (claim_id, code)
SELECT 1 + floor(random() * :claims)::int,
       (ARRAY['20933', '20934', '22552'])[1 + floor(random() * 3)::int]::cpt_code;
\ir check_and_commit.sql
