# Shared helpers for the demo and the test suite: install what is missing,
# build and install the extension, run a throwaway PostgreSQL cluster.
# Source it; do not run it.

# The PostgreSQL major version to build and test against: the machine's own
# (15 on Debian 12) unless CPT_RULES_PG says otherwise (test/pg_root.sh sets
# it inside a Debian root that has that version).
PG_MAJOR=${CPT_RULES_PG:-15}
PGBIN=/usr/lib/postgresql/$PG_MAJOR/bin
export PG_CONFIG=$PGBIN/pg_config
export PATH=$PGBIN:$PATH

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages this project needs, installed only when missing.
ensure_packages() {
	local missing=()
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$pkg")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "installing: ${missing[*]}"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

BASE_PACKAGES=(postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-client-$PG_MAJOR
	build-essential)

# Files an earlier install left behind are removed first, so that a script
# missing from this tree cannot be found there.
build_and_install() {
	make -s clean >/dev/null
	make -s PG_CONFIG="$PG_CONFIG" || return 1
	as_root rm -f "$("$PG_CONFIG" --sharedir)"/extension/cpt_rules[-.]*
	as_root make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
}

# copy_tree DIR: this source tree as git tracks it (with uncommitted and
# untracked, not ignored, files), nothing built, into DIR.
copy_tree() {
	mkdir -p "$1"
	if git rev-parse --git-dir >/dev/null 2>&1; then
		git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
			tar -c --null -T - | tar -x -C "$1"
	else
		tar -c --exclude=./build . | tar -x -C "$1"
	fi
}

# single_user DATADIR [callgrind] < statements: run them, one a line and
# each its own transaction, in a single-user backend on the stopped cluster
# in DATADIR (the benchmarks' instruction counts).  With callgrind, under
# valgrind, printing the backend's instruction count.  Fails on any ERROR.
single_user() {
	local data=$1 tool=()
	[ "${2:-}" = callgrind ] && tool=(valgrind --tool=callgrind --callgrind-out-file="$data/../callgrind.out")
	cat >"$data/../single.sql"
	as_pg "${tool[@]}" "$PGBIN/postgres" --single -D "$data" postgres <"$data/../single.sql" >"$data/../single.log" 2>&1 ||
		{ cat "$data/../single.log" >&2; return 1; }
	! grep -q ERROR "$data/../single.log" || { cat "$data/../single.log" >&2; return 1; }
	[ -z "${2:-}" ] || sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$data/../single.log"
}

# The server must not run as root; Debian's postgresql package creates this user.
PG_OS_USER=postgres

as_pg() {
	if [ "$(id -un)" = "$PG_OS_USER" ]; then "$@"
	elif [ "$(id -u)" = 0 ]; then runuser -u "$PG_OS_USER" -- "$@"
	else sudo -u "$PG_OS_USER" "$@"; fi
}

free_port() {
	local port
	for port in $(seq 54321 54400); do
		if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null &&
			[ ! -e "/tmp/.s.PGSQL.$port" ]; then
			echo "$port"; return
		fi
	done
	echo "no free port" >&2; return 1
}

# Why not pg_virtualenv (postgresql-common), which the package's own test
# (debian/tests/installcheck, test/suites/package.sh) does use: the suites
# here need a cluster whose postmaster they start themselves (under valgrind,
# with max_prepared_transactions, with logical WAL for the dump suite) and
# several clusters at once on ports they choose; pg_virtualenv runs one
# command in one cluster it configures.  This is the little it takes.
#
# init_cluster DIR PORT [extra postgresql.conf lines...]: initdb a cluster in
# DIR/data listening only on a socket in DIR, owned by the server's user.
init_cluster() {
	local dir=$1 port=$2
	shift 2
	chmod 755 "$dir"
	chown "$PG_OS_USER" "$dir" 2>/dev/null || true
	as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log"; return 1; }
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$dir'"
		echo "port = $port"
		echo "fsync = off"
		echo "max_prepared_transactions = 10"
		for line in "$@"; do echo "$line"; done
	} >>"$dir/data/postgresql.conf"
}

# start_cluster [extra postgresql.conf lines...]: a new cluster in a temporary
# directory, on a free port, reachable through a socket in that directory.
start_cluster() {
	export PGTMP=$(mktemp -d /tmp/cpt_rules_pg.XXXXXX)
	export PGPORT=$(free_port)
	export PGHOST=$PGTMP
	export PGUSER=postgres
	export PGDATABASE=postgres
	init_cluster "$PGTMP" "$PGPORT" "$@" || return 1
	as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w -t 60 start >/dev/null ||
		{ cat "$PGTMP/server.log"; return 1; }
	trap stop_cluster EXIT
}

stop_cluster() {
	if [ -n "${PGTMP:-}" ] && [ -d "$PGTMP/data" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -m fast -w stop >/dev/null 2>&1 || true
		if grep -q "terminated by signal" "$PGTMP/server.log" 2>/dev/null; then
			echo "SERVER CRASH in log:" >&2
			grep -B2 -A5 "terminated by signal" "$PGTMP/server.log" >&2
		fi
		rm -rf "$PGTMP"
	fi
	PGTMP=
}

# For the benchmarks: the median of the numbers on standard input (the mean
# of the middle two for an even count), and the time now in seconds.
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now() { date +%s.%N; }
