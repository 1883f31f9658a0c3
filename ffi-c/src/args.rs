//! Pointer arguments, out-parameters and handles: every raw pointer the C side hands in goes
//! through one of these few functions, which check it for NULL first.
//!
//! Handles are `Box`es turned into raw pointers: `_new` functions leak one to the caller with
//! [`into_handle`], `_free` functions take it back with [`free_handle`].

use std::ptr::NonNull;

use crate::error::{Fallible, yx_error};

/// An out-parameter checked for NULL, written at most once and only on success.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Checks a required out-parameter.
    ///
    /// # Safety
    /// `ptr` must be NULL or valid for a write of `T` until [`Out::write`] is called.
    pub(crate) unsafe fn new(ptr: *mut T, name: &str) -> Fallible<Self> {
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

/// Moves a value to the heap and hands the pointer to the caller, who owns it until the
/// matching `_free`.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Borrows a required handle.
///
/// # Safety
/// `ptr` must be NULL or a live handle of type `T` from this library, not freed during `'a`.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> Fallible<&'a T> {
    // SAFETY: forwarded from this function's contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| yx_error::null_argument(name))
}

/// Borrows a handle for an accessor that answers NULL/0 to a NULL handle.
///
/// # Safety
/// As [`handle`].
pub(crate) unsafe fn peek<'a, T>(ptr: *const T) -> Option<&'a T> {
    // SAFETY: forwarded from this function's contract.
    unsafe { ptr.as_ref() }
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
    crate::panic::guard_value(fallback, || unsafe { peek(ptr) }.map_or(fallback, accessor))
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
    crate::panic::guard_value((), move || drop(boxed));
}
