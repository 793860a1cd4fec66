#!/usr/bin/env bash
# Cost of the add-on rule constraint, measured side by side in one run on a
# throwaway cluster with PostgreSQL's default settings:
#
#   A. generated claim lines (CSV, made once by the server itself)
#   B. COPY of 1M lines into a table that is unconstrained, has a foreign
#      key to a claims header, has a naive PL/pgSQL deferred constraint
#      trigger, or has cpt_rules attached; interleaved rounds
#   C. COPY of 100k, 1M and 10M lines, unconstrained vs cpt_rules: time,
#      overhead per claim holding an add-on, backend memory, the audit
#   D. OLTP with pgbench, one new claim per transaction, unconstrained vs
#      cpt_rules: each alone (pairs of runs, alternating), then both at once
#   E. Instructions (callgrind) of a single-user backend for a 100k-line
#      COPY and for 2,000 one-claim transactions, unconstrained vs cpt_rules
#
# Elapsed times are the measure the targets are judged on: each ratio is the
# median of the ratios of rounds, both sides of a round run back to back, so
# that slow phases of the machine fall on both.  The backend's CPU time is
# printed beside them, and part E's instruction counts, which are the same
# in every run, say what the rule itself costs.
#
# Usage: test/bench/constraint_copy.sh
# Environment:
#   BENCH_SCALE=small       10x fewer rows everywhere (and 5 s OLTP runs)
#   BENCH_OLTP_SECONDS=N    length of each pgbench run
#   BENCH_DATA_DIR=dir      keep the generated CSV files there and reuse them
#   BENCH_ROUNDS=N          rounds of parts B and C, pairs of runs of D (default 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

START_SECONDS=$SECONDS
SCALE=${BENCH_SCALE:-full}
case $SCALE in
	full) DIV=1; DEFAULT_OLTP_SECONDS=15 ;;
	small) DIV=10; DEFAULT_OLTP_SECONDS=5 ;;
	*) echo "BENCH_SCALE must be full or small" >&2; exit 2 ;;
esac
OLTP_SECONDS=${BENCH_OLTP_SECONDS:-$DEFAULT_OLTP_SECONDS}
ROUNDS=${BENCH_ROUNDS:-5}
TARGET_COPY=1.10		# cpt_rules COPY time at most this times unconstrained
TARGET_TPS=0.95			# cpt_rules TPS at least this times unconstrained

# Claims per data set; 5 lines per claim on average, 1 claim in 10 with an add-on.
CLAIMS_MAIN=$((200000 / DIV))									# 1M lines
CLAIMS_SCALING=($((20000 / DIV)) $((200000 / DIV)) $((2000000 / DIV)))	# 100k 1M 10M lines

ensure_packages "${BASE_PACKAGES[@]}" valgrind
build_and_install
start_cluster

if [ -n "${BENCH_DATA_DIR:-}" ]; then
	DATA=$BENCH_DATA_DIR
	mkdir -p "$DATA"
	trap stop_cluster EXIT
else
	DATA=$(mktemp -d)
	trap 'stop_cluster; rm -rf "$DATA"' EXIT
fi
trap 'exit 130' INT TERM

q() { psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 "$@"; }
show() { psql -X -q -P footer=off -v ON_ERROR_STOP=1 "$@"; }
human() {	# 1000000 -> 1M
	local n=$1
	if [ $((n % 1000000)) -eq 0 ]; then echo "$((n / 1000000))M"
	elif [ $((n % 1000)) -eq 0 ]; then echo "$((n / 1000))k"
	else echo "$n"; fi
}
csv_for() { echo "$DATA/claim_lines_$1.csv"; }
# other work on the machine skews timings: say how busy it was
loadavg() { local a b c rest; read -r a b c rest </proc/loadavg; echo "$a $b $c"; }

# ---------------------------------------------------------------- setup

q <<'SQL'
CREATE EXTENSION cpt_rules;
\i test/bench/setup.sql
CREATE TABLE bench_result (
	part		text NOT NULL,
	variant		text NOT NULL,
	ord			int NOT NULL,
	lines		bigint,
	run			int,
	copy_s		numeric,		-- the COPY statement
	commit_s	numeric,		-- its COMMIT: deferred checks run there
	total_s		numeric,		-- elapsed; OLTP (parts D, D2): TPS
	cpu_s		numeric,		-- CPU time of the backend
	hwm_kb		bigint,			-- backend peak resident memory
	shm_kb		bigint,			-- of which shared memory (buffers touched)
	n			bigint			-- audit: violations; OLTP: failed transactions
);
SQL

echo "cpt_rules constraint benchmark, BENCH_SCALE=$SCALE; load average at start: $(loadavg)"
q -c "SELECT version()"
show <<'SQL'
SELECT name, setting, unit FROM pg_settings
 WHERE name IN ('shared_buffers', 'work_mem', 'maintenance_work_mem', 'max_wal_size',
				'wal_level', 'fsync', 'synchronous_commit', 'max_locks_per_transaction',
				'max_parallel_workers_per_gather', 'autovacuum', 'jit')
 ORDER BY name;
SQL
echo "Server settings are PostgreSQL's defaults (fsync off, as for every throwaway cluster here)."
echo "Each benchmark table has autovacuum_enabled = off, so that no autovacuum runs during a timed"
echo "load or pgbench run; every table of a comparison has the same btree index on claim_id."

# ---------------------------------------------------------------- A. data

echo
echo "== A. Generated claim lines"
for nclaims in "$CLAIMS_MAIN" "${CLAIMS_SCALING[@]}"; do
	file=$(csv_for "$nclaims")
	[ -s "$file" ] && continue
	t0=$SECONDS
	# a fixed seed: the same file every time
	q -v nclaims="$nclaims" -v seed=0.42 -f test/bench/generate.sql >"$file.part"
	mv "$file.part" "$file"
	echo "generated $(human $((nclaims * 5))) lines in $((SECONDS - t0)) s"
done
MAIN_CSV=$(csv_for "$CLAIMS_MAIN")
echo "main data set: $(human $((CLAIMS_MAIN * 5))) lines, $(human "$CLAIMS_MAIN") claims of 1-8 lines," \
	"$(human $((CLAIMS_MAIN / 10))) claims with an add-on code and an eligible primary"

# load_timed TABLE FILE: TRUNCATE and CHECKPOINT (untimed), then COPY the
# file and COMMIT in a new session.  Prints: copy_s commit_s total_s cpu_s
# peak_kb shared_kb, cpu_s being the CPU time of the backend (user + system),
# which other work on the machine disturbs less than the elapsed time.
load_timed() {
	local tbl=$1 file=$2
	q <<SQL
TRUNCATE $tbl;
CHECKPOINT;
SELECT bench_cpu_ticks(pg_backend_pid()) AS c0 \gset
BEGIN;
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
\copy $tbl FROM '$file' WITH (FORMAT csv)
SELECT extract(epoch FROM clock_timestamp()) AS t1 \gset
COMMIT;
SELECT round((:t1 - :t0)::numeric, 3), round((extract(epoch FROM clock_timestamp()) - :t1)::numeric, 3),
	   round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3),
	   round((bench_cpu_ticks(pg_backend_pid()) - :c0) / 100.0, 2), m.peak, m.shared
  FROM bench_memory_kb(pg_backend_pid()) m;
SQL
}

# record PART VARIANT ORD LINES RUN RESULT...
record() {
	local part=$1 variant=$2 ord=$3 lines=$4 run=$5 copy_s=$6 commit_s=$7 total_s=$8 cpu_s=$9 hwm=${10} shm=${11}
	q -c "INSERT INTO bench_result (part, variant, ord, lines, run, copy_s, commit_s, total_s, cpu_s, hwm_kb, shm_kb)
		  VALUES ('$part', '$variant', $ord, $lines, $run, $copy_s, $commit_s, $total_s, $cpu_s, $hwm, $shm)"
}

# audit TABLE: prints violations seconds (after ANALYZE, untimed)
audit() {
	local tbl=$1
	q <<SQL
ANALYZE $tbl;
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT count(*) AS violations FROM cpt_rules.addon_rule_violations('$tbl', 'code', '{claim_id}', 'service_date') \gset
SELECT :violations, round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
SQL
}

# ---------------------------------------------------------------- B. COPY

echo
echo "== B. COPY of $(human $((CLAIMS_MAIN * 5))) lines: median of $ROUNDS interleaved rounds," \
	"CHECKPOINT and TRUNCATE before each (load average $(loadavg))"
q <<SQL
CREATE TABLE claims (claim_id bigint PRIMARY KEY);
INSERT INTO claims SELECT generate_series(1, $CLAIMS_MAIN);
VACUUM ANALYZE claims;

CALL bench_create_lines('lines_unconstrained');
CALL bench_create_lines('lines_fk');
CALL bench_create_lines('lines_plpgsql');
CALL bench_create_lines('lines_cpt_rules');

ALTER TABLE lines_fk ADD FOREIGN KEY (claim_id) REFERENCES claims;

-- The straightforward trigger: every inserted line queues a deferred check;
-- an add-on line needs an eligible primary in its claim.
CREATE FUNCTION lines_plpgsql_addon_check() RETURNS trigger
	LANGUAGE plpgsql
AS \$\$
BEGIN
	IF is_addon(NEW.code) THEN
		IF NOT EXISTS (SELECT 1 FROM lines_plpgsql l
						WHERE l.claim_id = NEW.claim_id
						  AND valid_pairing(NEW.code, l.code, NEW.service_date)) THEN
			RAISE EXCEPTION 'add-on code % has no eligible primary code in claim %',
				NEW.code, NEW.claim_id USING ERRCODE = 'check_violation';
		END IF;
	END IF;
	RETURN NULL;
END \$\$;
CREATE CONSTRAINT TRIGGER lines_plpgsql_addon_rule AFTER INSERT ON lines_plpgsql
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION lines_plpgsql_addon_check();

SELECT cpt_rules.enforce_addon_rule('lines_cpt_rules', code => 'code',
	group_by => '{claim_id}', service_date => 'service_date') AS attached \gset
SQL

VARIANTS=(unconstrained fk plpgsql cpt_rules)
# warm-up, untimed: file in the OS cache, server started up
load_timed lines_unconstrained "$MAIN_CSV" >/dev/null
for run in $(seq 1 $ROUNDS); do
	# round-robin, starting one further each round
	for k in 0 1 2 3; do
		i=$(((k + run - 1) % 4))
		v=${VARIANTS[$i]}
		res=$(load_timed "lines_$v" "$MAIN_CSV"); read -r c m t u h s <<<"$res"
		record B "$v" "$((i + 1))" $((CLAIMS_MAIN * 5)) "$run" "$c" "$m" "$t" "$u" "$h" "$s"
		echo "  round $run  $(printf '%-14s' "$v") ${t} s (CPU $u s)"
	done
done
res=$(audit lines_cpt_rules); read -r bad secs <<<"$res"
res=$(audit lines_unconstrained); read -r bad_plain secs_plain <<<"$res"
echo "  audit after the last load: cpt_rules table $bad violations; unconstrained table $bad_plain violations"
[ "$bad" = 0 ] && [ "$bad_plain" = 0 ] || { echo "VIOLATIONS in loaded data" >&2; exit 1; }

show <<SQL
WITH r AS (
	SELECT ord, variant,
		   string_agg(to_char(total_s, 'FM990.000'), ' ' ORDER BY run) AS runs,
		   percentile_disc(0.5) WITHIN GROUP (ORDER BY total_s) AS median_s,
		   percentile_disc(0.5) WITHIN GROUP (ORDER BY copy_s) AS copy_s,
		   percentile_disc(0.5) WITHIN GROUP (ORDER BY commit_s) AS commit_s,
		   percentile_disc(0.5) WITHIN GROUP (ORDER BY cpu_s) AS cpu_s,
		   max(hwm_kb - shm_kb) AS private_kb
	  FROM bench_result WHERE part = 'B' GROUP BY ord, variant
), base AS (SELECT median_s, cpu_s FROM r WHERE variant = 'unconstrained'),
pr AS (	-- ratios within each round
	SELECT v.variant,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY v.total_s / u.total_s) AS ratio,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY v.cpu_s / u.cpu_s) AS cpu_ratio
	  FROM bench_result v
	  JOIN bench_result u ON u.part = 'B' AND u.variant = 'unconstrained' AND u.run = v.run
	 WHERE v.part = 'B' GROUP BY v.variant
)
SELECT CASE r.variant WHEN 'unconstrained' THEN '(1) unconstrained'
					  WHEN 'fk' THEN '(2) foreign key'
					  WHEN 'plpgsql' THEN '(3) naive PL/pgSQL trigger'
					  ELSE '(4) cpt_rules' END AS variant,
	   r.runs AS "runs (s)",
	   to_char(r.median_s, 'FM990.000') AS "median s",
	   to_char(r.copy_s, 'FM990.000') AS "in COPY",
	   to_char(r.commit_s, 'FM990.000') AS "in COMMIT",
	   to_char(pr.ratio, 'FM990.00') || 'x' AS "vs unconstrained",
	   CASE WHEN r.variant = 'cpt_rules' THEN
			CASE WHEN pr.ratio <= $TARGET_COPY THEN 'PASS' ELSE 'MISS' END
			|| ' (<= ${TARGET_COPY}x)' ELSE '' END AS target,
	   to_char(r.cpu_s, 'FM990.00') AS "CPU s",
	   to_char(pr.cpu_ratio, 'FM990.00') || 'x' AS "CPU vs unconstr.",
	   round(r.private_kb / 1024.0) AS "private MB"
  FROM r JOIN pr USING (variant), base ORDER BY r.ord;
SQL
echo "(medians of $ROUNDS runs; vs unconstrained: median of the $ROUNDS rounds' ratios; \"in COPY\"/\"in COMMIT\":"
echo " the two phases of the transaction; CPU: the backend's own"
echo " CPU time, which other work on the machine disturbs less than elapsed time; private MB: backend peak"
echo " resident memory minus resident shared memory, largest of the runs)"

q -c "TRUNCATE lines_unconstrained, lines_fk, lines_plpgsql, lines_cpt_rules"

# ---------------------------------------------------------------- C. scaling

echo
echo "== C. Scaling: unconstrained vs cpt_rules, CHECKPOINT and TRUNCATE before each COPY; medians of" \
	"$ROUNDS rounds, each round loading every size into both tables (load average $(loadavg))"
q <<'SQL'
CALL bench_create_lines('scale_unconstrained');
CALL bench_create_lines('scale_cpt_rules');
SELECT cpt_rules.enforce_addon_rule('scale_cpt_rules', code => 'code',
	group_by => '{claim_id}', service_date => 'service_date') AS attached \gset
SQL
for run in $(seq 1 $ROUNDS); do
	for nclaims in "${CLAIMS_SCALING[@]}"; do
		file=$(csv_for "$nclaims")
		lines=$((nclaims * 5))
		pair=(unconstrained cpt_rules)
		[ $((run % 2)) = 0 ] && pair=(cpt_rules unconstrained)
		for v in "${pair[@]}"; do
			res=$(load_timed "scale_$v" "$file"); read -r c m t u h s <<<"$res"
			record C "$v" 0 "$lines" "$run" "$c" "$m" "$t" "$u" "$h" "$s"
			echo "  round $run  $(printf '%4s' "$(human $lines)")  $(printf '%-14s' "$v") $t s (CPU $u s)"
		done
		if [ "$run" = "$ROUNDS" ]; then
			res=$(audit scale_cpt_rules); read -r bad secs <<<"$res"
			q -c "INSERT INTO bench_result (part, variant, ord, lines, total_s, n)
				  VALUES ('C', 'audit', 0, $lines, $secs, $bad)"
			echo "  audit of the cpt_rules table, $(human $lines) lines: $secs s, $bad violations"
			[ "$bad" = 0 ] || { echo "VIOLATIONS in loaded data" >&2; exit 1; }
		fi
	done
done
q -c "TRUNCATE scale_unconstrained, scale_cpt_rules"

show <<'SQL'
WITH m AS (
	SELECT variant, lines,
		   percentile_disc(0.5) WITHIN GROUP (ORDER BY total_s) AS total_s,
		   percentile_disc(0.5) WITHIN GROUP (ORDER BY commit_s) AS commit_s,
		   percentile_disc(0.5) WITHIN GROUP (ORDER BY cpu_s) AS cpu_s,
		   max(hwm_kb - shm_kb) AS private_kb, max(n) AS n
	  FROM bench_result WHERE part = 'C' GROUP BY variant, lines
), u AS (SELECT * FROM m WHERE variant = 'unconstrained'),
   c AS (SELECT * FROM m WHERE variant = 'cpt_rules'),
   a AS (SELECT * FROM m WHERE variant = 'audit'),
   pr AS (	-- ratios within each round
	SELECT v.lines,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY v.total_s / u.total_s) AS ratio,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY v.cpu_s / u.cpu_s) AS cpu_ratio
	  FROM bench_result v
	  JOIN bench_result u ON u.part = 'C' AND u.variant = 'unconstrained' AND u.run = v.run
						 AND u.lines = v.lines
	 WHERE v.part = 'C' AND v.variant = 'cpt_rules' GROUP BY v.lines
)
SELECT CASE WHEN u.lines % 1000000 = 0 THEN (u.lines / 1000000) || 'M' ELSE (u.lines / 1000) || 'k' END AS lines,
	   u.lines / 50 AS "add-on claims",
	   to_char(u.total_s, 'FM990.000') AS "unconstr. s",
	   to_char(c.total_s, 'FM990.000') AS "cpt_rules s",
	   to_char(pr.ratio, 'FM990.00') || 'x' AS ratio,
	   round((c.total_s - u.total_s) * 1e6 / (u.lines / 50), 1) AS "us/add-on claim",
	   round(c.commit_s * 1e6 / (u.lines / 50), 1) AS "COMMIT us/a.c.",
	   to_char(pr.cpu_ratio, 'FM990.00') || 'x' AS "CPU ratio",
	   round((c.cpu_s - u.cpu_s) * 1e6 / (u.lines / 50), 1) AS "CPU us/a.c.",
	   round(u.private_kb / 1024.0, 1) AS "unconstr. MB",
	   round(c.private_kb / 1024.0, 1) AS "cpt_rules MB",
	   to_char(a.total_s, 'FM990.000') AS "audit s",
	   a.n AS violations
  FROM u JOIN c USING (lines) JOIN a USING (lines) JOIN pr USING (lines)
 ORDER BY u.lines;
SQL
echo "(medians of $ROUNDS rounds; ratio: median of the rounds' ratios; us/add-on claim: difference of the elapsed times per claim holding an add-on;"
echo " COMMIT us/a.c.: the deferred checks alone; CPU: the backend's CPU time; MB: backend peak resident memory"
echo " minus resident shared memory, largest of the rounds; audit: addon_rule_violations() after ANALYZE, elapsed)"

# ---------------------------------------------------------------- D. OLTP

echo
echo "== D. OLTP: pgbench, 2 clients, ${OLTP_SECONDS} s per run, one new claim (1-8 lines) per transaction," \
	"into a table holding $(human $((CLAIMS_MAIN * 5))) lines (load average $(loadavg))"
q <<'SQL'
CALL bench_create_lines('oltp_unconstrained');
CALL bench_create_lines('oltp_cpt_rules');
SELECT cpt_rules.enforce_addon_rule('oltp_cpt_rules', code => 'code',
	group_by => '{claim_id}', service_date => 'service_date') AS attached \gset
SQL
q -c "\\copy oltp_unconstrained FROM '$MAIN_CSV' WITH (FORMAT csv)"
q -c "\\copy oltp_cpt_rules FROM '$MAIN_CSV' WITH (FORMAT csv)"
q <<'SQL'
VACUUM ANALYZE oltp_unconstrained;
VACUUM ANALYZE oltp_cpt_rules;
CREATE SEQUENCE oltp_claim_id;
SELECT setval('oltp_claim_id', (SELECT max(claim_id) FROM oltp_unconstrained)) AS last_claim \gset
SQL

# pgbench_run VARIANT OUTFILE: one run against oltp_VARIANT
pgbench_run() {
	"$PGBIN/pgbench" -n -c 2 -j 2 -T "$OLTP_SECONDS" -f test/bench/oltp_claim.sql \
		-D tbl="oltp_$1" >"$2" 2>&1
}
# pgbench_result OUTFILE: prints TPS, transactions and failed transactions
pgbench_result() {
	local out tps failed=0 done_tx=0
	out=$(<"$1")
	rm -f "$1"
	[[ $out =~ tps\ =\ ([0-9.]+)\ \(without ]] || { echo "$out" >&2; return 1; }
	tps=${BASH_REMATCH[1]}
	[[ $out =~ number\ of\ failed\ transactions:\ ([0-9]+) ]] && failed=${BASH_REMATCH[1]}
	[[ $out =~ number\ of\ transactions\ actually\ processed:\ ([0-9]+) ]] && done_tx=${BASH_REMATCH[1]}
	[ "$failed" = 0 ] && [ "$done_tx" -gt 0 ] || { echo "$out" >&2; return 1; }
	echo "$tps $done_tx $failed"
}

# Each variant alone: ROUNDS pairs of runs, which one goes first alternating.
for run in $(seq 1 "$ROUNDS"); do
	pair=(unconstrained cpt_rules)
	[ $((run % 2)) = 0 ] && pair=(cpt_rules unconstrained)
	for variant in "${pair[@]}"; do
		q -c "CHECKPOINT"
		pgbench_run "$variant" "$DATA/pgbench_$variant.out" || { cat "$DATA/pgbench_$variant.out" >&2; exit 1; }
		res=$(pgbench_result "$DATA/pgbench_$variant.out"); read -r tps done_tx failed <<<"$res"
		q -c "INSERT INTO bench_result (part, variant, ord, run, total_s, n) VALUES ('D', '$variant', 0, $run, $tps, $failed)"
		echo "  pair $run  alone          $(printf '%-14s' "$variant") $(printf '%7.1f' "$tps") TPS," \
			"$done_tx transactions, $failed failed"
	done
done
# Both at once, sharing the machine: other work on it then slows both alike.
# Twice, started in either order.
for order in "unconstrained cpt_rules" "cpt_rules unconstrained"; do
	run=$((run + 1))
	q -c "CHECKPOINT"
	pids=()
	for variant in $order; do
		pgbench_run "$variant" "$DATA/pgbench_$variant.out" &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || { cat "$DATA"/pgbench_*.out >&2; exit 1; }
	done
	for variant in unconstrained cpt_rules; do
		res=$(pgbench_result "$DATA/pgbench_$variant.out"); read -r tps done_tx failed <<<"$res"
		q -c "INSERT INTO bench_result (part, variant, ord, run, total_s, n)
			  VALUES ('D2', '$variant', 0, $run, $tps, $failed)"
		echo "  run $run  side by side   $(printf '%-14s' "$variant") $(printf '%7.1f' "$tps") TPS," \
			"$done_tx transactions, $failed failed"
	done
done
res=$(audit oltp_cpt_rules); read -r bad secs <<<"$res"
res=$(audit oltp_unconstrained); read -r bad_plain secs_plain <<<"$res"
echo "  audit after the runs: cpt_rules table $bad violations; unconstrained table $bad_plain violations"
[ "$bad" = 0 ] && [ "$bad_plain" = 0 ] || { echo "VIOLATIONS in OLTP data" >&2; exit 1; }

show <<SQL
WITH r AS (
	SELECT variant, string_agg(to_char(total_s, 'FM999990.0'), ' ' ORDER BY run) AS runs,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY total_s) AS median
	  FROM bench_result WHERE part = 'D' GROUP BY variant
), pr AS (	-- ratios within each pair of runs
	SELECT v.variant, percentile_cont(0.5) WITHIN GROUP (ORDER BY v.total_s / u.total_s) AS ratio
	  FROM bench_result v
	  JOIN bench_result u ON u.part = 'D' AND u.variant = 'unconstrained' AND u.run = v.run
	 WHERE v.part = 'D' GROUP BY v.variant
), s AS (
	SELECT variant, string_agg(to_char(total_s, 'FM999990.0'), ' ' ORDER BY run) AS runs,
		   sum(total_s) AS tps
	  FROM bench_result WHERE part = 'D2' GROUP BY variant
), base AS (SELECT s.tps FROM s WHERE variant = 'unconstrained')
SELECT r.variant, r.runs AS "alone (TPS)", to_char(r.median, 'FM999990.0') AS "median TPS",
	   to_char(pr.ratio, 'FM990.00') || 'x' AS "vs unconstrained",
	   CASE WHEN r.variant = 'cpt_rules' THEN
			CASE WHEN pr.ratio >= $TARGET_TPS THEN 'PASS' ELSE 'MISS' END
			|| ' (>= ${TARGET_TPS}x)' ELSE '' END AS target,
	   s.runs AS "side by side (TPS)",
	   to_char(s.tps / base.tps, 'FM990.00') || 'x' AS "vs unconstrained "
  FROM r JOIN pr USING (variant) JOIN s USING (variant), base ORDER BY r.variant DESC;
SQL
echo "(alone: $ROUNDS pairs of runs, one variant after the other, which goes first alternating; vs unconstrained:"
echo " median of the pairs' ratios; side by side: both variants at once for ${OLTP_SECONDS} s, each with 2 clients,"
echo " so that other work on the machine disturbs both alike; ratio of the sums of two runs)"

# ---------------------------------------------------------------- E. instructions

echo
echo "== E. Instructions: callgrind counts of a single-user backend (the same in every run)"
CG=$(mktemp -d /tmp/cpt_rules_cg.XXXXXX)
trap 'stop_cluster; rm -rf "$CG"; [ -n "${BENCH_DATA_DIR:-}" ] || rm -rf "$DATA"' EXIT
init_cluster "$CG" 0
CG_LINES=$((100000 / DIV))
head -n "$CG_LINES" "$MAIN_CSV" >"$CG/lines.csv"
# one INSERT per claim: the first 2,000 claims of the data, each its own transaction
awk -F, -v max=$((2000 / DIV)) '
	$1 != claim { if (n++ == max) exit; if (stmt != "") print stmt ";"; claim = $1; stmt = "INSERT INTO %T VALUES " }
	{ stmt = stmt (substr(stmt, length(stmt)) == " " ? "" : ",") \
		sprintf("(%s,%s,%s,'"'"'%s'"'"','"'"'%s'"'"','"'"'%s'"'"',%s)", $1, $2, $3, $4, $5, $6, $7) }
	END { if (stmt != "") print stmt ";" }' "$MAIN_CSV" >"$CG/claims.sql"
CG_CLAIMS=$(wc -l <"$CG/claims.sql")
chown -R "$PG_OS_USER" "$CG"
CG_PORT=$(free_port)
sed -i "s/^port = .*/port = $CG_PORT/" "$CG/data/postgresql.conf"
as_pg "$PGBIN/pg_ctl" -D "$CG/data" -l "$CG/server.log" -w start >/dev/null
psql -X -q -h "$CG" -p "$CG_PORT" -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION cpt_rules;
\i test/bench/setup.sql
CALL bench_create_lines('cg_unconstrained');
CALL bench_create_lines('cg_cpt_rules');
SELECT cpt_rules.enforce_addon_rule('cg_cpt_rules', code => 'code', group_by => '{claim_id}',
	service_date => 'service_date');
SQL
as_pg "$PGBIN/pg_ctl" -D "$CG/data" -w stop >/dev/null
single() { single_user "$CG/data" "$@"; }
base_ir=$(echo "SELECT 1;" | single callgrind)
for v in unconstrained cpt_rules; do
	echo "TRUNCATE cg_$v;" | single
	copy_ir=$(echo "COPY cg_$v FROM '$CG/lines.csv' WITH (FORMAT csv);" | single callgrind)
	echo "TRUNCATE cg_$v;" | single
	oltp_ir=$(sed "s/%T/cg_$v/" "$CG/claims.sql" | single callgrind)
	q -c "INSERT INTO bench_result (part, variant, ord, lines, total_s, cpu_s)
		  VALUES ('E', '$v', 0, $CG_LINES, $((copy_ir - base_ir)), $((oltp_ir - base_ir)))"
	echo "  $(printf '%-14s' "$v") COPY of $(human "$CG_LINES") lines: $((copy_ir - base_ir)) instructions;" \
		"$CG_CLAIMS one-claim transactions: $((oltp_ir - base_ir))"
done
show <<SQL
WITH u AS (SELECT * FROM bench_result WHERE part = 'E' AND variant = 'unconstrained'),
	 c AS (SELECT * FROM bench_result WHERE part = 'E' AND variant = 'cpt_rules')
SELECT 'COPY of $(human "$CG_LINES") lines' AS load,
	   to_char(c.total_s / u.total_s, 'FM990.000') || 'x' AS "instructions vs unconstrained",
	   round((c.total_s - u.total_s) / (u.lines / 50)) AS "per add-on claim",
	   round((c.total_s - u.total_s) / u.lines) AS "per line or transaction"
  FROM u, c
UNION ALL
SELECT '$CG_CLAIMS one-claim transactions', to_char(c.cpu_s / u.cpu_s, 'FM990.000') || 'x',
	   NULL, round((c.cpu_s - u.cpu_s) / $CG_CLAIMS)
  FROM u, c;
SQL
echo "(a backend started for each load, its start-up (a SELECT 1) subtracted; the cpt_rules side includes"
echo " building the rules cache, as in every new session)"

# ---------------------------------------------------------------- summary

echo
echo "== Summary"
q <<SQL
WITH pr AS (	-- ratios within each round or pair of runs
	SELECT v.part, percentile_cont(0.5) WITHIN GROUP (ORDER BY v.total_s / u.total_s) AS ratio,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY v.cpu_s / u.cpu_s) AS cpu_ratio
	  FROM bench_result v
	  JOIN bench_result u ON u.part = v.part AND u.variant = 'unconstrained' AND u.run = v.run
	 WHERE v.part IN ('B', 'D') AND v.variant = 'cpt_rules' GROUP BY v.part
), d AS (
	SELECT variant, sum(total_s) AS tps FROM bench_result WHERE part = 'D2' GROUP BY variant
), x AS (
	SELECT (SELECT ratio FROM pr WHERE part = 'B') AS copy_ratio,
		   (SELECT cpu_ratio FROM pr WHERE part = 'B') AS copy_cpu,
		   (SELECT ratio FROM pr WHERE part = 'D') AS tps_ratio,
		   (SELECT tps FROM d WHERE variant = 'cpt_rules')
		   / (SELECT tps FROM d WHERE variant = 'unconstrained') AS tps_side
	  )
SELECT format('COPY %s lines: cpt_rules %sx unconstrained, target <= %sx: %s  (backend CPU: %sx)',
			  '$(human $((CLAIMS_MAIN * 5)))', to_char(copy_ratio, 'FM990.00'), '$TARGET_COPY',
			  CASE WHEN copy_ratio <= $TARGET_COPY THEN 'PASS' ELSE 'MISS' END, to_char(copy_cpu, 'FM990.00'))
  FROM x
UNION ALL
SELECT format('OLTP TPS: cpt_rules %sx unconstrained, target >= %sx: %s  (side by side: %sx, %s)',
			  to_char(tps_ratio, 'FM990.00'), '$TARGET_TPS',
			  CASE WHEN tps_ratio >= $TARGET_TPS THEN 'PASS' ELSE 'MISS' END, to_char(tps_side, 'FM990.00'),
			  CASE WHEN tps_side >= $TARGET_TPS THEN 'PASS' ELSE 'MISS' END)
  FROM x
UNION ALL
SELECT format('Instructions: COPY %sx, one-claim transactions %sx unconstrained',
			  to_char(c.total_s / u.total_s, 'FM990.000'), to_char(c.cpu_s / u.cpu_s, 'FM990.000'))
  FROM bench_result u, bench_result c
 WHERE u.part = 'E' AND u.variant = 'unconstrained' AND c.part = 'E' AND c.variant = 'cpt_rules';
SQL
echo "total run time: $((SECONDS - START_SECONDS)) s; load average at end: $(loadavg)"
