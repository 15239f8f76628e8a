//! Test builds only: proves that a Rust panic inside one of these functions becomes an ERROR
//! that rolls back what the function wrote, and leaves the backend running.

use super::identity::{assign_token, fresh_identity};
use crate::deadlines;
use crate::fmgr::sql_function;
use crate::jsonb;
use crate::row::{Col, Row};
use crate::snapshot::WriteSnapshot;
use crate::storage::{Access, Table};

sql_function!(
    /// `varel_session.test_write_then_panic()`: inserts a session, then panics.
    varel_session_test_write_then_panic,
    pg_finfo_varel_session_test_write_then_panic,
    |_call| {
        let now = deadlines::now();
        let _snapshot = WriteSnapshot::take(c"test_write_then_panic");
        let table = Table::open(Access::Write);
        let (raw, handle) = fresh_identity();
        let mut new = Row::empty();
        assign_token(&mut new, &raw);
        new.set_int8(Col::Handle, Some(handle));
        new.set_int8(Col::CreatedAt, Some(now));
        new.set_int8(Col::UpdatedAt, Some(now));
        new.set_int8(Col::ExpiresAt, Some(now + 60_000_000));
        new.set_max_age(deadlines::default_max_age());
        new.set_data(jsonb::empty_object());
        drop(table.insert(&new));
        panic!("deliberate panic after a write");
    }
);

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn a_panic_becomes_an_error_and_rolls_back_the_write() {
        let before: i64 = Spi::get_one("SELECT count(*) FROM varel_session.sessions")
            .unwrap()
            .unwrap();
        Spi::run(
            "DO $$
             BEGIN
                 PERFORM varel_session.test_write_then_panic();
                 RAISE EXCEPTION 'no error';
             EXCEPTION WHEN OTHERS THEN
                 PERFORM set_config('probe.outcome', SQLSTATE || ' ' || SQLERRM, true);
             END $$",
        )
        .unwrap();
        let outcome: String = Spi::get_one("SELECT current_setting('probe.outcome')")
            .unwrap()
            .unwrap();
        assert!(outcome.starts_with("XX000 "), "{outcome}");
        assert!(outcome.contains("deliberate panic"), "{outcome}");
        let after: i64 = Spi::get_one("SELECT count(*) FROM varel_session.sessions")
            .unwrap()
            .unwrap();
        assert_eq!(
            before, after,
            "the write before the panic was not rolled back"
        );
        // The backend is alive and keeps working.
        let token: String = Spi::get_one("SELECT varel_session.session_new()")
            .unwrap()
            .unwrap();
        assert_eq!(token.len(), 64);
    }
}
