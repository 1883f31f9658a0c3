//! Result codes and error objects: the types. The functions that read an error object are in
//! [`crate::report`].
//!
//! Every fallible function returns a [`yx_result`]. When it is not `YX_OK` and the caller passed
//! a non-NULL `err_out`, `*err_out` receives a [`yx_error`] with the detail; the caller frees it
//! with `yx_error_free()`. No error state is kept anywhere else: there is no global or
//! thread-local "last error".

use std::ffi::CString;

use yunxin_ecp::callback::CallbackError;
use yunxin_ecp::codes::RetryAdvice;
use yunxin_ecp::server::AuthRefusal;
use yunxin_ecp::views::ErrorView;
use yunxin_ecp::{Error, ResponseError, TransportError, ValidationError};

use crate::strings::c_string;

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
    /// 129 characters, ...), so nothing was built or sent. `yx_error_to_json()` gives the
    /// `field` and the `rule`.
    YX_VALIDATION = 1,
    /// The service answered with a code other than 200: `yx_error_api_code()`,
    /// `yx_error_retry_advice()`; the JSON adds the service's message and the code's meaning.
    YX_API = 2,
    /// The answer could not be read (an HTML error page, truncated JSON, no session, ...):
    /// the JSON's `reason` names what was wrong.
    YX_PROTOCOL = 3,
    /// A call-end callback was refused (the JSON's `reason`: `"md5_mismatch"`, `"stale"`, ...)
    /// or could not be parsed (`"malformed"`).
    YX_CALLBACK = 4,
    /// An incoming signed request was refused (server side; the service answers 414):
    /// the JSON's `reason` says why.
    YX_AUTH = 5,
    /// The request could not be sent or no complete answer came back: the JSON's `reason` is
    /// `"connect"`, `"timeout"`, `"tls"` or `"io"`; `yx_error_maybe_sent()` says whether it may
    /// have reached the service.
    YX_TRANSPORT = 6,
    /// The operating system's random number generator failed.
    YX_ENTROPY = 7,
    /// A required pointer argument was NULL; the JSON's `field` names it.
    YX_NULL_ARGUMENT = 8,
    /// A string argument was not valid UTF-8; the JSON's `field` names it.
    YX_INVALID_UTF8 = 9,
    /// An argument is outside the values the function accepts (an unknown endpoint, an index
    /// out of range, ...); the JSON's `field` names it.
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
    pub(crate) fn code(self) -> &'static str {
        match self {
            yx_result::YX_OK => "ok",
            yx_result::YX_VALIDATION => "validation",
            yx_result::YX_API => "api",
            yx_result::YX_PROTOCOL => "protocol",
            yx_result::YX_CALLBACK => "callback",
            yx_result::YX_AUTH => "auth",
            yx_result::YX_TRANSPORT => "transport",
            yx_result::YX_ENTROPY => "entropy",
            yx_result::YX_NULL_ARGUMENT => "null_argument",
            yx_result::YX_INVALID_UTF8 => "invalid_utf8",
            yx_result::YX_INVALID_ARGUMENT => "invalid_argument",
            yx_result::YX_IO => "io",
            yx_result::YX_PANIC => "panic",
            yx_result::YX_OTHER => "other",
        }
    }
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

/// The detail of a failure. Opaque; read it with `yx_error_kind()`, `yx_error_message()`,
/// `yx_error_api_code()`, `yx_error_retry_advice()`, `yx_error_maybe_sent()`, or all of it with
/// `yx_error_to_json()`; free it with `yx_error_free()`.
///
/// Immutable once returned: any number of threads may read one error object at the same time.
/// It never holds an app secret.
#[derive(Debug)]
pub struct yx_error {
    pub(crate) kind: yx_result,
    pub(crate) message: CString,
    /// The argument a refusal of this binding's own (a NULL, text that is not UTF-8) names.
    pub(crate) field: Option<&'static str>,
    /// Which entry of that argument, for arrays.
    pub(crate) index: Option<usize>,
    /// The core's error this one was made from: every accessor and the JSON read its view.
    pub(crate) source: Option<Error>,
}

/// What fallible code inside the library returns.
pub(crate) type Fallible<T> = Result<T, Box<yx_error>>;

impl yx_error {
    /// An error of `kind` with `message` and nothing else.
    pub(crate) fn new(kind: yx_result, message: impl AsRef<str>) -> Box<yx_error> {
        Box::new(yx_error {
            kind,
            message: c_string(message),
            field: None,
            index: None,
            source: None,
        })
    }

    fn about(kind: yx_result, argument: &'static str, message: String) -> Box<yx_error> {
        let mut e = yx_error::new(kind, message);
        e.field = Some(argument);
        e
    }

    /// A required pointer argument was NULL.
    pub(crate) fn null_argument(argument: &'static str) -> Box<yx_error> {
        yx_error::about(
            yx_result::YX_NULL_ARGUMENT,
            argument,
            format!("argument {argument} is NULL"),
        )
    }

    /// A string argument was not UTF-8. The value itself is never quoted: it may be a secret.
    pub(crate) fn invalid_utf8(argument: &'static str) -> Box<yx_error> {
        yx_error::about(
            yx_result::YX_INVALID_UTF8,
            argument,
            format!("argument {argument} is not valid UTF-8"),
        )
    }

    /// An argument outside the accepted values.
    pub(crate) fn invalid_argument(argument: &'static str, why: &str) -> Box<yx_error> {
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

    /// The one view every accessor and the JSON read: the core's for the core's errors, so C,
    /// PHP and C# see what the command and the Python package print.
    pub(crate) fn view(&self) -> ErrorView<'_> {
        match &self.source {
            Some(e) => ErrorView::new(e),
            None => {
                let mut view = ErrorView::other(
                    self.kind.code(),
                    self.message.to_string_lossy().into_owned(),
                    self.field,
                );
                view.index = self.index;
                view
            }
        }
    }

    /// Whether, and how, the request may be sent again.
    pub(crate) fn retry_advice(&self) -> yx_retry_advice {
        self.source
            .as_ref()
            .map_or(yx_retry_advice::YX_RETRY_NEVER, |e| e.retry_advice().into())
    }
}

impl From<Error> for Box<yx_error> {
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
        let mut out = yx_error::new(kind, e.to_string());
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
