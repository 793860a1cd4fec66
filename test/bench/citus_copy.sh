#!/usr/bin/env bash
# Cost of the add-on rule on a Citus cluster (issue 19), measured side by side
# in one run on throwaway clusters: a coordinator and two workers
# (test/citus_cluster.sh), and, for the rule change, a plain PostgreSQL
# cluster beside it.
#
#   A. generated claim lines: the main data set of constraint_copy.sh (1M
#      lines, 200k claims of 1-8 lines, one claim in ten with an add-on and an
#      eligible primary; test/bench/generate.sql, same seed), made once as CSV
#      by the plain cluster
#   B. COPY of the 1M lines through the coordinator (psql \copy, autocommit:
#      the time includes the two-phase COMMIT in which every worker's deferred
#      checks run) into two tables distributed by claim_id, identical but
#      for the rule by claim_id on one; TRUNCATE and CHECKPOINT on every node
#      (untimed) before each load; rounds alternate which table goes first;
#      the ratio is the median of the rounds' ratios (rule / no rule)
#   C. a rule change: refresh_cms_edits() of a CMS-shaped file of all the
#      edits in force, one pairing left out (one edit removed), then the full
#      file again (the edit restored), each in autocommit, on the Citus
#      cluster (the rule tables are reference tables: the change commits on
#      every node) and on the plain cluster, alternating; with the enforced
#      table empty, and holding the 1M lines (the refresh ends by counting
#      the violations of every enforced table under the new rules)
#
# Both clusters run PostgreSQL's defaults plus the settings of
# test/lib.sh's throwaway clusters (fsync off) and of the Citus nodes
# (shared_preload_libraries, wal_level = logical, max_prepared_transactions
# = 20); the plain cluster preloads cpt_rules alone.  The benchmark tables
# have autovacuum off and the same btree index on claim_id.  It measures the
# cpt_rules and Citus installed into PostgreSQL (it builds nothing).
#
# Usage: test/bench/citus_copy.sh
# Environment:
#   BENCH_ROUNDS=N          rounds of part B (default 5)
#   BENCH_REFRESH_RUNS=N    remove/restore pairs of part C on each cluster and table state (default 3)
#   BENCH_SHARDS=N          shards of each distributed table (default 32, Citus's default shard count)
#   BENCH_DATA_DIR=dir      keep the generated CSV file there and reuse it
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh
. test/citus_cluster.sh

ROUNDS=${BENCH_ROUNDS:-5}
REFRESH_RUNS=${BENCH_REFRESH_RUNS:-3}
SHARDS=${BENCH_SHARDS:-32}
CLAIMS=200000
TARGET_COPY=1.15	# COPY with the rule at most this times without, on the cluster
START_SECONDS=$SECONDS
LIB=$("$PG_CONFIG" --pkglibdir)/cpt_rules.so
LIB_SUM=$(sha256sum "$LIB" 2>/dev/null)

citus_installed || { echo "Citus is not installed into PostgreSQL $PG_MAJOR: nothing to measure" >&2; exit 2; }

if [ -n "${BENCH_DATA_DIR:-}" ]; then
	DATA=$BENCH_DATA_DIR
	mkdir -p "$DATA"
	KEEP_DATA=1
else
	DATA=$(mktemp -d)
	KEEP_DATA=
fi
chmod 755 "$DATA"
cleanup() {
	stop_all
	stop_cluster
	[ -n "$KEEP_DATA" ] || rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
CSV=$DATA/claim_lines_$CLAIMS.csv

loadavg() { local a b c rest; read -r a b c rest </proc/loadavg; echo "$a $b $c"; }
# median of the numbers on standard input, one a line (the mean of the middle two for an even count)
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1;
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f\n", m }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a / b }'; }

# ---------------------------------------------------------------- clusters

# the plain cluster: PGHOST, PGPORT etc. point at it
start_cluster "shared_preload_libraries = 'cpt_rules'" "wal_level = logical" "max_prepared_transactions = 20"
trap cleanup EXIT
qp() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
qp -c "CREATE EXTENSION cpt_rules"
qp -f test/bench/setup.sql >/dev/null

cluster_dir
for n in c w1 w2; do start_node $n; done
PC=$PORT_c PW1=$PORT_w1 PW2=$PORT_w2
out=$(register_nodes "$PC" "$PW1" "$PW2") || { echo "$out" >&2; exit 1; }
ALL=("$PC" "$PW1" "$PW2")

echo "cpt_rules on Citus: COPY and rule change benchmark; $(nproc) CPUs, load average at start: $(loadavg)"
qp -c "SELECT version()"
echo "Citus $(q "$PC" -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'"), cpt_rules" \
	"$(q "$PC" -c "SELECT extversion FROM pg_extension WHERE extname = 'cpt_rules'"); coordinator and two workers on" \
	"this machine (unix sockets); beside them one plain PostgreSQL (settings: the script's header)"

# ---------------------------------------------------------------- A. data

echo
echo "== A. Generated claim lines"
if [ ! -s "$CSV" ]; then
	t0=$SECONDS
	qp -v nclaims="$CLAIMS" -v seed=0.42 -f test/bench/generate.sql >"$CSV.part"
	mv "$CSV.part" "$CSV"
	echo "generated in $((SECONDS - t0)) s"
fi
chmod 644 "$CSV"
echo "$(wc -l <"$CSV") lines, $CLAIMS claims of 1-8 lines, $((CLAIMS / 10)) of them with an add-on code" \
	"and an eligible primary (the rest: ordinary codes)"

# ---------------------------------------------------------------- B. COPY

COLUMNS_SQL="claim_id bigint NOT NULL, line_no int NOT NULL, patient_id int NOT NULL, rendering_npi text NOT NULL,
	service_date date NOT NULL, code cpt_code NOT NULL, units int NOT NULL"
q "$PC" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE TABLE lines_plain ($COLUMNS_SQL) WITH (autovacuum_enabled = off);
CREATE INDEX lines_plain_claim_id ON lines_plain (claim_id);
SELECT create_distributed_table('lines_plain', 'claim_id', shard_count => $SHARDS);
CREATE TABLE lines_rule ($COLUMNS_SQL) WITH (autovacuum_enabled = off);
CREATE INDEX lines_rule_claim_id ON lines_rule (claim_id);
SELECT create_distributed_table('lines_rule', 'claim_id', shard_count => $SHARDS);
SELECT cpt_rules.enforce_addon_rule('lines_rule', code => 'code', group_by => '{claim_id}', service_date => 'service_date');
SQL
shards=$(q "$PC" -c "SELECT string_agg(n || ' on worker ' || nodeport, ', ' ORDER BY nodeport)
	FROM (SELECT n.nodeport, count(*) AS n FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
		  JOIN pg_dist_node n USING (groupid) WHERE s.logicalrelid = 'lines_rule'::regclass GROUP BY n.nodeport) x")
# no autovacuum on any shard
novac=$(q "$PC" -c "SELECT count(*) FILTER (WHERE result = '{autovacuum_enabled=off}') || ' of ' || count(*)
	FROM run_command_on_shards('lines_plain', \$\$SELECT reloptions FROM pg_class WHERE oid = '%s'::regclass\$\$)")
novac_rule=$(q "$PC" -c "SELECT count(*) FILTER (WHERE result = '{autovacuum_enabled=off}') || ' of ' || count(*)
	FROM run_command_on_shards('lines_rule', \$\$SELECT reloptions FROM pg_class WHERE oid = '%s'::regclass\$\$)")
[ "$novac" = "$SHARDS of $SHARDS" ] && [ "$novac_rule" = "$SHARDS of $SHARDS" ] ||
	{ echo "autovacuum_enabled = off on $novac and $novac_rule shards only" >&2; exit 1; }
# the shards carry the rule (Citus hides shards from pg_class, not their triggers from pg_trigger),
# and an orphan is rejected
triggers=0
for p in "$PW1" "$PW2"; do
	triggers=$((triggers + $(q "$p" -c "SELECT count(*) FROM pg_trigger WHERE tgname ~ '^lines_rule_addon_rule_.*_[0-9]+\$'")))
done
[ "$triggers" = $((3 * SHARDS)) ] || { echo "$triggers triggers of the rule on the shards, not $((3 * SHARDS))" >&2; exit 1; }
orphan=$(q "$PC" -c "INSERT INTO lines_rule VALUES (1, 1, 1, '1', '2024-03-01', '20933', 1)" 2>&1 || true)
grep -q 'has no eligible primary code' <<<"$orphan" && [ "$(q "$PC" -c "SELECT count(*) FROM lines_rule")" = 0 ] ||
	{ echo "an orphan was not rejected: $orphan" >&2; exit 1; }

# load_timed TABLE: TRUNCATE, then CHECKPOINT on every node (untimed); then
# the COPY in autocommit, timed in its session.  Prints seconds.
load_timed() {
	local tbl=$1 p
	q "$PC" -c "TRUNCATE $tbl"
	for p in "${ALL[@]}"; do q "$p" -c "CHECKPOINT"; done
	q "$PC" <<SQL
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
\copy $tbl FROM '$CSV' WITH (FORMAT csv)
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
SQL
}

echo
echo "== B. COPY of $(wc -l <"$CSV") lines through the coordinator into a table distributed by claim_id" \
	"in $SHARDS shards ($shards), without and with the rule"
echo "(the rule's triggers on the shards: $triggers, 3 a shard; an orphan 20933 rejected: ${orphan%%$'\n'*});" \
	"$ROUNDS rounds, load average $(loadavg)"
load_timed lines_plain >/dev/null	# warm-up, untimed: the file in the OS cache, every node started up
plain_s=() rule_s=() ratios=()
for run in $(seq 1 "$ROUNDS"); do
	if [ $((run % 2)) = 1 ]; then
		p=$(load_timed lines_plain); r=$(load_timed lines_rule); first="without the rule first"
	else
		r=$(load_timed lines_rule); p=$(load_timed lines_plain); first="with the rule first"
	fi
	plain_s+=("$p") rule_s+=("$r") ratios+=("$(ratio "$r" "$p")")
	printf '  round %d  without the rule %7.3f s   with the rule %7.3f s   ratio %s   (%s; load %s)\n' \
		"$run" "$p" "$r" "${ratios[-1]}" "$first" "$(loadavg)"
done
for t in lines_plain lines_rule; do
	n=$(q "$PC" -c "SELECT count(*) FROM $t")
	[ "$n" = "$(wc -l <"$CSV")" ] || { echo "$t holds $n lines, not $(wc -l <"$CSV")" >&2; exit 1; }
done
audit=$(q "$PC" <<'SQL'
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT count(*) AS bad FROM cpt_rules.addon_rule_violations('lines_rule', 'code', '{claim_id}', 'service_date') \gset
SELECT :bad || ' ' || round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
SQL
)
med_ratio=$(printf '%s\n' "${ratios[@]}" | median)
verdict=$(awk -v r="$med_ratio" -v t="$TARGET_COPY" 'BEGIN { print (r <= t) ? "PASS" : "MISS" }')
echo "  median: without the rule $(printf '%s\n' "${plain_s[@]}" | median) s, with the rule" \
	"$(printf '%s\n' "${rule_s[@]}" | median) s"
echo "  median of the $ROUNDS rounds' ratios (rule / no rule): ${med_ratio}x   $verdict (target <= ${TARGET_COPY}x)"
echo "  after the last round: both tables hold every line; audit of the table with the rule:" \
	"${audit% *} violations in ${audit#* } s"

# ---------------------------------------------------------------- C. rule change

# Staging tables shaped like cpt_rules.cms_aoc_file: the edits in force as
# a CMS file (aoc_full), and the same without 20934 + 23210 (aoc_less).
STAGING_SQL="
CREATE TABLE aoc_full (LIKE cpt_rules.cms_aoc_file);
INSERT INTO aoc_full
SELECT aoc_type::text, addon::text, to_char(addon_deleted, 'YYYYDDD'), coalesce(primary_code::text, 'CCCCC'),
       to_char(primary_deleted, 'YYYYDDD'), to_char(edit_effective, 'YYYYDDD'), to_char(edit_deleted, 'YYYYDDD'), notes
  FROM cpt_rules.aoc_edit;
CREATE TABLE aoc_less AS SELECT * FROM aoc_full WHERE NOT (addon_code = '20934' AND primary_code = '23210');
SELECT (SELECT count(*) FROM aoc_full) || ' ' || (SELECT count(*) FROM aoc_less);"
read -r edits edits_less <<<"$(q "$PC" -c "$STAGING_SQL" | tail -1)"
read -r p_edits p_less <<<"$(qp -c "$STAGING_SQL" | tail -1)"
[ "$edits $edits_less" = "$p_edits $p_less" ] && [ "$edits_less" = $((edits - 1)) ] ||
	{ echo "staging tables differ: Citus $edits/$edits_less, plain $p_edits/$p_less" >&2; exit 1; }

# the table with the rule on the plain cluster, for the refresh's audit
qp >/dev/null <<'SQL'
CALL bench_create_lines('lines_rule');
SELECT cpt_rules.enforce_addon_rule('lines_rule', code => 'code', group_by => '{claim_id}', service_date => 'service_date');
SQL

# refresh_timed citus|plain STAGING: prints "seconds changes"
refresh_timed() {
	local where=$1 staging=$2 conn
	if [ "$where" = citus ]; then conn=(q "$PC"); else conn=(qp); fi
	"${conn[@]}" <<SQL
SET client_min_messages = warning;
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT count(*) AS changes FROM cpt_rules.refresh_cms_edits('$staging') \gset
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3) || ' ' || :changes;
SQL
}
# pairing_everywhere citus|plain: valid_pairing('20934', '23210') on each node, e.g. "f f f"
pairing_everywhere() {
	local p
	if [ "$1" = citus ]; then
		for p in "${ALL[@]}"; do q "$p" -c "SELECT valid_pairing('20934', '23210')"; done | paste -sd ' '
	else
		qp -c "SELECT valid_pairing('20934', '23210')"
	fi
}

declare -A secs
refresh_round() { # refresh_round STATE RUN: a removal and a restoration on each cluster, alternating
	local state=$1 run=$2 order=(plain citus) w res s n seen removed
	[ $((run % 2)) = 0 ] && order=(citus plain)
	for w in "${order[@]}"; do
		res=$(refresh_timed "$w" aoc_less); read -r s n <<<"$res"
		seen=$(pairing_everywhere "$w")
		[ "$n" = 1 ] && [ "${seen//[ f]/}" = "" ] ||
			{ echo "$w: the removal changed $n edit(s); 20934+23210 valid on the nodes: $seen" >&2; exit 1; }
		secs[$w,$state,remove]+="$s "
		removed=$seen
		printf '  %-6s %-14s run %d  remove 20934+23210 %7.3f s' "$w" "$state" "$run" "$s"
		res=$(refresh_timed "$w" aoc_full); read -r s n <<<"$res"
		seen=$(pairing_everywhere "$w")
		[ "$n" = 1 ] && [ "${seen//[ t]/}" = "" ] ||
			{ echo "$w: the restoration changed $n edit(s); 20934+23210 valid on the nodes: $seen" >&2; exit 1; }
		secs[$w,$state,restore]+="$s "
		printf '   restore it %7.3f s   (20934+23210 valid on each node: after the removal %s, after the restoration %s)\n' \
			"$s" "$removed" "$seen"
	done
}

echo
echo "== C. Rule change: refresh_cms_edits() of the $edits edits in force less one, then all $edits again;" \
	"Citus (coordinator + 2 workers) against one plain PostgreSQL, $REFRESH_RUNS runs each, alternating"
echo "   (load average $(loadavg))"
qp -c "\\copy lines_rule FROM '$CSV' WITH (FORMAT csv)"
q "$PC" -c "SELECT count(*) FROM lines_rule" | grep -qx "$(wc -l <"$CSV")" || { echo "lines_rule is not loaded" >&2; exit 1; }
for run in $(seq 1 "$REFRESH_RUNS"); do refresh_round "1M lines" "$run"; done
q "$PC" -c "TRUNCATE lines_rule, lines_plain"
qp -c "TRUNCATE lines_rule"
for run in $(seq 1 "$REFRESH_RUNS"); do refresh_round "empty" "$run"; done

echo
echo "  medians of $REFRESH_RUNS runs, seconds; Citus/plain: the median of the runs' ratios"
printf '  %-42s %9s %9s %12s\n' "" "Citus" "plain PG" "Citus/plain"
runs_of() { tr ' ' '\n' <<<"${secs[$1]}" | grep .; }
for state in "1M lines" "empty"; do
	for step in remove restore; do
		c=$(runs_of "citus,$state,$step" | median)
		p=$(runs_of "plain,$state,$step" | median)
		r=$(paste <(runs_of "citus,$state,$step") <(runs_of "plain,$state,$step") | awk '{ printf "%.3f\n", $1 / $2 }' | median)
		printf '  %-42s %9s %9s %11sx\n' "$step an edit, enforced table $state" "$c" "$p" "$r"
	done
done
[ "$(sha256sum "$LIB" 2>/dev/null)" = "$LIB_SUM" ] ||
	echo "WARNING: $LIB was reinstalled while this benchmark ran: its figures may mix two builds"
echo
echo "done in $((SECONDS - START_SECONDS)) s; load average at the end: $(loadavg)"
