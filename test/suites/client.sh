#!/usr/bin/env bash
# A real application client (Python, psycopg 3) against the suite's cluster.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/tap.sh
/usr/bin/python3 test/client/claims_client.py
rc=$?
tap_time
exit $rc
