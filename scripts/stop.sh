#!/usr/bin/env bash
# `make stop`: stops every cluster and pgbouncer the project's scripts started, of whatever
# major (data stays in /tmp).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
for dir in "$CLUSTERS_ROOT"/*/; do
    [[ -d $dir ]] || continue
    name=$(basename "$dir")
    if [[ -f $dir/pgbouncer.pid ]]; then
        pgbouncer_stop "$name"
        say "stopped $name"
        continue
    fi
    [[ -f $dir/data/PG_VERSION ]] || continue
    use_major "$(cat "$dir/data/PG_VERSION")"
    [[ -x $PG_BIN/pg_ctl ]] || continue
    if as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        cluster_stop "$name"
        say "stopped $name"
    fi
done
