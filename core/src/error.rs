use std::fmt;

use crate::{
    callback::CallbackError, codes::RetryAdvice, response::ResponseError, server::AuthRefusal,
    transport::TransportError, validate::ValidationError,
};

/// Every error the crate can produce, for callers that want one type to propagate with `?`.
///
/// Each function returns its narrowest error type; this enum only gathers them. The variants
/// mirror the exception classes of the Python package and the error kinds of the C ABI.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An argument was refused before anything was built or sent.
    Validation(ValidationError),
    /// The service answered, and the answer was an error or unusable.
    Response(ResponseError),
    /// An incoming call-end callback was refused or could not be parsed.
    Callback(CallbackError),
    /// An incoming signed request was refused (server side; the real service answers 414).
    Auth(AuthRefusal),
    /// The request could not be sent, or no complete answer came back.
    Transport(TransportError),
    /// The operating system's random number generator failed, so no nonce could be drawn.
    Entropy(String),
}

impl Error {
    /// Replaces `values` (a request's `Nonce` and `CheckSum`, the secret) in every text an
    /// answer or the HTTP stack put into this error, before it reaches a log or a caller.
    pub fn redact(&mut self, values: &[&str]) {
        match self {
            Error::Response(e) => e.redact(values),
            Error::Transport(e) => e.redact(values),
            _ => {}
        }
    }

    /// Whether the request that failed may be sent again (`Never` for errors that are not
    /// about a request).
    pub fn retry_advice(&self) -> RetryAdvice {
        match self {
            Error::Response(e) => e.retry_advice(),
            Error::Transport(e) => e.retry_advice(),
            _ => RetryAdvice::Never,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Validation(e) => e.fmt(f),
            Error::Response(e) => e.fmt(f),
            Error::Callback(e) => e.fmt(f),
            Error::Auth(e) => e.fmt(f),
            Error::Transport(e) => e.fmt(f),
            Error::Entropy(e) => write!(f, "the OS random number generator failed: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ValidationError> for Error {
    fn from(e: ValidationError) -> Self {
        Error::Validation(e)
    }
}

impl From<ResponseError> for Error {
    fn from(e: ResponseError) -> Self {
        Error::Response(e)
    }
}

impl From<CallbackError> for Error {
    fn from(e: CallbackError) -> Self {
        Error::Callback(e)
    }
}

impl From<AuthRefusal> for Error {
    fn from(e: AuthRefusal) -> Self {
        Error::Auth(e)
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Error::Transport(e)
    }
}
