#!/usr/bin/env bash
# Benchmark: a column of procedure codes as cpt_code against the same column
# as text COLLATE "C", side by side in one throwaway cluster:
#
#   COPY of the same CSV file into (id bigint, code text COLLATE "C") and
#   into (id bigint, code cpt_code); table size; CREATE INDEX on code and
#   its size; SELECT ... ORDER BY code; SELECT code, count(*) ... GROUP BY code.
#
# The codes follow a claim-line mix: mostly CPT Category I with a Zipf-like
# popularity (99213, 99214, 99203 ... at the head), some HCPCS Level II
# (G, J, A, C), a few CPT Category II and III.  The CSV is generated once by
# the server.  Every time is the median of 3 runs after an untimed warm-up,
# text and cpt_code alternating.  For information, the sort is also timed on
# the text column in the database's default collation.
#
# Usage: test/bench/type_vs_text.sh [ROWS]
#   ROWS, or BENCH_ROWS in the environment: codes to load (default 10000000)
#   BENCH_ROUNDS=5: timed runs of each measurement (default 3), for a busy machine
# Exit status: 0 when every target is met, 2 when one is missed.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

ROWS=${1:-${BENCH_ROWS:-10000000}}
case "$ROWS" in '' | *[!0-9]*) echo "ROWS must be a number" >&2; exit 1 ;; esac
[ "$ROWS" -ge 10000 ] || { echo "ROWS must be at least 10000" >&2; exit 1; }
ROUNDS=${BENCH_ROUNDS:-3}
case "$ROUNDS" in '' | *[!0-9]* | 0) echo "BENCH_ROUNDS must be a positive number" >&2; exit 1 ;; esac
SEED=0.2026

# Targets for the ratio cpt_code / text.
declare -A TARGET=([copy]=1.0 [table]=0.75 [index]=0.75 [sort]=1.0 [group]=1.0)

# A table is ~44 bytes a row.  A sequential scan of a table larger than a
# quarter of shared_buffers goes through a small ring of buffers and rereads
# the kernel's cache every time; size shared_buffers so that neither table
# does, and both tables and their indexes stay cached.
sb_mb=$(( (ROWS * 200 / 1000000 + 127) / 128 * 128 ))
[ "$sb_mb" -ge 256 ] || sb_mb=256

started=$SECONDS
ensure_packages "${BASE_PACKAGES[@]}"
build_and_install
# autovacuum off: it would wake up on a freshly loaded table while the other
# one is being timed.  Checkpoints happen only where the script asks for one,
# never in the middle of a timed statement.  jit off: compiling expressions
# for a 10M-row plan adds a variable cost unrelated to the data type.
start_cluster "shared_buffers = ${sb_mb}MB" "work_mem = '256MB'" "maintenance_work_mem = '1GB'" \
	"max_parallel_workers_per_gather = 0" "max_parallel_maintenance_workers = 0" \
	"jit = off" "autovacuum = off" "max_wal_size = '16GB'" "checkpoint_timeout = '1h'"

export LC_ALL=C
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)
CSV=$PGTMP/codes.csv

# ---------------------------------------------------------------- data ---
# Each code set gets a share of the lines; within a set, the code of
# popularity rank k has weight 1/k.  The listed codes are the head of each
# set, most common first (office visits, venipuncture, lab panels, imaging,
# therapy; drug and ambulance codes; quality measures; emerging technology);
# random valid codes make up the long tail.  A line draws one of ~1M slots,
# each code holding slots in proportion to its weight.
echo "generating $ROWS codes ..."
gen_started=$SECONDS
"${PSQL[@]}" -v rows="$ROWS" -v seed="$SEED" -v csv="$CSV" <<'SQL' >/dev/null
CREATE EXTENSION cpt_rules;
SELECT setseed(:seed);

CREATE TABLE code_set_share (code_set text PRIMARY KEY, share float8 NOT NULL, head text[] NOT NULL);
INSERT INTO code_set_share VALUES
	('CPT Category I', 0.86, '{99213,99214,99203,36415,99212,99204,85025,80053,99215,80061,
		93000,99232,97110,83036,84443,99233,81001,71046,97140,99283,99284,96372,99202,99211,
		90471,97530,99285,80048,85610,87086,99231,99222,99238,20610,11721,77067,74177,70450,
		73721,72148,45380,43239,66984,88305,93306,82306,84153,99396,99395,90686,92014,92012,
		99308,99309,97112,90834,90837,99205,99223,99239}'),
	('HCPCS Level II', 0.12, '{G0463,J1100,G0008,J3420,G2211,A0425,A0427,J0696,J1885,G0439,
		J3301,J2001,C9803,A4253,J0897,G0009,J1030,C1776,A0429,G0438}'),
	('CPT Category II', 0.015, '{1036F,3074F,3078F,1159F,1160F,3008F,4004F,1125F,3044F,2022F}'),
	('CPT Category III', 0.005, '{0591T,0592T,0446T,0640T,0042T,0232T}');

CREATE TABLE catalogue (code text PRIMARY KEY, code_set text NOT NULL, rank int NOT NULL);
INSERT INTO catalogue
SELECT h.code, s.code_set, h.rank
  FROM code_set_share s, unnest(s.head) WITH ORDINALITY h(code, rank);

-- The tail ranks are shuffled: popularity has nothing to do with the
-- code's value, so neither does the physical order of the generated lines.
WITH draw(code_set, code) AS (
	SELECT 'CPT Category I', lpad((100 + floor(random() * 99500))::int::text, 5, '0')
	  FROM generate_series(1, 6000)
	UNION ALL
	SELECT 'HCPCS Level II', (ARRAY['G', 'G', 'J', 'J', 'A', 'C'])[1 + floor(random() * 6)::int]
			|| lpad(floor(random() * 10000)::int::text, 4, '0')
	  FROM generate_series(1, 2000)
	UNION ALL
	SELECT 'CPT Category II', lpad((1 + floor(random() * 9000))::int::text, 4, '0') || 'F'
	  FROM generate_series(1, 300)
	UNION ALL
	SELECT 'CPT Category III', lpad((42 + floor(random() * 900))::int::text, 4, '0') || 'T'
	  FROM generate_series(1, 150)
), tail AS (
	SELECT DISTINCT ON (code) code_set, code FROM draw
	 WHERE code NOT IN (SELECT code FROM catalogue)
	 ORDER BY code
)
INSERT INTO catalogue
SELECT t.code, t.code_set,
	   cardinality(s.head) + row_number() OVER (PARTITION BY t.code_set ORDER BY random())
  FROM tail t JOIN code_set_share s USING (code_set);

-- every generated code must be one the type accepts, in the code set meant
SELECT 1 / (count(*) = 0)::int AS all_valid FROM catalogue
 WHERE NOT cpt_code_valid(code) OR cpt_code_set(code::cpt_code) <> code_set;

CREATE TABLE slot AS
WITH weighted AS (
	SELECT c.code, c.code_set, c.rank,
		   s.share / c.rank / sum(1.0 / c.rank) OVER (PARTITION BY c.code_set) AS weight
	  FROM catalogue c JOIN code_set_share s USING (code_set)
)
SELECT (row_number() OVER (ORDER BY w.code_set, w.rank, k) - 1)::int AS slot, w.code
  FROM weighted w, generate_series(1, greatest(1, round(w.weight * 1000000))::int) k;
ANALYZE slot;
SELECT count(*) AS nslots FROM slot \gset

-- OFFSET 0 keeps the draw in the subquery: one random slot per line, taken
-- before the join.
COPY (
	SELECT r.id, s.code
	  FROM (SELECT g AS id, floor(random() * :nslots)::int AS slot
			  FROM generate_series(1, :rows) g OFFSET 0) r
	  JOIN slot s USING (slot)
	 ORDER BY r.id
) TO :'csv' WITH (FORMAT csv);

CREATE TABLE lines_text (id bigint NOT NULL, code text COLLATE "C" NOT NULL);
CREATE TABLE lines_cpt_code (id bigint NOT NULL, code cpt_code NOT NULL);
SQL
echo "generated in $((SECONDS - gen_started)) s"

# --------------------------------------------------------------- timing ---
# timed SETUP STATEMENT: SETUP untimed, then STATEMENT, in one new session;
# prints the milliseconds of STATEMENT as the client sees them.
timed() {
	"${PSQL[@]}" <<SQL | awk '/^Time: / { t = $2 } END { if (t == "") exit 1; print t }'
$1
\timing on
$2;
SQL
}

median() {
	printf '%s\n' "$@" | sort -g |
		awk '{ a[NR] = $1 } END { print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

declare -A SETUP STMT RUNS MED
# measure NAME VARIANT...: a warm-up round, then ROUNDS rounds, each starting
# one variant further so that no variant always runs first.
measure() {
	local m=$1; shift
	local variants=("$@") n=$# r i v t
	echo "timing $m: ${variants[*]} ..."
	for ((r = 0; r <= ROUNDS; r++)); do
		for ((i = 0; i < n; i++)); do
			v=${variants[(i + r) % n]}
			t=$(timed "${SETUP[$m.$v]}" "${STMT[$m.$v]}")
			[ "$r" -eq 0 ] || RUNS[$m.$v]+=" $t"
		done
	done
	for v in "${variants[@]}"; do
		# shellcheck disable=SC2086
		MED[$m.$v]=$(median ${RUNS[$m.$v]})
	done
}

table_of() { [ "$1" = cpt_code ] && echo lines_cpt_code || echo lines_text; }

for v in text cpt_code; do
	t=$(table_of $v)
	# a new relation file each time and a clean checkpoint state, as for a first load
	SETUP[copy.$v]="TRUNCATE $t; CHECKPOINT;"
	STMT[copy.$v]="COPY $t FROM '$CSV' WITH (FORMAT csv)"
done
measure copy text cpt_code

"${PSQL[@]}" <<SQL >/dev/null
VACUUM ANALYZE lines_text;
VACUUM ANALYZE lines_cpt_code;
SELECT 1 / ((SELECT count(*) FROM lines_text) = $ROWS AND (SELECT count(*) FROM lines_cpt_code) = $ROWS)::int;
SQL

for v in text cpt_code; do
	t=$(table_of $v)
	SETUP[index.$v]="SET client_min_messages = warning; DROP INDEX IF EXISTS ${t}_code; CHECKPOINT;"
	STMT[index.$v]="CREATE INDEX ${t}_code ON $t (code)"
done
measure index text cpt_code

# With an index on code the planner could read it in order instead of
# sorting or hashing; what is measured here is the sort and the aggregation.
NO_INDEX="SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off;"
# OFFSET past the last row: the sort runs to completion and no row is sent,
# so the client and the output functions stay out of the measurement.
for v in text cpt_code; do
	t=$(table_of $v)
	SETUP[sort.$v]=$NO_INDEX
	STMT[sort.$v]="SELECT code FROM $t ORDER BY code OFFSET $ROWS"
	SETUP[group.$v]=$NO_INDEX
	STMT[group.$v]="SELECT code, count(*) FROM $t GROUP BY code OFFSET $ROWS"
done
SETUP[sort.text_default]=$NO_INDEX
STMT[sort.text_default]="SELECT code FROM lines_text ORDER BY code COLLATE \"default\" OFFSET $ROWS"
measure sort text cpt_code text_default
measure group text cpt_code

# ---------------------------------------------------------------- facts ---
# Sizes, the mix actually loaded, and checks that both columns hold the same
# codes in the same order, so the timings compare like with like.
IFS='|' read -r TABLE_TEXT TABLE_CODE INDEX_TEXT INDEX_CODE NDISTINCT SAME_ORDER SAME_GROUPS \
	PGVER COLLATION <<<"$("${PSQL[@]}" <<'SQL'
SELECT pg_table_size('lines_text'), pg_table_size('lines_cpt_code'),
	   pg_relation_size('lines_text_code'), pg_relation_size('lines_cpt_code_code'),
	   (SELECT count(DISTINCT code) FROM lines_cpt_code),
	   (SELECT array_agg(code ORDER BY code) FROM (SELECT DISTINCT code FROM lines_text) a)
		 = (SELECT array_agg(code::text COLLATE "C" ORDER BY code) FROM (SELECT DISTINCT code FROM lines_cpt_code) b),
	   NOT EXISTS (SELECT FROM (SELECT code, count(*) FROM lines_text GROUP BY code) a
					 FULL JOIN (SELECT code::text COLLATE "C" AS code, count(*) FROM lines_cpt_code GROUP BY code) b
						  USING (code)
					WHERE a.count IS DISTINCT FROM b.count),
	   current_setting('server_version'),
	   (SELECT datcollate FROM pg_database WHERE datname = current_database());
SQL
)"
MIX=$("${PSQL[@]}" <<'SQL'
SELECT string_agg(format('%s %s%%', set, to_char(100.0 * n / sum, 'FM990.0')), ', ' ORDER BY n DESC)
  FROM (SELECT cpt_code_set(code) AS set, count(*) AS n, sum(count(*)) OVER () AS sum
		  FROM lines_cpt_code GROUP BY 1) s;
SQL
)
TOP=$("${PSQL[@]}" <<'SQL'
SELECT string_agg(format('%s %s%%', code, to_char(100.0 * n / sum, 'FM990.0')), ', ' ORDER BY n DESC)
  FROM (SELECT code, count(*) AS n, sum(count(*)) OVER () AS sum
		  FROM lines_cpt_code GROUP BY code ORDER BY n DESC LIMIT 8) s;
SQL
)
# How much of the text index's size is btree deduplication of repeated keys.
INDEX_TEXT_NODEDUP=$("${PSQL[@]}" <<'SQL'
CREATE INDEX lines_text_code_nodedup ON lines_text (code) WITH (deduplicate_items = off);
SELECT pg_relation_size('lines_text_code_nodedup');
DROP INDEX lines_text_code_nodedup;
SQL
)

# One more run of each sort and aggregation under EXPLAIN, for the method the
# executor chose; the timings above do not include it.
plan_notes() {
	"${PSQL[@]}" <<SQL | awk '
		/(Sort|HashAggregate|GroupAggregate)  *\(/ && !node { node = $0; sub(/^[ ->]*/, "", node); sub(/ *\(.*/, "", node) }
		/Sort Method:|Batches:/ { line = $0; sub(/^ */, "", line); notes = notes "; " line }
		/Buffers:/ && !buffers { buffers = $0; sub(/^ */, "", buffers) }
		END { print node notes "; " buffers " (whole plan)" }'
$NO_INDEX
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, COSTS OFF) $1;
SQL
}

# ---------------------------------------------------------------- report ---
fmt_int() { printf '%s' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
missed=0
# spread MEASUREMENT: the larger, over text and cpt_code, of slowest run /
# fastest run - 1; a busy machine shows here before it shows in a ratio.
spread() {
	printf '%s\n' "${RUNS[$1.text]}" "${RUNS[$1.cpt_code]}" | awk '{
		lo = hi = $1; for (i = 2; i <= NF; i++) { if ($i < lo) lo = $i; if ($i > hi) hi = $i }
		if (hi / lo - 1 > s) s = hi / lo - 1 } END { printf "%.0f%%", 100 * s }'
}
LINE='%-40s %10s %10s %7s %8s  %-6s %s\n'
row() {	# row LABEL TEXT CPT_CODE TARGET|- [SPREAD]
	local label=$1 a=$2 b=$3 target=$4 ratio result
	ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
	if [ "$target" = - ]; then
		result=info
	elif awk -v r="$ratio" -v t="$target" 'BEGIN { exit !(r <= t) }'; then
		result=PASS
	else
		result=MISS; missed=$((missed + 1))
	fi
	[ "$target" = - ] || target="<= $target"
	# shellcheck disable=SC2059
	printf "$LINE" "$label" "$(printf %.1f "$a")" "$(printf %.1f "$b")" "$ratio" "$target" "$result" "${5:-}" |
		sed 's/ *$//'
}
runs() { printf '  %-28s%s\n' "$1" "$2"; }

cat <<EOF

cpt_code vs text (PostgreSQL $PGVER, $(nproc) CPUs)
data:    $(fmt_int "$ROWS") codes, $(fmt_int "$NDISTINCT") distinct: $MIX
         most common: $TOP
setup:   text column COLLATE "C" (database default: $COLLATION); shared_buffers ${sb_mb}MB, work_mem 256MB,
         maintenance_work_mem 1GB, no parallel workers, jit off, autovacuum off, fsync off
method:  times are medians of $ROUNDS runs (after a warm-up), text and cpt_code alternating, each in a
         new session; COPY after TRUNCATE and CHECKPOINT; CREATE INDEX after DROP INDEX and CHECKPOINT;
         sizes after VACUUM ANALYZE; sort and group with index scans disabled
check:   same codes in the same order: $([ "$SAME_ORDER" = t ] && echo yes || echo NO); same groups and counts: $([ "$SAME_GROUPS" = t ] && echo yes || echo NO)

EOF
# shellcheck disable=SC2059
printf "$LINE" measurement text cpt_code ratio target result spread
# shellcheck disable=SC2059
printf "$LINE" "$(printf -- '-%.0s' {1..40})" ---------- ---------- ------- -------- ------ ------
row "COPY in (ms)" "${MED[copy.text]}" "${MED[copy.cpt_code]}" "${TARGET[copy]}" "$(spread copy)"
row "table size, pg_table_size (MB)" "$(mb "$TABLE_TEXT")" "$(mb "$TABLE_CODE")" "${TARGET[table]}"
row "btree index size on code (MB)" "$(mb "$INDEX_TEXT")" "$(mb "$INDEX_CODE")" "${TARGET[index]}"
row "CREATE INDEX on code (ms)" "${MED[index.text]}" "${MED[index.cpt_code]}" - "$(spread index)"
row "ORDER BY code (ms)" "${MED[sort.text]}" "${MED[sort.cpt_code]}" "${TARGET[sort]}" "$(spread sort)"
row "GROUP BY code, count(*) (ms)" "${MED[group.text]}" "${MED[group.cpt_code]}" "${TARGET[group]}" "$(spread group)"
echo "(ratio = cpt_code / text; spread = slowest / fastest run - 1, the larger of the two variants:"
echo " a timing with a spread of more than a few percent was taken on a busy machine)"
echo
echo "for information:"
row "ORDER BY code, text in $COLLATION (ms)" "${MED[sort.text_default]}" "${MED[sort.cpt_code]}" -
row "index size, text without dedup (MB)" "$(mb "$INDEX_TEXT_NODEDUP")" "$(mb "$INDEX_CODE")" -
awk -v n="$ROWS" -v a="$TABLE_TEXT" -v b="$TABLE_CODE" -v c="$INDEX_TEXT" -v d="$INDEX_CODE" 'BEGIN {
	printf "bytes per row: table text %.1f, cpt_code %.1f; index text %.1f, cpt_code %.1f\n", a / n, b / n, c / n, d / n }'
echo
echo "runs (ms, in order of execution within each variant):"
runs "COPY text" "${RUNS[copy.text]}"
runs "COPY cpt_code" "${RUNS[copy.cpt_code]}"
runs "CREATE INDEX text" "${RUNS[index.text]}"
runs "CREATE INDEX cpt_code" "${RUNS[index.cpt_code]}"
runs "ORDER BY text" "${RUNS[sort.text]}"
runs "ORDER BY cpt_code" "${RUNS[sort.cpt_code]}"
runs "ORDER BY text $COLLATION" "${RUNS[sort.text_default]}"
runs "GROUP BY text" "${RUNS[group.text]}"
runs "GROUP BY cpt_code" "${RUNS[group.cpt_code]}"
echo
echo "plans (one more run under EXPLAIN ANALYZE; shared read=N: blocks not found in shared_buffers):"
runs "ORDER BY text" " $(plan_notes "${STMT[sort.text]}")"
runs "ORDER BY cpt_code" " $(plan_notes "${STMT[sort.cpt_code]}")"
runs "ORDER BY text $COLLATION" " $(plan_notes "${STMT[sort.text_default]}")"
runs "GROUP BY text" " $(plan_notes "${STMT[group.text]}")"
runs "GROUP BY cpt_code" " $(plan_notes "${STMT[group.cpt_code]}")"
echo
if [ "$SAME_ORDER" != t ] || [ "$SAME_GROUPS" != t ]; then
	echo "the two columns differ" >&2; exit 1
fi
echo "$([ "$missed" -eq 0 ] && echo "all targets met" || echo "$missed target(s) missed"); run time $((SECONDS - started)) s"
[ "$missed" -eq 0 ] || exit 2
