//! The call-end callback the service POSTs to the app's server: verifying its signature and
//! reading its record.
//!
//! The signature covers the raw body: `MD5` is the lowercase hex MD5 of the body bytes and
//! `CheckSum` is SHA1(AppSecret + MD5 + CurTime) with `CurTime` in milliseconds. Verify the bytes
//! the web framework received, never JSON re-serialized from them; both digests are compared in
//! constant time.

use std::fmt;

use md5::{Digest, Md5};
use serde::Serialize;
use serde_json::Value;
use subtle::{Choice, ConstantTimeEq};

use crate::headers::{HeaderPair, pick};
use crate::record::CallRecord;
use crate::signing::{Credentials, checksum, unix_millis_now};
use crate::validate::{Rule, ValidationError, parse_timestamp};

/// The default clock tolerance for callbacks: five minutes, as for signed requests.
pub const DEFAULT_TOLERANCE_MS: u64 = 300_000;
/// The `eventType` of a call-end record.
pub const CALL_END_EVENT: &str = "10";

/// How a callback's `CurTime` is checked against the receiver's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeCheck {
    /// Refuse a callback whose `CurTime` is more than this many milliseconds away from now, in
    /// either direction. `0` accepts only the very same millisecond; it never disables the check.
    ToleranceMs(u64),
    /// Do not compare `CurTime` with the clock at all (replays are then accepted). Only for
    /// re-verifying stored callbacks.
    SkipInsecure,
}

/// The widest tolerance a verifier takes: an hour. A sender's retries arrive within minutes; a
/// tolerance of days or more (10^12 ms and up was accepted before) turns the check off in all
/// but name, and would let a callback captured years ago be replayed.
pub const MAX_TOLERANCE_MS: u64 = 3_600_000;

impl TimeCheck {
    /// A tolerance of `ms` milliseconds, refused (field `tolerance_ms`) over
    /// [`MAX_TOLERANCE_MS`]. Every binding builds its time check here, so that the ceiling is
    /// one rule.
    ///
    /// ```
    /// use yunxin_ecp::TimeCheck;
    /// assert_eq!(TimeCheck::tolerance(0), Ok(TimeCheck::ToleranceMs(0)));
    /// assert_eq!(TimeCheck::tolerance(3_600_001).unwrap_err().field, "tolerance_ms");
    /// ```
    pub fn tolerance(ms: u64) -> Result<TimeCheck, ValidationError> {
        if ms > MAX_TOLERANCE_MS {
            let rule = Rule::AtMost {
                max: MAX_TOLERANCE_MS,
                unit: "milliseconds (an hour)",
            };
            return Err(ValidationError::new("tolerance_ms", rule));
        }
        Ok(TimeCheck::ToleranceMs(ms))
    }
}

impl Default for TimeCheck {
    fn default() -> Self {
        TimeCheck::ToleranceMs(DEFAULT_TOLERANCE_MS)
    }
}

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CallbackError {
    /// A required header (`MD5`, `CheckSum` or `CurTime`) is absent.
    MissingHeader {
        /// The header's name.
        header: &'static str,
    },
    /// A signature header (`MD5`, `CheckSum`, `CurTime` or `AppKey`) arrives more than once.
    DuplicateHeader {
        /// The header's name.
        header: &'static str,
    },
    /// `CurTime` is not a decimal number of milliseconds (or is written with leading zeros).
    MalformedCurTime,
    /// `MD5` does not match the body: the body was altered, or the digest was computed over
    /// something else than the raw bytes.
    Md5Mismatch,
    /// `CheckSum` does not match: wrong secret, or the headers were altered.
    ChecksumMismatch,
    /// The `AppKey` header names another app.
    AppKeyMismatch,
    /// `CurTime` is older than the tolerance allows (a replay, or a clock off).
    Stale {
        /// How old the callback is.
        age_ms: u64,
        /// The tolerance in force.
        tolerance_ms: u64,
    },
    /// `CurTime` is further in the future than the tolerance allows.
    Future {
        /// How far ahead it is.
        ahead_ms: u64,
        /// The tolerance in force.
        tolerance_ms: u64,
    },
    /// The body is not a callback event (not JSON, or a call-end event without its record).
    Malformed {
        /// What was wrong.
        detail: String,
    },
}

impl CallbackError {
    /// A stable identifier shared by the bindings (`"md5_mismatch"`, `"stale"`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            CallbackError::MissingHeader { .. } => "missing_header",
            CallbackError::DuplicateHeader { .. } => "duplicate_header",
            CallbackError::MalformedCurTime => "malformed_cur_time",
            CallbackError::Md5Mismatch => "md5_mismatch",
            CallbackError::ChecksumMismatch => "checksum_mismatch",
            CallbackError::AppKeyMismatch => "app_key_mismatch",
            CallbackError::Stale { .. } => "stale",
            CallbackError::Future { .. } => "future",
            CallbackError::Malformed { .. } => "malformed",
        }
    }
}

impl fmt::Display for CallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("callback refused: ")?;
        match self {
            CallbackError::MissingHeader { header } => write!(f, "header {header} is missing"),
            CallbackError::DuplicateHeader { header } => {
                write!(f, "header {header} is sent more than once")
            }
            CallbackError::MalformedCurTime => {
                f.write_str("CurTime is not a decimal number of milliseconds without leading zeros")
            }
            CallbackError::Md5Mismatch => f.write_str("MD5 does not match the raw body bytes"),
            CallbackError::ChecksumMismatch => {
                f.write_str("CheckSum does not match SHA1(AppSecret + MD5 + CurTime)")
            }
            CallbackError::AppKeyMismatch => f.write_str("AppKey names another app"),
            CallbackError::Stale {
                age_ms,
                tolerance_ms,
            } => write!(
                f,
                "CurTime is {age_ms} ms old, over the {tolerance_ms} ms tolerance"
            ),
            CallbackError::Future {
                ahead_ms,
                tolerance_ms,
            } => write!(
                f,
                "CurTime is {ahead_ms} ms in the future, over the {tolerance_ms} ms tolerance"
            ),
            CallbackError::Malformed { detail } => write!(f, "malformed body: {detail}"),
        }
    }
}

impl std::error::Error for CallbackError {}

/// Lowercase hex MD5 of the body bytes, as the `MD5` header carries it.
pub fn body_md5(body: &[u8]) -> String {
    crate::signing::lower_hex(&Md5::digest(body))
}

/// The headers a signed callback carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackHeaders {
    /// `AppKey`.
    pub app_key: String,
    /// `CurTime`, milliseconds.
    pub cur_time: String,
    /// `MD5` of the body.
    pub md5: String,
    /// `CheckSum`.
    pub checksum: String,
}

impl CallbackHeaders {
    /// The headers as (name, value) pairs, with the JSON `Content-Type`.
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("Content-Type", "application/json"),
            ("AppKey", &self.app_key),
            ("CurTime", &self.cur_time),
            ("MD5", &self.md5),
            ("CheckSum", &self.checksum),
        ]
    }
}

/// Signs a callback body the way the service does (used by the mock server and by tests).
///
/// ```
/// use yunxin_ecp::{Credentials, callback::sign_callback};
/// let creds = Credentials::new("appkey", "xxxxxxxx")?;
/// let h = sign_callback(&creds, br#"{"callback":"{}","eventType":"10"}"#, 1440570500855);
/// assert_eq!(h.md5, "5556767e4727e5582025ab1fff82753b");
/// assert_eq!(h.checksum, "6949a942f8477bb839a74ac5726ec4c28a762686");
/// # Ok::<(), yunxin_ecp::ValidationError>(())
/// ```
pub fn sign_callback(credentials: &Credentials, body: &[u8], cur_time_ms: u64) -> CallbackHeaders {
    let md5 = body_md5(body);
    let cur_time = cur_time_ms.to_string();
    CallbackHeaders {
        checksum: checksum(credentials.expose_secret(), &md5, &cur_time).into(),
        app_key: credentials.app_key().to_owned(),
        cur_time,
        md5,
    }
}

/// Most credentials one verifier holds: enough for a rotation (old and new) across a few apps
/// served by one endpoint, few enough that trying each costs little.
pub const MAX_CREDENTIALS: usize = 8;

/// Verifies call-end callbacks for one app, or for several credentials at once (an AppSecret
/// being rotated: the old and the new; several apps served by one endpoint).
///
/// ```
/// use yunxin_ecp::{Credentials, CallbackVerifier, CallbackEvent};
/// let body = br#"{"callback":"{\"durationSec\":61}","eventType":"10"}"#;
/// let creds = Credentials::new("appkey", "secret")?;
/// let signed = yunxin_ecp::callback::sign_callback(&creds, body, 1_700_000_000_000);
/// let verifier = CallbackVerifier::new(creds);
/// let event = verifier.verify_and_parse(body, signed.pairs(), 1_700_000_000_500)?;
/// let CallbackEvent::CallEnd(record) = event else { panic!() };
/// assert_eq!((record.answered(), record.billed_minutes()), (true, 2));
/// # Ok::<(), yunxin_ecp::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CallbackVerifier {
    /// Never empty, at most [`MAX_CREDENTIALS`].
    credentials: Vec<Credentials>,
    time_check: TimeCheck,
}

/// A callback that passed verification: which credentials signed it, and what identifies this
/// delivery (for a [`DeliveryGuard`](crate::deliveries::DeliveryGuard)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The index, in [`CallbackVerifier::credentials`], of the credentials that matched.
    pub credential: usize,
    /// The matched credentials' AppKey.
    pub app_key: String,
    /// The delivery's `CurTime`, milliseconds.
    pub cur_time_ms: u64,
    /// What a repeated delivery of the same signed callback carries again.
    pub key: crate::deliveries::DeliveryKey,
    /// When a repeat of it would be refused as stale anyway, so it may be forgotten
    /// (`u64::MAX` without a time check).
    pub expires_at_ms: u64,
}

impl CallbackVerifier {
    /// A verifier with the default five-minute tolerance.
    pub fn new(credentials: Credentials) -> Self {
        CallbackVerifier {
            credentials: vec![credentials],
            time_check: TimeCheck::default(),
        }
    }

    /// A verifier that accepts a callback signed with any of `credentials` (1 to
    /// [`MAX_CREDENTIALS`]) whose AppKey it carries: during a rotation, the old secret and the
    /// new. Every one is tried whatever the outcome, so the time taken tells nothing of which
    /// came close.
    pub fn with_credentials<I>(credentials: I) -> Result<Self, ValidationError>
    where
        I: IntoIterator<Item = Credentials>,
    {
        let credentials: Vec<Credentials> = credentials.into_iter().collect();
        if credentials.is_empty() || credentials.len() > MAX_CREDENTIALS {
            return Err(ValidationError::new(
                "credentials",
                Rule::Count {
                    min: 1,
                    max: MAX_CREDENTIALS,
                    actual: credentials.len(),
                },
            ));
        }
        Ok(CallbackVerifier {
            credentials,
            time_check: TimeCheck::default(),
        })
    }

    /// Changes how `CurTime` is checked.
    pub fn with_time_check(mut self, time_check: TimeCheck) -> Self {
        self.time_check = time_check;
        self
    }

    /// The time check in force.
    pub fn time_check(&self) -> TimeCheck {
        self.time_check
    }

    /// The credentials tried, in the order given.
    pub fn credentials(&self) -> &[Credentials] {
        &self.credentials
    }

    /// Verifies `body` (the raw bytes received) against its headers, names matched
    /// case-insensitively, at `now_ms` (Unix epoch milliseconds).
    ///
    /// `headers` is any iterable of [`HeaderPair`]s: `(name, value)` pairs of `&str` or
    /// `String`, references to them (`&[(String, String)]`), or, with the `http` feature,
    /// [`headers::from_http(&map)`](crate::headers).
    pub fn verify<I>(&self, body: &[u8], headers: I, now_ms: u64) -> Result<(), CallbackError>
    where
        I: IntoIterator,
        I::Item: HeaderPair,
    {
        self.check(body, headers, now_ms, |_| ())
    }

    /// [`verify`](Self::verify), telling which credentials matched and what identifies the
    /// delivery.
    ///
    /// A signature that matches none of the credentials is `ChecksumMismatch`; one that matches
    /// credentials of another AppKey than the header names is `AppKeyMismatch` (an absent
    /// `AppKey` header names none). Where several match, the first given wins.
    pub fn verify_delivery<I>(
        &self,
        body: &[u8],
        headers: I,
        now_ms: u64,
    ) -> Result<Verified, CallbackError>
    where
        I: IntoIterator,
        I::Item: HeaderPair,
    {
        self.check(body, headers, now_ms, |passed| {
            let app_key = self.credentials[passed.credential].app_key().to_owned();
            Verified {
                credential: passed.credential,
                key: crate::deliveries::DeliveryKey::new(
                    &app_key,
                    passed.checksum,
                    passed.cur_time,
                    passed.md5,
                ),
                app_key,
                cur_time_ms: passed.sent_ms,
                expires_at_ms: passed.expires_at_ms,
            }
        })
    }

    /// Every check, in order; `finish` makes the result from what passed (only a caller that
    /// wants the delivery's key pays for it).
    fn check<I, R>(
        &self,
        body: &[u8],
        headers: I,
        now_ms: u64,
        finish: impl FnOnce(Passed<'_>) -> R,
    ) -> Result<R, CallbackError>
    where
        I: IntoIterator,
        I::Item: HeaderPair,
    {
        let [md5, sum, cur_time, app_key] = pick(headers, ["MD5", "CheckSum", "CurTime", "AppKey"])
            .map_err(|header| CallbackError::DuplicateHeader { header })?;
        let md5 = md5.ok_or(CallbackError::MissingHeader { header: "MD5" })?;
        let sum = sum.ok_or(CallbackError::MissingHeader { header: "CheckSum" })?;
        let cur_time = cur_time.ok_or(CallbackError::MissingHeader { header: "CurTime" })?;
        let sent_ms: u64 = parse_timestamp(&cur_time).ok_or(CallbackError::MalformedCurTime)?;

        let expected_md5 = body_md5(body);
        if !bool::from(expected_md5.as_bytes().ct_eq(md5.as_bytes())) {
            return Err(CallbackError::Md5Mismatch);
        }
        // Every credential is tried, and the outcome folded without branching on a secret.
        let mut signed = Choice::from(0);
        let mut matched: Option<usize> = None;
        for (index, credentials) in self.credentials.iter().enumerate() {
            let expected = checksum(credentials.expose_secret(), &md5, &cur_time);
            let sig_ok = expected.as_bytes().ct_eq(sum.as_bytes());
            let key_ok = app_key.as_deref().map_or(Choice::from(1), |k| {
                k.as_bytes().ct_eq(credentials.app_key().as_bytes())
            });
            signed |= sig_ok;
            if matched.is_none() && bool::from(sig_ok & key_ok) {
                matched = Some(index);
            }
        }
        let Some(credential) = matched else {
            return Err(if bool::from(signed) {
                CallbackError::AppKeyMismatch
            } else {
                CallbackError::ChecksumMismatch
            });
        };
        let expires_at_ms = match self.time_check {
            TimeCheck::SkipInsecure => u64::MAX,
            TimeCheck::ToleranceMs(tolerance_ms) => {
                check_age(sent_ms, now_ms, tolerance_ms)?;
                sent_ms.saturating_add(tolerance_ms)
            }
        };
        Ok(finish(Passed {
            credential,
            sent_ms,
            expires_at_ms,
            md5: &md5,
            checksum: &sum,
            cur_time: &cur_time,
        }))
    }

    /// [`verify`](Self::verify) against the system clock.
    pub fn verify_now<I>(&self, body: &[u8], headers: I) -> Result<(), CallbackError>
    where
        I: IntoIterator,
        I::Item: HeaderPair,
    {
        self.verify(body, headers, unix_millis_now())
    }

    /// Verifies, then parses, at `now_ms`.
    pub fn verify_and_parse<I>(
        &self,
        body: &[u8],
        headers: I,
        now_ms: u64,
    ) -> Result<CallbackEvent, CallbackError>
    where
        I: IntoIterator,
        I::Item: HeaderPair,
    {
        self.verify(body, headers, now_ms)?;
        parse_callback(body)
    }

    /// [`verify_delivery`](Self::verify_delivery), then parses, at `now_ms`: what a handler
    /// that guards against repeated deliveries needs.
    pub fn verify_and_parse_delivery<I>(
        &self,
        body: &[u8],
        headers: I,
        now_ms: u64,
    ) -> Result<(Verified, CallbackEvent), CallbackError>
    where
        I: IntoIterator,
        I::Item: HeaderPair,
    {
        let verified = self.verify_delivery(body, headers, now_ms)?;
        Ok((verified, parse_callback(body)?))
    }

    /// [`verify_and_parse`](Self::verify_and_parse) against the system clock: the usual entry
    /// point of a web handler.
    pub fn verify_and_parse_now<I>(
        &self,
        body: &[u8],
        headers: I,
    ) -> Result<CallbackEvent, CallbackError>
    where
        I: IntoIterator,
        I::Item: HeaderPair,
    {
        self.verify_and_parse(body, headers, unix_millis_now())
    }
}

/// What passed verification, for [`CallbackVerifier::check`]'s `finish`.
struct Passed<'a> {
    credential: usize,
    sent_ms: u64,
    expires_at_ms: u64,
    md5: &'a str,
    checksum: &'a str,
    cur_time: &'a str,
}

/// Refuses a `CurTime` further than `tolerance_ms` from `now_ms`, either way.
fn check_age(sent_ms: u64, now_ms: u64, tolerance_ms: u64) -> Result<(), CallbackError> {
    if now_ms >= sent_ms {
        let age_ms = now_ms - sent_ms;
        if age_ms > tolerance_ms {
            return Err(CallbackError::Stale {
                age_ms,
                tolerance_ms,
            });
        }
    } else {
        let ahead_ms = sent_ms - now_ms;
        if ahead_ms > tolerance_ms {
            return Err(CallbackError::Future {
                ahead_ms,
                tolerance_ms,
            });
        }
    }
    Ok(())
}

/// What a callback carried.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallbackEvent {
    /// `eventType` 10: a call or conference ended.
    CallEnd(Box<CallRecord>),
    /// Any other event (IM events can reach the same URL), untouched.
    Other {
        /// The `eventType`, as text, when there is one.
        event_type: Option<String>,
        /// The body exactly as received.
        raw: String,
    },
}

/// Parses a callback body. Call-end events (`eventType` 10, as a string or a number) have their
/// `callback` string decoded into a [`CallRecord`]; other events pass through untouched.
pub fn parse_callback(body: &[u8]) -> Result<CallbackEvent, CallbackError> {
    let malformed = |detail: String| CallbackError::Malformed { detail };
    let value: Value =
        serde_json::from_slice(body).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let Value::Object(obj) = &value else {
        return Err(malformed("not a JSON object".into()));
    };
    let event_type = match obj.get("eventType") {
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if event_type.as_deref() != Some(CALL_END_EVENT) {
        return Ok(CallbackEvent::Other {
            event_type,
            raw: String::from_utf8_lossy(body).into_owned(),
        });
    }
    let record = match obj.get("callback") {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .map_err(|e| malformed(format!("callback is not a JSON record: {e}")))?,
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Err(malformed("eventType 10 without a callback record".into())),
    };
    if !record.is_object() {
        return Err(malformed("callback is not a JSON object".into()));
    }
    Ok(CallbackEvent::CallEnd(Box::new(CallRecord::from_json(
        record,
    ))))
}
