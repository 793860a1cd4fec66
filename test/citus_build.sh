#!/usr/bin/env bash
# Builds Citus 13.2.2 and installs it into the PostgreSQL the tests use (15
# unless CPT_RULES_PG says otherwise), so that test/suites/citus.sh can run.
# Does nothing when citus.so is already installed.  The source is the
# vendored tarball beside the repository, ../shared/vendor/ relative to its
# top directory; without it this says so and exits 0 (the suite then skips).
# The build runs in a temporary directory outside the repository, which is
# removed afterwards: no Citus code ever enters this tree.
#
# Usage: test/citus_build.sh [--force]
#   --force  build even when citus.so is installed; with DESTDIR set in the
#            environment, make install stages into it (a trial build)
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
. test/lib.sh

CITUS_VERSION=13.2.2
tarball=$(dirname "$top")/shared/vendor/citus-$CITUS_VERSION.tar.gz
start=$(date +%s)
elapsed() { echo $(($(date +%s) - start)); }
FORCE=
[ "${1:-}" = --force ] && FORCE=1
DESTDIR=${DESTDIR:-}
installed() { [ -x "$PG_CONFIG" ] && [ -f "$DESTDIR$("$PG_CONFIG" --pkglibdir)/citus.so" ]; }

case $PG_MAJOR in
	15|16|17) ;;
	*) echo "citus_build: Citus $CITUS_VERSION does not build against PostgreSQL $PG_MAJOR; not built"; exit 0 ;;
esac
if [ -z "$FORCE" ] && installed; then
	echo "citus_build: Citus is already installed ($("$PG_CONFIG" --pkglibdir)/citus.so); nothing to do"
	exit 0
fi
if [ ! -f "$tarball" ]; then
	echo "citus_build: no Citus source at $tarball; not built (the Citus suite will be skipped)"
	exit 0
fi

ensure_packages postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR build-essential \
	libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev libssl-dev libselinux1-dev \
	libxslt1-dev libpam0g-dev libreadline-dev autoconf flex bison

pkglibdir=$("$PG_CONFIG" --pkglibdir)

work=$(mktemp -d "${TMPDIR:-/tmp}/citus-build.XXXXXX")
log=$(mktemp "${TMPDIR:-/tmp}/citus-build-log.XXXXXX")
case $work in "$top"/*) echo "citus_build: refusing to build inside the repository" >&2; exit 1 ;; esac
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

fail() {
	echo "citus_build: FAILED ($1) after $(elapsed) s; last lines of $log:"
	tail -30 "$log"
	exit 1
}

tar -xzf "$tarball" -C "$work" >>"$log" 2>&1 || fail "unpacking $tarball"
src=$work/citus-$CITUS_VERSION
[ -d "$src" ] || fail "no citus-$CITUS_VERSION directory in the tarball"

# PostgreSQL 15.20 and later declare have_createdb_privilege(), which Citus's
# compatibility header also defines as a static function for servers before
# 16: rename Citus's copy so that its callers use the server's.
server_inc=$("$PG_CONFIG" --includedir-server)    # /usr/include/postgresql/15/server
if grep -rqs 'have_createdb_privilege(void)' "$server_inc"; then
	sed -i 's/^have_createdb_privilege(void)/citus_unused_have_createdb_privilege(void)/' \
		"$src/src/include/pg_version_compat.h"
	echo "renamed Citus's have_createdb_privilege (the server declares it)" >>"$log"
fi

(
	cd "$src" &&
		./configure PG_CONFIG="$PG_CONFIG" &&
		make -j2 &&
		as_root make install PG_CONFIG="$PG_CONFIG" ${DESTDIR:+DESTDIR="$DESTDIR"}
) >>"$log" 2>&1 || fail "configure, make or make install"

installed || fail "make install did not put citus.so in $DESTDIR$pkglibdir"
rm -f "$log"
echo "citus_build: Citus $CITUS_VERSION built and installed into PostgreSQL $PG_MAJOR ($DESTDIR$pkglibdir/citus.so) in $(elapsed) s"
