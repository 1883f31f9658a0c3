//! The ECP endpoints: signature checks with the service's exact bodies, parameter checks,
//! records, and what the official samples send.

mod common;

use std::net::TcpStream;

use common::*;
use serde_json::{Value, json};
use yunxin_ecp::{EcpRequest, QueryBySession, SessionKind, StartCall, StartConf};
use yunxin_ecp_mock::{MockConfig, MockServer, Outcome, SAMPLE_APP_KEY};

const BAD_HTTP_HEADER: &str = r#"{"desc":"bad http header","code":414}"#;

fn start_call() -> StartCall {
    StartCall::new("liuxuanlin", "13888888888", "13777777777", 100).unwrap()
}

#[test]
fn start_call_then_query_returns_the_record() {
    let server = server();
    server.set_outcome("13777777777", Outcome::answered(61));
    let (status, body) = call(&server, &start_call());
    assert_eq!(status, 200);
    let started = StartCall::parse_response(status, body.as_bytes()).unwrap();
    let session = session_of(&body);
    assert_eq!(started.session, session);
    assert_eq!(
        body,
        format!(r#"{{"code":200,"obj":{{"session":"{session}"}}}}"#)
    );

    let query = QueryBySession::new(&session, SessionKind::Call).unwrap();
    let (status, body) = call(&server, &query);
    assert_eq!(status, 200);
    let record = QueryBySession::parse_response(status, body.as_bytes()).unwrap();
    assert_eq!(record.session.as_deref(), Some(session.as_str()));
    assert_eq!(record.init_account.as_deref(), Some("liuxuanlin"));
    assert_eq!(record.caller.as_deref(), Some("13888888888"));
    assert_eq!(record.callee.as_deref(), Some("13777777777"));
    assert_eq!(record.duration_sec, Some(61));
    assert_eq!(record.billed_minutes(), 2);
    assert_eq!(record.status.as_deref(), Some("SUCCESS"));
    assert_eq!(record.legs.len(), 2);
    assert!(
        record
            .legs
            .iter()
            .all(|l| l.hang_cause.as_deref() == Some("NORMAL_CLEARING"))
    );
    let created = record.create_time_ms.unwrap();
    assert!(created.abs_diff(yunxin_ecp::signing::unix_millis_now()) < 60_000);
    assert_eq!(
        record.start_time.as_deref(),
        Some(yunxin_ecp_mock::beijing_time(created / 1000).as_str())
    );

    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["obj"], server.sessions()[0]);
    assert_eq!(server.start_count(), 1);
    let log = server.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].session.as_deref(), Some(session.as_str()));
    assert_eq!((log[0].http_status, log[0].code), (Some(200), Some(200)));
}

#[test]
fn unanswered_call_reports_the_hang_cause() {
    let server = server();
    server.set_outcome("13777777777", Outcome::no_answer("USER_BUSY"));
    let (_, body) = call(&server, &start_call());
    let session = session_of(&body);
    let record = &server.sessions()[0];
    assert_eq!(record["session"], session.as_str());
    assert_eq!(record["durationSec"], 0);
    assert_eq!(record["status"], "SUCCESS");
    for leg in record["legs"].as_array().unwrap() {
        assert_eq!(leg["hangCause"], "USER_BUSY");
        assert_eq!(leg["endTime"], record["starttime"]);
    }
}

#[test]
fn conference_records_members_as_a_json_string() {
    let server = server();
    server.set_outcome("13888888888", Outcome::answered(5));
    let conf = StartConf::new(
        "call817",
        "13777777777",
        ["13888888888", "13666666666"],
        100,
    )
    .unwrap();
    let (status, body) = call(&server, &conf);
    assert_eq!(status, 200, "{body}");
    let session = session_of(&body);
    let query = QueryBySession::new(&session, SessionKind::Conference).unwrap();
    let (status, body) = call(&server, &query);
    let record = QueryBySession::parse_response(status, body.as_bytes()).unwrap();
    assert!(record.is_conference());
    assert_eq!(
        record.members.unwrap(),
        ["13777777777", "13888888888", "13666666666"]
    );
    assert_eq!(record.duration_sec, Some(5), "the first callee decides");
    assert!(record.raw["members"].is_string());
    assert!(record.raw.get("legs").is_none());
}

#[test]
fn query_of_unknown_or_mistyped_session_is_404() {
    let server = server();
    let (_, body) = call(&server, &start_call());
    let session = session_of(&body);
    let not_found = r#"{"code":404,"msg":"session not found"}"#;
    let wrong_type = QueryBySession::new(&session, SessionKind::Conference).unwrap();
    assert_eq!(call(&server, &wrong_type), (200, not_found.to_owned()));
    let unknown =
        QueryBySession::new("7c4b7673-4f70-4164-82a0-decb84d77914", SessionKind::Call).unwrap();
    assert_eq!(call(&server, &unknown), (200, not_found.to_owned()));
}

#[test]
fn another_app_cannot_read_a_session() {
    let other =
        yunxin_ecp::Credentials::new("0123456789abcdef0123456789abcdef", "other-secret").unwrap();
    let config = MockConfig {
        apps: vec![creds(), other.clone()],
        ..MockConfig::default()
    };
    let server = MockServer::start(config).unwrap();
    let (_, body) = call(&server, &start_call());
    let query = QueryBySession::new(session_of(&body), SessionKind::Call).unwrap();
    let prepared = query.prepare(&base(&server), &other.sign_now().unwrap());
    let (_, body) = send(&prepared).unwrap();
    assert_eq!(body, r#"{"code":404,"msg":"session not found"}"#);
}

/// Sends the start-call form with the given auth headers over a raw socket.
fn start_with_headers(server: &MockServer, headers: Vec<(&str, String)>) -> (u16, String) {
    let mut headers = headers;
    let body = start_call().form_body();
    headers.push((
        "Content-Type",
        "application/x-www-form-urlencoded;charset=utf-8".into(),
    ));
    headers.push(("Content-Length", body.len().to_string()));
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let answer = raw_exchange(
        &mut stream,
        &raw_request("POST", "/call/ecp/startcall.action", &headers, &body),
    )
    .unwrap();
    (answer.status, answer.text())
}

#[test]
fn signature_problems_answer_bad_http_header() {
    let server = server();
    let now = now_secs();
    let mut cases: Vec<(&str, Vec<(&str, String)>)> = Vec::new();

    let mut wrong_sum = auth_headers("abc123", now);
    wrong_sum[3].1 = yunxin_ecp::checksum("wrong-secret", "abc123", &now.to_string()).into();
    cases.push(("checksum_mismatch", wrong_sum));

    let mut upper = auth_headers("abc123", now);
    upper[3].1 = upper[3].1.to_uppercase();
    cases.push(("checksum_mismatch", upper));

    cases.push(("outside_window", auth_headers("abc123", now - 301)));
    cases.push(("outside_window", auth_headers("abc123", now + 301)));
    cases.push(("outside_window", auth_headers("abc123", now * 1000)));
    cases.push(("nonce_too_long", auth_headers(&"a".repeat(129), now)));

    let mut unknown_key = auth_headers("abc123", now);
    unknown_key[0].1 = "0123456789abcdef0123456789abcdef".into();
    cases.push(("unknown_app_key", unknown_key));

    for missing in 0..4 {
        let mut headers = auth_headers("abc123", now);
        headers.remove(missing);
        cases.push(("missing_header", headers));
    }

    for (reason, headers) in cases {
        assert_eq!(
            start_with_headers(&server, headers),
            (200, BAD_HTTP_HEADER.to_owned()),
            "{reason}"
        );
        let last = server.requests().pop().unwrap();
        assert_eq!(last.refusal.as_deref(), Some(reason));
        assert_eq!(last.code, Some(414));
    }
    assert!(server.sessions().is_empty());

    // The same request, signed correctly, at the edges of the window.
    for skew in [-300i64, 0, 300] {
        let t = now.checked_add_signed(skew).unwrap();
        let (status, body) = start_with_headers(&server, auth_headers(&"a".repeat(128), t));
        assert_eq!(status, 200);
        assert!(
            body.starts_with(r#"{"code":200,"obj":{"session":""#),
            "{skew}: {body}"
        );
    }
}

#[test]
fn bad_parameters_name_the_field() {
    let server = server();
    let cases = [
        ("callee=%2B8613777777777", "callee"),
        ("callee=137-7777-7777", "callee"),
        ("callee=13888888888", "callee"),
        ("maxDur=0", "maxDur"),
        ("maxDur=1e3", "maxDur"),
        ("caller=", "caller"),
        ("callerAcc=stranger", "callerAcc"),
        ("callerAcc=has%20space", "callerAcc"),
    ];
    for (change, field) in cases {
        let (name, value) = change.split_once('=').unwrap();
        let body: String = start_call()
            .form_params()
            .into_iter()
            .map(|(k, v)| {
                if k == name {
                    format!("{k}={value}")
                } else {
                    format!("{k}={v}")
                }
            })
            .collect::<Vec<_>>()
            .join("&");
        let mut prepared = prepare(&server, &start_call());
        prepared.body = body;
        let (status, answer) = send(&prepared).unwrap();
        assert_eq!(status, 200);
        assert_eq!(
            answer,
            format!(r#"{{"code":414,"msg":"bad param '{field}'"}}"#),
            "{change}"
        );
    }
    assert!(server.sessions().is_empty());
    assert_eq!(server.start_count(), cases.len() as u64);
}

#[test]
fn conference_callee_list_errors() {
    let server = server();
    for callee in ["13888888888,13666666666", "[\"13888888888\"]", "{}"] {
        let mut prepared = prepare(
            &server,
            &StartConf::new("demo", "13777777777", ["13888888888", "13666666666"], 60).unwrap(),
        );
        prepared.body = form(&[
            ("callerAcc", "demo"),
            ("caller", "13777777777"),
            ("callee", callee),
            ("maxDur", "60"),
        ]);
        assert_eq!(
            send(&prepared).unwrap(),
            (200, r#"{"code":414,"msg":"bad param 'callee'"}"#.to_owned()),
            "{callee}"
        );
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[test]
fn ecp_disabled_answers_403_to_every_start() {
    let server = MockServer::start(MockConfig {
        ecp_enabled: false,
        ..MockConfig::default()
    })
    .unwrap();
    assert_eq!(
        call(&server, &start_call()),
        (200, r#"{"code":403,"msg":"no authorization"}"#.to_owned())
    );
    server.set_ecp_enabled(true);
    assert_eq!(call(&server, &start_call()).0, 200);
    assert_eq!(server.sessions().len(), 1);
}

#[test]
fn csharp_sample_query_string_and_contenttype_header() {
    let server = server();
    let now = now_secs();
    let mut headers = auth_headers("12345", now);
    headers.push((
        "ContentType",
        "application/x-www-form-urlencoded;charset=utf-8".into(),
    ));
    headers.push(("Content-Length", "0".into()));
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let call = raw_exchange(
        &mut stream,
        &raw_request(
            "POST",
            "/call/ecp/startcall.action?callerAcc=liuxuanlin&caller=13888888888&callee=13666666666&maxDur=100",
            &headers,
            "",
        ),
    )
    .unwrap();
    assert_eq!(call.status, 200);
    assert!(
        call.text().starts_with(r#"{"code":200,"obj":{"session":""#),
        "{}",
        call.text()
    );

    // The conference, with the single-quoted list raw in the query string, on the same
    // connection and without any Content-Length (an empty body).
    headers.pop();
    let conf = raw_exchange(
        &mut stream,
        &raw_request(
            "POST",
            "/call/ecp/startconf.action?callerAcc=liuxuanlin&caller=13777777777&callee=['13888888888','13666666666']&maxDur=100",
            &headers,
            "",
        ),
    )
    .unwrap();
    assert!(
        conf.text().starts_with(r#"{"code":200,"obj":{"session":""#),
        "{}",
        conf.text()
    );
    let record = &server.sessions()[1];
    assert_eq!(
        record["members"],
        r#"["13777777777","13888888888","13666666666"]"#
    );
    assert_eq!(server.stats().connections, 1);
}

#[test]
fn java_sample_single_quoted_list_in_the_body() {
    let server = server();
    let mut prepared = prepare(
        &server,
        &StartConf::new(
            "liuxuanlin",
            "13777777777",
            ["13888888888", "13666666666"],
            100,
        )
        .unwrap(),
    );
    prepared.body = "callerAcc=liuxuanlin&caller=13777777777&callee=%5B%2713888888888%27%2C%2713666666666%27%5D&maxDur=100".into();
    let (status, body) = send(&prepared).unwrap();
    assert_eq!(status, 200);
    session_of(&body);
}

#[test]
fn php_sample_second_call_has_a_256_char_nonce() {
    let server = server();
    let body = start_call().form_body();
    let mut nonce = String::new();
    let mut answers = Vec::new();
    for _ in 0..2 {
        // The sample appends 128 hex characters to its nonce on every call.
        nonce.push_str(&"0123456789abcdef".repeat(8));
        let mut headers = auth_headers(&nonce, now_secs());
        headers.push((
            "Content-type",
            "application/x-www-form-urlencoded;charset=utf-8".into(),
        ));
        headers.push(("Content-length", body.len().to_string()));
        headers.push(("Connection", "close".into()));
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        // The fsockopen variant writes a stray CRLF after the body.
        let mut raw = raw_request("POST", "/call/ecp/startcall.action", &headers, &body);
        raw.extend_from_slice(b"\r\n");
        let answer = raw_exchange(&mut stream, &raw).unwrap();
        assert_eq!(answer.header("Connection"), Some("close"));
        answers.push(answer.text());
    }
    assert!(
        answers[0].starts_with(r#"{"code":200,"obj":{"session":""#),
        "{}",
        answers[0]
    );
    assert_eq!(answers[1], BAD_HTTP_HEADER);
    assert_eq!(
        server.requests()[1].refusal.as_deref(),
        Some("nonce_too_long")
    );
}

#[test]
fn non_post_and_unknown_paths() {
    let server = server();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let get = raw_exchange(
        &mut stream,
        &raw_request("GET", "/call/ecp/startcall.action", &[], ""),
    )
    .unwrap();
    assert_eq!(get.status, 405);
    assert_eq!(get.header("Allow"), Some("POST"));
    let unknown = raw_exchange(
        &mut stream,
        &raw_request("POST", "/nim/user/create.action", &[], ""),
    )
    .unwrap();
    assert_eq!(unknown.status, 404);
    assert_eq!(server.start_count(), 0);
    assert_eq!(server.requests().len(), 2);
}

/// Replays the shared server vectors over HTTP with the mock's clock pinned to each case's time:
/// the mock gives every refusal the vectors expect and accepts every request they accept.
#[test]
fn shared_server_vectors_replay() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/server.json");
    let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(vectors["app_key"], SAMPLE_APP_KEY);
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let server = MockServer::start(MockConfig {
            fixed_clock_secs: case["now_secs"].as_u64(),
            window_secs: vectors["window_secs"].as_u64().unwrap(),
            ..MockConfig::default()
        })
        .unwrap();
        let body = case["body"].as_str().unwrap();
        let mut headers: Vec<(&str, String)> = case["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h[0].as_str().unwrap(), h[1].as_str().unwrap().to_owned()))
            .collect();
        headers.push(("Content-Length", body.len().to_string()));
        let query = case["query"].as_str().unwrap();
        let path = case["path"].as_str().unwrap();
        let target = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        let answer =
            raw_exchange(&mut stream, &raw_request("POST", &target, &headers, body)).unwrap();
        assert_eq!(answer.status, 200, "{name}");
        let expect = &case["expect"];
        let recorded = server.requests().pop().unwrap();
        if let Some(reply) = expect["reply"].as_str() {
            assert_eq!(answer.text(), reply, "{name}");
            if let Some(refusal) = expect["refusal"].as_str() {
                assert_eq!(recorded.refusal.as_deref(), Some(refusal), "{name}");
            }
        } else if expect["request"] == "query" {
            assert_eq!(
                answer.text(),
                r#"{"code":404,"msg":"session not found"}"#,
                "{name}"
            );
        } else {
            let text = answer.text();
            assert!(
                text.starts_with(r#"{"code":200,"obj":{"session":""#),
                "{name}: {text}"
            );
            let record = &server.sessions()[0];
            let params = &expect["params"];
            assert_eq!(record["initAccount"], params["caller_acc"], "{name}");
            if let Some(callees) = params["callees"].as_array() {
                let mut members = vec![params["caller"].clone()];
                members.extend(callees.iter().cloned());
                assert_eq!(record["members"], json!(members).to_string(), "{name}");
            } else {
                assert_eq!(record["callee"], params["callee"], "{name}");
            }
        }
    }
}
