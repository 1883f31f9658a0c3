//! Reading what the service answered: the envelope `{"code", "msg"|"desc", "obj"}` into a typed
//! result, an [`ApiError`] (the service said no) or a [`ProtocolError`] (the answer is unusable, such
//! as a proxy's HTML error page). Nothing here panics, whatever the bytes.
//!
//! [`parse_api_response`] reads the answer of any other YunXin server API the same way, and hands
//! back the whole JSON object: those APIs put their results in `info`, `data` or elsewhere.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::codes::{self, RequestKind, RetryAdvice};
use crate::endpoint::Endpoint;
use crate::record::CallRecord;
use crate::redact;
use crate::validate;

/// A start request's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Started {
    /// The session id to query the call with and to match its call-end callback.
    pub session: String,
    /// The `obj` of the response, as sent.
    pub raw: Value,
}

/// The service answered with a code other than 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    /// The endpoint that answered.
    pub endpoint: Endpoint,
    /// For [`Endpoint::Api`], the path requested, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The service's code, e.g. 414.
    pub code: i64,
    /// The service's explanation: `msg`, else `desc`.
    pub message: Option<String>,
    /// The HTTP status of the response (business errors come with 200).
    pub http_status: u16,
    /// The body as received (invalid UTF-8 replaced).
    pub raw_body: String,
    /// The exchange had already sent the request again after this code as often as the code
    /// allows (a start answered 503: once), so the advice is no longer "once more".
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub resend_spent: bool,
}

impl ApiError {
    /// What the code means, from the code table.
    pub fn meaning(&self) -> &'static str {
        codes::meaning(self.code)
    }

    /// Whether the same request may be sent again.
    pub fn retry_advice(&self) -> RetryAdvice {
        match codes::retry_advice(self.code, self.endpoint.kind()) {
            RetryAdvice::OnceAfterDelay if self.resend_spent => RetryAdvice::Never,
            advice => advice,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} answered code {} ({})",
            Target(self.endpoint, self.path.as_deref()),
            self.code,
            self.meaning()
        )?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        if self.resend_spent {
            f.write_str("; already sent again once after this code, the most it allows")?;
        }
        if self.retry_advice() == RetryAdvice::OutcomeUnknown {
            f.write_str(outcome_unknown(self.endpoint))?;
        }
        if self.is_signature_refusal() {
            f.write_str(SIGNATURE_HINT)?;
        }
        Ok(())
    }
}

/// What a refused signature almost always comes from, and the command that checks each cause.
pub const SIGNATURE_HINT: &str = "; the signature was refused: check the AppSecret (the app's \
     own, no stray spaces), the clock (CurTime in Unix seconds, within 5 minutes of the \
     service's) and that the CheckSum is lowercase hex; `yunxin-ecp doctor` checks each";

impl ApiError {
    /// Whether this is the service refusing the request's signature headers (code 414 with
    /// "bad http header", or a message that names a signature header), rather than a 414 about
    /// a parameter (`already register`).
    pub fn is_signature_refusal(&self) -> bool {
        if self.code != 414 {
            return false;
        }
        let Some(message) = &self.message else {
            return true;
        };
        let message = message.to_ascii_lowercase();
        ["header", "checksum", "curtime", "nonce", "appkey", "sign"]
            .iter()
            .any(|word| message.contains(word))
    }
}

/// What an error message names: the ECP endpoint's path, or the path of an [`Endpoint::Api`]
/// request.
pub(crate) struct Target<'a>(pub(crate) Endpoint, pub(crate) Option<&'a str>);

impl fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target(Endpoint::Api { .. }, Some(path)) => f.write_str(path),
            Target(endpoint, _) => endpoint.fmt(f),
        }
    }
}

/// The advice appended to a message whose request may have taken effect.
pub(crate) fn outcome_unknown(endpoint: Endpoint) -> &'static str {
    match endpoint.kind() {
        RequestKind::NotIdempotent => {
            "; the request may have taken effect: check before sending it again"
        }
        _ => "; the call may have been placed: query before trying again",
    }
}

/// Why an answer could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProtocolErrorKind {
    /// The body is empty.
    Empty,
    /// The body is HTML, typically a proxy's or load balancer's error page.
    Html,
    /// The body is not JSON.
    NotJson,
    /// The body is the start of a JSON document that ends early: the connection or a proxy cut
    /// it short, so the service may well have acted on the request.
    Truncated,
    /// The body is JSON but not an object.
    NotAnObject,
    /// The object has no `code`.
    MissingCode,
    /// `code` is neither an integer nor a string holding one.
    BadCode,
    /// Code 200, but the result (`obj`, or its `session`) is missing or unreadable.
    MissingResult,
    /// Code 200 with an HTTP status other than 2xx.
    HttpStatus,
    /// The body exceeded the client's size limit.
    TooLarge,
    /// An HTTP redirect (any 3xx). It is never followed: the redirected request would carry a
    /// live signature to another host, and a client that re-sends a start could place a second
    /// billable call. `detail` holds the `Location`, when there is one.
    Redirect,
}

impl ProtocolErrorKind {
    /// A stable identifier shared by the bindings.
    pub fn code(self) -> &'static str {
        match self {
            ProtocolErrorKind::Empty => "empty",
            ProtocolErrorKind::Html => "html",
            ProtocolErrorKind::NotJson => "not_json",
            ProtocolErrorKind::Truncated => "truncated",
            ProtocolErrorKind::NotAnObject => "not_an_object",
            ProtocolErrorKind::MissingCode => "missing_code",
            ProtocolErrorKind::BadCode => "bad_code",
            ProtocolErrorKind::MissingResult => "missing_result",
            ProtocolErrorKind::HttpStatus => "http_status",
            ProtocolErrorKind::TooLarge => "too_large",
            ProtocolErrorKind::Redirect => "redirect",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ProtocolErrorKind::Empty => "an empty body",
            ProtocolErrorKind::Html => "an HTML page (a proxy or gateway error?)",
            ProtocolErrorKind::NotJson => "a body that is not valid JSON",
            ProtocolErrorKind::Truncated => "JSON that ends early (cut off in transit?)",
            ProtocolErrorKind::NotAnObject => "JSON that is not an object",
            ProtocolErrorKind::MissingCode => "JSON without a code",
            ProtocolErrorKind::BadCode => "a code that is not an integer",
            ProtocolErrorKind::MissingResult => "code 200 without the expected result",
            ProtocolErrorKind::HttpStatus => "code 200 with an HTTP error status",
            ProtocolErrorKind::TooLarge => "a body over the size limit",
            ProtocolErrorKind::Redirect => "a redirect, which is never followed",
        }
    }
}

/// The answer could not be read as an ECP response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtocolError {
    /// The endpoint that answered.
    pub endpoint: Endpoint,
    /// For [`Endpoint::Api`], the path requested, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What was wrong.
    pub kind: ProtocolErrorKind,
    /// Detail such as the JSON parser's message, when there is one.
    pub detail: Option<String>,
    /// The HTTP status of the response.
    pub http_status: u16,
    /// The body as received (invalid UTF-8 replaced).
    pub raw_body: String,
}

impl ProtocolError {
    /// The longest `Location` kept in a redirect error; a hostile server chooses its length.
    pub const MAX_LOCATION_CHARS: usize = 512;

    /// A redirect refused, with where it pointed (cut to [`Self::MAX_LOCATION_CHARS`]) and
    /// without the body, for HTTP clients that see the `Location` header.
    pub fn redirect(endpoint: Endpoint, http_status: u16, location: Option<&str>) -> Self {
        let mut e = ProtocolError::new(endpoint, ProtocolErrorKind::Redirect, http_status, b"");
        e.detail = location.map(|l| {
            let kept: String = l
                .chars()
                .filter(|c| !c.is_control())
                .take(Self::MAX_LOCATION_CHARS)
                .collect();
            format!("Location: {kept}")
        });
        e
    }

    /// Builds one; public so HTTP clients can report their own size-limit refusals the same way.
    pub fn new(endpoint: Endpoint, kind: ProtocolErrorKind, http_status: u16, body: &[u8]) -> Self {
        ProtocolError {
            endpoint,
            path: None,
            kind,
            detail: None,
            http_status,
            raw_body: String::from_utf8_lossy(body).into_owned(),
        }
    }

    /// Whether the same request may be sent again. An HTTP 4xx answer that is not the service's
    /// JSON means an HTTP layer in front of it refused the request (malformed, an unknown path, a
    /// method or size it does not take) before the service saw it: nothing took effect, and the
    /// same request would be refused the same way. 408 and 429 are about timing, not the
    /// request. Otherwise a query may be retried and a start may already have placed its call.
    pub fn retry_advice(&self) -> RetryAdvice {
        match (self.http_status, self.endpoint.kind()) {
            (400..=499, _) if !matches!(self.http_status, 408 | 429) => RetryAdvice::Never,
            (_, RequestKind::Query) => RetryAdvice::Safe,
            (_, RequestKind::Start | RequestKind::NotIdempotent) => RetryAdvice::OutcomeUnknown,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.http_status == 404 && self.kind != ProtocolErrorKind::Redirect {
            // What a web server says for a path it does not serve; its page (and the JSON
            // parser's complaint about it) would hide that.
            return write!(
                f,
                "{} answered HTTP 404: unknown path (the base URL or the path is wrong); \
                 the request never reached the service",
                Target(self.endpoint, self.path.as_deref()),
            );
        }
        write!(
            f,
            "{} answered HTTP {} with {}",
            Target(self.endpoint, self.path.as_deref()),
            self.http_status,
            self.kind.describe()
        )?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        if self.http_status == 400 {
            f.write_str("; HTTP 400 means the URL and the body do not match")?;
        } else if self.retry_advice() == RetryAdvice::OutcomeUnknown {
            f.write_str(outcome_unknown(self.endpoint))?;
        }
        Ok(())
    }
}

/// What a response parser refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResponseError {
    /// The service said no.
    Api(ApiError),
    /// The answer is unusable.
    Protocol(ProtocolError),
}

impl ResponseError {
    /// Whether the same request may be sent again, for this endpoint.
    pub fn retry_advice(&self) -> RetryAdvice {
        match self {
            ResponseError::Api(e) => e.retry_advice(),
            ResponseError::Protocol(e) => e.retry_advice(),
        }
    }

    /// Shorthand for `retry_advice().is_safe()`.
    pub fn retry_safe(&self) -> bool {
        self.retry_advice().is_safe()
    }

    /// Replaces `values` (a request's `Nonce` and `CheckSum`, the secret) wherever the answer's
    /// text was kept: the message, the detail and the raw body. See [`crate::redact`].
    pub fn redact(&mut self, values: &[&str]) {
        match self {
            ResponseError::Api(e) => {
                if let Some(m) = &mut e.message {
                    redact::redact(m, values);
                }
                redact::redact(&mut e.raw_body, values);
            }
            ResponseError::Protocol(e) => {
                if let Some(d) = &mut e.detail {
                    redact::redact(d, values);
                }
                redact::redact(&mut e.raw_body, values);
            }
        }
    }

    /// The HTTP status of the response.
    pub fn http_status(&self) -> u16 {
        match self {
            ResponseError::Api(e) => e.http_status,
            ResponseError::Protocol(e) => e.http_status,
        }
    }

    /// The body as received.
    pub fn raw_body(&self) -> &str {
        match self {
            ResponseError::Api(e) => &e.raw_body,
            ResponseError::Protocol(e) => &e.raw_body,
        }
    }

    /// The same error, naming the path of the [`Endpoint::Api`] request it answers.
    pub(crate) fn with_path(mut self, path: &str) -> Self {
        let slot = match &mut self {
            ResponseError::Api(e) => &mut e.path,
            ResponseError::Protocol(e) => &mut e.path,
        };
        *slot = Some(path.to_owned());
        self
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Api(e) => e.fmt(f),
            ResponseError::Protocol(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ResponseError {}

/// Reads the envelope; on code 200 returns its `obj` (or `Null` when absent).
pub fn parse_envelope(
    endpoint: Endpoint,
    http_status: u16,
    body: &[u8],
) -> Result<Value, ResponseError> {
    let mut envelope = read_envelope(endpoint, http_status, body)?;
    Ok(envelope.remove("obj").unwrap_or(Value::Null))
}

/// Reads the answer of any YunXin server API: on code 200, the whole JSON object (with its
/// `code`), since other APIs return their results under `info`, `data` and other names.
/// Refusals are the same as for the ECP endpoints: a code other than 200 is an [`ApiError`]
/// with the code table's meaning, a 3xx a [`ProtocolError`] of kind redirect.
///
/// Errors name [`Endpoint::Api`] without a path and advise as for a request not marked
/// idempotent; [`ApiRequest::parse_response`](crate::ApiRequest::parse_response) fills both in.
///
/// ```
/// use yunxin_ecp::response::parse_api_response;
/// let info = parse_api_response(200, br#"{"code":200,"info":{"accid":"demo"}}"#)?;
/// assert_eq!(info["info"]["accid"], "demo");
/// let refused = parse_api_response(200, br#"{"code":414,"desc":"already register"}"#).unwrap_err();
/// assert!(refused.to_string().contains("code 414"));
/// # Ok::<(), yunxin_ecp::ResponseError>(())
/// ```
pub fn parse_api_response(http_status: u16, body: &[u8]) -> Result<Value, ResponseError> {
    read_envelope(Endpoint::Api { idempotent: false }, http_status, body).map(Value::Object)
}

/// The envelope as a JSON object, once its `code` is 200 and its HTTP status 2xx.
fn read_envelope(
    endpoint: Endpoint,
    http_status: u16,
    body: &[u8],
) -> Result<Map<String, Value>, ResponseError> {
    let fail = |kind, detail: Option<String>| {
        let mut e = ProtocolError::new(endpoint, kind, http_status, body);
        e.detail = detail;
        Err(ResponseError::Protocol(e))
    };
    // Before the body: a redirect's body may well look like a success, and it is not one.
    if (300..400).contains(&http_status) {
        return Err(ResponseError::Protocol(ProtocolError::redirect(
            endpoint,
            http_status,
            None,
        )));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return fail(ProtocolErrorKind::Empty, None);
    }
    let envelope: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return fail(ProtocolErrorKind::NotAnObject, None),
        Err(_) if body.trim_ascii_start().starts_with(b"<") => {
            return fail(ProtocolErrorKind::Html, None);
        }
        Err(e) if e.is_eof() => return fail(ProtocolErrorKind::Truncated, Some(e.to_string())),
        Err(e) => return fail(ProtocolErrorKind::NotJson, Some(e.to_string())),
    };
    let code = match envelope.get("code") {
        None | Some(Value::Null) => return fail(ProtocolErrorKind::MissingCode, None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    let Some(code) = code else {
        return fail(ProtocolErrorKind::BadCode, None);
    };
    if code != 200 {
        let message = ["msg", "desc"]
            .into_iter()
            .find_map(|k| envelope.get(k).and_then(Value::as_str))
            .map(str::to_owned);
        return Err(ResponseError::Api(ApiError {
            endpoint,
            path: None,
            code,
            message,
            http_status,
            raw_body: String::from_utf8_lossy(body).into_owned(),
            resend_spent: false,
        }));
    }
    if !(200..300).contains(&http_status) {
        return fail(ProtocolErrorKind::HttpStatus, None);
    }
    Ok(envelope)
}

/// Reads a start response (`startcall` or `startconf`): `obj.session`.
pub fn parse_start(
    endpoint: Endpoint,
    http_status: u16,
    body: &[u8],
) -> Result<Started, ResponseError> {
    let obj = parse_envelope(endpoint, http_status, body)?;
    let session = match &obj {
        Value::Object(o) => o.get("session").and_then(Value::as_str),
        Value::String(s) => Some(s.as_str()),
        _ => None,
    };
    let Some(session) = session.filter(|s| !s.is_empty()) else {
        return Err(missing_result(
            endpoint,
            http_status,
            body,
            "no obj.session",
        ));
    };
    // The same rule a query applies to the session it is given, so a session that a start
    // returns can always be queried, and a hostile answer cannot hand the caller megabytes or
    // line breaks to log.
    if let Err(e) = validate::session(session) {
        let detail = format!("obj.session {}", e.rule);
        return Err(missing_result(endpoint, http_status, body, &detail));
    }
    Ok(Started {
        session: session.to_owned(),
        raw: obj.clone(),
    })
}

/// Reads a `queryBySession` response: `obj` is the call record (an object, or a string holding one).
pub fn parse_query(http_status: u16, body: &[u8]) -> Result<CallRecord, ResponseError> {
    let endpoint = Endpoint::QueryBySession;
    let obj = parse_envelope(endpoint, http_status, body)?;
    let record = match obj {
        Value::String(s) => serde_json::from_str::<Value>(&s).ok(),
        other => Some(other),
    };
    match record {
        Some(r @ Value::Object(_)) => Ok(CallRecord::from_json(r)),
        _ => Err(missing_result(
            endpoint,
            http_status,
            body,
            "obj is not a record",
        )),
    }
}

fn missing_result(endpoint: Endpoint, status: u16, body: &[u8], detail: &str) -> ResponseError {
    let mut e = ProtocolError::new(endpoint, ProtocolErrorKind::MissingResult, status, body);
    e.detail = Some(detail.to_owned());
    ResponseError::Protocol(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_signature_points_to_its_causes_and_doctor() {
        use crate::EcpRequest;
        let said = |body: &str| {
            crate::StartCall::parse_response(200, body.as_bytes())
                .unwrap_err()
                .to_string()
        };
        for body in [
            r#"{"desc":"bad http header","code":414}"#,
            r#"{"code":414}"#,
            r#"{"code":"414","desc":"checksum error"}"#,
        ] {
            let text = said(body);
            assert!(text.ends_with("`yunxin-ecp doctor` checks each"), "{text}");
            for cause in ["AppSecret", "clock", "lowercase"] {
                assert!(text.contains(cause), "{text}");
            }
        }
        // A 414 about a parameter is not about the signature.
        let text = said(r#"{"code":414,"msg":"bad param 'callee'"}"#);
        assert!(!text.contains("doctor"), "{text}");
        assert!(!said(r#"{"code":403,"desc":"bad http header"}"#).contains("doctor"));
    }

    #[test]
    fn an_http_layers_4xx_is_never_retried_but_408_and_429_are_about_timing() {
        let advice = |endpoint, status| {
            ProtocolError::new(endpoint, ProtocolErrorKind::NotJson, status, b"not found")
                .retry_advice()
        };
        let api = Endpoint::Api { idempotent: true };
        let start = Endpoint::StartCall;
        for status in [400, 401, 403, 404, 405, 413, 414, 431] {
            assert_eq!(advice(api, status), RetryAdvice::Never, "{status}");
            assert_eq!(advice(start, status), RetryAdvice::Never, "{status}");
        }
        assert_eq!(advice(api, 408), RetryAdvice::Safe);
        assert_eq!(advice(api, 429), RetryAdvice::Safe);
        assert_eq!(advice(start, 429), RetryAdvice::OutcomeUnknown);
        assert_eq!(advice(start, 502), RetryAdvice::OutcomeUnknown);
        assert_eq!(advice(Endpoint::QueryBySession, 502), RetryAdvice::Safe);
    }

    #[test]
    fn a_404_page_says_unknown_path_not_what_the_json_parser_thought() {
        let request = crate::ApiRequest::new("/nimserver/nosuch.action", [("a", "b")]).unwrap();
        let e = request
            .parse_response(404, b"Not Found: no route")
            .unwrap_err();
        assert_eq!(e.retry_advice(), RetryAdvice::Never);
        assert_eq!(
            e.to_string(),
            "/nimserver/nosuch.action answered HTTP 404: unknown path (the base URL or the path \
             is wrong); the request never reached the service"
        );
    }
}
