//! Any YunXin server API through the blocking client: against the mock (the ECP paths sent as
//! generic requests), against a local server for a path the mock does not serve, and the
//! refusals: path validation, retries only where the request provably never left (or the caller
//! marked it idempotent), redirects and oversized answers. Only 127.0.0.1 is contacted.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::json;
use yunxin_ecp::blocking::Client;
use yunxin_ecp::server::verify_request;
use yunxin_ecp::{
    ApiRequest, Credentials, Endpoint, Error, ProtocolErrorKind, QueryBySession, ResponseError,
    RetryAdvice, SessionKind, TransportErrorKind,
};
use yunxin_ecp_mock::{MockConfig, MockServer, SAMPLE_APP_KEY, SAMPLE_APP_SECRET};

const APP_KEY: &str = "0123456789abcdef0123456789abcdef";
const SECRET: &str = "api-request-test-secret";

/// One request as the local server read it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// What the local server does with a request.
enum Action {
    Answer(Vec<u8>),
    /// Reads the request and never answers (until the test ends).
    Hang,
}

/// A one-request-per-connection HTTP server on 127.0.0.1 that records what it reads.
struct LocalServer {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LocalServer {
    fn start(act: impl Fn(&Seen) -> Action + Send + 'static) -> LocalServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            thread::spawn(move || {
                let mut held = Vec::new();
                while !stop.load(Ordering::Acquire) {
                    let Ok((mut stream, _)) = listener.accept() else {
                        thread::sleep(Duration::from_millis(2));
                        continue;
                    };
                    let Some(request) = read_request(&mut stream) else {
                        continue;
                    };
                    seen.lock().unwrap().push(request.clone());
                    match act(&request) {
                        Action::Answer(bytes) => {
                            let _ = stream.write_all(&bytes);
                        }
                        Action::Hang => held.push(stream),
                    }
                }
            })
        };
        LocalServer {
            url,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        let Ok(httparse::Status::Complete(head_len)) = req.parse(&buf) else {
            continue;
        };
        let headers: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|h| {
                let value = String::from_utf8_lossy(h.value).into_owned();
                (h.name.to_owned(), value)
            })
            .collect();
        let body_len = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let (method, path) = (req.method?.to_owned(), req.path?.to_owned());
        while buf.len() < head_len + body_len {
            let n = stream.read(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = String::from_utf8_lossy(&buf[head_len..]).into_owned();
        return Some(Seen {
            method,
            path,
            headers,
            body,
        });
    }
}

fn json_response(status: &str, body: &str) -> Action {
    Action::Answer(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

fn creds() -> Credentials {
    Credentials::new(APP_KEY, SECRET).unwrap()
}

fn client(base_url: &str) -> Client {
    Client::builder(creds())
        .base_url(base_url)
        .timeout(Duration::from_secs(5))
        .backoff(Duration::ZERO)
        .build()
        .unwrap()
}

/// A YunXin IM-style server: `/user/create.action` creates a user once, then refuses with 414.
fn user_server() -> LocalServer {
    let created = Mutex::new(Vec::<String>::new());
    LocalServer::start(move |seen| {
        let params: Vec<(String, String)> = form_urlencoded(&seen.body);
        let accid = params
            .iter()
            .find(|(n, _)| n == "accid")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        match seen.path.as_str() {
            "/user/create.action" if created.lock().unwrap().contains(&accid) => {
                json_response("200 OK", r#"{"desc":"already register","code":414}"#)
            }
            "/user/create.action" => {
                created.lock().unwrap().push(accid.clone());
                let body =
                    json!({"code": 200, "info": {"token": "t0k3n", "accid": accid, "name": ""}});
                json_response("200 OK", &body.to_string())
            }
            _ => json_response("404 Not Found", "not found"),
        }
    })
}

fn form_urlencoded(body: &str) -> Vec<(String, String)> {
    yunxin_ecp::server::Params::parse("", body.as_bytes())
        .pairs()
        .to_vec()
}

#[test]
fn an_unknown_path_is_signed_sent_and_answered_whole() {
    let server = user_server();
    let client = client(&server.url);
    let request = ApiRequest::new(
        "/user/create.action",
        [("accid", "demo"), ("name", "演示 & co")],
    )
    .unwrap();
    let answer = client.request(&request).unwrap();
    assert_eq!(
        answer,
        json!({"code": 200, "info": {"token": "t0k3n", "accid": "demo", "name": ""}})
    );

    let seen = &server.requests()[0];
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/user/create.action")
    );
    assert_eq!(seen.body, "accid=demo&name=%E6%BC%94%E7%A4%BA+%26+co");
    let header = |name: &str| {
        seen.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        header("Content-Type"),
        Some("application/x-www-form-urlencoded;charset=utf-8")
    );
    let creds = creds();
    let now = yunxin_ecp::signing::unix_seconds_now();
    verify_request(seen.headers.clone(), |_| Some(&creds), now, 300)
        .expect("the service would accept the signature");

    // The second creation is refused: an API error naming the path, with the code's meaning.
    let err = client.request(&request).unwrap_err();
    let Error::Response(ResponseError::Api(api)) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.code, 414);
    assert_eq!(api.message.as_deref(), Some("already register"));
    assert_eq!(api.path.as_deref(), Some("/user/create.action"));
    assert_eq!(api.endpoint, Endpoint::Api { idempotent: false });
    assert_eq!(err.retry_advice(), RetryAdvice::Never);
    assert!(
        err.to_string()
            .starts_with("/user/create.action answered code 414")
    );
    assert_eq!(server.requests().len(), 2, "a 414 is not retried");
}

#[test]
fn the_ecp_paths_work_as_generic_requests_against_the_mock() {
    let mock = MockServer::start(MockConfig::default()).unwrap();
    let client = Client::builder(Credentials::new(SAMPLE_APP_KEY, SAMPLE_APP_SECRET).unwrap())
        .base_url(mock.base_url())
        .build()
        .unwrap();
    let start = ApiRequest::new(
        "/call/ecp/startcall.action",
        [
            ("callerAcc", "liuxuanlin"),
            ("caller", "13888888888"),
            ("callee", "13777777777"),
            ("maxDur", "100"),
        ],
    )
    .unwrap();
    let started = client.request(&start).unwrap();
    assert_eq!(started["code"], 200);
    let session = started["obj"]["session"].as_str().unwrap().to_owned();

    // The typed query finds the call the generic request placed, and the generic query agrees.
    let record = client
        .query(&QueryBySession::new(session.clone(), SessionKind::Call).unwrap())
        .unwrap();
    assert_eq!(record.callee.as_deref(), Some("13777777777"));
    let query = ApiRequest::new(
        "/call/ecp/queryBySession.action",
        [("session", session.as_str()), ("type", "1")],
    )
    .unwrap()
    .idempotent(true);
    let raw = client.request(&query).unwrap();
    assert_eq!(raw["code"], 200);
    assert_eq!(raw["obj"]["session"], session.as_str());

    // The mock's own refusals come back typed: a bad parameter, then an unknown session.
    let bad = ApiRequest::new(
        "/call/ecp/startcall.action",
        [
            ("callerAcc", "liuxuanlin"),
            ("caller", "13888888888"),
            ("callee", "+8613777777777"),
            ("maxDur", "100"),
        ],
    )
    .unwrap();
    let err = client.request(&bad).unwrap_err();
    let Error::Response(ResponseError::Api(api)) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (api.code, api.message.as_deref()),
        (414, Some("bad param 'callee'"))
    );
    let missing = ApiRequest::new(
        "/call/ecp/queryBySession.action",
        [("session", "no-such-session"), ("type", "1")],
    )
    .unwrap();
    let err = client.request(&missing).unwrap_err();
    assert!(
        matches!(&err, Error::Response(ResponseError::Api(a)) if a.code == 404),
        "{err:?}"
    );

    // A path the mock does not serve: HTTP 404 with a text body is a protocol error.
    let unknown = ApiRequest::new("/nimserver/user/create.action", [("accid", "demo")]).unwrap();
    let err = client.request(&unknown).unwrap_err();
    let Error::Response(ResponseError::Protocol(p)) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((p.http_status, p.kind), (404, ProtocolErrorKind::NotJson));
    assert_eq!(p.path.as_deref(), Some("/nimserver/user/create.action"));
    assert_eq!(mock.start_count(), 2, "one call placed, one refused");
    mock.stop();
}

#[test]
fn paths_are_refused_before_anything_is_sent() {
    for (path, rule) in [
        ("user/create.action", "api_path"),
        ("https://api.netease.im/user/create.action", "api_path"),
        ("//evil.example/user/create.action", "api_path"),
        ("/nimserver/../admin", "api_path"),
        ("/user/create.action?accid=smuggled", "api_path"),
        ("/user/create.action#x", "api_path"),
        ("/user/create action", "api_path"),
        ("/user/create.action\r\nX-Injected: 1", "api_path"),
        ("/user/%2e%2e/x", "charset"),
        ("", "empty"),
    ] {
        let err = ApiRequest::new(path, [("accid", "demo")]).unwrap_err();
        assert_eq!((err.field, err.rule.code()), ("path", rule), "{path:?}");
    }
    let long = format!("/{}", "a".repeat(300));
    assert_eq!(
        ApiRequest::new(long, [("a", "b")]).unwrap_err().rule.code(),
        "length"
    );
    let err = ApiRequest::new("/x", [("", "v")]).unwrap_err();
    assert_eq!((err.field, err.index), ("params", Some(0)));
}

#[test]
fn a_connect_failure_is_retried_whether_or_not_the_request_is_idempotent() {
    // A port that was free a moment ago: nothing listens there.
    let url = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let client = client(&url);
    for idempotent in [false, true] {
        let request = ApiRequest::new("/user/create.action", [("accid", "demo")])
            .unwrap()
            .idempotent(idempotent);
        let err = client.request(&request).unwrap_err();
        let Error::Transport(t) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(t.kind, TransportErrorKind::Connect);
        assert!(!t.maybe_sent);
        assert_eq!(t.attempts, 3, "idempotent={idempotent}: 1 + 2 retries");
        assert_eq!(t.path.as_deref(), Some("/user/create.action"));
        assert_eq!(err.retry_advice(), RetryAdvice::Safe);
        assert!(err.to_string().contains("the request was not sent"));
    }
}

#[test]
fn a_read_timeout_is_never_resent_unless_the_request_is_idempotent() {
    let server = LocalServer::start(|_| Action::Hang);
    let client = Client::builder(creds())
        .base_url(&server.url)
        .timeout(Duration::from_millis(300))
        .backoff(Duration::ZERO)
        .build()
        .unwrap();
    let send_message = ApiRequest::new(
        "/nimserver/msg/sendMsg.action",
        [("from", "demo"), ("to", "13888888888"), ("body", "{}")],
    )
    .unwrap();
    let started = Instant::now();
    let err = client.request(&send_message).unwrap_err();
    let Error::Transport(t) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (t.kind, t.maybe_sent, t.attempts),
        (TransportErrorKind::Timeout, true, 1)
    );
    assert_eq!(err.retry_advice(), RetryAdvice::OutcomeUnknown);
    assert!(
        err.to_string()
            .starts_with("/nimserver/msg/sendMsg.action timed out after 1 attempt(s)"),
        "{err}"
    );
    assert!(
        err.to_string().ends_with("check before sending it again"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        server.requests().len(),
        1,
        "a non-idempotent request was sent twice"
    );

    let lookup = ApiRequest::new(
        "/nimserver/user/getUinfos.action",
        [("accids", "[\"demo\"]")],
    )
    .unwrap()
    .idempotent(true);
    let err = client.request(&lookup).unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.attempts == 3),
        "{err:?}"
    );
    assert_eq!(
        server.requests().len(),
        4,
        "an idempotent request is retried"
    );
}

#[test]
fn answers_that_may_follow_an_effect_are_retried_only_when_idempotent() {
    for (body, code) in [
        (r#"{"code":500,"msg":"server internal error"}"#, 500),
        (r#"{"code":503,"msg":"server busy"}"#, 503),
    ] {
        let server = LocalServer::start(move |_| json_response("200 OK", body));
        let client = client(&server.url);
        let request = ApiRequest::new("/user/create.action", [("accid", "demo")]).unwrap();
        let err = client.request(&request).unwrap_err();
        assert!(matches!(&err, Error::Response(ResponseError::Api(a)) if a.code == code));
        assert_eq!(err.retry_advice(), RetryAdvice::OutcomeUnknown, "{code}");
        assert_eq!(server.requests().len(), 1, "{code}: resent");

        let err = client
            .request(&request.clone().idempotent(true))
            .unwrap_err();
        assert!(err.retry_advice().is_safe(), "{code}");
        assert_eq!(
            server.requests().len(),
            4,
            "{code}: idempotent, retried twice"
        );
    }
}

#[test]
fn redirects_and_oversized_answers_are_refused() {
    let target = LocalServer::start(|_| json_response("200 OK", r#"{"code":200}"#));
    let location = format!("{}/user/create.action", target.url);
    let server = LocalServer::start(move |_| {
        Action::Answer(
            format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            )
            .into_bytes(),
        )
    });
    let request = ApiRequest::new("/user/create.action", [("accid", "demo")]).unwrap();
    let err = client(&server.url).request(&request).unwrap_err();
    let Error::Response(ResponseError::Protocol(p)) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((p.kind, p.http_status), (ProtocolErrorKind::Redirect, 307));
    assert_eq!(p.path.as_deref(), Some("/user/create.action"));
    assert_eq!(server.requests().len(), 1);
    assert!(
        target.requests().is_empty(),
        "the Location host was contacted"
    );

    let big = format!(r#"{{"code":200,"info":"{}"}}"#, "x".repeat(4096));
    let server = LocalServer::start(move |_| json_response("200 OK", &big));
    let client = Client::builder(creds())
        .base_url(&server.url)
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let err = client.request(&request).unwrap_err();
    assert!(
        matches!(&err, Error::Response(ResponseError::Protocol(p)) if p.kind == ProtocolErrorKind::TooLarge),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1);
}
