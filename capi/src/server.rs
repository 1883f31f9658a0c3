//! The service's side of a request, for mocks and proxies: checking an incoming signature,
//! reading the parameters, and writing the service's reply to a refusal.

use std::ffi::{c_char, c_void};

use yunxin_ecp::server::{Params, reply, verify_request};
use yunxin_ecp::signing::unix_seconds_now;
use yunxin_ecp::{Endpoint, Error};

use crate::args::{self, Out, bytes_arg, pairs_arg, str_arg, yx_pair};
use crate::error::{yx_error, yx_result};
use crate::panic::fallible;
use crate::requests::{Request, yx_request};
use crate::signing::yx_credentials;

/// Checks the four auth headers of an incoming request (names matched case-insensitively)
/// against the app of `credentials` at `now_secs` (Unix seconds; 0 reads the system clock),
/// allowing `CurTime` to be `window_secs` away (the service allows 300). `YX_OK` when genuine; `YX_AUTH` otherwise (the
/// error JSON's `reason` says why), to be answered with `yx_server_reply_refusal()`.
///
/// # Safety
/// `credentials` must be NULL or a live handle; `headers` NULL or an array of `header_count`
/// pairs; `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_server_verify_request(
    credentials: *const yx_credentials,
    headers: *const yx_pair,
    header_count: usize,
    now_secs: u64,
    window_secs: u64,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (creds, headers) = unsafe {
            (
                args::handle(credentials, "credentials")?,
                pairs_arg(headers, header_count, "headers")?,
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
/// Errors: `YX_VALIDATION` (answer it with `yx_server_reply_refusal()`),
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
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (path, query, body, out) = unsafe {
            (
                str_arg(path, "path")?,
                str_arg(query, "query")?,
                bytes_arg(body, body_len, "body")?,
                Out::new(request_out, "request_out")?,
            )
        };
        let params = Params::parse(query, body);
        let inner = match Endpoint::from_path(path) {
            Some(Endpoint::StartCall) => Request::Call(params.start_call()?),
            Some(Endpoint::StartConf) => Request::Conf(params.start_conf()?),
            Some(Endpoint::QueryBySession) => Request::Query(params.query()?),
            _ => return Err(yx_error::invalid_argument("path", "is not an ECP endpoint")),
        };
        out.handle(yx_request { inner });
        Ok(())
    })
}

/// Writes the service's answer to a refused request, byte for byte, to `*body_out` (free with
/// `yx_string_free`; send it with HTTP status 200, as the service does): for a `YX_AUTH` error
/// from `yx_server_verify_request()` `{"desc":"bad http header","code":414}`, for a
/// `YX_VALIDATION` error from `yx_server_parse_request()` `{"code":414,"msg":"bad param
/// '<field>'"}`. Any other error is `YX_INVALID_ARGUMENT`: the service has no such answer.
///
/// # Safety
/// `refusal` must be NULL or a live error object; `body_out` and `err_out` NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_server_reply_refusal(
    refusal: *const yx_error,
    body_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (refusal, out) = unsafe {
            (
                args::handle(refusal, "refusal")?,
                Out::new(body_out, "body_out")?,
            )
        };
        let body = match &refusal.source {
            Some(Error::Auth(_)) => reply::bad_http_header(),
            Some(Error::Validation(v)) => reply::bad_param(v.field),
            _ => {
                return Err(yx_error::invalid_argument(
                    "refusal",
                    "is neither a refused signature nor a refused parameter",
                ));
            }
        };
        out.string(body);
        Ok(())
    })
}
