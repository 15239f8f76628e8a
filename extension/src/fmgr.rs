//! PostgreSQL's function manager interface (fmgr, version 1), written out by hand for the
//! SQL-facing functions, and the one place their calls touch it: [`sql_function!`] declares a
//! function, [`Call`] gives its body the arguments as typed values and takes its result.
//!
//! Why by hand rather than `#[pg_extern]`: the SQL declarations are hand-written (`sql/`, one
//! reviewed definition per object, with its upgrade script), and `session_get` and
//! `session_load`, which run on every web request, return their row in materialize mode with
//! the descriptor the executor already has, where pgrx's set-returning wrappers look the row
//! type up in the catalogs on every call. The scalar helpers go through the same [`Call`] so
//! that there is one calling convention to read, not two.

use crate::deadlines::Interval;
use crate::jsonb::Document;
use crate::pg_compat::tuple_desc_attr;
use crate::row::{Col, Row};
use crate::seal::SealKey;
use crate::token::{self, TokenHash};
use pgrx::pg_sys::{self, Datum, FunctionCallInfo, Oid};
use pgrx::varlena;
use std::ffi::CStr;
use std::marker::PhantomData;

/// Declares `fn $symbol(fcinfo) -> Datum` callable from SQL, with its `pg_finfo_$symbol`
/// record. The body is a safe function of the call ([`Call`]), in a module of its own where
/// `src/api/`'s `deny(unsafe_code)` applies: no `unsafe` reaches it. It runs under pgrx's guard: a Rust panic becomes an ERROR, and a PostgreSQL ERROR raised inside
/// unwinds through Rust frames (running their destructors) first.
macro_rules! sql_function {
    ($(#[$doc:meta])* $symbol:ident, $finfo:ident, |$call:ident| $body:block) => {
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static pgrx::pg_sys::Pg_finfo_record {
            const V1: pgrx::pg_sys::Pg_finfo_record = pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }

        // The body, in a module of its own beside the C symbol: outside any unsafe block, and
        // under the `deny(unsafe_code)` of `src/api/`, which the symbol below is exempt from.
        #[doc(hidden)]
        mod $symbol {
            #[allow(unused_imports)]
            use super::*;

            pub fn body($call: &$crate::fmgr::Call<'_>) -> pgrx::pg_sys::Datum $body
        }

        $(#[$doc])*
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub unsafe extern "C-unwind" fn $symbol(fcinfo: pgrx::pg_sys::FunctionCallInfo) -> pgrx::pg_sys::Datum {
            // SAFETY: PostgreSQL calls the symbol with the live fcinfo of the function that
            // sql/ declares with it, whose argument types are the ones the body reads (what
            // `Call::new` requires; debug builds check every read against the call); the
            // guard (what `#[pg_guard]` expands to, spelled out because the attribute's hygiene
            // does not see an argument named inside a macro_rules body) turns a panic into an
            // ERROR and lets an ERROR unwind through Rust frames.
            unsafe {
                pgrx::pg_sys::submodules::panic::pgrx_extern_c_guard(move || {
                    $symbol::body(&$crate::fmgr::Call::new(fcinfo))
                })
            }
        }
    };
}
pub(crate) use sql_function;

/// The live call of a SQL-facing function: its arguments, read as the types its SQL
/// declaration gives them (checked against the call's argument expressions in debug builds,
/// which `make test` runs on three majors), and its result.
///
/// Argument values are in memory that stays valid for the rest of the call, so they come as
/// `'static` handles in Rust's terms, like everything the call allocates: never keep one
/// across calls.
///
/// A missing argument reads as NULL: a function declared by an older version of the
/// extension's SQL may have fewer arguments than this library knows (`session_set_user`
/// gained three), and they then count as their defaults' NULL.
pub struct Call<'a> {
    fcinfo: FunctionCallInfo,
    _call: PhantomData<&'a pg_sys::FunctionCallInfoBaseData>,
}

impl Call<'_> {
    /// # Safety
    /// `fcinfo` must be the live call of a function whose SQL declaration gives each argument
    /// the type the caller reads it as, and the `Call` must not outlive it.
    pub unsafe fn new(fcinfo: FunctionCallInfo) -> Self {
        Call {
            fcinfo,
            _call: PhantomData,
        }
    }

    /// Argument `n`'s datum, `None` when it is NULL or not passed; `types` are the SQL types
    /// the caller reads it as.
    fn datum(&self, n: usize, types: &[Oid]) -> Option<Datum> {
        // SAFETY: a live fcinfo (`new`'s contract); `n` is checked against the argument count.
        let value = unsafe {
            let args = (*self.fcinfo).args.as_slice((*self.fcinfo).nargs as usize);
            args.get(n).filter(|a| !a.isnull).map(|a| a.value)
        };
        if cfg!(debug_assertions) && value.is_some() {
            // SAFETY: a live fcinfo; get_fn_expr_argtype reads the call's expression tree and
            // returns InvalidOid when there is none (a direct call from C).
            let declared = unsafe { pg_sys::get_fn_expr_argtype((*self.fcinfo).flinfo, n as i32) };
            assert!(
                declared == pg_sys::InvalidOid || types.contains(&declared),
                "argument {n} is of type {declared:?}, read as one of {types:?}"
            );
        }
        value
    }

    /// A `bigint` argument.
    pub fn int8(&self, n: usize) -> Option<i64> {
        self.datum(n, &[pg_sys::INT8OID]).map(|d| d.value() as i64)
    }

    /// An `integer` argument.
    pub fn int4(&self, n: usize) -> Option<i32> {
        self.datum(n, &[pg_sys::INT4OID]).map(|d| d.value() as i32)
    }

    /// A `smallint` argument.
    pub fn int2(&self, n: usize) -> Option<i16> {
        // A smallint datum holds the value in its low 16 bits (DatumGetInt16).
        self.datum(n, &[pg_sys::INT2OID]).map(|d| d.value() as i16)
    }

    /// A one-dimensional array argument stored into column `col` (of the array's type), in its
    /// flat form (an expanded or compressed array is flattened first), with its shape for the
    /// caller's checks.
    pub fn stored_array(&self, n: usize, col: Col) -> Option<(Stored<'static>, ArrayShape)> {
        let datum = self.datum(n, &[col.type_oid()])?;
        // SAFETY: an array argument (`new`'s contract); pg_detoast_datum returns it, or a flat
        // copy in the call's memory, as a plain varlena whose header is an ArrayType.
        unsafe {
            let flat = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut pg_sys::ArrayType;
            let shape = ArrayShape {
                dimensions: (*flat).ndim,
                // ARR_HASNULL: a null bitmap is there exactly when dataoffset is set.
                has_nulls: (*flat).dataoffset != 0,
                bytes: varlena::varsize_any(flat.cast()),
            };
            let stored = Stored {
                datum: Datum::from(flat),
                col,
                _call: PhantomData,
            };
            Some((stored, shape))
        }
    }

    /// The bytes of a `text` or `bytea` argument.
    pub fn bytes(&self, n: usize) -> Option<&'static [u8]> {
        let types = [pg_sys::TEXTOID, pg_sys::BYTEAOID];
        // SAFETY: a text or bytea argument (`new`'s contract), valid for the call.
        self.datum(n, &types).map(|d| unsafe { varlena_bytes(d) })
    }

    /// A `jsonb` argument.
    pub fn jsonb(&self, n: usize) -> Option<Document<'static>> {
        // SAFETY: a jsonb argument (`new`'s contract), valid for the call.
        self.datum(n, &[pg_sys::JSONBOID])
            .map(|d| unsafe { Document::from_datum(d) })
    }

    /// An `interval` argument.
    pub fn interval(&self, n: usize) -> Option<Interval<'static>> {
        // SAFETY: an interval argument (`new`'s contract), valid for the call.
        self.datum(n, &[pg_sys::INTERVALOID])
            .map(|d| unsafe { Interval::from_datum(d) })
    }

    /// An argument stored into column `col` as it is, unread (the client's `ip` and
    /// `user_agent`): its declared type is the column's.
    pub fn stored_as(&self, n: usize, col: Col) -> Option<Stored<'static>> {
        self.datum(n, &[col.type_oid()]).map(|datum| Stored {
            datum,
            col,
            _call: PhantomData,
        })
    }

    /// The hash of the token in argument `n`, or `None` when it is NULL or not a token: an
    /// untrusted token is "no session", never an error.
    pub fn token(&self, n: usize) -> Option<TokenHash> {
        self.bytes(n).and_then(token::hash_text)
    }

    /// The key that seals the data of the session the id in argument `n` names (`seal`);
    /// `None` when it is NULL or not a token.
    pub fn seal_key(&self, n: usize) -> Option<SealKey> {
        self.bytes(n).and_then(SealKey::for_id)
    }

    /// Returns SQL NULL.
    pub fn null(&self) -> Datum {
        // SAFETY: a live fcinfo (`new`'s contract).
        unsafe { (*self.fcinfo).isnull = true };
        Datum::from(0usize)
    }

    /// Returns a set of at most one row, `row`'s `columns`, as the row type `row_type`, in
    /// materialize mode, using the executor's expected row descriptor as is: no catalog lookup
    /// and no descriptor copy per call.
    ///
    /// `columns` names the row type's attributes as the library knows them, their types, and
    /// the columns of `Row` they come from (checked to be of the same type). The descriptor
    /// comes from the row type's current definition, which an administrator may have altered
    /// (`ALTER TYPE ... ADD ATTRIBUTE`), so it is checked on every call: attributes dropped
    /// since creation are returned as NULL, anything else that differs is an ERROR 55000
    /// rather than a row built from the wrong number of values. Only the first `required`
    /// attributes must be there: the extension's older SQL declares the row type without the
    /// attributes added later, and they are then left out.
    pub fn rows<const N: usize>(
        &self,
        row_type: &str,
        columns: &[ResultColumn; N],
        required: usize,
        row: Option<&Row<'_>>,
    ) -> Datum {
        let values = row.map(|row| result_values(columns, row));
        // SAFETY: a live fcinfo (`new`'s contract); the values come from a `Row` the caller
        // holds, in `columns`' order and of their types; the tuplestore copies them.
        unsafe {
            let rsinfo = materialize_target(self.fcinfo);
            let positions = row_positions((*rsinfo).expectedDesc, row_type, columns, required);
            store_row(
                rsinfo,
                positions.as_deref(),
                values.as_ref().map(|(v, n)| (&v[..], &n[..])),
            )
        }
    }

    /// [`rows`](Self::rows) without the row-type check: only for the benchmark that prices
    /// the checks (`bench/design_alternatives.sql`), never declared by the extension, whose
    /// row type must then be exactly `columns`.
    #[cfg(feature = "bench_unchecked")]
    pub fn rows_unchecked<const N: usize>(
        &self,
        columns: &[ResultColumn; N],
        row: Option<&Row<'_>>,
    ) -> Datum {
        let values = row.map(|row| result_values(columns, row));
        let values = values.as_ref().map(|(v, n)| (&v[..], &n[..]));
        // SAFETY: as in `rows`, and the benchmark declares the row type as `columns`.
        unsafe { store_row(materialize_target(self.fcinfo), None, values) }
    }
}

/// An argument on its way into a column of its type ([`Call::stored_as`], the only way to make
/// one).
#[derive(Clone, Copy)]
pub struct Stored<'a> {
    datum: Datum,
    col: Col,
    _call: PhantomData<&'a Datum>,
}

impl Stored<'_> {
    pub fn datum(&self) -> Datum {
        self.datum
    }

    pub fn col(&self) -> Col {
        self.col
    }
}

/// What [`Call::stored_array`] found out about an array argument.
#[derive(Clone, Copy, Debug)]
pub struct ArrayShape {
    /// 0 for an empty array.
    pub dimensions: i32,
    pub has_nulls: bool,
    /// Its size in its flat form, header included.
    pub bytes: usize,
}

/// One attribute of a returned row type: its name, its type, and the column it comes from.
pub type ResultColumn = (&'static CStr, Oid, Col);

/// The values and nulls of `columns`, from `row`, on the stack (this runs on every read).
/// Large data is stored out of line: it is fetched now, so the result does not hold a pointer
/// into the TOAST table.
fn result_values<const N: usize>(
    columns: &[ResultColumn; N],
    row: &Row<'_>,
) -> ([Datum; N], [bool; N]) {
    let mut values = [Datum::from(0usize); N];
    let mut nulls = [true; N];
    for (i, (_, type_oid, col)) in columns.iter().enumerate() {
        // A row type attribute and the column it comes from are declared together (in sql/
        // and row.rs); a mismatch is this library's bug, caught before any value is used.
        assert_eq!(
            *type_oid,
            col.type_oid(),
            "{} is not of the attribute's type",
            col.name().to_string_lossy()
        );
        if let Some(value) = row.get(*col) {
            values[i] = row.inline_value(*col).unwrap_or(value);
            nulls[i] = false;
        }
    }
    (values, nulls)
}

/// A freshly palloc'd `text` (or `bytea`) holding `bytes`.
pub fn new_varlena(bytes: &[u8]) -> Datum {
    let total = pg_sys::VARHDRSZ + bytes.len();
    // SAFETY: palloc either returns `total` writable bytes or raises an ERROR.
    unsafe {
        let ptr = pg_sys::palloc(total) as *mut pg_sys::varlena;
        varlena::set_varsize_4b(ptr, total as i32);
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            (ptr as *mut u8).add(pg_sys::VARHDRSZ),
            bytes.len(),
        );
        Datum::from(ptr)
    }
}

/// The bytes of a `text` or `bytea` datum, detoasted if it was stored out of line or compressed.
///
/// # Safety
/// `datum` must be a valid varlena datum that outlives the returned slice's use.
#[inline]
pub unsafe fn varlena_bytes<'a>(datum: Datum) -> &'a [u8] {
    // SAFETY: the caller's contract: a valid varlena datum.
    unsafe { varlena::varlena_to_byte_slice(detoast_packed(datum.cast_mut_ptr())) }
}

/// Like `pg_detoast_datum_packed`, without the function call for the common inline case.
///
/// # Safety
/// `ptr` must point to a valid varlena.
#[inline]
unsafe fn detoast_packed(ptr: *mut pg_sys::varlena) -> *mut pg_sys::varlena {
    // SAFETY: the caller's contract: a valid varlena.
    unsafe {
        if varlena::varatt_is_1b_e(ptr) || varlena::varatt_is_4b_c(ptr) {
            pg_sys::pg_detoast_datum_packed(ptr)
        } else {
            ptr
        }
    }
}

/// The call's ReturnSetInfo, checked to accept a materialized set.
unsafe fn materialize_target(fcinfo: FunctionCallInfo) -> *mut pg_sys::ReturnSetInfo {
    // SAFETY: the caller's contract; every pointer read is checked for NULL first.
    unsafe {
        let rsinfo = (*fcinfo).resultinfo as *mut pg_sys::ReturnSetInfo;
        let usable = !rsinfo.is_null()
            && pgrx::nodes::is_a(rsinfo.cast(), pg_sys::NodeTag::T_ReturnSetInfo)
            && (*rsinfo).allowedModes & pg_sys::SetFunctionReturnMode::SFRM_Materialize as i32 != 0
            && !(*rsinfo).expectedDesc.is_null();
        if !usable {
            crate::errors::raise(
                pgrx::PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                "set-valued function called in context that cannot accept a set",
            );
        }
        rsinfo
    }
}

/// `None` when the descriptor is exactly `columns` (the usual case); otherwise, for each of
/// its attributes, the column it takes its value from (`None` for a dropped attribute).
///
/// The usual case is decided on types alone, which is what memory safety needs: a row type
/// with no dropped attribute still has its attributes in creation order (ALTER TYPE cannot
/// reorder them, only rename, drop and append), so equal count and types mean the same
/// columns, at most renamed. Anything else is matched by name in `map_row_type`.
unsafe fn row_positions(
    desc: pg_sys::TupleDesc,
    row_type: &str,
    columns: &[ResultColumn],
    required: usize,
) -> Option<Vec<Option<usize>>> {
    // SAFETY: a valid descriptor (the executor's expectedDesc).
    unsafe {
        let natts = (*desc).natts as usize;
        let identity = natts == columns.len()
            && columns.iter().enumerate().all(|(i, (_, type_oid, _))| {
                let attr = tuple_desc_attr(desc, i);
                !attr.attisdropped && attr.atttypid == *type_oid && attr.atttypmod == -1
            });
        (!identity).then(|| map_row_type(desc, row_type, columns, required))
    }
}

/// Puts `row` (if any) into a new tuplestore as the call's result, through `positions` when
/// the descriptor is not exactly the library's columns.
unsafe fn store_row(
    rsinfo: *mut pg_sys::ReturnSetInfo,
    positions: Option<&[Option<usize>]>,
    row: Option<(&[Datum], &[bool])>,
) -> Datum {
    // SAFETY: rsinfo checked by materialize_target; the values match the descriptor directly
    // or through positions.
    unsafe {
        let desc = (*rsinfo).expectedDesc;
        let per_query = (*(*rsinfo).econtext).ecxt_per_query_memory;
        // The tuplestore must outlive this call: it lives in the per-query context.
        let old = pg_sys::CurrentMemoryContext;
        pg_sys::CurrentMemoryContext = per_query;
        // Random access when the caller may need it (a SCROLL cursor), as InitMaterializedSRF.
        let random_access = (*rsinfo).allowedModes
            & pg_sys::SetFunctionReturnMode::SFRM_Materialize_Random as i32
            != 0;
        let store = pg_sys::tuplestore_begin_heap(random_access, false, pg_sys::work_mem);
        pg_sys::CurrentMemoryContext = old;
        if let Some((values, nulls)) = row {
            match positions {
                None => pg_sys::tuplestore_putvalues(
                    store,
                    desc,
                    values.as_ptr() as *mut Datum,
                    nulls.as_ptr() as *mut bool,
                ),
                Some(positions) => {
                    let mut out_values = vec![Datum::from(0usize); positions.len()];
                    let mut out_nulls = vec![true; positions.len()];
                    for (i, position) in positions.iter().enumerate() {
                        if let Some(p) = position {
                            out_values[i] = values[*p];
                            out_nulls[i] = nulls[*p];
                        }
                    }
                    pg_sys::tuplestore_putvalues(
                        store,
                        desc,
                        out_values.as_mut_ptr(),
                        out_nulls.as_mut_ptr(),
                    );
                }
            }
        }
        (*rsinfo).returnMode = pg_sys::SetFunctionReturnMode::SFRM_Materialize;
        (*rsinfo).setResult = store;
        // Left NULL on purpose: a descriptor here would be checked against expectedDesc and
        // then freed by the executor, which is why InitMaterializedSRF copies it every call.
        (*rsinfo).setDesc = std::ptr::null_mut();
        Datum::from(0usize)
    }
}

/// Maps a row type altered since creation (or declared by older SQL) onto the library's
/// columns: its live attributes must be `columns`, in order, by name and type (with the default
/// type modifier), at least the first `required` of them; dropped ones become NULL. Raises
/// 55000 otherwise.
///
/// # Safety
/// `desc` must be a valid tuple descriptor.
unsafe fn map_row_type(
    desc: pg_sys::TupleDesc,
    row_type: &str,
    columns: &[ResultColumn],
    required: usize,
) -> Vec<Option<usize>> {
    let mut positions = Vec::new();
    let mut next = 0;
    // SAFETY: the caller's contract.
    let natts = unsafe { (*desc).natts } as usize;
    for i in 0..natts {
        // SAFETY: i < natts.
        let attr = unsafe { tuple_desc_attr(desc, i) };
        if attr.attisdropped {
            positions.push(None);
            continue;
        }
        // SAFETY: attname is a NUL-terminated NameData.
        let name = unsafe { CStr::from_ptr(attr.attname.data.as_ptr()) };
        let expected = columns
            .get(next)
            .map(|(name, type_oid, _)| (*name, *type_oid));
        if expected != Some((name, attr.atttypid)) || attr.atttypmod != -1 {
            crate::errors::raise_with_hint(
                pgrx::PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!(
                    "{row_type} does not have the attributes this library expects \
                     (attribute {} differs)",
                    name.to_string_lossy()
                ),
                "undo the ALTER TYPE, or run ALTER EXTENSION varel_session UPDATE if the \
                 library and the extension's SQL are of different versions",
            );
        }
        positions.push(Some(next));
        next += 1;
    }
    if next < required {
        crate::errors::raise_with_hint(
            pgrx::PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("{row_type} is missing attributes this library expects"),
            "undo the ALTER TYPE, or run ALTER EXTENSION varel_session UPDATE if the library \
             and the extension's SQL are of different versions",
        );
    }
    positions
}
