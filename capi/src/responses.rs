//! Reading answers (start, query and generic responses), the call record, the code table and
//! billing.

use std::collections::BTreeMap;
use std::ffi::{CString, c_char, c_void};
use std::ptr;
use std::sync::OnceLock;

use serde::Serialize;
use yunxin_ecp::billing::billed_minutes;
use yunxin_ecp::codes::{self, RequestKind};
use yunxin_ecp::response::{parse_query, parse_start};
use yunxin_ecp::views::RecordView;
use yunxin_ecp::{CallRecord, Endpoint, Rate};

use crate::args::{self, Out, bytes_arg};
use crate::error::{Fallible, yx_error, yx_result, yx_retry_advice};
use crate::json::to_json;
use crate::panic::{fallible, guard_value};
use crate::requests::{Request, endpoint_from_i32, yx_request};
use crate::strings::c_string;

/// Reads a response body argument and checks the out-parameter.
///
/// # Safety
/// As the `yx_parse_*` functions' contracts.
unsafe fn response_args<'a, T>(
    body: *const c_void,
    body_len: usize,
    out: *mut T,
    out_name: &'static str,
) -> Fallible<(&'a [u8], Out<T>)> {
    // SAFETY: forwarded from the caller's contract.
    unsafe { Ok((bytes_arg(body, body_len, "body")?, Out::new(out, out_name)?)) }
}

/// Reads the answer to a start request (`endpoint` is `YX_ENDPOINT_START_CALL` or
/// `YX_ENDPOINT_START_CONF`) from its HTTP status and raw body bytes, and writes the session
/// id to `*session_out` (free with `yx_string_free`). Never trusts the body: an HTML error
/// page, truncated JSON or a missing session is `YX_PROTOCOL`; a code other than 200 is
/// `YX_API` with the code, the service's message and the retry advice for a start.
///
/// # Safety
/// `body` must be NULL or valid for reads of `body_len` bytes (NULL only when `body_len` is
/// 0); `session_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_parse_start_response(
    endpoint: i32,
    http_status: u16,
    body: *const c_void,
    body_len: usize,
    session_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (body, out) = unsafe { response_args(body, body_len, session_out, "session_out")? };
        let endpoint = endpoint_from_i32(endpoint)
            .filter(|e| e.kind() == RequestKind::Start)
            .ok_or_else(|| {
                yx_error::invalid_argument(
                    "endpoint",
                    "must be YX_ENDPOINT_START_CALL or YX_ENDPOINT_START_CONF",
                )
            })?;
        out.string(parse_start(endpoint, http_status, body)?.session);
        Ok(())
    })
}

/// Reads the answer to a `queryBySession` request and writes the record to `*record_out`
/// (free with `yx_call_record_free`). Errors as for `yx_parse_start_response()`, with the retry
/// advice of a query.
///
/// # Safety
/// As `yx_parse_start_response()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_parse_query_response(
    http_status: u16,
    body: *const c_void,
    body_len: usize,
    record_out: *mut *mut yx_call_record,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (body, out) = unsafe { response_args(body, body_len, record_out, "record_out")? };
        out.handle(yx_call_record::new(parse_query(http_status, body)?));
        Ok(())
    })
}

/// Reads the answer to a request from `yx_api_request_new()` and writes the whole JSON body to
/// `*json_out` (free with `yx_string_free`). A `code` other than 200 is `YX_API` with the code
/// table's meaning; an answer that is not a JSON object with a numeric `code` is `YX_PROTOCOL`.
/// Any other request is `YX_INVALID_ARGUMENT`.
///
/// # Safety
/// `request` must be NULL or a live handle; `body` NULL or valid for reads of `body_len` bytes
/// (NULL only when `body_len` is 0); `json_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_parse_api_response(
    request: *const yx_request,
    http_status: u16,
    body: *const c_void,
    body_len: usize,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (r, (body, out)) = unsafe {
            (
                args::handle(request, "request")?,
                response_args(body, body_len, json_out, "json_out")?,
            )
        };
        let Request::Api(api) = &r.inner else {
            return Err(yx_error::invalid_argument(
                "request",
                "is an ECP request: use yx_parse_start_response or yx_parse_query_response",
            ));
        };
        out.string(to_json(&api.parse_response(http_status, body)?)?);
        Ok(())
    })
}

/// The record of one call or conference, from `yx_parse_query_response()`,
/// `yx_client_query()` or a call-end callback. A C program reads what it acts on with
/// `yx_call_record_session()`, `yx_call_record_answered()`, `yx_call_record_billed_minutes()`
/// and `yx_call_record_cost_fen()`, and everything with `yx_call_record_to_json()`. Free with
/// `yx_call_record_free()`.
///
/// Immutable: may be read from any number of threads at once.
#[derive(Debug, Clone)]
pub struct yx_call_record {
    pub(crate) inner: CallRecord,
    session: Option<CString>,
}

impl yx_call_record {
    pub(crate) fn new(inner: CallRecord) -> Self {
        yx_call_record {
            // An identifier is handed out exactly or not at all: a NUL cannot cross as C text,
            // and replacing it would name another session.
            session: inner
                .session
                .as_deref()
                .filter(|s| !s.contains('\0'))
                .map(c_string),
            inner,
        }
    }
}

/// Frees a call record. `NULL` is a no-op.
///
/// # Safety
/// `record` must be NULL or a live handle, not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_call_record_free(record: *mut yx_call_record) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(record) }
}

/// The session id. Borrowed from the record; NULL when absent, when it holds a NUL byte (the
/// JSON has it, escaped), or when `record` is NULL.
///
/// # Safety
/// `record` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_call_record_session(record: *const yx_call_record) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        args::read(record, ptr::null(), |r| {
            r.session.as_ref().map_or(ptr::null(), |s| s.as_ptr())
        })
    }
}

/// 1 when someone talked (`durationSec > 0`), else 0. The `status` word does not tell.
///
/// # Safety
/// `record` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_call_record_answered(record: *const yx_call_record) -> i32 {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(record, 0, |r| i32::from(r.inner.answered())) }
}

/// Minutes billed: every started minute counts (61 s is 2 minutes, 0 s is 0).
///
/// # Safety
/// `record` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_call_record_billed_minutes(record: *const yx_call_record) -> u64 {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(record, 0, |r| r.inner.billed_minutes()) }
}

/// What the call cost in fen (0.01 yuan) at `fen_per_minute` (the published rate is 12,
/// 0.12 yuan), saturating instead of overflowing.
///
/// # Safety
/// `record` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_call_record_cost_fen(
    record: *const yx_call_record,
    fen_per_minute: u64,
) -> u64 {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        args::read(record, 0, |r| {
            r.inner.cost(Rate::fen_per_minute(fen_per_minute)).fen
        })
    }
}

/// Writes the record as JSON to `*json_out` (free with `yx_string_free`): `session`,
/// `init_account`, `caller`, `callee`, `members` (array or null), `create_time_ms`,
/// `start_time`, `duration_sec`, `status`, `legs` (`[{"endpoint","end_time","hang_cause"}]`),
/// `raw` (the record exactly as decoded, with fields this library does not model), then
/// `answered`, `billed_minutes`, `cost_fen` (at 12 fen a minute) and `is_conference`.
///
/// # Safety
/// `record` must be NULL or a live handle; `json_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_call_record_to_json(
    record: *const yx_call_record,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        crate::json::write_json(record, "record", json_out, err_out, |r| {
            to_json(&RecordView::new(&r.inner))
        })
    }
}

/// The meanings of every code the table knows, and the one for any other code.
fn meanings() -> &'static (BTreeMap<i64, CString>, CString) {
    static TABLE: OnceLock<(BTreeMap<i64, CString>, CString)> = OnceLock::new();
    TABLE.get_or_init(|| {
        let unknown = codes::meaning(-1);
        let known = (0..1000)
            .map(|code| (code, codes::meaning(code)))
            .filter(|(_, meaning)| *meaning != unknown)
            .map(|(code, meaning)| (code, c_string(meaning)))
            .collect();
        (known, c_string(unknown))
    })
}

/// What a service result code means, in English (`414` gives `"parameter error, or bad http
/// header (signature or clock)"`; a code outside the table gives `"unknown code"`). A static
/// string, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn yx_code_meaning(code: i64) -> *const c_char {
    guard_value(ptr::null(), || {
        let (known, unknown) = meanings();
        known.get(&code).unwrap_or(unknown).as_ptr()
    })
}

/// Whether a request to `endpoint` (a `yx_endpoint` value) that was answered `code` may be
/// sent again. A start is billable and not idempotent, so 500 gives
/// `YX_RETRY_OUTCOME_UNKNOWN` for a start but `YX_RETRY_SAFE` for a query. `YX_ENDPOINT_API`
/// answers for a generic request not marked idempotent (503 gives `YX_RETRY_OUTCOME_UNKNOWN`).
/// An unknown `endpoint` gives `YX_RETRY_NEVER`, the safe reading.
#[unsafe(no_mangle)]
pub extern "C" fn yx_code_retry_advice(code: i64, endpoint: i32) -> yx_retry_advice {
    guard_value(yx_retry_advice::YX_RETRY_NEVER, || {
        endpoint_from_i32(endpoint).map_or(yx_retry_advice::YX_RETRY_NEVER, |e| {
            codes::retry_advice(code, e.kind()).into()
        })
    })
}

#[derive(Serialize)]
struct CodeRow {
    code: i64,
    meaning: &'static str,
    retry_start: &'static str,
    retry_query: &'static str,
}

/// Writes the whole code table as a JSON array to `*json_out` (free with `yx_string_free`):
/// `[{"code":200,"meaning":"success","retry_start":"never","retry_query":"never"},...]`.
///
/// # Safety
/// `json_out` and `err_out` must be NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_code_table_json(
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let out = unsafe { Out::new(json_out, "json_out")? };
        let advice = |code, kind| codes::retry_advice(code, kind).code();
        let rows: Vec<CodeRow> = meanings()
            .0
            .keys()
            .map(|&code| CodeRow {
                code,
                meaning: codes::meaning(code),
                retry_start: advice(code, Endpoint::StartCall.kind()),
                retry_query: advice(code, Endpoint::QueryBySession.kind()),
            })
            .collect();
        out.string(to_json(&rows)?);
        Ok(())
    })
}

/// Minutes billed for a call of `duration_sec` seconds: every started minute counts.
#[unsafe(no_mangle)]
pub extern "C" fn yx_billed_minutes(duration_sec: u64) -> u64 {
    guard_value(0, || billed_minutes(duration_sec))
}

/// The cost in fen of a call of `duration_sec` seconds at `fen_per_minute` (the published rate
/// is 12), saturating instead of overflowing.
#[unsafe(no_mangle)]
pub extern "C" fn yx_cost_fen(duration_sec: u64, fen_per_minute: u64) -> u64 {
    guard_value(0, || {
        Rate::fen_per_minute(fen_per_minute).cost(duration_sec).fen
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn code_table() {
        // SAFETY: static strings.
        unsafe {
            assert_eq!(CStr::from_ptr(yx_code_meaning(200)), c"success");
            assert_eq!(CStr::from_ptr(yx_code_meaning(12345)), c"unknown code");
        }
        assert_eq!(
            yx_code_retry_advice(500, 1),
            yx_retry_advice::YX_RETRY_OUTCOME_UNKNOWN
        );
        assert_eq!(yx_code_retry_advice(500, 3), yx_retry_advice::YX_RETRY_SAFE);
        assert_eq!(
            yx_code_retry_advice(500, 9),
            yx_retry_advice::YX_RETRY_NEVER
        );
        assert!(meanings().0.contains_key(&999));
        assert_eq!(yx_cost_fen(61, 12), 24);
    }
}
