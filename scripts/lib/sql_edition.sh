# The SQL edition (sql_edition/): assembled from the files the C edition shares with it and its
# own, in three forms; copies of the shared test suites for it; the test of its install forms.
# Sourced by setup.sh (after common.sh), and by installcheck.sh for sql_edition_suite alone.
#
#   extension/varel_session_sql.control, extension/varel_session_sql--VERSION.sql
#       CREATE EXTENSION varel_session_sql (extension files without a shared library)
#   varel_session_sql.sql
#       one file for psql, for hosts that allow no extension files
#   varel_session_sql--pg_tle.sql
#       pgtle.install_extension(...), then CREATE EXTENSION varel_session_sql (RDS, Aurora,
#       Supabase)

# The parts, in order. The table and its helper is_live, the user-wide functions, cleanup,
# monitoring, pg_cron and the grants are the C edition's own files, so the two editions cannot
# drift apart on them (without_trigger.sql then drops the one object of sql/schema.sql the SQL
# edition leaves out).
SQL_EDITION_PARTS=(
    sql/schema.sql
    sql_edition/policy.sql
    sql_edition/internal.sql
    sql_edition/lifecycle.sql
    sql_edition/atomic.sql
    sql/users.sql
    sql/import.sql
    sql/cleanup.sql
    sql/csrf.sql
    sql/idp.sql
    sql/admin.sql
    sql/stats.sql
    sql/cron.sql
    sql/privileges.sql
    sql_edition/privileges.sql
    sql_edition/without_trigger.sql
)

# sql_edition_body: the parts concatenated, without the C edition's "\echo ... \quit" guard.
sql_edition_body() {
    local part
    for part in "${SQL_EDITION_PARTS[@]}"; do
        printf -- '-- ---- %s\n' "$part"
        grep -v '^\\echo ' "$REPO_ROOT/$part"
        printf '\n'
    done
}

# build_sql_edition OUT_DIR: writes the three forms into OUT_DIR.
build_sql_edition() {
    local out=$1 version body
    version=$(extension_version)
    mkdir -p "$out/extension"
    body=$(sql_edition_body)
    sed "s/@VERSION@/$version/" "$REPO_ROOT/sql_edition/varel_session_sql.control.in" \
        >"$out/extension/varel_session_sql.control"
    {
        echo '\echo Use "CREATE EXTENSION varel_session_sql" to load this file. \quit'
        echo "$body"
    } >"$out/extension/varel_session_sql--$version.sql"
    # For psql: the schema the control file would create, no extension-only calls, and one
    # transaction, so a failed install leaves nothing behind.
    {
        echo "-- varel_session SQL edition $version: run with psql -v ON_ERROR_STOP=1 -f this file."
        echo "BEGIN;"
        echo "CREATE SCHEMA varel_session;"
        echo "$body" | grep -v 'pg_extension_config_dump'
        echo "COMMIT;"
    } >"$out/varel_session_sql.sql"
    # For pg_tle: the extension script inside pgtle.install_extension. pg_tle's control has no
    # schema option, so the script creates the schema itself.
    if grep -q '\$_varel_session_sql_\$' <<<"$body"; then
        echo "the SQL edition contains the pg_tle quoting tag" >&2
        return 1
    fi
    {
        echo "-- varel_session SQL edition $version for pg_tle: run as a pgtle_admin member, then"
        echo "-- CREATE EXTENSION varel_session_sql;"
        echo "SELECT pgtle.install_extension("
        echo "    'varel_session_sql', '$version',"
        echo "    'web-application sessions stored in PostgreSQL, reachable only through functions (SQL edition)',"
        echo '$_varel_session_sql_$'
        echo "CREATE SCHEMA varel_session;"
        echo "$body"
        echo '$_varel_session_sql_$'
        echo ");"
    } >"$out/varel_session_sql--pg_tle.sql"
}

# install_sql_edition: builds the SQL edition and installs its extension files into the
# current major's PostgreSQL, beside the C edition's.
install_sql_edition() {
    local out=$REPO_ROOT/target/sql_edition
    build_sql_edition "$out"
    as_root cp "$out"/extension/varel_session_sql* "$("$PG_CONFIG" --sharedir)/extension/"
}

# sql_edition_suite DIR OUT: a copy in OUT of the test suite tests/DIR (regress or isolation)
# for the SQL edition: the same tests and expected output, with three mechanical changes and
# the SQL edition's own files laid over it (tests/sql_edition/DIR: expected output that
# differs, and tests of its own, each explained in tests/sql_edition/README.md).
#   - the extension's name in CREATE/DROP EXTENSION and in catalog lookups;
#   - (regress) psql's SHOW_CONTEXT set to never: PL/pgSQL adds CONTEXT lines (where in the
#     function an error was raised) that C functions do not;
#   - the schedule from tests/sql_edition/DIR/schedule when there is one.
sql_edition_suite() {
    local dir=$1 out=$2 file
    rm -rf "$out"
    cp -r "$REPO_ROOT/tests/$dir" "$out"
    find "$out" \( -name '*.sql' -o -name '*.spec' -o -name '*.out' \) -exec sed -i -E \
        -e 's/(EXTENSION (IF (NOT )?EXISTS )?)varel_session\b/\1varel_session_sql/' \
        -e "s/(name|extname) = 'varel_session'/\1 = 'varel_session_sql'/" {} +
    for file in "$out"/sql/*.sql "$out"/expected/*.out; do
        [[ $dir == regress && -e $file ]] || continue
        { echo '\set SHOW_CONTEXT never'; cat "$file"; } >"$file.new"
        mv "$file.new" "$file"
    done
    local own=$REPO_ROOT/tests/sql_edition/$dir
    if [[ -d $own ]]; then
        cp -r "$own"/. "$out"/
    fi
}

# sql_edition_forms_test HOST PORT [pg_tle]: the psql form (varel_session_sql.sql, for hosts
# that allow no extension files) installs the same objects as CREATE EXTENSION
# varel_session_sql, and works: the demo runs on it. With pg_tle (a server that preloads it),
# the same for the pg_tle form.
sql_edition_forms_test() {
    local host=$1 port=$2 with_pg_tle=${3:-} out=$REPO_ROOT/target/sql_edition
    local psql=(psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres)
    # fresh_database DB: DB, dropped and created again.
    fresh_database() {
        "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
    }
    # same_as_extension DB FORM: DB holds exactly the extension's objects, and the demo runs.
    same_as_extension() {
        "${psql[@]}" -At -d "$1" -f "$REPO_ROOT/tests/sql_edition/objects.sql" >"$out/objects.$2"
        if ! diff -u "$out/objects.extension" "$out/objects.$2" >&2; then
            echo "the $2 form of the SQL edition differs from the extension" >&2
            return 1
        fi
        "${psql[@]}" -d "$1" -f "$REPO_ROOT/scripts/demo.sql" >/dev/null
    }

    fresh_database varel_sql_by_extension
    "${psql[@]}" -d varel_sql_by_extension -c "CREATE EXTENSION varel_session_sql"
    "${psql[@]}" -At -d varel_sql_by_extension -f "$REPO_ROOT/tests/sql_edition/objects.sql" \
        >"$out/objects.extension"

    fresh_database varel_sql_by_psql
    "${psql[@]}" -d varel_sql_by_psql -f "$out/varel_session_sql.sql"
    same_as_extension varel_sql_by_psql psql
    [[ $with_pg_tle == pg_tle ]] || return 0

    # pg_tle refuses a name that an extension file on the server already has, and this server
    # has the SQL edition's files: the test installs the same script under another name.
    fresh_database varel_sql_by_pg_tle
    "${psql[@]}" -d varel_sql_by_pg_tle -c "CREATE EXTENSION pg_tle"
    sed "s/^    'varel_session_sql', '/    'varel_session_sql_tle', '/" \
        "$out/varel_session_sql--pg_tle.sql" >"$out/pg_tle_test.sql"
    "${psql[@]}" -d varel_sql_by_pg_tle -f "$out/pg_tle_test.sql" >/dev/null
    "${psql[@]}" -d varel_sql_by_pg_tle -c "CREATE EXTENSION varel_session_sql_tle"
    same_as_extension varel_sql_by_pg_tle pg_tle
}
