#!/usr/bin/env bash
# The regression and isolation suites with every backend under valgrind
# memcheck.  PostgreSQL itself is not built for valgrind here, so only
# reports whose stack passes through the extension's code count: no invalid
# read or write, no use of freed or uninitialised memory in cpt_rules.
# Starts its own cluster (under valgrind) next to the suite's.
set -uo pipefail
. "$(dirname "$0")/../tap.sh"
cd "$(dirname "$0")/../.."
. test/lib.sh

command -v valgrind >/dev/null || ensure_packages valgrind
vg=$(mktemp -d /tmp/cpt_rules_vg.XXXXXX)
port=$(free_port)
init_cluster "$vg" "$port" "max_connections = 20" || { not_ok "initdb"; tap_plan; exit 1; }
as_pg valgrind --quiet --tool=memcheck --trace-children=no --track-origins=yes \
	--read-var-info=no --num-callers=30 --error-limit=no \
	--log-file="$vg/vg.%p.log" "$PGBIN/postgres" -D "$vg/data" >"$vg/server.log" 2>&1 &
vgpid=$!
cleanup() {
	as_pg "$PGBIN/pg_ctl" -D "$vg/data" -m fast -w -t 120 stop >/dev/null 2>&1 || kill "$vgpid" 2>/dev/null
	wait "$vgpid" 2>/dev/null
}
trap 'cleanup; rm -rf "$vg"' EXIT
export PGUSER=postgres
for _ in $(seq 1 120); do
	PGHOST=$vg PGPORT=$port psql -X -At -c "SELECT 1" postgres >/dev/null 2>&1 && break
	sleep 1
done

# All regression tests but refresh: it is plpgsql and SQL over 7,743 rows
# (ten minutes under valgrind), and the C it reaches, the rules cache, is
# exercised by the rules test.
regress=$(sed -n 's/^REGRESS = //p' Makefile | sed 's/\brefresh\b//')
if PGHOST=$vg PGPORT=$port make -s installcheck-regress REGRESS="$regress" >"$vg/regress.out" 2>&1; then
	ok "regression suite passes under valgrind"
else
	not_ok "regression suite passes under valgrind"; grep -E "FAILED|failed" "$vg/regress.out" | sed 's/^/# /'
fi
if PGHOST=$vg PGPORT=$port make -s installcheck-isolation >"$vg/isolation.out" 2>&1; then
	echo "# isolation suite passes under valgrind"
else
	# timing differs 20-50x under valgrind, so only memory errors count here
	echo "# isolation suite output differs under valgrind (timing); memory errors are checked below"
fi
cleanup

# Any error report whose stack names the extension's code or library.
errors=0
for f in "$vg"/vg.*.log; do
	[ -e "$f" ] || continue
	awk -v RS= '/cpt_rules|cpt_code|rules_|addon_|rule_info|rule_markers|rule_sql|group_check|group_map|ddl_guard|mue_|ptp_|cms_file|cms_yyyymmdd/' "$f" >>"$vg/ours.txt"
done 2>/dev/null
[ -f "$vg/ours.txt" ] && errors=$(grep -c "^==[0-9]*== [A-Z]" "$vg/ours.txt")
total=$(cat "$vg"/vg.*.log 2>/dev/null | grep -c "^==[0-9]*== [A-Z][a-z]" || true)
if [ "${errors:-0}" -eq 0 ]; then
	ok "no memcheck error in the extension's code ($(ls "$vg"/vg.*.log 2>/dev/null | wc -l) backends checked, $total reports elsewhere)"
else
	not_ok "memcheck errors in the extension's code"; head -60 "$vg/ours.txt" | sed 's/^/# /'
fi
tap_plan
