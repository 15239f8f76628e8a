#!/usr/bin/env bash
# `make run-sharded`: like `make run`, but the SQL API on a PL/Proxy router in front of two
# shard nodes, node 0 with a synchronous streaming standby (SCALING.md). PostgreSQL 15 (PL/Proxy
# is Debian's). Recreates the clusters each time; `make stop` stops them. The router's URL is
# the last postgresql:// URL printed.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/sharded.sh"
use_major 15
BASE=${VAREL_SHARDED_BASE_PORT:-54340}

setup_all
say "starting the router (port $((BASE + 1))), node 0 ($((BASE + 2)), standby $((BASE + 4))) and node 1 ($((BASE + 3)))"
sharded_start run-sharded "$BASE"

say "a session's life through the router"
cluster_psql run-sharded-router $((BASE + 1)) "$SHARD_DB" -f "$REPO_ROOT/sharding/demo.sql"

cat <<MSG

varel_session is running sharded: a PL/Proxy router, $SHARD_PARTITIONS partitions on two nodes.
  node 0:   psql "postgresql://postgres@127.0.0.1:$((BASE + 2))/$SHARD_DB"   (standby on port $((BASE + 4)))
  node 1:   psql "postgresql://postgres@127.0.0.1:$((BASE + 3))/$SHARD_DB"
  stop:     make stop
  router (point the application here; the same API as one server):
            postgresql://postgres@127.0.0.1:$((BASE + 1))/$SHARD_DB
MSG
