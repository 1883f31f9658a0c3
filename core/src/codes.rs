//! The service's result codes: what each means and whether a request that got it may be sent again.
//!
//! A start request places a billable call and is not idempotent, so its retry column is stricter
//! than a query's: once a start may have reached the service, the only safe next step is a query.

use serde::Serialize;

/// Whether, and how, a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetryAdvice {
    /// Sending it again will fail the same way (or do harm).
    Never,
    /// Safe to send again now.
    Safe,
    /// Rejected as rate limited or busy: safe to send again after an exponential backoff.
    Backoff,
    /// Safe to send again once, after a delay (a start request answered 503).
    OnceAfterDelay,
    /// The request may have taken effect (a call may have been placed): query before sending it
    /// again.
    OutcomeUnknown,
}

impl RetryAdvice {
    /// True when sending the same request again cannot place a second call.
    pub fn is_safe(self) -> bool {
        matches!(
            self,
            RetryAdvice::Safe | RetryAdvice::Backoff | RetryAdvice::OnceAfterDelay
        )
    }

    /// A stable identifier shared by the bindings.
    pub fn code(self) -> &'static str {
        match self {
            RetryAdvice::Never => "never",
            RetryAdvice::Safe => "safe",
            RetryAdvice::Backoff => "backoff",
            RetryAdvice::OnceAfterDelay => "once_after_delay",
            RetryAdvice::OutcomeUnknown => "outcome_unknown",
        }
    }
}

/// Whether a request creates something billable (start) or only reads (query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// `startcall` and `startconf`: billable, not idempotent.
    Start,
    /// `queryBySession`, or another API's request that its caller marked idempotent: sending it
    /// twice does no harm.
    Query,
    /// Another YunXin API's request that its caller did not mark idempotent. What it does is
    /// unknown here (it may create a user or send a message), so, stricter than a start, it is
    /// sent again only when it provably never left: no answer code makes a retry safe.
    NotIdempotent,
}

/// The English meaning of a result code, from the manual's table and the shared IM code table.
pub fn meaning(code: i64) -> &'static str {
    match code {
        200 => "success",
        201 => "client version wrong",
        301 => "banned",
        302 => "wrong user name or password",
        315 => "IP not allowed",
        403 => "illegal operation or no authorization (ECP not enabled, or balance exhausted)",
        404 => "object does not exist",
        405 => "parameter too long",
        406 => "object read-only",
        408 => "request timed out",
        414 => "parameter error, or bad http header (signature or clock)",
        415 => "client network problem",
        416 => "rate limited",
        417 => "duplicate operation",
        419 => "count over limit",
        422 => "account disabled",
        431 => "duplicate HTTP request",
        500 => "server internal error",
        503 => "server busy",
        509 => "invalid protocol",
        514 => "service unavailable",
        998 => "unpack error",
        999 => "pack error",
        _ => "unknown code",
    }
}

/// Whether a request that got `code` may be sent again.
///
/// ```
/// use yunxin_ecp::codes::{retry_advice, RequestKind};
/// use yunxin_ecp::RetryAdvice;
/// assert_eq!(retry_advice(500, RequestKind::Start), RetryAdvice::OutcomeUnknown);
/// assert_eq!(retry_advice(500, RequestKind::Query), RetryAdvice::Safe);
/// assert_eq!(retry_advice(416, RequestKind::Start), RetryAdvice::Backoff);
/// assert_eq!(retry_advice(503, RequestKind::NotIdempotent), RetryAdvice::OutcomeUnknown);
/// ```
pub fn retry_advice(code: i64, kind: RequestKind) -> RetryAdvice {
    use RetryAdvice::*;
    match (kind, code) {
        // Rejected before anything happened: the service says so explicitly.
        (_, 416) => Backoff,
        (RequestKind::Start, 503) => OnceAfterDelay,
        (RequestKind::Query, 503) => Backoff,
        // The service may have placed the call before timing out or failing.
        (RequestKind::Start, 408 | 431 | 500) => OutcomeUnknown,
        (RequestKind::Query, 408 | 415 | 500 | 514) => Safe,
        // A 503 is not taken as proof that nothing happened: that reading of the code table
        // holds for the ECP endpoints, and this request may be any other API's. A 416 falls to
        // `Never`: rejected, and when to send it again is the caller's decision.
        (RequestKind::NotIdempotent, 408 | 415 | 431 | 500 | 503 | 514) => OutcomeUnknown,
        _ => Never,
    }
}
