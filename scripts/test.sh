#!/usr/bin/env bash
# The README's test command (`make test`): sets up a fresh machine if needed, then runs every
# test tier and fails if any fails. Its output ends with the last test runner's summary line.
#
#   tier 1  Rust unit tests and #[pg_test]s        cargo pgrx test (its own temporary server)
#   tier 2  SQL regression tests, expected output  pg_regress against the test cluster
#   tier 3  integration tests                       cargo nextest against the test cluster
#
# The test cluster is recreated on every run (port $VAREL_TEST_PORT, default 54322), with
# pg_cron preloaded so the scheduling tests run against the real thing.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

TEST_PORT=${VAREL_TEST_PORT:-54322}
TEST_CLUSTER=test

setup_apt
setup_cargo_pgrx
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
trap 'cluster_stop "$TEST_CLUSTER" >/dev/null 2>&1 || true' EXIT
cluster_psql "$TEST_CLUSTER" "$TEST_PORT" postgres -c "CREATE DATABASE varel_template" \
    -c "CREATE DATABASE varel_it" -c "CREATE DATABASE varel_cron"
cluster_psql "$TEST_CLUSTER" "$TEST_PORT" varel_template -c "CREATE EXTENSION varel_session"
cluster_psql "$TEST_CLUSTER" "$TEST_PORT" varel_it -c "CREATE EXTENSION varel_session"
cluster_psql "$TEST_CLUSTER" "$TEST_PORT" varel_cron \
    -c "CREATE EXTENSION varel_session" -c "CREATE EXTENSION pg_cron"

say "tier 2: SQL regression tests"
regress_out=$(mktemp -d)
if ! /usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress \
    --host="$(cluster_dir "$TEST_CLUSTER")" --port="$TEST_PORT" --user=postgres \
    --dbname=varel_regress --inputdir=tests/regress --outputdir="$regress_out" \
    --schedule=tests/regress/schedule; then
    cat "$regress_out/regression.diffs" >&2 || true
    exit 1
fi

say "tier 3: integration tests"
export VAREL_TEST_HOST=$(cluster_dir "$TEST_CLUSTER")
export VAREL_TEST_PORT=$TEST_PORT
cargo nextest run --workspace --exclude varel_session --no-fail-fast --color never 2>&1
