# The sharded set-up (SCALING.md): a PL/Proxy router database and shard nodes, each node a
# PostgreSQL with the extension and sharding/node.sql, node 0 with a synchronous streaming
# standby. PostgreSQL 15 only: PL/Proxy comes from Debian (postgresql-15-plproxy). Sourced after
# common.sh; used by `make run-sharded` (scripts/run_sharded.sh) and by the sharding tests
# (scripts/test.sh).

# Partitions of the router's cluster (a power of two) and the nodes' route bits (its log2).
# Four partitions on two nodes (p0, p2 on node 0; p1, p3 on node 1): adding a node later moves
# whole partitions without changing a token's route (SCALING.md, "Adding a node").
SHARD_PARTITIONS=4
SHARD_ROUTE_BITS=2
SHARD_DB=varel
# Ports: `make run-sharded` uses 54341-54344 (scripts/run_sharded.sh), the tests 54351-54355.
SHARD_BASE_PORT=54350

# sharded_node NAME PORT: a shard node (created, started, extension and node.sql installed).
sharded_node() {
    local name=$1 port=$2
    cluster_remove "$name"
    cluster_start "$name" "$port" "wal_level = logical" "max_wal_senders = 10" \
        "max_replication_slots = 10" "max_connections = 100"
    cluster_psql "$name" "$port" postgres -c "CREATE DATABASE $SHARD_DB"
    cluster_psql "$name" "$port" "$SHARD_DB" -c "CREATE EXTENSION varel_session"
    cluster_psql "$name" "$port" "$SHARD_DB" -v route_bits=$SHARD_ROUTE_BITS \
        -v router_role=varel_router -f "$REPO_ROOT/sharding/node.sql" >/dev/null
    cluster_psql "$name" "$port" "$SHARD_DB" -c "ALTER ROLE varel_router LOGIN"
}

# shard_conninfo PORT [STANDBY_PORT]: how the router reaches a node: by TCP on loopback, and,
# with a standby, at whichever of the two accepts writes (libpq's multi-host connection).
shard_conninfo() {
    local port=$1 standby=${2:-}
    if [[ -n $standby ]]; then
        echo "host=127.0.0.1,127.0.0.1 port=$port,$standby dbname=$SHARD_DB target_session_attrs=read-write connect_timeout=2"
    else
        echo "host=127.0.0.1 port=$port dbname=$SHARD_DB connect_timeout=2"
    fi
}

# sharded_start PREFIX BASE: the router on BASE+1, node 0 on BASE+2 with its standby on BASE+4,
# node 1 on BASE+3. Clusters are named PREFIX-router, PREFIX-node0, PREFIX-node0-standby,
# PREFIX-node1. Recreated each time.
sharded_start() {
    local prefix=$1 base=$2
    local router=$prefix-router node0=$prefix-node0 node1=$prefix-node1
    local standby=$prefix-node0-standby
    sharded_node "$node0" $((base + 2))
    sharded_node "$node1" $((base + 3))
    # Synchronous replication: a write node 0 acknowledged is on its standby too, so a failover
    # loses none. Set after the base backup, so the standby, once promoted, waits for no one.
    cluster_start_standby "$standby" $((base + 4)) "$node0" $((base + 2))
    cluster_psql "$node0" $((base + 2)) postgres -c "ALTER SYSTEM SET synchronous_standby_names = '*'" \
        -c "SELECT pg_reload_conf()" >/dev/null

    cluster_remove "$router"
    cluster_start "$router" $((base + 1)) "max_connections = 100"
    cluster_psql "$router" $((base + 1)) postgres -c "CREATE ROLE app LOGIN" >/dev/null
    local n0 n1 options=()
    n0=$(shard_conninfo $((base + 2)) $((base + 4)))
    n1=$(shard_conninfo $((base + 3)))
    for ((p = 0; p < SHARD_PARTITIONS; p++)); do
        if ((p % 2 == 0)); then options+=("p$p '$n0'"); else options+=("p$p '$n1'"); fi
    done
    SHARD_CLUSTER_OPTIONS=$(IFS=,; echo "${options[*]}")
    sharded_router_db "$router" $((base + 1)) "$SHARD_DB"
}

# sharded_router_db CLUSTER PORT DB: a router database DB on the router cluster, with the
# cluster definition sharded_start made (several routers share the nodes, as one per
# application host would).
sharded_router_db() {
    local router=$1 port=$2 db=$3
    cluster_psql "$router" "$port" postgres -c "CREATE DATABASE $db" >/dev/null
    cluster_psql "$router" "$port" "$db" \
        -c "CREATE EXTENSION plproxy" \
        -c "CREATE SERVER varel_session FOREIGN DATA WRAPPER plproxy OPTIONS ($SHARD_CLUSTER_OPTIONS)" \
        -c "CREATE USER MAPPING FOR PUBLIC SERVER varel_session OPTIONS (user 'varel_router')" \
        >/dev/null
    cluster_psql "$router" "$port" "$db" -v app_role=app \
        -f "$REPO_ROOT/sharding/router.sql" >/dev/null
}

# sharded_stop PREFIX: stops every cluster of the set-up (a third node too, if a test made one).
sharded_stop() {
    local prefix=$1 name
    for name in router node0 node0-standby node1 node2; do
        cluster_stop "$prefix-$name" 2>/dev/null || true
    done
}
