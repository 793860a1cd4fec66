#!/usr/bin/env bash
# Loading a full quarter of PTP edits, measured side by side in one run on a
# throwaway cluster with PostgreSQL's default settings.
#
# A synthetic practitioner quarter in CMS's exact layout (four tab-separated
# parts, each under CMS's six header lines; 2,633,389 records with CMS's
# mix of modifier indicators, deletion dates and pre-1996 flags, and the
# duplicate pairs and indicator-9 rows real files have) is loaded two ways,
# alternating which goes first:
#
#   plain COPY     the four parts by COPY into an unindexed table of seven
#                  text columns (the floor: reading the files at all)
#   the recipe     the README's: the four parts by COPY into a staging table
#                  LIKE cpt_rules.cms_ptp_file, then refresh_ptp_edits(),
#                  which checks every record and stores the edits indexed
#
# Each load is timed to its COMMIT; every table is emptied and a CHECKPOINT
# taken (untimed) before each.  The ratio is the median of the rounds'.  Then
# a lookup with cpt_rules.ptp() per pair, timed over 10,000 random pairs.
#
# Target (issue: PTP): the recipe at most 2x the plain COPY.
#
# Usage: test/bench/ptp_load.sh
# Environment:
#   BENCH_SCALE=small       10x fewer records
#   BENCH_ROUNDS=N          timed rounds (default 3)
# Exit status: 0 when the target is met, 2 when it is missed.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

STARTED=$SECONDS
case ${BENCH_SCALE:-full} in
	full) RECORDS=2633389 ;;
	small) RECORDS=263339 ;;
	*) echo "BENCH_SCALE must be full or small" >&2; exit 1 ;;
esac
ROUNDS=${BENCH_ROUNDS:-3}
case $ROUNDS in '' | *[!0-9]* | 0) echo "BENCH_ROUNDS must be a positive number" >&2; exit 1 ;; esac
TARGET=2.0

ensure_packages "${BASE_PACKAGES[@]}"
build_and_install >/dev/null
start_cluster
trap stop_cluster EXIT
trap 'exit 130' INT TERM

q() { psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 "$@"; }
loadavg() { local a b c rest; read -r a b c rest </proc/loadavg; echo "$a $b $c"; }

q <<'SQL'
CREATE EXTENSION cpt_rules;
CREATE TABLE plain_ptp (LIKE cpt_rules.cms_ptp_file);
CREATE TABLE staging (LIKE cpt_rules.cms_ptp_file);
CREATE TABLE bench_result (variant text, run int, total_s numeric);
SQL

# The four parts, written by the server (test/bench/ptp_quarter.sh).
. test/bench/ptp_quarter.sh
t0=$SECONDS
write_ptp_quarter "$RECORDS" "$PGTMP"
echo "cpt_rules PTP quarter load, $ROUNDS rounds; load average at start: $(loadavg)"
q -c "SELECT version()"
echo "files: $RECORDS records in 4 parts ($(du -ch "$PGTMP"/ccipra-f*.txt | tail -1 | cut -f1)), made in $((SECONDS - t0)) s"

copy_parts() {
	for part in 1 2 3 4; do echo "COPY $1 FROM '$PGTMP/ccipra-f$part.txt' WITH (FORMAT csv, DELIMITER E'\t', ENCODING 'LATIN1');"; done
}
load_timed() {
	local body
	if [ "$1" = plain ]; then
		body=$(copy_parts plain_ptp)
	else
		body="$(copy_parts staging)
SELECT count(*) FROM cpt_rules.refresh_ptp_edits('staging', 'practitioner', '2026-07-01') \\gset"
	fi
	q <<SQL
TRUNCATE plain_ptp, staging;
SELECT CASE WHEN EXISTS (SELECT FROM cpt_rules.ptp_quarter) THEN cpt_rules.drop_ptp_quarter('medicare', 'practitioner', '2026-07-01') END \\gset
VACUUM cpt_rules.ptp_edit_loaded;
CHECKPOINT;
SET client_min_messages = warning;
SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset
BEGIN;
$body
COMMIT;
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
SQL
}

echo
echo "== load: $ROUNDS rounds (load average $(loadavg))"
for run in $(seq "$ROUNDS"); do
	order="plain recipe"
	[ $((run % 2)) = 0 ] && order="recipe plain"
	for v in $order; do
		t=$(load_timed "$v")
		q -c "INSERT INTO bench_result VALUES ('$v', $run, $t)"
		printf '  round %d  %-8s %8.3f s\n' "$run" "$v" "$t"
	done
done
read -r PLAIN RECIPE RATIO < <(q <<'SQL'
WITH p AS (SELECT run, max(total_s) FILTER (WHERE variant = 'plain') AS p, max(total_s) FILTER (WHERE variant = 'recipe') AS r
			 FROM bench_result GROUP BY run)
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY p)::numeric, 3),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY r)::numeric, 3),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY r / p)::numeric, 3)
  FROM p;
SQL
)
read -r EDITS ROWS HEAP INDEX < <(q <<'SQL'
SELECT sum(cardinality(column2)), count(*), round(pg_table_size('cpt_rules.ptp_edit_loaded') / 1048576.0, 1) || 'MB',
	   round(pg_indexes_size('cpt_rules.ptp_edit_loaded') / 1048576.0, 1) || 'MB' FROM cpt_rules.ptp_edit_loaded;
SQL
)
echo "  median: plain COPY $PLAIN s, recipe $RECIPE s; recipe / plain COPY ${RATIO}x (target <= ${TARGET}x)"
echo "  stored: $EDITS edits in $ROWS rows, table $HEAP (TOAST included), index $INDEX"

# lookups: 10,000 pairs drawn at random from the edits, looked up in both orders
echo
echo "== lookups: cpt_rules.ptp() for 10,000 pairs"
q -c "ANALYZE cpt_rules.ptp_edit_loaded"
read -r LOOKUP_MS FOUND < <(q <<'SQL'
CREATE TEMP TABLE pairs AS
SELECT CASE WHEN random() < 0.5 THEN column1 ELSE column2 END AS a,
	   CASE WHEN random() < 0.5 THEN column2 ELSE column1 END AS b
  FROM cpt_rules.ptp_edit WHERE random() < 0.005 LIMIT 10000;
SELECT count(*) FROM pairs p, cpt_rules.ptp(p.a, p.b, '2026-08-01') x \gset
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT count(*) AS found FROM pairs p, cpt_rules.ptp(p.a, p.b, '2026-08-01') x \gset
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric * 1000 / (SELECT count(*) FROM pairs), 4), :found;
SQL
)
echo "  $LOOKUP_MS ms a pair ($FOUND edits in force found)"

echo
echo "== Summary"
echo "PTP quarter of $RECORDS records: recipe / plain COPY ${RATIO}x (target <= ${TARGET}x); $HEAP + $INDEX index; lookup $LOOKUP_MS ms a pair"
echo "run time $((SECONDS - STARTED)) s; load average at end: $(loadavg)"
awk -v v="$RATIO" -v t="$TARGET" 'BEGIN { exit !(v <= t) }' || exit 2
