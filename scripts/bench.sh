#!/usr/bin/env bash
# BENCHMARKS.md's benchmark command (`make bench`, or `make bench-quick` for a smoke run): sets up
# a fresh machine if needed, then runs bench/run.py, which starts its own cluster (port
# $VAREL_BENCH_PORT, default 54323), prints the results and writes them into BENCHMARKS.md.
#
# As root it reserves huge pages for the duration (6 GB of shared_buffers in 2 MB pages, the
# usual tuning for a buffer pool this size, which saves TLB misses on large tables) and gives
# them back afterwards.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
# The benchmark also prices session_get's per-call checks against a build without them.
export VAREL_EXTRA_FEATURES=bench_unchecked
# The head-to-head (bench/headtohead.py) drives HTTP with wrk and keeps one stack in Redis.
APT_PACKAGES+=(wrk redis-server)
setup_all
# The previous release's library, built from its commit, installed beside this one as
# $libdir/varel_session_previous (bench/run.py compares session_get, session_load and
# session_set with it). Skipped when the checkout has no history (a shallow clone).
# VAREL_BENCH_PREVIOUS=<commit> compares with that commit's build instead (a refactoring
# against the commit before it, `--only release`), declared by that build's own install script.
PREVIOUS_RELEASE=0.1.0
PREVIOUS_COMMIT=${VAREL_BENCH_PREVIOUS:-fd91db40a380587b405af48a9c7a2f130e05be69}
previous_sql=$REPO_ROOT/sql/versions/varel_session--$PREVIOUS_RELEASE.sql
if git -C "$REPO_ROOT" cat-file -e "$PREVIOUS_COMMIT" 2>/dev/null; then
    say "building the previous build (${PREVIOUS_COMMIT:0:12}) for the comparison"
    previous_tree=$REPO_ROOT/target/previous-${PREVIOUS_COMMIT:0:12}
    if [[ ! -d $previous_tree ]]; then
        git -C "$REPO_ROOT" worktree add --detach "$previous_tree" "$PREVIOUS_COMMIT" >/dev/null
    fi
    (cd "$previous_tree" && CARGO_TARGET_DIR=$REPO_ROOT/target/previous-release-build \
        cargo pgrx package --package varel_session --pg-config "$PG_CONFIG" --out-dir "$previous_tree/package" >/dev/null)
    as_root cp "$previous_tree/package$("$PG_CONFIG" --pkglibdir)/varel_session.so" \
        "$("$PG_CONFIG" --pkglibdir)/varel_session_previous.so"
    if [[ -n ${VAREL_BENCH_PREVIOUS:-} ]]; then
        previous_sql=$(find "$previous_tree/package" -regex '.*/varel_session--[0-9.]*\.sql')
    fi
    export VAREL_BENCH_PREVIOUS_LIBRARY=varel_session_previous
    export VAREL_BENCH_PREVIOUS_SQL=$previous_sql
fi

say "building the client benchmark"
(cd "$REPO_ROOT" && cargo build --quiet --release -p varel-session-client-bench)

previous_huge_pages=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
if [[ $(id -u) -eq 0 && " $* " != *" --quick "* ]]; then
    echo 3300 >/proc/sys/vm/nr_hugepages 2>/dev/null || true
    trap 'echo "$previous_huge_pages" >/proc/sys/vm/nr_hugepages 2>/dev/null || true' EXIT
fi
python3 "$REPO_ROOT/bench/run.py" "$@"
