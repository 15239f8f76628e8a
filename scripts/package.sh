#!/usr/bin/env bash
# `make package`: builds the release package of every supported major (a .deb for Debian's
# PostgreSQL 15, tarballs with an install script for 16, 17 and 18; scripts/lib/package.sh) into
# target/packages, then tests each one the way a user would install it: removes every file of
# the extension from that PostgreSQL, installs the package with its one command, starts a
# clean cluster and runs the SQL regression suite against it. PG_MAJORS_TO_PACKAGE="15 17"
# builds a subset. Then the SQL edition's tarball (its three install forms, for any major),
# installed the same way into the last major and tested with its own copy of the suite.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/package.sh"
read -r -a PG_MAJORS <<<"${PG_MAJORS_TO_PACKAGE:-${SUPPORTED_MAJORS[*]}}"

setup_apt
setup_cargo_pgrx
cd "$REPO_ROOT"

built=()
for major in "${PG_MAJORS[@]}"; do
    artifact=$(build_package "$major")
    built+=("$artifact")

    say "PostgreSQL $major: installing $(basename "$artifact") into a clean installation"
    use_major "$major"
    as_root rm -f "$("$PG_CONFIG" --pkglibdir)"/varel_session*.so \
        "$("$PG_CONFIG" --sharedir)"/extension/varel_session*
    if [[ $artifact == *.deb ]]; then
        as_root dpkg -i "$artifact" >/dev/null
    else
        unpacked=$(mktemp -d)
        tar -xzf "$artifact" -C "$unpacked"
        as_root env PG_CONFIG="$PG_CONFIG" "$unpacked"/*/install.sh
        rm -rf "$unpacked"
    fi

    cluster=$(cluster_name package)
    port=$(port_of "$major" 8)
    cluster_remove "$cluster"
    cluster_start "$cluster" "$port"
    out=$(mktemp -d)
    pgxs_tests=$(dirname "$("$PG_CONFIG" --pgxs)")/../test
    if ! "$pgxs_tests/regress/pg_regress" --bindir="$PG_BIN" --host="$(cluster_dir "$cluster")" --port="$port" \
        --user=postgres --dbname=varel_regress --inputdir=tests/regress --outputdir="$out" \
        --schedule=tests/regress/schedule; then
        find "$out" -name regression.diffs -exec cat {} + >&2
        cluster_stop "$cluster"
        exit 1
    fi
    cluster_remove "$cluster"
done

sql_dir=$REPO_ROOT/target/sql_edition_package/varel_session_sql-$(extension_version)
rm -rf "$(dirname "$sql_dir")"
build_sql_edition "$sql_dir"
sql_tarball=$REPO_ROOT/target/packages/varel_session_sql-$(extension_version).tar.gz
tar -czf "$sql_tarball" -C "$(dirname "$sql_dir")" "$(basename "$sql_dir")"
built+=("$sql_tarball")
say "PostgreSQL $PG_MAJOR: installing $(basename "$sql_tarball") into a clean installation"
unpacked=$(mktemp -d)
tar -xzf "$sql_tarball" -C "$unpacked"
as_root cp "$unpacked"/*/extension/* "$("$PG_CONFIG" --sharedir)/extension/"
rm -rf "$unpacked"
cluster=$(cluster_name package)
port=$(port_of "$PG_MAJOR" 8)
cluster_remove "$cluster"
cluster_start "$cluster" "$port"
out=$(mktemp -d)
sql_edition_suite regress "$out/suite"
pgxs_tests=$(dirname "$("$PG_CONFIG" --pgxs)")/../test
if ! "$pgxs_tests/regress/pg_regress" --bindir="$PG_BIN" --host="$(cluster_dir "$cluster")" --port="$port" \
    --user=postgres --dbname=varel_regress --inputdir="$out/suite" --outputdir="$out" \
    --schedule="$out/suite/schedule"; then
    find "$out" -name regression.diffs -exec cat {} + >&2
    cluster_stop "$cluster"
    exit 1
fi
cluster_remove "$cluster"

say "packages (each installed into a clean PostgreSQL and passing the regression suite):"
printf '  %s\n' "${built[@]}"
