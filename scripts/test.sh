#!/usr/bin/env bash
# The README's test command (`make test`): sets up a fresh machine if needed, then runs every
# test tier on every supported PostgreSQL major and fails if any fails. Its output ends with
# the time each tier took.
#
# Tiers (TIERS="regress isolation" runs a subset, in this order whatever the order given;
# PG_MAJORS_TO_TEST="15 17" a subset of the majors):
#   lint         cargo fmt --check, cargo clippy -D warnings (with the unsafe lints of
#                extension/Cargo.toml), cargo doc with broken intra-doc links denied, the client's doc
#                tests, gofmt, php -l, ruby -wc. Once, not per major.
#   unit         Rust unit tests and #[pg_test]s: cargo pgrx test in extension/ (its own
#                temporary server)
#   regress      SQL regression tests, expected output: pg_regress against the test cluster
#   isolation    concurrency specs: pg_isolation_regress, same cluster
#   upgrade      from every released version (tests/upgrade), same cluster
#   sql-edition  the regression and isolation suites against the SQL edition, its install forms
#   pgspot       pgspot on both editions' installed scripts (15)
#   adapters     every framework adapter's own test suites and example app, on one major
#   integration  cargo nextest against the test clusters (tests/integration; the client crate
#                on the adapters' major only), then its SQL-edition subset
#   sharding     PL/Proxy sharding tests, one at a time (15)
#
# The extension's own tiers run on every major. The adapters, and the client crate's
# integration tests, run on one: ADAPTERS_MAJOR, 17, or the last major tested when 17 is not
# among them. PostgreSQL 15 (Debian's) also runs what needs Debian's packages: the pg_cron job,
# pgspot, PL/Proxy, and the extension is installed there from the .deb that `make package`
# ships; the other majors test a debug build. The clusters are those of `make test-env`
# (scripts/lib/test_env.sh), recreated per major; target/test.env describes the last ones.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/sharded.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/test_env.sh"
read -r -a PG_MAJORS <<<"${PG_MAJORS_TO_TEST:-${SUPPORTED_MAJORS[*]}}"
ALL_TIERS=(lint unit regress isolation upgrade sql-edition pgspot adapters integration sharding)
read -r -a TIERS_GIVEN <<<"${TIERS:-${ALL_TIERS[*]}}"
for tier in "${TIERS_GIVEN[@]}"; do
    if [[ " ${ALL_TIERS[*]} " != *" $tier "* ]]; then
        echo "unknown tier '$tier'; the tiers are: ${ALL_TIERS[*]}" >&2
        exit 1
    fi
done
for major in "${PG_MAJORS[@]}"; do
    if [[ " ${SUPPORTED_MAJORS[*]} " != *" $major "* ]]; then
        echo "PostgreSQL $major is not supported; choose among ${SUPPORTED_MAJORS[*]}" >&2
        exit 1
    fi
done
# The example apps of the adapters, each checked against tests/examples/contract.py.
EXAMPLE_APPS=(adapters/tower-sessions/example/run adapters/actix-session/example/run
    adapters/flask/example/run adapters/starlette/example/run adapters/django/example/run
    adapters/express/example/run adapters/go/example/run adapters/spring/example/run
    adapters/php/example/run adapters/php/laravel-example/run adapters/rails/example/run)
ADAPTERS_MAJOR=${ADAPTERS_MAJOR:-17}
[[ " ${PG_MAJORS[*]} " == *" $ADAPTERS_MAJOR "* ]] || ADAPTERS_MAJOR=${PG_MAJORS[-1]}

# tier NAME: whether tier NAME runs.
tier() { [[ " ${TIERS_GIVEN[*]} " == *" $1 "* ]]; }

# The tiers that need Debian's PostgreSQL 15 (pgspot lints the script installed there; PL/Proxy
# is packaged for 15 only) run on no other major: asked for without 15, they would test nothing.
for only_15 in pgspot sharding; do
    if tier "$only_15" && [[ " ${PG_MAJORS[*]} " != *" 15 "* ]]; then
        echo "tier $only_15 runs on PostgreSQL 15 only; add 15 to PG_MAJORS_TO_TEST" >&2
        exit 1
    fi
done

# Elapsed time per tier, printed at the end (CONTRIBUTING.md records them).
TIMINGS=()
tier_started=$SECONDS
timed() {
    TIMINGS+=("$(printf '%5ds  %s' $((SECONDS - tier_started)) "$1")")
    tier_started=$SECONDS
}

setup_for_tests "$(tier pgspot && echo pgspot)"
cd "$REPO_ROOT"
timed "set-up"

if tier lint; then
    say "lint: cargo fmt --check, cargo clippy -D warnings, cargo doc, the client's doc tests"
    cargo fmt --all --check
    test -z "$(cd adapters/go && gofmt -l .)" || { echo "gofmt: adapters/go needs formatting" >&2; exit 1; }
    find adapters/php -name '*.php' -print0 | xargs -0 -n1 php -l >/dev/null
    # Ruby's syntax check with warnings on; a warning fails the lint too.
    ruby_warnings=$(find adapters/rails \( -name '*.rb' -o -name '*.ru' -o -name '*.gemspec' \) \
        -exec ruby -wc {} \; 2>&1 >/dev/null)
    [[ -z $ruby_warnings ]] || { echo "$ruby_warnings" >&2; exit 1; }
    cargo clippy --workspace --all-targets --color never -- -D warnings
    cargo clippy -p varel_session --lib --features bench_unchecked --color never -- -D warnings
    # Broken intra-doc links fail the run. Only our own crates, private items too: the
    # extension's rustdoc is for the people who change it.
    RUSTDOCFLAGS="-D rustdoc::broken_intra_doc_links" \
        cargo doc --workspace --no-deps --document-private-items --color never --quiet
    # The client's rustdoc examples (nextest does not run doc tests): every one compiles, and
    # those that need no database (MemoryStore, Config, Session) run.
    cargo test -p varel-session-client --doc --color never
    timed "lint"
fi

# run_suite TOOL DIR DB HOST PORT [pg_regress args]: a pg_regress-style suite (DIR, or
# tests/DIR: schedule, sql or specs, expected) against a running cluster; shows the
# differences and stops if any test fails.
run_suite() {
    local tool=$1 dir=$2 db=$3 host=$4 port=$5 out
    shift 5
    [[ $dir == /* ]] || dir=tests/$dir
    out=$(mktemp -d)
    if ! "$tool" --bindir="$PG_BIN" --host="$host" --port="$port" --user=postgres --dbname="$db" \
        --inputdir="$dir" --outputdir="$out" --schedule="$dir/schedule" "$@"; then
        find "$out" -name regression.diffs -exec cat {} + >&2
        exit 1
    fi
}

# upgrade_test HOST PORT: for every released version, a database created at that version with
# sessions of every kind, upgraded with ALTER EXTENSION UPDATE, must have the catalog of a fresh
# install, keep every session, and pass the regression suite.
upgrade_test() {
    local host=$1 port=$2 script version
    local psql=(psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres)
    "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS varel_fresh" \
        -c "CREATE DATABASE varel_fresh"
    "${psql[@]}" -d varel_fresh -c "CREATE EXTENSION varel_session"
    "${psql[@]}" -d varel_fresh -At -f tests/upgrade/catalog.sql >"$work/catalog.fresh"
    for script in sql/versions/varel_session--*.sql; do
        version=${script##*--}
        version=${version%.sql}
        say "PostgreSQL $PG_MAJOR: upgrade from $version"
        "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS varel_upgraded" \
            -c "CREATE DATABASE varel_upgraded"
        "${psql[@]}" -d varel_upgraded -c "CREATE EXTENSION varel_session VERSION '$version'"
        "${psql[@]}" -d varel_upgraded -f tests/upgrade/before.sql >/dev/null
        "${psql[@]}" -d varel_upgraded -c "ALTER EXTENSION varel_session UPDATE"
        "${psql[@]}" -d varel_upgraded -f tests/upgrade/after.sql >/dev/null
        "${psql[@]}" -d varel_upgraded -At -f tests/upgrade/catalog.sql >"$work/catalog.upgraded"
        if ! diff -u "$work/catalog.fresh" "$work/catalog.upgraded" >&2; then
            echo "the catalog after upgrading from $version differs from a fresh install" >&2
            exit 1
        fi
        # The regression suite on the upgraded database (emptied of before.sql's sessions).
        "${psql[@]}" -d varel_upgraded -c "DROP TABLE upgrade_check" \
            -c "TRUNCATE varel_session.sessions, varel_session.imported_sessions"
        run_suite "$PGXS_TESTS/regress/pg_regress" regress varel_upgraded "$host" "$port" \
            --use-existing
    done
}

# pgspot_lint SCRIPT: pgspot on an installed extension script, with zero findings allowed.
# The only allowances are the `-- pgspot-allow: proc-without-search-path SIGNATURE` lines in
# the SQL sources, each right above the definition it allows, with the reason beside it.
pgspot_lint() {
    local script=$1 allowed=() signature
    if ! awk '
        /^-- pgspot-allow: / {
            name = $4; sub(/\(.*/, "", name)
            getline next_line
            if (next_line !~ /^CREATE (FUNCTION|PROCEDURE) / || index(next_line, name "(") == 0) {
                print "the pgspot allowance for " name " is not right above its definition"
                bad = 1
            }
        }
        END { exit bad }' "$script" >&2; then
        return 1
    fi
    while IFS= read -r signature; do
        allowed+=(--proc-without-search-path "$signature")
    done < <(sed -n 's/^-- pgspot-allow: proc-without-search-path //p' "$script")
    pgspot "${allowed[@]}" "$script"
}

work=$(mktemp -d)
# The majors whose test clusters this run started: on exit (a failure too) it stops those, and
# leaves alone clusters it did not start (a `make test-env` of another major, say).
STARTED_MAJORS=()
cleanup_clusters() {
    local major
    for major in "${STARTED_MAJORS[@]}"; do
        use_major "$major"
        test_env_stop
    done
}
trap '{ cleanup_clusters; } >/dev/null 2>&1 || true' EXIT

for major in "${PG_MAJORS[@]}"; do
    use_major "$major"
    PGXS_TESTS=$(dirname "$("$PG_CONFIG" --pgxs)")/../test

    if tier unit; then
        say "PostgreSQL $major, unit: Rust unit tests and #[pg_test]s"
        pgrx_data=$CLUSTERS_ROOT/pgrx-test-$major
        as_root mkdir -p "$pgrx_data"
        as_root chown postgres:postgres "$pgrx_data"
        (cd extension && cargo pgrx test "pg$major" \
            --no-default-features --runas postgres --pgdata "$pgrx_data")
        timed "PostgreSQL $major: unit"
    fi

    cluster_tiers=(regress isolation upgrade sql-edition integration)
    [[ $major == 15 ]] && cluster_tiers+=(pgspot sharding)
    [[ $major == "$ADAPTERS_MAJOR" ]] && cluster_tiers+=(adapters)
    needs_clusters=0
    for name in "${cluster_tiers[@]}"; do tier "$name" && needs_clusters=1; done
    ((needs_clusters)) || continue

    # `cargo pgrx test` installed its test build; put the build the tiers below test in place.
    install_for_tests
    STARTED_MAJORS+=("$major")
    test_env_start
    # shellcheck source=/dev/null
    source "$TEST_ENV_FILE"
    timed "PostgreSQL $major: install and start the test clusters"

    if tier regress; then
        say "PostgreSQL $major, regress: SQL regression tests"
        run_suite "$PGXS_TESTS/regress/pg_regress" regress varel_regress "$TEST_HOST" "$TEST_PORT"
        timed "PostgreSQL $major: regress"
    fi
    if tier isolation; then
        say "PostgreSQL $major, isolation: concurrency specs"
        run_suite "$PGXS_TESTS/isolation/pg_isolation_regress" isolation varel_isolation \
            "$TEST_HOST" "$TEST_PORT"
        timed "PostgreSQL $major: isolation"
    fi
    if tier upgrade; then
        say "PostgreSQL $major, upgrade: from every released version"
        upgrade_test "$TEST_HOST" "$TEST_PORT"
        timed "PostgreSQL $major: upgrade"
    fi
    if tier sql-edition; then
        say "PostgreSQL $major, sql-edition: regression tests, concurrency specs, install forms"
        sql_edition_suite regress "$work/sql_edition_regress"
        run_suite "$PGXS_TESTS/regress/pg_regress" "$work/sql_edition_regress" varel_sql_regress \
            "$TEST_HOST" "$TEST_PORT"
        sql_edition_suite isolation "$work/sql_edition_isolation"
        run_suite "$PGXS_TESTS/isolation/pg_isolation_regress" "$work/sql_edition_isolation" \
            varel_sql_isolation "$TEST_HOST" "$TEST_PORT"
        # pg_tle (vendor/) is built for 15, the major whose test cluster preloads it.
        sql_edition_forms_test "$TEST_HOST" "$TEST_PORT" "$([[ $major == 15 ]] && echo pg_tle)"
        timed "PostgreSQL $major: sql-edition"
    fi
    if tier pgspot && [[ $major == 15 ]]; then
        say "pgspot: both editions' installed extension scripts"
        extension_dir=$("$PG_CONFIG" --sharedir)/extension
        pgspot_lint "$extension_dir/varel_session--$(extension_version).sql"
        pgspot_lint "$extension_dir/varel_session_sql--$(extension_version).sql"
        timed "pgspot"
    fi

    if tier adapters && [[ $major == "$ADAPTERS_MAJOR" ]]; then
        say "PostgreSQL $major, adapters: each adapter's own suites and its framework's"
        (cd adapters/django && "$VAREL_PYTHON" tests/run.py && "$VAREL_PYTHON" tests/moving.py)
        "$VAREL_PYTHON" adapters/flask/tests/run.py
        "$VAREL_PYTHON" adapters/starlette/tests/run.py
        (cd adapters/express && node --test --test-concurrency=1 --test-reporter=spec test/*.test.js \
            && npx tsc -p test/types && test/packed/run.sh)
        cargo nextest run --no-fail-fast --color never --success-output never \
            -p varel-session-adapter-support -p varel-session-tower-sessions -p varel-session-actix 2>&1
        # One package at a time (-p 1): the packages' tests share the adapters' database, and
        # some count its rows (a bad cookie must store none), which another package's tests
        # running at the same time would change.
        (cd adapters/go && go vet ./... && go test -p 1 -count=1 ./...)
        (cd adapters/spring && mvn -B -q -Dmaven.repo.local="$REPO_ROOT/target/m2" verify)
        scripts/spring_lock.sh check
        adapters/php/tests/run.sh
        adapters/rails/test/run.sh
        timed "PostgreSQL $major: adapters"
        say "PostgreSQL $major, adapters: every example app against the shared HTTP contract"
        for app in "${EXAMPLE_APPS[@]}"; do
            "$VAREL_PYTHON" tests/examples/contract.py "$app"
        done
        timed "PostgreSQL $major: example apps"
    fi

    if tier integration; then
        say "PostgreSQL $major, integration: the extension's integration tests$(
            [[ $major == "$ADAPTERS_MAJOR" ]] && echo " and the client crate's")"
        # pg_cron comes from Debian, for PostgreSQL 15 only; the client crate is an adapter and
        # runs on the adapters' major. The minute-long load test runs in full on 15 and for 20
        # seconds on the others (the same code path, less waiting). The sharding tests have a
        # tier of their own (they stop and fail over nodes).
        filter='not binary(sharding)'
        [[ $major == 15 ]] || filter+=' & not binary(cron)'
        [[ $major == "$ADAPTERS_MAJOR" ]] || filter+=' & not package(varel-session-client)'
        export VAREL_LOAD_SECONDS=60
        [[ $major == 15 ]] || export VAREL_LOAD_SECONDS=20
        # Most integration tests spend their time waiting on the server, so more run at once
        # than there are cores.
        cargo nextest run --no-fail-fast --color never --success-output immediate \
            --test-threads 6 -E "$filter" 2>&1
        timed "PostgreSQL $major: integration"
        say "PostgreSQL $major, integration: against the SQL edition: hostile input, privileges, \
same-key operations and events, everyone out, and the differential tests"
        VAREL_TEST_DB=varel_it_sql VAREL_TEST_TEMPLATE=varel_template_sql cargo nextest run \
            -p varel_session_integration --test hostile_input --test privileges \
            --test atomic_and_events --test administration --test isolation_matrix \
            --test differential \
            --no-fail-fast --color never \
            --success-output immediate --test-threads 6 2>&1
        timed "PostgreSQL $major: integration, SQL edition"
    fi

    if tier sharding && [[ $major == 15 ]]; then
        say "PostgreSQL 15, sharding: PL/Proxy (a router, two nodes, a standby, a spare node)"
        cargo nextest run -p varel_session_integration --test sharding --no-fail-fast \
            --color never --success-output immediate --test-threads 1 2>&1
        timed "PostgreSQL 15: sharding"
    fi

    test_env_stop >/dev/null 2>&1 || true
done

say "time per tier"
printf '%s\n' "${TIMINGS[@]}" >&2
