//! Result codes and error objects.
//!
//! Every fallible function returns a [`yx_result`]. When it is not `YX_OK` and the caller passed
//! a non-NULL `err_out`, `*err_out` receives a [`yx_error`] with the detail; the caller frees it
//! with [`yx_error_free`]. No error state is kept anywhere else: there is no global or
//! thread-local "last error".

use std::ffi::{CString, c_char};
use std::ptr;

use yunxin_ecp::callback::CallbackError;
use yunxin_ecp::codes::RetryAdvice;
use yunxin_ecp::server::AuthRefusal;
use yunxin_ecp::views::ErrorView;
use yunxin_ecp::{Endpoint, Error, ResponseError, TransportError, ValidationError};

use crate::args::{self, Out};
use crate::panic::{ErrOut, guard, guard_value};
use crate::requests::yx_endpoint;
use crate::strings::{c_string, opt_ptr, out_string};

/// What a function returned: `YX_OK`, or the kind of error.
///
/// The values are stable; new kinds are only ever added at the end. The same value is
/// available later from `yx_error_kind()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum yx_result {
    /// Success: the out-parameters were written.
    YX_OK = 0,
    /// An argument broke a rule of the API (a number with `+86`, a `maxDur` of 0, a nonce of
    /// 129 characters, ...), so nothing was built or sent. `yx_error_field()` and
    /// `yx_error_rule()` say which argument and which rule.
    YX_VALIDATION = 1,
    /// The service answered with a code other than 200: `yx_error_api_code()`,
    /// `yx_error_api_message()`, `yx_error_retry_advice()`.
    YX_API = 2,
    /// The answer could not be read (an HTML error page, truncated JSON, no session, ...):
    /// `yx_error_reason()` names what was wrong.
    YX_PROTOCOL = 3,
    /// A call-end callback was refused (`yx_error_reason()`: `"md5_mismatch"`, `"stale"`, ...)
    /// or could not be parsed (`"malformed"`).
    YX_CALLBACK = 4,
    /// An incoming signed request was refused (server side; the service answers 414):
    /// `yx_error_reason()` says why.
    YX_AUTH = 5,
    /// The request could not be sent or no complete answer came back: `yx_error_reason()` is
    /// `"connect"`, `"timeout"`, `"tls"` or `"io"`; `yx_error_maybe_sent()` says whether it may
    /// have reached the service.
    YX_TRANSPORT = 6,
    /// The operating system's random number generator failed.
    YX_ENTROPY = 7,
    /// A required pointer argument was NULL; `yx_error_field()` names it.
    YX_NULL_ARGUMENT = 8,
    /// A string argument was not valid UTF-8; `yx_error_field()` names it.
    YX_INVALID_UTF8 = 9,
    /// An argument is outside the values the function accepts (an unknown endpoint, an index
    /// out of range, ...); `yx_error_field()` names it.
    YX_INVALID_ARGUMENT = 10,
    /// An operating-system I/O error outside a request (e.g. the mock server could not bind).
    YX_IO = 11,
    /// A bug: the library panicked. The panic was caught at the boundary; the handles passed
    /// in are still valid and must still be freed.
    YX_PANIC = 12,
    /// An error of a kind this version of the ABI does not classify.
    YX_OTHER = 13,
}

impl yx_result {
    /// A stable lowercase identifier (`"ok"`, `"validation"`, ...).
    pub(crate) fn code(self) -> &'static std::ffi::CStr {
        match self {
            yx_result::YX_OK => c"ok",
            yx_result::YX_VALIDATION => c"validation",
            yx_result::YX_API => c"api",
            yx_result::YX_PROTOCOL => c"protocol",
            yx_result::YX_CALLBACK => c"callback",
            yx_result::YX_AUTH => c"auth",
            yx_result::YX_TRANSPORT => c"transport",
            yx_result::YX_ENTROPY => c"entropy",
            yx_result::YX_NULL_ARGUMENT => c"null_argument",
            yx_result::YX_INVALID_UTF8 => c"invalid_utf8",
            yx_result::YX_INVALID_ARGUMENT => c"invalid_argument",
            yx_result::YX_IO => c"io",
            yx_result::YX_PANIC => c"panic",
            yx_result::YX_OTHER => c"other",
        }
    }

    const ALL: [yx_result; 14] = [
        yx_result::YX_OK,
        yx_result::YX_VALIDATION,
        yx_result::YX_API,
        yx_result::YX_PROTOCOL,
        yx_result::YX_CALLBACK,
        yx_result::YX_AUTH,
        yx_result::YX_TRANSPORT,
        yx_result::YX_ENTROPY,
        yx_result::YX_NULL_ARGUMENT,
        yx_result::YX_INVALID_UTF8,
        yx_result::YX_INVALID_ARGUMENT,
        yx_result::YX_IO,
        yx_result::YX_PANIC,
        yx_result::YX_OTHER,
    ];
}

/// Whether, and how, a failed request may be sent again.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum yx_retry_advice {
    /// Sending it again would fail the same way, or do harm. Also the answer for errors that
    /// are not about a request.
    YX_RETRY_NEVER = 0,
    /// Safe to send again now.
    YX_RETRY_SAFE = 1,
    /// Rejected as rate limited or busy: send again after an exponential backoff.
    YX_RETRY_BACKOFF = 2,
    /// A start answered 503: send again once, after a delay.
    YX_RETRY_ONCE_AFTER_DELAY = 3,
    /// The request may have taken effect (a billable call may have been placed): query the
    /// session before sending it again.
    YX_RETRY_OUTCOME_UNKNOWN = 4,
}

impl From<RetryAdvice> for yx_retry_advice {
    fn from(advice: RetryAdvice) -> Self {
        match advice {
            RetryAdvice::Safe => yx_retry_advice::YX_RETRY_SAFE,
            RetryAdvice::Backoff => yx_retry_advice::YX_RETRY_BACKOFF,
            RetryAdvice::OnceAfterDelay => yx_retry_advice::YX_RETRY_ONCE_AFTER_DELAY,
            RetryAdvice::OutcomeUnknown => yx_retry_advice::YX_RETRY_OUTCOME_UNKNOWN,
            // Never, and any advice added later: not retrying is the safe reading.
            _ => yx_retry_advice::YX_RETRY_NEVER,
        }
    }
}

impl yx_retry_advice {
    pub(crate) fn code(self) -> &'static std::ffi::CStr {
        match self {
            yx_retry_advice::YX_RETRY_NEVER => c"never",
            yx_retry_advice::YX_RETRY_SAFE => c"safe",
            yx_retry_advice::YX_RETRY_BACKOFF => c"backoff",
            yx_retry_advice::YX_RETRY_ONCE_AFTER_DELAY => c"once_after_delay",
            yx_retry_advice::YX_RETRY_OUTCOME_UNKNOWN => c"outcome_unknown",
        }
    }

    pub(crate) fn from_i32(value: i32) -> Option<Self> {
        [
            yx_retry_advice::YX_RETRY_NEVER,
            yx_retry_advice::YX_RETRY_SAFE,
            yx_retry_advice::YX_RETRY_BACKOFF,
            yx_retry_advice::YX_RETRY_ONCE_AFTER_DELAY,
            yx_retry_advice::YX_RETRY_OUTCOME_UNKNOWN,
        ]
        .into_iter()
        .find(|a| *a as i32 == value)
    }
}

/// The detail of a failure. Opaque; read it with the `yx_error_*` functions and free it with
/// `yx_error_free()`.
///
/// Immutable once returned: any number of threads may read one error object at the same time.
/// It never holds an app secret.
#[derive(Debug)]
pub struct yx_error {
    pub(crate) kind: yx_result,
    pub(crate) message: CString,
    pub(crate) field: Option<CString>,
    pub(crate) rule: Option<CString>,
    pub(crate) index: Option<usize>,
    pub(crate) api_code: Option<i64>,
    pub(crate) api_message: Option<CString>,
    pub(crate) http_status: u16,
    pub(crate) reason: Option<CString>,
    pub(crate) retry: yx_retry_advice,
    pub(crate) maybe_sent: bool,
    pub(crate) raw_body: Option<CString>,
    pub(crate) endpoint: Option<Endpoint>,
    pub(crate) attempts: u32,
    /// The core's error this one was made from; its JSON is the core's view of it.
    source: Option<Error>,
}

/// What fallible code inside the library returns.
pub(crate) type Fallible<T> = Result<T, Box<yx_error>>;

impl yx_error {
    /// An error of `kind` with `message` and nothing else.
    pub(crate) fn new(kind: yx_result, message: impl Into<String>) -> Box<yx_error> {
        Box::new(yx_error {
            kind,
            message: c_string(message.into()),
            field: None,
            rule: None,
            index: None,
            api_code: None,
            api_message: None,
            http_status: 0,
            reason: None,
            retry: yx_retry_advice::YX_RETRY_NEVER,
            maybe_sent: false,
            raw_body: None,
            endpoint: None,
            attempts: 0,
            source: None,
        })
    }

    fn about(kind: yx_result, argument: &str, message: String) -> Box<yx_error> {
        let mut e = yx_error::new(kind, message);
        e.field = Some(c_string(argument));
        e
    }

    /// A required pointer argument was NULL.
    pub(crate) fn null_argument(argument: &str) -> Box<yx_error> {
        yx_error::about(
            yx_result::YX_NULL_ARGUMENT,
            argument,
            format!("argument {argument} is NULL"),
        )
    }

    /// A string argument was not UTF-8. The value itself is never quoted: it may be a secret.
    pub(crate) fn invalid_utf8(argument: &str) -> Box<yx_error> {
        yx_error::about(
            yx_result::YX_INVALID_UTF8,
            argument,
            format!("argument {argument} is not valid UTF-8"),
        )
    }

    /// An argument outside the accepted values.
    pub(crate) fn invalid_argument(argument: &str, why: &str) -> Box<yx_error> {
        yx_error::about(
            yx_result::YX_INVALID_ARGUMENT,
            argument,
            format!("argument {argument} {why}"),
        )
    }

    /// The library panicked; `payload` is what the panic carried.
    pub(crate) fn panic(payload: &(dyn std::any::Any + Send)) -> Box<yx_error> {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("no message");
        yx_error::new(
            yx_result::YX_PANIC,
            format!("internal error in yunxin_ecp (please report it): {what}"),
        )
    }
}

impl From<Error> for Box<yx_error> {
    /// Every accessor reads the core's one view of the error ([`ErrorView`]), so C, PHP and C#
    /// see what the command and the Python package print.
    fn from(e: Error) -> Self {
        let kind = match &e {
            Error::Validation(_) => yx_result::YX_VALIDATION,
            Error::Response(ResponseError::Api(_)) => yx_result::YX_API,
            Error::Response(ResponseError::Protocol(_)) => yx_result::YX_PROTOCOL,
            Error::Callback(_) => yx_result::YX_CALLBACK,
            Error::Auth(_) => yx_result::YX_AUTH,
            Error::Transport(_) => yx_result::YX_TRANSPORT,
            Error::Entropy(_) => yx_result::YX_ENTROPY,
            _ => yx_result::YX_OTHER,
        };
        let view = ErrorView::new(&e);
        let mut out = yx_error::new(kind, view.message.as_str());
        out.field = view.field.map(c_string);
        out.rule = view.rule.map(c_string);
        out.index = view.index;
        out.api_code = view.code;
        out.api_message = view.api_message.map(c_string);
        out.http_status = view.http_status.unwrap_or(0);
        out.reason = view.reason.map(c_string);
        out.retry = e.retry_advice().into();
        out.maybe_sent = view.maybe_sent;
        out.raw_body = view.raw_body.map(c_string);
        out.endpoint = view.endpoint;
        out.attempts = view.attempts.unwrap_or(0);
        out.source = Some(e);
        out
    }
}

/// The narrower error types convert through [`Error`], so each is flattened in one place.
macro_rules! through_core_error {
    ($($t:ty),*) => {$(
        impl From<$t> for Box<yx_error> {
            fn from(e: $t) -> Self {
                Error::from(e).into()
            }
        }
    )*};
}
through_core_error!(
    ValidationError,
    ResponseError,
    CallbackError,
    AuthRefusal,
    TransportError
);

/// Frees an error object. `NULL` is a no-op.
///
/// # Safety
/// `err` must be NULL or an error from this library not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_free(err: *mut yx_error) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(err) }
}

/// The kind of the error: the same value the failing function returned.
/// `YX_NULL_ARGUMENT` when `err` is NULL.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_kind(err: *const yx_error) -> yx_result {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, yx_result::YX_NULL_ARGUMENT, |e| e.kind) }
}

/// A message for people, in English: what went wrong and, where it helps, what to do. Never
/// holds a secret. Borrowed from `err` (valid until `yx_error_free`); NULL when `err` is NULL.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_message(err: *const yx_error) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, ptr::null(), |e| e.message.as_ptr()) }
}

/// The argument or API parameter concerned: for `YX_VALIDATION` the parameter (`"callee"`,
/// `"maxDur"`, `"nonce"`, ...), for `YX_NULL_ARGUMENT`, `YX_INVALID_UTF8` and
/// `YX_INVALID_ARGUMENT` the C argument, for a missing header (`YX_CALLBACK`, `YX_AUTH`) the
/// header. NULL otherwise. Borrowed from `err`.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_field(err: *const yx_error) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, ptr::null(), |e| opt_ptr(&e.field)) }
}

/// For `YX_VALIDATION`: the stable identifier of the broken rule (`"empty"`, `"length"`,
/// `"charset"`, `"country_code"`, `"separator"`, `"not_digits"`, `"mobile_length"`,
/// `"landline_length"`, `"number_prefix"`, `"count"`, `"duplicate"`, `"not_positive"`,
/// `"not_integer"`, `"one_of"`, `"milliseconds"`, `"url"`, `"json_array"`). NULL otherwise.
/// Borrowed from `err`.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_rule(err: *const yx_error) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, ptr::null(), |e| opt_ptr(&e.rule)) }
}

/// For `YX_VALIDATION` of a list parameter (the conference callees): the position of the
/// offending entry. -1 when there is none.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_index(err: *const yx_error) -> i64 {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        args::read(err, -1, |e| {
            e.index.and_then(|i| i64::try_from(i).ok()).unwrap_or(-1)
        })
    }
}

/// For `YX_API`: the service's code (e.g. 414, 403, 500). 0 for other kinds.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_api_code(err: *const yx_error) -> i64 {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, 0, |e| e.api_code.unwrap_or(0)) }
}

/// For `YX_API`: the service's own explanation (`msg`, else `desc`), when it sent one. NULL
/// otherwise. Borrowed from `err`. `yx_code_meaning()` gives the meaning of the code itself.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_api_message(err: *const yx_error) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, ptr::null(), |e| opt_ptr(&e.api_message)) }
}

/// For `YX_API` and `YX_PROTOCOL`: the HTTP status of the answer (business errors come with
/// 200). 0 when there was no answer.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_http_status(err: *const yx_error) -> u16 {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, 0, |e| e.http_status) }
}

/// A stable identifier refining the kind: for `YX_PROTOCOL` what was wrong with the answer
/// (`"empty"`, `"html"`, `"not_json"`, `"truncated"`, `"not_an_object"`, `"missing_code"`, `"bad_code"`,
/// `"missing_result"`, `"http_status"`, `"too_large"`, `"redirect"`); for `YX_CALLBACK` why the callback was
/// refused (`"missing_header"`, `"duplicate_header"`, `"malformed_cur_time"`, `"md5_mismatch"`,
/// `"checksum_mismatch"`, `"app_key_mismatch"`, `"stale"`, `"future"`, `"malformed"`); for
/// `YX_AUTH` why the request was refused (`"missing_header"`, `"duplicate_header"`, `"unknown_app_key"`,
/// `"nonce_too_long"`, `"malformed_cur_time"`, `"outside_window"`, `"checksum_mismatch"`); for
/// `YX_TRANSPORT` the failed step (`"connect"`, `"timeout"`, `"tls"`, `"io"`). NULL otherwise.
/// Borrowed from `err`.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_reason(err: *const yx_error) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, ptr::null(), |e| opt_ptr(&e.reason)) }
}

/// Whether the request that failed may be sent again. A start request (billable, not
/// idempotent) that may have reached the service gets `YX_RETRY_OUTCOME_UNKNOWN`: query
/// before placing it again. `YX_RETRY_NEVER` for errors that are not about a request, and when
/// `err` is NULL.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_retry_advice(err: *const yx_error) -> yx_retry_advice {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, yx_retry_advice::YX_RETRY_NEVER, |e| e.retry) }
}

/// 1 when the request may have reached the service: always for `YX_API` and `YX_PROTOCOL`
/// (an answer came back), and for `YX_TRANSPORT` unless the failure provably happened before
/// anything was sent (a refused connection). 0 otherwise.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_maybe_sent(err: *const yx_error) -> i32 {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, 0, |e| i32::from(e.maybe_sent)) }
}

/// For `YX_API` and `YX_PROTOCOL`: the body of the answer as received (invalid UTF-8 and NUL
/// bytes replaced by U+FFFD). NULL otherwise. Borrowed from `err`.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_raw_body(err: *const yx_error) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(err, ptr::null(), |e| opt_ptr(&e.raw_body)) }
}

/// The endpoint the failed request was for (a `yx_endpoint` value), or 0 when the error is
/// not about a request.
///
/// # Safety
/// `err` must be NULL or a live error object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_endpoint(err: *const yx_error) -> i32 {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        args::read(err, 0, |e| {
            e.endpoint.map_or(0, |ep| yx_endpoint::from(ep) as i32)
        })
    }
}

/// Writes the whole error as a JSON object to `*json_out` (free it with `yx_string_free`):
/// `kind`, `message`, `field`, `rule`, `index`, `code`, `api_message`, `meaning`,
/// `http_status`, `reason`, `retry`, `maybe_sent`, `endpoint`, `path`, `attempts`, `detail`, `raw_body`: the
/// core's view of the error, as the command and the Python package print it (absent
/// values are `null`).
///
/// # Safety
/// `err` must be NULL or a live error object; `json_out` and `err_out` must be NULL or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_error_to_json(
    err: *const yx_error,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (e, out) = unsafe { (args::handle(err, "err")?, Out::new(json_out, "json_out")?) };
        let view = match &e.source {
            Some(source) => ErrorView::new(source),
            None => ErrorView::other(
                e.kind.code().to_str().unwrap_or("other"),
                e.message.to_string_lossy().into_owned(),
                e.field.as_deref().and_then(|f| f.to_str().ok()),
            ),
        };
        out_string(out, crate::json::to_json(&view)?);
        Ok(())
    })
}

/// The stable lowercase identifier of a result code (`"ok"`, `"validation"`, `"api"`, ...), a
/// static string; NULL for a value that is not a `yx_result`.
#[unsafe(no_mangle)]
pub extern "C" fn yx_result_code(result: i32) -> *const c_char {
    guard_value(ptr::null(), || {
        yx_result::ALL
            .into_iter()
            .find(|r| *r as i32 == result)
            .map_or(ptr::null(), |r| r.code().as_ptr())
    })
}

/// The stable lowercase identifier of a retry advice (`"never"`, `"safe"`, `"backoff"`,
/// `"once_after_delay"`, `"outcome_unknown"`), a static string; NULL for a value that is not a
/// `yx_retry_advice`.
#[unsafe(no_mangle)]
pub extern "C" fn yx_retry_advice_code(advice: i32) -> *const c_char {
    guard_value(ptr::null(), || {
        yx_retry_advice::from_i32(advice).map_or(ptr::null(), |a| a.code().as_ptr())
    })
}

/// 1 when sending the same request again cannot place a second call (`YX_RETRY_SAFE`,
/// `YX_RETRY_BACKOFF`, `YX_RETRY_ONCE_AFTER_DELAY`), 0 otherwise.
#[unsafe(no_mangle)]
pub extern "C" fn yx_retry_advice_is_safe(advice: i32) -> i32 {
    guard_value(0, || {
        i32::from(matches!(
            yx_retry_advice::from_i32(advice),
            Some(
                yx_retry_advice::YX_RETRY_SAFE
                    | yx_retry_advice::YX_RETRY_BACKOFF
                    | yx_retry_advice::YX_RETRY_ONCE_AFTER_DELAY
            )
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn codes_are_distinct_and_stable() {
        for (i, r) in yx_result::ALL.into_iter().enumerate() {
            assert_eq!(r as i32, i as i32);
            // SAFETY: a static string.
            let code = unsafe { CStr::from_ptr(yx_result_code(r as i32)) };
            assert_eq!(code, r.code());
        }
        assert!(yx_result_code(-1).is_null());
        assert!(yx_retry_advice_code(5).is_null());
        assert_eq!(yx_retry_advice_is_safe(4), 0);
        assert_eq!(yx_retry_advice_is_safe(2), 1);
    }

    #[test]
    fn null_error_accessors() {
        // SAFETY: NULL is allowed everywhere here.
        unsafe {
            assert_eq!(yx_error_kind(ptr::null()), yx_result::YX_NULL_ARGUMENT);
            assert!(yx_error_message(ptr::null()).is_null());
            assert_eq!(yx_error_index(ptr::null()), -1);
            assert_eq!(yx_error_maybe_sent(ptr::null()), 0);
            yx_error_free(ptr::null_mut());
        }
    }
}
