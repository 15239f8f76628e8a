//! The snapshots the functions read and write with, chosen to behave like SQL functions of the
//! same volatility: a `STABLE` read sees the calling statement's snapshot; a `VOLATILE` write
//! gets a new command id (so it sees earlier calls in the same statement) and, under READ
//! COMMITTED, a fresh snapshot. Also the latest snapshot ([`LatestSnapshot`]), with which
//! `users` checks that a transaction's own snapshot sees all of a user's sessions.

use pgrx::pg_sys::{self, Snapshot};

/// A snapshot for a read: the calling statement's, as a `STABLE` SQL function sees.
pub fn read_snapshot() -> Snapshot {
    // SAFETY: reads the active-snapshot stack, which a running query always has.
    unsafe {
        if pg_sys::ActiveSnapshotSet() {
            pg_sys::GetActiveSnapshot()
        } else {
            pg_sys::GetTransactionSnapshot()
        }
    }
}

/// The snapshot a write runs under, as a `VOLATILE` SQL function's statement gets: a new
/// command id, so each call sees what earlier calls in the same statement wrote, and under
/// READ COMMITTED a fresh snapshot. Popped when dropped.
pub struct WriteSnapshot(Snapshot);

impl WriteSnapshot {
    /// Refuses in a read-only transaction or on a standby, then takes the snapshot.
    pub fn take(function: &std::ffi::CStr) -> WriteSnapshot {
        // SAFETY: standard transaction-state calls on the main thread.
        unsafe {
            pg_sys::PreventCommandIfReadOnly(function.as_ptr());
            pg_sys::CommandCounterIncrement();
            pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
            WriteSnapshot(pg_sys::GetActiveSnapshot())
        }
    }

    pub fn get(&self) -> Snapshot {
        self.0
    }

    /// After waiting on a lock: under READ COMMITTED, a snapshot that sees what committed
    /// meanwhile (under REPEATABLE READ the transaction's snapshot is kept, as for SQL).
    pub fn refresh(&mut self) {
        // SAFETY: replaces the snapshot this value pushed.
        unsafe {
            pg_sys::PopActiveSnapshot();
            pg_sys::CommandCounterIncrement();
            pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
            self.0 = pg_sys::GetActiveSnapshot();
        }
    }
}

impl Drop for WriteSnapshot {
    fn drop(&mut self) {
        // While unwinding from an ERROR (or a panic), leave the clean-up to the transaction's
        // abort: PostgreSQL's state may be mid-operation, and an ERROR raised here would abort
        // the process.
        if std::thread::panicking() {
            return;
        }
        // SAFETY: pops the snapshot `take` or `refresh` pushed.
        unsafe { pg_sys::PopActiveSnapshot() }
    }
}

/// Whether writes are impossible here (a read-only transaction, or a hot standby), so that
/// `session_load` can skip its optional write instead of failing.
pub fn writes_forbidden() -> bool {
    // SAFETY: reads backend-global state.
    unsafe { pg_sys::XactReadOnly || pg_sys::RecoveryInProgress() }
}

/// Whether the transaction is SERIALIZABLE.
pub fn serializable() -> bool {
    // SAFETY: reads backend-global state.
    unsafe { pg_sys::XactIsoLevel == pg_sys::XACT_SERIALIZABLE as i32 }
}

/// A snapshot of everything committed now, registered for as long as this value lives.
pub struct LatestSnapshot(Snapshot);

impl LatestSnapshot {
    pub fn take() -> LatestSnapshot {
        // SAFETY: GetLatestSnapshot returns a static snapshot that the next call overwrites;
        // registering it makes a copy that stays valid until unregistered.
        LatestSnapshot(unsafe { pg_sys::RegisterSnapshot(pg_sys::GetLatestSnapshot()) })
    }

    pub fn get(&self) -> Snapshot {
        self.0
    }
}

impl Drop for LatestSnapshot {
    fn drop(&mut self) {
        // While unwinding from an ERROR (or a panic), leave the clean-up to the transaction's
        // abort: PostgreSQL's state may be mid-operation, and an ERROR raised here would abort
        // the process.
        if std::thread::panicking() {
            return;
        }
        // SAFETY: registered in `take`, unregistered once.
        unsafe { pg_sys::UnregisterSnapshot(self.0) }
    }
}
