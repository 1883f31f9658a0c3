//! The three ECP requests, validated when built, and the prepared request (method, URL,
//! headers, form body) that any HTTP client can send.

use std::ffi::{CString, c_char};
use std::ptr;
use std::sync::OnceLock;

use serde::Serialize;
use yunxin_ecp::{
    BaseUrl, EcpRequest, Endpoint, PreparedRequest, QueryBySession, SessionKind, StartCall,
    StartConf,
};

use crate::args::{self, Out, into_handle};
use crate::error::{Fallible, yx_error, yx_result};
use crate::panic::{ErrOut, guard, guard_value};
use crate::signing::{yx_auth_headers, yx_credentials};
use crate::strings::{c_string, opt_str_arg, out_string, str_arg, str_array_arg};

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
    /// Any other YunXin server API path (a generic request); named by errors, never accepted
    /// as an argument.
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

/// The endpoint with this `yx_endpoint` value, if any.
pub(crate) fn endpoint_from_i32(value: i32) -> Option<Endpoint> {
    Endpoint::ALL
        .into_iter()
        .find(|e| yx_endpoint::from(*e) as i32 == value)
}

/// Reads an endpoint argument.
pub(crate) fn endpoint_arg(value: i32, name: &str) -> Fallible<Endpoint> {
    endpoint_from_i32(value)
        .ok_or_else(|| yx_error::invalid_argument(name, "is not a yx_endpoint value"))
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

/// One validated ECP request: a start call, a start conference or a query. Create it with
/// `yx_start_call_new()`, `yx_start_conf_new()`, `yx_query_new()` (or, server side,
/// `yx_server_parse_request()`); free it with `yx_request_free()`.
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
}

impl Request {
    pub(crate) fn endpoint(&self) -> Endpoint {
        match self {
            Request::Call(_) => StartCall::ENDPOINT,
            Request::Conf(_) => StartConf::ENDPOINT,
            Request::Query(_) => QueryBySession::ENDPOINT,
        }
    }

    fn prepare(&self, base: &BaseUrl, auth: &yunxin_ecp::AuthHeaders) -> PreparedRequest {
        match self {
            Request::Call(r) => r.prepare(base, auth),
            Request::Conf(r) => r.prepare(base, auth),
            Request::Query(r) => r.prepare(base, auth),
        }
    }

    fn form_body(&self) -> String {
        match self {
            Request::Call(r) => r.form_body(),
            Request::Conf(r) => r.form_body(),
            Request::Query(r) => r.form_body(),
        }
    }
}

/// `{"request":"start_call","params":{...}}`: the kind and the parameters of a request.
#[derive(Serialize)]
#[serde(tag = "request", content = "params", rename_all = "snake_case")]
pub(crate) enum RequestJson<'a> {
    StartCall {
        caller_acc: &'a str,
        caller: &'a str,
        callee: &'a str,
        max_dur: u32,
    },
    StartConf {
        caller_acc: &'a str,
        caller: &'a str,
        callees: &'a [String],
        max_dur: u32,
    },
    Query {
        session: &'a str,
        kind: &'static str,
    },
}

impl<'a> RequestJson<'a> {
    pub(crate) fn new(request: &'a Request) -> Self {
        match request {
            Request::Call(r) => RequestJson::StartCall {
                caller_acc: r.caller_acc(),
                caller: r.caller(),
                callee: r.callee(),
                max_dur: r.max_dur(),
            },
            Request::Conf(r) => RequestJson::StartConf {
                caller_acc: r.caller_acc(),
                caller: r.caller(),
                callees: r.callees(),
                max_dur: r.max_dur(),
            },
            Request::Query(r) => RequestJson::Query {
                session: r.session(),
                kind: match r.kind() {
                    SessionKind::Call => "call",
                    SessionKind::Conference => "conference",
                },
            },
        }
    }
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
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (acc, caller, callee, out) = unsafe {
            (
                str_arg(caller_acc, "caller_acc")?,
                str_arg(caller, "caller")?,
                str_arg(callee, "callee")?,
                Out::new(request_out, "request_out")?,
            )
        };
        let inner = Request::Call(StartCall::new(acc, caller, callee, max_dur)?);
        out.write(into_handle(yx_request { inner }));
        Ok(())
    })
}

/// Builds a start-conference request: the caller and `callee_count` other participants (2 to
/// 7, all distinct and different from the caller), for at most `max_dur` seconds. The callee
/// list is sent as a real JSON array. A bad entry is reported with field `callee` and its
/// position in `yx_error_index()`.
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
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (acc, caller, callees, out) = unsafe {
            (
                str_arg(caller_acc, "caller_acc")?,
                str_arg(caller, "caller")?,
                str_array_arg(callees, callee_count, "callees")?,
                Out::new(request_out, "request_out")?,
            )
        };
        let inner = Request::Conf(StartConf::new(acc, caller, callees, max_dur)?);
        out.write(into_handle(yx_request { inner }));
        Ok(())
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
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (session, out) = unsafe {
            (
                str_arg(session, "session")?,
                Out::new(request_out, "request_out")?,
            )
        };
        let kind = SessionKind::from_wire(&kind.to_string())?;
        let inner = Request::Query(QueryBySession::new(session, kind)?);
        out.write(into_handle(yx_request { inner }));
        Ok(())
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

/// The request's endpoint (a `yx_endpoint` value); 0 when `request` is NULL.
///
/// # Safety
/// `request` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_request_endpoint(request: *const yx_request) -> i32 {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(request, 0, |r| yx_endpoint::from(r.inner.endpoint()) as i32) }
}

/// Writes the form body (UTF-8, percent-encoded) to `*body_out`; free it with
/// `yx_string_free`.
///
/// # Safety
/// `request` must be NULL or a live handle; `body_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_request_form_body(
    request: *const yx_request,
    body_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (r, out) = unsafe {
            (
                args::handle(request, "request")?,
                Out::new(body_out, "body_out")?,
            )
        };
        out_string(out, r.inner.form_body());
        Ok(())
    })
}

/// Writes the request's kind and parameters as JSON to `*json_out` (free with
/// `yx_string_free`): `{"request":"start_call","params":{"caller_acc":...,"caller":...,
/// "callee":...,"max_dur":100}}`, `{"request":"start_conf","params":{...,"callees":[...],...}}`
/// or `{"request":"query","params":{"session":...,"kind":"call"|"conference"}}`.
///
/// # Safety
/// `request` must be NULL or a live handle; `json_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_request_to_json(
    request: *const yx_request,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (r, out) = unsafe {
            (
                args::handle(request, "request")?,
                Out::new(json_out, "json_out")?,
            )
        };
        out_string(out, crate::json::to_json(&RequestJson::new(&r.inner))?);
        Ok(())
    })
}

/// A request ready to send: method, URL, headers and body. Free with
/// `yx_prepared_request_free()`.
///
/// Immutable: may be read from any number of threads at once.
pub struct yx_prepared_request {
    inner: PreparedRequest,
    method: CString,
    url: CString,
    body: CString,
    headers: Vec<(CString, CString)>,
}

impl yx_prepared_request {
    fn new(inner: PreparedRequest) -> Self {
        yx_prepared_request {
            method: c_string(inner.method),
            url: c_string(inner.url.as_str()),
            body: c_string(inner.body.as_str()),
            headers: inner
                .headers
                .iter()
                .map(|(n, v)| (c_string(*n), c_string(v.as_str())))
                .collect(),
            inner,
        }
    }
}

unsafe fn base_url_arg(base_url: *const c_char) -> Fallible<BaseUrl> {
    // SAFETY: forwarded from the caller's contract.
    match unsafe { opt_str_arg(base_url, "base_url")? } {
        Some(url) => Ok(BaseUrl::new(url)?),
        None => Ok(BaseUrl::default()),
    }
}

/// Prepares `request` with given authentication headers (from `yx_credentials_sign()` or
/// `yx_credentials_sign_now()`; sign afresh for every attempt). `base_url` is NULL for the
/// production gateway `https://api.netease.im`, or an absolute `http://` / `https://` URL such
/// as a local mock's (`YX_VALIDATION`, field `baseUrl`, rule `"url"` otherwise).
///
/// # Safety
/// `request` and `auth` must be NULL or live handles; `base_url` NULL or NUL-terminated;
/// `prepared_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_request_prepare(
    request: *const yx_request,
    base_url: *const c_char,
    auth: *const yx_auth_headers,
    prepared_out: *mut *mut yx_prepared_request,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (r, auth, out, base) = unsafe {
            (
                args::handle(request, "request")?,
                args::handle(auth, "auth")?,
                Out::new(prepared_out, "prepared_out")?,
                base_url_arg(base_url)?,
            )
        };
        let prepared = r.inner.prepare(&base, &auth.inner);
        out.write(into_handle(yx_prepared_request::new(prepared)));
        Ok(())
    })
}

/// Signs with a fresh nonce and the current time, then prepares `request`: the usual way to
/// send with your own HTTP client. Call it once per attempt.
///
/// # Safety
/// As `yx_request_prepare()`, with `credentials` NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_request_prepare_now(
    request: *const yx_request,
    base_url: *const c_char,
    credentials: *const yx_credentials,
    prepared_out: *mut *mut yx_prepared_request,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (r, creds, out, base) = unsafe {
            (
                args::handle(request, "request")?,
                args::handle(credentials, "credentials")?,
                Out::new(prepared_out, "prepared_out")?,
                base_url_arg(base_url)?,
            )
        };
        let auth = creds.inner.sign_now()?;
        let prepared = r.inner.prepare(&base, &auth);
        out.write(into_handle(yx_prepared_request::new(prepared)));
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

/// The endpoint (a `yx_endpoint` value) whose response parser reads the answer; 0 when
/// `prepared` is NULL.
///
/// # Safety
/// `prepared` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_prepared_request_endpoint(prepared: *const yx_prepared_request) -> i32 {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(prepared, 0, |p| yx_endpoint::from(p.inner.endpoint) as i32) }
}

/// The HTTP method, always `"POST"`. Borrowed from the handle; NULL when `prepared` is NULL.
///
/// # Safety
/// `prepared` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_prepared_request_method(
    prepared: *const yx_prepared_request,
) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(prepared, ptr::null(), |p| p.method.as_ptr()) }
}

/// The full URL. Borrowed from the handle; NULL when `prepared` is NULL.
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

/// The form body, UTF-8 percent-encoded (so it holds no NUL byte: `strlen` gives its length).
/// Borrowed from the handle; NULL when `prepared` is NULL.
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

/// How many headers to send: the four auth headers and `Content-Type`, in that order. 0 when
/// `prepared` is NULL.
///
/// # Safety
/// `prepared` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_prepared_request_header_count(
    prepared: *const yx_prepared_request,
) -> usize {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(prepared, 0, |p| p.headers.len()) }
}

/// The name of header `index`. Borrowed from the handle; NULL when `prepared` is NULL or
/// `index` is out of range.
///
/// # Safety
/// `prepared` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_prepared_request_header_name(
    prepared: *const yx_prepared_request,
    index: usize,
) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        args::read(prepared, ptr::null(), |p| {
            p.headers
                .get(index)
                .map_or(ptr::null(), |(name, _)| name.as_ptr())
        })
    }
}

/// The value of header `index`. Borrowed from the handle; NULL when `prepared` is NULL or
/// `index` is out of range.
///
/// # Safety
/// `prepared` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_prepared_request_header_value(
    prepared: *const yx_prepared_request,
    index: usize,
) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        args::read(prepared, ptr::null(), |p| {
            p.headers
                .get(index)
                .map_or(ptr::null(), |(_, value)| value.as_ptr())
        })
    }
}

/// Writes the prepared request as JSON to `*json_out` (free with `yx_string_free`):
/// `{"endpoint":"start_call","method":"POST","url":...,"headers":[["AppKey",...],...],
/// "body":...}`.
///
/// # Safety
/// `prepared` must be NULL or a live handle; `json_out` and `err_out` NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_prepared_request_to_json(
    prepared: *const yx_prepared_request,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (p, out) = unsafe {
            (
                args::handle(prepared, "prepared")?,
                Out::new(json_out, "json_out")?,
            )
        };
        out_string(out, crate::json::to_json(&p.inner)?);
        Ok(())
    })
}

fn endpoint_strings() -> &'static [(Endpoint, CString, CString); 3] {
    static STRINGS: OnceLock<[(Endpoint, CString, CString); 3]> = OnceLock::new();
    STRINGS.get_or_init(|| Endpoint::ALL.map(|e| (e, c_string(e.path()), c_string(e.code()))))
}

/// The path of an endpoint below the base URL (`"/call/ecp/startcall.action"`, ...), a static
/// string; NULL for a value that is not a `yx_endpoint`.
#[unsafe(no_mangle)]
pub extern "C" fn yx_endpoint_path(endpoint: i32) -> *const c_char {
    guard_value(ptr::null(), || {
        endpoint_from_i32(endpoint)
            .and_then(|e| endpoint_strings().iter().find(|(x, _, _)| *x == e))
            .map_or(ptr::null(), |(_, path, _)| path.as_ptr())
    })
}

/// The stable identifier of an endpoint (`"start_call"`, `"start_conf"`,
/// `"query_by_session"`), a static string; NULL for a value that is not a `yx_endpoint`.
#[unsafe(no_mangle)]
pub extern "C" fn yx_endpoint_code(endpoint: i32) -> *const c_char {
    guard_value(ptr::null(), || {
        endpoint_from_i32(endpoint)
            .and_then(|e| endpoint_strings().iter().find(|(x, _, _)| *x == e))
            .map_or(ptr::null(), |(_, _, code)| code.as_ptr())
    })
}

/// The endpoint served at `path` (e.g. `"/call/ecp/startconf.action"`) as a `yx_endpoint`
/// value, or 0 for any other path, a NULL or a non-UTF-8 string.
///
/// # Safety
/// `path` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_endpoint_from_path(path: *const c_char) -> i32 {
    guard_value(0, || {
        // SAFETY: forwarded from this function's contract.
        let path = unsafe { str_arg(path, "path") };
        path.ok()
            .and_then(Endpoint::from_path)
            .map_or(0, |e| yx_endpoint::from(e) as i32)
    })
}
