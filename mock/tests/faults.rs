//! Every fault does on the wire what it says, and the ambiguous ones still place the call.

mod common;

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use yunxin_ecp::{EcpRequest, StartCall};
use yunxin_ecp_mock::{Fault, MockServer};

fn start_call() -> StartCall {
    StartCall::new("liuxuanlin", "13888888888", "13777777777", 100).unwrap()
}

/// Sends one signed start over a fresh raw connection and reads until the server closes or
/// resets it: returns the bytes received and the error that ended the read, if any.
fn raw_start(server: &MockServer) -> (Vec<u8>, Option<ErrorKind>) {
    let prepared = prepare(server, &start_call());
    let mut headers: Vec<(&str, String)> = prepared.headers.clone();
    headers.push(("Content-Length", prepared.body.len().to_string()));
    headers.push(("Connection", "close".into()));
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    std::io::Write::write_all(
        &mut stream,
        &raw_request(
            "POST",
            "/call/ecp/startcall.action",
            &headers,
            &prepared.body,
        ),
    )
    .unwrap();
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (received, None),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) => return (received, Some(e.kind())),
        }
    }
}

#[test]
fn reset_before_response_places_the_call_but_sends_nothing() {
    let server = server();
    server.inject_fault(Fault::ResetBeforeResponse, 1);
    let (received, error) = raw_start(&server);
    assert!(received.is_empty());
    assert_eq!(error, Some(ErrorKind::ConnectionReset));

    // The same through an HTTP client: a transport error, not a response.
    server.inject_fault(Fault::ResetBeforeResponse, 1);
    let err = send(&prepare(&server, &start_call())).unwrap_err();
    assert!(
        matches!(err, ureq::Error::Io(ref e) if e.kind() == ErrorKind::ConnectionReset),
        "{err:?}"
    );

    // Both starts reached the service and were placed: the outcome is unknown only to the client.
    assert_eq!(server.start_count(), 2);
    assert_eq!(server.sessions().len(), 2);
    let log = server.requests();
    assert!(
        log.iter()
            .all(|r| r.http_status.is_none() && r.code == Some(200))
    );
    assert!(
        log.iter()
            .all(|r| r.fault == Some(Fault::ResetBeforeResponse))
    );
    assert_eq!(
        log[0].session.as_deref(),
        server.sessions()[0]["session"].as_str()
    );

    // The fault is spent: the next request is answered.
    assert_eq!(call(&server, &start_call()).0, 200);
}

#[test]
fn reset_mid_body_sends_headers_and_half_the_body() {
    let server = server();
    server.inject_fault(Fault::ResetMidBody, 2);
    let (received, error) = raw_start(&server);
    assert_eq!(error, Some(ErrorKind::ConnectionReset));
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(&received).unwrap() {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => panic!("incomplete head: {received:?}"),
    };
    assert_eq!(response.code, Some(200));
    let length: usize = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("Content-Length"))
        .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
        .unwrap();
    let body = &received[head_len..];
    assert_eq!(body.len(), length / 2);
    assert!(body.starts_with(br#"{"code":200,"obj":{"#));

    assert!(send(&prepare(&server, &start_call())).is_err());
    assert_eq!(server.sessions().len(), 2, "both calls were placed");
}

#[test]
fn html_502_places_nothing() {
    let server = server();
    server.inject_fault(Fault::Html502, 1);
    let prepared = prepare(&server, &start_call());
    let (status, body) = send(&prepared).unwrap();
    assert_eq!(status, 502);
    assert!(
        body.contains("<center><h1>502 Bad Gateway</h1></center>"),
        "{body}"
    );
    assert!(body.contains("<hr><center>nginx</center>"));
    let err = StartCall::parse_response(status, body.as_bytes()).unwrap_err();
    assert_eq!(err.http_status(), 502);
    assert_eq!(err.retry_advice(), yunxin_ecp::RetryAdvice::OutcomeUnknown);
    assert_eq!((server.start_count(), server.sessions().len()), (0, 0));
    let recorded = &server.requests()[0];
    assert_eq!((recorded.http_status, recorded.code), (Some(502), None));
}

#[test]
fn empty_body_and_garbage_json_follow_a_placed_call() {
    let server = server();
    server.inject_fault(Fault::EmptyBody, 1);
    server.inject_fault(Fault::GarbageJson, 1);
    assert_eq!(call(&server, &start_call()), (200, String::new()));
    let (status, body) = call(&server, &start_call());
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"code":200,"obj":{"sess"#)
    );
    assert!(serde_json::from_str::<Value>(&body).is_err());
    assert!(StartCall::parse_response(status, body.as_bytes()).is_err());
    assert_eq!(server.sessions().len(), 2);
    assert_eq!(call(&server, &start_call()).0, 200);
}

#[test]
fn oversized_body_has_the_exact_size_and_is_json() {
    let server = server();
    let size = 3 * 1024 * 1024 + 7;
    server.inject_fault(Fault::Oversized(size), 1);
    let (status, body) = call(&server, &start_call());
    assert_eq!(status, 200);
    assert_eq!(body.len(), size);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], 200);
    assert_eq!(v["obj"]["session"], server.sessions()[0]["session"]);
}

#[test]
fn rejections_place_nothing() {
    let server = server();
    server.inject_fault(Fault::RateLimited, 1);
    server.inject_fault(Fault::Busy503, 1);
    assert_eq!(
        call(&server, &start_call()),
        (200, r#"{"code":416,"msg":"rate limited"}"#.to_owned())
    );
    assert_eq!(
        call(&server, &start_call()),
        (200, r#"{"code":503,"msg":"server busy"}"#.to_owned())
    );
    assert_eq!((server.start_count(), server.sessions().len()), (0, 0));
    let codes: Vec<_> = server.requests().iter().map(|r| r.code).collect();
    assert_eq!(codes, [Some(416), Some(503)]);
}

#[test]
fn server_error_comes_after_the_call_was_placed() {
    let server = server();
    server.inject_fault(Fault::ServerError, 1);
    let (status, body) = call(&server, &start_call());
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"code":500,"msg":"server internal error"}"#)
    );
    let err = StartCall::parse_response(status, body.as_bytes()).unwrap_err();
    let yunxin_ecp::ResponseError::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.code, 500);
    assert!(
        !err.retry_safe(),
        "a start that got 500 must not be retried"
    );
    assert_eq!((server.start_count(), server.sessions().len()), (1, 1));
}

#[test]
fn delay_answers_normally_after_the_delay() {
    let server = server();
    server.inject_fault(Fault::Delay(Duration::from_millis(300)), 1);
    let t = Instant::now();
    let (status, body) = call(&server, &start_call());
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(status, 200);
    session_of(&body);

    // A client with a shorter read timeout gives up; the call is placed all the same.
    server.inject_fault(Fault::Delay(Duration::from_millis(500)), 1);
    let impatient: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .timeout_global(Some(Duration::from_millis(150)))
        .build()
        .into();
    assert!(matches!(
        send_with(&impatient, &prepare(&server, &start_call())),
        Err(ureq::Error::Timeout(_))
    ));
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.sessions().len() < 2 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.sessions().len(), 2);
}

#[test]
fn faults_apply_to_the_given_number_of_requests_then_clear() {
    let server = server();
    server.inject_fault(Fault::RateLimited, 3);
    let codes: Vec<u16> = (0..4)
        .map(|_| {
            let (_, body) = call(&server, &start_call());
            serde_json::from_str::<Value>(&body).unwrap()["code"]
                .as_u64()
                .unwrap() as u16
        })
        .collect();
    assert_eq!(codes, [416, 416, 416, 200]);
    server.inject_fault(Fault::Busy503, 5);
    assert_eq!(server.stats().faults_pending, 5);
    server.clear_faults();
    assert_eq!(call(&server, &start_call()).0, 200);
    assert_eq!(server.stats().faults_pending, 0);
}

#[test]
fn faults_apply_to_queries_too() {
    let server = server();
    let (_, body) = call(&server, &start_call());
    let query =
        yunxin_ecp::QueryBySession::new(session_of(&body), yunxin_ecp::SessionKind::Call).unwrap();
    server.inject_fault(Fault::ServerError, 1);
    assert_eq!(
        call(&server, &query).1,
        r#"{"code":500,"msg":"server internal error"}"#
    );
    let (status, body) = call(&server, &query);
    assert!(yunxin_ecp::QueryBySession::parse_response(status, body.as_bytes()).is_ok());
}

#[test]
fn latency_applies_per_request_in_parallel_on_kept_alive_connections() {
    let server = server();
    server.set_latency(Duration::from_millis(100));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .max_idle_connections_per_host(8)
        .build()
        .into();
    let t = Instant::now();
    thread::scope(|s| {
        for _ in 0..8 {
            let agent = agent.clone();
            let server = &server;
            s.spawn(move || {
                for _ in 0..3 {
                    let (status, _) = send_with(&agent, &prepare(server, &start_call())).unwrap();
                    assert_eq!(status, 200);
                }
            });
        }
    });
    let elapsed = t.elapsed();
    // 24 requests of 100 ms each: 2.4 s one after the other, about 0.3 s eight at a time.
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    let stats = server.stats();
    assert_eq!((stats.requests, stats.sessions), (24, 24));
    assert!(
        stats.connections <= 8,
        "connections reused: {}",
        stats.connections
    );
}

#[test]
fn faults_are_serialized_in_the_request_log() {
    let server = server();
    server.inject_fault(Fault::Oversized(100), 1);
    call(&server, &start_call());
    let json = serde_json::to_value(&server.requests()[0]).unwrap();
    assert_eq!(
        json["fault"],
        serde_json::json!({"kind": "oversized", "bytes": 100})
    );
    assert_eq!(json["endpoint"], "start_call");
    let body = start_call().form_body();
    assert_eq!(json["body"], body);
}
