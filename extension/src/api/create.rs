//! Creating sessions (`session_new`, and `session_adopt` under an id a framework minted) and bare
//! tokens (`session_generate_id`); also the checks of a `max_age` and of initial data that the
//! writes, rotations and `session_set_data` share.

use super::arguments::required;
use super::identity::{assign_token, fresh_identity, fresh_identity_for};
use crate::deadlines::{self, Interval};
use crate::errors;
use crate::events::{self, Event};
use crate::fmgr::{self, sql_function};
use crate::gucs;
use crate::jsonb::Document;
use crate::routing;
use crate::row::{Col, Row};
use crate::seal::{self, SealKey};
use crate::snapshot::WriteSnapshot;
use crate::storage::{Access, Table};
use crate::token;
use crate::users;
use pgrx::PgSqlErrorCode;

sql_function!(
    /// `session_generate_id() RETURNS text`: 32 bytes from the OS CSPRNG as 64 lowercase hex
    /// characters.
    varel_session_generate_id,
    pg_finfo_varel_session_generate_id,
    |_call| {
        let raw = token::generate().unwrap_or_else(|_| {
            errors::raise(
                PgSqlErrorCode::ERRCODE_SYSTEM_ERROR,
                "could not read random bytes from the operating system",
            )
        });
        fmgr::new_varlena(token::encode(&raw).as_bytes())
    }
);

sql_function!(
    /// `session_new(max_age interval, user_id bigint, data jsonb, ip inet, user_agent text)
    /// RETURNS text`: creates a session and returns its token, the only time it is shown.
    varel_session_new,
    pg_finfo_varel_session_new,
    |call| {
        let (raw, handle) = fresh_identity_for(routing::for_new_session());
        let mut new = Row::empty();
        let token = assign_token(&mut new, &raw);
        let key = || SealKey::for_token(&raw);
        create(call, 0, c"session_new", new, handle, key, |_, _| true);
        token
    }
);

sql_function!(
    /// `session_adopt(id text, max_age interval, user_id bigint, data jsonb, ip inet,
    /// user_agent text) RETURNS boolean`: creates a session under `id`, an id a web framework
    /// minted itself (`token`: a framework id, or a token of the extension's own form). False,
    /// changing nothing, when a session with that id is stored already (live or not yet
    /// cleaned up); of two concurrent adoptions of one id, the second fails with 23505.
    varel_session_adopt,
    pg_finfo_varel_session_adopt,
    |call| {
        required(call.bytes(0), "id");
        let Some(hash) = call.token(0) else {
            errors::invalid_argument(format!(
                "id must be a token or a framework id: {} to {} characters of A-Z, a-z, 0-9, \
                 '-', '_', ',' and '.'",
                token::FRAMEWORK_ID_MIN_LEN,
                token::FRAMEWORK_ID_MAX_LEN
            ));
        };
        // The handle is drawn as for any session; the token is the caller's, so its route is
        // whatever its hash says (the router sends the call to that node).
        let (_, handle) = fresh_identity();
        let mut new = Row::empty();
        new.set_token_hash(&hash);
        let key = || call.seal_key(0).expect("an id that hashes has a key");
        let created = create(call, 1, c"session_adopt", new, handle, key, |table, snapshot| {
            !table.fetch(&hash, snapshot, &table.slot())
        });
        pgrx::pg_sys::Datum::from(created)
    }
);

/// Creates the session `new` (its token hash set by the caller) from the arguments `max_age`,
/// `user_id`, `data`, `ip`, `user_agent` at `first` and after, once `may_insert` (given the
/// open table and the write snapshot, after the per-user lock and cap) agrees. Whether it did.
/// The data is sealed with the key `key` gives when `varel_session.seal_data` is on.
#[allow(clippy::too_many_arguments)]
fn create(
    call: &fmgr::Call,
    first: usize,
    function: &std::ffi::CStr,
    mut new: Row<'_>,
    handle: i64,
    key: impl FnOnce() -> SealKey,
    may_insert: impl FnOnce(&Table, pgrx::pg_sys::Snapshot) -> bool,
) -> bool {
    let now = deadlines::now();
    let max_age = call
        .interval(first)
        .unwrap_or_else(deadlines::default_max_age);
    let user_id = call.int8(first + 1);
    let data = checked_data(required(call.jsonb(first + 2), "data"));
    let max_age = positive(max_age, now);
    let absolute = deadlines::absolute_deadline(now);
    let expires = deadlines::idle_deadline(now, max_age, absolute);

    // The user's lock before the table's, in the same order as every log-in takes them.
    let mut snapshot = WriteSnapshot::take(function);
    if let Some(user_id) = user_id {
        users::lock_user(user_id);
        snapshot.refresh();
    }
    let table = Table::open(Access::Write);
    if !may_insert(&table, snapshot.get()) {
        return false;
    }
    if let Some(user_id) = user_id {
        users::make_room(&table, user_id, None, snapshot.get(), now);
    }

    new.set_int8(Col::Handle, Some(handle));
    new.set_int8(Col::UserId, user_id);
    new.set_int8(Col::CreatedAt, Some(now));
    new.set_int8(Col::UpdatedAt, Some(now));
    new.set_int8(Col::ExpiresAt, Some(expires));
    new.set_int8(Col::AbsoluteExpiresAt, absolute);
    new.set_max_age(max_age);
    new.set_data(data);
    seal::seal_if_on(&mut new, || Some(key()));
    new.store(Col::Ip, call.stored_as(first + 3, Col::Ip));
    new.store(Col::UserAgent, call.stored_as(first + 4, Col::UserAgent));
    new.set_int8(Col::LastSeenAt, Some(now));
    drop(table.insert(&new));
    events::emit(Event::Created, Some(handle), user_id, None);
    true
}

/// `max_age`, which must be a positive interval (a programmer's mistake otherwise).
pub(super) fn positive(max_age: Interval, now: i64) -> Interval {
    if !max_age.is_positive_at(now) {
        errors::invalid_argument("max_age must be a positive interval");
    }
    max_age
}

/// The initial data: a JSON object within `varel_session.max_data_bytes`.
pub(super) fn checked_data(data: Document) -> Document {
    if !data.is_object() {
        errors::invalid_argument("data must be a JSON object");
    }
    let limit = gucs::MAX_DATA_BYTES.get();
    if data.size() > limit as usize {
        errors::data_too_large(data.size(), limit);
    }
    data
}
