# write_ptp_quarter RECORDS DIR [CODES]: a synthetic practitioner quarter of
# PTP edits in CMS's exact layout, as DIR/ccipra-f1.txt .. f4.txt: four
# tab-separated parts, each under CMS's six header lines; RECORDS records
# with CMS's mix of modifier indicators, deletion dates and pre-1996 flags,
# and the duplicate pairs and indicator-9 rows real files have.  Column 1
# codes run in order as CMS sorts them, each with a run of column 2 codes.
# CODES (a SQL array literal of codes) puts edits between those codes in
# place of as many of the others: for about half the pairs of two of them,
# one edit, its direction chosen by a hash, so that claims billing them are
# paired.  The server writes the files (COPY TO), so DIR is the cluster's.
# Sourced by the benchmarks, after test/lib.sh; uses their q().
write_ptp_quarter() {
	local records=$1 dir=$2 codes=${3:-'{}'} part
	for part in 1 2 3 4; do
		q -v file="$dir/ccipra-f$part.txt" <<'SQL'
COPY (
	SELECT c1, c2, c3, c4, c5, c6, c7 FROM (VALUES
		(0, 'CPT only copyright 2025 American Medical Association.  All rights reserved.', NULL, NULL, NULL, NULL, NULL, NULL),
		(1, 'Column1/Column2 Edits', NULL, NULL, NULL, NULL, NULL, NULL),
		(2, 'Column 1', 'Column 2', '*=in existence', 'Effective', 'Deletion', 'Modifier', 'PTP Edit Rationale'),
		(3, NULL, NULL, 'prior to 1996', 'Date', 'Date', '0=not allowed', NULL),
		(4, NULL, NULL, NULL, NULL, '*=no data', '1=allowed', NULL),
		(5, NULL, NULL, NULL, NULL, NULL, '9=not applicable', NULL)) h(n, c1, c2, c3, c4, c5, c6, c7)
	ORDER BY n
) TO :'file' WITH (FORMAT csv, DELIMITER E'\t');
SQL
	done
	q -v records="$records" -v codes="$codes" <<'SQL'
SELECT setseed(0.32) AS s \gset
CREATE TEMP TABLE common_pair AS
SELECT row_number() OVER (ORDER BY a, b) AS n, a, b
  FROM (SELECT DISTINCT CASE WHEN (hashtext(a || b) & 2) = 0 THEN a ELSE b END AS a,
			   CASE WHEN (hashtext(a || b) & 2) = 0 THEN b ELSE a END AS b
		  FROM unnest(:'codes'::text[]) a, unnest(:'codes'::text[]) b
		 WHERE a < b AND (hashtext(a || b) & 1) = 0) p;
CREATE TABLE gen AS
SELECT g, 1 + (g - 1) * 4 / :records AS part,
	   -- about 11,000 column 1 codes, each with a run of column 2 codes
	   coalesce(p.a, lpad((10000 + g / 240)::text, 5, '0')) AS c1,
	   coalesce(p.b, CASE WHEN g % 3 = 0 THEN 'J' || lpad((g % 9000)::text, 4, '0') ELSE lpad((20000 + (g::bigint * 7919) % 70000)::text, 5, '0') END) AS c2,
	   CASE WHEN g % 19 = 0 THEN '*' END AS pre,
	   (2004 + g % 22)::text || lpad((1 + 3 * (g % 4))::text, 2, '0') || '01' AS eff,
	   CASE WHEN g % 100 < 2 THEN 'nine' WHEN g % 100 < 35 THEN (2005 + g % 21)::text || '1231' ELSE '*' END AS del,
	   CASE WHEN g % 100 < 2 THEN '9' WHEN g % 100 < 6 THEN '0' ELSE '1' END AS modifier,
	   (ARRAY['CPT Manual or CMS manual coding instruction', 'Mutually exclusive procedures',
			  'Misuse of Column Two code with Column One code', 'Standards of medical/surgical practice',
			  'HCPCS/CPT procedure code definition'])[1 + g % 5] AS rationale
  FROM generate_series(1, :records) g
  LEFT JOIN common_pair p ON p.n = g;
-- an indicator 9 row is deleted on its effective date; a deletion never precedes its effective date
UPDATE gen SET del = CASE WHEN del = 'nine' THEN eff WHEN del <> '*' AND del < eff THEN eff ELSE del END;
SQL
	for part in 1 2 3 4; do
		q -v part=$part -v file="$dir/ccipra-f$part.txt" <<'SQL'
\set body :file '.body'
COPY (SELECT c1, c2, pre, eff, del, modifier, rationale FROM gen WHERE part = :part ORDER BY c1, g)
  TO :'body' WITH (FORMAT csv, DELIMITER E'\t');
SQL
		cat "$dir/ccipra-f$part.txt.body" >>"$dir/ccipra-f$part.txt"
		rm -f "$dir/ccipra-f$part.txt.body"
		chmod 644 "$dir/ccipra-f$part.txt"
	done
	q -c "DROP TABLE gen"
}
