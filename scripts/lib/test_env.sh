# The test clusters of one major, and target/test.env, which tells the tests where they are.
# Sourced after common.sh, setup.sh and sharded.sh; used by `make test` (scripts/test.sh) and
# `make test-env` (scripts/test_env.sh), so both start exactly the same set-up.
#
# Per major, recreated on every start: the test cluster (wal_level logical; on 15 pg_cron and
# pg_tle preloaded), a streaming standby of it, a logical-replication subscriber, a crash
# cluster (fsync and synchronous_commit on) that the crash-recovery test kills, and pgbouncer
# in transaction pooling mode in front of the test cluster. On 15 also the sharded set-up
# (a PL/Proxy router, two nodes, a standby, a spare node). Ports: port_of in common.sh.

TEST_ENV_FILE=$REPO_ROOT/target/test.env

# install_for_tests: puts the build the cluster tiers test in place for the current major:
# on 15 the .deb that `make package` ships, installed with dpkg as a user would, and pg_tle
# (the test cluster preloads it there); on the other majors a debug build (debug assertions
# on, and a shorter build). Then the SQL edition's extension files beside it.
install_for_tests() {
    if [[ $PG_MAJOR == 15 ]]; then
        setup_pg_tle
        install_package_deb
    else
        install_extension debug
    fi
    install_sql_edition
}

# test_env_start: starts the current major's test clusters, creates the databases the tiers
# use, and writes $TEST_ENV_FILE.
test_env_start() {
    local test crash standby subscriber
    test=$(cluster_name test)
    crash=$(cluster_name crash)
    standby=$(cluster_name standby)
    subscriber=$(cluster_name subscriber)
    TEST_PORT=$(port_of "$PG_MAJOR" 2)
    TEST_HOST=$(cluster_dir "$test")
    local crash_port standby_port subscriber_port pgbouncer_port
    crash_port=$(port_of "$PG_MAJOR" 5)
    standby_port=$(port_of "$PG_MAJOR" 6)
    subscriber_port=$(port_of "$PG_MAJOR" 7)
    pgbouncer_port=$(port_of "$PG_MAJOR" 4)

    say "PostgreSQL $PG_MAJOR: starting the test clusters"
    local settings=("fsync = off" "full_page_writes = off" "max_connections = 200"
        "wal_level = logical" "max_wal_senders = 10" "max_replication_slots = 10")
    if [[ $PG_MAJOR == 15 ]]; then
        settings+=("shared_preload_libraries = 'pg_cron, pg_tle'" "cron.database_name = 'varel_cron'"
            "cron.use_background_workers = on" "max_worker_processes = 32")
    fi
    cluster_remove "$test"
    cluster_start "$test" "$TEST_PORT" "${settings[@]}"
    cluster_remove "$crash"
    cluster_start "$crash" "$crash_port" "fsync = on" "synchronous_commit = on"
    cluster_psql "$crash" "$crash_port" postgres -c "CREATE DATABASE varel_crash"
    cluster_psql "$crash" "$crash_port" varel_crash -c "CREATE EXTENSION varel_session"
    # varel_template and varel_template_sql are what tests copy their own databases from.
    local db
    for db in varel_template varel_it varel_cron varel_adapters; do
        cluster_psql "$test" "$TEST_PORT" postgres -c "CREATE DATABASE $db"
        cluster_psql "$test" "$TEST_PORT" "$db" -c "CREATE EXTENSION varel_session"
    done
    for db in varel_template_sql varel_it_sql; do
        cluster_psql "$test" "$TEST_PORT" postgres -c "CREATE DATABASE $db"
        cluster_psql "$test" "$TEST_PORT" "$db" -c "CREATE EXTENSION varel_session_sql"
    done
    if [[ $PG_MAJOR == 15 ]]; then
        cluster_psql "$test" "$TEST_PORT" varel_cron -c "CREATE EXTENSION pg_cron"
    fi
    pgbouncer_start "$(cluster_name pgbouncer)" "$pgbouncer_port" "$TEST_HOST" "$TEST_PORT" varel_it
    cluster_start_standby "$standby" "$standby_port" "$test" "$TEST_PORT"
    cluster_remove "$subscriber"
    cluster_start "$subscriber" "$subscriber_port"

    local sharding=()
    if [[ $PG_MAJOR == 15 ]]; then
        say "PostgreSQL 15: starting the sharded set-up (a router, two nodes, a standby, a spare node)"
        sharded_start shard "$SHARD_BASE_PORT"
        sharded_router_db shard-router $((SHARD_BASE_PORT + 1)) varel_b
        sharded_node shard-node2 $((SHARD_BASE_PORT + 5))
        sharding=(
            "VAREL_SHARD_ROUTER_PORT=$((SHARD_BASE_PORT + 1))"
            "VAREL_SHARD_NODE0_PORT=$((SHARD_BASE_PORT + 2))"
            "VAREL_SHARD_NODE1_PORT=$((SHARD_BASE_PORT + 3))"
            "VAREL_SHARD_NODE2_PORT=$((SHARD_BASE_PORT + 5))"
            "VAREL_SHARD_NODE0_DATA=$(cluster_dir shard-node0)/data"
            "VAREL_SHARD_NODE1_DATA=$(cluster_dir shard-node1)/data"
            "VAREL_SHARD_STANDBY_DATA=$(cluster_dir shard-node0-standby)/data"
        )
    fi

    mkdir -p "$(dirname "$TEST_ENV_FILE")"
    {
        echo "# written by scripts/lib/test_env.sh for PostgreSQL $PG_MAJOR: . target/test.env"
        local line
        for line in \
            "VAREL_PG_MAJOR=$PG_MAJOR" \
            "VAREL_PG_BIN=$PG_BIN" \
            "VAREL_PYTHON=$VAREL_PYTHON" \
            "VAREL_REPO_ROOT=$REPO_ROOT" \
            "VAREL_TEST_HOST=$TEST_HOST" \
            "VAREL_TEST_PORT=$TEST_PORT" \
            "VAREL_TEST_LOG=$TEST_HOST/server.log" \
            "VAREL_CRASH_HOST=$(cluster_dir "$crash")" \
            "VAREL_CRASH_PORT=$crash_port" \
            "VAREL_CRASH_DATA=$(cluster_dir "$crash")/data" \
            "VAREL_STANDBY_HOST=$(cluster_dir "$standby")" \
            "VAREL_STANDBY_PORT=$standby_port" \
            "VAREL_SUBSCRIBER_HOST=$(cluster_dir "$subscriber")" \
            "VAREL_SUBSCRIBER_PORT=$subscriber_port" \
            "VAREL_PGBOUNCER_PORT=$pgbouncer_port" \
            "VAREL_DJANGO_DSN=host=$TEST_HOST port=$TEST_PORT dbname=varel_adapters user=postgres" \
            "VAREL_EXPRESS_DATABASE_URL=postgresql://postgres@/varel_adapters?host=$TEST_HOST&port=$TEST_PORT" \
            "VAREL_ADAPTERS_DSN=host=$TEST_HOST port=$TEST_PORT dbname=varel_adapters user=postgres" \
            "VAREL_ADAPTERS_DATABASE_URL=postgresql://postgres@127.0.0.1:$TEST_PORT/varel_adapters" \
            "${sharding[@]}"; do
            echo "export ${line%%=*}=$(printf '%q' "${line#*=}")"
        done
    } >"$TEST_ENV_FILE"
}

# test_env_stop: stops the current major's test clusters (and, on 15, the sharded set-up).
test_env_stop() {
    pgbouncer_stop "$(cluster_name pgbouncer)"
    local base
    for base in crash standby subscriber test; do cluster_stop "$(cluster_name "$base")"; done
    if [[ $PG_MAJOR == 15 ]]; then sharded_stop shard; fi
}
