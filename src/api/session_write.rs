//! One write to the session a token names: the write snapshot, the table open for writing, and
//! the row as that snapshot sees it. Every per-request write goes through here.

use super::same_token;
use crate::row::Row;
use crate::snapshot::WriteSnapshot;
use crate::storage::{Decision, Slot, Table, Written};
use crate::token::TokenHash;
use pgrx::pg_sys::Snapshot;
use std::ffi::CStr;

pub struct SessionWrite {
    snapshot: WriteSnapshot,
    table: Table,
    hash: TokenHash,
    found: Option<Slot>,
}

impl SessionWrite {
    /// Takes the write snapshot for `function` (named in a read-only transaction's error) and
    /// finds the row `hash` names.
    pub fn begin(function: &CStr, hash: &TokenHash) -> SessionWrite {
        Self::begin_after(function, hash, |_| {})
    }

    /// Like [`begin`](Self::begin), running `first` (taking a user's lock and refreshing the
    /// snapshot, say) before the row is read.
    pub fn begin_after(
        function: &CStr,
        hash: &TokenHash,
        first: impl FnOnce(&mut WriteSnapshot),
    ) -> SessionWrite {
        let mut snapshot = WriteSnapshot::take(function);
        first(&mut snapshot);
        let table = Table::open_for_write();
        let slot = table.slot();
        let found = table.fetch(hash, snapshot.get(), &slot).then_some(slot);
        SessionWrite {
            snapshot,
            table,
            hash: *hash,
            found,
        }
    }

    /// The row as found, before any write.
    pub fn current(&self) -> Option<Row> {
        self.found.as_ref().map(Slot::row)
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.get()
    }

    /// Applies `decide` to the row (see [`Table::update`]), following concurrent updates for
    /// as long as the token still names the row. `None` when there is no such row.
    pub fn update(self, decide: impl FnMut(&Row) -> Decision) -> Option<Written> {
        let found = self.found?;
        let same = same_token(&self.hash);
        self.table.update(found, self.snapshot.get(), same, decide)
    }

    /// Deletes the row if `wanted` holds for it (and the token still names it).
    pub fn delete(self, wanted: impl Fn(&Row) -> bool) -> bool {
        let Some(found) = &self.found else {
            return false;
        };
        let same = same_token(&self.hash);
        self.table
            .delete(found, self.snapshot.get(), |row| same(row) && wanted(row))
    }
}
