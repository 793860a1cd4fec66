-- Claim lines as CSV on standard output.  psql variables: nclaims (a
-- multiple of 10), seed (-1 to 1).  Every block of 10 claims holds 50 lines
-- (claim sizes 1 2 3 4 5 6 6 7 8 8 in random order), and one claim of 2 or
-- more lines in each block carries an add-on code and an eligible primary,
-- both at random positions among its lines.
\set ON_ERROR_STOP 1
SET max_parallel_workers_per_gather = 0;
SELECT setseed(:seed) AS seeded \gset
COPY (
	WITH blk AS (
		SELECT b, 2 + floor(random() * 9)::int AS addon_slot
		  FROM generate_series(0, :nclaims / 10 - 1) b
	), claim AS MATERIALIZED (
		SELECT blk.b * 10 + row_number() OVER (PARTITION BY blk.b ORDER BY random()) AS claim_id,
			   s.size, s.slot = blk.addon_slot AS has_addon
		  FROM blk, unnest('{1,2,3,4,5,6,6,7,8,8}'::int[]) WITH ORDINALITY s(size, slot)
	), claim2 AS MATERIALIZED (
		SELECT claim_id, size, has_addon,
			   1 + floor(random() * (:nclaims / 2))::int AS patient_id,
			   (1000000000 + floor(random() * 5000)::int * 7919)::text AS npi,
			   date '2024-01-01' + floor(random() * 730)::int AS service_date,
			   CASE WHEN has_addon THEN 1 + floor(random() * 8)::int END AS kind,
			   floor(random() * 1000)::int AS pick,
			   1 + floor(random() * size)::int AS addon_line,
			   1 + floor(random() * (size - 1))::int AS primary_offset
		  FROM claim
	)
	SELECT c.claim_id, l.line_no, c.patient_id, c.npi, c.service_date,
		   CASE WHEN c.has_addon AND l.line_no = c.addon_line THEN p.addon
				WHEN c.has_addon AND l.line_no = 1 + (c.addon_line - 1 + c.primary_offset) % c.size
				THEN p.primaries[1 + c.pick % cardinality(p.primaries)]
				ELSE bench_common_code() END,
		   CASE WHEN random() < 0.1 THEN 2 ELSE 1 END
	  FROM claim2 c
	  LEFT JOIN bench_addon_pair p ON p.kind = c.kind
	 CROSS JOIN LATERAL generate_series(1, c.size) l(line_no)
	 ORDER BY c.claim_id, l.line_no
) TO STDOUT WITH (FORMAT csv);
