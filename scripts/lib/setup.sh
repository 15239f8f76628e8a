# Installs what this project needs on a fresh Debian 12 machine (see ../shared/TOOLCHAIN.md)
# and skips every step that is already done, so a second run costs a few seconds.
# Source it after lib/common.sh.

APT_PACKAGES=(postgresql-15 postgresql-client-15 postgresql-server-dev-15 libclang-dev sudo
    postgresql-15-cron pgbouncer)
CARGO_PGRX_VERSION=0.18.1

setup_apt() {
    local missing=()
    for package in "${APT_PACKAGES[@]}"; do
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

setup_cargo_pgrx() {
    if [[ $(cargo pgrx --version 2>/dev/null) != "cargo-pgrx $CARGO_PGRX_VERSION" ]]; then
        say "installing cargo-pgrx $CARGO_PGRX_VERSION (about 4 minutes)"
        cargo install cargo-pgrx --version "$CARGO_PGRX_VERSION" --locked --force
    fi
    if ! grep -qs '^pg15 *= *"/usr/bin/pg_config"' "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
        say "pointing cargo-pgrx at the system PostgreSQL 15"
        cargo pgrx init --pg15 "$PG_CONFIG"
    fi
}

# pgspot (PyPI) lints the generated extension script for unsafe search_path use.
setup_pgspot() {
    if ! command -v pgspot >/dev/null 2>&1; then
        say "installing pgspot"
        python3 -m pip install --quiet --disable-pip-version-check pgspot==0.9.4
    fi
}

# The extension's version, as Cargo.toml gives it (the control file's default_version).
extension_version() {
    sed -n 's/^version = "\(.*\)"/\1/p' "$REPO_ROOT/Cargo.toml" | head -1
}

# Builds the extension (release) and installs it into the system PostgreSQL 15.
install_extension() {
    say "building and installing the varel_session extension"
    (cd "$REPO_ROOT" && cargo pgrx install --release --pg-config "$PG_CONFIG" >/dev/null)
}

setup_all() {
    setup_apt
    setup_cargo_pgrx
    install_extension
}
