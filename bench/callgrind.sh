#!/usr/bin/env bash
# Instruction counts of the hot path, this checkout against another commit (HEAD~1 unless
# given), under valgrind's callgrind: repeatable to a few hundred instructions where
# wall-clock figures on these 2-core machines are not, so every change of the hot path can be
# priced before the benchmark (BENCHMARKS.md) measures it.
#
#   bench/callgrind.sh [BASE_COMMIT]
#
# Each build is installed (release, PostgreSQL 17) into a copy of the PostgreSQL installation
# under target/callgrind/, so neither touches the installation the tests use. For each build
# (and this checkout once more with varel_session.seal_data on), function and session kind, a
# single-user backend runs CALLS calls under callgrind, and once with none; the difference
# divided by CALLS is the cost of one call as an application's statement pays it. Reads run in
# a PL/pgSQL loop (the executor's set-function call included); writes run one prepared
# statement per transaction (commit and WAL included), against a baseline of a prepared
# statement that calls nothing. connect-pg-simple's get and save on a table of its own schema
# holding the same sessions are measured beside them (sql_get, sql_save): what the same server
# spends on plain SQL, and a control that no build changes. The logged-in session is logged in with session_set_user, so
# it has what a log-in records. Each figure is the median of ROUNDS rounds with new sessions
# (tokens and handles are random, and with them a few hundred instructions of each call).
# Needs the machine set up (`make test` or `make run` once) and valgrind (installed if
# missing). VAREL_CALLGRIND_REUSE=1 measures the builds of the previous run again.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"
use_major 17

BASE=${1:-HEAD~1}
CALLS=20000
WRITES=2000
ROUNDS=${VAREL_CALLGRIND_ROUNDS:-3}
WORK=$REPO_ROOT/target/callgrind
base_commit=$(git -C "$REPO_ROOT" rev-parse --verify "$BASE^{commit}")

if ! command -v valgrind >/dev/null; then
    say "installing valgrind"
    as_root apt-get install -y -q valgrind >/dev/null
fi

# build LABEL SOURCE_TREE: the tree's extension in its own copy of PostgreSQL 17.
build() {
    local label=$1 tree=$2 prefix=$WORK/$1/pg
    rm -rf "$prefix"
    mkdir -p "$WORK/$label"
    cp -a "$PG_MAJORS_ROOT/17" "$prefix"
    say "building $label ($(git -C "$tree" rev-parse --short HEAD)) with callgrind's PostgreSQL"
    (cd "$tree/extension" && CARGO_TARGET_DIR=$REPO_ROOT/target/callgrind-build \
        cargo pgrx install --release --pg-config "$prefix/bin/pg_config" \
        --no-default-features --features pg17 >"$WORK/$label/build.log" 2>&1)
}

# single BUILD DATA SQL [WRAPPER...]: runs SQL (one statement per line) in a single-user backend
# of BUILD's PostgreSQL on the cluster in DATA, with the settings in SETTINGS.
single() {
    local build=$1 data=$2 sql=$3
    shift 3
    echo "$sql" | as_postgres "$@" "$WORK/$build/pg/bin/postgres" --single -D "$data" \
        "${SETTINGS[@]}" postgres >/dev/null 2>&1
}

# instructions BUILD DATA SQL: the instructions SQL takes in a single-user backend.
instructions() {
    local out=$WORK/callgrind-out/$$
    single "$1" "$2" "$3" valgrind --tool=callgrind --callgrind-out-file="$out"
    sed -n 's/^summary: \([0-9]*\).*/\1/p; s/^totals: \([0-9]*\).*/\1/p' "$out" | head -1
    rm -f "$out"
}

# per_call BUILD DATA SQL BASELINE N: (instructions of SQL - of BASELINE) / N.
per_call() {
    local with without
    with=$(instructions "$1" "$2" "$3")
    without=$(instructions "$1" "$2" "$4")
    echo $(((with - without) / $5))
}

# per_read BUILD DATA LOOP: the instructions of one read, LOOP a PL/pgSQL block whose %s is
# the number of times it reads.
per_read() {
    # shellcheck disable=SC2059 # the loop's count is its one format argument
    per_call "$1" "$2" "$(printf "$3" "$CALLS")" "$(printf "$3" 0)" "$CALLS"
}

# per_write BUILD DATA TOKEN PREPARE: the instructions of one write, PREPARE the statement
# w(token, value) that makes it, run WRITES times with the token and a new value, each its own
# transaction, against the same executions of a statement that calls nothing.
per_write() {
    local writes=$4 baseline="PREPARE w(text, text) AS SELECT \$1 || \$2;" i
    for i in $(seq "$WRITES"); do
        writes+=$'\n'"EXECUTE w('$3', 'v$i');"
        baseline+=$'\n'"EXECUTE w('$3', 'v$i');"
    done
    per_call "$1" "$2" "$writes" "$baseline" "$WRITES"
}

# token_of BUILD DATA KIND: the token of the KIND session of the cluster in DATA.
token_of() {
    as_postgres "$WORK/$1/pg/bin/postgres" --single -D "$2" "${SETTINGS[@]}" postgres \
        <<<"SELECT token FROM tokens WHERE kind = '$3';" 2>/dev/null \
        | sed -n 's/.*token = "\([0-9a-f]*\)".*/\1/p' | head -1
}

# measure LABEL BUILD [SETTING...]: the figures of BUILD's extension, with SETTINGS (postgres
# -c options), recorded under LABEL.
measure() {
    local label=$1 build=$2
    SETTINGS=("${@:3}")
    local data=$WORK/$label/data
    mkdir -p "$WORK/$label"
    rm -rf "$data"
    chown postgres "$WORK/$label"
    as_postgres "$WORK/$build/pg/bin/initdb" -D "$data" -U postgres -A trust -E UTF8 >/dev/null
    single "$build" "$data" "CREATE EXTENSION varel_session;"
    local doc='{"cart": [1, 2, 3], "theme": "dark"}'
    local round fn kind token
    for round in $(seq "$ROUNDS"); do
        single "$build" "$data" "DROP TABLE IF EXISTS tokens; CREATE TABLE tokens AS SELECT 'anonymous' AS kind, varel_session.session_new(data => '$doc') AS token;"
        single "$build" "$data" "INSERT INTO tokens SELECT 'logged_in', varel_session.session_set_user(varel_session.session_new(data => '$doc'), 42);"
        for kind in anonymous logged_in; do
            for fn in session_get session_load; do
                local loop="DO \$\$ DECLARE t text := (SELECT token FROM tokens WHERE kind = '$kind'); BEGIN FOR i IN 1..%s LOOP PERFORM * FROM varel_session.$fn(t); END LOOP; END \$\$;"
                echo "$label $fn $kind $(per_read "$build" "$data" "$loop")" >>"$WORK/rounds"
            done
            token=$(token_of "$build" "$data" "$kind")
            local set="PREPARE w(text, text) AS SELECT varel_session.session_set(\$1, 'k', \$2);"
            echo "$label session_set $kind $(per_write "$build" "$data" "$token" "$set")" >>"$WORK/rounds"
        done
        # The hand-written table the benchmark compares with (connect-pg-simple's schema, get
        # and save), holding the same data: what the same server spends on plain SQL. It does
        # not depend on the build, so it also shows how far the rounds drift.
        single "$build" "$data" "DROP TABLE IF EXISTS cps; CREATE TABLE cps (sid varchar PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL); CREATE INDEX ON cps (expire); INSERT INTO cps SELECT token, '$doc', now() + interval '1 day' FROM tokens;"
        local read="DO \$\$ DECLARE t text := (SELECT token FROM tokens WHERE kind = 'anonymous'); BEGIN FOR i IN 1..%s LOOP PERFORM sess FROM cps WHERE sid = t AND expire >= to_timestamp(extract(epoch FROM now()))::timestamp; END LOOP; END \$\$;"
        echo "$label sql_get anonymous $(per_read "$build" "$data" "$read")" >>"$WORK/rounds"
        token=$(token_of "$build" "$data" anonymous)
        local save="PREPARE w(text, text) AS INSERT INTO cps (sess, expire, sid) SELECT json_build_object('csrf', 'x', 'k', \$2), to_timestamp(extract(epoch FROM now()) + 86400), \$1 ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expire = excluded.expire RETURNING sid;"
        echo "$label sql_save anonymous $(per_write "$build" "$data" "$token" "$save")" >>"$WORK/rounds"
    done
}

# median LABEL FUNCTION KIND: the median of the rounds' figures.
median() {
    awk -v l="$1" -v f="$2" -v k="$3" '$1 == l && $2 == f && $3 == k {print $4}' "$WORK/rounds" \
        | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

base_tree=$WORK/base-tree
rm -f "$WORK/rounds"
if [[ ${VAREL_CALLGRIND_REUSE:-0} != 1 ]]; then
    if [[ ! -d $base_tree ]]; then
        git -C "$REPO_ROOT" worktree add --detach "$base_tree" "$base_commit" >/dev/null
    else
        git -C "$base_tree" checkout -q --detach "$base_commit"
    fi
    build base "$base_tree"
    build head "$REPO_ROOT"
fi
# valgrind runs as the postgres user, which writes its output here.
mkdir -p "$WORK/callgrind-out"
chown postgres "$WORK/callgrind-out"
say "measuring (about ten minutes)"
measure base base
measure head head
measure sealed head -c varel_session.seal_data=on

printf '\n%-14s %-10s %10s %10s %10s %10s %10s\n' function session base head head/base sealed sealed/head
for fn in session_get session_load session_set sql_get sql_save; do
    for kind in anonymous logged_in; do
        [[ $fn == sql_* && $kind == logged_in ]] && continue
        b=$(median base $fn $kind)
        h=$(median head $fn $kind)
        s=$(median sealed $fn $kind)
        printf '%-14s %-10s %10s %10s %10s %10s %10s\n' "$fn" "$kind" "$b" "$h" \
            "$(awk -v b="$b" -v h="$h" 'BEGIN {printf "%.4f", h / b}')" "$s" \
            "$(awk -v h="$h" -v s="$s" 'BEGIN {printf "%.4f", s / h}')"
    done
done
echo "(sql_get and sql_save: connect-pg-simple's get and save on its own table with the same data)"
echo "(instructions per call: reads $CALLS, writes $WRITES per round, median of $ROUNDS rounds;" \
    "base $(git -C "$REPO_ROOT" rev-parse --short "$base_commit"), head $(git -C "$REPO_ROOT" rev-parse --short HEAD) and its working tree)"
