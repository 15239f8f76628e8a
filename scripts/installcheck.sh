#!/usr/bin/env bash
# `make installcheck`: the SQL regression tests and the concurrency specs against a PostgreSQL
# server that is already running, with the extension installed into it, PGXS style. Needs no
# root and starts no cluster. The server is the one libpq's environment names (PGHOST, PGPORT,
# PGUSER, a superuser); PG_CONFIG picks the installation whose pg_regress to use (default: the
# pg_config on PATH). pg_regress creates and drops the databases varel_regress and
# varel_isolation. Run one test with TESTS="lifecycle" (or "isolation:set_set").
#
# The server needs pg_cron only for the scheduling tests in tests/regress/sql/cron*.sql; the
# suites that need more than a plain server (pg_cron running jobs, pgbouncer, a crash) live in
# the integration tests that `make test` runs.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
PGXS_TESTS=$(dirname "$("$PG_CONFIG" --pgxs)")/../test

run_suite() {
    local tool=$1 dir=$2 db=$3
    shift 3
    local out
    out=$(mktemp -d)
    local selection=(--schedule="$REPO_ROOT/tests/$dir/schedule")
    if (($#)); then selection=("$@"); fi
    if ! "$tool" --bindir="$("$PG_CONFIG" --bindir)" --dbname="$db" --inputdir="$REPO_ROOT/tests/$dir" \
        --outputdir="$out" "${selection[@]}"; then
        find "$out" -name regression.diffs -exec cat {} + >&2
        return 1
    fi
}

regress=() isolation=()
for test in ${TESTS:-}; do
    case $test in
        isolation:*) isolation+=("${test#isolation:}") ;;
        *) regress+=("$test") ;;
    esac
done
if [[ -z ${TESTS:-} || ${#regress[@]} -gt 0 ]]; then
    run_suite "$PGXS_TESTS/regress/pg_regress" regress varel_regress "${regress[@]}"
fi
if [[ -z ${TESTS:-} || ${#isolation[@]} -gt 0 ]]; then
    run_suite "$PGXS_TESTS/isolation/pg_isolation_regress" isolation varel_isolation "${isolation[@]}"
fi
