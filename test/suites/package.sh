#!/usr/bin/env bash
# The Debian package: debian/ builds postgresql-NN-cpt-rules with
# dpkg-buildpackage (whose build runs installcheck under pg_virtualenv), the
# .deb installs, and the autopkgtest (debian/tests/installcheck) passes from
# a pristine copy of the tree, against the installed files only.  The
# make-installed files are put back afterwards for the suites that follow.
set -uo pipefail
. "$(dirname "$0")/../tap.sh"
cd "$(dirname "$0")/../.."
. test/lib.sh

ensure_packages debhelper dpkg-dev fakeroot postgresql-all
work=$(mktemp -d /tmp/cpt_rules_pkg.XXXXXX)
trap 'rm -rf "$work"' EXIT

copy_tree "$work/src"
# debian/control lists the packages for this distribution's server versions
# (Debian 12: 15); elsewhere it is made again from control.in first, as
# Debian's PostgreSQL extension packages do
if (cd "$work/src" && { pg_buildext checkcontrol >/dev/null 2>&1 || pg_buildext updatecontrol; } &&
	dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b builds the package (its build ran installcheck: $(grep -o '^test [a-z_]* .*\.\.\. ok' "$work/build.log" | awk '{print $2}' | sort -u | wc -l) tests ok)"
else
	not_ok "dpkg-buildpackage -us -uc -b"; tail -30 "$work/build.log" | sed 's/^/# /'
fi
deb=$(ls "$work"/postgresql-"$PG_MAJOR"-cpt-rules_*.deb 2>/dev/null | head -1)
check "the package postgresql-$PG_MAJOR-cpt-rules was made" [ -n "$deb" ]
[ -n "$deb" ] && dpkg-deb -c "$deb" >"$work/contents.txt"
# holds_files LISTING: the package's listing names every file the extension needs
holds_files() {
	grep -q 'cpt_rules.so' "$1" && grep -q 'cpt_rules.control' "$1" &&
		grep -q 'cpt_rules--1.1--1.2.sql' "$1" && grep -q 'cpt_rules--1.0.sql' "$1"
}
check "it holds the module, the control file and the install and upgrade scripts" holds_files "$work/contents.txt"
if [ -n "$deb" ] && as_root dpkg -i "$deb" >"$work/install.log" 2>&1; then
	ok "dpkg -i installs it"
	copy_tree "$work/pristine"
	if (cd "$work/pristine" && debian/tests/installcheck) >"$work/check.log" 2>&1; then
		ok "debian/tests/installcheck passes against the installed package ($(grep -o '^test [a-z_]* .*\.\.\. ok' "$work/check.log" | awk '{print $2}' | sort -u | wc -l) tests ok)"
	else
		not_ok "debian/tests/installcheck against the installed package"; tail -30 "$work/check.log" | sed 's/^/# /'
	fi
	check "the pristine copy was not built" [ ! -e "$work/pristine/cpt_rules.so" ]
	as_root dpkg -r "postgresql-$PG_MAJOR-cpt-rules" >/dev/null 2>&1
else
	not_ok "dpkg -i installs it"; sed 's/^/# /' "$work/install.log" 2>/dev/null | tail -10
fi
# put the make-installed files back for the suites after this one
make -s PG_CONFIG="$PG_CONFIG" >/dev/null && as_root make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
check "the make-installed extension is back" [ -e "$("$PG_CONFIG" --pkglibdir)/cpt_rules.so" ]
tap_plan
