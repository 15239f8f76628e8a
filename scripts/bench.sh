#!/usr/bin/env bash
# The README's benchmark command (`make bench`, or `make bench-quick` for a smoke run): sets up
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
setup_all
say "building the client benchmark"
(cd "$REPO_ROOT" && cargo build --quiet --release -p varel-session-client-bench)

previous_huge_pages=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
if [[ $(id -u) -eq 0 && " $* " != *" --quick "* ]]; then
    echo 3300 >/proc/sys/vm/nr_hugepages 2>/dev/null || true
    trap 'echo "$previous_huge_pages" >/proc/sys/vm/nr_hugepages 2>/dev/null || true' EXIT
fi
python3 "$REPO_ROOT/bench/run.py" "$@"
