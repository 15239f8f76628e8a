#!/usr/bin/env bash
# The README's test command (`make test`): sets up a fresh machine if needed, then runs every
# test tier on every supported PostgreSQL major and fails if any fails. Its output ends with
# the last test runner's summary line.
#
# First, once: cargo fmt --check and cargo clippy -D warnings (with the unsafe lints of
# Cargo.toml). Then per major (15, 16, 17, 18; PG_MAJORS_TO_TEST="15 17" runs a subset):
#   tier 1  Rust unit tests and #[pg_test]s        cargo pgrx test (its own temporary server)
#   tier 2  SQL regression tests, expected output  pg_regress against the test cluster
#           concurrency specs                      pg_isolation_regress, same cluster
#           upgrade from every released version    tests/upgrade, same cluster
#   tier 3  the Django and Express adapters         their test suites (unittest, node --test)
#           integration tests (extension, client)  cargo nextest against the test cluster, its
#                                                  standby, a subscriber cluster, a crash
#                                                  cluster
# PostgreSQL 15 (Debian's) keeps every tier and also runs what needs Debian's packages: the
# pg_cron job and the pgbouncer tests, pgspot on the extension script, and the extension is
# installed there from the .deb that `make package` ships. The other majors run everything
# that does not need those, with a debug build of the extension.
#
# Clusters are recreated on every run, per major: the test cluster (pg_cron preloaded on 15,
# wal_level logical), a streaming standby of it, a logical-replication subscriber, and a crash
# cluster (fsync and synchronous_commit on) that the crash-recovery test kills; pgbouncer in
# transaction pooling mode on 15. Ports: scripts/lib/common.sh (port_of).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/sharded.sh"
read -r -a PG_MAJORS <<<"${PG_MAJORS_TO_TEST:-${SUPPORTED_MAJORS[*]}}"

setup_apt
setup_cargo_pgrx
setup_pgspot
setup_pg_tle
setup_adapters
cd "$REPO_ROOT"

say "tier 0: formatting and lints (cargo fmt --check, cargo clippy -D warnings), client doc tests"
cargo fmt --all --check
cargo clippy --workspace --all-targets --color never -- -D warnings
cargo clippy -p varel_session --lib --features bench_unchecked --color never -- -D warnings
# The client's rustdoc examples (nextest does not run doc tests): every one compiles, and those
# that need no database (MemoryStore, Config, Session) run.
cargo test -p varel-session-client --doc --color never

# run_suite TOOL DIR DB HOST PORT [pg_regress args]: a pg_regress-style suite (DIR, or
# tests/DIR: schedule, sql or specs, expected) against a running cluster; shows the
# differences and stops if any test fails.
run_suite() {
    local tool=$1 dir=$2 db=$3 host=$4 port=$5 out
    shift 5
    [[ $dir == /* ]] || dir=tests/$dir
    out=$(mktemp -d)
    if ! "$tool" --bindir="$PG_BIN" --host="$host" --port="$port" --user=postgres --dbname="$db" \
        --inputdir="$dir" --outputdir="$out" --schedule="$dir/schedule" "$@"; then
        find "$out" -name regression.diffs -exec cat {} + >&2
        exit 1
    fi
}

# upgrade_test HOST PORT: for every released version, a database created at that version with
# sessions of every kind, upgraded with ALTER EXTENSION UPDATE, must have the catalog of a fresh
# install, keep every session, and pass the regression suite.
upgrade_test() {
    local host=$1 port=$2 script version
    local psql=(psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres)
    "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS varel_fresh" \
        -c "CREATE DATABASE varel_fresh"
    "${psql[@]}" -d varel_fresh -c "CREATE EXTENSION varel_session"
    "${psql[@]}" -d varel_fresh -At -f tests/upgrade/catalog.sql >"$work/catalog.fresh"
    for script in sql/versions/varel_session--*.sql; do
        version=${script##*--}
        version=${version%.sql}
        say "PostgreSQL $PG_MAJOR: upgrade from $version"
        "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS varel_upgraded" \
            -c "CREATE DATABASE varel_upgraded"
        "${psql[@]}" -d varel_upgraded -c "CREATE EXTENSION varel_session VERSION '$version'"
        "${psql[@]}" -d varel_upgraded -f tests/upgrade/before.sql >/dev/null
        "${psql[@]}" -d varel_upgraded -c "ALTER EXTENSION varel_session UPDATE"
        "${psql[@]}" -d varel_upgraded -f tests/upgrade/after.sql >/dev/null
        "${psql[@]}" -d varel_upgraded -At -f tests/upgrade/catalog.sql >"$work/catalog.upgraded"
        if ! diff -u "$work/catalog.fresh" "$work/catalog.upgraded" >&2; then
            echo "the catalog after upgrading from $version differs from a fresh install" >&2
            exit 1
        fi
        # The regression suite on the upgraded database (emptied of before.sql's sessions).
        "${psql[@]}" -d varel_upgraded -c "DROP TABLE upgrade_check" \
            -c "TRUNCATE varel_session.sessions"
        run_suite "$PGXS_TESTS/regress/pg_regress" regress varel_upgraded "$host" "$port" \
            --use-existing
    done
}

work=$(mktemp -d)
cleanup_clusters() {
    pgbouncer_stop pgbouncer
    local major
    for major in "${PG_MAJORS[@]}"; do
        use_major "$major"
        for base in crash standby subscriber test; do cluster_stop "$(cluster_name "$base")"; done
    done
    use_major 15
    sharded_stop shard
}
trap '{ cleanup_clusters; } >/dev/null 2>&1 || true' EXIT

for major in "${PG_MAJORS[@]}"; do
    use_major "$major"
    TEST_CLUSTER=$(cluster_name test)
    TEST_PORT=$(port_of "$major" 2)
    CRASH_PORT=$(port_of "$major" 5)
    STANDBY_PORT=$(port_of "$major" 6)
    SUBSCRIBER_PORT=$(port_of "$major" 7)
    PGBOUNCER_PORT=$(port_of "$major" 4)
    PGXS_TESTS=$(dirname "$("$PG_CONFIG" --pgxs)")/../test
    TEST_HOST=$(cluster_dir "$TEST_CLUSTER")

    say "PostgreSQL $major, tier 1: Rust unit tests and #[pg_test]s"
    pgrx_data=$CLUSTERS_ROOT/pgrx-test-$major
    as_root mkdir -p "$pgrx_data"
    as_root chown postgres:postgres "$pgrx_data"
    CARGO_TARGET_DIR=$(target_dir "$major") cargo pgrx test "pg$major" \
        --no-default-features --runas postgres --pgdata "$pgrx_data"

    # `cargo pgrx test` installed its test build; put the build the tiers below test in place,
    # and the SQL edition's extension files beside it.
    if [[ $major == 15 ]]; then
        install_package_deb
    else
        install_extension debug
    fi
    install_sql_edition

    say "PostgreSQL $major: starting the test clusters"
    settings=("fsync = off" "full_page_writes = off" "max_connections = 200"
        "wal_level = logical" "max_wal_senders = 10" "max_replication_slots = 10")
    if [[ $major == 15 ]]; then
        settings+=("shared_preload_libraries = 'pg_cron, pg_tle'" "cron.database_name = 'varel_cron'"
            "cron.use_background_workers = on" "max_worker_processes = 32")
    fi
    cluster_remove "$TEST_CLUSTER"
    cluster_start "$TEST_CLUSTER" "$TEST_PORT" "${settings[@]}"
    cluster_remove "$(cluster_name crash)"
    cluster_start "$(cluster_name crash)" "$CRASH_PORT" "fsync = on" "synchronous_commit = on"
    cluster_psql "$(cluster_name crash)" "$CRASH_PORT" postgres -c "CREATE DATABASE varel_crash"
    cluster_psql "$(cluster_name crash)" "$CRASH_PORT" varel_crash -c "CREATE EXTENSION varel_session"
    cluster_psql "$TEST_CLUSTER" "$TEST_PORT" postgres -c "CREATE DATABASE varel_template" \
        -c "CREATE DATABASE varel_it" -c "CREATE DATABASE varel_cron"
    cluster_psql "$TEST_CLUSTER" "$TEST_PORT" varel_template -c "CREATE EXTENSION varel_session"
    cluster_psql "$TEST_CLUSTER" "$TEST_PORT" varel_it -c "CREATE EXTENSION varel_session"
    cluster_psql "$TEST_CLUSTER" "$TEST_PORT" varel_cron -c "CREATE EXTENSION varel_session"
    cluster_psql "$TEST_CLUSTER" "$TEST_PORT" postgres -c "CREATE DATABASE varel_it_sql" \
        -c "CREATE DATABASE varel_template_sql"
    cluster_psql "$TEST_CLUSTER" "$TEST_PORT" varel_it_sql -c "CREATE EXTENSION varel_session_sql"
    cluster_psql "$TEST_CLUSTER" "$TEST_PORT" varel_template_sql \
        -c "CREATE EXTENSION varel_session_sql"
    if [[ $major == 15 ]]; then
        cluster_psql "$TEST_CLUSTER" "$TEST_PORT" varel_cron -c "CREATE EXTENSION pg_cron"
        pgbouncer_start pgbouncer "$PGBOUNCER_PORT" "$TEST_HOST" "$TEST_PORT" varel_it
    fi
    # A streaming standby of the test cluster, and a separate cluster for logical-replication
    # subscribers (tests/integration/tests/replicas.rs).
    cluster_start_standby "$(cluster_name standby)" "$STANDBY_PORT" "$TEST_CLUSTER" "$TEST_PORT"
    cluster_remove "$(cluster_name subscriber)"
    cluster_start "$(cluster_name subscriber)" "$SUBSCRIBER_PORT"

    say "PostgreSQL $major, tier 2: SQL regression tests"
    run_suite "$PGXS_TESTS/regress/pg_regress" regress varel_regress "$TEST_HOST" "$TEST_PORT"

    say "PostgreSQL $major, tier 2: concurrency specs"
    run_suite "$PGXS_TESTS/isolation/pg_isolation_regress" isolation varel_isolation \
        "$TEST_HOST" "$TEST_PORT"

    say "PostgreSQL $major, tier 2: upgrades"
    upgrade_test "$TEST_HOST" "$TEST_PORT"

    say "PostgreSQL $major, tier 2: the SQL edition (regression tests, concurrency specs, forms)"
    sql_edition_suite regress "$work/sql_edition_regress"
    run_suite "$PGXS_TESTS/regress/pg_regress" "$work/sql_edition_regress" varel_sql_regress \
        "$TEST_HOST" "$TEST_PORT"
    sql_edition_suite isolation "$work/sql_edition_isolation"
    run_suite "$PGXS_TESTS/isolation/pg_isolation_regress" "$work/sql_edition_isolation" \
        varel_sql_isolation "$TEST_HOST" "$TEST_PORT"
    # pg_tle (vendor/) is built for 15, the major whose test cluster preloads it.
    sql_edition_forms_test "$TEST_HOST" "$TEST_PORT" "$([[ $major == 15 ]] && echo pg_tle)"

    if [[ $major == 15 ]]; then
        say "tier 2: pgspot lint of the installed extension script"
        # Two objects are allowed no search_path: the cleanup procedure commits after each
        # batch, and PostgreSQL refuses COMMIT in a procedure that has SET options; it runs
        # with its caller's rights and only calls schema-qualified SECURITY DEFINER functions
        # (sql/cleanup.sql). And is_live, which the planner inlines only without SET options;
        # it is SECURITY INVOKER and names only pg_catalog objects, schema-qualified.
        shared=(--proc-without-search-path
            'varel_session.session_cleanup_run(batch_size integer,pause interval,INOUT deleted bigint)'
            --proc-without-search-path
            'varel_session_internal.is_live(expires_at timestamptz,absolute_expires_at timestamptz)')
        pgspot "${shared[@]}" \
            "$("$PG_CONFIG" --sharedir)/extension/varel_session--$(extension_version).sql"
        say "tier 2: pgspot lint of the SQL edition's extension script"
        # The same two, and the SQL edition's other helpers that the planner inlines into the
        # API's queries, which it does only for functions without SET options. Each is
        # SECURITY INVOKER, names only pg_catalog objects (and the edition's own tables),
        # schema-qualified, and only the owner may call it (sql_edition/internal.sql).
        allowed=()
        for helper in \
            'varel_session_internal.superuser_setting(name text)' \
            'varel_session_internal.seconds(span interval)' \
            'varel_session_internal.policy(OUT max_age interval,OUT absolute_timeout interval,OUT max_data_bytes integer,OUT max_sessions_per_user integer,OUT events boolean,OUT events_channel text)' \
            'varel_session_internal.max_data_bytes()' \
            'varel_session_internal.events_on()' \
            'varel_session_internal.random_token()' \
            'varel_session_internal.random_handle()' \
            'varel_session_internal.token_hash(id text)' \
            'varel_session_internal.same_data(old jsonb,new jsonb)' \
            'varel_session_internal.idle_deadline(max_age interval,absolute_expires_at timestamptz)' \
            'varel_session_internal.refresh_due(expires_at timestamptz,absolute_expires_at timestamptz,max_age interval)' \
            'varel_session_internal.shown_key(key text)' \
            'varel_session_internal.user_lock_key(user_id bigint)'; do
            allowed+=(--proc-without-search-path "$helper")
        done
        pgspot "${shared[@]}" "${allowed[@]}" \
            "$("$PG_CONFIG" --sharedir)/extension/varel_session_sql--$(extension_version).sql"
    fi

    say "PostgreSQL $major, tier 3: the Django and Express adapters"
    cluster_psql "$TEST_CLUSTER" "$TEST_PORT" postgres -c "DROP DATABASE IF EXISTS varel_adapters" \
        -c "CREATE DATABASE varel_adapters TEMPLATE varel_template"
    (cd adapters/django && VAREL_DJANGO_DSN="host=$TEST_HOST port=$TEST_PORT dbname=varel_adapters user=postgres" \
        "$VAREL_PYTHON" tests/run.py)
    (cd adapters/express && VAREL_EXPRESS_DATABASE_URL="postgresql://postgres@/varel_adapters?host=$TEST_HOST&port=$TEST_PORT" \
        node --test --test-concurrency=1 --test-reporter=spec test/)

    say "PostgreSQL $major, tier 3: integration tests (extension and client crate)"
    export VAREL_PYTHON
    export VAREL_TEST_HOST=$TEST_HOST
    export VAREL_TEST_PORT=$TEST_PORT
    export VAREL_TEST_LOG=$TEST_HOST/server.log
    export VAREL_PG_BIN=$PG_BIN
    export VAREL_CRASH_HOST=$(cluster_dir "$(cluster_name crash)")
    export VAREL_CRASH_PORT=$CRASH_PORT
    export VAREL_CRASH_DATA=$VAREL_CRASH_HOST/data
    export VAREL_STANDBY_HOST=$(cluster_dir "$(cluster_name standby)")
    export VAREL_STANDBY_PORT=$STANDBY_PORT
    export VAREL_SUBSCRIBER_HOST=$(cluster_dir "$(cluster_name subscriber)")
    export VAREL_SUBSCRIBER_PORT=$SUBSCRIBER_PORT
    export VAREL_PGBOUNCER_PORT=$PGBOUNCER_PORT
    # pg_cron and pgbouncer come from Debian, for PostgreSQL 15 only. The minute-long load test
    # runs in full on 15 and for 20 seconds on the others (the same code path, less waiting).
    # The sharding tests run on their own below, one at a time (they stop and fail over nodes).
    filter=(-E 'not binary(sharding)')
    export VAREL_LOAD_SECONDS=60
    if [[ $major != 15 ]]; then
        filter=(-E 'not (binary(cron) | binary(pgbouncer) | binary(sharding))')
        export VAREL_LOAD_SECONDS=20
    fi
    # Most integration tests spend their time waiting on the server, so more run at once than
    # there are cores.
    cargo nextest run --workspace --exclude varel_session --exclude varel-session-client-bench \
        --no-fail-fast --color never --success-output immediate --test-threads 6 \
        "${filter[@]}" 2>&1
    say "PostgreSQL $major, tier 3: against the SQL edition: hostile input, privileges, same-key \
operations and events, and the differential tests"
    VAREL_TEST_DB=varel_it_sql VAREL_TEST_TEMPLATE=varel_template_sql cargo nextest run \
        -p varel_session_integration --test hostile_input --test privileges \
        --test atomic_and_events --test isolation_matrix --test differential \
        --no-fail-fast --color never \
        --success-output immediate --test-threads 6 2>&1

    if [[ $major == 15 ]]; then
        say "PostgreSQL 15, tier 3: sharding with PL/Proxy (a router, two nodes, a standby, a spare node)"
        sharded_start shard "$SHARD_BASE_PORT"
        sharded_router_db shard-router $((SHARD_BASE_PORT + 1)) varel_b
        sharded_node shard-node2 $((SHARD_BASE_PORT + 5))
        export VAREL_SHARD_ROUTER_PORT=$((SHARD_BASE_PORT + 1))
        export VAREL_SHARD_NODE0_PORT=$((SHARD_BASE_PORT + 2))
        export VAREL_SHARD_NODE1_PORT=$((SHARD_BASE_PORT + 3))
        export VAREL_SHARD_NODE2_PORT=$((SHARD_BASE_PORT + 5))
        export VAREL_SHARD_NODE0_DATA=$(cluster_dir shard-node0)/data
        export VAREL_SHARD_NODE1_DATA=$(cluster_dir shard-node1)/data
        export VAREL_SHARD_STANDBY_DATA=$(cluster_dir shard-node0-standby)/data
        export VAREL_REPO_ROOT=$REPO_ROOT
        cargo nextest run -p varel_session_integration --test sharding --no-fail-fast \
            --color never --success-output immediate --test-threads 1 2>&1
        sharded_stop shard
    fi

    cleanup_clusters >/dev/null 2>&1 || true
done
