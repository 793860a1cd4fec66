# TAP lines for the shell suites in test/suites (test/run_all.sh counts
# them with a TAP parser).  Source it; do not run it.
tap_count=0
tap_started=$SECONDS
ok() { tap_count=$((tap_count + 1)); echo "ok $tap_count - $1"; }
not_ok() { tap_count=$((tap_count + 1)); echo "not ok $tap_count - $1"; }
# check DESCRIPTION COMMAND [ARG...]: ok when the command succeeds (a
# negation or a compound test goes in a small function of the suite)
check() { if "${@:2}"; then ok "$1"; else not_ok "$1"; fi; }
# tap_time: the suite's own time, as a TAP comment named after the suite
tap_time() { echo "# $(basename "$0" .sh): $((SECONDS - tap_started)) s"; }
# tap_plan: the plan, then the time; every suite ends with it
tap_plan() { echo "1..$tap_count"; tap_time; }
