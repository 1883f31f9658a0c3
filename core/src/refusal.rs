//! How a callback endpoint answers a callback it does not accept, and how much body it reads.
//!
//! Every framework integration (Python's Flask, Django and FastAPI helpers, Node's middleware,
//! Java's servlet helper, PHP's and C#'s body readers) answers the same refusal with the same
//! status and the same body, so that an operator reading the sender's delivery log sees one
//! vocabulary whatever language the endpoint is written in. The status tells the sender whether
//! sending again can help: 400 (the body is not a callback), 403 (it is not signed by this app,
//! or not now), 413 (more bytes than any callback carries), 409 (the same delivery is being
//! handled by another request: try later), 503 (the delivery store failed: try later). A repeat
//! of a delivery handled before is acknowledged with [`DUPLICATE_ANSWER`], a 200.

use serde::Serialize;

use crate::callback::CallbackError;
use crate::validate::{Rule, ValidationError};

/// The body cap of the framework integrations unless one is given: a call-end callback is a few
/// KiB, and an endpoint anyone can reach must not hold whatever a client chooses to send.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;

/// The reason a body over the cap is refused with, beside [`CallbackError::reason`]'s.
pub const TOO_LARGE: &str = "too_large";
/// The reason a repeat of a delivery being handled is turned away with.
pub const IN_PROGRESS: &str = "in_progress";
/// The reason a callback is turned away with when the delivery store failed.
pub const STORE_UNAVAILABLE: &str = "store_unavailable";

/// The status and body that acknowledge a repeated delivery handled before: a 200, so that the
/// sender stops, and a body that says it was not handled again.
pub const DUPLICATE_ANSWER: (u16, &str) = (200, r#"{"result":"duplicate"}"#);

/// The HTTP answer to a refused callback: a status and a reason, never the body, a header or the
/// expected signature (the sender, or whoever forged the request, learns nothing more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Refusal {
    #[serde(skip)]
    status: u16,
    error: &'static str,
    reason: &'static str,
}

impl Refusal {
    /// The answer to a callback the verifier refused.
    pub fn of(error: &CallbackError) -> Refusal {
        Refusal::for_reason(error.reason())
    }

    /// The answer to a refusal known by its reason, as the bindings' exceptions carry it: 413 for
    /// [`TOO_LARGE`], 400 for `malformed`, 403 for any other (a signature, key or time that does
    /// not hold, and a reason this version does not know).
    pub fn for_reason(reason: &str) -> Refusal {
        let (status, reason) = match reason {
            TOO_LARGE => (413, TOO_LARGE),
            IN_PROGRESS => (409, IN_PROGRESS),
            STORE_UNAVAILABLE => (503, STORE_UNAVAILABLE),
            "malformed" => (400, "malformed"),
            other => (403, known_reason(other)),
        };
        Refusal {
            status,
            error: "callback refused",
            reason,
        }
    }

    /// The answer to a body over the cap.
    pub fn too_large() -> Refusal {
        Refusal::for_reason(TOO_LARGE)
    }

    /// The answer to a delivery another request is handling right now: 409, so that the
    /// sender tries again later (by then it is a duplicate, or released and handled).
    pub fn in_progress() -> Refusal {
        Refusal::for_reason(IN_PROGRESS)
    }

    /// The answer when the delivery store failed: 503, so that the sender tries again rather
    /// than the callback being dropped or handled twice.
    pub fn store_unavailable() -> Refusal {
        Refusal::for_reason(STORE_UNAVAILABLE)
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The stable reason (`"checksum_mismatch"`, `"too_large"`, ...).
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The JSON body to answer with: `{"error":"callback refused","reason":"..."}`.
    pub fn body(&self) -> String {
        serde_json::to_string(self).expect("a struct of two strings serializes")
    }
}

/// The reason as one of the stable identifiers, so that no caller-supplied text reaches an answer.
fn known_reason(reason: &str) -> &'static str {
    const KNOWN: [&str; 8] = [
        "missing_header",
        "duplicate_header",
        "malformed_cur_time",
        "md5_mismatch",
        "checksum_mismatch",
        "app_key_mismatch",
        "stale",
        "future",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == reason)
        .unwrap_or("refused")
}

/// A body cap given by a caller, checked: a positive number of bytes.
pub fn body_limit(max_body_bytes: i64) -> Result<u64, ValidationError> {
    u64::try_from(max_body_bytes)
        .ok()
        .filter(|limit| *limit > 0)
        .ok_or(ValidationError::new("max_body_bytes", Rule::NotPositive))
}

/// Whether a request's `Content-Length` already says more than `max_body_bytes`, so the body can
/// be refused unread. An absent or unparsable value says nothing (the body is then bounded while
/// it is read, which every integration does anyway).
pub fn declared_too_large(content_length: Option<&str>, max_body_bytes: u64) -> bool {
    let Some(value) = content_length.map(str::trim) else {
        return false;
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    // All digits: a value too long for u64 is certainly over any cap.
    value.parse::<u64>().map_or(true, |n| n > max_body_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verifier_reason_has_its_status() {
        let cases = [
            (
                CallbackError::MissingHeader { header: "MD5" },
                403,
                "missing_header",
            ),
            (
                CallbackError::DuplicateHeader { header: "MD5" },
                403,
                "duplicate_header",
            ),
            (CallbackError::MalformedCurTime, 403, "malformed_cur_time"),
            (CallbackError::Md5Mismatch, 403, "md5_mismatch"),
            (CallbackError::ChecksumMismatch, 403, "checksum_mismatch"),
            (CallbackError::AppKeyMismatch, 403, "app_key_mismatch"),
            (
                CallbackError::Stale {
                    age_ms: 1,
                    tolerance_ms: 0,
                },
                403,
                "stale",
            ),
            (
                CallbackError::Future {
                    ahead_ms: 1,
                    tolerance_ms: 0,
                },
                403,
                "future",
            ),
            (
                CallbackError::Malformed { detail: "x".into() },
                400,
                "malformed",
            ),
        ];
        for (error, status, reason) in cases {
            let refusal = Refusal::of(&error);
            assert_eq!(
                (refusal.status(), refusal.reason()),
                (status, reason),
                "{error:?}"
            );
            let body: serde_json::Value = serde_json::from_str(&refusal.body()).unwrap();
            assert_eq!(
                body,
                serde_json::json!({"error": "callback refused", "reason": reason})
            );
        }
        assert_eq!(Refusal::too_large().status(), 413);
        assert_eq!(
            (
                Refusal::in_progress().status(),
                Refusal::in_progress().reason()
            ),
            (409, "in_progress")
        );
        assert_eq!(
            Refusal::store_unavailable().body(),
            r#"{"error":"callback refused","reason":"store_unavailable"}"#
        );
        assert_eq!(Refusal::store_unavailable().status(), 503);
        assert_eq!(
            Refusal::too_large().body(),
            r#"{"error":"callback refused","reason":"too_large"}"#
        );
    }

    #[test]
    fn an_unknown_reason_is_refused_without_echoing_it() {
        let refusal = Refusal::for_reason("<script>");
        assert_eq!((refusal.status(), refusal.reason()), (403, "refused"));
        assert!(!refusal.body().contains("script"));
    }

    #[test]
    fn body_limits_must_be_positive() {
        assert_eq!(body_limit(1).unwrap(), 1);
        for bad in [0, -1, i64::MIN] {
            let error = body_limit(bad).unwrap_err();
            assert_eq!(
                error.to_string(),
                "invalid max_body_bytes: must be a positive integer",
                "{bad}"
            );
        }
    }

    #[test]
    fn content_length_decides_only_when_it_is_a_plain_number() {
        assert!(!declared_too_large(None, 10));
        assert!(!declared_too_large(Some("10"), 10));
        assert!(declared_too_large(Some("11"), 10));
        assert!(declared_too_large(Some(" 11 "), 10));
        assert!(declared_too_large(Some("99999999999999999999999"), 10));
        for says_nothing in ["", "-1", "1e9", "0x10", "+11", "１１"] {
            assert!(
                !declared_too_large(Some(says_nothing), 10),
                "{says_nothing:?}"
            );
        }
    }
}
