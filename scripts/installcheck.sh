#!/usr/bin/env bash
# `make installcheck`: the SQL regression tests and the concurrency specs against a PostgreSQL
# server that is already running, with the extension installed into it, PGXS style. Needs no
# root and starts no cluster. The server is the one libpq's environment names (PGHOST, PGPORT,
# PGUSER, a superuser); PG_CONFIG picks the installation whose pg_regress to use (default: the
# pg_config on PATH). pg_regress creates and drops the databases varel_regress and
# varel_isolation. Run one test with TESTS="lifecycle" (or "isolation:set_set").
# EDITION=sql runs the SQL edition's copy of the suites (tests/sql_edition/README.md) against a
# server with varel_session_sql installed.
#
# The server needs pg_cron only for the scheduling tests in tests/regress/sql/cron*.sql; the
# suites that need more than a plain server (pg_cron running jobs, pgbouncer, a crash) live in
# the integration tests that `make test` runs.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
PGXS_TESTS=$(dirname "$("$PG_CONFIG" --pgxs)")/../test
source "$REPO_ROOT/scripts/lib/sql_edition.sh"

# suite_dir DIR: where the suite tests/DIR is for the edition under test.
suite_dir() {
    if [[ ${EDITION:-c} == sql ]]; then
        local copy
        copy=$(mktemp -d)/$1
        sql_edition_suite "$1" "$copy"
        echo "$copy"
    else
        echo "$REPO_ROOT/tests/$1"
    fi
}

run_suite() {
    local tool=$1 dir=$2 db=$3
    shift 3
    local out
    out=$(mktemp -d)
    dir=$(suite_dir "$dir")
    local selection=(--schedule="$dir/schedule")
    # A selection of tests runs without the schedule's first test, which creates the
    # extension: pg_regress creates it in the fresh database instead.
    if (($#)); then
        selection=("$@" --load-extension="$([[ ${EDITION:-c} == sql ]] && echo varel_session_sql || echo varel_session)")
    fi
    if ! "$tool" --bindir="$("$PG_CONFIG" --bindir)" --dbname="$db" --inputdir="$dir" \
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
