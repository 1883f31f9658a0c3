//! The blocking client: one pooled connection agent per client, verified TLS, connect and
//! overall timeouts, and retries only where a retry cannot place a second billable call.

use std::ffi::{CString, c_char};
use std::ptr;
use std::time::Duration;

use yunxin_ecp::blocking::{Client, ClientSettings};
use yunxin_ecp::{BaseUrl, Credentials};

use crate::args::{self, Out, into_handle};
use crate::error::{Fallible, yx_error, yx_result};
use crate::panic::{ErrOut, guard};
use crate::requests::{Request, yx_request};
use crate::responses::yx_call_record;
use crate::signing::yx_credentials;
use crate::strings::{c_string, out_string, str_arg};

/// The settings of a client to build. Create with `yx_client_builder_new()`, adjust with the
/// `yx_client_builder_set_*` functions, build any number of clients with
/// `yx_client_builder_build()`, free with `yx_client_builder_free()`.
///
/// Not thread-safe while being changed: a builder belongs to one thread at a time.
#[derive(Debug, Clone)]
pub struct yx_client_builder {
    credentials: Credentials,
    settings: ClientSettings,
}

/// A blocking ECP client. Create with `yx_client_builder_build()`, free with
/// `yx_client_free()`.
///
/// Thread-safe: use one client per process, from any number of threads at once; connections
/// are pooled and reused. Each call blocks the calling thread until the answer, the timeout or
/// the last allowed retry.
#[derive(Debug)]
pub struct yx_client {
    inner: Client,
    base_url: CString,
}

/// Starts the settings of a client for the app of `credentials` (copied: they may be freed
/// afterwards). Defaults: base URL `https://api.netease.im`, connect timeout 5 s, overall
/// timeout 15 s per attempt, 2 retries where safe, first backoff 200 ms, answers up to 1 MiB.
///
/// # Safety
/// `credentials` must be NULL or a live handle; `builder_out` and `err_out` NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_builder_new(
    credentials: *const yx_credentials,
    builder_out: *mut *mut yx_client_builder,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (creds, out) = unsafe {
            (
                args::handle(credentials, "credentials")?,
                Out::new(builder_out, "builder_out")?,
            )
        };
        out.write(into_handle(yx_client_builder {
            credentials: creds.inner.clone(),
            settings: ClientSettings::default(),
        }));
        Ok(())
    })
}

/// Frees a builder and wipes its copy of the secret. `NULL` is a no-op.
///
/// # Safety
/// `builder` must be NULL or a live handle, not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_builder_free(builder: *mut yx_client_builder) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(builder) }
}

/// Applies `change` to a builder.
///
/// # Safety
/// `builder` must be NULL or a live handle used by no other thread; `err_out` NULL or valid for
/// a write.
unsafe fn update(
    builder: *mut yx_client_builder,
    err_out: *mut *mut yx_error,
    change: impl FnOnce(&mut yx_client_builder) -> Fallible<()>,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: the caller's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from the caller's contract: live, and not shared meanwhile.
        let b = unsafe { builder.as_mut() }.ok_or_else(|| yx_error::null_argument("builder"))?;
        // Work on a copy so that a refused change leaves the builder as it was.
        let mut changed = b.clone();
        change(&mut changed)?;
        *b = changed;
        Ok(())
    })
}

/// Sets where requests go: an absolute `http://` or `https://` URL (a local mock's
/// `http://127.0.0.1:PORT` in tests). `YX_VALIDATION` (field `baseUrl`) otherwise, and the
/// builder is unchanged.
///
/// # Safety
/// `builder` must be NULL or a live handle used by no other thread; `base_url` NULL or
/// NUL-terminated; `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_builder_set_base_url(
    builder: *mut yx_client_builder,
    base_url: *const c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract; the closure runs inside this block.
    unsafe {
        update(builder, err_out, |b| {
            let url = str_arg(base_url, "base_url")?;
            BaseUrl::new(url)?;
            b.settings.base_url = url.to_owned();
            Ok(())
        })
    }
}

/// Sets the time allowed to open a connection (DNS, TCP, TLS), in milliseconds; must be
/// positive (checked by `yx_client_builder_build()`).
///
/// # Safety
/// `builder` must be NULL or a live handle used by no other thread; `err_out` NULL or valid for
/// a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_builder_set_connect_timeout_ms(
    builder: *mut yx_client_builder,
    timeout_ms: u64,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        update(builder, err_out, |b| {
            b.settings.connect_timeout = Duration::from_millis(timeout_ms);
            Ok(())
        })
    }
}

/// Sets the time allowed for one whole attempt, connect to last byte, in milliseconds; must be
/// positive (checked by `yx_client_builder_build()`). Each retry gets the same again.
///
/// # Safety
/// `builder` must be NULL or a live handle used by no other thread; `err_out` NULL or valid for
/// a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_builder_set_timeout_ms(
    builder: *mut yx_client_builder,
    timeout_ms: u64,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        update(builder, err_out, |b| {
            b.settings.timeout = Duration::from_millis(timeout_ms);
            Ok(())
        })
    }
}

/// Sets how many times a request may be sent again after the first attempt, where that is
/// safe (0 disables retrying). A start is never resent once it may have reached the service.
///
/// # Safety
/// `builder` must be NULL or a live handle used by no other thread; `err_out` NULL or valid for
/// a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_builder_set_max_retries(
    builder: *mut yx_client_builder,
    max_retries: u32,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        update(builder, err_out, |b| {
            b.settings.max_retries = max_retries;
            Ok(())
        })
    }
}

/// Sets the first backoff delay in milliseconds; it doubles per retry, up to 5 s, with jitter.
///
/// # Safety
/// `builder` must be NULL or a live handle used by no other thread; `err_out` NULL or valid for
/// a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_builder_set_backoff_ms(
    builder: *mut yx_client_builder,
    backoff_ms: u64,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        update(builder, err_out, |b| {
            b.settings.backoff = Duration::from_millis(backoff_ms);
            Ok(())
        })
    }
}

/// Sets the largest answer accepted, in bytes; a larger one is `YX_PROTOCOL` with reason
/// `"too_large"`.
///
/// # Safety
/// `builder` must be NULL or a live handle used by no other thread; `err_out` NULL or valid for
/// a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_builder_set_max_response_bytes(
    builder: *mut yx_client_builder,
    max_bytes: u64,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        update(builder, err_out, |b| {
            b.settings.max_response_bytes = max_bytes;
            Ok(())
        })
    }
}

/// Builds a client with the builder's settings (the builder stays usable and must still be
/// freed). `YX_VALIDATION` (rule `"not_positive"`, field `connect_timeout`, `timeout` or
/// `max_response_bytes`) for a setting of zero.
///
/// # Safety
/// `builder` must be NULL or a live handle not being changed by another thread; `client_out`
/// and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_builder_build(
    builder: *const yx_client_builder,
    client_out: *mut *mut yx_client,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (b, out) = unsafe {
            (
                args::handle(builder, "builder")?,
                Out::new(client_out, "client_out")?,
            )
        };
        let inner = Client::builder(b.credentials.clone())
            .settings(b.settings.clone())
            .build()?;
        let base_url = c_string(inner.base_url().as_str());
        out.write(into_handle(yx_client { inner, base_url }));
        Ok(())
    })
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

/// The base URL the client sends to. Borrowed from the client; NULL when `client` is NULL.
///
/// # Safety
/// `client` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_client_base_url(client: *const yx_client) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(client, ptr::null(), |c| c.base_url.as_ptr()) }
}

/// Places a call or a conference (`request` from `yx_start_call_new()` or
/// `yx_start_conf_new()`), signing each attempt afresh, and writes the session id to
/// `*session_out` (free with `yx_string_free`).
///
/// On `YX_TRANSPORT`, `YX_API` or `YX_PROTOCOL`, read `yx_error_retry_advice()`:
/// `YX_RETRY_OUTCOME_UNKNOWN` means the call may have been placed (and billed): query before
/// placing it again. A query request is `YX_INVALID_ARGUMENT` here.
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
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (c, r, out) = unsafe {
            (
                args::handle(client, "client")?,
                args::handle(request, "request")?,
                Out::new(session_out, "session_out")?,
            )
        };
        let started = match &r.inner {
            Request::Call(call) => c.inner.start_call(call)?,
            Request::Conf(conf) => c.inner.start_conf(conf)?,
            Request::Query(_) => {
                return Err(yx_error::invalid_argument(
                    "request",
                    "is a query: use yx_client_query",
                ));
            }
        };
        out_string(out, started.session);
        Ok(())
    })
}

/// Fetches the record of a call or conference (`request` from `yx_query_new()`), retried on
/// transient failures, and writes it to `*record_out` (free with `yx_call_record_free`). A
/// start request is `YX_INVALID_ARGUMENT` here.
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
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (c, r, out) = unsafe {
            (
                args::handle(client, "client")?,
                args::handle(request, "request")?,
                Out::new(record_out, "record_out")?,
            )
        };
        let Request::Query(query) = &r.inner else {
            return Err(yx_error::invalid_argument(
                "request",
                "is a start: use yx_client_start",
            ));
        };
        let record = c.inner.query(query)?;
        out.write(into_handle(yx_call_record::new(record)));
        Ok(())
    })
}
