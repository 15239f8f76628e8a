//! The version-1 C calling convention, written out by hand for the SQL-facing functions.
//!
//! pgrx's `#[pg_extern]` wrappers are convenient but, for set-returning functions, build a tuple
//! descriptor from the catalogs on every call (`get_call_result_type`) and go through the
//! value-per-call protocol. `session_get` and `session_load` run once per web request, so they
//! use materialize mode with the descriptor the executor already has instead. The SQL
//! declarations live in `sql/lifecycle.sql` (`LANGUAGE c AS 'MODULE_PATHNAME', '<symbol>'`).

use pgrx::pg_sys::{self, Datum, FunctionCallInfo};
use pgrx::varlena;

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
            unsafe {
                pgrx::pg_sys::submodules::panic::pgrx_extern_c_guard(move || $body)
            }
        }
    };
}
pub(crate) use sql_function;

/// Argument `n`, or `None` when it is SQL NULL.
///
/// # Safety
/// `fcinfo` must be the live call's and `n` below its argument count.
#[inline]
pub unsafe fn arg(fcinfo: FunctionCallInfo, n: usize) -> Option<Datum> {
    unsafe {
        let args = (*fcinfo).args.as_slice((*fcinfo).nargs as usize);
        let a = &args[n];
        (!a.isnull).then_some(a.value)
    }
}

/// The bytes of a `text` or `bytea` datum, detoasted if it was stored out of line or compressed.
///
/// # Safety
/// `datum` must be a valid varlena datum that outlives the returned slice's use.
#[inline]
pub unsafe fn varlena_bytes<'a>(datum: Datum) -> &'a [u8] {
    unsafe { varlena::varlena_to_byte_slice(detoast_packed(datum.cast_mut_ptr())) }
}

/// Like `pg_detoast_datum_packed`, without the function call for the common inline case.
///
/// # Safety
/// `ptr` must point to a valid varlena.
#[inline]
pub unsafe fn detoast_packed(ptr: *mut pg_sys::varlena) -> *mut pg_sys::varlena {
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
    unsafe { (*fcinfo).isnull = true };
    Datum::from(0usize)
}

/// Returns a set of at most one row in materialize mode, using the executor's expected row
/// descriptor as is: no catalog lookup and no descriptor copy per call.
///
/// # Safety
/// `fcinfo` must be the live call of a function returning `SETOF` a row type whose columns
/// match `values` and `nulls`, and the datums must stay valid until this returns (the
/// tuplestore copies them).
pub unsafe fn return_rows(fcinfo: FunctionCallInfo, row: Option<(&[Datum], &[bool])>) -> Datum {
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
        let desc = (*rsinfo).expectedDesc;
        let per_query = (*(*rsinfo).econtext).ecxt_per_query_memory;
        // The tuplestore must outlive this call: it lives in the per-query context.
        let old = pg_sys::CurrentMemoryContext;
        pg_sys::CurrentMemoryContext = per_query;
        let store = pg_sys::tuplestore_begin_heap(false, false, pg_sys::work_mem);
        pg_sys::CurrentMemoryContext = old;
        if let Some((values, nulls)) = row {
            pg_sys::tuplestore_putvalues(
                store,
                desc,
                values.as_ptr() as *mut Datum,
                nulls.as_ptr() as *mut bool,
            );
        }
        (*rsinfo).returnMode = pg_sys::SetFunctionReturnMode::SFRM_Materialize;
        (*rsinfo).setResult = store;
        // Left NULL on purpose: a descriptor here would be checked against expectedDesc and
        // then freed by the executor, which is why InitMaterializedSRF copies it every call.
        (*rsinfo).setDesc = std::ptr::null_mut();
        Datum::from(0usize)
    }
}
