//! The blocking client: one pooled connection agent per client, verified TLS, connect and
//! overall timeouts, no redirects, and retries only where a retry cannot place a second
//! billable call.

use std::ffi::{CString, c_char};
use std::ptr;

use yunxin_ecp::blocking::{Client, ClientSettings};

use crate::args::{self, Out, opt_str_arg};
use crate::error::{Fallible, yx_error, yx_result};
use crate::panic::fallible;
use crate::requests::{Request, yx_request};
use crate::responses::yx_call_record;
use crate::signing::yx_credentials;

/// A blocking client. Create with `yx_client_new()`, free with `yx_client_free()`.
///
/// Thread-safe: use one client per process, from any number of threads at once; connections
/// are pooled and reused. Each call blocks the calling thread until the answer, the timeout or
/// the last allowed retry.
#[derive(Debug)]
pub struct yx_client {
    inner: Client,
    /// The base URL as the client resolved it, kept NUL-terminated for `yx_client_base_url`.
    base_url: CString,
}

/// Reads the arguments every sending function takes.
///
/// # Safety
/// As the `yx_client_start()` family's contracts.
unsafe fn send_args<'a, T>(
    client: *const yx_client,
    request: *const yx_request,
    out: *mut T,
    out_name: &'static str,
) -> Fallible<(&'a Client, &'a Request, Out<T>)> {
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        Ok((
            &args::handle(client, "client")?.inner,
            &args::handle(request, "request")?.inner,
            Out::new(out, out_name)?,
        ))
    }
}

/// Refuses a request of the wrong kind for the function it was given to.
fn wrong_kind(use_instead: &str) -> Box<yx_error> {
    yx_error::invalid_argument("request", &format!("is of another kind: use {use_instead}"))
}

/// A client for the app of `credentials` (copied: they may be freed afterwards).
///
/// `settings_json` is NULL for the defaults, or a JSON object with any of:
/// `"base_url"` (default: the environment variable `YUNXIN_BASE_URL` when set, else
/// `"https://api.netease.im"`; a local mock's URL in tests),
/// `"connect_timeout_ms"` (5000), `"timeout_ms"` (15000, per attempt), `"max_retries"` (2, at most 10,
/// only where safe; 0 never retries), `"backoff_ms"` (200, the first delay before a retry,
/// doubled per retry, capped at 5 s, jittered) and `"max_response_bytes"` (1048576). For
/// example `{"base_url":"http://127.0.0.1:8080","timeout_ms":3000}`.
///
/// Errors: `YX_VALIDATION` naming the setting: field `settings` (rule `"json_object"`,
/// `"unknown_setting"` for a key that names no setting, `"duplicate"` for a key given twice),
/// or the key
/// itself (`"not_integer"`, `"not_positive"` for a timeout or size of 0, `"at_most"` for a
/// wait over 600000 ms). A `backoff_ms` of 0 retries at once.
///
/// # Safety
/// `credentials` must be NULL or a live handle; `settings_json` NULL or NUL-terminated;
/// `client_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_new(
    credentials: *const yx_credentials,
    settings_json: *const c_char,
    client_out: *mut *mut yx_client,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (creds, settings, out) = unsafe {
            (
                args::handle(credentials, "credentials")?,
                opt_str_arg(settings_json, "settings_json")?,
                Out::new(client_out, "client_out")?,
            )
        };
        let settings = match settings {
            Some(json) => ClientSettings::from_json(json)?,
            None => ClientSettings::from_env()?,
        };
        let inner = Client::builder(creds.inner.clone())
            .settings(settings)
            .build()?;
        // A base URL passed `BaseUrl::new` holds no NUL.
        let base_url = CString::new(inner.base_url().as_str()).unwrap_or_default();
        out.handle(yx_client { inner, base_url });
        Ok(())
    })
}

/// The base URL the client sends to, as it resolved it (from the settings, else
/// `YUNXIN_BASE_URL`, else the service's), borrowed: valid until `yx_client_free(client)`.
/// NULL when `client` is NULL.
///
/// # Safety
/// `client` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_base_url(client: *const yx_client) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(client, ptr::null(), |c| c.base_url.as_ptr()) }
}

/// Frees a client and closes its pooled connections. `NULL` is a no-op.
///
/// # Safety
/// `client` must be NULL or a live handle that no other thread is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_free(client: *mut yx_client) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(client) }
}

/// Places a call or a conference (`request` from `yx_start_call_new()` or
/// `yx_start_conf_new()`), signing each attempt afresh, and writes the session id to
/// `*session_out` (free with `yx_string_free`).
///
/// On `YX_TRANSPORT`, `YX_API` or `YX_PROTOCOL`, read `yx_error_retry_advice()`:
/// `YX_RETRY_OUTCOME_UNKNOWN` means the call may have been placed (and billed): query before
/// placing it again. Any other request is `YX_INVALID_ARGUMENT` here.
///
/// # Safety
/// `client` and `request` must be NULL or live handles; `session_out` and `err_out` NULL or
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_start(
    client: *const yx_client,
    request: *const yx_request,
    session_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (c, r, out) = unsafe { send_args(client, request, session_out, "session_out")? };
        let started = match r {
            Request::Call(call) => c.start_call(call)?,
            Request::Conf(conf) => c.start_conf(conf)?,
            _ => return Err(wrong_kind("yx_client_query or yx_client_request")),
        };
        out.string(started.session);
        Ok(())
    })
}

/// Fetches the record of a call or conference (`request` from `yx_query_new()`), retried on
/// transient failures, and writes it to `*record_out` (free with `yx_call_record_free`). Any
/// other request is `YX_INVALID_ARGUMENT` here.
///
/// # Safety
/// `client` and `request` must be NULL or live handles; `record_out` and `err_out` NULL or
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_query(
    client: *const yx_client,
    request: *const yx_request,
    record_out: *mut *mut yx_call_record,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (c, r, out) = unsafe { send_args(client, request, record_out, "record_out")? };
        let Request::Query(query) = r else {
            return Err(wrong_kind("yx_client_start or yx_client_request"));
        };
        out.handle(yx_call_record::new(c.query(query)?));
        Ok(())
    })
}

/// Sends a request from `yx_api_request_new()` (any YunXin server API), signing each attempt
/// afresh, and writes the answer's whole JSON body to `*json_out` (free with
/// `yx_string_free`). The same timeouts, size limit and redirect refusal as every request; a
/// `code` other than 200 is `YX_API` with the code table's meaning. It is sent again only
/// when it provably never left (a connect failure), unless it was built idempotent. An ECP
/// request is `YX_INVALID_ARGUMENT` here.
///
/// # Safety
/// `client` and `request` must be NULL or live handles; `json_out` and `err_out` NULL or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_request(
    client: *const yx_client,
    request: *const yx_request,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (c, r, out) = unsafe { send_args(client, request, json_out, "json_out")? };
        let Request::Api(api) = r else {
            return Err(wrong_kind("yx_client_start or yx_client_query"));
        };
        out.string(crate::json::to_json(&c.request(api)?)?);
        Ok(())
    })
}
