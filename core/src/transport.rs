//! Failures below HTTP: the request could not be sent, or no complete answer came back.
//!
//! What matters most is whether the request may have reached the service: a start request that
//! may have arrived may also have placed a (billable) call, so it must be queried, not resent.

use std::fmt;

use serde::Serialize;

use crate::codes::{RequestKind, RetryAdvice};
use crate::endpoint::Endpoint;
use crate::response::{Target, outcome_unknown};

/// Which step of the exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// Resolving the host or opening the connection failed: nothing was sent.
    Connect,
    /// A timeout expired (connect, send, or waiting for the answer).
    Timeout,
    /// The TLS handshake or certificate verification failed.
    Tls,
    /// The connection broke (reset, closed early) or another I/O error.
    Io,
}

impl TransportErrorKind {
    /// A stable identifier shared by the bindings.
    pub fn code(self) -> &'static str {
        match self {
            TransportErrorKind::Connect => "connect",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::Tls => "tls",
            TransportErrorKind::Io => "io",
        }
    }

    /// Every kind, in the order of their numbers in the C ABI.
    pub const ALL: [TransportErrorKind; 4] = [
        TransportErrorKind::Connect,
        TransportErrorKind::Timeout,
        TransportErrorKind::Tls,
        TransportErrorKind::Io,
    ];

    /// The kind whose [`code`](Self::code) is `code`, for drivers that name it as text.
    ///
    /// ```
    /// use yunxin_ecp::TransportErrorKind;
    /// assert_eq!(TransportErrorKind::from_code("tls"), Some(TransportErrorKind::Tls));
    /// assert_eq!(TransportErrorKind::from_code("TLS"), None);
    /// ```
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// The exchange with the service failed below HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransportError {
    /// The endpoint the request was for.
    pub endpoint: Endpoint,
    /// For [`Endpoint::Api`], the path requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Which step failed.
    pub kind: TransportErrorKind,
    /// Whether the request may have reached the service (false only when provably not sent).
    pub maybe_sent: bool,
    /// What the HTTP stack reported.
    pub detail: String,
    /// How many attempts were made in all.
    pub attempts: u32,
}

impl TransportError {
    /// Replaces `values` in what the HTTP stack reported, which may quote the server.
    pub fn redact(&mut self, values: &[&str]) {
        crate::redact::redact(&mut self.detail, values);
    }

    /// Whether the same request may be sent again: always when nothing was sent; for a start
    /// request that may have arrived, only after a query shows no call was placed.
    pub fn retry_advice(&self) -> RetryAdvice {
        match (self.maybe_sent, self.endpoint.kind()) {
            (false, _) | (true, RequestKind::Query) => RetryAdvice::Safe,
            (true, RequestKind::Start | RequestKind::NotIdempotent) => RetryAdvice::OutcomeUnknown,
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.kind {
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Tls => "TLS failed",
            TransportErrorKind::Io => "connection failed",
        };
        write!(
            f,
            "{} {step} after {} attempt(s): {}",
            Target(self.endpoint, self.path.as_deref()),
            self.attempts,
            self.detail
        )?;
        match (self.maybe_sent, self.endpoint.kind()) {
            (false, _) => f.write_str("; the request was not sent"),
            (true, RequestKind::Start) => f.write_str(
                "; the request may have reached the service and the call may have been placed: \
                 query before trying again",
            ),
            (true, RequestKind::NotIdempotent) => f.write_str(outcome_unknown(self.endpoint)),
            (true, RequestKind::Query) => f.write_str("; safe to retry"),
        }
    }
}

impl std::error::Error for TransportError {}
