//! Call-end callbacks: verifying the signature over the raw body bytes, and reading the event.

use std::ffi::{CString, c_char, c_void};
use std::ptr;

use yunxin_ecp::callback::{CALL_END_EVENT, DEFAULT_TOLERANCE_MS, parse_callback};
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::{CallbackEvent, CallbackVerifier, TimeCheck};

use crate::args::{self, Out, into_handle};
use crate::error::{Fallible, yx_error, yx_result};
use crate::panic::{ErrOut, guard};
use crate::responses::yx_call_record;
use crate::signing::yx_credentials;
use crate::strings::{bytes_arg, c_string, headers_arg, opt_ptr, out_string};

/// One HTTP header: a name and a value, both NUL-terminated UTF-8 owned by the caller. Names
/// are matched case-insensitively.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct yx_header {
    /// The header's name, e.g. `"CheckSum"`.
    pub name: *const c_char,
    /// The header's value.
    pub value: *const c_char,
}

/// What a callback carried. Functions return it as an `int32_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum yx_event_kind {
    /// `eventType` 10: a call or conference ended; `yx_callback_event_record()` gives the record.
    YX_EVENT_CALL_END = 1,
    /// Any other event (IM events can reach the same URL), passed through untouched:
    /// `yx_callback_event_raw()` gives the body.
    YX_EVENT_OTHER = 2,
}

/// Verifies call-end callbacks for one app. Create with `yx_callback_verifier_new()`, free
/// with `yx_callback_verifier_free()`.
///
/// Immutable: one verifier may serve any number of threads at once (one per web worker is
/// not needed).
pub struct yx_callback_verifier {
    inner: CallbackVerifier,
}

/// A verifier for the app of `credentials` (copied: the credentials may be freed afterwards)
/// that refuses callbacks whose `CurTime` is more than `tolerance_ms` milliseconds away from
/// the clock, in either direction. 300000 (five minutes) is the usual tolerance; 0 accepts only
/// the very same millisecond: it never disables the check.
///
/// # Safety
/// `credentials` must be NULL or a live handle; `verifier_out` and `err_out` NULL or valid for
/// a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_verifier_new(
    credentials: *const yx_credentials,
    tolerance_ms: u64,
    verifier_out: *mut *mut yx_callback_verifier,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        new_verifier(
            credentials,
            TimeCheck::ToleranceMs(tolerance_ms),
            verifier_out,
            err_out,
        )
    }
}

/// A verifier that does not compare `CurTime` with the clock at all, so a replayed callback
/// passes. Only for re-verifying callbacks stored earlier; a web handler uses
/// `yx_callback_verifier_new()`.
///
/// # Safety
/// As `yx_callback_verifier_new()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_verifier_new_skip_time_check(
    credentials: *const yx_credentials,
    verifier_out: *mut *mut yx_callback_verifier,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe { new_verifier(credentials, TimeCheck::SkipInsecure, verifier_out, err_out) }
}

unsafe fn new_verifier(
    credentials: *const yx_credentials,
    check: TimeCheck,
    verifier_out: *mut *mut yx_callback_verifier,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: the caller's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from the caller's contract.
        let (creds, out) = unsafe {
            (
                args::handle(credentials, "credentials")?,
                Out::new(verifier_out, "verifier_out")?,
            )
        };
        let inner = CallbackVerifier::new(creds.inner.clone()).with_time_check(check);
        out.write(into_handle(yx_callback_verifier { inner }));
        Ok(())
    })
}

/// Frees a verifier and wipes its copy of the secret. `NULL` is a no-op.
///
/// # Safety
/// `verifier` must be NULL or a live handle, not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_verifier_free(verifier: *mut yx_callback_verifier) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(verifier) }
}

/// The default callback tolerance, in milliseconds (five minutes).
#[unsafe(no_mangle)]
pub extern "C" fn yx_default_callback_tolerance_ms() -> u64 {
    DEFAULT_TOLERANCE_MS
}

struct CallbackInput<'a> {
    verifier: &'a CallbackVerifier,
    body: &'a [u8],
    headers: Vec<(&'a str, &'a str)>,
}

unsafe fn callback_input<'a>(
    verifier: *const yx_callback_verifier,
    body: *const c_void,
    body_len: usize,
    headers: *const yx_header,
    header_count: usize,
) -> Fallible<CallbackInput<'a>> {
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        Ok(CallbackInput {
            verifier: &args::handle(verifier, "verifier")?.inner,
            body: bytes_arg(body, body_len, "body")?,
            headers: headers_arg(headers, header_count, "headers")?,
        })
    }
}

/// Verifies a callback at `now_ms` (Unix epoch milliseconds): `body` is the raw request body
/// exactly as received (never JSON re-serialized from it), `headers` the request's headers
/// (at least `MD5`, `CheckSum` and `CurTime`; `AppKey` is checked when present; other headers
/// are ignored). The `MD5` must be the lowercase hex MD5 of the body and the `CheckSum` the
/// lowercase hex SHA1(AppSecret + MD5 + CurTime), both compared in constant time.
///
/// `YX_OK` when the callback is genuine; `YX_CALLBACK` with `yx_error_reason()` otherwise.
///
/// # Safety
/// `verifier` must be NULL or a live handle; `body` NULL or valid for reads of `body_len`
/// bytes; `headers` NULL or an array of `header_count` headers; `err_out` NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_verifier_verify(
    verifier: *const yx_callback_verifier,
    body: *const c_void,
    body_len: usize,
    headers: *const yx_header,
    header_count: usize,
    now_ms: u64,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let input = unsafe { callback_input(verifier, body, body_len, headers, header_count)? };
        input.verifier.verify(input.body, input.headers, now_ms)?;
        Ok(())
    })
}

/// `yx_callback_verifier_verify()` against the system clock: what a web handler calls.
///
/// # Safety
/// As `yx_callback_verifier_verify()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_verifier_verify_now(
    verifier: *const yx_callback_verifier,
    body: *const c_void,
    body_len: usize,
    headers: *const yx_header,
    header_count: usize,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        yx_callback_verifier_verify(
            verifier,
            body,
            body_len,
            headers,
            header_count,
            unix_millis_now(),
            err_out,
        )
    }
}

/// Verifies (as `yx_callback_verifier_verify()`), then parses the body into an event written
/// to `*event_out` (free with `yx_callback_event_free`). A genuine body that is not a
/// callback is `YX_CALLBACK` with reason `"malformed"`.
///
/// # Safety
/// As `yx_callback_verifier_verify()`, with `event_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_verifier_verify_and_parse(
    verifier: *const yx_callback_verifier,
    body: *const c_void,
    body_len: usize,
    headers: *const yx_header,
    header_count: usize,
    now_ms: u64,
    event_out: *mut *mut yx_callback_event,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (input, out) = unsafe {
            (
                callback_input(verifier, body, body_len, headers, header_count)?,
                Out::new(event_out, "event_out")?,
            )
        };
        let event = input
            .verifier
            .verify_and_parse(input.body, input.headers, now_ms)?;
        out.write(into_handle(yx_callback_event::new(event)));
        Ok(())
    })
}

/// `yx_callback_verifier_verify_and_parse()` against the system clock: the usual entry point
/// of a web handler.
///
/// # Safety
/// As `yx_callback_verifier_verify_and_parse()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_verifier_verify_and_parse_now(
    verifier: *const yx_callback_verifier,
    body: *const c_void,
    body_len: usize,
    headers: *const yx_header,
    header_count: usize,
    event_out: *mut *mut yx_callback_event,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        yx_callback_verifier_verify_and_parse(
            verifier,
            body,
            body_len,
            headers,
            header_count,
            unix_millis_now(),
            event_out,
            err_out,
        )
    }
}

/// Parses a callback body **without verifying it**: for bodies verified already, and for
/// tests. Call-end events (`eventType` 10, as a string or a number) have their `callback`
/// string decoded into a record; other events pass through untouched. Errors: `YX_CALLBACK`
/// with reason `"malformed"`.
///
/// # Safety
/// `body` must be NULL or valid for reads of `body_len` bytes; `event_out` and `err_out` NULL
/// or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_parse(
    body: *const c_void,
    body_len: usize,
    event_out: *mut *mut yx_callback_event,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (body, out) = unsafe {
            (
                bytes_arg(body, body_len, "body")?,
                Out::new(event_out, "event_out")?,
            )
        };
        let event = parse_callback(body)?;
        out.write(into_handle(yx_callback_event::new(event)));
        Ok(())
    })
}

/// A parsed callback. Free with `yx_callback_event_free()`.
///
/// Immutable: may be read from any number of threads at once.
pub struct yx_callback_event {
    inner: CallbackEvent,
    event_type: Option<CString>,
    raw: Option<CString>,
}

impl yx_callback_event {
    fn new(inner: CallbackEvent) -> Self {
        let (event_type, raw) = match &inner {
            CallbackEvent::CallEnd(_) => (Some(c_string(CALL_END_EVENT)), None),
            CallbackEvent::Other { event_type, raw } => (
                event_type.as_deref().map(c_string),
                Some(c_string(raw.as_str())),
            ),
        };
        yx_callback_event {
            inner,
            event_type,
            raw,
        }
    }
}

/// Frees an event. `NULL` is a no-op.
///
/// # Safety
/// `event` must be NULL or a live handle, not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_event_free(event: *mut yx_callback_event) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(event) }
}

/// What the event is (a `yx_event_kind` value); 0 when `event` is NULL.
///
/// # Safety
/// `event` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_event_kind(event: *const yx_callback_event) -> i32 {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        args::read(event, 0, |e| match e.inner {
            CallbackEvent::CallEnd(_) => yx_event_kind::YX_EVENT_CALL_END as i32,
            CallbackEvent::Other { .. } => yx_event_kind::YX_EVENT_OTHER as i32,
        })
    }
}

/// The `eventType` as text (`"10"` for a call end). Borrowed from the event; NULL when the
/// body had none or `event` is NULL.
///
/// # Safety
/// `event` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_event_type(event: *const yx_callback_event) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(event, ptr::null(), |e| opt_ptr(&e.event_type)) }
}

/// For `YX_EVENT_OTHER`: the body exactly as received (invalid UTF-8 and NUL bytes replaced by
/// U+FFFD). Borrowed from the event; NULL for a call end or when `event` is NULL.
///
/// # Safety
/// `event` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_event_raw(event: *const yx_callback_event) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(event, ptr::null(), |e| opt_ptr(&e.raw)) }
}

/// For `YX_EVENT_CALL_END`: writes a copy of the call record to `*record_out` (free it with
/// `yx_call_record_free`, independently of the event). `YX_INVALID_ARGUMENT` for another
/// kind of event.
///
/// # Safety
/// `event` must be NULL or a live handle; `record_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_event_record(
    event: *const yx_callback_event,
    record_out: *mut *mut yx_call_record,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (e, out) = unsafe {
            (
                args::handle(event, "event")?,
                Out::new(record_out, "record_out")?,
            )
        };
        let CallbackEvent::CallEnd(record) = &e.inner else {
            return Err(yx_error::invalid_argument(
                "event",
                "is not a call-end event: it has no record",
            ));
        };
        out.write(into_handle(yx_call_record::new(record.as_ref().clone())));
        Ok(())
    })
}

/// Writes the event as JSON to `*json_out` (free with `yx_string_free`): for a call end
/// `{"type":"call_end", <the fields of yx_call_record_to_json()>}`, otherwise
/// `{"type":"other","event_type":...,"raw":...}`.
///
/// # Safety
/// `event` must be NULL or a live handle; `json_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_event_to_json(
    event: *const yx_callback_event,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (e, out) = unsafe {
            (
                args::handle(event, "event")?,
                Out::new(json_out, "json_out")?,
            )
        };
        let view = yunxin_ecp::views::EventView::new(&e.inner);
        out_string(out, crate::json::to_json(&view)?);
        Ok(())
    })
}
