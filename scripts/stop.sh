#!/usr/bin/env bash
# `make stop`: stops every cluster the project's scripts started, of whatever major (data stays
# in /tmp).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
for dir in "$CLUSTERS_ROOT"/*/; do
    name=$(basename "$dir")
    [[ -f $dir/data/PG_VERSION ]] || continue
    use_major "$(cat "$dir/data/PG_VERSION")"
    [[ -x $PG_BIN/pg_ctl ]] || continue
    cluster_stop "$name" && say "stopped $name"
done
