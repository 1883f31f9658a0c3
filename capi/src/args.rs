//! Arguments in and out: every raw pointer the C side hands in goes through one of these
//! functions, which check it for NULL (and strings for UTF-8) first, and every out-parameter
//! is written once, on success only.
//!
//! Handles are `Box`es turned into raw pointers: constructors leak one to the caller with
//! `into_handle`, `_free` functions take it back with `free_handle`.

use std::ffi::{CStr, c_char, c_void};
use std::ptr::NonNull;

use crate::error::{Fallible, yx_error};
use crate::panic::guard_value;
use crate::strings::c_string;

/// A name and a value, both NUL-terminated UTF-8 owned by the caller: an HTTP header (names
/// matched case-insensitively) or a form parameter of a generic API request.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct yx_pair {
    /// The name, e.g. `"CheckSum"` or `"accid"`.
    pub name: *const c_char,
    /// The value.
    pub value: *const c_char,
}

/// An out-parameter checked for NULL, written at most once and only on success.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Checks a required out-parameter.
    ///
    /// # Safety
    /// `ptr` must be NULL or valid for a write of `T` until [`Out::write`] is called.
    pub(crate) unsafe fn new(ptr: *mut T, name: &'static str) -> Fallible<Self> {
        NonNull::new(ptr)
            .map(Out)
            .ok_or_else(|| yx_error::null_argument(name))
    }

    /// Writes the value. The previous content (uninitialised, or a stale pointer) is not read
    /// or dropped.
    pub(crate) fn write(self, value: T) {
        // SAFETY: `Out::new`'s contract: the pointer is valid for a write of `T`.
        unsafe { self.0.as_ptr().write(value) }
    }
}

impl<T> Out<*mut T> {
    /// Hands a new handle to the caller, who owns it until the matching `_free`.
    pub(crate) fn handle(self, value: T) {
        self.write(into_handle(value));
    }
}

impl Out<*mut c_char> {
    /// Hands an owned string to the caller (freed with `yx_string_free`).
    pub(crate) fn string(self, text: impl AsRef<str>) {
        self.write(c_string(text).into_raw());
    }
}

/// Moves a value to the heap and hands the pointer to the caller.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Borrows a required handle.
///
/// # Safety
/// `ptr` must be NULL or a live handle of type `T` from this library, not freed during `'a`.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, name: &'static str) -> Fallible<&'a T> {
    // SAFETY: forwarded from this function's contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| yx_error::null_argument(name))
}

/// Borrows a required handle that the call changes (an exchange).
///
/// # Safety
/// `ptr` must be NULL or a live handle of type `T` from this library, used by no one else
/// during `'a`.
pub(crate) unsafe fn handle_mut<'a, T>(ptr: *mut T, name: &'static str) -> Fallible<&'a mut T> {
    // SAFETY: forwarded from this function's contract.
    unsafe { ptr.as_mut() }.ok_or_else(|| yx_error::null_argument(name))
}

/// The body of an accessor: `accessor` applied to a live handle; `fallback` for a NULL handle or
/// a panic.
///
/// # Safety
/// As [`handle`].
pub(crate) unsafe fn read<T, R: Copy>(
    ptr: *const T,
    fallback: R,
    accessor: impl FnOnce(&T) -> R,
) -> R {
    // SAFETY: forwarded from this function's contract.
    guard_value(fallback, || {
        unsafe { ptr.as_ref() }.map_or(fallback, accessor)
    })
}

/// Frees a handle; NULL is a no-op. A panic in a destructor is caught and dropped.
///
/// # Safety
/// `ptr` must be NULL or a handle of type `T` from [`into_handle`], not freed yet.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: forwarded from this function's contract: `ptr` came from `Box::into_raw` and is
    // freed exactly once.
    let boxed = unsafe { Box::from_raw(ptr) };
    guard_value((), move || drop(boxed));
}

/// Reads a required string argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that stays unchanged during `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &'static str) -> Fallible<&'a str> {
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
pub(crate) unsafe fn opt_str_arg<'a>(
    ptr: *const c_char,
    name: &'static str,
) -> Fallible<Option<&'a str>> {
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
unsafe fn slice_arg<'a, T>(ptr: *const T, count: usize, name: &'static str) -> Fallible<&'a [T]> {
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
    name: &'static str,
) -> Fallible<&'a [u8]> {
    // SAFETY: forwarded from this function's contract.
    unsafe { slice_arg(ptr.cast::<u8>(), len, name) }
}

/// Reads an array of `count` required strings. `ptr` may be NULL only when `count` is 0. An
/// entry that is NULL or not UTF-8 is refused naming the array (the error's message gives the
/// position).
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `count` pointers, each NULL or a NUL-terminated
/// string, all unchanged during `'a`.
pub(crate) unsafe fn str_array_arg<'a>(
    ptr: *const *const c_char,
    count: usize,
    name: &'static str,
) -> Fallible<Vec<&'a str>> {
    // SAFETY: forwarded from this function's contract.
    let items = unsafe { slice_arg(ptr, count, name) }?;
    items
        .iter()
        .enumerate()
        // SAFETY: each entry is NULL or a NUL-terminated string, per the contract.
        .map(|(i, p)| unsafe { str_arg(*p, name) }.map_err(|e| at(e, i)))
        .collect()
}

/// Borrows an array of `count` required handles, at most `limit` of them: `ptr` may be NULL only
/// when `count` is 0, and an entry that is NULL is refused naming the array and its position.
/// Entries past `limit` are not read (the caller refuses such a count by its own rule).
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `count` pointers, each NULL or a live handle of
/// type `T`, none freed during `'a`.
pub(crate) unsafe fn handles_arg<'a, T>(
    ptr: *const *const T,
    count: usize,
    limit: usize,
    name: &'static str,
) -> Fallible<Vec<&'a T>> {
    // SAFETY: forwarded from this function's contract.
    let items = unsafe { slice_arg(ptr, count, name) }?;
    items
        .iter()
        .take(limit)
        .enumerate()
        // SAFETY: each entry is NULL or a live handle, per the contract.
        .map(|(i, p)| unsafe { handle(*p, name) }.map_err(|e| at(e, i)))
        .collect()
}

/// Reads an array of `count` pairs (name and value both required). `ptr` may be NULL only
/// when `count` is 0.
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `count` `yx_pair`s whose strings are NULL or
/// NUL-terminated, all unchanged during `'a`.
pub(crate) unsafe fn pairs_arg<'a>(
    ptr: *const yx_pair,
    count: usize,
    name: &'static str,
) -> Fallible<Vec<(&'a str, &'a str)>> {
    // SAFETY: forwarded from this function's contract.
    let items = unsafe { slice_arg(ptr, count, name) }?;
    items
        .iter()
        .enumerate()
        .map(|(i, h)| {
            // SAFETY: the strings are NULL or NUL-terminated, per the contract.
            let read = |p| unsafe { str_arg(p, name) }.map_err(|e| at(e, i));
            Ok((read(h.name)?, read(h.value)?))
        })
        .collect()
}

/// Says which entry of an array argument was refused: in the message, and as the error JSON's
/// `index`.
fn at(mut error: Box<yx_error>, index: usize) -> Box<yx_error> {
    let message = format!("{} (entry {index})", error.message.to_string_lossy());
    error.message = c_string(message);
    error.index = Some(index);
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::yx_result;
    use std::ptr;

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
            assert_eq!((e.field, e.index), (Some("callees"), Some(1)));
            let pairs = [yx_pair {
                name: c"a".as_ptr(),
                value: ptr::null(),
            }];
            let in_pair = pairs_arg(pairs.as_ptr(), 1, "params").unwrap_err();
            assert_eq!(
                in_pair.message.to_str().unwrap(),
                "argument params is NULL (entry 0)"
            );
            assert_eq!(
                e.message.to_str().unwrap(),
                "argument callees is NULL (entry 1)"
            );
        }
    }
}
