#!/usr/bin/env bash
# The rule on a Citus cluster: a coordinator and two workers of its own (a
# third worker joins half-way), claim_lines distributed by claim_id in 8
# shards with the rule by claim_id.  Each test states the behaviour a Citus
# DBA must get: rule changes seen by the checks on every node, 23514 with the
# rule's message and fields at the client whatever the transaction shape,
# mis-distributed tables refused, shard moves and nodes added later enforcing
# the current rules, ALTER EXTENSION UPDATE from the coordinator reaching
# every node.  Skipped when Citus is not installed (test/citus_build.sh
# builds it).
#
# The nodes are started and registered by test/citus_cluster.sh, which says
# how they reach each other; CPT_RULES_CITUS_KEEP=1 leaves them running at
# the end and says how to reach and stop them.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/lib.sh"
. "$here/tap.sh"
. "$here/citus_cluster.sh"

if ! citus_installed; then
	echo "# skipped: Citus is not installed"
	ok "# SKIP citus not installed"
	tap_plan
	exit 0
fi

lib=$("$PG_CONFIG" --pkglibdir)/cpt_rules.so
lib_sum=$(sha256sum "$lib" 2>/dev/null)
cluster_dir
trap stop_all EXIT

# The SQLSTATE the client saw: psql's LAST_ERROR_SQLSTATE, or for \copy
# (which does not set it) the code of the last ERROR line.
sqlstate() {
	local s
	s=$(sed -n 's/^SQLSTATE=//p' <<<"$1" | tail -1)
	[ "$s" = 00000 ] && grep -q '^ERROR:  [0-9A-Z]\{5\}: ' <<<"$1" &&
		s=$(sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\): .*/\1/p' <<<"$1" | tail -1)
	echo "$s"
}
# what a failed probe saw, as TAP comments
got() {
	grep -E '^(ERROR|WARNING|DETAIL|HINT|CONTEXT|SCHEMA NAME|TABLE NAME|CONSTRAINT NAME|SQLSTATE=)' <<<"$1" |
		head -12 | sed 's/^/#   /'
}
bail() { not_ok "$1"; got "${2:-}"; tap_plan; exit 1; }

# fresh TABLE NODEPORT [same|other SHARDID]: sets ID to an unused claim id whose
# shard of TABLE is placed on the node at NODEPORT (on that shard, or on
# another), and SHARD to that shard.
NEXT_ID=1
fresh() {
	local tbl=$1 port=$2 cond=true r
	case ${3:-} in
		same) cond="x.s = $4" ;;
		other) cond="x.s <> $4" ;;
	esac
	r=$(q "$PORT_c" -F ' ' -c "
		SELECT i, x.s FROM generate_series($NEXT_ID, $NEXT_ID + 10000) i,
			LATERAL (SELECT get_shard_id_for_distribution_column('$tbl', i) AS s) x
		 WHERE $cond AND EXISTS (SELECT 1 FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
								  WHERE p.shardid = x.s AND n.nodeport = $port)
		 ORDER BY i LIMIT 1")
	ID=${r% *}
	SHARD=${r#* }
	[ -n "$ID" ] || { echo "# no claim id on node $port" >&2; ID=0; SHARD=0; return 1; }
	NEXT_ID=$((ID + 1))
}

# lines TABLE ID CODE...: an INSERT of one claim's lines
DOS=2024-03-01
lines() {
	local tbl=$1 id=$2 sep="" v=""
	shift 2
	for c in "$@"; do v+="$sep($id, '$DOS', '$c')"; sep=", "; done
	echo "INSERT INTO $tbl (claim_id, service_date, code) VALUES $v;"
}

# count TABLE ID...: stored lines of those claims
count() {
	local tbl=$1; shift
	q "$PORT_c" -c "SELECT count(*) FROM $tbl WHERE claim_id IN ($(IFS=,; echo "$*"))"
}

# rejected DESCRIPTION OUTPUT TABLE ID...: ok when the client saw 23514 with
# the rule's message and none of the claims' lines were stored.  Whatever was
# stored anyway is deleted, so that later tests start from valid data.
rejected() {
	local desc=$1 out=$2 tbl=$3 n
	shift 3
	n=$(count "$tbl" "$@")
	if [ "$(sqlstate "$out")" = 23514 ] && grep -q '^ERROR: .*has no eligible primary code' <<<"$out" &&
		[ "$n" = 0 ]; then
		ok "$desc"
	else
		not_ok "$desc"
		got "$out"
		echo "#   lines stored: $n"
		[ "$n" = 0 ] || q "$PORT_c" -c "DELETE FROM $tbl WHERE claim_id IN ($(IFS=,; echo "$*"))" >/dev/null 2>&1
	fi
}

# accepted DESCRIPTION OUTPUT TABLE EXPECTED_LINES ID...: ok when the claims
# committed without an error.
accepted() {
	local desc=$1 out=$2 tbl=$3 want=$4 n
	shift 4
	n=$(count "$tbl" "$@")
	if [ "$(sqlstate "$out")" = 00000 ] && [ "$n" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		got "$out"
		echo "#   lines stored: $n of $want"
	fi
}

# ---------------------------------------------------------------- the cluster
for n in c w1 w2; do
	start_node $n || bail "start node $n with Citus preloaded"
done
PC=$PORT_c PW1=$PORT_w1 PW2=$PORT_w2
out=$(register_nodes "$PC" "$PW1" "$PW2") || bail "coordinator registered, two workers added, CREATE EXTENSION cpt_rules on the coordinator" "$out"
echo "# coordinator $PC, workers $PW1 and $PW2, sockets in $S"

ext_version() { q "$1" -c "SELECT extversion FROM pg_extension WHERE extname = 'cpt_rules'"; }
# workers_match: each worker has the coordinator's version of cpt_rules
workers_match() {
	[ "$(ext_version "$PW1")" = "$(ext_version "$PC")" ] && [ "$(ext_version "$PW2")" = "$(ext_version "$PC")" ]
}
check "CREATE EXTENSION cpt_rules on the coordinator creates it on both workers" workers_match
for p in $PW1 $PW2; do
	[ -n "$(q "$p" -c "SELECT 1 FROM pg_extension WHERE extname = 'cpt_rules'")" ] ||
		{ echo "# creating cpt_rules on the worker at $p by hand"; q "$p" -c "CREATE EXTENSION cpt_rules"; }
done
q "$PC" -c "SELECT '# node ' || nodeport || ': hasmetadata ' || hasmetadata || ', metadatasynced ' ||
	metadatasynced || ', shouldhaveshards ' || shouldhaveshards FROM pg_dist_node ORDER BY nodeid"

out=$(q "$PC" 2>&1 <<'SQL'
CREATE SCHEMA billing;
CREATE TABLE billing.claim_lines (claim_id bigint NOT NULL, service_date date NOT NULL, code cpt_code);
CREATE INDEX claim_lines_claim ON billing.claim_lines (claim_id);
SELECT create_distributed_table('billing.claim_lines', 'claim_id', shard_count => 8);
SQL
) || bail "claim_lines distributed by claim_id in 8 shards" "$out"
q "$PW1" -c "SELECT '# on a worker, pg_dist_partition: ' || logicalrelid || ' ' || partmethod::text || ' ' || repmodel::text ||
	' colocation ' || colocationid || ' partkey ' || partkey FROM pg_dist_partition"

ENFORCE="SELECT cpt_rules.enforce_addon_rule('billing.claim_lines', code => 'code', group_by => '{claim_id}', service_date => 'service_date');"
out=$(run "$PC" <<<"$ENFORCE")
if [ "$(sqlstate "$out")" = 00000 ] || grep -Eq '^HINT: .*citus\.enable_unsafe_triggers' <<<"$out"; then
	ok "enforce_addon_rule on a distributed table without citus.enable_unsafe_triggers works, or its error's hint names the setting"
else
	not_ok "enforce_addon_rule on a distributed table without citus.enable_unsafe_triggers works, or its error's hint names the setting"
	got "$out"
fi
if [ -z "$(q "$PC" -c "SELECT 1 FROM cpt_rules.enforced_rules")" ]; then
	out=$(run "$PC" <<<"SET citus.enable_unsafe_triggers = on; $ENFORCE")
	[ "$(sqlstate "$out")" = 00000 ] && ok "with citus.enable_unsafe_triggers = on, the rule by claim_id is enforced on claim_lines" ||
		bail "with citus.enable_unsafe_triggers = on, the rule by claim_id is enforced on claim_lines" "$out"
fi
# shard_triggers PORT: the rule's triggers on the shards of that worker
shard_triggers() { q "$1" -c "SELECT count(*) FROM pg_trigger WHERE tgname ~ '^claim_lines_addon_rule_.*_[0-9]+\$'"; }
triggers_on_shards() { [ $(($(shard_triggers "$PW1") + $(shard_triggers "$PW2"))) = 24 ]; }
check "the rule's three triggers are on each of the 8 shards on the workers" triggers_on_shards

CL=billing.claim_lines
# ---------------------------------------------------------------- valid claims
fresh $CL "$PW1"; a=$ID
out=$(run "$PC" <<<"$(lines $CL $a 27365 20933)")
accepted "a valid claim (27365 + 20933) commits in autocommit" "$out" $CL 2 $a

fresh $CL "$PW1"; a=$ID s1=$SHARD
fresh $CL "$PW1" other $s1; b=$ID
out=$(run "$PC" <<<"BEGIN; $(lines $CL $a 27365 20933) $(lines $CL $b 99213) COMMIT;")
accepted "valid claims on two shards of one worker commit in BEGIN..COMMIT" "$out" $CL 3 $a $b

fresh $CL "$PW1"; a=$ID
fresh $CL "$PW2"; b=$ID
out=$(run "$PC" <<<"BEGIN; $(lines $CL $a 27365 20933) $(lines $CL $b 27365 20933) COMMIT;")
accepted "valid claims on two workers commit in BEGIN..COMMIT" "$out" $CL 4 $a $b

copyfile=$base/copy.csv
awk -v base=1000000 -v dos=$DOS 'BEGIN { for (i = 1; i <= 5000; i++) {
	print base + i "," dos ",27365"; print base + i "," dos "," (i % 2 ? "20933" : "99213") } }' >"$copyfile"
out=$(run "$PC" <<<"\\copy $CL FROM '$copyfile' WITH (FORMAT csv)")
n=$(q "$PC" -c "SELECT count(*) FROM $CL WHERE claim_id BETWEEN 1000001 AND 1005000")
if [ "$(sqlstate "$out")" = 00000 ] && [ "$n" = 10000 ]; then
	ok "a COPY of 10,000 valid lines (5,000 claims, 2,500 with 20933) commits"
else
	not_ok "a COPY of 10,000 valid lines (5,000 claims, 2,500 with 20933) commits"; got "$out"; echo "#   lines stored: $n"
fi

# ---------------------------------------------------------------- orphans
fresh $CL "$PW1"; a=$ID
out_auto=$(run "$PC" <<<"$(lines $CL $a 20933)")
rejected "an orphan 20933 in autocommit reaches the client as 23514" "$out_auto" $CL $a

fresh $CL "$PW1"; a=$ID s1=$SHARD
fresh $CL "$PW1" same $s1; b=$ID
out_one=$(run "$PC" <<<"BEGIN; $(lines $CL $a 27365 20933) $(lines $CL $b 20933) COMMIT;")
rejected "an orphan in a BEGIN..COMMIT writing one shard reaches the client as 23514, and nothing commits" "$out_one" $CL $a $b

fresh $CL "$PW2"; a=$ID s1=$SHARD
fresh $CL "$PW2" other $s1; b=$ID
out=$(run "$PC" <<<"BEGIN; $(lines $CL $a 27365 20933) $(lines $CL $b 20933) COMMIT;")
rejected "an orphan in a BEGIN..COMMIT writing two shards on one worker reaches the client as 23514, and nothing commits" "$out" $CL $a $b

fresh $CL "$PW1"; a=$ID
fresh $CL "$PW2"; b=$ID
out_two=$(run "$PC" <<<"BEGIN; $(lines $CL $a 27365 20933) $(lines $CL $b 20933) COMMIT;")
rejected "an orphan in a BEGIN..COMMIT writing two workers reaches the client as 23514, and nothing commits" "$out_two" $CL $a $b

awk -v base=2000000 -v dos=$DOS 'BEGIN { for (i = 1; i <= 5000; i++) {
	print base + i "," dos "," (i == 2501 ? "99213" : "27365"); print base + i "," dos "," (i % 2 ? "20933" : "99213") } }' >"$copyfile"
out=$(run "$PC" <<<"\\copy $CL FROM '$copyfile' WITH (FORMAT csv)")
n=$(q "$PC" -c "SELECT count(*) FROM $CL WHERE claim_id BETWEEN 2000001 AND 2005000")
if [ "$(sqlstate "$out")" = 23514 ] && grep -q '^ERROR: .*has no eligible primary code' <<<"$out" && [ "$n" = 0 ]; then
	ok "a COPY of 10,000 lines holding one orphan reaches the client as 23514, and nothing commits"
else
	not_ok "a COPY of 10,000 lines holding one orphan reaches the client as 23514, and nothing commits"; got "$out"
	echo "#   lines stored: $n"
fi

fresh $CL "$PW1"; a=$ID
out=$(run "$PC" <<<"BEGIN; SET CONSTRAINTS ALL IMMEDIATE; $(lines $CL $a 20933)
\\echo AFTER_INSERT=:LAST_ERROR_SQLSTATE
COMMIT;")
rejected "under SET CONSTRAINTS ALL IMMEDIATE, an orphan on one worker reaches the client as 23514" "$out" $CL $a
echo "# (IMMEDIATE, one worker: SQLSTATE after the INSERT $(sed -n 's/^AFTER_INSERT=//p' <<<"$out"), after COMMIT $(sqlstate "$out"))"

fresh $CL "$PW1"; a=$ID
fresh $CL "$PW2"; b=$ID
out=$(run "$PC" <<<"BEGIN; SET CONSTRAINTS ALL IMMEDIATE; $(lines $CL $a 27365 20933) $(lines $CL $b 20933)
\\echo AFTER_INSERT=:LAST_ERROR_SQLSTATE
COMMIT;")
rejected "under SET CONSTRAINTS ALL IMMEDIATE, an orphan in a transaction writing two workers reaches the client as 23514" "$out" $CL $a $b
echo "# (IMMEDIATE, two workers: SQLSTATE after the INSERTs $(sed -n 's/^AFTER_INSERT=//p' <<<"$out"), after COMMIT $(sqlstate "$out"))"

# ---------------------------------------------------------------- error fields
field() { sed -n "s/^$1: *//p" <<<"$2" | head -1; }
msg=$(sed -n 's/^ERROR: *[0-9A-Z]\{5\}: //p' <<<"$out_auto" | head -1)
if grep -q 'table "claim_lines"' <<<"$msg"; then ok "the autocommit orphan's message names the table claim_lines, not a shard"
else not_ok "the autocommit orphan's message names the table claim_lines, not a shard"; echo "#   message: $msg"; fi
for f in "SCHEMA NAME:billing" "TABLE NAME:claim_lines" "CONSTRAINT NAME:claim_lines_addon_rule"; do
	v=$(field "${f%%:*}" "$out_auto")
	if [ "$v" = "${f#*:}" ]; then ok "the autocommit orphan's error has ${f%%:*} ${f#*:} at the client"
	else not_ok "the autocommit orphan's error has ${f%%:*} ${f#*:} at the client"; echo "#   ${f%%:*}: '${v}'"; fi
done
for o in one two; do
	o_out=out_$o
	o_out=${!o_out}
	desc="the orphan's error at a BEGIN..COMMIT writing $o worker$([ $o = two ] && echo s) has 23514 and schema billing, table claim_lines, constraint claim_lines_addon_rule"
	if [ "$(sqlstate "$o_out")" = 23514 ] && [ "$(field 'SCHEMA NAME' "$o_out")" = billing ] &&
		[ "$(field 'TABLE NAME' "$o_out")" = claim_lines ] &&
		[ "$(field 'CONSTRAINT NAME' "$o_out")" = claim_lines_addon_rule ] &&
		grep -q '^ERROR: .*table "claim_lines"' <<<"$o_out"; then
		ok "$desc"
	else
		not_ok "$desc"; got "$o_out"
	fi
done

# ---------------------------------------------------------------- rule changes
# Each change is made on the coordinator; a claim on each worker must then be
# judged by the changed rules.
rules_before_changes() {
	[ "$(q "$PC" -c "SELECT valid_pairing('20934', '23210') AND valid_pairing('20933', '27704')
		AND NOT valid_pairing('20933', '99213') AND NOT EXISTS (SELECT 1 FROM cpt_rules.payer_pair)")" = t ]
}
check "the rules before the changes: 20934+23210 and 20933+27704 valid, 20933+99213 not, 0054T without payer primaries" \
	rules_before_changes

# on_workers VERB DESCRIPTION CODE...: a claim of those codes on each worker, accepted or rejected
on_workers() {
	local verb=$1 desc=$2 w port
	shift 2
	for w in 1 2; do
		port=PW$w
		port=${!port}
		fresh $CL "$port"
		out=$(run "$PC" <<<"$(lines $CL $ID "$@")")
		if [ "$verb" = rejected ]; then rejected "$desc (worker $w)" "$out" $CL $ID
		else accepted "$desc (worker $w)" "$out" $CL $# $ID; fi
	done
}

out=$(run "$PC" <<'SQL'
CREATE TEMP TABLE aoc_in (LIKE cpt_rules.cms_aoc_file);
INSERT INTO aoc_in
SELECT aoc_type::text, addon::text, to_char(addon_deleted, 'YYYYDDD'), coalesce(primary_code::text, 'CCCCC'),
       to_char(primary_deleted, 'YYYYDDD'), to_char(edit_effective, 'YYYYDDD'), to_char(edit_deleted, 'YYYYDDD'), notes
  FROM cpt_rules.aoc_edit WHERE NOT (addon = '20934' AND primary_code = '23210');
SELECT change, addon, primary_code FROM cpt_rules.refresh_cms_edits('aoc_in');
SQL
)
if [ "$(sqlstate "$out")" = 00000 ] && grep -q '^removed|20934|23210$' <<<"$out"; then
	ok "refresh_cms_edits from a file without 20934+23210 runs on the coordinator and removes that pairing"
else
	not_ok "refresh_cms_edits from a file without 20934+23210 runs on the coordinator and removes that pairing"; got "$out"
fi
on_workers rejected "after refresh_cms_edits removed 20934+23210, a claim 23210 + 20934 is rejected with 23514" 23210 20934

# Citus sends an UPDATE or DELETE through the view to a node holding the
# rule tables, where the view's trigger cannot write to them: refused, and no
# node's rules change.  A shipped edit is removed through aoc_edit_removed.
out=$(run "$PC" <<<"DELETE FROM cpt_rules.aoc_edit WHERE addon = '20933' AND primary_code = '27704';")
# delete_refused OUTPUT: the DELETE's output is the refusal, and no node lost the pairing
delete_refused() {
	local p
	[ "$(sqlstate "$1")" = 0A000 ] && grep -q '^HINT: .*aoc_edit_removed' <<<"$1" || return 1
	for p in "$PC" "$PW1" "$PW2"; do
		[ "$(q "$p" -c "SELECT valid_pairing('20933', '27704')")" = t ] || return 1
	done
}
check "DELETE FROM cpt_rules.aoc_edit on Citus is refused (0A000, hint naming aoc_edit_removed), and 20933+27704 stays valid on every node" \
	delete_refused "$out"
out=$(run "$PC" <<<"INSERT INTO cpt_rules.aoc_edit_removed (addon, primary_code, edit_effective)
	SELECT addon, primary_code, edit_effective FROM cpt_rules.aoc_edit WHERE addon = '20933' AND primary_code = '27704';")
[ "$(sqlstate "$out")" = 00000 ] || { echo "# INSERT INTO cpt_rules.aoc_edit_removed failed:"; got "$out"; }
on_workers rejected "after 20933+27704 was removed (aoc_edit_removed), a claim 27704 + 20933 is rejected with 23514" 27704 20933

out=$(run "$PC" <<<"INSERT INTO cpt_rules.aoc_edit (aoc_type, addon, primary_code, edit_effective, notes)
	VALUES (1, '20933', '99213', '2019-01-01', 'local addition');")
[ "$(sqlstate "$out")" = 00000 ] || { echo "# INSERT INTO cpt_rules.aoc_edit failed:"; got "$out"; }
on_workers accepted "after INSERT INTO cpt_rules.aoc_edit of 20933+99213, a claim 99213 + 20933 commits" 99213 20933

out=$(run "$PC" <<<"INSERT INTO cpt_rules.payer_pair (addon, primary_code, note) VALUES ('0054T', '27447', 'payer policy');")
[ "$(sqlstate "$out")" = 00000 ] || { echo "# INSERT INTO cpt_rules.payer_pair failed:"; got "$out"; }
on_workers rejected "after a payer_pair row 0054T+27447, a claim 99213 + 0054T is rejected with 23514" 99213 0054T

out=$(run "$PC" <<<"BEGIN; DELETE FROM cpt_rules.aoc_edit WHERE addon = '20933' AND primary_code = '27365'; ROLLBACK;")
on_workers accepted "after a rolled-back DELETE of 20933+27365, a claim 27365 + 20933 still commits" 27365 20933

# what each node's own rule tables say now
for p in $PC $PW1 $PW2; do
	q "$p" -c "SELECT '# node $p rules: 20934+23210 ' || valid_pairing('20934', '23210') || ', 20933+27704 ' ||
		valid_pairing('20933', '27704') || ', 20933+99213 ' || valid_pairing('20933', '99213') ||
		', payer pairs ' || (SELECT count(*) FROM cpt_rules.payer_pair)"
done

# ---------------------------------------------------------------- a node added later
start_node w3 || bail "start a third worker"
PW3=$PORT_w3
out=$(q "$PC" -c "SELECT citus_add_node('$S', $PW3)" 2>&1) || bail "citus_add_node of a third worker" "$out"
has_cpt_rules() { [ -n "$(q "$1" -c "SELECT 1 FROM pg_extension WHERE extname = 'cpt_rules'")" ]; }
check "citus_add_node creates cpt_rules on the new worker" has_cpt_rules "$PW3"
move() { # move SHARD FROM_PORT TO_PORT
	run "$PC" <<<"SELECT citus_move_shard_placement($1, '$S', $2, '$S', $3, shard_transfer_mode => 'block_writes');"
}
fresh $CL "$PW1"
out=$(move "$SHARD" "$PW1" "$PW3")
move_refused() { [ "$(sqlstate "$1")" != 00000 ] && grep -q 'missing reference tables' <<<"$1"; }
check "a claim_lines shard cannot move to the new worker before the rule tables are there" move_refused "$out"
out=$(run "$PC" <<<"SELECT replicate_reference_tables(shard_transfer_mode => 'block_writes');")
[ "$(sqlstate "$out")" = 00000 ] || { echo "# replicate_reference_tables failed:"; got "$out"; }
out=$(move "$SHARD" "$PW1" "$PW3")
if [ "$(sqlstate "$out")" = 00000 ]; then
	ok "a claim_lines shard moves from worker 1 to the new worker (block_writes)"
else
	not_ok "a claim_lines shard moves from worker 1 to the new worker (block_writes)"; got "$out"
fi
fresh $CL "$PW3"; a=$ID
out=$(run "$PC" <<<"$(lines $CL $a 20933)")
rejected "on the new worker, an orphan 20933 is rejected with 23514" "$out" $CL $a
fresh $CL "$PW3"; a=$ID
out=$(run "$PC" <<<"$(lines $CL $a 27704 20933)")
rejected "on the new worker, 27704 + 20933 (deleted from aoc_edit before it joined) is rejected with 23514" "$out" $CL $a
fresh $CL "$PW3"; a=$ID
out=$(run "$PC" <<<"$(lines $CL $a 23210 20934)")
rejected "on the new worker, 23210 + 20934 (removed by the refresh before it joined) is rejected with 23514" "$out" $CL $a
fresh $CL "$PW3"; a=$ID
out=$(run "$PC" <<<"$(lines $CL $a 99213 0054T)")
rejected "on the new worker, 99213 + 0054T (payer primaries defined before it joined) is rejected with 23514" "$out" $CL $a
fresh $CL "$PW3"; a=$ID
out=$(run "$PC" <<<"$(lines $CL $a 99213 20933)")
accepted "on the new worker, 99213 + 20933 (added to aoc_edit before it joined) commits" "$out" $CL 2 $a

# ---------------------------------------------------------------- shard move
fresh $CL "$PW2"; moved=$SHARD
before=$(q "$PC" -c "SELECT count(*) FROM $CL")
out=$(move "$moved" "$PW2" "$PW1")
# moved_keeping_lines OUTPUT LINES: the move succeeded and the table still has its LINES lines
moved_keeping_lines() { [ "$(sqlstate "$1")" = 00000 ] && [ "$(q "$PC" -c "SELECT count(*) FROM $CL")" = "$2" ]; }
check "a claim_lines shard moves from worker 2 to worker 1 (block_writes), keeping every line" moved_keeping_lines "$out" "$before"
shard_has_triggers() { # shard_has_triggers PORT SHARD
	[ "$(q "$1" -c "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'billing.claim_lines_$2'::regclass
		AND tgname LIKE 'claim_lines_addon_rule_%'")" = 3 ]
}
check "the moved shard carries the rule's three triggers on worker 1" shard_has_triggers "$PW1" "$moved"
fresh $CL "$PW1" same "$moved"; a=$ID
out=$(run "$PC" <<<"$(lines $CL $a 20933)")
rejected "after the move, an orphan on the moved shard is rejected with 23514" "$out" $CL $a
fresh $CL "$PW1" same "$moved"; a=$ID
out=$(run "$PC" <<<"$(lines $CL $a 27365 20933)")
accepted "after the move, a valid claim on the moved shard commits" "$out" $CL 2 $a

# ---------------------------------------------------------------- audit
out=$(run "$PC" <<<"SELECT 'violations=' || count(*) FROM cpt_rules.addon_rule_violations('$CL', 'code', '{claim_id}', 'service_date');")
if [ "$(sqlstate "$out")" = 00000 ] && grep -q '^violations=0$' <<<"$out"; then
	ok "addon_rule_violations() on the enforced distributed table runs and finds no violation"
else
	not_ok "addon_rule_violations() on the enforced distributed table runs and finds no violation"; got "$out"
	grep '^violations=' <<<"$out" | sed 's/^/#   /'
fi
out=$(run "$PC" <<'SQL'
CREATE TABLE audit_claims (claim_id bigint, service_date date, code cpt_code);
SELECT create_distributed_table('audit_claims', 'claim_id', shard_count => 8);
INSERT INTO audit_claims VALUES (1, '2024-03-01', '27365'), (1, '2024-03-01', '20933'),
	(2, '2024-03-01', '27447'), (2, '2024-03-01', '20933'), (3, '2024-03-01', '20933');
SELECT 'found=' || string_agg(group_key::text || ' ' || addon, ';' ORDER BY group_key::text)
  FROM cpt_rules.addon_rule_violations('audit_claims', 'code', '{claim_id}', 'service_date');
SELECT 'tables=' || string_agg(DISTINCT line_table::text, ',')
  FROM cpt_rules.addon_rule_violations('audit_claims', 'code', '{claim_id}', 'service_date');
SQL
)
if [ "$(sqlstate "$out")" = 00000 ] && grep -q '^found={"claim_id": 2} 20933;{"claim_id": 3} 20933$' <<<"$out"; then
	ok "addon_rule_violations() on an unenforced distributed table lists exactly its two orphans"
else
	not_ok "addon_rule_violations() on an unenforced distributed table lists exactly its two orphans"; got "$out"
	grep '^found=' <<<"$out" | sed 's/^/#   /'
fi
if grep -q '^tables=audit_claims$' <<<"$out"; then
	ok "... and gives audit_claims as the table of each line"
else
	not_ok "... and gives audit_claims as the table of each line"; grep '^tables=' <<<"$out" | sed 's/^/#   /'
fi

# ---------------------------------------------------------------- distribution
ENF() { echo "SELECT cpt_rules.enforce_addon_rule('$1', code => 'code', group_by => '{claim_id}');"; }
dist_by() { echo "SELECT create_distributed_table('$1', '$2', shard_count => 8);"; }
mis() { # mis DESCRIPTION OUTPUT TABLE: refused with an error naming claim_id, and not distributed by line_no
	local col
	col=$(q "$PC" -c "SELECT column_to_column_name(logicalrelid, partkey) FROM pg_dist_partition WHERE logicalrelid = '$3'::regclass")
	if [ "$(sqlstate "$2")" != 00000 ] && grep -E '^(ERROR|DETAIL|HINT):' <<<"$2" | grep -q claim_id &&
		[ "$col" != line_no ]; then
		ok "$1"
	else
		not_ok "$1"; got "$2"; echo "#   $3 distributed by: '${col}'"
	fi
}
out=$(run "$PC" <<SQL
CREATE TABLE md_after (claim_id bigint, line_no int, code cpt_code);
CREATE INDEX ON md_after (claim_id);
$(ENF md_after)
SET citus.enable_unsafe_triggers = on;
$(dist_by md_after line_no)
SQL
)
mis "create_distributed_table by line_no of a table enforced by claim_id is refused, naming claim_id" "$out" md_after
out=$(run "$PC" <<SQL
CREATE TABLE md_before (claim_id bigint, line_no int, code cpt_code);
CREATE INDEX ON md_before (claim_id);
$(dist_by md_before line_no)
SET citus.enable_unsafe_triggers = on;
$(ENF md_before)
SQL
)
if [ "$(sqlstate "$out")" != 00000 ] && grep -E '^(ERROR|DETAIL|HINT):' <<<"$out" | grep -q claim_id &&
	[ -z "$(q "$PC" -c "SELECT 1 FROM cpt_rules.enforced_rules WHERE table_name::text = 'md_before'" 2>/dev/null)" ]; then
	ok "enforce_addon_rule by claim_id on a table distributed by line_no is refused, naming claim_id"
else
	not_ok "enforce_addon_rule by claim_id on a table distributed by line_no is refused, naming claim_id"; got "$out"
fi
out=$(run "$PC" <<SQL
CREATE TABLE md_good (claim_id bigint, line_no int, service_date date, code cpt_code);
CREATE INDEX ON md_good (claim_id);
$(ENF md_good)
SET citus.enable_unsafe_triggers = on;
$(dist_by md_good claim_id)
$(lines md_good 1 20933)
SQL
)
col=$(q "$PC" -c "SELECT column_to_column_name(logicalrelid, partkey) FROM pg_dist_partition WHERE logicalrelid = 'md_good'::regclass")
if [ "$col" = claim_id ] && [ "$(sqlstate "$out")" = 23514 ] && grep -q '^ERROR: .*has no eligible primary code' <<<"$out"; then
	ok "an enforced table distributed afterwards by claim_id (the group key) is accepted and rejects an orphan with 23514"
else
	not_ok "an enforced table distributed afterwards by claim_id (the group key) is accepted and rejects an orphan with 23514"
	got "$out"; echo "#   md_good distributed by: '${col}'"
fi

out=$(run "$PC" <<'SQL'
CREATE TABLE visits (patient_id bigint, npi bigint, dos date, code cpt_code);
CREATE INDEX ON visits (patient_id, npi, dos);
SELECT create_distributed_table('visits', 'patient_id', shard_count => 8);
SET citus.enable_unsafe_triggers = on;
SELECT cpt_rules.enforce_addon_rule('visits', code => 'code', group_by => '{patient_id, npi, dos}', service_date => 'dos');
SQL
)
[ "$(sqlstate "$out")" = 00000 ] && ok "a rule by (patient_id, npi, dos) is enforced on a table distributed by patient_id" ||
	{ not_ok "a rule by (patient_id, npi, dos) is enforced on a table distributed by patient_id"; got "$out"; }
out=$(run "$PC" <<<"INSERT INTO visits VALUES (7, 111, '$DOS', '27365'), (7, 111, '$DOS', '20933');")
check "... a visit with 27365 + 20933 by one NPI on one day commits" [ "$(sqlstate "$out")" = 00000 ]
[ "$(sqlstate "$out")" = 00000 ] || got "$out"
out=$(run "$PC" <<<"INSERT INTO visits VALUES (8, 111, '$DOS', '27365'), (8, 222, '$DOS', '20933');")
if [ "$(sqlstate "$out")" = 23514 ] && [ "$(q "$PC" -c "SELECT count(*) FROM visits WHERE patient_id = 8")" = 0 ]; then
	ok "... 20933 billed by another NPI than the 27365 is rejected with 23514"
else
	not_ok "... 20933 billed by another NPI than the 27365 is rejected with 23514"; got "$out"
fi

# ---------------------------------------------------------------- text codes, enforced NOT VALID
# A warehouse's table as it is: text codes with junk, a claim breaking the
# rule stored before it, the rule enforced NOT VALID and validated later.
out=$(run "$PC" <<'SQL'
CREATE TABLE medical_claim (claim_id text, claim_line_start_date date, hcpcs_code text);
CREATE INDEX ON medical_claim (claim_id);
SELECT create_distributed_table('medical_claim', 'claim_id', shard_count => 8);
INSERT INTO medical_claim SELECT 'C' || g, DATE '2026-08-01', c
  FROM generate_series(1, 40) g, unnest(ARRAY[' 27365', '20933 ', 'XXXXX', '0450']) c;
INSERT INTO medical_claim VALUES ('BAD', '2026-08-01', 'j3490'), ('BAD', '2026-08-01', '20933');
SET citus.enable_unsafe_triggers = on;
SELECT cpt_rules.enforce_addon_rule('medical_claim', code => 'hcpcs_code', group_by => '{claim_id}',
	service_date => 'claim_line_start_date', validate => false);
SQL
)
[ "$(sqlstate "$out")" = 00000 ] && ok "a rule on a distributed table's text codes is enforced NOT VALID over a stored violation" ||
	{ not_ok "a rule on a distributed table's text codes is enforced NOT VALID over a stored violation"; got "$out"; }
out=$(run "$PC" <<<"INSERT INTO medical_claim VALUES ('NEW1', '2026-08-02', '20933'), ('NEW1', '2026-08-02', '2736X');")
if [ "$(sqlstate "$out")" = 23514 ] && [ "$(q "$PC" -c "SELECT count(*) FROM medical_claim WHERE claim_id = 'NEW1'")" = 0 ]; then
	ok "... a new claim whose primary is junk is rejected with 23514"
else
	not_ok "... a new claim whose primary is junk is rejected with 23514"; got "$out"
fi
out=$(run "$PC" <<<"INSERT INTO medical_claim VALUES ('NEW2', '2026-08-02', ' 20933'), ('NEW2', '2026-08-02', '27365 ');")
check "... a new claim with blanks around its codes commits" [ "$(sqlstate "$out")" = 00000 ]
out=$(run "$PC" <<<"SELECT cpt_rules.validate_addon_rule('medical_claim');")
if [ "$(sqlstate "$out")" = 23514 ] && grep -q 'has 1 add-on line(s) without an eligible primary code' <<<"$out" &&
	[ "$(q "$PC" -c "SELECT validated FROM cpt_rules.enforced_rules WHERE table_name = 'medical_claim'::regclass")" = f ]; then
	ok "... validating it finds the stored claim on the workers, and the rule stays NOT VALID"
else
	not_ok "... validating it finds the stored claim on the workers, and the rule stays NOT VALID"; got "$out"
fi
out=$(run "$PC" <<<"DELETE FROM medical_claim WHERE claim_id = 'BAD'; SELECT cpt_rules.validate_addon_rule('medical_claim');")
if [ "$(sqlstate "$out")" = 00000 ] &&
	[ "$(q "$PC" -c "SELECT validated FROM cpt_rules.enforced_rules WHERE table_name = 'medical_claim'::regclass")" = t ]; then
	ok "... and once the claim is gone it validates"
else
	not_ok "... and once the claim is gone it validates"; got "$out"
fi

# ---------------------------------------------------------------- MUE
# The MUE rule on a table distributed by a group column: each worker checks
# its shards by its own placement of the MUE tables (reference tables, as the
# add-on edits are), and an MUE table loaded on the coordinator is what every
# worker judges by from then on.
expect_ok() { if [ "$(sqlstate "$2")" = 00000 ]; then ok "$1"; else not_ok "$1"; got "$2"; fi; }
# mue_shard_triggers: the MUE rule's triggers on the shards of mue_lines
mue_shard_triggers() {
	q "$PC" -c "SELECT sum(result::int) FROM run_command_on_shards('mue_lines',
		\$\$SELECT count(*) FROM pg_trigger WHERE tgrelid = '%s'::regclass
		   AND tgfoid = 'cpt_rules.mue_rule_trigger()'::regprocedure\$\$)"
}
# mue_refused DESCRIPTION OUTPUT PATIENT WANT: 23514 naming the MUE and the
# distributed table, the patient's stored lines WANT
mue_refused() {
	local n
	n=$(q "$PC" -c "SELECT count(*) FROM mue_lines WHERE patient = $3")
	if [ "$(sqlstate "$2")" = 23514 ] && grep -q '^ERROR: .*over its MUE of' <<<"$2" &&
		grep -q '^TABLE NAME:  mue_lines$' <<<"$2" && [ "$n" = "$4" ]; then
		ok "$1"
	else
		not_ok "$1"; got "$2"; echo "#   lines stored: $n of $4"
	fi
}
out=$(run "$PC" <<'SQL'
CREATE TABLE mue_lines (patient int, npi text, dos date, code cpt_code, units int);
CREATE INDEX ON mue_lines (patient, npi, dos);
SELECT create_distributed_table('mue_lines', 'patient', shard_count => 8);
INSERT INTO mue_lines SELECT g, 'A', DATE '2026-08-03', '27447', 1 FROM generate_series(1, 40) g;
INSERT INTO mue_lines VALUES (7, 'A', DATE '2026-08-03', '27447', 1), (9, 'A', DATE '2026-08-03', 'A0425', 251);
SELECT cpt_rules.enforce_mue_rule('mue_lines', code => 'code', units => 'units', group_by => '{patient,npi}',
	service_date => 'dos');
SQL
)
if [ "$(sqlstate "$out")" = 23514 ] && grep -q 'over their medically unlikely edit' <<<"$out" &&
	[ "$(q "$PC" -c "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'mue_lines'::regclass AND tgfoid = 'cpt_rules.mue_rule_trigger()'::regprocedure")" = 0 ]; then
	ok "enforcing an MUE rule on a distributed table validates its shards on the workers: the stored day over its MUE refused"
else
	not_ok "enforcing an MUE rule on a distributed table validates its shards on the workers: the stored day over its MUE refused"; got "$out"
fi
out=$(q "$PC" -c "SELECT string_agg(format('%s %s %s %s', group_key->>'patient', billed_code, indicator, units_billed), '; ' ORDER BY 1)
	FROM cpt_rules.mue_violations('mue_lines', 'code', 'units', '{patient,npi}', 'dos')" 2>&1)
check "... its audit finds the day over its MUE and the line over its MUE on the workers" \
	[ "$out" = "7 27447 2 2; 9 A0425 1 251" ]
out=$(run "$PC" <<'SQL'
DELETE FROM mue_lines WHERE patient IN (7, 9);
SELECT cpt_rules.enforce_mue_rule('mue_lines', code => 'code', units => 'units', group_by => '{patient,npi}',
	service_date => 'dos');
SQL
)
if [ "$(sqlstate "$out")" = 00000 ] && [ "$(mue_shard_triggers)" = 24 ] &&
	[ "$(q "$PC" -c "SELECT count(*) FROM pg_dist_partition WHERE repmodel = 't' AND logicalrelid = ANY (cpt_rules.citus_rule_tables())")" = 8 ]; then
	ok "... once valid it is enforced: its three triggers on each of the 8 shards, the MUE tables reference tables"
else
	not_ok "... once valid it is enforced: its three triggers on each of the 8 shards, the MUE tables reference tables"; got "$out"
	echo "#   shard triggers: $(mue_shard_triggers)"
fi
out=$(run "$PC" <<<"INSERT INTO mue_lines VALUES (3, 'A', DATE '2026-08-03', '27447', 1);")
mue_refused "a second unit of 27447 (MUE 1, indicator 2) on one day for one patient, on a worker: 23514 naming the MUE and mue_lines" "$out" 3 1
out=$(run "$PC" <<<"BEGIN; INSERT INTO mue_lines VALUES (4, 'A', DATE '2026-08-04', '27447', 1); INSERT INTO mue_lines VALUES (4, 'A', DATE '2026-08-04', '27447', 1); COMMIT;")
mue_refused "... two units in one transaction, checked at COMMIT on the worker" "$out" 4 1
out=$(run "$PC" <<<"INSERT INTO mue_lines VALUES (5, 'A', DATE '2026-08-03', 'A0425', 251);")
mue_refused "... 251 units of A0425 on one line (MUE 250, indicator 1)" "$out" 5 1
out=$(run "$PC" <<<"INSERT INTO mue_lines VALUES (5, 'A', DATE '2026-08-04', '27447', 1), (6, 'A', DATE '2026-08-03', 'A0425', 250);")
expect_ok "... another day, another patient, and 250 units of A0425 are accepted" "$out"
# A later quarter loaded on the coordinator, raising 27447's MUE to 2: the
# workers judge October by it, August still by the shipped table.
out=$(run "$PC" <<SQL
CREATE TEMP TABLE mue_in (LIKE cpt_rules.cms_mue_file);
\\copy mue_in FROM '$here/data/MCR_MUE_PractitionerServices_excerpt_Eff_07-01-2026.csv' WITH (FORMAT csv, ENCODING 'LATIN1')
UPDATE mue_in SET mue_value = '2' WHERE hcpcs_code = '27447';
SELECT count(*) FROM cpt_rules.refresh_mue_edits('mue_in', 'practitioner', '2026-10-01', allow_shrink => true);
SQL
)
expect_ok "an MUE table loaded on the coordinator (27447: MUE 2 from 2026-10-01)" "$out"
out=$(run "$PC" <<<"INSERT INTO mue_lines VALUES (3, 'A', DATE '2026-10-05', '27447', 1), (3, 'A', DATE '2026-10-05', '27447', 1);")
expect_ok "... two units of 27447 on an October day are accepted on the worker" "$out"
out=$(run "$PC" <<<"INSERT INTO mue_lines VALUES (3, 'A', DATE '2026-10-05', '27447', 1);")
mue_refused "... a third is refused" "$out" 3 3
out=$(run "$PC" <<<"INSERT INTO mue_lines VALUES (3, 'A', DATE '2026-08-03', '27447', 1);")
mue_refused "... and a second on the August day still is" "$out" 3 3
out=$(run "$PC" <<'SQL'
CREATE TABLE mue_by_date (patient int, npi text, dos date, code cpt_code, units int);
SELECT create_distributed_table('mue_by_date', 'dos', shard_count => 4);
SELECT cpt_rules.enforce_mue_rule('mue_by_date', code => 'code', units => 'units', group_by => '{patient,npi}',
	service_date => 'dos');
SQL
)
check "an MUE rule on a table distributed by the date, not a group column, is refused with 0A000" \
	[ "$(sqlstate "$out")" = 0A000 ]
out=$(run "$PC" <<<"SELECT cpt_rules.drop_mue_rule('mue_lines');")
check "drop_mue_rule removes the triggers from every shard" [ "$(mue_shard_triggers)" = 0 ]

# ---------------------------------------------------------------- reference and local tables
for kind in reference local; do
	t=${kind}_claims
	case $kind in
		reference) make="SELECT create_reference_table('$t');" ;;
		local) make="SELECT citus_add_local_table_to_metadata('$t');" ;;
	esac
	out=$(run "$PC" <<SQL
CREATE TABLE $t (claim_id bigint, service_date date, code cpt_code);
CREATE INDEX ON $t (claim_id);
$make
SET citus.enable_unsafe_triggers = on;
SELECT cpt_rules.enforce_addon_rule('$t', code => 'code', group_by => '{claim_id}', service_date => 'service_date');
SQL
)
	[ "$(sqlstate "$out")" = 00000 ] && ok "the rule is enforced on a $kind table" ||
		{ not_ok "the rule is enforced on a $kind table"; got "$out"; }
	out=$(run "$PC" <<<"$(lines $t 1 27365 20933)")
	accepted "a valid claim commits in the $kind table" "$out" $t 2 1
	out=$(run "$PC" <<<"$(lines $t 2 20933)")
	rejected "an orphan in the $kind table is rejected with 23514" "$out" $t 2
	out=$(run "$PC" <<<"BEGIN; $(lines $t 3 20933) COMMIT;")
	rejected "an orphan in the $kind table in BEGIN..COMMIT is rejected with 23514" "$out" $t 3
done

# ---------------------------------------------------------------- ALTER EXTENSION UPDATE
# A cluster made at 1.3 (the version before Citus support), in a database of
# its own on the same nodes (for Citus a cluster of its own: its nodes
# registered in it, all three workers), with a table distributed by claim_id
# holding claims.  ALTER EXTENSION cpt_rules UPDATE on the coordinator alone
# must bring every node to the new version (Citus sends the statement to the
# other nodes in the same transaction), after which the rule is enforced as
# on a fresh install: orphans rejected on every worker, valid claims
# committed, a rule change made on the coordinator seen by every worker.
latest=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$here/../cpt_rules.control")
UW=("$PW1" "$PW2" "$PW3")
versions() { # the cpt_rules version on the coordinator and each worker
	local p
	for p in "$PC" "${UW[@]}"; do q "$p" -c "SELECT coalesce(max(extversion), '-') FROM pg_extension WHERE extname = 'cpt_rules'"; done |
		paste -sd ' '
}
CLUSTER_DB=cpt_upgrade
UL=upgrade_lines
if out=$(cluster_database "$CLUSTER_DB" 2>&1) &&
	out=$(register_nodes "$PC" "${UW[@]}" -- "CREATE EXTENSION cpt_rules VERSION '1.3';" \
		"CREATE TABLE $UL (claim_id bigint NOT NULL, service_date date NOT NULL, code cpt_code);" \
		"CREATE INDEX ON $UL (claim_id);" \
		"SELECT create_distributed_table('$UL', 'claim_id', shard_count => 8);" \
		"INSERT INTO $UL SELECT i, '$DOS', c FROM generate_series(1000001, 1000100) i, unnest('{27365,20933,99213}'::cpt_code[]) c;"); then
	echo "# database $CLUSTER_DB: cpt_rules $(versions) on the coordinator and workers $PW1 $PW2 $PW3"
	check "CREATE EXTENSION cpt_rules VERSION '1.3' on the coordinator creates 1.3 on every worker" \
		[ "$(versions)" = '1.3 1.3 1.3 1.3' ]
	out=$(run "$PC" <<<"ALTER EXTENSION cpt_rules UPDATE;")
	v=$(versions)
	if [ "$(sqlstate "$out")" = 00000 ] && [ "$v" = "$latest $latest $latest $latest" ]; then
		ok "ALTER EXTENSION cpt_rules UPDATE on the coordinator alone brings the coordinator and every worker to $latest"
	else
		not_ok "ALTER EXTENSION cpt_rules UPDATE on the coordinator alone brings the coordinator and every worker to $latest"
		got "$out"; echo "#   versions on the coordinator and workers: $v"
	fi
	out=$(run "$PC" <<<"SELECT cpt_rules.enforce_addon_rule('$UL', code => 'code', group_by => '{claim_id}', service_date => 'service_date');")
	if [ "$(sqlstate "$out")" = 00000 ] &&
		[ -n "$(q "$PC" -c "SELECT 1 FROM cpt_rules.enforced_rules WHERE table_name = '$UL'::regclass AND enabled")" ]; then
		ok "after the update, enforce_addon_rule by claim_id (without citus.enable_unsafe_triggers) enforces the rule on the distributed table and its 300 lines"
	else
		not_ok "after the update, enforce_addon_rule by claim_id (without citus.enable_unsafe_triggers) enforces the rule on the distributed table and its 300 lines"
		got "$out"
	fi
	for w in 1 2 3; do
		fresh $UL "${UW[$((w - 1))]}"; a=$ID
		out=$(run "$PC" <<<"$(lines $UL $a 20933)")
		rejected "after the update, an orphan 20933 on a shard of worker $w is rejected with 23514" "$out" $UL $a
		fresh $UL "${UW[$((w - 1))]}"; a=$ID
		out=$(run "$PC" <<<"$(lines $UL $a 27365 20933)")
		accepted "after the update, a valid claim 27365 + 20933 on a shard of worker $w commits" "$out" $UL 2 $a
	done
	out=$(run "$PC" <<<"INSERT INTO cpt_rules.payer_pair (addon, primary_code, note) VALUES ('0054T', '27447', 'payer policy');")
	[ "$(sqlstate "$out")" = 00000 ] || { echo "# INSERT INTO cpt_rules.payer_pair failed:"; got "$out"; }
	for w in 1 2 3; do
		fresh $UL "${UW[$((w - 1))]}"; a=$ID
		out=$(run "$PC" <<<"$(lines $UL $a 99213 0054T)")
		rejected "after the update, a payer_pair row added on the coordinator rejects 99213 + 0054T on worker $w" "$out" $UL $a
	done
else
	not_ok "a database $CLUSTER_DB on every node, its nodes registered, cpt_rules 1.3 created, a table distributed by claim_id"
	got "$out"
fi
CLUSTER_DB=postgres

crashes=$(grep -h -A1 "terminated by signal" "$base"/*/server.log 2>/dev/null)
if [ -z "$crashes" ]; then
	ok "no server process crashed on any node"
else
	not_ok "no server process crashed on any node"
	head -8 <<<"$crashes" | sed 's/^.*LOG: */#   /; s/^.*DETAIL: */#   /'
fi
[ "$(sha256sum "$lib" 2>/dev/null)" = "$lib_sum" ] ||
	echo "# WARNING: $lib was reinstalled while this suite ran: its results may mix two builds"
tap_plan
