//! Strings handed out: a `char *` written to a `char **` out-parameter belongs to the caller,
//! who frees it with `yx_string_free`; a `const char *` returned by an accessor is borrowed
//! from its handle (or static) and never freed. Strings taken in are read by [`crate::args`].

use std::ffi::{CString, c_char};

/// A C string from Rust text. NUL bytes (possible in a body received from the network) are
/// replaced by U+FFFD, so the result is never cut short.
pub(crate) fn c_string(text: impl AsRef<str>) -> CString {
    let text = text.as_ref();
    let bytes = if text.contains('\0') {
        text.replace('\0', "\u{FFFD}").into_bytes()
    } else {
        text.as_bytes().to_vec()
    };
    // No NUL is left, so this cannot fail; an empty string would be the harmless fallback.
    CString::new(bytes).unwrap_or_default()
}

/// Frees a string the library wrote to a `char **` out-parameter. `NULL` is a no-op. Never pass
/// a string that did not come from this library, nor a borrowed `const char *`.
///
/// Thread-safe for distinct strings.
///
/// # Safety
/// `s` must be NULL or a string from this library, not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: forwarded from this function's contract: `s` came from `CString::into_raw`.
        // Freeing a byte buffer cannot panic.
        drop(unsafe { CString::from_raw(s) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_bytes_are_replaced() {
        assert_eq!(c_string("a\0b").to_str().unwrap(), "a\u{FFFD}b");
        // SAFETY: NULL is allowed.
        unsafe { yx_string_free(std::ptr::null_mut()) };
    }
}
