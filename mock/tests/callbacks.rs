//! Call-end callbacks reach a local receiver, signed like the service's, and verify with the
//! core's `CallbackVerifier`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::{BaseUrl, CallbackEvent, CallbackVerifier, EcpRequest, StartCall, StartConf};
use yunxin_ecp_mock::console::Console;
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
    // The same signed request again, as a redelivery is: a receiver's guard sees one delivery.
    assert_eq!(first.headers, second.headers);
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

/// A console that keeps its lines, for the tests to read.
fn captured(json: bool) -> (Console, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&lines);
    let console = Console::with_sink(json, move |line| kept.lock().unwrap().push(line.to_owned()));
    (console, lines)
}

/// Places one call and returns its session and the lines printed once its delivery (or, with
/// duplicates, both) is recorded: each line is handed to the console before its delivery is
/// recorded, so no waiting on the console itself is needed.
fn deliver_one(
    server: &MockServer,
    lines: &Mutex<Vec<String>>,
    count: usize,
) -> (String, Vec<String>) {
    let before = server.callbacks().len();
    let (_, body) = call(
        server,
        &StartCall::new("demo", "13888888888", "13777777777", 60).unwrap(),
    );
    let deliveries = server.wait_for_callbacks(before + count, Duration::from_secs(10));
    assert_eq!(deliveries.len(), before + count, "{deliveries:?}");
    let lines = lines.lock().unwrap().clone();
    (session_of(&body), lines)
}

#[test]
fn every_delivery_attempt_prints_one_line() {
    let accepting = Receiver200::start();
    let (console, lines) = captured(false);
    let server = server_with(&accepting, |c| c.console = Some(console));

    let (session, printed) = deliver_one(&server, &lines, 1);
    assert_eq!(
        printed,
        [format!(
            "callback POST {} -> delivered (HTTP 200) session={session}",
            accepting.url
        )]
    );

    // A receiver that refuses with the integrations' JSON body: its reason is shown.
    let refusing = Receiver200::start_replying(403, r#"{"reason":"checksum_mismatch"}"#);
    server.set_callback_url(Some(refusing.url.clone()));
    let (session, printed) = deliver_one(&server, &lines, 1);
    assert_eq!(
        printed[1],
        format!(
            "callback POST {} -> refused (HTTP 403): checksum_mismatch session={session}",
            refusing.url
        )
    );
    assert_eq!(
        server.callbacks()[1].reason.as_deref(),
        Some("checksum_mismatch")
    );

    // A reason holding a line break and an escape sequence stays on its line, escaped.
    let hostile = Receiver200::start_replying(400, r#"{"reason":"bad\n#9 FAKE\u001b[2J"}"#);
    server.set_callback_url(Some(hostile.url.clone()));
    let (session, printed) = deliver_one(&server, &lines, 1);
    assert_eq!(
        printed[2],
        format!(
            "callback POST {} -> refused (HTTP 400): bad\\u{{a}}#9 FAKE\\u{{1b}}[2J session={session}",
            hostile.url
        )
    );

    // Nothing listens on the port of a listener that was just closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/cb", closed.local_addr().unwrap());
    drop(closed);
    server.set_callback_url(Some(dead_url.clone()));
    let (session, printed) = deliver_one(&server, &lines, 1);
    assert_eq!(printed.len(), 4, "{printed:?}");
    let error = server.callbacks()[3].error.clone().unwrap();
    assert_eq!(
        printed[3],
        format!("callback POST {dead_url} -> failed: {error} session={session}")
    );
    assert!(error.to_lowercase().contains("refused"), "{error}");
}

#[test]
fn a_duplicate_delivery_gets_its_own_line_and_json_lines_parse() {
    let receiver = Receiver200::start_replying(503, r#"{"reason":"busy"}"#);
    let (console, lines) = captured(true);
    let server = server_with(&receiver, |c| {
        c.console = Some(console);
        c.duplicate_callbacks = true;
    });
    let (session, printed) = deliver_one(&server, &lines, 2);
    let parsed: Vec<Value> = printed
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    for (n, line) in parsed.iter().enumerate() {
        assert_eq!(
            line,
            &serde_json::json!({
                "event": "callback", "url": receiver.url, "session": session,
                "attempt": n + 1, "retry": 0, "verdict": "refused", "http_status": 503,
                "error": null, "reason": "busy",
            })
        );
    }
    assert_eq!(parsed.len(), 2);
}

#[test]
fn without_a_console_nothing_is_printed_and_deliveries_are_still_recorded() {
    let receiver = Receiver200::start();
    let server = server_with(&receiver, |_| {});
    assert!(server.config().console.is_none());
    call(
        &server,
        &StartCall::new("demo", "13888888888", "13777777777", 60).unwrap(),
    );
    assert_eq!(
        server.wait_for_callbacks(1, Duration::from_secs(10)).len(),
        1
    );
}

/// A mock that retries failed deliveries at once (no wait), printing to `console`.
fn retrying(url: &str, console: Console) -> MockServer {
    MockServer::start(MockConfig {
        callback_url: Some(url.to_owned()),
        callback_retries: 2,
        callback_retry_delay: Duration::ZERO,
        console: Some(console),
        ..MockConfig::default()
    })
    .unwrap()
}

/// After the deliveries a test expects, one more call's delivery to `receiver` must come next.
/// The worker sends in due order, and a retry is scheduled before its failure is recorded, due
/// at once: a retry that should not exist would have been sent before this delivery.
fn next_is_the_following_call(
    server: &MockServer,
    receiver: &Receiver200,
    lines: &Mutex<Vec<String>>,
) {
    let before = server.callbacks().len();
    server.set_callback_url(Some(receiver.url.clone()));
    let (session, printed) = deliver_one(server, lines, 1);
    let deliveries = server.callbacks();
    assert_eq!(deliveries.len(), before + 1);
    assert_eq!(
        (
            deliveries[before].session.as_str(),
            deliveries[before].status
        ),
        (session.as_str(), Some(200)),
        "{deliveries:?}"
    );
    assert_eq!(printed.len(), before + 1);
}

#[test]
fn unreachable_and_5xx_receivers_are_retried_each_retry_on_its_line() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/cb", closed.local_addr().unwrap());
    drop(closed);
    let (console, lines) = captured(false);
    let server = retrying(&dead_url, console);
    let (session, printed) = deliver_one(&server, &lines, 3);
    let deliveries = server.callbacks();
    assert_eq!(
        deliveries
            .iter()
            .map(|d| (d.attempt, d.retry))
            .collect::<Vec<_>>(),
        [(1, 0), (1, 1), (1, 2)]
    );
    for (n, delivery) in deliveries.iter().enumerate() {
        assert_eq!(delivery.session, session);
        let error = delivery.error.as_deref().unwrap();
        let tag = if n == 0 {
            String::new()
        } else {
            format!(" [retry {n}]")
        };
        assert_eq!(
            printed[n],
            format!("callback POST {dead_url} -> failed: {error} session={session}{tag}")
        );
    }
    // Two retries, then no more.
    let accepting = Receiver200::start();
    next_is_the_following_call(&server, &accepting, &lines);

    let failing = Receiver200::start_replying(503, r#"{"reason":"overloaded"}"#);
    server.set_callback_url(Some(failing.url.clone()));
    let (session, printed) = deliver_one(&server, &lines, 3);
    assert_eq!(
        printed[4..],
        [
            format!(
                "callback POST {} -> refused (HTTP 503): overloaded session={session}",
                failing.url
            ),
            format!(
                "callback POST {} -> refused (HTTP 503): overloaded session={session} [retry 1]",
                failing.url
            ),
            format!(
                "callback POST {} -> refused (HTTP 503): overloaded session={session} [retry 2]",
                failing.url
            ),
        ]
    );
}

#[test]
fn a_4xx_answer_is_never_retried() {
    let refusing = Receiver200::start_replying(403, r#"{"reason":"stale"}"#);
    let (console, lines) = captured(false);
    let server = retrying(&refusing.url, console);
    let (session, printed) = deliver_one(&server, &lines, 1);
    assert_eq!(
        printed,
        [format!(
            "callback POST {} -> refused (HTTP 403): stale session={session}",
            refusing.url
        )]
    );
    let accepting = Receiver200::start();
    next_is_the_following_call(&server, &accepting, &lines);
}

#[test]
fn the_binary_prints_a_line_per_delivery() {
    let refusing = Receiver200::start_replying(403, r#"{"reason":"checksum_mismatch"}"#);
    let mut child = Command::new(env!("CARGO_BIN_EXE_yunxin-ecp-mock"))
        .args([
            "--port",
            "0",
            "--exit-on-stdin-eof",
            "--callback-url",
            &refusing.url,
        ])
        .env_remove("YUNXIN_APP_KEY")
        .env_remove("YUNXIN_APP_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(Duration::from_secs(10))
            .expect("a line within 10 s")
    };
    let first = next();
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
        .to_owned();
    let prepared = StartCall::new("demo", "13888888888", "13777777777", 60)
        .unwrap()
        .prepare(&BaseUrl::new(&url).unwrap(), &creds().sign_now().unwrap());
    let (_, body) = send(&prepared).unwrap();
    let session = session_of(&body);
    assert_eq!(
        next(),
        format!(
            "callback POST {} -> refused (HTTP 403): checksum_mismatch session={session}",
            refusing.url
        )
    );
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the binary did not exit on stdin EOF"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    reader.join().unwrap();
}
