#!/usr/bin/env bash
# `make stop`: stops every cluster the project's scripts started (data stays in /tmp).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
for dir in "$CLUSTERS_ROOT"/*/; do
    name=$(basename "$dir")
    [[ -f $dir/data/PG_VERSION ]] || continue
    cluster_stop "$name" && say "stopped $name"
done
