#!/usr/bin/env bash
# Run a command of this source tree inside a Debian root that has another
# PostgreSQL major version: 17 from Debian trixie, 18 from Debian sid (16 is
# in neither).  The roots are made with debootstrap from the machine's own
# Debian mirror on first use and kept under $CPT_RULES_ROOTS (default
# /var/cache/cpt_rules-roots), so later runs only refresh the copy of the
# source tree.  Must run as root (debootstrap, chroot, mounts).
#
# Usage: test/pg_root.sh VERSION COMMAND [ARG...]
#   e.g. test/pg_root.sh 17 test/run_all.sh --quick
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

version=${1:?usage: test/pg_root.sh VERSION COMMAND...}
shift
case $version in
	17) suite=trixie ;;
	18) suite=sid ;;
	*) echo "PostgreSQL $version: no Debian root provides it (15 is this machine's own; 17 is trixie's, 18 sid's)" >&2
	   exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "test/pg_root.sh must run as root" >&2; exit 2; }

roots=${CPT_RULES_ROOTS:-/var/cache/cpt_rules-roots}
root=$roots/$suite
# the machine's own Debian mirror (deb lines or deb822 URIs), not its security one
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
	sed -nE 's,^(deb(-src)?( \[[^]]*\])?|URIs:) +(https?://[^ ]+).*,\4,p' | grep -v security | sed -n 1p || true)
mirror=${mirror:-http://deb.debian.org/debian}

if [ ! -e "$root/.cpt_rules-root" ]; then
	ensure_packages debootstrap
	echo "# making a Debian $suite root in $root (once)"
	rm -rf "$root"
	mkdir -p "$roots"
	debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$roots/$suite-debootstrap.log" 2>&1 ||
		{ tail -20 "$roots/$suite-debootstrap.log"; exit 1; }
	touch "$root/.cpt_rules-root"
fi

mounted=()
cleanup() {
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
for m in proc dev dev/pts; do
	if ! mountpoint -q "$root/$m"; then
		mkdir -p "$root/$m"
		case $m in
			proc) mount -t proc proc "$root/proc" ;;
			*) mount --bind "/$m" "$root/$m" ;;
		esac
		mounted+=("$root/$m")
	fi
done
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# sid's Release file may be past its Valid-Until on the mirror
echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99cpt-rules-no-valid-until"

# A fresh copy of the source tree (what git tracks, plus uncommitted changes).
rm -rf "$root/src/cpt_rules"
copy_tree "$root/src/cpt_rules"

# what the run on this machine left for the other versions (dump_restore)
cross=${CPT_RULES_CROSS_DIR:-/var/tmp/cpt_rules-cross}
if [ -d "$cross" ]; then
	rm -rf "$root$cross"; mkdir -p "$root$cross"; cp -a "$cross/." "$root$cross/"
fi

chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" CI="${CI:-}" \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	CPT_RULES_PG="$version" LANG=C.UTF-8 \
	/bin/bash -c 'cd /src/cpt_rules && exec "$@"' bash "$@"
