#!/usr/bin/env bash
# What the add-on rule costs a backend on a table with many partitions,
# measured side by side in one run on a throwaway cluster with default
# settings (rule / no rule, same statements, alternating, medians of ROUNDS):
#
#   A. For 100, 365, 1000 and 3000 daily range partitions (an index on
#      claim_id in each): a fresh backend writes one claim (23210 beside
#      20933, one INSERT in autocommit) into each partition.  Printed: the
#      backend's memory at the end (pg_backend_memory_contexts), with and
#      without the rule; the INSERTs' time, and its ratio; the first
#      INSERT's time in the fresh backend, where the rule's state is built.
#   B. OLTP (pgbench, one new claim per transaction into a random day of
#      the 365-partition table), each transaction also creating a temporary
#      table, as many applications do: a catalog change in every
#      transaction that has nothing to do with the rule.  Printed: TPS with
#      the rule and without, and their ratio, with and without the
#      temporary table.
#
# Usage: test/bench/partitions.sh
# Environment:
#   BENCH_ROUNDS=N          rounds of part A, pairs of runs of part B (default 3)
#   BENCH_PARTITIONS="..."  partition counts of part A (default "100 365 1000 3000")
#   BENCH_OLTP_SECONDS=N    length of each pgbench run (default 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

ROUNDS=${BENCH_ROUNDS:-3}
COUNTS=${BENCH_PARTITIONS:-100 365 1000 3000}
OLTP_SECONDS=${BENCH_OLTP_SECONDS:-10}
TARGET_MB=32			# at 1000 partitions, backend memory with the rule
TARGET_RATIO=1.5		# at 1000 partitions, the INSERTs' time with / without

ensure_packages "${BASE_PACKAGES[@]}" bc
build_and_install >/dev/null
start_cluster "max_locks_per_transaction = 256"
WORK=$(mktemp -d)
trap 'stop_cluster; rm -rf "$WORK"' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
q -c "CREATE EXTENSION cpt_rules"


# make_tables P: claims_rule and claims_free, P daily partitions each
make_tables() {
	local p=$1
	for t in claims_rule claims_free; do
		q -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS $t" >/dev/null
		q -c "CREATE TABLE $t (claim_id bigint NOT NULL, line int NOT NULL,
				service_date date NOT NULL, code cpt_code) PARTITION BY RANGE (service_date)"
		q -c "DO \$\$ BEGIN
				FOR d IN 0..$((p - 1)) LOOP
					EXECUTE format('CREATE TABLE %I PARTITION OF $t FOR VALUES FROM (%L) TO (%L)',
						'${t}_' || d, DATE '2024-01-01' + d, DATE '2024-01-01' + d + 1);
				END LOOP; END \$\$"
		q -c "CREATE INDEX ON $t (claim_id)"
	done
	q -c "SELECT cpt_rules.enforce_addon_rule('claims_rule', code => 'code', group_by => '{claim_id}',
			service_date => 'service_date')" >/dev/null
	q -c "VACUUM ANALYZE claims_rule, claims_free" >/dev/null
}

# one_session TABLE P: a fresh backend's P INSERTs; prints "total_ms first_ms bytes"
one_session() {
	local t=$1 p=$2 f=$WORK/load-$1-$2.sql
	if [ ! -e "$f" ]; then
		{
			echo "SELECT clock_timestamp() AS t0 \\gset"
			echo "INSERT INTO $t VALUES (0, 1, DATE '2024-01-01', '23210'), (0, 2, DATE '2024-01-01', '20933');"
			echo "SELECT extract(epoch FROM clock_timestamp() - :'t0') * 1000 AS first_ms \\gset"
			for d in $(seq 1 $((p - 1))); do
				echo "INSERT INTO $t VALUES ($d, 1, DATE '2024-01-01' + $d, '23210'), ($d, 2, DATE '2024-01-01' + $d, '20933');"
			done
			echo "SELECT extract(epoch FROM clock_timestamp() - :'t0') * 1000 || ' ' || :'first_ms' || ' ' ||"
			echo "       (SELECT sum(total_bytes) FROM pg_backend_memory_contexts);"
		} >"$f"
	fi
	q -c "TRUNCATE $t" >/dev/null
	q -f "$f" | tail -1
}

echo "# part A: a fresh backend writes one claim into each daily partition"
printf '%-6s %12s %12s %10s %10s %7s %12s %12s\n' partitions "MB rule" "MB none" "ms rule" "ms none" ratio "1st ms rule" "1st ms none"
for p in $COUNTS; do
	make_tables "$p"
	: >"$WORK/a"
	for r in $(seq 1 "$ROUNDS"); do
		rule=$(one_session claims_rule "$p")
		free=$(one_session claims_free "$p")
		echo "$rule $free" >>"$WORK/a"
	done
	col() { awk -v c="$1" '{print $c}' "$WORK/a" | median; }
	ratio=$(awk '{print $1 / $4}' "$WORK/a" | median)
	printf '%-6s %12.1f %12.1f %10.0f %10.0f %6.2fx %12.1f %12.1f\n' "$p" \
		"$(echo "$(col 3) / 1048576" | bc -l)" "$(echo "$(col 6) / 1048576" | bc -l)" \
		"$(col 1)" "$(col 4)" "$ratio" "$(col 2)" "$(col 5)"
	if [ "$p" = 1000 ]; then
		mb=$(echo "$(col 3) / 1048576" | bc -l)
		printf '  at 1000 partitions: %.1f MB (target at most %s MB), %.2fx (target at most %sx)\n' \
			"$mb" "$TARGET_MB" "$ratio" "$TARGET_RATIO"
	fi
done

echo
echo "# part B: OLTP on 365 daily partitions, one claim per transaction, ${OLTP_SECONDS}s runs"
make_tables 365
for t in claims_rule claims_free; do
	for tmp in 0 1; do
		{
			echo "\\set c random(1, 1000000000)"
			echo "\\set d random(0, 364)"
			echo "BEGIN;"
			[ "$tmp" = 1 ] && echo "CREATE TEMP TABLE scratch (x int) ON COMMIT DROP;"
			echo "INSERT INTO $t VALUES (:c, 1, DATE '2024-01-01' + :d, '23210'), (:c, 2, DATE '2024-01-01' + :d, '20933');"
			echo "END;"
		} >"$WORK/oltp-$t-$tmp.sql"
	done
done
tps() { pgbench -n -c 1 -T "$OLTP_SECONDS" -f "$1" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
printf '%-22s %10s %10s %8s\n' transaction "TPS rule" "TPS none" ratio
for tmp in 0 1; do
	: >"$WORK/b"
	for r in $(seq 1 "$ROUNDS"); do
		a=$(tps "$WORK/oltp-claims_rule-$tmp.sql")
		b=$(tps "$WORK/oltp-claims_free-$tmp.sql")
		echo "$a $b" >>"$WORK/b"
	done
	label=$([ "$tmp" = 1 ] && echo "with a temp table" || echo "claim only")
	printf '%-22s %10.0f %10.0f %7.3fx\n' "$label" \
		"$(awk '{print $1}' "$WORK/b" | median)" "$(awk '{print $2}' "$WORK/b" | median)" \
		"$(awk '{print $1 / $2}' "$WORK/b" | median)"
done
echo "# done in $((SECONDS / 60)) min $((SECONDS % 60)) s"
