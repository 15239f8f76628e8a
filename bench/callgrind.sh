#!/usr/bin/env bash
# Instruction counts of the hot path, this checkout against another commit (HEAD~1 unless
# given), under valgrind's callgrind: repeatable to the instruction where wall-clock figures on
# these 2-core machines are not, so every change of the hot path can be priced before the
# benchmark (BENCHMARKS.md) measures it.
#
#   bench/callgrind.sh [BASE_COMMIT]
#
# Each build is installed (release, PostgreSQL 17) into a copy of the PostgreSQL installation
# under target/callgrind/, so neither touches the installation the tests use. For each build,
# function and session kind, a single-user backend runs a PL/pgSQL loop of N calls under
# callgrind, and once with no call; the difference divided by N is the cost of one call as an
# application's statement pays it (the executor's set-function call included). The logged-in
# session is logged in with session_set_user, so it has what a log-in records. Needs the
# machine set up (`make test` or `make run` once) and valgrind (installed here if missing).
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"
use_major 17

BASE=${1:-HEAD~1}
CALLS=20000
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

# single LABEL SQL: runs SQL in a single-user backend of LABEL's cluster (extra args: a
# wrapper such as valgrind).
single() {
    local label=$1 sql=$2
    shift 2
    echo "$sql" | as_postgres "$@" "$WORK/$label/pg/bin/postgres" --single \
        -D "$WORK/$label/data" postgres >/dev/null 2>&1
}

# measure LABEL: instructions per call of each function on each kind of session, the median of
# ROUNDS rounds, each with new sessions (tokens and handles are random, and with them a few
# hundred instructions of each call).
measure() {
    local label=$1 dir=$WORK/$1
    rm -rf "$dir/data" "$dir/out"
    mkdir -p "$dir/out"
    chown postgres "$dir" "$dir/out"
    as_postgres "$dir/pg/bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 >/dev/null
    single "$label" "CREATE EXTENSION varel_session;"
    local data='{"cart": [1, 2, 3], "theme": "dark"}'
    local round fn kind n counts per_call
    for round in $(seq "$ROUNDS"); do
        single "$label" "DROP TABLE IF EXISTS tokens; CREATE TABLE tokens AS SELECT 'anonymous' AS kind, varel_session.session_new(data => '$data') AS token;"
        single "$label" "INSERT INTO tokens SELECT 'logged_in', varel_session.session_set_user(varel_session.session_new(data => '$data'), 42);"
        for fn in session_get session_load; do
            for kind in anonymous logged_in; do
                counts=()
                for n in 0 "$CALLS"; do
                    local out=$dir/out/$fn.$kind.$n
                    single "$label" "DO \$\$ DECLARE t text := (SELECT token FROM tokens WHERE kind = '$kind'); BEGIN FOR i IN 1..$n LOOP PERFORM * FROM varel_session.$fn(t); END LOOP; END \$\$;" \
                        valgrind --tool=callgrind --callgrind-out-file="$out"
                    counts+=("$(sed -n 's/^summary: \([0-9]*\).*/\1/p; s/^totals: \([0-9]*\).*/\1/p' "$out" | head -1)")
                done
                per_call=$(((counts[1] - counts[0]) / CALLS))
                echo "$label $fn $kind $per_call" >>"$WORK/rounds"
            done
        done
    done
    for fn in session_get session_load; do
        for kind in anonymous logged_in; do
            awk -v l="$label" -v f=$fn -v k=$kind '$1 == l && $2 == f && $3 == k {print $4}' \
                "$WORK/rounds" | sort -n | awk -v l="$label" -v f=$fn -v k=$kind \
                '{v[NR] = $1} END {print l, f, k, v[int((NR + 1) / 2)]}' >>"$WORK/results"
        done
    done
}

base_tree=$WORK/base-tree
rm -rf "$WORK/results" "$WORK/rounds"
if [[ ! -d $base_tree ]]; then
    git -C "$REPO_ROOT" worktree add --detach "$base_tree" "$base_commit" >/dev/null
else
    git -C "$base_tree" checkout -q --detach "$base_commit"
fi
# VAREL_CALLGRIND_REUSE=1: measure the builds of the previous run again.
if [[ ${VAREL_CALLGRIND_REUSE:-0} != 1 ]]; then
    build base "$base_tree"
    build head "$REPO_ROOT"
fi
measure base
measure head

printf '\n%-14s %-10s %12s %12s %8s\n' function session "base" "head" "head/base"
for fn in session_get session_load; do
    for kind in anonymous logged_in; do
        b=$(awk -v f=$fn -v k=$kind '$1 == "base" && $2 == f && $3 == k {print $4}' "$WORK/results")
        h=$(awk -v f=$fn -v k=$kind '$1 == "head" && $2 == f && $3 == k {print $4}' "$WORK/results")
        printf '%-14s %-10s %12s %12s %8s\n' "$fn" "$kind" "$b" "$h" \
            "$(awk -v b="$b" -v h="$h" 'BEGIN {printf "%.4f", h / b}')"
    done
done
echo "(instructions per call, median of $ROUNDS rounds of $CALLS calls; base $(git -C "$REPO_ROOT" rev-parse --short "$base_commit"))"
