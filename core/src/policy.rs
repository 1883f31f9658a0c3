//! The retry policy, sans-IO: after a failed attempt, whether to send the request again and
//! after how long. The blocking client drives it over real sockets; anyone who sends requests
//! with their own HTTP stack (httpx, libcurl, .NET's `HttpClient`) asks it the same question
//! and gets the same answer, so a billable start is never re-sent by one client and not another.
//!
//! It reads nothing from the outside world: the attempt number and the error's
//! [`RetryAdvice`] come from the caller, and so does the randomness for the jitter.

use std::time::Duration;

use crate::codes::RetryAdvice;

/// Default number of retries after the first attempt, where a retry is safe.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// Default first backoff delay; it doubles with each retry, with jitter.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(200);
/// Longest delay between two attempts, however many retries and whatever the first delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Sign the request afresh and send it again after this delay.
    RetryAfter(Duration),
    /// Give up and report the error; the advice says what the caller may still do (query a
    /// start whose outcome is unknown, try again later, fix the request).
    Stop(RetryAdvice),
}

/// How many times, and how far apart, a request whose failure allows it is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 never retries).
    pub max_retries: u32,
    /// The first delay; doubled for each further retry and capped at [`MAX_BACKOFF`].
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: DEFAULT_MAX_RETRIES,
            backoff: DEFAULT_BACKOFF,
        }
    }
}

impl RetryPolicy {
    /// The decision after attempt number `attempt` (1 for the first) failed with `advice`.
    /// `jitter` is any random `u32` (the caller's CSPRNG): half of each delay is fixed and half
    /// is spread by it, so that clients turned away together do not come back together.
    ///
    /// ```
    /// use std::time::Duration;
    /// use yunxin_ecp::RetryAdvice;
    /// use yunxin_ecp::policy::{Decision, RetryPolicy};
    ///
    /// let policy = RetryPolicy { max_retries: 2, backoff: Duration::from_millis(200) };
    /// // A start that may have placed its call is never sent again.
    /// assert_eq!(policy.decide(1, RetryAdvice::OutcomeUnknown, 0), Decision::Stop(RetryAdvice::OutcomeUnknown));
    /// // A query that failed in transit is, after 100 to 200 ms.
    /// assert_eq!(policy.decide(1, RetryAdvice::Safe, 0), Decision::RetryAfter(Duration::from_millis(100)));
    /// // A 503 to a start: once only.
    /// assert_eq!(policy.decide(2, RetryAdvice::OnceAfterDelay, 0), Decision::Stop(RetryAdvice::OnceAfterDelay));
    /// ```
    pub fn decide(&self, attempt: u32, advice: RetryAdvice, jitter: u32) -> Decision {
        let allowed = match advice {
            RetryAdvice::Safe | RetryAdvice::Backoff => true,
            RetryAdvice::OnceAfterDelay => attempt == 1,
            _ => false,
        };
        if allowed && attempt <= self.max_retries {
            Decision::RetryAfter(self.delay(attempt, jitter))
        } else {
            Decision::Stop(advice)
        }
    }

    /// The delay before retry number `attempt`: the first backoff doubled per earlier retry,
    /// capped, with "equal jitter" (half fixed, half spread by `jitter`).
    pub fn delay(&self, attempt: u32, jitter: u32) -> Duration {
        let full = self
            .backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(MAX_BACKOFF);
        let fraction = f64::from(jitter) / f64::from(u32::MAX);
        full / 2 + (full / 2).mul_f64(fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_within_their_jitter_and_are_capped() {
        let policy = RetryPolicy {
            max_retries: 40,
            backoff: Duration::from_millis(100),
        };
        for attempt in 1..40 {
            let full = Duration::from_millis(100)
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(MAX_BACKOFF);
            assert_eq!(policy.delay(attempt, 0), full / 2);
            assert_eq!(policy.delay(attempt, u32::MAX), full);
            let d = policy.delay(attempt, 0x9e37_79b9);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn only_safe_advice_is_retried_and_only_as_often_as_allowed() {
        use RetryAdvice::*;
        let policy = RetryPolicy::default();
        let retries = |advice| {
            (1..=10)
                .take_while(|&a| matches!(policy.decide(a, advice, 7), Decision::RetryAfter(_)))
                .count()
        };
        assert_eq!(retries(Safe), 2);
        assert_eq!(retries(Backoff), 2);
        assert_eq!(retries(OnceAfterDelay), 1);
        assert_eq!(retries(Never), 0);
        assert_eq!(retries(OutcomeUnknown), 0);
        let none = RetryPolicy {
            max_retries: 0,
            ..policy
        };
        assert_eq!(none.decide(1, Safe, 7), Decision::Stop(Safe));
    }
}
