//! The blocking client against hostile HTTP servers on 127.0.0.1: redirects are never followed
//! (no signed header reaches the `Location` host, a start is never sent twice), and what a
//! server chooses to send (sessions, `Location`s) never reaches the caller unchecked.
#![cfg(feature = "blocking")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use yunxin_ecp::blocking::Client;
use yunxin_ecp::{
    Credentials, Error, ProtocolErrorKind, QueryBySession, ResponseError, RetryAdvice, SessionKind,
    StartCall,
};

const SECRET: &str = "hostile-test-secret-0123456789";

/// One request as the server saw it: its head, as text.
type Seen = Arc<Mutex<Vec<String>>>;

/// A server that records every request head it reads and answers each with `answer`.
struct HostileServer {
    url: String,
    seen: Seen,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HostileServer {
    fn start(answer: impl Fn(&str) -> Vec<u8> + Send + 'static) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Seen = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    match listener.accept() {
                        Ok((stream, _)) => serve(stream, &seen, &answer),
                        Err(_) => thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        HostileServer {
            url,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request (head by `httparse`, body by its length), records it, answers, closes.
fn serve(mut stream: TcpStream, seen: &Seen, answer: &dyn Fn(&str) -> Vec<u8>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_len, body_len) = loop {
        let Ok(n) = stream.read(&mut chunk) else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(len)) = req.parse(&buf) {
            let body_len = req
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok())
                .unwrap_or(0);
            break (len, body_len);
        }
    };
    while buf.len() < head_len + body_len {
        match stream.read(&mut chunk) {
            Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
    let reply = answer(&head);
    seen.lock().unwrap().push(head);
    let _ = stream.write_all(&reply);
}

fn client(base_url: &str, retries: u32) -> Client {
    Client::builder(Credentials::new("hostile-app-key", SECRET).unwrap())
        .base_url(base_url)
        .timeout(Duration::from_secs(5))
        .max_retries(retries)
        .backoff(Duration::ZERO)
        .build()
        .unwrap()
}

fn success(session: &str) -> Vec<u8> {
    let body = format!(r#"{{"code":200,"obj":{{"session":{session:?}}}}}"#);
    response("200 OK", "", &body)
}

fn response(status: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra_headers}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn start() -> StartCall {
    StartCall::new("liuxuanlin", "13888888888", "13777777777", 100).unwrap()
}

/// The value of header `name` in a recorded request head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn no_redirect_is_followed_and_nothing_reaches_the_location_host() {
    for status in [
        "301 Moved Permanently",
        "302 Found",
        "303 See Other",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        // The Location host answers every request with a success, as a hostile one would.
        let target = HostileServer::start(|_| success("the-other-hosts-session"));
        let location = format!("{}/ecp/startcall.action", target.url);
        let redirecting = {
            let location = location.clone();
            HostileServer::start(move |_| {
                let body = r#"{"code":200,"obj":{"session":"inside-the-3xx-body"}}"#;
                response(status, &format!("Location: {location}\r\n"), body)
            })
        };

        let err = client(&redirecting.url, 2)
            .start_call(&start())
            .unwrap_err();
        let Error::Response(ResponseError::Protocol(p)) = &err else {
            panic!("{status}: expected a protocol error, got {err:?}");
        };
        assert_eq!(p.kind, ProtocolErrorKind::Redirect, "{status}");
        assert_eq!(p.kind.code(), "redirect");
        assert_eq!(p.detail.as_deref(), Some(&*format!("Location: {location}")));
        assert_eq!(err.retry_advice(), RetryAdvice::OutcomeUnknown, "{status}");
        assert_eq!(
            redirecting.requests().len(),
            1,
            "{status}: a start sent twice"
        );
        assert!(
            target.requests().is_empty(),
            "{status}: the Location host was contacted"
        );

        // No signature value the server saw is in the error the caller may log.
        let head = &redirecting.requests()[0];
        let text = format!("{err} {err:?}");
        for name in ["CheckSum", "Nonce"] {
            let value = header(head, name).unwrap();
            assert!(!text.contains(value), "{status}: {name} in the error");
        }
        assert!(!text.contains(SECRET));

        // A query is retried, to the same base URL only.
        let session = QueryBySession::new("abc", SessionKind::Call).unwrap();
        let err = client(&redirecting.url, 2).query(&session).unwrap_err();
        assert_eq!(err.retry_advice(), RetryAdvice::Safe);
        assert_eq!(redirecting.requests().len(), 1 + 3, "{status}");
        assert!(target.requests().is_empty(), "{status}");
    }
}

#[test]
fn a_hostile_location_is_cut_and_stripped() {
    let long = format!("http://127.0.0.1:9/{}", "a".repeat(5000));
    let server = {
        let long = long.clone();
        HostileServer::start(move |_| response("302 Found", &format!("Location: {long}\r\n"), ""))
    };
    let err = client(&server.url, 0).start_call(&start()).unwrap_err();
    let Error::Response(ResponseError::Protocol(p)) = err else {
        panic!("expected a protocol error");
    };
    let detail = p.detail.unwrap();
    assert_eq!(detail.chars().count(), "Location: ".len() + 512);
    assert!(long.starts_with(detail.trim_start_matches("Location: ")));
}

#[test]
fn a_started_session_that_no_query_would_accept_is_refused() {
    let cases = [
        ("x".repeat(500 * 1024), "length"),
        ("abc\r\nX-Injected: 1".to_owned(), "printable ASCII"),
        ("with space".to_owned(), "printable ASCII"),
    ];
    for (session, rule) in cases {
        let server = HostileServer::start(move |_| success(&session));
        let err = client(&server.url, 2).start_call(&start()).unwrap_err();
        let Error::Response(ResponseError::Protocol(p)) = &err else {
            panic!("expected a protocol error, got {err:?}");
        };
        assert_eq!(p.kind, ProtocolErrorKind::MissingResult);
        assert!(p.detail.as_deref().unwrap().contains("obj.session"));
        assert!(err.to_string().contains(rule) || p.detail.as_deref().unwrap().contains("must be"));
        // The call may have been placed: never re-sent.
        assert_eq!(err.retry_advice(), RetryAdvice::OutcomeUnknown);
        assert_eq!(server.requests().len(), 1);
    }
    let server = HostileServer::start(|_| success("6b4dd91e-1f8c-4d3b-8e0e-0fba2a2d9f3c"));
    let started = client(&server.url, 0).start_call(&start()).unwrap();
    assert_eq!(started.session, "6b4dd91e-1f8c-4d3b-8e0e-0fba2a2d9f3c");
}

/// Every code that says "rejected" or "busy" to an ECP start, sent to another API's request that
/// was not marked idempotent: the request went out once, whatever came back; marked idempotent,
/// the rejections are retried.
#[test]
fn another_apis_request_is_sent_once_whatever_the_code() {
    for code in [416, 503, 500, 408, 415, 431, 514] {
        let server = HostileServer::start(move |_| {
            response("200 OK", "", &format!(r#"{{"code":{code},"desc":"busy"}}"#))
        });
        let request =
            yunxin_ecp::ApiRequest::new("/nimserver/msg/sendMsg.action", [("from", "a")]).unwrap();
        let err = client(&server.url, 3).request(&request).unwrap_err();
        assert!(!err.retry_advice().is_safe(), "{code}: {err}");
        assert_eq!(
            server.requests().len(),
            1,
            "code {code} re-sent the request"
        );

        let idempotent = request.idempotent(true);
        let _ = client(&server.url, 3).request(&idempotent).unwrap_err();
        let expected = if matches!(code, 416 | 503 | 500 | 408 | 415 | 514) {
            5
        } else {
            2
        };
        assert_eq!(server.requests().len(), expected, "idempotent, code {code}");
    }
}

/// A gateway that echoes the request's headers (and a server that knows the secret) in its
/// error body: neither the attempt's Nonce and CheckSum nor the secret reach the error, in any
/// of its forms, whichever way the answer is refused.
#[test]
fn signatures_echoed_back_by_a_server_never_reach_the_error() {
    let answers: [fn(&str) -> Vec<u8>; 3] = [
        |head| {
            let desc = serde_json::to_string(&format!("bad header {head} {SECRET}")).unwrap();
            response("200 OK", "", &format!(r#"{{"code":414,"desc":{desc}}}"#))
        },
        |head| {
            response(
                "502 Bad Gateway",
                "",
                &format!("<html><pre>{head}</pre></html>"),
            )
        },
        |head| {
            let upper = head.to_ascii_uppercase();
            response(
                "200 OK",
                "",
                &format!(
                    "{{\"code\":500,\"msg\":\"{}",
                    upper.replace(['\r', '\n', '"'], " ")
                ),
            )
        },
    ];
    for answer in answers {
        let server = HostileServer::start(answer);
        let err = client(&server.url, 0).start_call(&start()).unwrap_err();
        let head = server.requests().pop().unwrap();
        let nonce = header(&head, "Nonce").unwrap().to_owned();
        let sum = header(&head, "CheckSum").unwrap().to_owned();
        assert_eq!(sum.len(), 40);
        let Error::Response(response) = &err else {
            panic!("{err:?}")
        };
        let json = serde_json::to_string(response).unwrap();
        for text in [err.to_string(), format!("{err:?}"), json] {
            let lowered = text.to_ascii_lowercase();
            assert!(!lowered.contains(&nonce), "nonce in {text}");
            assert!(!lowered.contains(&sum), "checksum in {text}");
            assert!(!text.contains(SECRET), "secret in {text}");
        }
        assert!(format!("{err:?}").contains("[redacted]"), "{err:?}");
    }
}
