//! The version-1 C calling convention, written out by hand for the SQL-facing functions.
//!
//! pgrx's `#[pg_extern]` wrappers are convenient but, for set-returning functions, build a tuple
//! descriptor from the catalogs on every call (`get_call_result_type`) and go through the
//! value-per-call protocol. `session_get` and `session_load` run once per web request, so they
//! use materialize mode with the descriptor the executor already has instead. The SQL
//! declarations live in `sql/lifecycle.sql` (`LANGUAGE c AS 'MODULE_PATHNAME', '<symbol>'`).

use crate::pg_compat::tuple_desc_attr;
use pgrx::pg_sys::{self, Datum, FunctionCallInfo};
use pgrx::varlena;
use std::ffi::CStr;

/// Declares `fn $symbol(fcinfo) -> Datum` callable from SQL, with its `pg_finfo_$symbol`
/// record. The body runs under `#[pg_guard]`: a Rust panic becomes an ERROR, and a PostgreSQL
/// ERROR raised inside unwinds through Rust frames (running their destructors) first.
macro_rules! sql_function {
    ($(#[$doc:meta])* $symbol:ident, $finfo:ident, |$fcinfo:ident| $body:block) => {
        #[unsafe(no_mangle)]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static pgrx::pg_sys::Pg_finfo_record {
            const V1: pgrx::pg_sys::Pg_finfo_record = pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }

        $(#[$doc])*
        #[unsafe(no_mangle)]
        pub unsafe extern "C-unwind" fn $symbol($fcinfo: pgrx::pg_sys::FunctionCallInfo) -> pgrx::pg_sys::Datum {
            // What `#[pg_guard]` expands to; spelled out because the attribute's hygiene does
            // not see an argument named inside a macro_rules body.
            #[allow(unused_unsafe)]
            // SAFETY: PostgreSQL calls the symbol with a live fcinfo; the guard turns a panic
            // into an ERROR and lets an ERROR unwind through Rust frames.
            unsafe {
                pgrx::pg_sys::submodules::panic::pgrx_extern_c_guard(move || $body)
            }
        }
    };
}
pub(crate) use sql_function;

/// Argument `n`, or `None` when it is SQL NULL or was not passed: a function declared by an
/// older version of the extension's SQL may have fewer arguments than this library knows
/// (`session_set_user` gained three), and then they count as their defaults' NULL.
///
/// # Safety
/// `fcinfo` must be the live call's.
#[inline]
pub unsafe fn arg(fcinfo: FunctionCallInfo, n: usize) -> Option<Datum> {
    // SAFETY: the caller's contract; `n` is checked against the argument count.
    unsafe {
        let args = (*fcinfo).args.as_slice((*fcinfo).nargs as usize);
        args.get(n).filter(|a| !a.isnull).map(|a| a.value)
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
pub unsafe fn detoast_packed(ptr: *mut pg_sys::varlena) -> *mut pg_sys::varlena {
    // SAFETY: the caller's contract: a valid varlena.
    unsafe {
        if varlena::varatt_is_1b_e(ptr) || varlena::varatt_is_4b_c(ptr) {
            pg_sys::pg_detoast_datum_packed(ptr)
        } else {
            ptr
        }
    }
}

/// A freshly palloc'd `text` (or `bytea`) holding `bytes`.
pub fn new_varlena(bytes: &[u8]) -> *mut pg_sys::varlena {
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
        ptr
    }
}

/// Returns SQL NULL from the current call.
///
/// # Safety
/// `fcinfo` must be the live call's.
#[inline]
pub unsafe fn return_null(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: the caller's live fcinfo.
    unsafe { (*fcinfo).isnull = true };
    Datum::from(0usize)
}

/// Returns a set of at most one row in materialize mode, using the executor's expected row
/// descriptor as is: no catalog lookup and no descriptor copy per call.
///
/// `columns` names the row type's attributes as the library knows them (`values` and `nulls`
/// are in that order). The descriptor comes from the row type's current definition, which an
/// administrator may have altered (`ALTER TYPE ... ADD ATTRIBUTE`), so it is checked on every
/// call: attributes dropped since creation are returned as NULL, anything else that differs is
/// an ERROR 55000 rather than a row built from the wrong number of values.
///
/// # Safety
/// `fcinfo` must be the live call of a function returning `SETOF` a row type, `values` and
/// `nulls` as long as `columns`, and the datums valid until this returns (the tuplestore
/// copies them).
pub unsafe fn return_rows(
    fcinfo: FunctionCallInfo,
    row_type: &str,
    columns: &[(&CStr, pg_sys::Oid)],
    row: Option<(&[Datum], &[bool])>,
) -> Datum {
    // SAFETY: the caller's contract.
    unsafe {
        let rsinfo = materialize_target(fcinfo);
        let positions = row_positions((*rsinfo).expectedDesc, row_type, columns);
        store_row(rsinfo, positions.as_deref(), row)
    }
}

/// [`return_rows`] without the row-type check: only for the benchmark that prices the checks
/// (`bench/design_alternatives.sql`), never declared by the extension.
///
/// # Safety
/// As for [`return_rows`], and the row type must be exactly the library's.
#[cfg(feature = "bench_unchecked")]
pub unsafe fn return_rows_unchecked(
    fcinfo: FunctionCallInfo,
    row: Option<(&[Datum], &[bool])>,
) -> Datum {
    // SAFETY: the caller's contract.
    unsafe { store_row(materialize_target(fcinfo), None, row) }
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
    columns: &[(&CStr, pg_sys::Oid)],
) -> Option<Vec<Option<usize>>> {
    // SAFETY: a valid descriptor (the executor's expectedDesc).
    unsafe {
        let natts = (*desc).natts as usize;
        let identity = natts == columns.len()
            && columns.iter().enumerate().all(|(i, (_, type_oid))| {
                let attr = tuple_desc_attr(desc, i);
                !attr.attisdropped && attr.atttypid == *type_oid && attr.atttypmod == -1
            });
        (!identity).then(|| map_row_type(desc, row_type, columns))
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

/// Maps a row type altered since creation onto the library's columns: its live attributes must
/// be `columns`, in order, by name and type (with the default type modifier); dropped ones
/// become NULL. Raises 55000 otherwise.
///
/// # Safety
/// `desc` must be a valid tuple descriptor.
unsafe fn map_row_type(
    desc: pg_sys::TupleDesc,
    row_type: &str,
    columns: &[(&CStr, pg_sys::Oid)],
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
        let expected = columns.get(next);
        if expected != Some(&(name, attr.atttypid)) || attr.atttypmod != -1 {
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
    if next != columns.len() {
        crate::errors::raise_with_hint(
            pgrx::PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("{row_type} is missing attributes this library expects"),
            "undo the ALTER TYPE, or run ALTER EXTENSION varel_session UPDATE if the library \
             and the extension's SQL are of different versions",
        );
    }
    positions
}
