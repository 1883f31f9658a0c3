//! What the mock shows and accepts from anyone who can reach its port: no live signature in a
//! control answer, no line break or control character into a callback URL, and bounded costs
//! for a hostile client. Only 127.0.0.1 is contacted.

mod common;

use std::net::TcpStream;
use std::time::Duration;

use common::*;
use serde_json::Value;
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::{CallbackVerifier, Credentials, EcpRequest, StartCall};
use yunxin_ecp_mock::{MockConfig, MockServer};

/// An app that is not the samples': the case of a mock started on real credentials.
const OWN_KEY: &str = "0123456789abcdef0123456789abcdef";
const OWN_SECRET: &str = "a-real-looking-secret";

fn own_creds() -> Credentials {
    Credentials::new(OWN_KEY, OWN_SECRET).unwrap()
}

/// One control request over a raw socket: status and body text.
fn control(server: &MockServer, method: &str, route: &str, form: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let headers = [
        (
            "Content-Type",
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("Content-Length", form.len().to_string()),
    ];
    let answer = raw_exchange(&mut stream, &raw_request(method, route, &headers, form)).unwrap();
    (answer.status, answer.text())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Headers of a control answer's entry, `[[name, value], ...]`.
fn json_headers(entry: &Value) -> Vec<(String, String)> {
    entry["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                pair[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

// ---- 1. no live CheckSum in any control answer --------------------------------------------

#[test]
fn control_answers_show_no_live_callback_checksum() {
    // A mock on its own app whose callbacks go to its own inbox: the callback log and the inbox
    // both see the live CheckSum of every delivery.
    let config = MockConfig {
        apps: vec![own_creds()],
        call_duration: Duration::ZERO,
        ..MockConfig::default()
    };
    let server = MockServer::start(config).unwrap();
    server.set_callback_url(Some(server.inbox_url()));
    let call = StartCall::new("liuxuanlin", "13888888888", "13777777777", 100).unwrap();
    let prepared = call.prepare(&base(&server), &own_creds().sign_now().unwrap());
    let (status, body) = send(&prepared).unwrap();
    assert_eq!(status, 200, "{body}");

    let received = server.wait_for_inbox(1, Duration::from_secs(10));
    let delivered = server.wait_for_callbacks(1, Duration::from_secs(10));
    assert_eq!((received.len(), delivered.len()), (1, 1));
    let live = header(&delivered[0].headers, "CheckSum")
        .unwrap()
        .to_owned();
    assert_eq!(live.len(), 40);
    assert_eq!(
        header(&received[0].headers, "CheckSum"),
        Some(live.as_str())
    );

    // The handle, held by the process that started the mock, keeps what was sent: the
    // delivery verifies as the receiver got it.
    let verifier = CallbackVerifier::new(own_creds());
    verifier
        .verify_and_parse(
            &received[0].body,
            received[0].headers.iter().map(|(k, v)| (k, v)),
            unix_millis_now(),
        )
        .unwrap();

    // Every GET route of the control API: none holds the live CheckSum.
    let (_, index) = control(&server, "GET", "/_mock", "");
    let index: Value = serde_json::from_str(&index).unwrap();
    let gets: Vec<String> = index["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r.as_str()?.strip_prefix("GET ").map(str::to_owned))
        .collect();
    assert!(gets.contains(&"/_mock/callbacks".to_owned()));
    assert!(gets.contains(&"/_mock/inbox".to_owned()));
    for route in &gets {
        let (status, text) = control(&server, "GET", route, "");
        assert_eq!(status, 200, "{route}");
        assert!(
            !text.contains(&live),
            "{route} shows the live CheckSum: {text}"
        );
    }

    // What the callback log and the inbox show instead, and that a delivery copied from them
    // does not verify.
    for route in ["/_mock/callbacks", "/_mock/inbox"] {
        let (_, text) = control(&server, "GET", route, "");
        let entries: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(entries.as_array().unwrap().len(), 1, "{route}");
        let headers = json_headers(&entries[0]);
        assert_eq!(
            header(&headers, "CheckSum"),
            Some("<redacted, 40 characters>"),
            "{route}"
        );
        assert_eq!(header(&headers, "AppKey"), Some(OWN_KEY), "{route}");
        let body = entries[0]["body"].as_str().unwrap();
        assert_eq!(body.as_bytes(), received[0].body.as_slice(), "{route}");
        let copied = verifier.verify_and_parse(
            body.as_bytes(),
            headers.iter().map(|(k, v)| (k, v)),
            unix_millis_now(),
        );
        assert!(copied.is_err(), "{route}: a copied delivery verified");
    }
}

#[test]
fn the_inbox_redacts_a_checksum_in_any_case() {
    let server = MockServer::start(MockConfig::default()).unwrap();
    let sum = "0123456789abcdef0123456789abcdef01234567";
    let headers = [
        ("checksum", sum.to_owned()),
        ("CHECKSUM", sum.to_owned()),
        ("Content-Length", "2".to_owned()),
    ];
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let answer = raw_exchange(
        &mut stream,
        &raw_request("POST", "/_mock/inbox", &headers, "{}"),
    )
    .unwrap();
    assert_eq!(answer.status, 200);
    let (_, text) = control(&server, "GET", "/_mock/inbox", "");
    assert!(!text.contains(sum), "{text}");
    assert_eq!(
        text.matches("<redacted, 40 characters>").count(),
        2,
        "{text}"
    );
    // The handle keeps the headers as received.
    assert_eq!(header(&server.inbox()[0].headers, "checksum"), Some(sum));
}

// ---- 4. a callback URL takes no line break -------------------------------------------------

#[test]
fn a_callback_url_with_cr_or_lf_is_refused() {
    let config = MockConfig {
        call_duration: Duration::ZERO,
        ..MockConfig::default()
    };
    let server = MockServer::start(config).unwrap();
    let inbox = server.inbox_url();
    let (status, text) = control(
        &server,
        "POST",
        "/_mock/callback_url",
        &format!("url={inbox}"),
    );
    assert_eq!((status, text.as_str()), (200, r#"{"ok":true}"#));
    for hostile in [
        "%0D%0AX-Injected:%201",
        "%0A",
        "%0D",
        "%0D%0A%0D%0APOST%20/call/ecp/startcall.action%20HTTP/1.1",
    ] {
        let (status, text) = control(
            &server,
            "POST",
            "/_mock/callback_url",
            &format!("url={inbox}{hostile}"),
        );
        assert_eq!(status, 400, "{hostile}: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["ok"], false);
        assert_eq!(
            answer["error"], "url must not contain CR, LF or another control character",
            "{hostile}"
        );
    }
    // Other characters that no URI holds are refused too, as a URL that does not parse.
    for hostile in [
        "http://127.0.0.1:1/a%20b",
        "http://127.0.0.1:1/%7F",
        "http:///cb",
    ] {
        let (status, text) = control(
            &server,
            "POST",
            "/_mock/callback_url",
            &format!("url={hostile}"),
        );
        assert_eq!(status, 400, "{hostile}: {text}");
        assert!(text.contains("url must"), "{hostile}: {text}");
    }
    // The URL set before stays: the next callback still reaches the inbox.
    call(
        &server,
        &StartCall::new("liuxuanlin", "13888888888", "13777777777", 100).unwrap(),
    );
    let received = server.wait_for_inbox(1, Duration::from_secs(10));
    assert_eq!(received.len(), 1);
    let delivered = server.wait_for_callbacks(1, Duration::from_secs(10));
    assert_eq!(delivered[0].url, inbox);
}

// ---- 5. a hostile client's costs are bounded -----------------------------------------------

/// A client that reads an answer a little at a time, from a small receive buffer: each read
/// lets the mock write a little more, so a wait on "no progress" never ends it. The answer
/// must still be taken within `request_timeout` as a whole, or the connection is closed.
#[test]
fn a_slow_reader_cannot_hold_a_connection_past_the_request_timeout() {
    const GIVE_UP_AT: usize = 32 << 20;
    let config = MockConfig {
        request_timeout: Duration::from_millis(200),
        ..MockConfig::default()
    };
    let server = MockServer::start(config).unwrap();
    // 1 GiB of padding, written in chunks: far more than any socket buffer holds.
    server.inject_fault(yunxin_ecp_mock::Fault::Oversized(1 << 30), 1);
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&server.addr().into()).unwrap();
    let mut stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    std::io::Write::write_all(&mut stream, &raw_signed_start(&server)).unwrap();
    let mut received = 0usize;
    let mut chunk = [0u8; 4096];
    let ended = loop {
        match std::io::Read::read(&mut stream, &mut chunk) {
            Ok(0) | Err(_) => break true,
            Ok(n) => received += n,
        }
        if received >= GIVE_UP_AT {
            break false;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(
        ended,
        "still sending after {received} bytes, past the request timeout"
    );
    assert!(received < GIVE_UP_AT);
}

fn raw_signed_start(server: &MockServer) -> Vec<u8> {
    let call = StartCall::new("liuxuanlin", "13888888888", "13777777777", 100).unwrap();
    let prepared = prepare(server, &call);
    let mut headers = prepared.headers.clone();
    headers.push(("Content-Length", prepared.body.len().to_string()));
    headers.push((
        "Content-Type",
        "application/x-www-form-urlencoded".to_owned(),
    ));
    raw_request(
        "POST",
        "/call/ecp/startcall.action",
        &headers,
        &prepared.body,
    )
}

/// Calls placed faster than a silent receiver answers: the callbacks waiting are bounded by
/// the session limit, the rest are counted as dropped instead of growing the queue.
#[test]
fn callbacks_waiting_for_a_silent_receiver_are_bounded() {
    // A receiver that completes the TCP handshake (the kernel does, from the backlog) and
    // never answers: the first POST waits there while the next calls are placed.
    let config = MockConfig {
        call_duration: Duration::ZERO,
        callback_timeout: Duration::from_secs(600),
        session_limit: 3,
        ..MockConfig::default()
    };
    let server = MockServer::start(config).unwrap();
    // Bound after the server, so that it is closed first however the test ends, and the
    // server's stop never waits for the POST held there.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    server.set_callback_url(Some(format!("http://{}/cb", silent.local_addr().unwrap())));
    let call = StartCall::new("liuxuanlin", "13888888888", "13777777777", 100).unwrap();
    for _ in 0..10 {
        assert_eq!(common::call(&server, &call).0, 200);
    }
    let stats = server.stats();
    assert_eq!((stats.start_count, stats.dropped_callbacks), (10, 7));
    // Closing the receiver fails the POST waiting there, and the others after it: each waiting
    // callback was tried once.
    drop(silent);
    let delivered = server.wait_for_callbacks(3, Duration::from_secs(20));
    assert_eq!(delivered.len(), 3);
    assert!(
        delivered
            .iter()
            .all(|d| d.status.is_none() && d.error.is_some())
    );
    // Room again: the next call's callback is tried.
    assert_eq!(common::call(&server, &call).0, 200);
    let delivered = server.wait_for_callbacks(4, Duration::from_secs(20));
    assert_eq!(delivered.len(), 4);
    assert_eq!(server.stats().dropped_callbacks, 7);
}
