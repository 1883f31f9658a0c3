//! Call-end callbacks: verifying the signature over the raw body bytes, and reading the event.

use std::ffi::{c_char, c_void};
use std::ptr;

use yunxin_ecp::callback::{MAX_CREDENTIALS, parse_callback, sign_callback};
use yunxin_ecp::refusal::{self, Refusal};
use yunxin_ecp::settings::{json_object, json_u64};
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::views::{EventView, RecordView};
use yunxin_ecp::{CallbackEvent, CallbackVerifier, Rule, TimeCheck, ValidationError, Verified};

use crate::args::{self, Out, bytes_arg, handles_arg, opt_str_arg, pairs_arg, str_arg, yx_pair};
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

/// Verifies call-end callbacks for one app, or for 1 to 8 credentials at once (a secret
/// rotation, several apps). Create with `yx_callback_verifier_new()` or
/// `yx_callback_verifier_new_multi()`, free with `yx_callback_verifier_free()`.
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

/// A verifier that accepts a callback signed with any of `count` credentials (1 to 8): during an
/// AppSecret rotation the old and the new, or several apps served by one endpoint (each matched
/// by its AppKey). Every one is tried whatever the outcome, so the time taken tells nothing of
/// which came close; `yx_callback_verifier_verify_delivery()` says which matched. The
/// credentials are copied (they may be freed afterwards); `options_json` as for
/// `yx_callback_verifier_new()`.
///
/// A `count` of 0 or over 8 is `YX_VALIDATION` (field `credentials`, rule `count`); a NULL
/// entry is `YX_NULL_ARGUMENT` naming `credentials` and its index.
///
/// # Safety
/// `credentials` must be NULL or an array of `count` pointers, each NULL or a live handle;
/// `options_json` NULL or NUL-terminated; `verifier_out` and `err_out` NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_verifier_new_multi(
    credentials: *const *const yx_credentials,
    count: usize,
    options_json: *const c_char,
    verifier_out: *mut *mut yx_callback_verifier,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract. Entries past one over the most a
        // verifier holds are not read: the count alone refuses them.
        let (creds, options, out) = unsafe {
            (
                handles_arg(credentials, count, MAX_CREDENTIALS + 1, "credentials")?,
                opt_str_arg(options_json, "options_json")?,
                Out::new(verifier_out, "verifier_out")?,
            )
        };
        let check = time_check(options)?;
        let verifier = CallbackVerifier::with_credentials(creds.iter().map(|c| c.inner.clone()))
            .map_err(|mut e| {
                // The core counted what it was given; the caller gave `count`.
                if let Rule::Count { actual, .. } = &mut e.rule {
                    *actual = count;
                }
                e
            })?;
        out.handle(yx_callback_verifier {
            inner: verifier.with_time_check(check),
        });
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

/// What `yx_callback_verifier_verify_delivery()` says of a genuine callback: which credentials
/// signed it, and what identifies this delivery for a duplicate guard (a
/// `yx_delivery_guard`, or a store of the program's own: Redis, a table with a unique key).
/// A plain value: nothing to free.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct yx_delivery {
    /// The index, in the credentials the verifier was made with, of those that matched (0 for
    /// a verifier of `yx_callback_verifier_new()`).
    pub credential: u32,
    /// The delivery's `CurTime`, Unix epoch milliseconds.
    pub cur_time_ms: u64,
    /// When a repeat of it would be refused as stale anyway, Unix epoch milliseconds, so that a
    /// store may forget it then (`UINT64_MAX` for a verifier without a time check).
    pub expires_at_ms: u64,
    /// What a repeated delivery of the same signed callback carries again (a digest of its
    /// AppKey, `CheckSum`, `CurTime` and body MD5): 40 lowercase hex characters and a NUL.
    pub key: [c_char; 41],
}

impl yx_delivery {
    fn new(verified: &Verified) -> Fallible<Self> {
        let mut key = [0 as c_char; 41];
        for (slot, byte) in key.iter_mut().zip(verified.key.hex().bytes()) {
            *slot = byte as c_char;
        }
        Ok(yx_delivery {
            credential: u32::try_from(verified.credential)
                .map_err(|_| yx_error::new(yx_result::YX_OTHER, "credential index out of range"))?,
            cur_time_ms: verified.cur_time_ms,
            expires_at_ms: verified.expires_at_ms,
            key,
        })
    }
}

/// Verifies a callback as `yx_callback_verifier_verify()` does, and says which credentials
/// matched and what identifies the delivery (`*delivery_out`): the step before claiming it in a
/// duplicate guard. With `event_out` not NULL the body is then parsed into an event (free with
/// `yx_callback_event_free`), as `yx_callback_verifier_verify_and_parse()` does (a genuine body
/// that is not a callback is `YX_CALLBACK` with reason `"malformed"`); with `event_out` NULL it is
/// not parsed. Both are written only on success.
///
/// # Safety
/// As `yx_callback_verifier_verify()`, with `delivery_out` NULL or valid for a write and
/// `event_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_verifier_verify_delivery(
    verifier: *const yx_callback_verifier,
    body: *const c_void,
    body_len: usize,
    headers: *const yx_pair,
    header_count: usize,
    now_ms: u64,
    delivery_out: *mut yx_delivery,
    event_out: *mut *mut yx_callback_event,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (input, out, event_out) = unsafe {
            (
                callback_input(verifier, body, body_len, headers, header_count, now_ms)?,
                Out::new(delivery_out, "delivery_out")?,
                // NULL: verify only.
                Out::new(event_out, "event_out").ok(),
            )
        };
        let verified = input
            .verifier
            .verify_delivery(input.body, input.headers, input.now_ms)?;
        let delivery = yx_delivery::new(&verified)?;
        let event = match event_out {
            Some(event_out) => Some((event_out, parse_callback(input.body)?)),
            None => None,
        };
        out.write(delivery);
        if let Some((event_out, event)) = event {
            event_out.handle(yx_callback_event::new(event));
        }
        Ok(())
    })
}

/// The answer a callback endpoint gives, as every language's integrations give it (the core
/// decides): `*status_out` the HTTP status and `*body_out` the JSON body (free with
/// `yx_string_free`) for `reason`:
/// - a refusal's reason (the error JSON's `reason` of a `YX_CALLBACK`): 400 for `"malformed"`,
///   403 for a signature, key or time that does not hold (and any reason this version does
///   not know), `{"error":"callback refused","reason":"..."}`;
/// - `"too_large"`: 413, for a body over the endpoint's cap;
/// - the claims of a duplicate guard: `"in_progress"` 409 (another request is handling the
///   same delivery: the sender tries again later), `"duplicate"` 200 `{"result":"duplicate"}`
///   (handled before: acknowledged, not handled again);
/// - `"store_unavailable"`: 503, when the program's delivery store failed (the sender tries
///   again rather than the callback being dropped or handled twice).
///
/// The body never holds the request's body, a header or the expected signature.
///
/// # Safety
/// `reason` must be NULL or NUL-terminated; `status_out`, `body_out` and `err_out` NULL or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_callback_answer(
    reason: *const c_char,
    status_out: *mut u16,
    body_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (reason, status, body) = unsafe {
            (
                str_arg(reason, "reason")?,
                Out::new(status_out, "status_out")?,
                Out::new(body_out, "body_out")?,
            )
        };
        let (code, text) = if reason == yunxin_ecp::deliveries::Claim::Duplicate.code() {
            let (code, text) = refusal::DUPLICATE_ANSWER;
            (code, text.to_owned())
        } else {
            let refusal = Refusal::for_reason(reason);
            (refusal.status(), refusal.body())
        };
        status.write(code);
        body.string(text);
        Ok(())
    })
}

/// The most bytes of a callback body an endpoint reads unless told otherwise (1 MiB: a call-end
/// callback is a few KiB, and an endpoint anyone can reach must not hold whatever a client
/// sends). Every language's body readers default to it.
///
/// Thread-safe; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn yx_callback_default_max_body_bytes() -> u64 {
    refusal::DEFAULT_MAX_BODY_BYTES
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
