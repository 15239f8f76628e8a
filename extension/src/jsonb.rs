//! The operations on session data, done on PostgreSQL's binary jsonb in one pass each.
//!
//! Every write builds the new `data` from the row's current `data` inside the same row update,
//! so a change to one key never overwrites a concurrent change to another: the second writer
//! rebuilds from the first writer's committed version (see `storage`).

use pgrx::pg_sys::{self, Datum, Jsonb, JsonbIteratorToken as Token, JsonbValue};
use std::marker::PhantomData;
use std::ptr::{null_mut, NonNull};

/// A jsonb document in its plain (detoasted, 4-byte header) form, valid for `'a`: borrowed
/// from a row (`'a` is then the borrow of the slot that pins its buffer), or an argument or a
/// document built here, in memory of the current call (`'static` in Rust's terms: it lives
/// until PostgreSQL resets the call's memory context; never keep one across calls).
#[derive(Clone, Copy)]
pub struct Document<'a>(NonNull<Jsonb>, PhantomData<&'a Jsonb>);

impl<'a> Document<'a> {
    /// # Safety
    /// `datum` must be a valid jsonb datum that stays valid for `'a`.
    pub unsafe fn from_datum(datum: Datum) -> Document<'a> {
        // SAFETY: the caller's contract; pg_detoast_datum returns the datum itself or a
        // palloc'd plain copy, never NULL.
        unsafe {
            let plain = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut Jsonb;
            Document(NonNull::new_unchecked(plain), PhantomData)
        }
    }

    pub fn datum(self) -> Datum {
        Datum::from(self.0.as_ptr())
    }

    fn ptr(self) -> *mut Jsonb {
        self.0.as_ptr()
    }

    /// Whether the value is a JSON object (not an array or a scalar).
    pub fn is_object(self) -> bool {
        // SAFETY: a valid detoasted jsonb (the type's invariant).
        unsafe { (*self.ptr()).root.header & pg_sys::JB_FOBJECT != 0 }
    }

    /// Size in bytes, as `pg_column_size` reports it before compression.
    pub fn size(self) -> usize {
        // SAFETY: a valid detoasted jsonb (the type's invariant).
        unsafe { pgrx::varlena::varsize_4b(self.ptr() as *const pg_sys::varlena) }
    }

    /// Whether two documents are byte-for-byte equal (jsonb's binary form is canonical, so
    /// equal bytes mean equal documents; unequal bytes are treated as a change).
    pub fn same_bytes(self, other: Document<'_>) -> bool {
        let (len_a, len_b) = (self.size(), other.size());
        // SAFETY: both valid for their sizes (the type's invariant).
        len_a == len_b
            && unsafe {
                std::slice::from_raw_parts(self.ptr() as *const u8, len_a)
                    == std::slice::from_raw_parts(other.ptr() as *const u8, len_b)
            }
    }

    /// The document's value: its scalar, or its container as a binary value pointing into it.
    pub fn as_value(self) -> Value<'a> {
        // SAFETY: a valid detoasted jsonb (the type's invariant), which the value borrows.
        unsafe {
            let jb = self.ptr();
            let mut value: JsonbValue = std::mem::zeroed();
            if !pg_sys::JsonbExtractScalar(&mut (*jb).root, &mut value) {
                value.type_ = pg_sys::jbvType::jbvBinary;
                value.val.binary.data = &mut (*jb).root;
                value.val.binary.len = (self.size() - pg_sys::VARHDRSZ) as i32;
            }
            Value(value, PhantomData)
        }
    }
}

/// From a jsonb PostgreSQL just built in the call's memory.
fn built(jb: *mut Jsonb) -> Document<'static> {
    Document(
        NonNull::new(jb).expect("PostgreSQL built a NULL jsonb"),
        PhantomData,
    )
}

/// A JSON value: a scalar, or a container as a binary value, whose data (strings, numbers,
/// containers) is valid for `'a`, like a [`Document`]'s.
#[derive(Clone, Copy)]
pub struct Value<'a>(JsonbValue, PhantomData<&'a Jsonb>);

impl Value<'_> {
    /// Whether this is JSON `null`.
    pub fn is_null(&self) -> bool {
        self.0.type_ == pg_sys::jbvType::jbvNull
    }

    /// The value as a document of its own.
    pub fn as_document(&self) -> Document<'static> {
        // PostgreSQL's signature takes a mutable pointer; it only reads the value.
        let mut value = self.0;
        // SAFETY: a valid value (the type's invariant); the new jsonb is a copy.
        built(unsafe { pg_sys::JsonbValueToJsonb(&mut value) })
    }

    /// Whether the value equals `expected`, by jsonb's own equality (`=`).
    pub fn equals(&self, expected: Document<'_>) -> bool {
        let own = self.as_document();
        // SAFETY: two valid documents.
        unsafe {
            pg_sys::compareJsonbContainers(&mut (*own.ptr()).root, &mut (*expected.ptr()).root) == 0
        }
    }
}

/// A document that is one JSON string (a scalar): how sealed data is stored (`seal`).
pub fn string_document(bytes: &[u8]) -> Document<'static> {
    string_value(bytes).as_document()
}

/// The string of a document that is one JSON string; `None` for anything else (an object, as
/// session data always is unless it is sealed).
pub fn string_of(document: Document<'_>) -> Option<&[u8]> {
    if document.is_object() {
        return None;
    }
    let value = document.as_value();
    if value.0.type_ != pg_sys::jbvType::jbvString {
        return None;
    }
    // SAFETY: a string value, whose bytes live in `document` (the value borrows it).
    unsafe {
        let string = value.0.val.string;
        Some(std::slice::from_raw_parts(
            string.val as *const u8,
            string.len as usize,
        ))
    }
}

/// The document's JSON text, as `jsonb_out` prints it.
pub fn to_text(document: Document<'_>) -> Vec<u8> {
    // SAFETY: a valid jsonb (the type's invariant); jsonb_out returns a palloc'd C string.
    unsafe {
        let out = pgrx::fcinfo::direct_function_call_as_datum(
            pg_sys::jsonb_out,
            &[Some(document.datum())],
        )
        .expect("jsonb_out returned NULL");
        std::ffi::CStr::from_ptr(out.cast_mut_ptr::<std::ffi::c_char>())
            .to_bytes()
            .to_vec()
    }
}

/// A document parsed from JSON text by `jsonb_in`, which checks it (an ERROR for text that is
/// not JSON, or that holds a NUL).
pub fn from_text(text: &[u8]) -> Document<'static> {
    let Ok(text) = std::ffi::CString::new(text) else {
        crate::errors::raise(
            pgrx::PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            "sealed session data holds a NUL byte",
        );
    };
    // SAFETY: jsonb_in takes a C string (valid for the call) and returns a new jsonb or raises.
    let jb = unsafe {
        pgrx::fcinfo::direct_function_call_as_datum(
            pg_sys::jsonb_in,
            &[Some(Datum::from(text.as_ptr()))],
        )
        .expect("jsonb_in returned NULL")
        .cast_mut_ptr::<Jsonb>()
    };
    built(jb)
}

/// `{}`.
pub fn empty_object() -> Document<'static> {
    Builder::object().finish()
}

/// `base` (an object) with `key` set to the JSON string `value`.
pub fn with_string(base: Document<'_>, key: &[u8], value: &[u8]) -> Document<'static> {
    with_value(base, key, &string_value(value))
}

/// `base` (an object) with `key` set to `value`.
pub fn with_value(base: Document<'_>, key: &[u8], value: &Value<'_>) -> Document<'static> {
    let mut out = Builder::object();
    for_each_pair(base, |k, v| {
        if k != key {
            out.pair(k, v);
        }
    });
    out.pair(key, value);
    out.finish()
}

/// The value under `key` in the object, if any: a scalar, or a container as a binary value
/// pointing into `object`. `None` also when the document is not an object (data only an
/// administrator could have written): PostgreSQL's lookup is for objects only.
pub fn value_of<'a>(object: Document<'a>, key: &[u8]) -> Option<Value<'a>> {
    if !object.is_object() {
        return None;
    }
    // SAFETY: a valid document that is an object (checked above); the key's bytes are read
    // during the call only.
    unsafe {
        let mut found: JsonbValue = std::mem::zeroed();
        let value = pg_sys::getKeyJsonValueFromContainer(
            &mut (*object.ptr()).root,
            key.as_ptr() as *const std::ffi::c_char,
            key.len() as i32,
            &mut found,
        );
        (!value.is_null()).then_some(Value(found, PhantomData))
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
pub fn as_i64(value: &Value<'_>) -> Result<i64, NotAnInteger> {
    if value.0.type_ != pg_sys::jbvType::jbvNumeric {
        return Err(NotAnInteger::WrongType);
    }
    // numeric_out prints a whole number as its digits alone (never in exponent form), so
    // anything that does not parse as digits has a fractional part.
    // SAFETY: a numeric value (checked above); numeric_out returns a palloc'd C string.
    let text = unsafe {
        let out = pgrx::fcinfo::direct_function_call_as_datum(
            pg_sys::numeric_out,
            &[Some(Datum::from(value.0.val.numeric))],
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
pub fn number(n: i64) -> Value<'static> {
    // SAFETY: a zeroed JsonbValue made a numeric; int64_to_numeric pallocs the number.
    unsafe {
        let mut value: JsonbValue = std::mem::zeroed();
        value.type_ = pg_sys::jbvType::jbvNumeric;
        value.val.numeric = pg_sys::int64_to_numeric(n);
        Value(value, PhantomData)
    }
}

/// The array `existing` (or an empty one) with `item` appended, keeping only the newest
/// `max_items` when given; `None` when `existing` is not an array. Returns the array as a
/// binary value of a new jsonb, and its length.
pub fn appended(
    existing: Option<&Value<'_>>,
    item: &Value<'_>,
    max_items: Option<usize>,
) -> Option<(Value<'static>, usize)> {
    // SAFETY: valid values (the type's invariant); the iterator walks `existing`'s container
    // only when it is an array, and the pushed elements point into memory valid for the call.
    unsafe {
        let mut elements: Vec<JsonbValue> = Vec::new();
        if let Some(Value(existing, _)) = existing {
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
        elements.push(item.0);
        let keep = max_items.map_or(elements.len(), |max| max.min(elements.len()));
        let mut state: *mut pg_sys::JsonbParseState = null_mut();
        pg_sys::pushJsonbValue(&mut state, Token::WJB_BEGIN_ARRAY, null_mut());
        let dropped = elements.len() - keep;
        for element in elements.iter_mut().skip(dropped) {
            pg_sys::pushJsonbValue(&mut state, Token::WJB_ELEM, element);
        }
        let array = pg_sys::pushJsonbValue(&mut state, Token::WJB_END_ARRAY, null_mut());
        Some((built(pg_sys::JsonbValueToJsonb(array)).as_value(), keep))
    }
}

/// `base` (an object) with `key` removed.
pub fn without(base: Document<'_>, key: &[u8]) -> Document<'static> {
    let mut out = Builder::object();
    for_each_pair(base, |k, v| {
        if k != key {
            out.pair(k, v);
        }
    });
    out.finish()
}

/// A top-level JSON merge patch (RFC 7396, one level deep) of two objects: keys of `patch` are
/// set in `base`, keys whose value in `patch` is JSON `null` are removed, other keys are kept.
pub fn merge_patch(base: Document<'_>, patch: Document<'_>) -> Document<'static> {
    let mut out = Builder::object();
    for_each_pair(base, |k, v| {
        if value_of(patch, k).is_none() {
            out.pair(k, v);
        }
    });
    for_each_pair(patch, |k, v| {
        if !v.is_null() {
            out.pair(k, v);
        }
    });
    out.finish()
}

/// `object ->> key`: the value as text (strings unquoted), or `None` when the key is absent or
/// its value is JSON `null`.
pub fn get_text(object: Document<'_>, key: &[u8]) -> Option<Datum> {
    let key = crate::fmgr::new_varlena(key);
    // SAFETY: a valid jsonb (the type's invariant) and a text datum.
    unsafe {
        pgrx::fcinfo::direct_function_call_as_datum(
            pg_sys::jsonb_object_field_text,
            &[Some(object.datum()), Some(key)],
        )
    }
}

/// Calls `each(key, value)` for every top-level pair of an object (none for a document that is
/// not an object); nested containers come as binary values (not walked here; the builder
/// copies their contents when it takes them).
fn for_each_pair<'a>(object: Document<'a>, mut each: impl FnMut(&'a [u8], &Value<'a>)) {
    if !object.is_object() {
        return;
    }
    // SAFETY: a valid document that is an object (checked above); its keys are strings whose
    // bytes live in the document, for 'a.
    unsafe {
        let mut it = pg_sys::JsonbIteratorInit(&mut (*object.ptr()).root);
        let mut key: JsonbValue = std::mem::zeroed();
        let mut value: JsonbValue = std::mem::zeroed();
        loop {
            match pg_sys::JsonbIteratorNext(&mut it, &mut key, true) {
                Token::WJB_KEY => {
                    let token = pg_sys::JsonbIteratorNext(&mut it, &mut value, true);
                    debug_assert_eq!(token, Token::WJB_VALUE);
                    let s = key.val.string;
                    each(
                        std::slice::from_raw_parts(s.val as *const u8, s.len as usize),
                        &Value(value, PhantomData),
                    );
                }
                Token::WJB_DONE => break,
                _ => {} // WJB_BEGIN_OBJECT, WJB_END_OBJECT
            }
        }
    }
}

/// A JSON string value pointing at `bytes`.
fn string_value(bytes: &[u8]) -> Value<'_> {
    // SAFETY: a zeroed JsonbValue is a valid null value; we set the string variant, whose
    // bytes the lifetime ties to `bytes`.
    unsafe {
        let mut value: JsonbValue = std::mem::zeroed();
        value.type_ = pg_sys::jbvType::jbvString;
        value.val.string.len = bytes.len() as i32;
        value.val.string.val = bytes.as_ptr() as *mut std::ffi::c_char;
        Value(value, PhantomData)
    }
}

/// Builds one jsonb object from keys and values valid for `'a`: PostgreSQL keeps pointers to
/// them until `finish` copies them into the new jsonb. Pairs may come in any order: `finish`
/// sorts keys into jsonb's canonical order (and would keep the last of two equal keys).
struct Builder<'a> {
    state: *mut pg_sys::JsonbParseState,
    _data: PhantomData<&'a [u8]>,
}

impl<'a> Builder<'a> {
    fn object() -> Builder<'a> {
        let mut builder = Builder {
            state: null_mut(),
            _data: PhantomData,
        };
        // SAFETY: starts a fresh parse state.
        unsafe { pg_sys::pushJsonbValue(&mut builder.state, Token::WJB_BEGIN_OBJECT, null_mut()) };
        builder
    }

    fn pair(&mut self, key: &'a [u8], value: &Value<'a>) {
        let mut key = string_value(key).0;
        let mut value = value.0;
        // SAFETY: inside an object; the key's and value's data live for 'a, past `finish`.
        unsafe {
            pg_sys::pushJsonbValue(&mut self.state, Token::WJB_KEY, &mut key);
            pg_sys::pushJsonbValue(&mut self.state, Token::WJB_VALUE, &mut value);
        }
    }

    fn finish(mut self) -> Document<'static> {
        // SAFETY: closes the object begun in `object`; the new jsonb copies every pair.
        let jb = unsafe {
            let value = pg_sys::pushJsonbValue(&mut self.state, Token::WJB_END_OBJECT, null_mut());
            pg_sys::JsonbValueToJsonb(value)
        };
        built(jb)
    }
}
