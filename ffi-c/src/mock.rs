//! The local mock of the ECP API, started in-process on an ephemeral port of 127.0.0.1, for
//! integration tests and demos that must not cost a paid account.

use std::ffi::{CString, c_char};
use std::ptr;
use std::time::Duration;

use yunxin_ecp_mock::{
    Fault, MockConfig, MockServer, Outcome, ReceivedCallback, SAMPLE_APP_KEY, SAMPLE_APP_SECRET,
};

use crate::args::{self, Out, into_handle};
use crate::callbacks::yx_header;
use crate::error::{Fallible, yx_error, yx_result};
use crate::panic::{ErrOut, guard};
use crate::strings::{c_string, opt_str_arg, out_string, str_arg};

const SAMPLE_KEY: &std::ffi::CStr = c"fd460d34e786e7754e505bc4fab0f027";
const SAMPLE_SECRET: &std::ffi::CStr = c"xxxxxxxx";

/// A running mock server. Start with `yx_mock_server_start()`; `yx_mock_server_free()` stops
/// it, frees the port and joins every thread it started.
///
/// Thread-safe: any number of threads may use one server at once (except to free it).
pub struct yx_mock_server {
    inner: MockServer,
    base_url: CString,
    inbox_url: CString,
}

/// A POST the mock's inbox received (`yx_mock_server_inbox_url()` as a callback URL): the body
/// bytes and headers exactly as received, ready for `yx_callback_verifier_verify()`. Free with
/// `yx_received_callback_free()`.
///
/// Immutable: may be read from any number of threads at once.
pub struct yx_received_callback {
    body: Vec<u8>,
    // The strings the header array points into; kept alive (and never moved: a CString's
    // buffer is on the heap) for as long as `headers`.
    _strings: Vec<(CString, CString)>,
    headers: Vec<yx_header>,
    received_at_ms: u64,
}

impl yx_received_callback {
    fn new(received: ReceivedCallback) -> Self {
        let strings: Vec<(CString, CString)> = received
            .headers
            .iter()
            .map(|(n, v)| (c_string(n.as_str()), c_string(v.as_str())))
            .collect();
        let headers = strings
            .iter()
            .map(|(n, v)| yx_header {
                name: n.as_ptr(),
                value: v.as_ptr(),
            })
            .collect();
        yx_received_callback {
            body: received.body,
            _strings: strings,
            headers,
            received_at_ms: received.received_at_ms,
        }
    }
}

/// The app key of the official samples, which the mock accepts by default (a static string).
#[unsafe(no_mangle)]
pub extern "C" fn yx_mock_sample_app_key() -> *const c_char {
    debug_assert_eq!(SAMPLE_KEY.to_str(), Ok(SAMPLE_APP_KEY));
    SAMPLE_KEY.as_ptr()
}

/// The app secret of the official samples, which the mock accepts by default (a static
/// string: it is a published test value, not a secret).
#[unsafe(no_mangle)]
pub extern "C" fn yx_mock_sample_app_secret() -> *const c_char {
    debug_assert_eq!(SAMPLE_SECRET.to_str(), Ok(SAMPLE_APP_SECRET));
    SAMPLE_SECRET.as_ptr()
}

/// Starts a mock server with the default settings on an ephemeral port of 127.0.0.1: the
/// sample app (`yx_mock_sample_app_key()`, `yx_mock_sample_app_secret()`), the accids
/// `liuxuanlin`, `abcd`, `call817` and `demo`, a five-minute signature window, calls that end
/// 20 ms after they start, answered for 42 s, and no callback URL. `YX_IO` when no port could
/// be bound.
///
/// # Safety
/// `server_out` and `err_out` must be NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_start(
    server_out: *mut *mut yx_mock_server,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let out = unsafe { Out::new(server_out, "server_out")? };
        let inner = MockServer::start(MockConfig::default()).map_err(|e| {
            yx_error::new(
                yx_result::YX_IO,
                format!("the mock server could not start: {e}"),
            )
        })?;
        let base_url = c_string(inner.base_url());
        let inbox_url = c_string(inner.inbox_url());
        out.write(into_handle(yx_mock_server {
            inner,
            base_url,
            inbox_url,
        }));
        Ok(())
    })
}

/// Stops the server (frees its port, joins its threads) and frees the handle. `NULL` is a
/// no-op.
///
/// # Safety
/// `server` must be NULL or a live handle that no other thread is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_free(server: *mut yx_mock_server) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(server) }
}

/// The base URL to give a client, e.g. `http://127.0.0.1:41234`. Borrowed from the handle;
/// NULL when `server` is NULL.
///
/// # Safety
/// `server` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_base_url(server: *const yx_mock_server) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(server, ptr::null(), |s| s.base_url.as_ptr()) }
}

/// The URL of the server's own inbox: set it as the callback URL and the server POSTs its
/// signed call-end callbacks to itself, where `yx_mock_server_wait_for_inbox()` finds them.
/// Borrowed from the handle; NULL when `server` is NULL.
///
/// # Safety
/// `server` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_inbox_url(server: *const yx_mock_server) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(server, ptr::null(), |s| s.inbox_url.as_ptr()) }
}

/// Runs `action` on a live server.
///
/// # Safety
/// `server` must be NULL or a live handle; `err_out` NULL or valid for a write.
unsafe fn with_server(
    server: *const yx_mock_server,
    err_out: *mut *mut yx_error,
    action: impl FnOnce(&MockServer) -> Fallible<()>,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: the caller's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from the caller's contract.
        let s = unsafe { args::handle(server, "server")? };
        action(&s.inner)
    })
}

/// Decides how calls to `number` end from now on (for a conference, the first callee's number
/// decides; `"default"` sets the outcome of every other number): answered, with
/// `duration_sec` seconds of conversation (capped by the request's `maxDur`).
///
/// # Safety
/// `server` must be NULL or a live handle; `number` NULL or NUL-terminated; `err_out` NULL or
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_set_outcome_answered(
    server: *const yx_mock_server,
    number: *const c_char,
    duration_sec: u64,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract; the closure runs inside this block.
    unsafe {
        with_server(server, err_out, |s| {
            set_outcome(
                s,
                str_arg(number, "number")?,
                Outcome::answered(duration_sec),
            );
            Ok(())
        })
    }
}

/// Decides how calls to `number` end from now on (`"default"`: every other number): not
/// answered, `durationSec` 0, both legs ending with `hang_cause` (e.g. `"NO_USER_RESPONSE"`,
/// `"USER_BUSY"`).
///
/// # Safety
/// `server` must be NULL or a live handle; `number` and `hang_cause` NULL or NUL-terminated;
/// `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_set_outcome_no_answer(
    server: *const yx_mock_server,
    number: *const c_char,
    hang_cause: *const c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract; the closure runs inside this block.
    unsafe {
        with_server(server, err_out, |s| {
            let number = str_arg(number, "number")?;
            let cause = str_arg(hang_cause, "hang_cause")?;
            set_outcome(s, number, Outcome::no_answer(cause));
            Ok(())
        })
    }
}

fn set_outcome(server: &MockServer, number: &str, outcome: Outcome) {
    if number == "default" {
        server.set_default_outcome(outcome);
    } else {
        server.set_outcome(number, outcome);
    }
}

/// Applies a fault to the next `times` requests to the ECP endpoints. `kind` is one of
/// `"delay"` (uses `ms`), `"reset_before_response"`, `"reset_mid_body"`, `"html_502"`,
/// `"empty_body"`, `"garbage_json"`, `"oversized"` (uses `bytes`), `"rate_limited"`,
/// `"server_error"`, `"busy_503"`, `"redirect"`; an unknown kind is `YX_INVALID_ARGUMENT`.
///
/// # Safety
/// `server` must be NULL or a live handle; `kind` NULL or NUL-terminated; `err_out` NULL or
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_inject_fault(
    server: *const yx_mock_server,
    kind: *const c_char,
    times: u32,
    ms: u64,
    bytes: usize,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract; the closure runs inside this block.
    unsafe {
        with_server(server, err_out, |s| {
            let kind = str_arg(kind, "kind")?;
            let fault = Fault::from_kind(kind, Some(ms), Some(bytes))
                .map_err(|why| yx_error::invalid_argument("kind", &format!("is wrong: {why}")))?;
            s.inject_fault(fault, times as usize);
            Ok(())
        })
    }
}

/// Drops every queued fault.
///
/// # Safety
/// `server` must be NULL or a live handle; `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_clear_faults(
    server: *const yx_mock_server,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_server(server, err_out, |s| {
            s.clear_faults();
            Ok(())
        })
    }
}

/// Sets where call-end callbacks are POSTed from now on; NULL stops them.
///
/// # Safety
/// `server` must be NULL or a live handle; `url` NULL or NUL-terminated; `err_out` NULL or
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_set_callback_url(
    server: *const yx_mock_server,
    url: *const c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract; the closure runs inside this block.
    unsafe {
        with_server(server, err_out, |s| {
            let url = opt_str_arg(url, "url")?;
            s.set_callback_url(url.map(str::to_owned));
            Ok(())
        })
    }
}

/// Turns the ECP service on (1) or off (0) for the app; off, every start is answered
/// `{"code":403,"msg":"no authorization"}`, as for an account without ECP or balance.
///
/// # Safety
/// `server` must be NULL or a live handle; `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_set_ecp_enabled(
    server: *const yx_mock_server,
    enabled: i32,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_server(server, err_out, |s| {
            s.set_ecp_enabled(enabled != 0);
            Ok(())
        })
    }
}

/// Adds `latency_ms` milliseconds to every ECP request (0 turns it off).
///
/// # Safety
/// `server` must be NULL or a live handle; `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_set_latency_ms(
    server: *const yx_mock_server,
    latency_ms: u64,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_server(server, err_out, |s| {
            s.set_latency(Duration::from_millis(latency_ms));
            Ok(())
        })
    }
}

/// Returns the server to the state it started in: settings, faults, records and counters.
///
/// # Safety
/// `server` must be NULL or a live handle; `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_reset(
    server: *const yx_mock_server,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_server(server, err_out, |s| {
            s.reset();
            Ok(())
        })
    }
}

/// How many start requests reached the service handler, whatever their answer (a start whose
/// connection was reset still counts: the call was placed). 0 when `server` is NULL.
///
/// # Safety
/// `server` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_start_count(server: *const yx_mock_server) -> u64 {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(server, 0, |s| s.inner.start_count()) }
}

/// How many calls and conferences the mock placed, each of which gets a call-end callback
/// (`yx_mock_server_sessions_json()` lists them). 0 when `server` is NULL.
///
/// # Safety
/// `server` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_session_count(server: *const yx_mock_server) -> u64 {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(server, 0, |s| s.inner.stats().sessions as u64) }
}

/// What a `_json` accessor of the mock reports.
#[derive(Clone, Copy)]
enum Report {
    Stats,
    Requests,
    Sessions,
    Callbacks,
    Inbox,
}

fn report_json(server: &MockServer, report: Report) -> Fallible<String> {
    use crate::json::to_json;
    match report {
        Report::Stats => to_json(&server.stats()),
        Report::Requests => to_json(&server.requests()),
        Report::Sessions => to_json(&server.sessions()),
        Report::Callbacks => to_json(&server.callbacks()),
        Report::Inbox => to_json(&server.inbox()),
    }
}

/// # Safety
/// `server` must be NULL or a live handle; `json_out` and `err_out` NULL or valid for a write.
unsafe fn write_report(
    server: *const yx_mock_server,
    report: Report,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from the caller's contract; the closure runs inside this block.
    unsafe {
        with_server(server, err_out, |s| {
            let out = Out::new(json_out, "json_out")?;
            out_string(out, report_json(s, report)?);
            Ok(())
        })
    }
}

/// Writes the counters as JSON to `*json_out` (free with `yx_string_free`): `requests`,
/// `start_count`, `sessions`, `callbacks`, `connections`, `faults_pending`.
///
/// # Safety
/// `server` must be NULL or a live handle; `json_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_stats_json(
    server: *const yx_mock_server,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe { write_report(server, Report::Stats, json_out, err_out) }
}

/// Writes every request the server recorded as a JSON array to `*json_out` (free with
/// `yx_string_free`): `seq`, `method`, `path`, `query`, `endpoint`, `headers`, `body`, `fault`,
/// `http_status`, `code`, `refusal` (why a signature was refused), `session`.
///
/// # Safety
/// `server` must be NULL or a live handle; `json_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_requests_json(
    server: *const yx_mock_server,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe { write_report(server, Report::Requests, json_out, err_out) }
}

/// Writes the record of every placed call and conference as a JSON array to `*json_out`
/// (free with `yx_string_free`): the objects `queryBySession` answers.
///
/// # Safety
/// `server` must be NULL or a live handle; `json_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_sessions_json(
    server: *const yx_mock_server,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe { write_report(server, Report::Sessions, json_out, err_out) }
}

/// Writes every callback POST the server made as a JSON array to `*json_out` (free with
/// `yx_string_free`): `session`, `url`, `attempt`, `body`, `headers`, `status`, `error`.
///
/// # Safety
/// `server` must be NULL or a live handle; `json_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_callbacks_json(
    server: *const yx_mock_server,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe { write_report(server, Report::Callbacks, json_out, err_out) }
}

/// Writes every POST the inbox received as a JSON array to `*json_out` (free with
/// `yx_string_free`): `headers`, `body` (as text), `received_at_ms`. To verify one, use
/// `yx_mock_server_inbox_get()`, which keeps the body's exact bytes.
///
/// # Safety
/// `server` must be NULL or a live handle; `json_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_inbox_json(
    server: *const yx_mock_server,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe { write_report(server, Report::Inbox, json_out, err_out) }
}

/// Waits until the inbox holds at least `count` POSTs or `timeout_ms` passed, and writes how
/// many it holds to `*received_out` (fewer than `count` after a timeout; not an error). Read
/// them with `yx_mock_server_inbox_get()`.
///
/// # Safety
/// `server` must be NULL or a live handle; `received_out` and `err_out` NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_wait_for_inbox(
    server: *const yx_mock_server,
    count: usize,
    timeout_ms: u64,
    received_out: *mut usize,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract; the closure runs inside this block.
    unsafe {
        with_server(server, err_out, |s| {
            let out = Out::new(received_out, "received_out")?;
            let received = s.wait_for_inbox(count, Duration::from_millis(timeout_ms));
            out.write(received.len());
            Ok(())
        })
    }
}

/// Writes POST number `index` (from 0, in order of arrival) of the inbox to `*received_out`
/// (free with `yx_received_callback_free`). `YX_INVALID_ARGUMENT` when there is no such POST.
///
/// # Safety
/// `server` must be NULL or a live handle; `received_out` and `err_out` NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_inbox_get(
    server: *const yx_mock_server,
    index: usize,
    received_out: *mut *mut yx_received_callback,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract; the closure runs inside this block.
    unsafe {
        with_server(server, err_out, |s| {
            let out = Out::new(received_out, "received_out")?;
            let received =
                s.inbox().into_iter().nth(index).ok_or_else(|| {
                    yx_error::invalid_argument("index", "is past the inbox's end")
                })?;
            out.write(into_handle(yx_received_callback::new(received)));
            Ok(())
        })
    }
}

/// Frees a received callback. `NULL` is a no-op.
///
/// # Safety
/// `received` must be NULL or a live handle, not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_received_callback_free(received: *mut yx_received_callback) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(received) }
}

/// The body bytes as received (not NUL-terminated: use `yx_received_callback_body_len()`;
/// bytes, not text, so that no binding mistakes them for a C string). Borrowed from the handle;
/// NULL when `received` is NULL.
///
/// # Safety
/// `received` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_received_callback_body(
    received: *const yx_received_callback,
) -> *const u8 {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(received, ptr::null(), |r| r.body.as_ptr()) }
}

/// The length of the body in bytes; 0 when `received` is NULL.
///
/// # Safety
/// `received` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_received_callback_body_len(
    received: *const yx_received_callback,
) -> usize {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(received, 0, |r| r.body.len()) }
}

/// The headers as received, an array of `yx_received_callback_header_count()` entries that
/// `yx_callback_verifier_verify()` takes as it is. Borrowed from the handle; NULL when
/// `received` is NULL.
///
/// # Safety
/// `received` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_received_callback_headers(
    received: *const yx_received_callback,
) -> *const yx_header {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(received, ptr::null(), |r| r.headers.as_ptr()) }
}

/// How many headers `yx_received_callback_headers()` holds; 0 when `received` is NULL.
///
/// # Safety
/// `received` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_received_callback_header_count(
    received: *const yx_received_callback,
) -> usize {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(received, 0, |r| r.headers.len()) }
}

/// When the POST arrived, Unix epoch milliseconds; 0 when `received` is NULL.
///
/// # Safety
/// `received` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_received_callback_received_at_ms(
    received: *const yx_received_callback,
) -> u64 {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(received, 0, |r| r.received_at_ms) }
}
