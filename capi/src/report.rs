//! Reading an error object: the five facts a C program acts on as accessors, everything else
//! (field, rule, index, the service's message and the code's meaning, HTTP status, reason,
//! endpoint, path, attempts, detail, raw body) in its JSON, the core's `ErrorView`, which the
//! command and the Python package print too.

use std::ffi::c_char;
use std::ptr;

use crate::args;
use crate::error::{yx_error, yx_result, yx_retry_advice};
use crate::json::to_json;

/// Frees an error object. `NULL` is a no-op.
///
/// # Safety
/// `err` must be NULL or an error from this library not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_free(err: *mut yx_error) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(err) }
}

/// The kind of error: the same `yx_result` the failing function returned; `YX_OK` when `err` is
/// NULL.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_kind(err: *const yx_error) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, yx_result::YX_OK, |e| e.kind) }
}

/// A one-line English message naming the field and the rule, the code and its meaning, or the
/// reason; never a secret. Borrowed from the error object; NULL when `err` is NULL.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_message(err: *const yx_error) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, ptr::null(), |e| e.message.as_ptr()) }
}

/// The service's result code of a `YX_API` error (e.g. 414, 416, 503); -1 for any other error
/// and for NULL.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_api_code(err: *const yx_error) -> i64 {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, -1, |e| e.view().code.unwrap_or(-1)) }
}

/// Whether, and how, the failed request may be sent again: for `YX_API`, `YX_PROTOCOL` and
/// `YX_TRANSPORT` errors the advice for that endpoint and outcome; `YX_RETRY_NEVER` for every
/// other error and for NULL.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_retry_advice(err: *const yx_error) -> yx_retry_advice {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, yx_retry_advice::YX_RETRY_NEVER, |e| e.retry_advice()) }
}

/// 1 if the request may have reached the service (it was sent, or the failure came too late to
/// tell), else 0. A start that may have been sent may have placed a billable call.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_maybe_sent(err: *const yx_error) -> i32 {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, 0, |e| i32::from(e.view().maybe_sent)) }
}

/// Writes the whole error as one JSON object to `*json_out` (free with `yx_string_free`):
/// `kind` (`"validation"`, `"api"`, `"protocol"`, `"callback"`, `"auth"`, `"transport"`,
/// `"entropy"`, or this binding's own `"null_argument"`, `"invalid_utf8"`,
/// `"invalid_argument"`, `"io"`, `"panic"`, `"other"`), `message`, and `field`, `rule`,
/// `index`, `code`, `api_message`, `meaning`, `http_status`, `reason`, `retry`, `maybe_sent`,
/// `endpoint`, `path`, `attempts`, `detail`, `raw_body`, each `null` where it does not apply.
///
/// # Safety
/// `err` must be NULL or a live error object; `json_out` and `err_out` NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_to_json(
    err: *const yx_error,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe { crate::json::write_json(err, "err", json_out, err_out, |e| to_json(&e.view())) }
}
