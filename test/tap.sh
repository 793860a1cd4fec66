# TAP lines for the shell suites in test/suites (test/run_all.sh counts
# them).  Source it; do not run it.
tap_count=0
ok() { tap_count=$((tap_count + 1)); echo "ok $tap_count - $1"; }
not_ok() { tap_count=$((tap_count + 1)); echo "not ok $tap_count - $1"; }
# check DESCRIPTION COMMAND...: ok when the command (a string, evaluated) succeeds
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
tap_plan() { echo "1..$tap_count"; }
