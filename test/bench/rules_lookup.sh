#!/usr/bin/env bash
# Benchmark: what do the rule lookups cost over a plain cpt_code comparison?
#
# Builds a claim-lines table with a realistic code mix, then times, side by
# side in one session and interleaved, each 5 times (median):
#   lines: SELECT count(*) FROM lines WHERE is_addon(code)              vs code = '20933'
#          SELECT count(*) FROM lines WHERE is_addon(code, service_date) vs code = '20933'
#   pairs: the (add-on, primary) pairs of a sample of claims, materialized:
#          count(*) WHERE valid_pairing(addon, prim [, service_date])
#          vs addon = '20933' AND prim = '27365'            (function cost only)
#   join:  the same pairs produced by a self-join of the sample, filtered
#          above the join                                   (function + join)
# Each timed query seq-scans tables held entirely in shared_buffers (checked
# with EXPLAIN (ANALYZE, BUFFERS)), single process, JIT off.  For information
# it also reports each group with a trivial WHERE clause (IS NULL, no
# function call: the floor) and the lines queries with parallel workers.
#
# Usage: test/bench/rules_lookup.sh
#   BENCH_ROWS=1000000   claim lines (default 10,000,000, ~2M claims of ~5 lines)
#   BENCH_REPS=5         timed runs of each query (median reported)
#   BENCH_SHARED_BUFFERS=1GB   override the computed size
#   BENCH_TARGET=1.3     ratio to the baseline that counts as PASS
# Exit status: 0 when every target is met, 2 when one is missed.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

ROWS=${BENCH_ROWS:-10000000}
REPS=${BENCH_REPS:-5}
TARGET=${BENCH_TARGET:-1.3}
SAMPLE_EVERY=10        # every 10th claim goes into the self-join sample
SEED=0.2026
case "$ROWS" in '' | *[!0-9]*) echo "BENCH_ROWS must be a number" >&2; exit 1 ;; esac
[ "$ROWS" -ge 10000 ] || { echo "BENCH_ROWS must be at least 10000" >&2; exit 1; }

# lines ~44 bytes a row, the sample 1/10 of that, the pairs table ~23 bytes
# per line of the whole table: size shared_buffers to hold all three.
need_mb=$(( ROWS * 72 / 1000000 * 13 / 10 ))
sb_mb=$(( (need_mb + 127) / 128 * 128 ))
[ "$sb_mb" -ge 256 ] || sb_mb=256
SHARED_BUFFERS=${BENCH_SHARED_BUFFERS:-${sb_mb}MB}

started=$SECONDS
ensure_packages "${BASE_PACKAGES[@]}"
build_and_install
start_cluster "shared_buffers = $SHARED_BUFFERS" "jit = off" \
	"max_parallel_workers_per_gather = 0" "work_mem = '256MB'" \
	"autovacuum = off" "wal_level = minimal" "max_wal_senders = 0" \
	"max_wal_size = '8GB'" "checkpoint_timeout = '1h'"

export LC_ALL=C
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)
WORK=$PGTMP/bench
mkdir -p "$WORK"

# ---------------------------------------------------------------- data ---
# Ordinary codes by popularity (rank 1 most common); a line draws rank k with
# probability ~ 1/k (log-uniform rank: Zipf, s = 1).
POOL='{99213,99214,36415,85025,80053,99203,99212,80061,83036,84443,93000,71046,
99204,99215,G0463,81001,96372,97110,87086,99232,90471,97140,80048,85610,99233,
82306,84153,J1100,73030,72100,77067,74177,70450,J3420,90686,G0008,99396,99395,
99283,99284,99285,93306,72148,97530,97112,99231,99238,87635,86580,84439,82947,
80076,3074F,1036F,J1885,J2405,A0425,A0427,99211,99202,20610,11721,17110,92014,
92004,76700,78452,45378,43239,66984}'
# Established-patient visits that carry G2211 (2024 on).
EM='{99213,99213,99213,99214,99214,99215}'
# Procedure claims: a primary and its add-on, weighted by repetition.
PAIR_PRIM='{99291,99291,99291,11042,11042,11042,64483,64483,99215,99215,99205,22612,22612,27365,76811,15271,11044}'
PAIR_ADDON='{99292,99292,99292,11045,11045,11045,64484,64484,G2212,G2212,99417,22614,22840,20933,76812,15272,11047}'
NCLAIMS=$(( ROWS * 21 / 100 + 100 ))   # mean 5 lines a claim, 5% to spare

echo "generating $ROWS claim lines ..."
"${PSQL[@]}" -v rows="$ROWS" -v nclaims="$NCLAIMS" -v seed="$SEED" -v every="$SAMPLE_EVERY" \
	-v pool="$POOL" -v em="$EM" -v pair_prim="$PAIR_PRIM" -v pair_addon="$PAIR_ADDON" <<'SQL' >/dev/null
CREATE EXTENSION cpt_rules;
CREATE EXTENSION pg_prewarm;

-- the mix must mean what it says (psql does not expand variables in $$)
SELECT set_config('bench.ordinary', (:'pool'::cpt_code[] || :'em'::cpt_code[] || :'pair_prim'::cpt_code[])::text, false),
	   set_config('bench.pair_addon', :'pair_addon', false), set_config('bench.pair_prim', :'pair_prim', false);
DO $$ BEGIN
	IF EXISTS (SELECT FROM unnest(current_setting('bench.ordinary')::cpt_code[]) c WHERE is_addon(c)) THEN
		RAISE EXCEPTION 'an ordinary or primary code of the benchmark is an add-on code';
	END IF;
	IF EXISTS (SELECT FROM unnest(current_setting('bench.pair_addon')::cpt_code[],
								  current_setting('bench.pair_prim')::cpt_code[]) p(a, pr)
			    WHERE NOT valid_pairing(a, pr, '2022-01-01')) THEN
		RAISE EXCEPTION 'an add-on pair of the benchmark is not eligible';
	END IF;
END $$;

SELECT setseed(:seed);
BEGIN;
CREATE TABLE lines (claim_id bigint, service_date date, code cpt_code);
-- A claim has 1 to 9 lines (mean 5) on one date in 2022-2025.  About 6% of
-- claims are office visits with G2211 (from 2024), 11% procedures with a
-- primary and its add-on (30% with a second unit of the add-on), 0.5% an
-- add-on without its primary; all other lines are ordinary codes.
INSERT INTO lines
WITH claim AS MATERIALIZED (
	SELECT c::bigint AS claim_id,
		   1 + floor(random() * 9)::int AS nlines,
		   date '2022-01-01' + floor(random() * 1461)::int AS service_date,
		   random() AS kind,
		   1 + floor(random() * cardinality(:'pair_prim'::cpt_code[]))::int AS pair,
		   (:'em'::cpt_code[])[1 + floor(random() * cardinality(:'em'::cpt_code[]))::int] AS em
	  FROM generate_series(1, :nclaims) c
)
SELECT c.claim_id, c.service_date,
	   CASE
		WHEN c.kind < 0.12 AND c.service_date >= '2024-01-01' AND k = 1 THEN c.em
		WHEN c.kind < 0.12 AND c.service_date >= '2024-01-01' AND k = 2 THEN 'G2211'
		WHEN c.kind >= 0.12 AND c.kind < 0.23 AND k = 1 THEN (:'pair_prim'::cpt_code[])[c.pair]
		WHEN c.kind >= 0.12 AND c.kind < 0.23 AND k = 2 THEN (:'pair_addon'::cpt_code[])[c.pair]
		WHEN c.kind >= 0.12 AND c.kind < 0.23 AND k = 3 AND random() < 0.3
			THEN (:'pair_addon'::cpt_code[])[c.pair]
		WHEN c.kind >= 0.23 AND c.kind < 0.235 AND k = 1 THEN (:'pair_addon'::cpt_code[])[c.pair]
		ELSE (:'pool'::cpt_code[])[floor(exp(random() * ln(cardinality(:'pool'::cpt_code[]) + 1)))::int]
	   END
  FROM claim c CROSS JOIN LATERAL generate_series(1, c.nlines) k
 LIMIT :rows;
COMMIT;

-- Sample for valid_pairing: every 10th claim, and all ordered pairs of
-- different codes within each sampled claim.
CREATE TABLE sample_lines AS SELECT * FROM lines WHERE claim_id % :every = 0;
CREATE TABLE pairs AS
	SELECT a.code AS addon, b.code AS prim, a.service_date
	  FROM sample_lines a JOIN sample_lines b ON a.claim_id = b.claim_id AND a.code <> b.code;
VACUUM (FREEZE, ANALYZE) lines, sample_lines, pairs;
CHECKPOINT;
SELECT pg_prewarm('lines'), pg_prewarm('sample_lines'), pg_prewarm('pairs');
SQL

IFS='|' read -r NLINES NCL ADDON_ANY ADDON_DATED NSAMPLE NSCLAIMS NPAIRS NVALID NBASE_PAIRS \
	LINES_MB SAMPLE_MB PAIRS_MB PGVER <<<"$("${PSQL[@]}" <<'SQL'
SELECT (SELECT count(*) FROM lines), (SELECT count(DISTINCT claim_id) FROM lines),
	   (SELECT count(*) FILTER (WHERE is_addon(code)) FROM lines),
	   (SELECT count(*) FILTER (WHERE is_addon(code, service_date)) FROM lines),
	   (SELECT count(*) FROM sample_lines), (SELECT count(DISTINCT claim_id) FROM sample_lines),
	   (SELECT count(*) FROM pairs),
	   (SELECT count(*) FILTER (WHERE valid_pairing(addon, prim)) FROM pairs),
	   (SELECT count(*) FILTER (WHERE addon = '20933' AND prim = '27365') FROM pairs),
	   pg_relation_size('lines') / 1048576, pg_relation_size('sample_lines') / 1048576,
	   pg_relation_size('pairs') / 1048576, current_setting('server_version');
SQL
)"
[ "$NLINES" -eq "$ROWS" ] || { echo "generated $NLINES lines, not $ROWS" >&2; exit 1; }

# ------------------------------------------------------------- queries ---
# id | label | rows the WHERE clause is evaluated on | baseline id | floor id | target
JOIN_FROM="(SELECT a.code AS addon, b.code AS prim, a.service_date
	FROM sample_lines a JOIN sample_lines b ON a.claim_id = b.claim_id AND a.code <> b.code
	OFFSET 0) p"    # OFFSET 0: the filter runs above the join, once per pair
declare -A SQL
SQL[A0]="SELECT count(*) FROM lines WHERE code = '20933'"
SQL[A1]="SELECT count(*) FROM lines WHERE is_addon(code)"
SQL[A2]="SELECT count(*) FROM lines WHERE is_addon(code, service_date)"
SQL[Af]="SELECT count(*) FROM lines WHERE code IS NULL"
SQL[B0]="SELECT count(*) FROM pairs WHERE addon = '20933' AND prim = '27365'"
SQL[B1]="SELECT count(*) FROM pairs WHERE valid_pairing(addon, prim)"
SQL[B2]="SELECT count(*) FROM pairs WHERE valid_pairing(addon, prim, service_date)"
SQL[Bf]="SELECT count(*) FROM pairs WHERE addon IS NULL"
SQL[C0]="SELECT count(*) FROM $JOIN_FROM WHERE addon = '20933' AND prim = '27365'"
SQL[C1]="SELECT count(*) FROM $JOIN_FROM WHERE valid_pairing(addon, prim)"
SQL[Cf]="SELECT count(*) FROM $JOIN_FROM WHERE addon IS NULL"
SQL[P0]="${SQL[A0]}"
SQL[P1]="${SQL[A1]}"
SQL[P2]="${SQL[A2]}"
SPEC="A0|lines: code = '20933'  (baseline)|$NLINES|A0|Af|-
A1|lines: is_addon(code)|$NLINES|A0|Af|$TARGET
A2|lines: is_addon(code, service_date)|$NLINES|A0|Af|$TARGET
Af|lines: code IS NULL  (floor, info)|$NLINES|A0|-|-
B0|pairs: addon = '20933' AND prim = '27365'  (baseline)|$NPAIRS|B0|Bf|-
B1|pairs: valid_pairing(addon, prim)|$NPAIRS|B0|Bf|$TARGET
B2|pairs: valid_pairing(addon, prim, service_date)|$NPAIRS|B0|Bf|$TARGET
Bf|pairs: addon IS NULL  (floor, info)|$NPAIRS|B0|-|-
C0|join: addon = '20933' AND prim = '27365'  (baseline)|$NPAIRS|C0|Cf|-
C1|join: valid_pairing(addon, prim)|$NPAIRS|C0|Cf|$TARGET
Cf|join: addon IS NULL  (floor, info)|$NPAIRS|C0|-|-
P0|parallel lines: code = '20933'  (baseline)|$NLINES|P0|-|-
P1|parallel lines: is_addon(code)|$NLINES|P0|-|info
P2|parallel lines: is_addon(code, service_date)|$NLINES|P0|-|info"
SERIAL=(A0 A1 A2 Af B0 B1 B2 Bf C0 C1 Cf)
PARALLEL=(P0 P1 P2)

# One session: a warm-up run of every query, then REPS rounds, alternately in
# forward and reverse order so that a drift in machine speed cancels out.
# Around each timed query the backend reads its own on-CPU time (Linux
# schedstat, nanoseconds): unlike the wall clock it does not count time spent
# waiting for a CPU, which matters when other work shares the machine.
CPU_NOW="SELECT 'CPU ' || coalesce(split_part(pg_read_file('/proc/self/schedstat', 0, 64, true), ' ', 1), '-');"
emit_rounds() {
	local ids=("$@") r i id n=${#ids[@]}
	for ((i = 0; i < n; i++)); do echo "\\echo WARMUP ${ids[i]}"; echo "${SQL[${ids[i]}]};"; done
	for ((r = 1; r <= REPS; r++)); do
		for ((i = 0; i < n; i++)); do
			id=${ids[i]}
			((r % 2 == 0)) && id=${ids[n - 1 - i]}
			echo "\\echo RUN $id"
			echo "$CPU_NOW"
			echo "\\timing on"
			echo "${SQL[$id]};"
			echo "\\timing off"
			echo "$CPU_NOW"
		done
	done
}
{
	emit_rounds "${SERIAL[@]}"
	echo "SET max_parallel_workers_per_gather = 2;"
	emit_rounds "${PARALLEL[@]}"
} >"$WORK/timed.sql"
echo "timing: $((${#SERIAL[@]} + ${#PARALLEL[@]})) queries, a warm-up and $REPS runs each ..."
read -r LOAD_BEFORE _ </proc/loadavg || LOAD_BEFORE=?
"${PSQL[@]}" -f "$WORK/timed.sql" >"$WORK/timed.out"
read -r LOAD_AFTER _ </proc/loadavg || LOAD_AFTER=?

# Fairness checks, after the timing: every query reads only shared buffers
# (no block read from the OS, no temporary file), the parallel ones really
# use workers, and the join filters run above the join.
bufcheck="every timed query found all its blocks in shared_buffers, no temp files"
for id in "${SERIAL[@]}" "${PARALLEL[@]}"; do
	{
		echo "SELECT is_addon('20933');"    # the rules cache is built before EXPLAIN
		[[ $id == P* ]] && echo "SET max_parallel_workers_per_gather = 2;"
		echo "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, COSTS OFF) ${SQL[$id]};"
	} | "${PSQL[@]}" | sed '/^Planning/,$d' >"$WORK/plan.$id"
	if grep -Eq 'read=|temp ' "$WORK/plan.$id"; then
		bufcheck="WARNING: $id read blocks outside shared_buffers: $(grep -Eo '(read|written)=[0-9]+' "$WORK/plan.$id" | sort -u | tr '\n' ' ')"
		break
	fi
done
workers=$(grep -Eo 'Workers Launched: [0-9]+' "$WORK/plan.P1" | head -1 | grep -Eo '[0-9]+$' || echo 0)
if awk '/Subquery Scan/ { getline; if (/Filter:/) ok = 1 } END { exit !ok }' "$WORK/plan.C0" &&
	! grep -A1 'Seq Scan' "$WORK/plan.C0" | grep -q 'Filter:'; then
	joincheck="filters evaluated once per joined pair, above the join"
else
	joincheck="WARNING: the join baseline's filter was pushed into a scan"
fi

# -------------------------------------------------------------- report ---
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f%%", b ? 100 * a / b : 0 }'; }
cat <<EOF

cpt_rules lookup benchmark (PostgreSQL $PGVER, $(nproc) CPUs)
lines:  $NLINES rows, $NCL claims, ${LINES_MB} MB; add-on lines $ADDON_ANY ($(pct "$ADDON_ANY" "$NLINES")), in force on the line's date $ADDON_DATED ($(pct "$ADDON_DATED" "$NLINES"))
pairs:  $NPAIRS ordered pairs of different codes within the $NSCLAIMS claims ($NSAMPLE lines) of a 1/$SAMPLE_EVERY sample, ${PAIRS_MB} MB; valid_pairing true for $NVALID, 20933+27365 $NBASE_PAIRS
setup:  shared_buffers $SHARED_BUFFERS (tables $((LINES_MB + SAMPLE_MB + PAIRS_MB)) MB, prewarmed), jit off, work_mem 256MB, max_parallel_workers_per_gather 0 (2 for "parallel")
check:  $bufcheck; join: $joincheck; parallel runs launched $workers workers
timing: $REPS runs of each query after a warm-up, interleaved; median wall-clock time (as psql measures it);
        ratio = median / median of the group's baseline; PASS when ratio <= target
        cpu ms = median on-CPU time of the backend (excludes waiting for a CPU; leader only, so "-" in parallel)
        ns/row = (cpu median - baseline cpu median) / rows: the extra cost of one call over the baseline's comparison
        floor = (cpu median - floor cpu median) / rows: what the comparison or call costs, ns a row, over the same
                scan, join and column reads with a trivial test that no row passes (IS NULL: no function call)
        load average (1 min) before / after timing: $LOAD_BEFORE / $LOAD_AFTER (other work on this machine widens the spread)

EOF
awk -F'|' -v spec="$SPEC" '
	BEGIN {
		n = split(spec, lines, "\n")
		for (i = 1; i <= n; i++) {
			split(lines[i], f, "|"); id = f[1]; order[i] = id
			label[id] = f[2]; rows[id] = f[3]; base[id] = f[4]; flr[id] = f[5]; target[id] = f[6]
		}
		nq = n
	}
	/^WARMUP / { cur = ""; next }
	/^RUN / { cur = substr($0, 5); cpu0 = ""; next }
	/^CPU / && cur != "" {
		if (cpu0 == "") cpu0 = $0
		else {
			a = substr(cpu0, 5); b = substr($0, 5)
			if (a != "-" && b != "-") { ncpu[cur]++; c[cur, ncpu[cur]] = (b - a) / 1e6 }
			cur = ""
		}
		next
	}
	/^Time: / && cur != "" { t = substr($0, 7); sub(/ ms.*/, "", t); cnt[cur]++; v[cur, cnt[cur]] = t + 0 }
	function median(arr, id, m,    k, j, tmp, a) {
		for (k = 1; k <= m; k++) a[k] = arr[id, k]
		for (k = 2; k <= m; k++) { tmp = a[k]; for (j = k - 1; j >= 1 && a[j] > tmp; j--) a[j + 1] = a[j]; a[j + 1] = tmp }
		return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	END {
		for (i = 1; i <= nq; i++) {
			id = order[i]
			if (!cnt[id]) { print "no timing for " id > "/dev/stderr"; exit 1 }
			med[id] = median(v, id, cnt[id])
			hascpu[id] = ncpu[id] == cnt[id] && substr(id, 1, 1) != "P"
			if (hascpu[id]) cmed[id] = median(c, id, ncpu[id])
		}
		fmt = "%-54s %7s %9s %6s %7s %6s %8s %6s %7s %6s\n"
		printf fmt, "query", "rows", "median ms", "ratio", "target", "result", "cpu ms", "ratio", "ns/row", "floor"
		printf fmt, "------------------------------------------------------", "-------", "---------", "------", "-------", "------", "--------", "------", "-------", "------"
		missed = 0
		for (i = 1; i <= nq; i++) {
			id = order[i]; b = base[id]
			if (i > 1 && substr(id, 1, 1) != substr(order[i - 1], 1, 1)) print ""
			ratio = med[id] / med[b]
			r = rows[id] >= 1e6 ? sprintf("%.2fM", rows[id] / 1e6) : sprintf("%.1fk", rows[id] / 1e3)
			if (target[id] == "-" || target[id] == "info") { tg = target[id]; res = "-" }
			else { tg = "<= " target[id]; res = ratio <= target[id] + 1e-9 ? "PASS" : "MISS"; if (res == "MISS") missed++ }
			cm = cr = ns = of = "-"
			if (hascpu[id] && hascpu[b]) {
				cm = sprintf("%.1f", cmed[id]); cr = sprintf("%.3f", cmed[id] / cmed[b])
				if (id != b) ns = sprintf("%+.1f", (cmed[id] - cmed[b]) * 1e6 / rows[id])
				if (flr[id] != "-" && hascpu[flr[id]]) of = sprintf("%.1f", (cmed[id] - cmed[flr[id]]) * 1e6 / rows[id])
			}
			printf fmt, label[id], r, sprintf("%.1f", med[id]), sprintf("%.3f", ratio), tg, res, cm, cr, ns, of
		}
		print ""
		print "runs, wall-clock ms (on-CPU ms), in execution order:"
		for (i = 1; i <= nq; i++) {
			id = order[i]; s = ""
			for (k = 1; k <= cnt[id]; k++)
				s = s sprintf(hascpu[id] ? " %7.1f (%6.1f)" : " %7.1f", v[id, k], c[id, k])
			printf "  %-54s%s\n", label[id], s
		}
		print ""
		print (missed ? missed " target(s) MISSED" : "all targets met")
		exit missed ? 2 : 0
	}' "$WORK/timed.out" && rc=0 || rc=$?
echo "run time: $((SECONDS - started)) s"
exit $rc
