# Shared helpers for the project's scripts. Source it; do not run it.
#
# Every server here is a throwaway PostgreSQL 15 cluster under /tmp/varel_session/<name>,
# owned and run by the `postgres` OS user (PostgreSQL refuses to run as root), listening on a
# unix socket in that folder and on 127.0.0.1.

set -euo pipefail

# Supported PostgreSQL majors: 15 from Debian, the others from PyPI (scripts/lib/setup.sh).
SUPPORTED_MAJORS=(15 16 17 18)
PG_MAJORS=("${SUPPORTED_MAJORS[@]}")
PG_MAJORS_ROOT=/opt/varel_session/pg
CLUSTERS_ROOT=/tmp/varel_session

# use_major MAJOR: the PostgreSQL installation the helpers below use (PG_BIN, PG_CONFIG).
use_major() {
    PG_MAJOR=$1
    if [[ $PG_MAJOR == 15 ]]; then
        PG_BIN=/usr/lib/postgresql/15/bin
        PG_CONFIG=/usr/bin/pg_config
    else
        PG_BIN=$PG_MAJORS_ROOT/$PG_MAJOR/bin
        PG_CONFIG=$PG_BIN/pg_config
    fi
}
use_major "${PG:-15}"

# cluster_name BASE: the name of cluster BASE for the current major ("test" on 15, the default
# major, "test-pg17" on 17), so each major's clusters have their own data folders.
cluster_name() {
    if [[ $PG_MAJOR == 15 ]]; then echo "$1"; else echo "$1-pg$PG_MAJOR"; fi
}

# port_of MAJOR K: port K (0-9) of MAJOR's block: 54320-54329 for 15, 54360-54369 for 16,
# 54370-54379 for 17, 54380-54389 for 18. Within a block: 1 `make run`, 2 tests, 3 benchmark,
# 4 pgbouncer, 5 crash-recovery cluster, 6 standby, 7 subscriber.
port_of() {
    local major=$1 k=$2
    if [[ $major == 15 ]]; then echo $((54320 + k)); else echo $((54300 + major * 10 - 100 + k)); fi
}

# reserve_cluster_ports: every port of the clusters (54300-54399: the blocks above and the
# sharded set-ups' 5434x-5435x) lies in Linux's ephemeral range (32768-60999), so a client
# connection's local port could take one just before a server binds it ("Address already in
# use", seen once when pgbouncer started). Reserved, the kernel hands them out no more. Best
# effort: where /proc/sys cannot be written (some containers), nothing changes.
reserve_cluster_ports() {
    local file=/proc/sys/net/ipv4/ip_local_reserved_ports current
    current=$(cat "$file" 2>/dev/null) || return 0
    [[ ",$current," == *",54300-54399,"* ]] && return 0
    as_root sh -c "echo '${current:+$current,}54300-54399' > $file" 2>/dev/null || true
}

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Runs a command as root (directly when we are root, through sudo otherwise).
as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# Runs a command as the postgres OS user, from a folder it can read.
as_postgres() {
    (cd / && as_root sudo -u postgres -- "$@")
}

cluster_dir() { echo "$CLUSTERS_ROOT/$1"; }

# cluster_start NAME PORT [SETTING=VALUE ...]
# Creates the cluster on first use (settings go into its postgresql.conf) and starts it unless
# it is already running. Prints nothing but progress on stderr.
cluster_start() {
    local name=$1 port=$2
    shift 2
    local dir
    dir=$(cluster_dir "$name")
    if [[ ! -f $dir/data/PG_VERSION ]]; then
        as_root mkdir -p "$dir"
        as_root chown postgres:postgres "$dir"
        as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
            --locale=C.UTF-8 --no-sync >/dev/null
        {
            echo "# written by scripts/lib/common.sh"
            echo "port = $port"
            echo "listen_addresses = '127.0.0.1'"
            echo "unix_socket_directories = '$dir'"
            echo "log_line_prefix = '%m [%p] %q%u@%d '"
            for setting in "$@"; do echo "$setting"; done
        } | as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null
    fi
    if ! as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
    fi
}

# cluster_start_standby NAME PORT PRIMARY_NAME PRIMARY_PORT
# A streaming standby of a running cluster: pg_basebackup of the primary, started as a
# standby (standby.signal) that follows it, on its own port and socket folder. Recreated each
# time. The connection string is written here rather than by pg_basebackup -R, whose options
# (sslcertmode on 16 and later) the server's walreceiver may not know when it loads an older
# libpq (Debian's, for the PyPI builds).
cluster_start_standby() {
    local name=$1 port=$2 primary=$3 primary_port=$4
    local dir
    dir=$(cluster_dir "$name")
    cluster_remove "$name"
    as_root mkdir -p "$dir"
    as_root chown postgres:postgres "$dir"
    as_postgres "$PG_BIN/pg_basebackup" -h "$(cluster_dir "$primary")" -p "$primary_port" \
        -U postgres -D "$dir/data" -X stream -c fast --no-sync >/dev/null
    as_postgres touch "$dir/data/standby.signal"
    {
        echo "# written by scripts/lib/common.sh for the standby"
        echo "primary_conninfo = 'host=$(cluster_dir "$primary") port=$primary_port user=postgres'"
        echo "port = $port"
        echo "unix_socket_directories = '$dir'"
        echo "hot_standby = on"
    } | as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
}

# cluster_stop NAME: stops the cluster if it runs.
cluster_stop() {
    local dir
    dir=$(cluster_dir "$1")
    if [[ -f $dir/data/PG_VERSION ]] &&
        as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
}

# cluster_remove NAME: stops the cluster and deletes its files.
cluster_remove() {
    cluster_stop "$1"
    as_root rm -rf "$(cluster_dir "$1")"
}

# cluster_psql NAME PORT DB [psql args...]
cluster_psql() {
    local name=$1 port=$2 db=$3
    shift 3
    psql -X -q -v ON_ERROR_STOP=1 -h "$(cluster_dir "$name")" -p "$port" -U postgres -d "$db" "$@"
}

# pgbouncer_start NAME PORT PG_HOST PG_PORT DB: pgbouncer in transaction pooling mode in front
# of DB, with 4 server connections per pool (so many clients really share them). It refuses to
# run as root, so it runs as postgres too.
pgbouncer_start() {
    local name=$1 port=$2 pg_host=$3 pg_port=$4 db=$5
    local dir
    dir=$(cluster_dir "$name")
    pgbouncer_stop "$name"
    as_root rm -rf "$dir"
    as_root mkdir -p "$dir"
    as_root chown postgres:postgres "$dir"
    as_postgres tee "$dir/pgbouncer.ini" >/dev/null <<INI
[databases]
$db = host=$pg_host port=$pg_port dbname=$db user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir = $dir
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 500
admin_users = postgres
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    echo '"postgres" ""' | as_postgres tee "$dir/userlist.txt" >/dev/null
    as_postgres pgbouncer -d "$dir/pgbouncer.ini"
    for _ in $(seq 50); do
        psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d pgbouncer -c "SHOW VERSION" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "pgbouncer did not start; see $dir/pgbouncer.log" >&2
    return 1
}

# pgbouncer_stop NAME: stops it if it runs.
pgbouncer_stop() {
    local pidfile
    pidfile=$(cluster_dir "$1")/pgbouncer.pid
    if [[ -f $pidfile ]]; then
        local pid
        pid=$(cat "$pidfile")
        # A pidfile left by a pgbouncer that died may name another process by now.
        if [[ $(cat "/proc/$pid/comm" 2>/dev/null) != pgbouncer ]]; then
            as_root rm -f "$pidfile"
            return 0
        fi
        as_root kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            [[ -f $pidfile ]] || break
            sleep 0.1
        done
    fi
}
