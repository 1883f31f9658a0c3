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
/// assert_eq!(retry_advice(416, RequestKind::NotIdempotent), RetryAdvice::Never);
/// ```
pub fn retry_advice(code: i64, kind: RequestKind) -> RetryAdvice {
    use RetryAdvice::*;
    match kind {
        // Another API's request that may have created something: the ECP reading of the code
        // table (416 and 503 mean "rejected, nothing done") is not assumed to hold for it, so no
        // code makes sending it again safe. Matched first, by kind, so that no code-only arm
        // above it can ever re-send such a request.
        RequestKind::NotIdempotent => match code {
            408 | 415 | 431 | 500 | 503 | 514 => OutcomeUnknown,
            // A 416 was rejected; when to send it again is the caller's decision.
            _ => Never,
        },
        RequestKind::Start => match code {
            // Rejected before anything happened: the service says so explicitly.
            416 => Backoff,
            503 => OnceAfterDelay,
            // The service may have placed the call before timing out or failing.
            408 | 431 | 500 => OutcomeUnknown,
            _ => Never,
        },
        RequestKind::Query => match code {
            416 | 503 => Backoff,
            408 | 415 | 500 | 514 => Safe,
            _ => Never,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RetryAdvice::*;
    use proptest::prelude::*;

    /// Every code of the manual's table (and the shared IM table) with the advice for a start,
    /// a query and another API's request not marked idempotent, written out from the table in
    /// the API notes rather than derived from the function under test.
    const TABLE: &[(i64, RetryAdvice, RetryAdvice, RetryAdvice)] = &[
        (201, Never, Never, Never),
        (301, Never, Never, Never),
        (302, Never, Never, Never),
        (315, Never, Never, Never),
        (403, Never, Never, Never),
        (404, Never, Never, Never),
        (405, Never, Never, Never),
        (406, Never, Never, Never),
        (408, OutcomeUnknown, Safe, OutcomeUnknown),
        (414, Never, Never, Never),
        (415, Never, Safe, OutcomeUnknown),
        (416, Backoff, Backoff, Never),
        (417, Never, Never, Never),
        (419, Never, Never, Never),
        (422, Never, Never, Never),
        (431, OutcomeUnknown, Never, OutcomeUnknown),
        (500, OutcomeUnknown, Safe, OutcomeUnknown),
        (503, OnceAfterDelay, Backoff, OutcomeUnknown),
        (509, Never, Never, Never),
        (514, Never, Safe, OutcomeUnknown),
        (998, Never, Never, Never),
        (999, Never, Never, Never),
    ];

    #[test]
    fn every_listed_code_for_every_kind_gets_the_tables_advice() {
        for &(code, start, query, other) in TABLE {
            assert_eq!(
                retry_advice(code, RequestKind::Start),
                start,
                "start, {code}"
            );
            assert_eq!(
                retry_advice(code, RequestKind::Query),
                query,
                "query, {code}"
            );
            assert_eq!(
                retry_advice(code, RequestKind::NotIdempotent),
                other,
                "not idempotent, {code}"
            );
            assert_ne!(meaning(code), "unknown code", "{code}");
        }
    }

    proptest! {
        /// The promise: a request that may have taken effect is never sent again. For another
        /// API's request no answer code allows it; for a start only the two codes that say
        /// "rejected, nothing done" do.
        #[test]
        fn no_code_makes_resending_something_that_may_have_taken_effect_safe(code in any::<i64>()) {
            prop_assert!(!retry_advice(code, RequestKind::NotIdempotent).is_safe());
            prop_assert_eq!(
                retry_advice(code, RequestKind::Start).is_safe(),
                code == 416 || code == 503
            );
        }
    }
}
