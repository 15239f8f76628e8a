#!/usr/bin/env bash
# The README's benchmark command (`make bench`, or `make bench-quick` for a smoke run): sets up
# a fresh machine if needed, then runs bench/run.py, which starts its own cluster (port
# $VAREL_BENCH_PORT, default 54323), prints the results and writes them into BENCHMARKS.md.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
setup_all
exec python3 "$REPO_ROOT/bench/run.py" "$@"
