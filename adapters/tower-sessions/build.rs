//! Finds tower-sessions' own integration tests (`tests/common/mod.rs` of the tower-sessions
//! crate that crates.io serves, the one this crate's tests depend on) and copies them into
//! OUT_DIR, so that `tests/route_tests.rs` runs them unchanged against this store. They are not
//! copied into this repository: they are tower-sessions' own, at the pinned version.

use std::env;
use std::fs;
use std::path::PathBuf;

const CRATE_DIR: &str = "tower-sessions-0.14.0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("route_tests.rs");
    let source = registry_sources()
        .into_iter()
        .map(|dir| dir.join(CRATE_DIR).join("tests/common/mod.rs"))
        .find(|path| path.is_file());
    let text = match source {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", path.display());
            fs::read_to_string(&path).expect("tower-sessions' tests/common/mod.rs")
        }
        // A build of the library alone may run before the tests' dependencies are downloaded;
        // only the tests include this file.
        None => format!(
            "compile_error!(\"{CRATE_DIR}/tests/common/mod.rs was not found in cargo's registry\");"
        ),
    };
    fs::write(out, text).expect("OUT_DIR is writable");
}

/// The folders cargo unpacks registry crates into: `$CARGO_HOME/registry/src/<index>/`.
fn registry_sources() -> Vec<PathBuf> {
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let Some(src) = home.map(|home| home.join("registry/src")) else {
        return Vec::new();
    };
    fs::read_dir(src)
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default()
}
