//! The service's side of a request, for mocks and proxies: checking an incoming signature,
//! reading the parameters, and writing the service's reply bodies.

use std::ffi::{c_char, c_void};

use yunxin_ecp::Endpoint;
use yunxin_ecp::server::{Params, reply, verify_request};
use yunxin_ecp::signing::unix_seconds_now;

use crate::args::{self, Out, into_handle};
use crate::callbacks::yx_header;
use crate::error::{yx_error, yx_result};
use crate::panic::{ErrOut, guard};
use crate::requests::{Request, yx_request};
use crate::signing::yx_credentials;
use crate::strings::{bytes_arg, headers_arg, out_string, str_arg};

/// Checks the four auth headers of an incoming request (names matched case-insensitively)
/// against the app of `credentials` at `now_secs` (Unix seconds; 0 reads the system clock),
/// allowing `CurTime` to be `window_secs` away (the service allows 300). `YX_OK` when genuine; `YX_AUTH` with
/// `yx_error_reason()` otherwise, to be answered with `yx_server_reply_bad_http_header()`.
///
/// # Safety
/// `credentials` must be NULL or a live handle; `headers` NULL or an array of `header_count`
/// headers; `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_server_verify_request(
    credentials: *const yx_credentials,
    headers: *const yx_header,
    header_count: usize,
    now_secs: u64,
    window_secs: u64,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (creds, headers) = unsafe {
            (
                args::handle(credentials, "credentials")?,
                headers_arg(headers, header_count, "headers")?,
            )
        };
        let app = &creds.inner;
        let lookup = |key: &str| (key == app.app_key()).then_some(app);
        let now_secs = if now_secs == 0 {
            unix_seconds_now()
        } else {
            now_secs
        };
        verify_request(headers, lookup, now_secs, window_secs)?;
        Ok(())
    })
}

/// Reads the parameters of an incoming request to `path` (an ECP endpoint path) from the
/// query string (without `?`; `""` when none) and the form body together, as the service
/// does; the body wins where both carry a name. Accepts what the official samples send
/// (everything in the query string, a single-quoted conference callee list). Writes the
/// validated request to `*request_out` (read it with `yx_request_to_json()`).
///
/// Errors: `YX_VALIDATION` (answer it with `yx_server_reply_bad_param(field)`),
/// `YX_INVALID_ARGUMENT` for a path that is no ECP endpoint.
///
/// # Safety
/// `path` and `query` must be NULL or NUL-terminated; `body` NULL or valid for reads of
/// `body_len` bytes; `request_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_server_parse_request(
    path: *const c_char,
    query: *const c_char,
    body: *const c_void,
    body_len: usize,
    request_out: *mut *mut yx_request,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (path, query, body, out) = unsafe {
            (
                str_arg(path, "path")?,
                str_arg(query, "query")?,
                bytes_arg(body, body_len, "body")?,
                Out::new(request_out, "request_out")?,
            )
        };
        let endpoint = Endpoint::from_path(path)
            .ok_or_else(|| yx_error::invalid_argument("path", "is not an ECP endpoint"))?;
        let params = Params::parse(query, body);
        let inner = match endpoint {
            Endpoint::StartCall => Request::Call(params.start_call()?),
            Endpoint::StartConf => Request::Conf(params.start_conf()?),
            Endpoint::QueryBySession => Request::Query(params.query()?),
            Endpoint::Api { .. } => {
                return Err(yx_error::invalid_argument("path", "is not an ECP endpoint"));
            }
        };
        out.write(into_handle(yx_request { inner }));
        Ok(())
    })
}

/// Writes the service's answer to a refused signature, byte for byte:
/// `{"desc":"bad http header","code":414}` (free with `yx_string_free`).
///
/// # Safety
/// `body_out` and `err_out` must be NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_server_reply_bad_http_header(
    body_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let out = unsafe { Out::new(body_out, "body_out")? };
        out_string(out, reply::bad_http_header());
        Ok(())
    })
}

/// Writes the service's answer to a bad parameter: `{"code":414,"msg":"bad param 'callee'"}`
/// for `field` `"callee"` (free with `yx_string_free`).
///
/// # Safety
/// `field` must be NULL or NUL-terminated; `body_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_server_reply_bad_param(
    field: *const c_char,
    body_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (field, out) = unsafe { (str_arg(field, "field")?, Out::new(body_out, "body_out")?) };
        out_string(out, reply::bad_param(field));
        Ok(())
    })
}
