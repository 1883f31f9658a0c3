//! Any YunXin server API through the same signing, envelope and code table as ECP: users,
//! messages, SMS and the rest are all a signed form POST answered `{"code":…}`.
//!
//! The path is checked strictly because it is the one part of the URL a caller writes by hand
//! and the signature does not cover: a `?` or `#` would smuggle parameters past the form body,
//! `..` or `//` would let a path leave the base URL's prefix or name another host, and spaces or
//! control characters would corrupt the request line.

use serde::Serialize;
use serde_json::Value;

use crate::request::{BaseUrl, Endpoint, PreparedRequest};
use crate::response::{self, ResponseError};
use crate::signing::AuthHeaders;
use crate::validate::{Rule, ValidationError};

/// Longest path accepted; YunXin's paths are a few dozen characters.
pub const MAX_API_PATH_LEN: usize = 256;

/// A request to any YunXin server API: a path below the base URL and form parameters, signed
/// like every other request.
///
/// A request that is not marked [`idempotent`](Self::idempotent) is sent again only when it
/// provably never left (a connect failure): creating a user or sending a message twice is the
/// caller's harm to decide on, not the client's.
///
/// ```
/// use yunxin_ecp::{ApiRequest, BaseUrl, Credentials};
///
/// let creds = Credentials::new("fd460d34e786e7754e505bc4fab0f027", "xxxxxxxx")?;
/// let request = ApiRequest::new("/nimserver/user/create.action", [("accid", "demo"), ("name", "演示")])?;
/// let prepared = request.prepare(&BaseUrl::default(), &creds.sign("123456", 1440570500)?);
/// assert_eq!(prepared.url, "https://api.netease.im/nimserver/user/create.action");
/// assert_eq!(prepared.body, "accid=demo&name=%E6%BC%94%E7%A4%BA");
/// assert!(ApiRequest::new("/user/create.action?accid=x", [("a", "b")]).is_err());
/// # Ok::<(), yunxin_ecp::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiRequest {
    path: String,
    params: Vec<(String, String)>,
    idempotent: bool,
}

impl ApiRequest {
    /// Checks the path (see [`check_path`]) and the parameter names (non-empty); parameters are
    /// sent in the order given.
    pub fn new<I, K, V>(path: impl Into<String>, params: I) -> Result<Self, ValidationError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let path = path.into();
        check_path(&path)?;
        let params: Vec<(String, String)> = params
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        if let Some(index) = params.iter().position(|(name, _)| name.is_empty()) {
            let mut e = ValidationError::new("params", Rule::Empty);
            e.index = Some(index);
            return Err(e);
        }
        Ok(ApiRequest {
            path,
            params,
            idempotent: false,
        })
    }

    /// Marks the request as safe to send twice (a read, or a write the API deduplicates), so
    /// that it is retried like a query. Off by default.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Whether the request was marked idempotent.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// The path below the base URL.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The form parameters, in order.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// [`Endpoint::Api`], carrying whether the request is idempotent.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::Api {
            idempotent: self.idempotent,
        }
    }

    /// The form body, UTF-8 percent-encoded.
    pub fn form_body(&self) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.params {
            form.append_pair(name, value);
        }
        form.finish()
    }

    /// The request with its auth headers, ready to send, exactly as the ECP requests are
    /// prepared. Sign afresh for every attempt.
    pub fn prepare(&self, base_url: &BaseUrl, auth: &AuthHeaders) -> PreparedRequest {
        PreparedRequest::form_post(
            self.endpoint(),
            base_url.url_of(&self.path),
            auth,
            self.form_body(),
        )
    }

    /// Reads the answer (see [`response::parse_api_response`]); errors name this request's path
    /// and advise according to its idempotency.
    pub fn parse_response(&self, http_status: u16, body: &[u8]) -> Result<Value, ResponseError> {
        parse_response_to(self.endpoint(), &self.path, http_status, body)
    }
}

/// [`ApiRequest::parse_response`] for an HTTP client that kept only what it sent: the
/// request's endpoint (its idempotency) and path.
pub fn parse_response_to(
    endpoint: Endpoint,
    path: &str,
    http_status: u16,
    body: &[u8],
) -> Result<Value, ResponseError> {
    response::parse_api_response(http_status, body).map_err(|e| {
        let mut e = e.with_path(path);
        match &mut e {
            ResponseError::Api(a) => a.endpoint = endpoint,
            ResponseError::Protocol(p) => p.endpoint = endpoint,
        }
        e
    })
}

/// Checks a path for [`ApiRequest`]: it starts with `/`, names no scheme or host, has no empty,
/// `.` or `..` segment, no `?` or `#`, holds only `[A-Za-z0-9/._~-]` (no space, control
/// character or percent escape), and is at most [`MAX_API_PATH_LEN`] characters long.
///
/// ```
/// use yunxin_ecp::api::check_path;
/// assert!(check_path("/nimserver/msg/sendMsg.action").is_ok());
/// for bad in ["user/create.action", "//evil.example/x", "https://evil.example/x",
///             "/a/../b", "/a?b=1", "/a#b", "/a b", "/a\n", "/a%2e%2e"] {
///     assert_eq!(check_path(bad).unwrap_err().field, "path", "{bad:?}");
/// }
/// ```
pub fn check_path(path: &str) -> Result<(), ValidationError> {
    let refuse = |problem| Err(ValidationError::new("path", Rule::ApiPath { problem }));
    let length = path.chars().count();
    if path.is_empty() {
        return Err(ValidationError::new("path", Rule::Empty));
    }
    if length > MAX_API_PATH_LEN {
        return Err(ValidationError::new(
            "path",
            Rule::Length {
                min: 1,
                max: MAX_API_PATH_LEN,
                actual: length,
            },
        ));
    }
    if path.contains("://") {
        return refuse("a path, not a URL: the scheme and host come from the base URL");
    }
    if !path.starts_with('/') {
        return refuse("it must start with /");
    }
    if path.starts_with("//") {
        return refuse("// would name another host");
    }
    if path.contains(['?', '#']) {
        return refuse("no ? or #: parameters go in the form body");
    }
    if path.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return refuse("no spaces or control characters");
    }
    if !path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '~' | '-'))
    {
        return Err(ValidationError::new(
            "path",
            Rule::Charset {
                allowed: "[A-Za-z0-9/._~-]",
            },
        ));
    }
    // Every segment but a trailing empty one (`/a/`): no `//`, `.` or `..`.
    let segments: Vec<&str> = path[1..].split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." | ".." => return refuse("no . or .. segment"),
            "" if i + 1 < segments.len() => return refuse("no empty segment (//)"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::RequestKind;
    use crate::signing::Credentials;

    fn rule_of(path: &str) -> String {
        match check_path(path) {
            Ok(()) => "ok".to_owned(),
            Err(e) => e.rule.code().to_owned(),
        }
    }

    #[test]
    fn paths() {
        for ok in [
            "/",
            "/user/create.action",
            "/nimserver/user/create.action",
            "/call/ecp/startcall.action",
            "/a/b/",
            "/a-b_c~d.e",
        ] {
            assert_eq!(rule_of(ok), "ok", "{ok:?}");
        }
        let long = format!("/{}", "a".repeat(MAX_API_PATH_LEN));
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            (&long, "length"),
            ("user/create.action", "api_path"),
            ("https://evil.example/user", "api_path"),
            ("//evil.example/user", "api_path"),
            ("/a/../b", "api_path"),
            ("/..", "api_path"),
            ("/a/./b", "api_path"),
            ("/a//b", "api_path"),
            ("/a?accid=x", "api_path"),
            ("/a#frag", "api_path"),
            ("/a b", "api_path"),
            ("/a\tb", "api_path"),
            ("/a\r\nHost: evil", "api_path"),
            ("/a\u{0}", "api_path"),
            ("/a%2F..", "charset"),
            ("/a\\b", "charset"),
            ("/用户", "charset"),
            ("/a;b", "charset"),
            ("/a@b", "charset"),
        ];
        for (path, rule) in cases {
            assert_eq!(rule_of(path), *rule, "{path:?}");
        }
    }

    #[test]
    fn params_keep_their_order_and_names_must_not_be_empty() {
        let r = ApiRequest::new("/x", [("b", "2"), ("a", "1 &=")]).unwrap();
        assert_eq!(r.form_body(), "b=2&a=1+%26%3D");
        let e = ApiRequest::new("/x", [("a", "1"), ("", "2")]).unwrap_err();
        assert_eq!((e.field, e.index, e.rule), ("params", Some(1), Rule::Empty));
        let empty: [(&str, &str); 0] = [];
        assert_eq!(ApiRequest::new("/x", empty).unwrap().form_body(), "");
    }

    #[test]
    fn prepared_like_an_ecp_request() {
        let creds = Credentials::new("fd460d34e786e7754e505bc4fab0f027", "xxxxxxxx").unwrap();
        let auth = creds.sign("123456", 1440570500).unwrap();
        let base = BaseUrl::new("http://127.0.0.1:9/prefix/").unwrap();
        let p = ApiRequest::new("/user/create.action", [("accid", "demo")])
            .unwrap()
            .prepare(&base, &auth);
        assert_eq!(p.url, "http://127.0.0.1:9/prefix/user/create.action");
        assert_eq!(p.method, "POST");
        assert_eq!(p.endpoint, Endpoint::Api { idempotent: false });
        let names: Vec<&str> = p.headers.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            ["AppKey", "Nonce", "CurTime", "CheckSum", "Content-Type"]
        );
        assert!(p.headers.contains(&(
            "CheckSum",
            "90d19362ba1584524bbd9b375b006837a4f676db".to_owned()
        )));
        assert!(p.headers.contains(&(
            "Content-Type",
            "application/x-www-form-urlencoded;charset=utf-8".to_owned()
        )));
    }

    #[test]
    fn responses() {
        let r = ApiRequest::new("/user/create.action", [("accid", "demo")]).unwrap();
        let ok = r
            .parse_response(200, br#"{"code":200,"info":{"token":"t","accid":"demo"}}"#)
            .unwrap();
        assert_eq!(ok["info"]["token"], "t");
        assert_eq!(ok["code"], 200);

        let e = r
            .parse_response(200, br#"{"code":414,"desc":"already register"}"#)
            .unwrap_err();
        let ResponseError::Api(api) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(api.code, 414);
        assert_eq!(api.message.as_deref(), Some("already register"));
        assert_eq!(api.path.as_deref(), Some("/user/create.action"));
        assert_eq!(
            e.to_string(),
            "/user/create.action answered code 414 (parameter error, or bad http header \
             (signature or clock)): already register"
        );

        let e = r.parse_response(302, b"").unwrap_err();
        let ResponseError::Protocol(p) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(p.kind.code(), "redirect");

        // 500: the request may have acted, unless the caller said it is idempotent.
        let body = br#"{"code":500,"msg":"server internal error"}"#;
        let advice = |r: &ApiRequest| r.parse_response(200, body).unwrap_err().retry_advice();
        assert_eq!(advice(&r), crate::RetryAdvice::OutcomeUnknown);
        assert_eq!(
            advice(&r.clone().idempotent(true)),
            crate::RetryAdvice::Safe
        );
        assert!(
            r.parse_response(200, body)
                .unwrap_err()
                .to_string()
                .ends_with("the request may have taken effect: check before sending it again")
        );
        assert_eq!(r.endpoint().kind(), RequestKind::NotIdempotent);
        assert_eq!(
            r.clone().idempotent(true).endpoint().kind(),
            RequestKind::Query
        );
    }

    #[test]
    fn endpoint_serializes_as_its_code() {
        let e = Endpoint::Api { idempotent: true };
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"api\"");
        assert_eq!(
            serde_json::to_string(&Endpoint::StartCall).unwrap(),
            "\"start_call\""
        );
        assert_eq!(Endpoint::from_path(""), None);
    }
}
