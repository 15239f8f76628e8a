//! What the Rust framework adapters (tower-sessions, actix-session) share.
//!
//! Both frameworks hand their store a session's whole state to save, and no handle on the
//! request it belongs to. To write only what a request changed (so that concurrent requests
//! changing different keys both land), a store remembers the version each request loaded, under
//! the session's key and the tokio task that loaded it: hyper and actix-web run a request's
//! handler and its session middleware's save in one task (an HTTP/1 connection serves its
//! requests one after another in one task; HTTP/2 streams get a task each).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a loaded version is kept for a save that may never come (the frameworks save only
/// sessions a request modified).
pub const KEEP_FOR: Duration = Duration::from_secs(300);
/// Versions kept at most, for a burst of requests that load and never save.
const MAX_VERSIONS: usize = 100_000;

/// The versions of sessions that requests loaded, by session key and tokio task.
#[derive(Debug)]
pub struct LoadedVersions<K, V>(Arc<Mutex<HashMap<Request<K>, Loaded<V>>>>);

/// A session's key, and the task a request runs in (none outside a tokio task).
type Request<K> = (K, Option<tokio::task::Id>);

#[derive(Debug)]
struct Loaded<V> {
    version: V,
    at: Instant,
}

impl<K, V> Clone for LoadedVersions<K, V> {
    fn clone(&self) -> Self {
        LoadedVersions(Arc::clone(&self.0))
    }
}

impl<K, V> Default for LoadedVersions<K, V> {
    fn default() -> Self {
        LoadedVersions(Arc::default())
    }
}

impl<K: Hash + Eq, V> LoadedVersions<K, V> {
    /// Remembers `version` as what the current task has of session `key` (loaded, or just
    /// saved).
    pub fn remember(&self, key: K, version: V) {
        let mut versions = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if versions.len() >= MAX_VERSIONS {
            let now = Instant::now();
            versions.retain(|_, loaded| now - loaded.at < KEEP_FOR);
            if versions.len() >= MAX_VERSIONS {
                versions.clear();
            }
        }
        versions.insert(
            (key, tokio::task::try_id()),
            Loaded {
                version,
                at: Instant::now(),
            },
        );
    }

    /// Takes what the current task loaded of session `key`, if it is known and recent.
    pub fn take(&self, key: K) -> Option<V> {
        let mut versions = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        versions
            .remove(&(key, tokio::task::try_id()))
            .filter(|loaded| loaded.at.elapsed() < KEEP_FOR)
            .map(|loaded| loaded.version)
    }

    /// Forgets the current task's version of session `key` (it was deleted).
    pub fn forget(&self, key: K) {
        let mut versions = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        versions.remove(&(key, tokio::task::try_id()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_version_belongs_to_the_task_that_loaded_it() {
        let versions: LoadedVersions<&str, i32> = LoadedVersions::default();
        versions.remember("s", 1);
        let other = versions.clone();
        let seen_elsewhere = tokio::spawn(async move { other.take("s") }).await.unwrap();
        assert_eq!(seen_elsewhere, None);
        assert_eq!(versions.take("s"), Some(1));
        assert_eq!(versions.take("s"), None, "taken once");
        versions.remember("s", 2);
        versions.forget("s");
        assert_eq!(versions.take("s"), None);
    }
}
