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
    // SAFETY: the caller's contract (# Safety above).
    unsafe { pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut Jsonb }
}

/// Whether the value is a JSON object (not an array or a scalar).
///
/// # Safety
/// `jb` must be a detoasted jsonb.
pub unsafe fn is_object(jb: *const Jsonb) -> bool {
    // SAFETY: the caller's contract (# Safety above).
    unsafe { (*jb).root.header & pg_sys::JB_FOBJECT != 0 }
}

/// Size in bytes of a detoasted jsonb, as `pg_column_size` reports it before compression.
///
/// # Safety
/// `jb` must be a detoasted jsonb.
pub unsafe fn size(jb: *const Jsonb) -> usize {
    // SAFETY: the caller's contract (# Safety above).
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
    // SAFETY: the caller's contract (# Safety above).
    unsafe { with_value(base, key, &mut string_value(value)) }
}

/// `base` with `key` set to `value` (a scalar, or a container as a binary value).
///
/// # Safety
/// `base` must be a detoasted jsonb object, and `value`'s data valid until this returns.
pub unsafe fn with_value(base: *mut Jsonb, key: &[u8], value: &mut JsonbValue) -> *mut Jsonb {
    // SAFETY: the caller's contract (# Safety above).
    unsafe {
        let mut out = Builder::object();
        for_each_pair(base, |k, v| {
            if k != key {
                out.pair(k, v);
            }
        });
        out.pair(key, value);
        out.finish()
    }
}

/// The value under `key` in the object, if any: a scalar, or a container as a binary value
/// pointing into `object`.
///
/// # Safety
/// `object` must be a detoasted jsonb object that outlives the value's use.
pub unsafe fn value_of(object: *mut Jsonb, key: &[u8]) -> Option<JsonbValue> {
    // SAFETY: the caller's contract (# Safety above).
    unsafe {
        let mut found: JsonbValue = std::mem::zeroed();
        let value = pg_sys::getKeyJsonValueFromContainer(
            &mut (*object).root,
            key.as_ptr() as *const std::ffi::c_char,
            key.len() as i32,
            &mut found,
        );
        (!value.is_null()).then_some(found)
    }
}

/// A jsonb datum's value as one `JsonbValue`: its scalar, or its container as a binary value.
///
/// # Safety
/// `jb` must be a detoasted jsonb that outlives the value's use.
pub unsafe fn as_value(jb: *mut Jsonb) -> JsonbValue {
    // SAFETY: the caller's contract (# Safety above).
    unsafe {
        let mut value: JsonbValue = std::mem::zeroed();
        if !pg_sys::JsonbExtractScalar(&mut (*jb).root, &mut value) {
            value.type_ = pg_sys::jbvType::jbvBinary;
            value.val.binary.data = &mut (*jb).root;
            value.val.binary.len = (size(jb) - pg_sys::VARHDRSZ) as i32;
        }
        value
    }
}

/// A `JsonbValue` as a jsonb datum of its own.
///
/// # Safety
/// `value`'s data must be valid.
pub unsafe fn to_jsonb(value: &mut JsonbValue) -> *mut Jsonb {
    // SAFETY: the caller's contract (# Safety above).
    unsafe { pg_sys::JsonbValueToJsonb(value) }
}

/// Whether `value` equals the jsonb `expected`, by jsonb's own equality (`=`).
///
/// # Safety
/// Both must be valid; `expected` detoasted.
pub unsafe fn equals(value: &mut JsonbValue, expected: *mut Jsonb) -> bool {
    // SAFETY: the caller's contract (# Safety above).
    unsafe {
        let own = to_jsonb(value);
        pg_sys::compareJsonbContainers(&mut (*own).root, &mut (*expected).root) == 0
    }
}

/// Why a value cannot be used as an integer counter.
pub enum NotAnInteger {
    /// Not a number, or a number with a fractional part.
    WrongType,
    /// A whole number beyond bigint's range.
    OutOfRange,
}

/// The value as a bigint, if it is a whole JSON number within bigint's range.
///
/// # Safety
/// `value` must be valid.
pub unsafe fn as_i64(value: &JsonbValue) -> Result<i64, NotAnInteger> {
    if value.type_ != pg_sys::jbvType::jbvNumeric {
        return Err(NotAnInteger::WrongType);
    }
    // numeric_out prints a whole number as its digits alone (never in exponent form), so
    // anything that does not parse as digits has a fractional part.
    // SAFETY: a numeric datum; numeric_out returns a palloc'd C string.
    let text = unsafe {
        let out = pgrx::fcinfo::direct_function_call_as_datum(
            pg_sys::numeric_out,
            &[Some(Datum::from(value.val.numeric))],
        )
        .expect("numeric_out returned NULL");
        std::ffi::CStr::from_ptr(out.cast_mut_ptr::<std::ffi::c_char>())
    };
    let text = text.to_str().map_err(|_| NotAnInteger::WrongType)?;
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NotAnInteger::WrongType);
    }
    text.parse().map_err(|_| NotAnInteger::OutOfRange)
}

/// A JSON number.
pub fn number(n: i64) -> JsonbValue {
    // SAFETY: a zeroed JsonbValue made a numeric; int64_to_numeric pallocs the number.
    unsafe {
        let mut value: JsonbValue = std::mem::zeroed();
        value.type_ = pg_sys::jbvType::jbvNumeric;
        value.val.numeric = pg_sys::int64_to_numeric(n);
        value
    }
}

/// The array `existing` (or an empty one) with `item` appended, keeping only the newest
/// `max_items` when given; `None` when `existing` is not an array. Returns the array as a
/// binary value of a new jsonb, and its length.
///
/// # Safety
/// `existing` and `item` must be valid until this returns.
pub unsafe fn appended(
    existing: Option<&JsonbValue>,
    item: &mut JsonbValue,
    max_items: Option<usize>,
) -> Option<(JsonbValue, usize)> {
    // SAFETY: the caller's contract (# Safety above).
    unsafe {
        let mut elements: Vec<JsonbValue> = Vec::new();
        if let Some(existing) = existing {
            let container = existing.val.binary.data;
            let is_array = existing.type_ == pg_sys::jbvType::jbvBinary
                && (*container).header & pg_sys::JB_FARRAY != 0
                && (*container).header & pg_sys::JB_FSCALAR == 0;
            if !is_array {
                return None;
            }
            let mut it = pg_sys::JsonbIteratorInit(container);
            let mut element: JsonbValue = std::mem::zeroed();
            loop {
                match pg_sys::JsonbIteratorNext(&mut it, &mut element, true) {
                    Token::WJB_ELEM => elements.push(element),
                    Token::WJB_DONE => break,
                    _ => {} // WJB_BEGIN_ARRAY, WJB_END_ARRAY
                }
            }
        }
        elements.push(*item);
        let keep = max_items.map_or(elements.len(), |max| max.min(elements.len()));
        let mut state: *mut pg_sys::JsonbParseState = null_mut();
        pg_sys::pushJsonbValue(&mut state, Token::WJB_BEGIN_ARRAY, null_mut());
        let dropped = elements.len() - keep;
        for element in elements.iter_mut().skip(dropped) {
            pg_sys::pushJsonbValue(&mut state, Token::WJB_ELEM, element);
        }
        let array = pg_sys::pushJsonbValue(&mut state, Token::WJB_END_ARRAY, null_mut());
        let jb = pg_sys::JsonbValueToJsonb(array);
        Some((as_value(jb), keep))
    }
}

/// `base` with `key` removed.
///
/// # Safety
/// `base` must be a detoasted jsonb object.
pub unsafe fn without(base: *mut Jsonb, key: &[u8]) -> *mut Jsonb {
    // SAFETY: the caller's contract (# Safety above).
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
    // SAFETY: the caller's contract (# Safety above).
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
    // SAFETY: the caller's contract (# Safety above).
    unsafe {
        pgrx::fcinfo::direct_function_call_as_datum(
            pg_sys::jsonb_object_field_text,
            &[Some(base), Some(key)],
        )
    }
}

/// Whether the object has `key`.
///
/// # Safety
/// `object` must be a detoasted jsonb object.
unsafe fn has_key(object: *mut Jsonb, key: &[u8]) -> bool {
    // SAFETY: the caller's contract: a detoasted jsonb object.
    unsafe { value_of(object, key).is_some() }
}

/// Calls `each(key, value)` for every top-level pair of an object; nested containers come as
/// binary values (not walked here; the builder copies their contents when it takes them).
///
/// # Safety
/// `object` must be a detoasted jsonb object.
unsafe fn for_each_pair(object: *mut Jsonb, mut each: impl FnMut(&[u8], &mut JsonbValue)) {
    // SAFETY: the caller's contract (# Safety above).
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

/// The bytes of a string value.
///
/// # Safety
/// `value` must be a string value whose bytes are still valid.
unsafe fn string_bytes(value: &JsonbValue) -> &[u8] {
    // SAFETY: the caller's contract (# Safety above).
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
    // SAFETY: the caller's contract (# Safety above).
    unsafe {
        let (len_a, len_b) = (size(a), size(b));
        len_a == len_b
            && std::slice::from_raw_parts(a as *const u8, len_a)
                == std::slice::from_raw_parts(b as *const u8, len_b)
    }
}
