//! Call-end callbacks: verifying the signature over the raw body bytes, and reading the event.

use std::ffi::{c_char, c_void};
use std::ptr;

use yunxin_ecp::callback::{parse_callback, sign_callback};
use yunxin_ecp::settings::{json_object, json_u64};
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::views::{EventView, RecordView};
use yunxin_ecp::{CallbackEvent, CallbackVerifier, Rule, TimeCheck, ValidationError};

use crate::args::{self, Out, bytes_arg, opt_str_arg, pairs_arg, yx_pair};
use crate::error::{Fallible, yx_error, yx_result};
use crate::json::to_json;
use crate::panic::fallible;
use crate::responses::yx_call_record;
use crate::signing::{yx_credentials, yx_headers};

/// What a callback carried. Functions return it as an `int32_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum yx_event_kind {
    /// `eventType` 10: a call or conference ended; `yx_callback_event_record()` lends the record.
    YX_EVENT_CALL_END = 1,
    /// Any other event (IM events can reach the same URL), passed through untouched:
    /// `yx_callback_event_to_json()` gives its type and body.
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

/// The keys of a verifier's options.
const VERIFIER_OPTIONS: &[&str] = &["tolerance_ms", "check_time"];

/// The time check that options JSON asks for. Every option is checked, and a tolerance given
/// with `"check_time": false` is refused rather than ignored.
fn time_check(options: Option<&str>) -> Result<TimeCheck, ValidationError> {
    let (mut check_time, mut tolerance) = (true, None);
    for (key, value) in json_object(options.unwrap_or("{}"), "options", VERIFIER_OPTIONS)? {
        match key {
            "check_time" => {
                let allowed = "true, false";
                check_time = value
                    .as_bool()
                    .ok_or_else(|| ValidationError::new(key, Rule::OneOf { allowed }))?;
            }
            _ => tolerance = Some(json_u64(key, &value)?),
        }
    }
    match (check_time, tolerance) {
        (false, Some(_)) => {
            let with = "\"check_time\": false";
            Err(ValidationError::new(
                "tolerance_ms",
                Rule::Conflict { with },
            ))
        }
        (false, None) => Ok(TimeCheck::SkipInsecure),
        (true, Some(ms)) => TimeCheck::tolerance(ms),
        (true, None) => Ok(TimeCheck::default()),
    }
}

/// A verifier for the app of `credentials` (copied: the credentials may be freed afterwards).
///
/// `options_json` is NULL for the defaults, or a JSON object:
/// - `"tolerance_ms"`: how far a callback's `CurTime` may be from the clock, in either
///   direction (default 300000, five minutes). 0 accepts only the very same millisecond: it
///   never disables the check.
/// - `"check_time": false`: do not compare `CurTime` with the clock at all, so a replayed
///   callback passes. Only for re-verifying callbacks stored earlier, never in a web handler.
///
/// An unknown or repeated key (field `options`), a value of the wrong type, or a tolerance given
/// with `"check_time": false` is `YX_VALIDATION` naming it.
///
/// # Safety
/// `credentials` must be NULL or a live handle; `options_json` NULL or NUL-terminated;
/// `verifier_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_verifier_new(
    credentials: *const yx_credentials,
    options_json: *const c_char,
    verifier_out: *mut *mut yx_callback_verifier,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (creds, options, out) = unsafe {
            (
                args::handle(credentials, "credentials")?,
                opt_str_arg(options_json, "options_json")?,
                Out::new(verifier_out, "verifier_out")?,
            )
        };
        let check = time_check(options)?;
        let inner = CallbackVerifier::new(creds.inner.clone()).with_time_check(check);
        out.handle(yx_callback_verifier { inner });
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

struct CallbackInput<'a> {
    verifier: &'a CallbackVerifier,
    body: &'a [u8],
    headers: Vec<(&'a str, &'a str)>,
    now_ms: u64,
}

/// Reads the arguments every verification takes.
///
/// # Safety
/// As `yx_callback_verifier_verify()`'s contract.
unsafe fn callback_input<'a>(
    verifier: *const yx_callback_verifier,
    body: *const c_void,
    body_len: usize,
    headers: *const yx_pair,
    header_count: usize,
    now_ms: u64,
) -> Fallible<CallbackInput<'a>> {
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        Ok(CallbackInput {
            verifier: &args::handle(verifier, "verifier")?.inner,
            body: bytes_arg(body, body_len, "body")?,
            headers: pairs_arg(headers, header_count, "headers")?,
            now_ms: if now_ms == 0 {
                unix_millis_now()
            } else {
                yunxin_ecp::validate::epoch_millis("now_ms", now_ms)?
            },
        })
    }
}

/// Verifies a callback: `body` is the raw request body exactly as received (never JSON
/// re-serialized from it), `headers` the request's headers (at least `MD5`, `CheckSum` and
/// `CurTime`; `AppKey` is checked when present; other headers are ignored; a repeated one is
/// refused), `now_ms` 0 to read the clock (what a web handler passes) or Unix epoch
/// milliseconds. The `MD5` must be the lowercase hex MD5 of the body and the `CheckSum` the
/// lowercase hex SHA1(AppSecret + MD5 + CurTime), both compared in constant time.
///
/// `YX_OK` when the callback is genuine; `YX_CALLBACK` otherwise, the error JSON's `reason`
/// saying why (`"md5_mismatch"`, `"checksum_mismatch"`, `"stale"`, `"missing_header"`, ...).
///
/// # Safety
/// `verifier` must be NULL or a live handle; `body` NULL or valid for reads of `body_len`
/// bytes; `headers` NULL or an array of `header_count` pairs; `err_out` NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_verifier_verify(
    verifier: *const yx_callback_verifier,
    body: *const c_void,
    body_len: usize,
    headers: *const yx_pair,
    header_count: usize,
    now_ms: u64,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let input =
            unsafe { callback_input(verifier, body, body_len, headers, header_count, now_ms)? };
        input
            .verifier
            .verify(input.body, input.headers, input.now_ms)?;
        Ok(())
    })
}

/// Verifies (as `yx_callback_verifier_verify()`), then parses the body into an event written
/// to `*event_out` (free with `yx_callback_event_free`): the usual entry point of a web
/// handler. A genuine body that is not a callback is `YX_CALLBACK` with reason `"malformed"`.
///
/// # Safety
/// As `yx_callback_verifier_verify()`, with `event_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_verifier_verify_and_parse(
    verifier: *const yx_callback_verifier,
    body: *const c_void,
    body_len: usize,
    headers: *const yx_pair,
    header_count: usize,
    now_ms: u64,
    event_out: *mut *mut yx_callback_event,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (input, out) = unsafe {
            (
                callback_input(verifier, body, body_len, headers, header_count, now_ms)?,
                Out::new(event_out, "event_out")?,
            )
        };
        let event = input
            .verifier
            .verify_and_parse(input.body, input.headers, input.now_ms)?;
        out.handle(yx_callback_event::new(event));
        Ok(())
    })
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
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (body, out) = unsafe {
            (
                bytes_arg(body, body_len, "body")?,
                Out::new(event_out, "event_out")?,
            )
        };
        out.handle(yx_callback_event::new(parse_callback(body)?));
        Ok(())
    })
}

/// Signs a callback body the way the service signs its deliveries, for testing a receiver
/// (a program's own callback handler) without copying the algorithm: writes the headers to send
/// with the body to `*headers_out` (free with `yx_headers_free`), in this order:
/// `Content-Type` (`application/json`), `AppKey`, `CurTime` (milliseconds), `MD5` (lowercase hex
/// MD5 of the raw body bytes) and `CheckSum` (lowercase hex SHA1(AppSecret + MD5 + CurTime)).
/// POST the body's bytes exactly as given: the signature covers them, not their JSON meaning.
///
/// `body` may be NULL when `body_len` is 0. `cur_time_ms`: 0 for one reading of the clock, or
/// Unix epoch **milliseconds**; a value that can only be seconds is refused (`YX_VALIDATION`,
/// field `cur_time_ms`, rule `"seconds"`), since a receiver would refuse such a callback as
/// decades old.
///
/// # Safety
/// `credentials` must be NULL or a live handle; `body` NULL or valid for reads of `body_len`
/// bytes; `headers_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_sign(
    credentials: *const yx_credentials,
    body: *const c_void,
    body_len: usize,
    cur_time_ms: u64,
    headers_out: *mut *mut yx_headers,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (creds, body, out) = unsafe {
            (
                args::handle(credentials, "credentials")?,
                bytes_arg(body, body_len, "body")?,
                Out::new(headers_out, "headers_out")?,
            )
        };
        let cur_time_ms = if cur_time_ms == 0 {
            unix_millis_now()
        } else {
            yunxin_ecp::validate::epoch_millis("cur_time_ms", cur_time_ms)?
        };
        let signed = sign_callback(&creds.inner, body, cur_time_ms);
        out.handle(yx_headers::new(signed.pairs()));
        Ok(())
    })
}

/// A parsed callback: `yx_callback_event_kind()` says what it is, `yx_callback_event_record()`
/// lends a call end's record, `yx_callback_event_to_json()` gives all of it. Free with
/// `yx_callback_event_free()`.
///
/// Immutable: may be read from any number of threads at once.
pub struct yx_callback_event {
    inner: Event,
}

/// A call end keeps its record as a handle, so that it can be lent out.
enum Event {
    CallEnd(Box<yx_call_record>),
    Other(CallbackEvent),
}

impl yx_callback_event {
    fn new(event: CallbackEvent) -> Self {
        let inner = match event {
            CallbackEvent::CallEnd(record) => {
                Event::CallEnd(Box::new(yx_call_record::new(*record)))
            }
            other => Event::Other(other),
        };
        yx_callback_event { inner }
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
            Event::CallEnd(_) => yx_event_kind::YX_EVENT_CALL_END as i32,
            Event::Other(_) => yx_event_kind::YX_EVENT_OTHER as i32,
        })
    }
}

/// For `YX_EVENT_CALL_END`: the call record, borrowed from the event (read it with the
/// `yx_call_record_*` functions, never free it). NULL for another kind of event or when
/// `event` is NULL.
///
/// # Safety
/// `event` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_event_record(
    event: *const yx_callback_event,
) -> *const yx_call_record {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        args::read(event, ptr::null(), |e| match &e.inner {
            Event::CallEnd(record) => ptr::from_ref(record.as_ref()),
            Event::Other(_) => ptr::null(),
        })
    }
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
    // SAFETY: forwarded from this function's contract.
    unsafe {
        crate::json::write_json(event, "event", json_out, err_out, |e| match &e.inner {
            Event::CallEnd(record) => to_json(&EventView::CallEnd(RecordView::new(&record.inner))),
            Event::Other(event) => to_json(&EventView::new(event)),
        })
    }
}
