//! The service's side of a request: checking an incoming signature and reading the parameters.
//!
//! This is what a faithful mock needs (and anyone proxying the API): the same 414 conditions as
//! the real gateway, with an injectable clock, and parameter reading that accepts what the
//! official samples send (parameters in the query string with an empty body, the conference
//! callee list single-quoted instead of JSON, a fixed nonce).

use std::fmt;

use serde::Serialize;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::headers::{HeaderPair, pick};
use crate::request::{QueryBySession, SessionKind, StartCall, StartConf};
use crate::signing::{Credentials, MAX_NONCE_LEN, checksum};
use crate::validate::{self, Rule, ValidationError};

/// How far `CurTime` may be from the server's clock: a CheckSum is valid for five minutes.
pub const REQUEST_WINDOW_SECS: u64 = 300;

/// Why a signed request was refused. The service answers all of them the same way:
/// `{"desc":"bad http header","code":414}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthRefusal {
    /// An auth header is absent or empty.
    MissingHeader {
        /// The header's name.
        header: &'static str,
    },
    /// An auth header arrives more than once.
    DuplicateHeader {
        /// The header's name.
        header: &'static str,
    },
    /// No app with this `AppKey`.
    UnknownAppKey,
    /// The nonce is longer than 128 characters.
    NonceTooLong {
        /// Characters given.
        length: usize,
    },
    /// `CurTime` is not a decimal number (or is written with leading zeros).
    MalformedCurTime,
    /// `CurTime` is more than the window away from the server's clock (or is in milliseconds).
    OutsideWindow {
        /// Seconds between `CurTime` and the server's clock.
        skew_secs: u64,
        /// The window it was checked against.
        window_secs: u64,
    },
    /// `CheckSum` is not the lowercase hex SHA1 of secret + nonce + CurTime.
    ChecksumMismatch,
}

impl AuthRefusal {
    /// A stable identifier shared by the bindings.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthRefusal::MissingHeader { .. } => "missing_header",
            AuthRefusal::DuplicateHeader { .. } => "duplicate_header",
            AuthRefusal::UnknownAppKey => "unknown_app_key",
            AuthRefusal::NonceTooLong { .. } => "nonce_too_long",
            AuthRefusal::MalformedCurTime => "malformed_cur_time",
            AuthRefusal::OutsideWindow { .. } => "outside_window",
            AuthRefusal::ChecksumMismatch => "checksum_mismatch",
        }
    }
}

impl fmt::Display for AuthRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bad http header: ")?;
        match self {
            AuthRefusal::MissingHeader { header } => write!(f, "{header} is missing"),
            AuthRefusal::DuplicateHeader { header } => write!(f, "{header} is sent more than once"),
            AuthRefusal::UnknownAppKey => f.write_str("unknown AppKey"),
            AuthRefusal::NonceTooLong { length } => {
                write!(f, "Nonce has {length} characters, over {MAX_NONCE_LEN}")
            }
            AuthRefusal::MalformedCurTime => {
                f.write_str("CurTime is not a number of seconds without leading zeros")
            }
            AuthRefusal::OutsideWindow {
                skew_secs,
                window_secs,
            } => write!(
                f,
                "CurTime is {skew_secs} s from the server clock, outside the {window_secs} s window"
            ),
            AuthRefusal::ChecksumMismatch => f.write_str("CheckSum does not match"),
        }
    }
}

impl std::error::Error for AuthRefusal {}

/// Checks the four auth headers of an incoming request (names matched case-insensitively) at
/// `now_secs`, looking the app up with `app`. Returns the app's credentials on success.
///
/// `headers` is any iterable of [`HeaderPair`]s, as for the callback verifier.
pub fn verify_request<'a, I>(
    headers: I,
    app: impl FnOnce(&str) -> Option<&'a Credentials>,
    now_secs: u64,
    window_secs: u64,
) -> Result<&'a Credentials, AuthRefusal>
where
    I: IntoIterator,
    I::Item: HeaderPair,
{
    let [key, nonce, cur_time, sum] = pick(headers, ["AppKey", "Nonce", "CurTime", "CheckSum"])
        .map_err(|header| AuthRefusal::DuplicateHeader { header })?
        .map(|value| value.filter(|v| !v.is_empty()));
    let key = key.ok_or(AuthRefusal::MissingHeader { header: "AppKey" })?;
    let nonce = nonce.ok_or(AuthRefusal::MissingHeader { header: "Nonce" })?;
    let cur_time = cur_time.ok_or(AuthRefusal::MissingHeader { header: "CurTime" })?;
    let sum = sum.ok_or(AuthRefusal::MissingHeader { header: "CheckSum" })?;
    let credentials = app(&key).ok_or(AuthRefusal::UnknownAppKey)?;
    let length = nonce.chars().count();
    if length > MAX_NONCE_LEN {
        return Err(AuthRefusal::NonceTooLong { length });
    }
    let sent: u64 = validate::parse_timestamp(&cur_time).ok_or(AuthRefusal::MalformedCurTime)?;
    let expected = checksum(credentials.expose_secret(), &nonce, &cur_time);
    if !bool::from(expected.as_bytes().ct_eq(sum.as_bytes())) {
        return Err(AuthRefusal::ChecksumMismatch);
    }
    let skew_secs = sent.abs_diff(now_secs);
    if skew_secs > window_secs {
        return Err(AuthRefusal::OutsideWindow {
            skew_secs,
            window_secs,
        });
    }
    Ok(credentials)
}

/// The form parameters of an incoming request, from the query string and the body together
/// (the C# sample sends everything in the query string). Where both carry a name, the body wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes `application/x-www-form-urlencoded` pairs from both places.
    pub fn parse(query: &str, body: &[u8]) -> Params {
        let pairs = form_urlencoded::parse(query.as_bytes())
            .chain(form_urlencoded::parse(body))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Params(pairs)
    }

    /// The last value given for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    fn require(&self, name: &'static str) -> Result<&str, ValidationError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or(ValidationError::new(name, Rule::Empty))
    }

    /// Reads a `startcall` request.
    pub fn start_call(&self) -> Result<StartCall, ValidationError> {
        StartCall::new(
            self.require("callerAcc")?,
            self.require("caller")?,
            self.require("callee")?,
            validate::parse_max_dur(self.require("maxDur")?)?,
        )
    }

    /// Reads a `startconf` request, accepting the single-quoted callee list of the Java and C#
    /// samples as well as real JSON.
    pub fn start_conf(&self) -> Result<StartConf, ValidationError> {
        StartConf::new(
            self.require("callerAcc")?,
            self.require("caller")?,
            parse_callee_list(self.require("callee")?)?,
            validate::parse_max_dur(self.require("maxDur")?)?,
        )
    }

    /// Reads a `queryBySession` request.
    pub fn query(&self) -> Result<QueryBySession, ValidationError> {
        let session = self.require("session")?;
        let kind = SessionKind::from_wire(self.require("type")?)?;
        QueryBySession::new(session, kind)
    }
}

/// Reads a conference callee list: a JSON array of strings or numbers, or the same with single
/// quotes (`['137…','136…']`), which the official Java and C# samples send.
pub fn parse_callee_list(value: &str) -> Result<Vec<String>, ValidationError> {
    let bad = || ValidationError::new("callee", Rule::JsonArray);
    let parsed = serde_json::from_str::<Value>(value).or_else(|_| {
        if value.contains('"') {
            return Err(bad());
        }
        serde_json::from_str::<Value>(&value.replace('\'', "\"")).map_err(|_| bad())
    })?;
    let Value::Array(items) = parsed else {
        return Err(bad());
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(s) => Ok(s),
            Value::Number(n) if n.is_u64() => Ok(n.to_string()),
            _ => Err(bad()),
        })
        .collect()
}

/// Response bodies exactly as the service writes them (field order included).
pub mod reply {
    use serde::Serialize;
    use serde_json::Value;

    #[derive(Serialize)]
    struct Desc<'a> {
        desc: &'a str,
        code: i64,
    }

    #[derive(Serialize)]
    struct Msg<'a> {
        code: i64,
        msg: &'a str,
    }

    #[derive(Serialize)]
    struct Obj<'a> {
        code: i64,
        obj: &'a Value,
    }

    fn to_json(value: &impl Serialize) -> String {
        // These structs hold only strings, integers and JSON values, which always serialize.
        serde_json::to_string(value).unwrap_or_default()
    }

    /// `{"desc":"bad http header","code":414}`: any signature or clock problem.
    pub fn bad_http_header() -> String {
        to_json(&Desc {
            desc: "bad http header",
            code: 414,
        })
    }

    /// `{"code":414,"msg":"bad param 'callee'"}`.
    pub fn bad_param(field: &str) -> String {
        error(414, &format!("bad param '{field}'"))
    }

    /// `{"code":<code>,"msg":<msg>}`, e.g. `{"code":403,"msg":"no authorization"}`.
    pub fn error(code: i64, msg: &str) -> String {
        to_json(&Msg { code, msg })
    }

    /// `{"code":200,"obj":{"session":<session>}}`.
    pub fn started(session: &str) -> String {
        success(&serde_json::json!({ "session": session }))
    }

    /// `{"code":200,"obj":<obj>}`.
    pub fn success(obj: &Value) -> String {
        to_json(&Obj { code: 200, obj })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_bodies_are_byte_exact() {
        assert_eq!(
            reply::bad_http_header(),
            r#"{"desc":"bad http header","code":414}"#
        );
        assert_eq!(
            reply::bad_param("callee"),
            r#"{"code":414,"msg":"bad param 'callee'"}"#
        );
        assert_eq!(
            reply::started("s-1"),
            r#"{"code":200,"obj":{"session":"s-1"}}"#
        );
    }

    #[test]
    fn callee_lists() {
        let want = vec!["13777777777".to_string(), "13666666666".to_string()];
        assert_eq!(
            parse_callee_list(r#"["13777777777","13666666666"]"#).unwrap(),
            want
        );
        assert_eq!(
            parse_callee_list("['13777777777','13666666666']").unwrap(),
            want
        );
        assert_eq!(
            parse_callee_list("[13777777777,13666666666]").unwrap(),
            want
        );
        for bad in ["13777777777", "['1\"']", "{}", "[[1]]", ""] {
            assert_eq!(
                parse_callee_list(bad).unwrap_err().rule,
                Rule::JsonArray,
                "{bad}"
            );
        }
    }

    #[test]
    fn csharp_sample_query_string_is_read() {
        let p = Params::parse(
            "callerAcc=liuxuanlin&caller=13777777777&callee=['13888888888','13666666666']&maxDur=100",
            b"",
        );
        let conf = p.start_conf().unwrap();
        assert_eq!(conf.callees(), ["13888888888", "13666666666"]);
    }
}
