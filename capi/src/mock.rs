//! The local mock of the ECP API, started in-process on an ephemeral port of 127.0.0.1, for
//! integration tests and demos that must not cost a paid account. Only starting, stopping and
//! finding it are functions; everything else (outcomes, faults, what it saw, its inbox) goes
//! through its `/_mock/` HTTP control API, which every language can also reach directly.

use std::ffi::{CString, c_char};
use std::ptr;
use std::time::Duration;

use yunxin_ecp_mock::{MockConfig, MockServer, SAMPLE_APP_KEY, SAMPLE_APP_SECRET};

use crate::args::{self, Out, opt_str_arg, str_arg};
use crate::error::{Fallible, yx_error, yx_result};
use crate::panic::fallible;
use crate::strings::c_string;

const SAMPLE_KEY: &std::ffi::CStr = c"fd460d34e786e7754e505bc4fab0f027";
const SAMPLE_SECRET: &std::ffi::CStr = c"xxxxxxxx";

/// Longest a control request may take; the mock answers them at once.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest control answer read: the mock's logs and inbox are capped at 16 MiB of entries,
/// which their JSON (escapes and all) may exceed.
const CONTROL_ANSWER_LIMIT: u64 = 64 * 1024 * 1024;

/// A running mock server. Start with `yx_mock_server_start()`; `yx_mock_server_free()` stops
/// it, frees the port and joins every thread it started.
///
/// Thread-safe: any number of threads may use one server at once (except to free it).
pub struct yx_mock_server {
    inner: MockServer,
    base_url: CString,
    control: ureq::Agent,
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
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let out = unsafe { Out::new(server_out, "server_out")? };
        let inner = MockServer::start(MockConfig::default()).map_err(|e| {
            yx_error::new(
                yx_result::YX_IO,
                format!("the mock server could not start: {e}"),
            )
        })?;
        let config = ureq::Agent::config_builder()
            // The mock is on this machine: an environment proxy could not reach it.
            .proxy(None)
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(CONTROL_TIMEOUT))
            .build();
        out.handle(yx_mock_server {
            base_url: c_string(inner.base_url()),
            inner,
            control: ureq::Agent::new_with_config(config),
        });
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

/// The base URL to give a client, e.g. `http://127.0.0.1:41234`; the mock's inbox, a callback
/// URL that records what it receives, is this plus `/_mock/inbox`. Borrowed from the handle;
/// NULL when `server` is NULL.
///
/// # Safety
/// `server` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_base_url(server: *const yx_mock_server) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(server, ptr::null(), |s| s.base_url.as_ptr()) }
}

/// Sends one request to the mock's control API over HTTP and returns the answer's status and
/// body, refusing paths outside it: this is a way to steer the mock, not an HTTP client.
fn control(
    server: &yx_mock_server,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Fallible<(u16, String)> {
    let route = path.split('?').next().unwrap_or_default();
    let below = route == "/_mock" || route.starts_with("/_mock/");
    // The characters a URI's path and query may hold (RFC 3986), `#` excepted.
    let uri_chars = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b));
    let plain = uri_chars && !route.split('/').any(|segment| segment == "..");
    if !(below && plain) {
        return Err(yx_error::invalid_argument(
            "path",
            "must be a control route: /_mock or below it, without .. or #",
        ));
    }
    let url = format!("{}{path}", server.inner.base_url());
    let sent = match method {
        "GET" => server.control.get(&url).call(),
        "POST" => server
            .control
            .post(&url)
            .content_type("application/x-www-form-urlencoded")
            .send(body.unwrap_or("")),
        _ => {
            return Err(yx_error::invalid_argument(
                "method",
                "must be \"GET\" or \"POST\"",
            ));
        }
    };
    let io = |e: ureq::Error| {
        yx_error::new(
            yx_result::YX_IO,
            format!("the mock's control API did not answer {method} {path}: {e}"),
        )
    };
    let mut response = sent.map_err(io)?;
    let status = response.status().as_u16();
    // The mock keeps up to 16 MiB of inbox or log; ureq's default read limit is 10 MiB.
    let text = response
        .body_mut()
        .with_config()
        .limit(CONTROL_ANSWER_LIMIT)
        .read_to_string()
        .map_err(io)?;
    Ok((status, text))
}

/// Steers the mock or reads what it saw through its `/_mock/` control API (the routes are in
/// the mock crate's documentation; `GET /_mock` lists them): `method` is `"GET"` or `"POST"`,
/// `path` a control route with any query string, `form_body` NULL or the POST's form fields
/// (`"kind=server_error&times=1"`). Writes the answer's JSON body to `*json_out` (free with
/// `yx_string_free`). For example:
///
/// - `POST /_mock/outcome`, `number=13800000001&duration_sec=0`: that callee does not answer;
/// - `POST /_mock/fault`, `kind=reset_before_response&times=1`: the next request's connection
///   is reset before any answer;
/// - `POST /_mock/callback_url`, `url=<base URL>/_mock/inbox`: call-end callbacks go to the
///   mock's own inbox; `GET /_mock/inbox` then lists them, body and headers, with each
///   `CheckSum` shown as `<redacted, N characters>` (no control answer carries a live one:
///   `yx_mock_server_wait_for_inbox` gives the headers as received, to this process only);
/// - `GET /_mock/stats`: counts of requests, starts, sessions and callbacks.
///
/// A route the mock refuses (HTTP 4xx: an unknown fault kind, a bad number) is
/// `YX_INVALID_ARGUMENT` with the mock's answer in the message; a path outside `/_mock` too.
///
/// # Safety
/// `server` must be NULL or a live handle; `method`, `path` and `form_body` NULL or
/// NUL-terminated; `json_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_control(
    server: *const yx_mock_server,
    method: *const c_char,
    path: *const c_char,
    form_body: *const c_char,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (server, method, path, body, out) = unsafe {
            (
                args::handle(server, "server")?,
                str_arg(method, "method")?,
                str_arg(path, "path")?,
                opt_str_arg(form_body, "form_body")?,
                Out::new(json_out, "json_out")?,
            )
        };
        let (status, text) = control(server, method, path, body)?;
        if !(200..300).contains(&status) {
            return Err(yx_error::new(
                yx_result::YX_INVALID_ARGUMENT,
                format!("the mock refused {method} {path} (HTTP {status}): {text}"),
            ));
        }
        out.string(text);
        Ok(())
    })
}

/// Waits until the mock's inbox holds at least `count` POSTs or `timeout_ms` milliseconds (at
/// most 600000) pass,
/// then writes the inbox (`[{"headers":[[name,value],...], "body":"...","received_at_ms":...}]`,
/// however many arrived, headers as received: unlike `GET /_mock/inbox`, which redacts each
/// `CheckSum`, this is read in-process by the program that started the mock) to `*json_out` (free with
/// `yx_string_free`). The mock sends a call-end callback shortly after the call ends, so a
/// test waits for it here rather than polling.
///
/// # Safety
/// `server` must be NULL or a live handle; `json_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_mock_server_wait_for_inbox(
    server: *const yx_mock_server,
    count: usize,
    timeout_ms: u64,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (server, out) = unsafe {
            (
                args::handle(server, "server")?,
                Out::new(json_out, "json_out")?,
            )
        };
        let wait =
            Duration::from_millis(timeout_ms.min(yunxin_ecp::validate::MAX_WAIT_SECS * 1000));
        let received = server.inner.wait_for_inbox(count, wait);
        out.string(crate::json::to_json(&received)?);
        Ok(())
    })
}
