//! The operations on session data, done on PostgreSQL's binary jsonb in one pass each.
//!
//! Every write builds the new `data` from the row's current `data` inside the same row update,
//! so a change to one key never overwrites a concurrent change to another: the second writer
//! rebuilds from the first writer's committed version (see `storage`).

use pgrx::pg_sys::{self, Datum, Jsonb, JsonbIteratorToken as Token, JsonbValue};
use std::ptr::null_mut;

/// A jsonb datum in its plain (detoasted, 4-byte header) form.
///
/// # Safety
/// `datum` must be a valid jsonb datum.
pub unsafe fn detoast(datum: Datum) -> *mut Jsonb {
    unsafe { pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut Jsonb }
}

/// Whether the value is a JSON object (not an array or a scalar).
///
/// # Safety
/// `jb` must be a detoasted jsonb.
pub unsafe fn is_object(jb: *const Jsonb) -> bool {
    unsafe { (*jb).root.header & pg_sys::JB_FOBJECT != 0 }
}

/// Size in bytes of a detoasted jsonb, as `pg_column_size` reports it before compression.
///
/// # Safety
/// `jb` must be a detoasted jsonb.
pub unsafe fn size(jb: *const Jsonb) -> usize {
    unsafe { pgrx::varlena::varsize_4b(jb as *const pg_sys::varlena) }
}

/// `{}`.
pub fn empty_object() -> *mut Jsonb {
    Builder::object().finish()
}

/// `base` with `key` set to the JSON string `value`.
///
/// # Safety
/// `base` must be a detoasted jsonb object.
pub unsafe fn with_string(base: *mut Jsonb, key: &[u8], value: &[u8]) -> *mut Jsonb {
    unsafe {
        let mut out = Builder::object();
        for_each_pair(base, |k, v| {
            if k != key {
                out.pair(k, v);
            }
        });
        out.pair(key, &mut string_value(value));
        out.finish()
    }
}

/// `base` with `key` removed.
///
/// # Safety
/// `base` must be a detoasted jsonb object.
pub unsafe fn without(base: *mut Jsonb, key: &[u8]) -> *mut Jsonb {
    unsafe {
        let mut out = Builder::object();
        for_each_pair(base, |k, v| {
            if k != key {
                out.pair(k, v);
            }
        });
        out.finish()
    }
}

/// A top-level JSON merge patch (RFC 7396, one level deep): keys of `patch` are set in
/// `base`, keys whose value in `patch` is JSON `null` are removed, other keys are kept.
///
/// # Safety
/// `base` and `patch` must be detoasted jsonb objects.
pub unsafe fn merge_patch(base: *mut Jsonb, patch: *mut Jsonb) -> *mut Jsonb {
    unsafe {
        let mut out = Builder::object();
        for_each_pair(base, |k, v| {
            if !has_key(patch, k) {
                out.pair(k, v);
            }
        });
        for_each_pair(patch, |k, v| {
            if v.type_ != pg_sys::jbvType::jbvNull {
                out.pair(k, v);
            }
        });
        out.finish()
    }
}

/// `base ->> key`: the value as text (strings unquoted), or `None` when the key is absent or
/// its value is JSON `null`.
///
/// # Safety
/// `base` must be a valid jsonb datum and `key` a text datum.
pub unsafe fn get_text(base: Datum, key: Datum) -> Option<Datum> {
    unsafe {
        pgrx::fcinfo::direct_function_call_as_datum(
            pg_sys::jsonb_object_field_text,
            &[Some(base), Some(key)],
        )
    }
}

unsafe fn has_key(object: *mut Jsonb, key: &[u8]) -> bool {
    unsafe {
        let mut found: JsonbValue = std::mem::zeroed();
        !pg_sys::getKeyJsonValueFromContainer(
            &mut (*object).root,
            key.as_ptr() as *const std::ffi::c_char,
            key.len() as i32,
            &mut found,
        )
        .is_null()
    }
}

/// Calls `each(key, value)` for every top-level pair of an object; nested containers come as
/// binary values, which the builder copies without unpacking them first.
unsafe fn for_each_pair(object: *mut Jsonb, mut each: impl FnMut(&[u8], &mut JsonbValue)) {
    unsafe {
        let mut it = pg_sys::JsonbIteratorInit(&mut (*object).root);
        let mut key: JsonbValue = std::mem::zeroed();
        let mut value: JsonbValue = std::mem::zeroed();
        loop {
            match pg_sys::JsonbIteratorNext(&mut it, &mut key, true) {
                Token::WJB_KEY => {
                    let token = pg_sys::JsonbIteratorNext(&mut it, &mut value, true);
                    debug_assert_eq!(token, Token::WJB_VALUE);
                    each(string_bytes(&key), &mut value);
                }
                Token::WJB_DONE => break,
                _ => {} // WJB_BEGIN_OBJECT, WJB_END_OBJECT
            }
        }
    }
}

unsafe fn string_bytes(value: &JsonbValue) -> &[u8] {
    unsafe {
        let s = value.val.string;
        std::slice::from_raw_parts(s.val as *const u8, s.len as usize)
    }
}

fn string_value(bytes: &[u8]) -> JsonbValue {
    // SAFETY: a zeroed JsonbValue is a valid null value; we set the string variant.
    unsafe {
        let mut value: JsonbValue = std::mem::zeroed();
        value.type_ = pg_sys::jbvType::jbvString;
        value.val.string.len = bytes.len() as i32;
        value.val.string.val = bytes.as_ptr() as *mut std::ffi::c_char;
        value
    }
}

/// Builds one jsonb object. Pairs may come in any order: `finish` sorts keys into jsonb's
/// canonical order (and would keep the last of two equal keys).
struct Builder {
    state: *mut pg_sys::JsonbParseState,
}

impl Builder {
    fn object() -> Builder {
        let mut builder = Builder { state: null_mut() };
        // SAFETY: starts a fresh parse state.
        unsafe { pg_sys::pushJsonbValue(&mut builder.state, Token::WJB_BEGIN_OBJECT, null_mut()) };
        builder
    }

    fn pair(&mut self, key: &[u8], value: &mut JsonbValue) {
        let mut key = string_value(key);
        // SAFETY: inside an object; the key's bytes outlive `finish`.
        unsafe {
            pg_sys::pushJsonbValue(&mut self.state, Token::WJB_KEY, &mut key);
            pg_sys::pushJsonbValue(&mut self.state, Token::WJB_VALUE, value);
        }
    }

    fn finish(mut self) -> *mut Jsonb {
        // SAFETY: closes the object begun in `object`.
        unsafe {
            let value = pg_sys::pushJsonbValue(&mut self.state, Token::WJB_END_OBJECT, null_mut());
            pg_sys::JsonbValueToJsonb(value)
        }
    }
}

/// Whether two detoasted jsonb values are byte-for-byte equal (jsonb's binary form is
/// canonical, so equal bytes mean equal documents; unequal bytes are treated as a change).
///
/// # Safety
/// Both must be detoasted jsonb.
pub unsafe fn same_bytes(a: *const Jsonb, b: *const Jsonb) -> bool {
    unsafe {
        let (len_a, len_b) = (size(a), size(b));
        len_a == len_b
            && std::slice::from_raw_parts(a as *const u8, len_a)
                == std::slice::from_raw_parts(b as *const u8, len_b)
    }
}
