#!/usr/bin/env bash
# The README's run command (`make run`): sets up a fresh machine if needed, starts a local
# throwaway PostgreSQL 15 with the extension (reusing it when it already runs), and shows a
# session's life in SQL.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

RUN_PORT=${VAREL_PORT:-54321}
DB=varel

setup_all
say "starting PostgreSQL 15 on port $RUN_PORT (data in $(cluster_dir run))"
cluster_start run "$RUN_PORT" \
    "shared_preload_libraries = 'pg_cron'" \
    "cron.database_name = '$DB'" \
    "cron.use_background_workers = on" \
    "max_worker_processes = 16"

if [[ -z $(cluster_psql run "$RUN_PORT" postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DB'") ]]; then
    cluster_psql run "$RUN_PORT" postgres -c "CREATE DATABASE $DB"
fi
cluster_psql run "$RUN_PORT" "$DB" \
    -c "CREATE EXTENSION IF NOT EXISTS varel_session" \
    -c "ALTER EXTENSION varel_session UPDATE" \
    -c "CREATE EXTENSION IF NOT EXISTS pg_cron"

say "a session's life, in SQL"
cluster_psql run "$RUN_PORT" "$DB" -f "$REPO_ROOT/scripts/demo.sql"

cat <<MSG

varel_session is running.
  connect:  psql "postgresql://postgres@127.0.0.1:$RUN_PORT/$DB"
  or:       psql -h $(cluster_dir run) -p $RUN_PORT -U postgres $DB
  stop:     make stop
MSG
