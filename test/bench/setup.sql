-- Objects shared by the benchmark's data generator and its OLTP script:
-- the add-on/primary pairs used in generated claims and the mix of
-- ordinary codes.  Loaded by constraint_copy.sh into a throwaway cluster.

CREATE TABLE bench_addon_pair (
	kind		int PRIMARY KEY,
	addon		cpt_code NOT NULL,
	primaries	cpt_code[] NOT NULL
);
INSERT INTO bench_addon_pair VALUES
	(1, '20933', '{23210,23220,24150,25170,27075,27076,27077,27365,27645,27704}'),
	(2, '99292', '{99291}'),
	(3, '22614', '{22600,22610,22612,22630,22633}'),
	(4, 'G2212', '{99205,99215,99483,G0463}'),
	(5, '11045', '{11042}'),
	(6, '64480', '{64479}'),
	(7, '76812', '{76811}'),
	(8, '99417', '{99205,99215}');

-- Ordinary lines: office visits, venipuncture, lab panels, imaging, ECG,
-- injections, therapy; repeated entries make the common ones common.
CREATE FUNCTION bench_common_code() RETURNS cpt_code
	LANGUAGE sql VOLATILE
AS $$
	SELECT ('{99213,99213,99213,99213,99213,99213,99214,99214,99214,99214,99214,
			  36415,36415,36415,36415,36415,85025,85025,85025,80053,80053,80053,
			  99203,99203,99204,99212,99212,80061,80061,83036,83036,84443,81001,
			  71046,71046,93000,93000,G0463,G0463,J1100,96372,96372,90686,G0008,
			  87086,73030,72100,97110,97110,97140,99232,99233,77067,74177,70450,
			  J3420,82306,84153,99396,99395,80048,85610}'::cpt_code[])
		   [1 + floor(random() * 62)::int]
$$;

-- Sanity: ordinary codes are no add-ons, every pair is eligible in 2024-2025.
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM unnest('{99213,99214,36415,85025,80053,99203,99204,99212,80061,83036,
			84443,81001,71046,93000,G0463,J1100,96372,90686,G0008,87086,73030,72100,97110,97140,
			99232,99233,77067,74177,70450,J3420,82306,84153,99396,99395,80048,85610}'::cpt_code[]) c
			   WHERE is_addon(c)) THEN
		RAISE EXCEPTION 'an ordinary code of the benchmark is an add-on code';
	END IF;
	IF EXISTS (SELECT 1 FROM bench_addon_pair p, unnest(p.primaries) pr
			   WHERE NOT is_addon(p.addon)
				  OR NOT valid_pairing(p.addon, pr, '2024-01-01')
				  OR NOT valid_pairing(p.addon, pr, '2025-12-31')) THEN
		RAISE EXCEPTION 'an add-on pair of the benchmark is not eligible';
	END IF;
END $$;

-- The claim-lines table every variant uses, with the same index.
CREATE PROCEDURE bench_create_lines(tbl name)
	LANGUAGE plpgsql
AS $$
BEGIN
	EXECUTE format('CREATE TABLE %I (
		claim_id		bigint NOT NULL,
		line_no			int NOT NULL,
		patient_id		int NOT NULL,
		rendering_npi	text NOT NULL,
		service_date	date NOT NULL,
		code			cpt_code NOT NULL,
		units			int NOT NULL)', tbl);
	EXECUTE format('CREATE INDEX %I ON %I (claim_id)', tbl || '_claim_id', tbl);
	-- autovacuum would wake up on a loaded table while another one is timed
	EXECUTE format('ALTER TABLE %I SET (autovacuum_enabled = off)', tbl);
END $$;

-- What the benchmark reads about a server process (Linux): its CPU time
-- (user + system) in clock ticks of 1/100 s; its peak resident memory and
-- resident shared memory in kB.
CREATE FUNCTION bench_cpu_ticks(pid int) RETURNS bigint
	LANGUAGE sql
AS $$
	SELECT f[12]::bigint + f[13]::bigint	-- utime, stime
	  FROM (SELECT string_to_array(substring(pg_read_file('/proc/' || pid || '/stat')
											 FROM '\) (.*)$'), ' ') AS f) s
$$;
CREATE FUNCTION bench_memory_kb(pid int, OUT peak bigint, OUT shared bigint)
	LANGUAGE sql
AS $$
	SELECT substring(s FROM 'VmHWM:\s*(\d+)')::bigint, substring(s FROM 'RssShmem:\s*(\d+)')::bigint
	  FROM pg_read_file('/proc/' || pid || '/status') s
$$;
