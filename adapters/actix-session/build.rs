//! Finds actix-session's own store acceptance suite (`test_helpers::acceptance_test_suite`, in
//! src/lib.rs of the actix-session crate that crates.io serves, behind `#[cfg(test)]`, so no
//! other crate can call it) and copies it into OUT_DIR for `tests/acceptance.rs`. The one
//! change is where its imports come from: `crate::` (inside actix-session) becomes
//! `actix_session::`, and `test_helpers::key` its own module's. It is not copied into this
//! repository: it is actix-session's own, at the pinned version.

use std::env;
use std::fs;
use std::path::PathBuf;

const CRATE_DIR: &str = "actix-session-0.10.1";
const START: &str = "pub mod test_helpers {";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("acceptance_tests.rs");
    let source = registry_sources()
        .into_iter()
        .map(|dir| dir.join(CRATE_DIR).join("src/lib.rs"))
        .find(|path| path.is_file());
    let text = match source {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", path.display());
            let lib = fs::read_to_string(&path).expect("actix-session's src/lib.rs");
            adapted(module(&lib))
        }
        // A build of the library alone may run before the tests' dependencies are downloaded;
        // only the tests include this file.
        None => {
            format!("compile_error!(\"{CRATE_DIR}/src/lib.rs was not found in cargo's registry\");")
        }
    };
    fs::write(out, text).expect("OUT_DIR is writable");
}

/// The text of `pub mod test_helpers { ... }`, braces matched.
fn module(lib: &str) -> &str {
    let start = lib
        .find(START)
        .expect("actix-session has its test_helpers module");
    let mut depth = 0;
    for (offset, c) in lib[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &lib[start..=start + offset];
                }
            }
            _ => {}
        }
    }
    panic!("test_helpers has no closing brace");
}

fn adapted(module: &str) -> String {
    let text = module
        .replace("            test_helpers::key,\n", "")
        .replace(
            "    mod acceptance_tests {\n",
            "    mod acceptance_tests {\n        use super::key;\n",
        )
        .replace("use crate::{", "use actix_session::{");
    assert!(
        !text.contains("crate::") && text.contains("use super::key;"),
        "actix-session's test_helpers changed shape: adapt build.rs"
    );
    text
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
