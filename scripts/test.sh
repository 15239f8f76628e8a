#!/usr/bin/env bash
# The README's test command (`make test`): sets up a fresh machine if needed, then runs every
# test tier and fails if any fails. Its output ends with the last test runner's summary line.
#
#   tier 1  Rust unit tests and #[pg_test]s        cargo pgrx test (its own temporary server)
#   tier 2  SQL regression tests, expected output  pg_regress against the test cluster
#           concurrency specs                      pg_isolation_regress, same cluster
#           lint of the extension script           pgspot
#   tier 3  integration tests (extension, client)  cargo nextest against the test cluster,
#                                                  pgbouncer in front of it, and a crash cluster
#
# Clusters are recreated on every run: the test cluster (port $VAREL_TEST_PORT, default 54322)
# with pg_cron preloaded so the scheduling tests run against the real thing; a crash cluster
# (54325, fsync and synchronous_commit on) that the crash-recovery test kills; pgbouncer on
# 54324 in transaction pooling mode.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

TEST_PORT=${VAREL_TEST_PORT:-54322}
TEST_CLUSTER=test
CRASH_PORT=${VAREL_CRASH_PORT:-54325}
PGBOUNCER_PORT=${VAREL_PGBOUNCER_PORT:-54324}

setup_apt
setup_cargo_pgrx
setup_pgspot
cd "$REPO_ROOT"

say "tier 1: Rust unit tests and #[pg_test]s"
pgrx_data=$CLUSTERS_ROOT/pgrx-test
as_root mkdir -p "$pgrx_data"
as_root chown postgres:postgres "$pgrx_data"
cargo pgrx test pg15 --runas postgres --pgdata "$pgrx_data"

# `cargo pgrx test` installed its debug test build into the system PostgreSQL; put the release
# build back for the tiers that follow.
install_extension

say "starting the test cluster on port $TEST_PORT"
cluster_remove "$TEST_CLUSTER"
cluster_start "$TEST_CLUSTER" "$TEST_PORT" \
    "shared_preload_libraries = 'pg_cron'" \
    "cron.database_name = 'varel_cron'" \
    "cron.use_background_workers = on" \
    "max_worker_processes = 32" \
    "max_connections = 200" \
    "fsync = off" \
    "full_page_writes = off"
cluster_remove crash
cluster_start crash "$CRASH_PORT" "fsync = on" "synchronous_commit = on"
trap '{ pgbouncer_stop pgbouncer; cluster_stop crash; cluster_stop "$TEST_CLUSTER"; } >/dev/null 2>&1 || true' EXIT
cluster_psql crash "$CRASH_PORT" postgres -c "CREATE DATABASE varel_crash"
cluster_psql crash "$CRASH_PORT" varel_crash -c "CREATE EXTENSION varel_session"
pgbouncer_start pgbouncer "$PGBOUNCER_PORT" "$(cluster_dir "$TEST_CLUSTER")" "$TEST_PORT" varel_it
cluster_psql "$TEST_CLUSTER" "$TEST_PORT" postgres -c "CREATE DATABASE varel_template" \
    -c "CREATE DATABASE varel_it" -c "CREATE DATABASE varel_cron"
cluster_psql "$TEST_CLUSTER" "$TEST_PORT" varel_template -c "CREATE EXTENSION varel_session"
cluster_psql "$TEST_CLUSTER" "$TEST_PORT" varel_it -c "CREATE EXTENSION varel_session"
cluster_psql "$TEST_CLUSTER" "$TEST_PORT" varel_cron \
    -c "CREATE EXTENSION varel_session" -c "CREATE EXTENSION pg_cron"

# run_suite TOOL DIR DB: a pg_regress-style suite (tests/DIR/schedule, sql or specs, expected)
# against the test cluster; shows the differences and stops if any test fails.
run_suite() {
    local tool=$1 dir=$2 db=$3 out
    out=$(mktemp -d)
    if ! "$tool" --host="$(cluster_dir "$TEST_CLUSTER")" --port="$TEST_PORT" --user=postgres \
        --dbname="$db" --inputdir="tests/$dir" --outputdir="$out" --schedule="tests/$dir/schedule"; then
        find "$out" -name regression.diffs -exec cat {} + >&2
        exit 1
    fi
}
PGXS_TESTS=/usr/lib/postgresql/15/lib/pgxs/src/test

say "tier 2: SQL regression tests"
run_suite "$PGXS_TESTS/regress/pg_regress" regress varel_regress

say "tier 2: concurrency specs"
run_suite "$PGXS_TESTS/isolation/pg_isolation_regress" isolation varel_isolation

say "tier 2: pgspot lint of the installed extension script"
# One object is allowed no search_path: the cleanup procedure commits after each batch, and
# PostgreSQL refuses COMMIT in a procedure that has SET options; it runs with its caller's
# rights and only calls schema-qualified SECURITY DEFINER functions (sql/cleanup.sql).
pgspot --proc-without-search-path \
    'varel_session.session_cleanup_run(batch_size integer,pause interval,INOUT deleted bigint)' \
    "$(pg_config --sharedir)/extension/varel_session--$(extension_version).sql"

say "tier 3: integration tests (extension and client crate)"
export VAREL_TEST_HOST=$(cluster_dir "$TEST_CLUSTER")
export VAREL_TEST_PORT=$TEST_PORT
export VAREL_CRASH_HOST=$(cluster_dir crash)
export VAREL_CRASH_PORT=$CRASH_PORT
export VAREL_CRASH_DATA=$(cluster_dir crash)/data
export VAREL_PGBOUNCER_PORT=$PGBOUNCER_PORT
cargo nextest run --workspace --exclude varel_session --exclude varel-session-client-bench \
    --no-fail-fast --color never \
    --success-output immediate 2>&1
