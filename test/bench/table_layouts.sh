#!/usr/bin/env bash
# Cost of the add-on rule on every table layout, each ratio measured side by
# side in one run (rule / no rule, same statement, same data, medians of
# ROUNDS alternating runs), on a throwaway cluster with default settings:
# every ratio is the median of the rounds' ratios, and every rule cost the
# median of the rounds' differences (both sides of a round back to back).
#
#   plain     a table with primary key (claim_id, line)
#   hash      16 partitions by hash of claim_id, primary key (claim_id, line)
#   range     24 monthly partitions by service date, index on claim_id;
#             one claim in ten spans two months
#   noindex   no index on the group column: 5k and 10k claims per statement,
#             their lines apart (the path that maps the statement's groups)
#   giant     one claim of 10k and of 20k lines, half of them 20933
#
# Each load is one INSERT ... SELECT of 100k lines in autocommit (20k claims
# of 5 lines, a quarter carrying 20933 beside a primary, a claim's lines
# together; plain once more with them apart), timed with its
# COMMIT, where the deferred checks run.  Printed: the elapsed ratio, the
# ratio of the backend's CPU time, the target, and the rule's cost per claim
# holding an add-on.
#
# Then the same loads once more in a single-user backend under callgrind:
# instruction counts, the same in every run, whatever else the machine does
# (BENCH_INSTRUCTIONS=0 leaves them out).
#
# Usage: test/bench/table_layouts.sh    (BENCH_ROUNDS=N, default 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

ROUNDS=${BENCH_ROUNDS:-5}
ensure_packages "${BASE_PACKAGES[@]}" bc valgrind
build_and_install >/dev/null
start_cluster
trap stop_cluster EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
q -c "CREATE EXTENSION cpt_rules"

# make_table NAME LAYOUT: an empty claim-lines table of that layout
make_table() {
	local t=$1 layout=$2
	q -c "DROP TABLE IF EXISTS $t"
	case $layout in
	plain|noindex|giant)
		q -c "CREATE TABLE $t (claim_id bigint NOT NULL, line int NOT NULL, service_date date NOT NULL, code cpt_code)"
		[ "$layout" = noindex ] || q -c "ALTER TABLE $t ADD PRIMARY KEY (claim_id, line)" ;;
	hash)
		q -c "CREATE TABLE $t (claim_id bigint NOT NULL, line int NOT NULL, service_date date NOT NULL, code cpt_code,
				PRIMARY KEY (claim_id, line)) PARTITION BY HASH (claim_id)"
		for i in $(seq 0 15); do
			q -c "CREATE TABLE ${t}_$i PARTITION OF $t FOR VALUES WITH (MODULUS 16, REMAINDER $i)"
		done ;;
	range)
		q -c "CREATE TABLE $t (claim_id bigint NOT NULL, line int NOT NULL, service_date date NOT NULL, code cpt_code)
				PARTITION BY RANGE (service_date)"
		for m in $(seq 0 23); do
			q -c "CREATE TABLE ${t}_$m PARTITION OF $t FOR VALUES FROM ('2024-01-01'::date + interval '$m months')
					TO ('2024-01-01'::date + interval '$((m + 1)) months')"
		done
		q -c "CREATE INDEX ON $t (claim_id)" ;;
	esac
}

# load_sql NCLAIMS LINES_PER_CLAIM ORDER: claims of that many lines, a
# quarter with 20933 on the last line and its primary 27365 on the first; in
# a tenth of the claims the last line falls in the next month.  ORDER is
# "claims" (a claim's lines one after another, as a claims feed writes them)
# or "apart" (first lines of all claims, then second lines, ...: no line
# stored beside another of its claim); both from one series, at one cost.
load_sql() {
	local n=$1 per=$2 cl
	case $3 in
	claims) cl="i / $per + 1 AS c, i % $per + 1 AS l" ;;
	apart) cl="i % $n + 1 AS c, i / $n + 1 AS l" ;;
	esac
	echo "INSERT INTO %T SELECT c, l,
		date '2024-01-01' + (c * 7) % 700 + CASE WHEN c % 10 = 0 AND l = $per THEN 31 ELSE 0 END,
		CASE WHEN c % 4 = 0 AND l = $per THEN '20933'
			 WHEN c % 4 = 0 AND l = 1 THEN '27365'
			 ELSE (ARRAY['99213','36415','85025','80053','99214'])[1 + (c + l) % 5] END::cpt_code
	  FROM (SELECT $cl FROM generate_series(0, $n * $per - 1) i) s"
}

# giant_sql LINES: one claim, half of its lines 20933, the rest primaries
giant_sql() {
	echo "INSERT INTO %T SELECT 1, l, date '2024-06-01',
		CASE WHEN l % 2 = 0 THEN '20933' ELSE '27365' END::cpt_code FROM generate_series(1, $1) l"
}

# time_load TABLE LAYOUT RULE SQL: "elapsed cpu" seconds for the statement
# into a fresh table: elapsed around the client, and the backend's own CPU
# time (from /proc, in clock ticks), which other work on the machine
# disturbs less
time_load() {
	local t=$1 layout=$2 rule=$3 sql=$4 start end ticks
	make_table "$t" "$layout"
	if [ "$rule" = yes ]; then
		q -c "SELECT cpt_rules.enforce_addon_rule('$t', code => 'code', group_by => '{claim_id}',
				service_date => 'service_date')" >/dev/null 2>&1
	fi
	q -c "CHECKPOINT"
	start=$(date +%s%N)
	ticks=$(psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
SELECT pg_backend_pid() AS pid \gset
\setenv BENCH_PID :pid
\! awk '{ print \$14 + \$15 }' /proc/\$BENCH_PID/stat
${sql//%T/$t};
\! awk '{ print \$14 + \$15 }' /proc/\$BENCH_PID/stat
SQL
)
	end=$(date +%s%N)
	echo "$(echo "scale=6; ($end - $start) / 1000000000" | bc) $(echo "$ticks" | awk -v hz="$(getconf CLK_TCK)" 'NR == 1 { a = $1 } END { printf "%.3f", ($1 - a) / hz }')"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# measure LAYOUT SQL: without and with the rule, ROUNDS rounds, which side
# goes first alternating.  Prints the medians of: elapsed without, elapsed
# with, CPU without, CPU with, and of each round's elapsed ratio, CPU ratio
# and elapsed difference (both sides of a round run back to back, so that a
# slow phase of the machine falls on both).
measure() {
	local layout=$1 sql=$2 off on rows=() r
	for r in $(seq "$ROUNDS"); do
		# which side goes first alternates, so neither always meets a warmer machine
		if [ $((r % 2)) = 1 ]; then
			off=$(time_load bench_off "$layout" no "$sql")
			on=$(time_load bench_on "$layout" yes "$sql")
		else
			on=$(time_load bench_on "$layout" yes "$sql")
			off=$(time_load bench_off "$layout" no "$sql")
		fi
		rows+=("$off $on")
	done
	local col
	for col in 1 3 2 4; do
		printf '%s\n' "${rows[@]}" | awk -v c=$col '{ print $c }' | median
	done | tr '\n' ' '
	printf '%s\n' "${rows[@]}" | awk '{ printf "%.6f\n", $3 / $1 }' | median | tr '\n' ' '
	printf '%s\n' "${rows[@]}" | awk '{ printf "%.6f\n", ($2 > 0 ? $4 / $2 : 0) }' | median | tr '\n' ' '
	printf '%s\n' "${rows[@]}" | awk '{ printf "%.6f\n", $3 - $1 }' | median
}

printf '%-44s %9s %9s %7s %8s %8s %14s\n' "shape" "no rule" "rule" "ratio" "CPU" "target" "us/add-on claim"
report() {	# NAME TARGET ADDON_CLAIMS OFF ON CPU_OFF CPU_ON RATIO CPU_RATIO DIFF
	local us
	us=$(echo "scale=1; ${10} * 1000000 / $3" | bc)
	printf '%-44s %8.3fs %8.3fs %6.2fx %7.2fx %8s %14s\n' "$1" "$4" "$5" "$8" "$9" "$2" "$us"
}

read -r off on coff con ratio cratio diff < <(measure plain "$(load_sql 20000 5 claims)")
report "plain, primary key, 100k lines" "<= 1.10" 5000 "$off" "$on" "$coff" "$con" "$ratio" "$cratio" "$diff"
read -r off on coff con ratio cratio diff < <(measure plain "$(load_sql 20000 5 apart)")
report "plain, lines of a claim apart" "" 5000 "$off" "$on" "$coff" "$con" "$ratio" "$cratio" "$diff"
read -r off on coff con ratio cratio diff < <(measure hash "$(load_sql 20000 5 claims)")
report "hash by claim_id, 16 partitions, 100k lines" "<= 1.10" 5000 "$off" "$on" "$coff" "$con" "$ratio" "$cratio" "$diff"
read -r off on coff con ratio cratio diff < <(measure range "$(load_sql 20000 5 claims)")
report "range by month, 24 partitions, 100k lines" "<= 1.20" 5000 "$off" "$on" "$coff" "$con" "$ratio" "$cratio" "$diff"

read -r off on coff con ratio cratio diff5 < <(measure noindex "$(load_sql 5000 5 apart)")
report "no index, 5k claims" "" 1250 "$off" "$on" "$coff" "$con" "$ratio" "$cratio" "$diff5"
read -r off on coff con ratio cratio diff10 < <(measure noindex "$(load_sql 10000 5 apart)")
report "no index, 10k claims" "" 2500 "$off" "$on" "$coff" "$con" "$ratio" "$cratio" "$diff10"
printf '%-44s %39s\n' "  no index: rule cost 10k / 5k claims" \
	"$(echo "scale=2; $diff10 / $diff5" | bc)x (target <= 2.2)"

read -r off on coff con ratio cratio diffg1 < <(measure giant "$(giant_sql 10000)")
report "one claim, 10k lines" "" 1 "$off" "$on" "$coff" "$con" "$ratio" "$cratio" "$diffg1"
read -r off on coff con ratio cratio diffg2 < <(measure giant "$(giant_sql 20000)")
report "one claim, 20k lines" "" 1 "$off" "$on" "$coff" "$con" "$ratio" "$cratio" "$diffg2"
printf '%-44s %39s\n' "  one claim: rule cost 20k / 10k lines" \
	"$(echo "scale=2; $diffg2 / $diffg1" | bc)x (target <= 2.2)"

[ "${BENCH_INSTRUCTIONS:-1}" = 1 ] || exit 0

# single_ir SQL: instructions of one statement (its own transaction) in a
# single-user backend on this cluster's data
single_ir() { { printf '%s' "$1" | tr '\n\t' '  '; echo; } | single_user "$PGTMP/data" callgrind; }
# ir LAYOUT SQL: "without with" instructions of the load into a fresh table
ir() {
	local layout=$1 sql=$2 off on
	make_table bench_off "$layout"
	make_table bench_on "$layout"
	q -c "SELECT cpt_rules.enforce_addon_rule('bench_on', code => 'code', group_by => '{claim_id}',
			service_date => 'service_date')" >/dev/null 2>&1
	as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -m fast -w stop >/dev/null
	off=$(single_ir "${sql//%T/bench_off}")
	on=$(single_ir "${sql//%T/bench_on}")
	as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w start >/dev/null
	echo "$((off - base)) $((on - base))"
}

echo
echo "instructions (callgrind, single-user backend, start-up subtracted; the same in every run)"
printf '%-44s %14s %14s %7s %8s %14s\n' "shape" "no rule" "rule" "ratio" "target" "per add-on claim"
as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -m fast -w stop >/dev/null
base=$(single_ir "SELECT 1")
as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w start >/dev/null
ir_report() {	# NAME TARGET ADDON_CLAIMS OFF ON
	printf '%-44s %14s %14s %6.3fx %8s %14s\n' "$1" "$4" "$5" "$(echo "scale=4; $5 / $4" | bc)" "$2" \
		"$(( ($5 - $4) / $3 ))"
}
read -r off on < <(ir plain "$(load_sql 20000 5 claims)")
ir_report "plain, primary key, 100k lines" "<= 1.10" 5000 "$off" "$on"
read -r off on < <(ir plain "$(load_sql 20000 5 apart)")
ir_report "plain, lines of a claim apart" "" 5000 "$off" "$on"
read -r off on < <(ir hash "$(load_sql 20000 5 claims)")
ir_report "hash by claim_id, 16 partitions, 100k lines" "<= 1.10" 5000 "$off" "$on"
read -r off on < <(ir range "$(load_sql 20000 5 claims)")
ir_report "range by month, 24 partitions, 100k lines" "<= 1.20" 5000 "$off" "$on"
read -r off5 on5 < <(ir noindex "$(load_sql 5000 5 apart)")
ir_report "no index, 5k claims" "" 1250 "$off5" "$on5"
read -r off10 on10 < <(ir noindex "$(load_sql 10000 5 apart)")
ir_report "no index, 10k claims" "" 2500 "$off10" "$on10"
printf '%-44s %39s\n' "  no index: rule cost 10k / 5k claims" \
	"$(echo "scale=2; ($on10 - $off10) / ($on5 - $off5)" | bc)x (target <= 2.2)"
read -r offg1 ong1 < <(ir giant "$(giant_sql 10000)")
ir_report "one claim, 10k lines" "" 1 "$offg1" "$ong1"
read -r offg2 ong2 < <(ir giant "$(giant_sql 20000)")
ir_report "one claim, 20k lines" "" 1 "$offg2" "$ong2"
printf '%-44s %39s\n' "  one claim: rule cost 20k / 10k lines" \
	"$(echo "scale=2; ($ong2 - $offg2) / ($ong1 - $offg1)" | bc)x (target <= 2.2)"
