# Building the packages users install without a Rust toolchain. Source it after lib/common.sh
# and lib/setup.sh.
#
# - PostgreSQL 15 (Debian's): a .deb, `dpkg -i varel-session-postgresql-15_<version>_amd64.deb`,
#   depending on postgresql-15.
# - 16, 17, 18: a tarball with the files laid out under their PostgreSQL's own folders and an
#   install.sh that copies them into the installation its pg_config names:
#   `tar xzf varel_session-<version>-pg17-linux-x86_64.tar.gz && ./varel_session-<version>-pg17/install.sh`
#   (PG_CONFIG=/path/to/pg_config to choose another installation than the first on PATH).
#
# Both carry the library, the control file, the install script of this version, the upgrade
# scripts from every earlier version, and the install scripts of released versions (so
# CREATE EXTENSION ... VERSION '<older>' works too).

PACKAGES_DIR=$REPO_ROOT/target/packages

# build_package MAJOR: builds the release package for MAJOR and prints its path.
build_package() {
    local major=$1 version staging
    use_major "$major"
    version=$(extension_version)
    staging=$(mktemp -d)
    say "building the release package for PostgreSQL $major"
    (cd "$REPO_ROOT/extension" && cargo pgrx package \
        --pg-config "$PG_CONFIG" --no-default-features --features "pg$major" \
        --out-dir "$staging/tree" >/dev/null)
    # cargo pgrx package lays files out under the full paths pg_config gives.
    local sharedir pkglibdir
    sharedir=$("$PG_CONFIG" --sharedir)
    pkglibdir=$("$PG_CONFIG" --pkglibdir)
    cp "$REPO_ROOT"/sql/versions/varel_session--*.sql "$staging/tree$sharedir/extension/"
    mkdir -p "$PACKAGES_DIR"
    if [[ $major == 15 ]]; then
        local name=varel-session-postgresql-15
        local deb=$PACKAGES_DIR/${name}_${version}_amd64.deb
        mkdir -p "$staging/tree/DEBIAN"
        cat >"$staging/tree/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: amd64
Maintainer: varel_session developers <varel-session@localhost>
Depends: postgresql-15
Section: database
Priority: optional
Description: web-application sessions stored in PostgreSQL 15
 The varel_session extension: CREATE EXTENSION varel_session gives a database a sessions
 table reachable only through functions for a session's whole life.
CONTROL
        dpkg-deb --root-owner-group --build "$staging/tree" "$deb" >/dev/null
        rm -rf "$staging"
        echo "$deb"
    else
        local name=varel_session-$version-pg$major
        local tarball=$PACKAGES_DIR/$name-linux-x86_64.tar.gz
        mkdir -p "$staging/$name/extension" "$staging/$name/lib"
        cp "$staging/tree$sharedir/extension/"varel_session* "$staging/$name/extension/"
        cp "$staging/tree$pkglibdir/"varel_session* "$staging/$name/lib/"
        cat >"$staging/$name/install.sh" <<'INSTALL'
#!/bin/sh
# Installs varel_session into the PostgreSQL installation that pg_config names (PG_CONFIG, or
# the first pg_config on PATH). Run as a user who may write there (root, usually).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pg_config=${PG_CONFIG:-pg_config}
major=$("$pg_config" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
INSTALL
        cat >>"$staging/$name/install.sh" <<INSTALL
if [ "\$major" != "$major" ]; then
    echo "this package is for PostgreSQL $major; \$pg_config is PostgreSQL \$major" >&2
    exit 1
fi
INSTALL
        cat >>"$staging/$name/install.sh" <<'INSTALL'
cp "$here"/lib/* "$("$pg_config" --pkglibdir)/"
cp "$here"/extension/* "$("$pg_config" --sharedir)/extension/"
echo "installed varel_session into $("$pg_config" --sharedir); now run CREATE EXTENSION varel_session"
INSTALL
        chmod +x "$staging/$name/install.sh"
        tar -czf "$tarball" -C "$staging" "$name"
        rm -rf "$staging"
        echo "$tarball"
    fi
}
