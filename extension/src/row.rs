//! One row of `varel_session.sessions` as PostgreSQL stores it.
//!
//! A `Row` holds the library's columns in [`Col`] order, whatever their positions in the table
//! (`catalog::Layout` maps between the two, and `catalog` checks types and NOT NULL).

use crate::deadlines::Interval;
use crate::fmgr::{self, Stored};
use crate::jsonb::Document;
use crate::token::TokenHash;
use pgrx::pg_sys::{self, Datum, Oid, TimestampTz};
use std::ffi::CStr;
use std::marker::PhantomData;

/// The sessions table's columns, in physical order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Col {
    Handle,
    UserId,
    CreatedAt,
    UpdatedAt,
    ExpiresAt,
    AbsoluteExpiresAt,
    MaxAge,
    TokenHash,
    Data,
    Ip,
    UserAgent,
    LastSeenAt,
    AuthenticatedAt,
    Aal,
    Amr,
}

pub const NATTS: usize = 15;

/// A column as the library expects it.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub col: Col,
    pub type_oid: Oid,
    pub not_null: bool,
    /// Added after 0.1.0: a database still on older SQL (between installing this library and
    /// `ALTER EXTENSION ... UPDATE`) has no such column, and the library then neither reads
    /// nor writes it.
    pub optional: bool,
}

const fn column(col: Col, type_oid: Oid, not_null: bool) -> Column {
    Column {
        col,
        type_oid,
        not_null,
        optional: false,
    }
}

/// A nullable column added after 0.1.0 (`last_seen_at` in 0.2.0, the authentication context in
/// 0.4.0).
const fn optional(col: Col, type_oid: Oid) -> Column {
    Column {
        optional: true,
        ..column(col, type_oid, false)
    }
}

/// Every column, in the table's order (for a fresh install).
pub const COLUMNS: [Column; NATTS] = [
    column(Col::Handle, pg_sys::INT8OID, true),
    column(Col::UserId, pg_sys::INT8OID, false),
    column(Col::CreatedAt, pg_sys::TIMESTAMPTZOID, true),
    column(Col::UpdatedAt, pg_sys::TIMESTAMPTZOID, true),
    column(Col::ExpiresAt, pg_sys::TIMESTAMPTZOID, true),
    column(Col::AbsoluteExpiresAt, pg_sys::TIMESTAMPTZOID, false),
    column(Col::MaxAge, pg_sys::INTERVALOID, true),
    column(Col::TokenHash, pg_sys::BYTEAOID, true),
    column(Col::Data, pg_sys::JSONBOID, true),
    column(Col::Ip, pg_sys::INETOID, false),
    column(Col::UserAgent, pg_sys::TEXTOID, false),
    optional(Col::LastSeenAt, pg_sys::TIMESTAMPTZOID),
    optional(Col::AuthenticatedAt, pg_sys::TIMESTAMPTZOID),
    optional(Col::Aal, pg_sys::INT2OID),
    optional(Col::Amr, pg_sys::TEXTARRAYOID),
];

impl Col {
    pub fn name(self) -> &'static CStr {
        match self {
            Col::Handle => c"handle",
            Col::UserId => c"user_id",
            Col::CreatedAt => c"created_at",
            Col::UpdatedAt => c"updated_at",
            Col::ExpiresAt => c"expires_at",
            Col::AbsoluteExpiresAt => c"absolute_expires_at",
            Col::MaxAge => c"max_age",
            Col::TokenHash => c"token_hash",
            Col::Data => c"data",
            Col::Ip => c"ip",
            Col::UserAgent => c"user_agent",
            Col::LastSeenAt => c"last_seen_at",
            Col::AuthenticatedAt => c"authenticated_at",
            Col::Aal => c"aal",
            Col::Amr => c"amr",
        }
    }

    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The column's type.
    pub fn type_oid(self) -> Oid {
        COLUMNS[self.index()].type_oid
    }

    /// Whether the column is a bigint or a timestamptz (passed by value, 8 bytes).
    fn is_int8(self) -> bool {
        matches!(self.type_oid(), pg_sys::INT8OID | pg_sys::TIMESTAMPTZOID)
    }

    /// Whether the column's values are varlenas (jsonb, bytea, text, inet, text[]), which may
    /// be stored out of line; an interval is by reference but of fixed size.
    fn is_varlena(self) -> bool {
        matches!(
            self.type_oid(),
            pg_sys::JSONBOID
                | pg_sys::BYTEAOID
                | pg_sys::TEXTOID
                | pg_sys::INETOID
                | pg_sys::TEXTARRAYOID
        )
    }
}

/// A row's datums, valid for `'a`. Each non-NULL one is a valid value of its column's type,
/// by reference into what the row was read from (a buffer the slot it borrows keeps pinned:
/// `'a` is that borrow) or into memory of the current call. Only `storage` makes a row from raw
/// datums; the setters take typed values of at least the row's lifetime.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    values: [Datum; NATTS],
    nulls: [bool; NATTS],
    _data: PhantomData<&'a Datum>,
}

impl<'a> Row<'a> {
    /// A row with every column NULL.
    pub fn empty() -> Row<'a> {
        Row {
            values: [Datum::from(0usize); NATTS],
            nulls: [true; NATTS],
            _data: PhantomData,
        }
    }

    /// # Safety
    /// Each non-NULL datum must be a valid value of its column's type that stays valid for
    /// `'a`.
    pub unsafe fn from_datums(values: [Datum; NATTS], nulls: [bool; NATTS]) -> Row<'a> {
        Row {
            values,
            nulls,
            _data: PhantomData,
        }
    }

    /// The same row with its lifetime unbound, for a value that keeps the row beside what it
    /// borrows (`storage::Written`).
    ///
    /// # Safety
    /// What the row borrows must outlive every use of the result.
    pub unsafe fn unbound(self) -> Row<'static> {
        Row {
            values: self.values,
            nulls: self.nulls,
            _data: PhantomData,
        }
    }

    /// The datums, for storing the row.
    pub fn datums(&self) -> (&[Datum; NATTS], &[bool; NATTS]) {
        (&self.values, &self.nulls)
    }

    #[inline]
    pub fn get(&self, col: Col) -> Option<Datum> {
        let i = col.index();
        (!self.nulls[i]).then_some(self.values[i])
    }

    #[inline]
    fn set(&mut self, col: Col, value: Option<Datum>) {
        let i = col.index();
        self.nulls[i] = value.is_none();
        self.values[i] = value.unwrap_or(Datum::from(0usize));
    }

    /// A bigint or timestamptz column.
    #[inline]
    pub fn int8(&self, col: Col) -> Option<i64> {
        debug_assert!(col.is_int8());
        self.get(col).map(|d| d.value() as i64)
    }

    /// Sets a bigint or timestamptz column.
    #[inline]
    pub fn set_int8(&mut self, col: Col, value: Option<i64>) {
        assert!(
            col.is_int8(),
            "{col:?} is not a bigint or timestamptz column"
        );
        self.set(col, value.map(Datum::from));
    }

    /// The assurance level of the session's last log-in (`aal`, a smallint), when recorded.
    pub fn aal(&self) -> Option<i16> {
        // A smallint datum holds the value in its low 16 bits (DatumGetInt16).
        self.get(Col::Aal).map(|d| d.value() as i16)
    }

    pub fn set_aal(&mut self, aal: Option<i16>) {
        self.set(Col::Aal, aal.map(Datum::from));
    }

    pub fn expires_at(&self) -> TimestampTz {
        self.int8(Col::ExpiresAt).unwrap_or(i64::MIN)
    }

    pub fn absolute_expires_at(&self) -> Option<TimestampTz> {
        self.int8(Col::AbsoluteExpiresAt)
    }

    /// The session's data.
    pub fn data(&self) -> Option<Document<'a>> {
        // SAFETY: a jsonb value valid for 'a (the type's invariant).
        self.get(Col::Data)
            .map(|d| unsafe { Document::from_datum(d) })
    }

    pub fn set_data(&mut self, data: Document<'a>) {
        self.set(Col::Data, Some(data.datum()));
    }

    /// The session's idle lifetime.
    pub fn max_age(&self) -> Option<Interval<'a>> {
        // SAFETY: an interval value valid for 'a (the type's invariant).
        self.get(Col::MaxAge)
            .map(|d| unsafe { Interval::from_datum(d) })
    }

    pub fn set_max_age(&mut self, max_age: Interval<'a>) {
        self.set(Col::MaxAge, Some(max_age.datum()));
    }

    /// The stored token hash.
    pub fn token_hash(&self) -> Option<&'a [u8]> {
        // SAFETY: a bytea value valid for 'a (the type's invariant).
        self.get(Col::TokenHash)
            .map(|d| unsafe { fmgr::varlena_bytes(d) })
    }

    pub fn set_token_hash(&mut self, hash: &TokenHash) {
        self.set(Col::TokenHash, Some(fmgr::new_varlena(hash)));
    }

    /// Stores an argument as it is ([`fmgr::Call::stored_as`]) into its column.
    pub fn store(&mut self, col: Col, value: Option<Stored<'a>>) {
        if let Some(value) = value {
            assert_eq!(value.col(), col, "an argument stored into another column");
        }
        self.set(col, value.map(|v| v.datum()));
    }

    /// The value of `col` in a form that holds no pointer into the TOAST table (a value stored
    /// out of line is fetched), when it differs from the stored datum.
    pub fn inline_value(&self, col: Col) -> Option<Datum> {
        if !col.is_varlena() {
            return None;
        }
        let value = self.get(col)?;
        // SAFETY: a varlena value (checked above) valid for 'a (the type's invariant).
        unsafe {
            let ptr = value.cast_mut_ptr::<pg_sys::varlena>();
            pgrx::varlena::varatt_is_1b_e(ptr)
                .then(|| Datum::from(pg_sys::detoast_external_attr(ptr)))
        }
    }

    /// Whether the data may be sealed (`seal`), told without detoasting it: data stored inline
    /// and uncompressed (as small data is) is sealed only when it is a JSON scalar, which the
    /// first word of its jsonb says; compressed or out-of-line data is looked at in full by
    /// the caller.
    pub fn data_may_be_sealed(&self) -> bool {
        let Some(value) = self.get(Col::Data) else {
            return false;
        };
        // SAFETY: a jsonb value valid for 'a (the type's invariant). An inline uncompressed
        // varlena holds its jsonb right after the header, whose root container starts with a
        // 4-byte header word (read unaligned: a short varlena header leaves it unaligned).
        unsafe {
            let ptr = value.cast_mut_ptr::<pg_sys::varlena>();
            if pgrx::varlena::varatt_is_1b_e(ptr) || pgrx::varlena::varatt_is_4b_c(ptr) {
                return true;
            }
            let root = pgrx::varlena::vardata_any(ptr) as *const u32;
            root.read_unaligned() & pg_sys::JB_FSCALAR != 0
        }
    }

    /// Live means both deadlines are still ahead of `now`: an expired session is invisible
    /// whether or not cleanup has removed it yet. A row missing a value the functions need
    /// (possible only if an administrator wrote one around the NOT NULL constraints) is not a
    /// live session either, so no function ever reads a NULL it relies on.
    pub fn is_live(&self, now: TimestampTz) -> bool {
        const REQUIRED: [Col; 4] = [Col::ExpiresAt, Col::MaxAge, Col::TokenHash, Col::Data];
        REQUIRED.iter().all(|c| !self.nulls[c.index()])
            && self.expires_at() > now
            && self.absolute_expires_at().is_none_or(|cap| cap > now)
    }
}
