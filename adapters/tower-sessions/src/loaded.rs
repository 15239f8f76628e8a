//! The versions of sessions that requests loaded, remembered per (session id, tokio task) so
//! that a save can write only what its request changed (see `VarelStore`'s docs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower_sessions_core::session::{Id, Record};

/// How long a loaded version is kept for a save that may never come (tower-sessions saves only
/// sessions a request modified).
const KEEP_FOR: Duration = Duration::from_secs(300);
/// Versions at most, for a burst of requests that load and never save.
const MAX_VERSIONS: usize = 100_000;

#[derive(Clone, Debug, Default)]
pub struct LoadedRecords(Arc<Mutex<HashMap<Key, Loaded>>>);

type Key = (Id, Option<tokio::task::Id>);

#[derive(Debug)]
struct Loaded {
    record: Record,
    at: Instant,
}

impl LoadedRecords {
    /// Remembers `record` as the version the current task has (loaded, or just saved).
    pub fn remember(&self, record: &Record) {
        let mut versions = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if versions.len() >= MAX_VERSIONS {
            let now = Instant::now();
            versions.retain(|_, loaded| now - loaded.at < KEEP_FOR);
            if versions.len() >= MAX_VERSIONS {
                versions.clear();
            }
        }
        versions.insert(
            key(&record.id),
            Loaded {
                record: record.clone(),
                at: Instant::now(),
            },
        );
    }

    /// The version the current task loaded of session `id`, if it is known and recent.
    pub fn take(&self, id: &Id) -> Option<Record> {
        let mut versions = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        versions
            .remove(&key(id))
            .filter(|loaded| loaded.at.elapsed() < KEEP_FOR)
            .map(|loaded| loaded.record)
    }

    /// Forgets the current task's version of session `id` (it was deleted).
    pub fn forget(&self, id: &Id) {
        let mut versions = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        versions.remove(&key(id));
    }
}

fn key(id: &Id) -> Key {
    (*id, tokio::task::try_id())
}
