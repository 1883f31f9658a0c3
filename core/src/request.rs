//! The three ECP requests, and [`ApiRequest`](crate::ApiRequest) for any other YunXin server API, validated when
//! they are built and turned into a [`PreparedRequest`] that any HTTP client can send: method,
//! URL, headers and form body.

use serde::Serialize;

use crate::record::CallRecord;
use crate::response::{self, ResponseError, Started};
use crate::signing::AuthHeaders;
use crate::validate::{self, Rule, ValidationError};

pub use crate::endpoint::Endpoint;

/// The exact `Content-Type` every request carries.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded;charset=utf-8";
/// The production gateway.
pub const DEFAULT_BASE_URL: &str = "https://api.netease.im";

/// A validated base URL such as `https://api.netease.im` or a local mock's `http://127.0.0.1:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// Accepts an absolute `http://` or `https://` URL with a host, an optional port and path
    /// prefix, and no query or fragment. A trailing slash is dropped.
    ///
    /// The authority is parsed by the `http` crate, as the client will read it: a port that is
    /// not a number below 65536 would otherwise be dropped there and the signed request sent to
    /// the scheme's default port; user info (`user:pw@host`) would put a password in every log
    /// and error that names the URL.
    pub fn new(url: &str) -> Result<Self, ValidationError> {
        let bad = || ValidationError::new("baseUrl", Rule::Url);
        let clean = url
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#'));
        if !(clean && (url.starts_with("https://") || url.starts_with("http://"))) {
            return Err(bad());
        }
        let uri: http::Uri = url.parse().map_err(|_| bad())?;
        let authority = uri.authority().ok_or_else(bad)?;
        let port_ok = match authority.as_str().rsplit_once(':') {
            // A colon after the host (not inside an IPv6 literal's brackets) starts a port.
            Some((_, port)) if !port.contains(']') => authority.port_u16().is_some(),
            _ => true,
        };
        if authority.host().is_empty() || authority.as_str().contains('@') || !port_ok {
            return Err(bad());
        }
        Ok(BaseUrl(url.trim_end_matches('/').to_owned()))
    }

    /// The URL as given, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The full URL of an endpoint.
    pub fn url(&self, endpoint: Endpoint) -> String {
        self.url_of(endpoint.path())
    }

    /// The full URL of a path (which starts with `/`).
    pub fn url_of(&self, path: &str) -> String {
        format!("{}{}", self.0, path)
    }
}

impl Default for BaseUrl {
    fn default() -> Self {
        BaseUrl(DEFAULT_BASE_URL.to_owned())
    }
}

/// A request ready for any HTTP client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreparedRequest {
    /// Which endpoint this goes to; the response parser needs it.
    pub endpoint: Endpoint,
    /// Always `POST`.
    pub method: &'static str,
    /// The full URL.
    pub url: String,
    /// The four auth headers and the `Content-Type`, in that order.
    pub headers: Vec<(&'static str, String)>,
    /// The form body, UTF-8 percent-encoded.
    pub body: String,
}

impl PreparedRequest {
    /// The values of this attempt's `Nonce` and `CheckSum`: what must not come back out of an
    /// error if the answer echoes them (see [`crate::redact`]).
    pub fn signature_values(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(name, _)| matches!(*name, "Nonce" | "CheckSum"))
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// A signed form POST: the four auth headers and the `Content-Type`, in that order.
    pub(crate) fn form_post(
        endpoint: Endpoint,
        url: String,
        auth: &AuthHeaders,
        body: String,
    ) -> Self {
        let mut headers: Vec<(&'static str, String)> = auth
            .pairs()
            .into_iter()
            .map(|(name, value)| (name, value.to_owned()))
            .collect();
        headers.push(("Content-Type", FORM_CONTENT_TYPE.to_owned()));
        PreparedRequest {
            endpoint,
            method: "POST",
            url,
            headers,
            body,
        }
    }
}

/// What the three requests share: an endpoint, form parameters and a response parser.
pub trait EcpRequest {
    /// What a successful response carries.
    type Output;

    /// The endpoint the request goes to.
    const ENDPOINT: Endpoint;

    /// The form parameters, in the order the documentation lists them.
    fn form_params(&self) -> Vec<(&'static str, String)>;

    /// Parses the HTTP status and body bytes the service answered.
    fn parse_response(http_status: u16, body: &[u8]) -> Result<Self::Output, ResponseError>;

    /// The form body, UTF-8 percent-encoded.
    fn form_body(&self) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (name, value) in self.form_params() {
            form.append_pair(name, &value);
        }
        form.finish()
    }

    /// The request with its auth headers, ready to send. Sign afresh for every attempt.
    fn prepare(&self, base_url: &BaseUrl, auth: &AuthHeaders) -> PreparedRequest {
        PreparedRequest::form_post(
            Self::ENDPOINT,
            base_url.url(Self::ENDPOINT),
            auth,
            self.form_body(),
        )
    }
}

/// A callback call: the service rings `caller`, then `callee`, and bridges them.
///
/// ```
/// use yunxin_ecp::StartCall;
/// let e = StartCall::new("acc", "+8613888888888", "13777777777", 60).unwrap_err();
/// assert_eq!((e.field, e.rule.code()), ("caller", "country_code"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartCall {
    caller_acc: String,
    caller: String,
    callee: String,
    max_dur: u32,
}

impl StartCall {
    /// Validates every field; `max_dur` is the longest the call may last, in seconds.
    pub fn new(
        caller_acc: impl Into<String>,
        caller: impl Into<String>,
        callee: impl Into<String>,
        max_dur: u32,
    ) -> Result<Self, ValidationError> {
        let (caller_acc, caller, callee) = (caller_acc.into(), caller.into(), callee.into());
        validate::caller_acc(&caller_acc)?;
        validate::phone_number("caller", None, &caller)?;
        validate::phone_number("callee", None, &callee)?;
        if caller == callee {
            return Err(ValidationError::new(
                "callee",
                Rule::Duplicate { number: callee },
            ));
        }
        validate::max_dur(max_dur)?;
        Ok(StartCall {
            caller_acc,
            caller,
            callee,
            max_dur,
        })
    }

    /// The accid the call is placed for.
    pub fn caller_acc(&self) -> &str {
        &self.caller_acc
    }
    /// The number rung first.
    pub fn caller(&self) -> &str {
        &self.caller
    }
    /// The number rung second.
    pub fn callee(&self) -> &str {
        &self.callee
    }
    /// The longest the call may last, in seconds.
    pub fn max_dur(&self) -> u32 {
        self.max_dur
    }
}

impl EcpRequest for StartCall {
    type Output = Started;
    const ENDPOINT: Endpoint = Endpoint::StartCall;

    fn form_params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("callerAcc", self.caller_acc.clone()),
            ("caller", self.caller.clone()),
            ("callee", self.callee.clone()),
            ("maxDur", self.max_dur.to_string()),
        ]
    }

    fn parse_response(http_status: u16, body: &[u8]) -> Result<Started, ResponseError> {
        response::parse_start(Self::ENDPOINT, http_status, body)
    }
}

/// A phone conference: the caller and 2 to 7 callees. The callee list is sent as a JSON array
/// string, which this type serializes with a real JSON serializer.
///
/// ```
/// use yunxin_ecp::{StartConf, EcpRequest};
/// let conf = StartConf::new("acc", "13777777777", ["13888888888", "13666666666"], 100)?;
/// assert_eq!(
///     conf.form_body(),
///     "callerAcc=acc&caller=13777777777&callee=%5B%2213888888888%22%2C%2213666666666%22%5D&maxDur=100"
/// );
/// # Ok::<(), yunxin_ecp::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartConf {
    caller_acc: String,
    caller: String,
    callees: Vec<String>,
    max_dur: u32,
}

impl StartConf {
    /// Validates every field: 2 to 7 callees, all distinct and different from the caller.
    pub fn new<I, S>(
        caller_acc: impl Into<String>,
        caller: impl Into<String>,
        callees: I,
        max_dur: u32,
    ) -> Result<Self, ValidationError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let (caller_acc, caller) = (caller_acc.into(), caller.into());
        let callees: Vec<String> = callees.into_iter().map(Into::into).collect();
        validate::caller_acc(&caller_acc)?;
        validate::phone_number("caller", None, &caller)?;
        validate::conference_callees(&caller, &callees)?;
        validate::max_dur(max_dur)?;
        Ok(StartConf {
            caller_acc,
            caller,
            callees,
            max_dur,
        })
    }

    /// The accid the conference is placed for.
    pub fn caller_acc(&self) -> &str {
        &self.caller_acc
    }
    /// The caller's number.
    pub fn caller(&self) -> &str {
        &self.caller
    }
    /// The other participants' numbers.
    pub fn callees(&self) -> &[String] {
        &self.callees
    }
    /// The longest the conference may last, in seconds.
    pub fn max_dur(&self) -> u32 {
        self.max_dur
    }
}

impl EcpRequest for StartConf {
    type Output = Started;
    const ENDPOINT: Endpoint = Endpoint::StartConf;

    fn form_params(&self) -> Vec<(&'static str, String)> {
        // A Vec<String> always serializes; the fallback only keeps this path panic-free.
        let callee = serde_json::to_string(&self.callees).unwrap_or_default();
        vec![
            ("callerAcc", self.caller_acc.clone()),
            ("caller", self.caller.clone()),
            ("callee", callee),
            ("maxDur", self.max_dur.to_string()),
        ]
    }

    fn parse_response(http_status: u16, body: &[u8]) -> Result<Started, ResponseError> {
        response::parse_start(Self::ENDPOINT, http_status, body)
    }
}

/// Whether a session is a two-party call or a conference; the query's `type` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// `type=1`: a call placed with `startcall`.
    Call,
    /// `type=2`: a conference placed with `startconf`.
    Conference,
}

impl SessionKind {
    /// The wire value of `type`.
    pub fn wire(self) -> u8 {
        match self {
            SessionKind::Call => 1,
            SessionKind::Conference => 2,
        }
    }

    /// Parses the wire value of `type` (`1` or `2`).
    pub fn from_wire(value: &str) -> Result<Self, ValidationError> {
        match value {
            "1" => Ok(SessionKind::Call),
            "2" => Ok(SessionKind::Conference),
            _ => Err(ValidationError::new(
                "type",
                Rule::OneOf {
                    allowed: "1 (call) or 2 (conference)",
                },
            )),
        }
    }
}

/// The details of one call or conference, by the session id its start request returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryBySession {
    session: String,
    kind: SessionKind,
}

impl QueryBySession {
    /// Validates the session id (non-empty printable ASCII, at most 128 characters).
    pub fn new(session: impl Into<String>, kind: SessionKind) -> Result<Self, ValidationError> {
        let session = session.into();
        validate::session(&session)?;
        Ok(QueryBySession { session, kind })
    }

    /// The session id.
    pub fn session(&self) -> &str {
        &self.session
    }
    /// Call or conference.
    pub fn kind(&self) -> SessionKind {
        self.kind
    }
}

impl EcpRequest for QueryBySession {
    type Output = CallRecord;
    const ENDPOINT: Endpoint = Endpoint::QueryBySession;

    fn form_params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("session", self.session.clone()),
            ("type", self.kind.wire().to_string()),
        ]
    }

    fn parse_response(http_status: u16, body: &[u8]) -> Result<CallRecord, ResponseError> {
        response::parse_query(http_status, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            BaseUrl::new("http://127.0.0.1:8080/").unwrap().as_str(),
            "http://127.0.0.1:8080"
        );
        for bad in [
            "",
            "api.netease.im",
            "ftp://x",
            "https://",
            "https://:80",
            "https://a b",
            "https://a?x=1",
            "http://127.0.0.1:99999",
            "http://127.0.0.1:abc",
            "http://127.0.0.1:",
            "http://user:pw@host",
            "http://[::1",
            "http://%zz",
        ] {
            assert!(BaseUrl::new(bad).is_err(), "{bad}");
        }
        for good in [
            "https://api.netease.im",
            "http://[::1]:8080",
            "http://[::1]",
            "http://localhost:65535/prefix",
        ] {
            assert_eq!(BaseUrl::new(good).unwrap().as_str(), good);
        }
    }
}
