-- pgbench script: each transaction enters one new claim of 1 to 8 lines into
-- the table named by -D tbl=...  About one claim in ten carries an add-on
-- code with an eligible primary (bench_addon_pair); every other line is an
-- ordinary code.  Every transaction obeys the add-on rule, so none fails.
\set nlines random(1, 8)
\set with_addon random(1, 10)
\set kind random(1, 8)
\set pick random(0, 999)
\set patient random(1, 100000)
\set npi random(0, 4999)
\set day random(0, 729)
\if :with_addon = 1
\set nlines greatest(:nlines, 2)
\endif
WITH claim AS (SELECT nextval('oltp_claim_id') AS claim_id),
	 pair AS (SELECT addon, primaries[1 + :pick % cardinality(primaries)] AS primary_code
				FROM bench_addon_pair WHERE kind = :kind)
INSERT INTO :tbl (claim_id, line_no, patient_id, rendering_npi, service_date, code, units)
SELECT claim.claim_id, g, :patient, (1000000000 + :npi * 7919)::text, date '2024-01-01' + :day,
	   CASE WHEN :with_addon = 1 AND g = 1 THEN pair.addon
			WHEN :with_addon = 1 AND g = 2 THEN pair.primary_code
			ELSE bench_common_code() END,
	   1
  FROM claim, pair, generate_series(1, :nlines) g;
