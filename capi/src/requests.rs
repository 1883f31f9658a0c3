//! Requests, validated when built: the three ECP requests and a request to any other YunXin
//! server API; and the prepared request (URL, headers, form body) that any HTTP client can
//! send.

use std::ffi::{CString, c_char};
use std::ptr;

use yunxin_ecp::views::RequestView;
use yunxin_ecp::{
    ApiRequest, BaseUrl, EcpRequest, Endpoint, PreparedRequest, QueryBySession, SessionKind,
    StartCall, StartConf,
};

use crate::args::{self, Out, opt_str_arg, pairs_arg, str_arg, str_array_arg, yx_pair};
use crate::error::{Fallible, yx_error, yx_result};
use crate::json::to_json;
use crate::panic::fallible;
use crate::signing::{self, yx_credentials, yx_headers};
use crate::strings::c_string;

/// One of the three ECP endpoints, or (in errors only) any other YunXin API path. Functions take
/// and return it as an `int32_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum yx_endpoint {
    /// `/call/ecp/startcall.action`: a callback call (rings the caller, then the callee).
    YX_ENDPOINT_START_CALL = 1,
    /// `/call/ecp/startconf.action`: a phone conference.
    YX_ENDPOINT_START_CONF = 2,
    /// `/call/ecp/queryBySession.action`: the record of one call or conference.
    YX_ENDPOINT_QUERY_BY_SESSION = 3,
    /// Any other YunXin server API path: a request from `yx_api_request_new()`.
    YX_ENDPOINT_API = 4,
}

impl From<Endpoint> for yx_endpoint {
    fn from(e: Endpoint) -> Self {
        match e {
            Endpoint::StartCall => yx_endpoint::YX_ENDPOINT_START_CALL,
            Endpoint::StartConf => yx_endpoint::YX_ENDPOINT_START_CONF,
            Endpoint::QueryBySession => yx_endpoint::YX_ENDPOINT_QUERY_BY_SESSION,
            Endpoint::Api { .. } => yx_endpoint::YX_ENDPOINT_API,
        }
    }
}

/// The endpoint with this `yx_endpoint` value, if any. `YX_ENDPOINT_API` stands for a request
/// not marked idempotent: the stricter reading when nothing else is known.
pub(crate) fn endpoint_from_i32(value: i32) -> Option<Endpoint> {
    Endpoint::ALL
        .into_iter()
        .chain([Endpoint::Api { idempotent: false }])
        .find(|e| yx_endpoint::from(*e) as i32 == value)
}

/// Whether a session is a two-party call or a conference: the query's `type` parameter.
/// Functions take it as an `int32_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum yx_session_kind {
    /// `type=1`: a call placed with `startcall`.
    YX_SESSION_CALL = 1,
    /// `type=2`: a conference placed with `startconf`.
    YX_SESSION_CONFERENCE = 2,
}

/// One validated request: a start call, a start conference, a query, or a request to any
/// other server API. Create it with `yx_start_call_new()`, `yx_start_conf_new()`,
/// `yx_query_new()`, `yx_api_request_new()` (or, server side, `yx_server_parse_request()`);
/// free it with `yx_request_free()`.
///
/// Immutable: one handle may be used from any number of threads at once, for instance to
/// prepare it with fresh signatures.
#[derive(Debug, Clone)]
pub struct yx_request {
    pub(crate) inner: Request,
}

/// The request inside a `yx_request`.
#[derive(Debug, Clone)]
pub(crate) enum Request {
    Call(StartCall),
    Conf(StartConf),
    Query(QueryBySession),
    Api(ApiRequest),
}

impl Request {
    fn prepare(&self, base: &BaseUrl, auth: &yunxin_ecp::AuthHeaders) -> PreparedRequest {
        match self {
            Request::Call(r) => r.prepare(base, auth),
            Request::Conf(r) => r.prepare(base, auth),
            Request::Query(r) => r.prepare(base, auth),
            Request::Api(r) => r.prepare(base, auth),
        }
    }

    fn view(&self) -> RequestView<'_> {
        match self {
            Request::Call(r) => r.into(),
            Request::Conf(r) => r.into(),
            Request::Query(r) => r.into(),
            Request::Api(r) => r.into(),
        }
    }
}

/// Hands a new request to the caller.
fn built(out: Out<*mut yx_request>, inner: Request) -> Fallible<()> {
    out.handle(yx_request { inner });
    Ok(())
}

/// Builds a start-call request: the service rings `caller`, then `callee`, and bridges them,
/// for at most `max_dur` seconds. `caller_acc` is a YunXin accid registered in the app (at
/// most 32 characters of `[A-Za-z0-9_@.-]`). Numbers are mainland China numbers without
/// country code: mobile `1` + 10 digits, or a landline with its area code (`057186778825`).
///
/// Errors: `YX_VALIDATION` with the field (`callerAcc`, `caller`, `callee`, `maxDur`) and the
/// rule, `YX_NULL_ARGUMENT`, `YX_INVALID_UTF8`.
///
/// # Safety
/// The strings must be NULL or NUL-terminated; `request_out` and `err_out` NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_start_call_new(
    caller_acc: *const c_char,
    caller: *const c_char,
    callee: *const c_char,
    max_dur: u32,
    request_out: *mut *mut yx_request,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (acc, caller, callee, out) = unsafe {
            (
                str_arg(caller_acc, "caller_acc")?,
                str_arg(caller, "caller")?,
                str_arg(callee, "callee")?,
                Out::new(request_out, "request_out")?,
            )
        };
        built(
            out,
            Request::Call(StartCall::new(acc, caller, callee, max_dur)?),
        )
    })
}

/// Builds a start-conference request: the caller and `callee_count` other participants (2 to
/// 7, all distinct and different from the caller), for at most `max_dur` seconds. The callee
/// list is sent as a real JSON array. A bad entry is reported with field `callee` and its
/// position in the error JSON's `index`.
///
/// # Safety
/// `caller_acc` and `caller` must be NULL or NUL-terminated; `callees` NULL or an array of
/// `callee_count` pointers, each NULL or NUL-terminated; `request_out` and `err_out` NULL or
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_start_conf_new(
    caller_acc: *const c_char,
    caller: *const c_char,
    callees: *const *const c_char,
    callee_count: usize,
    max_dur: u32,
    request_out: *mut *mut yx_request,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (acc, caller, callees, out) = unsafe {
            (
                str_arg(caller_acc, "caller_acc")?,
                str_arg(caller, "caller")?,
                str_array_arg(callees, callee_count, "callees")?,
                Out::new(request_out, "request_out")?,
            )
        };
        built(
            out,
            Request::Conf(StartConf::new(acc, caller, callees, max_dur)?),
        )
    })
}

/// Builds a query for the record of one call or conference: `session` as a start returned it,
/// `kind` a `yx_session_kind` value (`YX_SESSION_CALL` or `YX_SESSION_CONFERENCE`; another
/// value is `YX_VALIDATION` with field `type`, rule `"one_of"`).
///
/// # Safety
/// `session` must be NULL or NUL-terminated; `request_out` and `err_out` NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_query_new(
    session: *const c_char,
    kind: i32,
    request_out: *mut *mut yx_request,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (session, out) = unsafe {
            (
                str_arg(session, "session")?,
                Out::new(request_out, "request_out")?,
            )
        };
        let kind = SessionKind::from_wire(&kind.to_string())?;
        built(out, Request::Query(QueryBySession::new(session, kind)?))
    })
}

/// Builds a request to any YunXin server API (users, messages, SMS, ...): a form POST to the
/// base URL plus `path`, signed like every request. `path` must be a plain absolute path such
/// as `/nimserver/user/create.action` (no scheme, query, fragment, `..` or `//`: `YX_VALIDATION`
/// with field `path`, rule `"api_path"`); `params` are `param_count` name/value pairs sent in
/// that order (a name may not be empty). `idempotent` is 1 if sending it twice does no harm:
/// only then is it retried after it may have arrived; otherwise only when it provably never
/// left.
///
/// # Safety
/// `path` must be NULL or NUL-terminated; `params` NULL (when `param_count` is 0) or an array
/// of `param_count` pairs whose strings are NULL or NUL-terminated; `request_out` and
/// `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_api_request_new(
    path: *const c_char,
    params: *const yx_pair,
    param_count: usize,
    idempotent: i32,
    request_out: *mut *mut yx_request,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (path, params, out) = unsafe {
            (
                str_arg(path, "path")?,
                pairs_arg(params, param_count, "params")?,
                Out::new(request_out, "request_out")?,
            )
        };
        let request = ApiRequest::new(path, params)?.idempotent(idempotent != 0);
        built(out, Request::Api(request))
    })
}

/// Frees a request. `NULL` is a no-op.
///
/// # Safety
/// `request` must be NULL or a live handle, not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_request_free(request: *mut yx_request) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(request) }
}

/// Writes the request's kind and parameters as JSON to `*json_out` (free with
/// `yx_string_free`): `{"request":"start_call","params":{"caller_acc":...,"caller":...,
/// "callee":...,"max_dur":100}}`, `{"request":"start_conf","params":{...,"callees":[...],...}}`,
/// `{"request":"query","params":{"session":...,"kind":"call"|"conference"}}` or
/// `{"request":"api","params":{"path":...,"params":[[name,value],...],"idempotent":false}}`.
///
/// # Safety
/// `request` must be NULL or a live handle; `json_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_request_to_json(
    request: *const yx_request,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        crate::json::write_json(request, "request", json_out, err_out, |r| {
            to_json(&r.inner.view())
        })
    }
}

/// A request ready to send: always a `POST` of the form body to the URL with the headers
/// (`Content-Type` and the four authentication headers). Read with
/// `yx_prepared_request_url()`, `yx_prepared_request_body()` and
/// `yx_prepared_request_headers()`; free with `yx_prepared_request_free()`.
///
/// Immutable: may be read from any number of threads at once.
pub struct yx_prepared_request {
    url: CString,
    body: CString,
    headers: yx_headers,
}

impl yx_prepared_request {
    pub(crate) fn new(inner: &PreparedRequest) -> Self {
        yx_prepared_request {
            url: c_string(inner.url.as_str()),
            body: c_string(inner.body.as_str()),
            headers: yx_headers::new(inner.headers.iter().map(|(n, v)| (*n, v.as_str()))),
        }
    }
}

/// Signs and prepares `request` for one attempt: what a program that sends with its own HTTP
/// client (libcurl, ...) calls before every attempt, retries included.
///
/// - `base_url`: NULL for the production gateway `https://api.netease.im`, or an absolute
///   `http://` / `https://` URL such as a local mock's (`YX_VALIDATION`, field `baseUrl`, rule
///   `"url"` otherwise, as the shared vectors name it).
/// - `nonce` and `cur_time`: NULL and 0 in production (a fresh nonce, one reading of the
///   clock); fixed values reproduce a signature, as `yx_credentials_sign()` explains.
///
/// # Safety
/// `request` and `credentials` must be NULL or live handles; `base_url` and `nonce` NULL or
/// NUL-terminated; `prepared_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_request_prepare(
    request: *const yx_request,
    credentials: *const yx_credentials,
    base_url: *const c_char,
    nonce: *const c_char,
    cur_time: u64,
    prepared_out: *mut *mut yx_prepared_request,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (r, creds, base_url, nonce, out) = unsafe {
            (
                args::handle(request, "request")?,
                args::handle(credentials, "credentials")?,
                opt_str_arg(base_url, "base_url")?,
                opt_str_arg(nonce, "nonce")?,
                Out::new(prepared_out, "prepared_out")?,
            )
        };
        let base = match base_url {
            Some(url) => BaseUrl::new(url)?,
            None => BaseUrl::default(),
        };
        let auth = signing::sign(&creds.inner, nonce, cur_time)?;
        out.handle(yx_prepared_request::new(&r.inner.prepare(&base, &auth)));
        Ok(())
    })
}

/// Frees a prepared request. `NULL` is a no-op.
///
/// # Safety
/// `prepared` must be NULL or a live handle, not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_prepared_request_free(prepared: *mut yx_prepared_request) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(prepared) }
}

/// The URL to `POST` to. Borrowed from the handle; NULL when `prepared` is NULL.
///
/// # Safety
/// `prepared` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_prepared_request_url(
    prepared: *const yx_prepared_request,
) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(prepared, ptr::null(), |p| p.url.as_ptr()) }
}

/// The form body (`application/x-www-form-urlencoded`, UTF-8, percent-encoded). Borrowed from
/// the handle; NULL when `prepared` is NULL.
///
/// # Safety
/// `prepared` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_prepared_request_body(
    prepared: *const yx_prepared_request,
) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(prepared, ptr::null(), |p| p.body.as_ptr()) }
}

/// The headers to send, in order: `AppKey`, `Nonce`, `CurTime`, `CheckSum`, `Content-Type`.
/// Borrowed from the handle (read it with the `yx_headers_*` functions, never free it); NULL
/// when `prepared` is NULL.
///
/// # Safety
/// `prepared` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_prepared_request_headers(
    prepared: *const yx_prepared_request,
) -> *const yx_headers {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(prepared, ptr::null(), |p| &raw const p.headers) }
}
