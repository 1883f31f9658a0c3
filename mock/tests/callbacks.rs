//! Call-end callbacks reach a local receiver, signed like the service's, and verify with the
//! core's `CallbackVerifier`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::{CallbackEvent, CallbackVerifier, StartCall, StartConf};
use yunxin_ecp_mock::{MockConfig, MockServer, Outcome};

fn server_with(receiver: &Receiver200, tweak: impl FnOnce(&mut MockConfig)) -> MockServer {
    let mut config = MockConfig {
        callback_url: Some(receiver.url.clone()),
        ..MockConfig::default()
    };
    tweak(&mut config);
    MockServer::start(config).unwrap()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn call_end_callback_verifies_and_matches_the_record() {
    let receiver = Receiver200::start();
    let server = server_with(&receiver, |_| {});
    server.set_outcome("13777777777", Outcome::no_answer("NO_USER_RESPONSE"));
    let t = Instant::now();
    let call = StartCall::new("abcd", "13888888888", "13777777777", 100).unwrap();
    let (_, body) = common::call(&server, &call);
    let session = session_of(&body);

    let got = receiver.next();
    assert!(t.elapsed() >= server.config().call_duration);
    assert_eq!(
        header(&got.headers, "Content-Type"),
        Some("application/json")
    );
    assert_eq!(
        header(&got.headers, "AppKey"),
        Some(yunxin_ecp_mock::SAMPLE_APP_KEY)
    );
    let cur_time = header(&got.headers, "CurTime").unwrap();
    assert_eq!(cur_time.len(), 13, "milliseconds");
    assert_eq!(
        header(&got.headers, "MD5"),
        Some(yunxin_ecp::callback::body_md5(&got.body).as_str())
    );

    let verifier = CallbackVerifier::new(creds());
    let event = verifier
        .verify_and_parse(
            &got.body,
            got.headers.iter().map(|(k, v)| (k, v)),
            unix_millis_now(),
        )
        .unwrap();
    let CallbackEvent::CallEnd(record) = event else {
        panic!("not a call-end event")
    };
    assert_eq!(record.session.as_deref(), Some(session.as_str()));
    assert_eq!(record.init_account.as_deref(), Some("abcd"));
    assert!(!record.answered());
    assert_eq!(
        record.legs[1].hang_cause.as_deref(),
        Some("NO_USER_RESPONSE")
    );
    assert_eq!(record.raw, server.sessions()[0]);

    // The body is laid out like the documented examples.
    let body = String::from_utf8(got.body.clone()).unwrap();
    assert!(
        body.starts_with(
            r#"{"callback":"{\"callee\":\"13777777777\",\"caller\":\"13888888888\",\"createtime\":"#
        ),
        "{body}"
    );
    assert!(
        body.ends_with(r#"\"status\":\"SUCCESS\"}","eventType":"10"}"#),
        "{body}"
    );
    let record_json = serde_json::to_string(&server.sessions()[0]).unwrap();
    assert_eq!(body, yunxin_ecp_mock::callback_body(&record_json));

    // Tampering is caught.
    let mut tampered = got.body.clone();
    tampered[20] ^= 1;
    assert!(
        verifier
            .verify(
                &tampered,
                got.headers.iter().map(|(k, v)| (k, v)),
                unix_millis_now()
            )
            .is_err()
    );

    let deliveries = server.wait_for_callbacks(1, Duration::from_secs(5));
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].session, session);
    assert_eq!(
        (deliveries[0].status, deliveries[0].error.as_deref()),
        (Some(200), None)
    );
    assert_eq!(deliveries[0].body.as_bytes(), got.body.as_slice());
}

#[test]
fn conference_members_are_triple_encoded_and_parse_back() {
    let receiver = Receiver200::start();
    let server = server_with(&receiver, |_| {});
    let conf = StartConf::new(
        "call817",
        "18605811000",
        ["18158125678", "15967169000"],
        100,
    )
    .unwrap();
    let (_, body) = call(&server, &conf);
    let session = session_of(&body);
    let got = receiver.next();
    let text = String::from_utf8(got.body.clone()).unwrap();
    assert!(
        text.contains(
            r#"\"members\":\"[\\\"18605811000\\\",\\\"18158125678\\\",\\\"15967169000\\\"]\""#
        ),
        "{text}"
    );
    // Decoded layer by layer, as a receiver without the library would.
    let outer: Value = serde_json::from_slice(&got.body).unwrap();
    let record: Value = serde_json::from_str(outer["callback"].as_str().unwrap()).unwrap();
    let members: Vec<String> = serde_json::from_str(record["members"].as_str().unwrap()).unwrap();
    assert_eq!(members, ["18605811000", "18158125678", "15967169000"]);

    let verifier = CallbackVerifier::new(creds());
    let CallbackEvent::CallEnd(parsed) = verifier
        .verify_and_parse(
            &got.body,
            got.headers.iter().map(|(k, v)| (k, v)),
            unix_millis_now(),
        )
        .unwrap()
    else {
        panic!("not a call-end event")
    };
    assert_eq!(parsed.session.as_deref(), Some(session.as_str()));
    assert_eq!(parsed.members.as_deref(), Some(members.as_slice()));
    assert!(parsed.legs.is_empty());
}

#[test]
fn duplicate_callbacks_send_the_same_record_twice() {
    let receiver = Receiver200::start();
    let server = server_with(&receiver, |c| c.duplicate_callbacks = true);
    call(
        &server,
        &StartCall::new("demo", "13888888888", "13777777777", 60).unwrap(),
    );
    let (first, second) = (receiver.next(), receiver.next());
    assert_eq!(first.body, second.body);
    let deliveries = server.wait_for_callbacks(2, Duration::from_secs(5));
    assert_eq!(
        deliveries.iter().map(|d| d.attempt).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(deliveries[0].session, deliveries[1].session);
}

#[test]
fn receiver_errors_and_refusals_are_recorded() {
    // Nothing listens on the port of a listener that was just closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/cb", closed.local_addr().unwrap());
    drop(closed);
    let server = MockServer::start(MockConfig {
        callback_url: Some(dead_url.clone()),
        ..MockConfig::default()
    })
    .unwrap();
    call(
        &server,
        &StartCall::new("demo", "13888888888", "13777777777", 60).unwrap(),
    );
    let deliveries = server.wait_for_callbacks(1, Duration::from_secs(5));
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].url, dead_url);
    assert_eq!(deliveries[0].status, None);
    assert!(deliveries[0].error.is_some());

    let refusing = Receiver200::start_answering(500);
    server.set_callback_url(Some(refusing.url.clone()));
    call(
        &server,
        &StartCall::new("demo", "13888888888", "13777777777", 60).unwrap(),
    );
    refusing.next();
    let deliveries = server.wait_for_callbacks(2, Duration::from_secs(5));
    assert_eq!(deliveries[1].status, Some(500));
}

#[test]
fn no_url_no_callback_and_reset_drops_pending_ones() {
    let receiver = Receiver200::start();
    let server = MockServer::start(MockConfig {
        call_duration: Duration::from_millis(300),
        ..MockConfig::default()
    })
    .unwrap();
    call(
        &server,
        &StartCall::new("demo", "13888888888", "13777777777", 60).unwrap(),
    );
    // Set after the start: the URL in force when the call ends is used.
    server.set_callback_url(Some(receiver.url.clone()));
    assert_eq!(
        server.wait_for_callbacks(1, Duration::from_secs(5)).len(),
        1
    );

    call(
        &server,
        &StartCall::new("demo", "13888888888", "13777777777", 60).unwrap(),
    );
    server.reset();
    server.set_callback_url(Some(receiver.url.clone()));
    assert!(
        server
            .wait_for_callbacks(1, Duration::from_millis(600))
            .is_empty()
    );
    assert!(server.sessions().is_empty());
    assert_eq!(server.start_count(), 0);

    server.set_callback_url(None);
    call(
        &server,
        &StartCall::new("demo", "13888888888", "13777777777", 60).unwrap(),
    );
    assert!(
        server
            .wait_for_callbacks(1, Duration::from_millis(600))
            .is_empty()
    );
}

#[test]
fn a_slow_receiver_does_not_delay_answers() {
    // A listener that accepts nothing: the callback POST hangs until its timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = MockServer::start(MockConfig {
        callback_url: Some(format!("http://{}/cb", silent.local_addr().unwrap())),
        call_duration: Duration::ZERO,
        callback_timeout: Duration::from_millis(400),
        ..MockConfig::default()
    })
    .unwrap();
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(
            call(
                &server,
                &StartCall::new("demo", "13888888888", "13777777777", 60).unwrap()
            )
            .0,
            200
        );
    }
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    let first = server.wait_for_callbacks(1, Duration::from_secs(5));
    assert!(
        first[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .to_lowercase()
            .contains("timeout"),
        "{first:?}"
    );
    let t = Instant::now();
    server.stop();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
}
