# A throwaway Citus cluster on this machine, for test/suites/citus.sh and
# test/bench/citus_copy.sh: nodes started one by one (a coordinator and
# workers), registered with each other, Citus and cpt_rules created.  Source
# it after test/lib.sh; do not run it.
#
# Every node listens only on one socket directory, $S, shared by all nodes;
# Citus reaches the nodes through it (a node's name in pg_dist_node is that
# directory; a host in citus.node_conninfo would make Citus use the node's
# name as a hostaddr, which a directory is not).  CPT_RULES_CITUS_KEEP=1
# leaves the nodes running at the end and says how to reach and stop them.
#
#   citus_installed            true when citus.so is in pg_config --pkglibdir
#   cluster_dir                makes $base (the nodes' directories) and $S
#   start_node NAME            a node with Citus preloaded; sets PORT_NAME
#   register_nodes COORD WORKER...   coordinator and workers made one cluster
#   q PORT [psql args]         quiet psql, stopping at the first error
#   run PORT < script          a script as a client would run it
#   stop_all                   stops every node started, removes $base
#
# q and run connect to the database $CLUSTER_DB (postgres unless set; a
# database of its own is a cluster of its own for Citus: create it with
# cluster_database).

: "${CLUSTER_DB:=postgres}"
NODES=()
NODE_NAMES=()

citus_installed() {
	[ -f "$("$PG_CONFIG" --pkglibdir 2>/dev/null)/citus.so" ]
}

# cluster_dir: a new directory for the nodes, readable by the server's user.
cluster_dir() {
	base=$(mktemp -d /tmp/cpt_rules_citus.XXXXXX) || return 1
	chmod 755 "$base"
	chown "$PG_OS_USER" "$base" 2>/dev/null || true
	S=$base                       # every node's socket directory, and its name for Citus
}

stop_all() {
	local d n
	[ -n "${base:-}" ] || return 0
	if [ -n "${CPT_RULES_CITUS_KEEP:-}" ]; then
		local ports=()
		for n in "${NODE_NAMES[@]}"; do eval "ports+=(\"\${PORT_$n:-}\")"; done
		echo "# nodes left running: psql -h $S -p PORT -U postgres (ports: ${ports[*]})"
		for d in "${NODES[@]}"; do echo "#   stop: runuser -u $PG_OS_USER -- $PGBIN/pg_ctl -D $d/data stop"; done
		return
	fi
	for d in "${NODES[@]}"; do
		as_pg "$PGBIN/pg_ctl" -D "$d/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
			as_pg "$PGBIN/pg_ctl" -D "$d/data" -m immediate -w stop >/dev/null 2>&1
		if grep -q "terminated by signal" "$d/server.log" 2>/dev/null; then
			echo "# SERVER CRASH in $(basename "$d")'s log:"
			grep -B2 -A5 "terminated by signal" "$d/server.log" | head -24 | sed 's/^/#   /'
		fi
	done
	rm -rf "$base"
	NODES=()
	NODE_NAMES=()
	base=
}

# start_node NAME [extra postgresql.conf lines...]: a new node with Citus
# (and cpt_rules) preloaded on the next free port, Citus created in its
# database postgres (free_port cannot see sockets in this directory, so
# those are skipped here; each node is started before the next port is
# picked).  Sets PORT_NAME.
start_node() {
	local name=$1 dir=$base/$1 port
	shift
	mkdir "$dir" || return 1
	port=$(free_port) || return 1
	while [ -e "$S/.s.PGSQL.$port" ]; do port=$((port + 1)); done
	init_cluster "$dir" "$port" \
		"unix_socket_directories = '$S'" \
		"shared_preload_libraries = 'citus,cpt_rules'" \
		"wal_level = logical" \
		"max_prepared_transactions = 20" \
		"citus.node_conninfo = 'sslmode=disable'" \
		"citus.local_hostname = '$S'" "$@" || return 1
	as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
		{ cat "$dir/server.log"; return 1; }
	NODES+=("$dir")
	NODE_NAMES+=("$name")
	printf -v "PORT_$name" '%s' "$port"
	CLUSTER_DB=postgres q "$port" -c "CREATE EXTENSION citus" >/dev/null
}

# q PORT [psql args]: quiet, unaligned, stops at the first error.
q() { local port=$1; shift; psql -X -q -At -h "$S" -p "$port" -U postgres -d "$CLUSTER_DB" -v ON_ERROR_STOP=1 "$@"; }

# run PORT < script: the script as a client would run it (verbose errors, not
# stopping at errors), stdout and stderr together, ending with the line
# SQLSTATE=<last error's SQLSTATE, 00000 if none>.
run() {
	local port=$1
	{ cat; echo '\echo SQLSTATE=:LAST_ERROR_SQLSTATE'; } |
		psql -X -q -At -h "$S" -p "$port" -U postgres -d "$CLUSTER_DB" -v VERBOSITY=verbose 2>&1
}

# register_nodes COORDINATOR_PORT WORKER_PORT... [-- SQL...]: in $CLUSTER_DB,
# the coordinator registered as such, the workers added, then each SQL
# statement run on the coordinator (CREATE EXTENSION cpt_rules by default).
# Prints what psql said; fails at the first error.
register_nodes() {
	local pc=$1 p sql=() workers=()
	shift
	while [ $# -gt 0 ]; do
		[ "$1" = -- ] && { shift; sql=("$@"); break; }
		workers+=("$1"); shift
	done
	[ ${#sql[@]} -gt 0 ] || sql=("CREATE EXTENSION cpt_rules;")
	{
		echo "SELECT citus_set_coordinator_host('$S', $pc);"
		for p in "${workers[@]}"; do echo "SELECT citus_add_node('$S', $p);"; done
		printf '%s\n' "${sql[@]}"
	} | q "$pc" 2>&1
}

# cluster_database DB: the database DB on every node started, with Citus in
# it (Citus 13 does not propagate CREATE DATABASE unless
# citus.enable_create_database_propagation is on, and each database is a
# cluster of its own: register its nodes with CLUSTER_DB=DB register_nodes).
cluster_database() {
	local db=$1 n port
	for n in "${NODE_NAMES[@]}"; do
		eval "port=\$PORT_$n"
		CLUSTER_DB=postgres q "$port" -c "CREATE DATABASE $db" 2>&1 &&
			CLUSTER_DB=$db q "$port" -c "CREATE EXTENSION citus" 2>&1 || return 1
	done
}
