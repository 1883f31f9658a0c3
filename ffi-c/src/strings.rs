//! Strings across the boundary.
//!
//! In: `const char *` arguments are NUL-terminated UTF-8 (invalid UTF-8 is refused with
//! `YX_INVALID_UTF8`); raw bytes (response and callback bodies) come as a `const void *` and a
//! length.
//! Out: `char *` written to a `char **` out-parameter is owned by the caller and freed with
//! `yx_string_free`; `const char *` returned by an accessor is borrowed from its handle (or
//! static) and never freed.

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr;

use crate::args::Out;
use crate::callbacks::yx_header;
use crate::error::{Fallible, yx_error};

/// A C string from Rust text. NUL bytes (possible in a body received from the network) are
/// replaced by U+FFFD, so the result is never cut short. The buffer is sized for the
/// terminator up front: one allocation per string handed out.
pub(crate) fn c_string(text: impl AsRef<str>) -> CString {
    let text = text.as_ref();
    let mut bytes = Vec::with_capacity(text.len() + 1);
    if text.contains('\0') {
        bytes.extend_from_slice(text.replace('\0', "\u{FFFD}").as_bytes());
    } else {
        bytes.extend_from_slice(text.as_bytes());
    }
    CString::new(bytes).unwrap_or_default()
}

/// The pointer of an optional borrowed string, NULL when absent.
pub(crate) fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |c| c.as_ptr())
}

/// Hands an owned string to the caller (freed with `yx_string_free`).
pub(crate) fn out_string(out: Out<*mut c_char>, text: impl AsRef<str>) {
    out.write(c_string(text).into_raw());
}

/// Reads a required string argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that stays unchanged during `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Fallible<&'a str> {
    if ptr.is_null() {
        return Err(yx_error::null_argument(name));
    }
    // SAFETY: forwarded from this function's contract; not NULL.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().map_err(|_| yx_error::invalid_utf8(name))
}

/// Reads an optional string argument: NULL means absent.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(ptr: *const c_char, name: &str) -> Fallible<Option<&'a str>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded from this function's contract.
    unsafe { str_arg(ptr, name) }.map(Some)
}

/// Reads an array of `count` values. `ptr` may be NULL only when `count` is 0; a `count`
/// whose bytes could not fit in memory is refused rather than trusted.
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `count` values of `T`, unchanged during `'a`.
unsafe fn slice_arg<'a, T>(ptr: *const T, count: usize, name: &str) -> Fallible<&'a [T]> {
    if count == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(yx_error::null_argument(name));
    }
    if count > isize::MAX as usize / size_of::<T>().max(1) {
        return Err(yx_error::invalid_argument(
            name,
            "is longer than memory allows",
        ));
    }
    // SAFETY: forwarded from this function's contract; not NULL, size checked.
    Ok(unsafe { std::slice::from_raw_parts(ptr, count) })
}

/// Reads `len` raw bytes. `ptr` may be NULL only when `len` is 0.
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `len` bytes that stay unchanged during `'a`.
pub(crate) unsafe fn bytes_arg<'a>(
    ptr: *const c_void,
    len: usize,
    name: &str,
) -> Fallible<&'a [u8]> {
    // SAFETY: forwarded from this function's contract.
    unsafe { slice_arg(ptr.cast::<u8>(), len, name) }
}

/// Reads an array of `count` required strings. `ptr` may be NULL only when `count` is 0.
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `count` pointers, each NULL or a NUL-terminated
/// string, all unchanged during `'a`.
pub(crate) unsafe fn str_array_arg<'a>(
    ptr: *const *const c_char,
    count: usize,
    name: &str,
) -> Fallible<Vec<&'a str>> {
    // SAFETY: forwarded from this function's contract.
    let items = unsafe { slice_arg(ptr, count, name) }?;
    items
        .iter()
        .enumerate()
        // SAFETY: each entry is NULL or a NUL-terminated string, per the contract.
        .map(|(i, p)| unsafe { str_arg(*p, &format!("{name}[{i}]")) })
        .collect()
}

/// Reads an array of `count` headers (name and value both required). `ptr` may be NULL only
/// when `count` is 0.
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `count` `yx_header`s whose strings are NULL or
/// NUL-terminated, all unchanged during `'a`.
pub(crate) unsafe fn headers_arg<'a>(
    ptr: *const yx_header,
    count: usize,
    name: &str,
) -> Fallible<Vec<(&'a str, &'a str)>> {
    // SAFETY: forwarded from this function's contract.
    let items = unsafe { slice_arg(ptr, count, name) }?;
    items
        .iter()
        .enumerate()
        .map(|(i, h)| {
            // SAFETY: the strings are NULL or NUL-terminated, per the contract.
            unsafe {
                Ok((
                    str_arg(h.name, &format!("{name}[{i}].name"))?,
                    str_arg(h.value, &format!("{name}[{i}].value"))?,
                ))
            }
        })
        .collect()
}

/// Frees a string the library returned through a `char **` out-parameter. `NULL` is a no-op.
/// Never pass a string that did not come from this library, nor a borrowed `const char *`.
///
/// Thread-safe for distinct strings.
///
/// # Safety
/// `s` must be NULL or a string from this library, not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    // SAFETY: forwarded from this function's contract: `s` came from `CString::into_raw`.
    let owned = unsafe { CString::from_raw(s) };
    crate::panic::guard_value((), move || drop(owned));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::yx_result;

    #[test]
    fn nul_bytes_are_replaced() {
        assert_eq!(c_string("a\0b").to_str().unwrap(), "a\u{FFFD}b");
    }

    #[test]
    fn string_arguments() {
        // SAFETY: literals and NULL.
        unsafe {
            assert_eq!(str_arg(c"云信".as_ptr(), "x").unwrap(), "云信");
            let e = str_arg(ptr::null(), "app_key").unwrap_err();
            assert_eq!(e.kind, yx_result::YX_NULL_ARGUMENT);
            let bad = [0xffu8, 0];
            let e = str_arg(bad.as_ptr().cast(), "app_secret").unwrap_err();
            assert_eq!(e.kind, yx_result::YX_INVALID_UTF8);
            assert_eq!(
                e.message.to_str().unwrap(),
                "argument app_secret is not valid UTF-8"
            );
            assert_eq!(opt_str_arg(ptr::null(), "x").unwrap(), None);
            assert_eq!(bytes_arg(ptr::null(), 0, "body").unwrap(), b"");
            assert!(bytes_arg(ptr::null(), 1, "body").is_err());
            let names = [c"a".as_ptr(), ptr::null()];
            let e = str_array_arg(names.as_ptr(), 2, "callees").unwrap_err();
            assert_eq!(e.field.as_deref().unwrap().to_str().unwrap(), "callees[1]");
            yx_string_free(ptr::null_mut());
        }
    }
}
