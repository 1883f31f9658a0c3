//! Starting and stopping, HTTP framing and keep-alive, the control API and the binary.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use yunxin_ecp::{EcpRequest, StartCall};
use yunxin_ecp_mock::MockServer;

fn start_call() -> StartCall {
    StartCall::new("liuxuanlin", "13888888888", "13777777777", 100).unwrap()
}

/// A signed start as raw bytes, optionally asking to close the connection.
fn raw_start(server: &MockServer) -> Vec<u8> {
    let prepared = prepare(server, &start_call());
    let mut headers = prepared.headers.clone();
    headers.push(("Content-Length", prepared.body.len().to_string()));
    raw_request(
        "POST",
        "/call/ecp/startcall.action",
        &headers,
        &prepared.body,
    )
}

#[test]
fn stop_is_prompt_with_an_idle_keep_alive_connection_and_frees_the_port() {
    let server = server();
    let addr = server.addr();
    let mut stream = TcpStream::connect(addr).unwrap();
    let answer = raw_exchange(&mut stream, &raw_start(&server)).unwrap();
    assert_eq!(answer.header("Connection"), Some("keep-alive"));
    // A second connection that never sends anything.
    let _silent = TcpStream::connect(addr).unwrap();
    let t = Instant::now();
    server.stop();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // The kept-alive connection is closed, and the port is free again.
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut rest = Vec::new();
    assert!(matches!(stream.read_to_end(&mut rest), Ok(0) | Err(_)));
    assert!(TcpStream::connect(addr).is_err());
    drop(TcpListener::bind(addr).unwrap());
}

#[test]
fn drop_stops_too() {
    let addr;
    {
        let server = server();
        addr = server.addr();
        let mut stream = TcpStream::connect(addr).unwrap();
        raw_exchange(&mut stream, &raw_start(&server)).unwrap();
        let t = Instant::now();
        drop(server);
        assert!(t.elapsed() < Duration::from_secs(1));
    }
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn keep_alive_and_pipelining_on_one_connection() {
    let server = server();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // Two requests written at once are answered in order.
    let mut both = raw_start(&server);
    both.extend(raw_start(&server));
    stream.write_all(&both).unwrap();
    let mut buf = Vec::new();
    let first = read_response(&mut stream, &mut buf).unwrap();
    let second = read_response(&mut stream, &mut buf).unwrap();
    assert_ne!(session_of(&first.text()), session_of(&second.text()));
    let third = raw_exchange(&mut stream, &raw_start(&server)).unwrap();
    assert_eq!(third.status, 200);
    let stats = server.stats();
    assert_eq!(
        (stats.connections, stats.requests, stats.sessions),
        (1, 3, 3)
    );
}

#[test]
fn http_1_0_and_connection_close_end_the_connection() {
    let server = server();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let answer = raw_exchange(&mut stream, b"GET /_mock/stats HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(answer.header("Connection"), Some("close"));
    let mut rest = Vec::new();
    assert_eq!(stream.read_to_end(&mut rest).unwrap(), 0);
}

#[test]
fn framing_errors_get_http_errors_and_a_close() {
    let server = server();
    let cases: [(&[u8], u16); 5] = [
        (
            b"POST /call/ecp/startcall.action HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            411,
        ),
        (
            b"POST /call/ecp/startcall.action HTTP/1.1\r\nContent-Length: 70000\r\n\r\n",
            413,
        ),
        (
            b"POST /call/ecp/startcall.action HTTP/1.1\r\nContent-Length: ten\r\n\r\n",
            400,
        ),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 tls hello\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\nA: b\r\n\r\n", 431),
    ];
    for (raw, status) in cases {
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        let answer = raw_exchange(&mut stream, raw).unwrap();
        assert_eq!(answer.status, status, "{}", String::from_utf8_lossy(raw));
        assert_eq!(answer.header("Connection"), Some("close"));
    }
    assert_eq!(server.start_count(), 0);
    // The server still serves after all that.
    assert_eq!(call(&server, &start_call()).0, 200);
}

#[test]
fn expect_100_continue_is_honoured() {
    let server = server();
    let prepared = prepare(&server, &start_call());
    let mut headers = prepared.headers.clone();
    headers.push(("Content-Length", prepared.body.len().to_string()));
    headers.push(("Expect", "100-continue".into()));
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(&raw_request(
            "POST",
            "/call/ecp/startcall.action",
            &headers,
            "",
        ))
        .unwrap();
    let mut buf = Vec::new();
    let interim = read_response(&mut stream, &mut buf).unwrap();
    assert_eq!(interim.status, 100);
    stream.write_all(prepared.body.as_bytes()).unwrap();
    let answer = read_response(&mut stream, &mut buf).unwrap();
    assert_eq!(answer.status, 200);
    session_of(&answer.text());
}

#[test]
fn body_split_across_writes_is_reassembled() {
    let server = server();
    let raw = raw_start(&server);
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    for piece in raw.chunks(7) {
        stream.write_all(piece).unwrap();
        stream.flush().unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    let answer = read_response(&mut stream, &mut Vec::new()).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
}

fn control(server: &MockServer, method: &str, route: &str, form: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let headers = [
        (
            "Content-Type",
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("Content-Length", form.len().to_string()),
    ];
    let answer = raw_exchange(&mut stream, &raw_request(method, route, &headers, form)).unwrap();
    (answer.status, serde_json::from_slice(&answer.body).unwrap())
}

#[test]
fn control_api_steers_and_reports() {
    let receiver = Receiver200::start();
    let server = server();
    let ok = serde_json::json!({"ok": true});
    let (status, index) = control(&server, "GET", "/_mock", "");
    assert_eq!(status, 200);
    assert!(index["routes"].as_array().unwrap().len() >= 10);

    assert_eq!(
        control(
            &server,
            "POST",
            "/_mock/outcome",
            "number=13777777777&hang_cause=USER_BUSY"
        ),
        (200, ok.clone())
    );
    assert_eq!(
        control(
            &server,
            "POST",
            "/_mock/outcome",
            "number=default&duration_sec=7"
        ),
        (200, ok.clone())
    );
    assert_eq!(
        control(
            &server,
            "POST",
            "/_mock/callback_url",
            &format!("url={}", receiver.url)
        ),
        (200, ok.clone())
    );
    assert_eq!(
        control(&server, "POST", "/_mock/fault", "kind=rate_limited&times=1"),
        (200, ok.clone())
    );
    assert_eq!(
        control(&server, "POST", "/_mock/fault", "kind=delay&ms=1"),
        (200, ok.clone())
    );

    assert_eq!(
        call(&server, &start_call()).1,
        r#"{"code":416,"msg":"rate limited"}"#
    );
    let (_, body) = call(&server, &start_call());
    let session = session_of(&body);
    let other = StartCall::new("liuxuanlin", "13888888888", "13666666666", 100).unwrap();
    call(&server, &other);
    receiver.next();
    receiver.next();

    let (_, sessions) = control(&server, "GET", "/_mock/sessions", "");
    assert_eq!(sessions[0]["session"], session.as_str());
    assert_eq!(sessions[0]["legs"][0]["hangCause"], "USER_BUSY");
    assert_eq!(sessions[1]["durationSec"], 7);
    let (_, requests) = control(&server, "GET", "/_mock/requests", "");
    assert_eq!(requests[0]["fault"]["kind"], "rate_limited");
    assert_eq!(
        requests[1]["fault"],
        serde_json::json!({"kind": "delay", "ms": 1})
    );
    assert_eq!(requests[1]["session"], session.as_str());
    let deadline = Instant::now() + Duration::from_secs(5);
    let callbacks = loop {
        let (_, callbacks) = control(&server, "GET", "/_mock/callbacks", "");
        if callbacks.as_array().unwrap().len() == 2 || Instant::now() > deadline {
            break callbacks;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(callbacks[0]["status"], 200);
    let (_, stats) = control(&server, "GET", "/_mock/stats", "");
    assert_eq!(stats["start_count"], 2);
    assert_eq!(stats["sessions"], 2);
    assert_eq!(stats["requests"], 3);

    assert_eq!(
        control(&server, "POST", "/_mock/ecp_enabled", "enabled=false"),
        (200, ok.clone())
    );
    assert_eq!(
        call(&server, &start_call()).1,
        r#"{"code":403,"msg":"no authorization"}"#
    );
    assert_eq!(
        control(&server, "POST", "/_mock/fault", "kind=busy_503&times=4"),
        (200, ok.clone())
    );
    assert_eq!(
        control(&server, "POST", "/_mock/faults/clear", ""),
        (200, ok.clone())
    );
    assert_eq!(
        control(&server, "POST", "/_mock/latency", "ms=0"),
        (200, ok.clone())
    );
    assert_eq!(
        control(&server, "POST", "/_mock/reset", ""),
        (200, ok.clone())
    );
    let (_, stats) = control(&server, "GET", "/_mock/stats", "");
    assert_eq!(
        (stats["requests"].as_u64(), stats["sessions"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(call(&server, &start_call()).0, 200);
    assert!(
        server.sessions()[0]["durationSec"] == 42,
        "default outcome restored"
    );

    for (method, route, form, status) in [
        ("POST", "/_mock/fault", "kind=meteor", 400),
        ("POST", "/_mock/fault", "kind=delay", 400),
        ("POST", "/_mock/fault", "kind=oversized&bytes=-1", 400),
        ("POST", "/_mock/outcome", "number=1", 400),
        (
            "POST",
            "/_mock/outcome",
            "number=1&duration_sec=3&hang_cause=X",
            400,
        ),
        ("POST", "/_mock/ecp_enabled", "enabled=maybe", 400),
        ("GET", "/_mock/fault", "", 405),
        ("GET", "/_mock/nothing", "", 404),
    ] {
        let (got, body) = control(&server, method, route, form);
        assert_eq!(got, status, "{method} {route} {form}");
        assert_eq!(body["ok"], false);
    }
    // Control requests are neither recorded nor faulted.
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn core_request_parsers_accept_every_mock_answer() {
    let server = server();
    let prepared = start_call().prepare(&base(&server), &creds().sign_now().unwrap());
    let (status, body) = send(&prepared).unwrap();
    assert!(StartCall::parse_response(status, body.as_bytes()).is_ok());
}

#[test]
fn binary_prints_its_url_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_yunxin-ecp-mock"))
        .args(["--port", "0", "--accid", "someone", "--exit-on-stdin-eof"])
        // Credentials in the environment would replace the samples' app.
        .env_remove("YUNXIN_APP_KEY")
        .env_remove("YUNXIN_APP_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let addr = url.trim_start_matches("http://");

    let body = start_call().form_body();
    let mut headers = creds()
        .sign_now()
        .unwrap()
        .pairs()
        .map(|(k, v)| (k, v.to_owned()))
        .to_vec();
    headers.push(("Content-Length", body.len().to_string()));
    let mut stream = TcpStream::connect(addr).unwrap();
    let answer = raw_exchange(
        &mut stream,
        &raw_request("POST", "/call/ecp/startcall.action", &headers, &body),
    )
    .unwrap();
    assert_eq!(
        answer.text(),
        r#"{"code":414,"msg":"bad param 'callerAcc'"}"#,
        "only --accid is registered"
    );

    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the binary did not exit on stdin EOF"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success());
}

#[test]
fn binary_refuses_bad_arguments_with_usage() {
    for args in [
        &["--port", "high"][..],
        &["--bogus"],
        &["--app-key", "k"],
        &["--port"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_yunxin-ecp-mock"))
            .args(args)
            .env_remove("YUNXIN_APP_KEY")
            .env_remove("YUNXIN_APP_SECRET")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("error: ") && stderr.contains("--help"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
    }
    let help = Command::new(env!("CARGO_BIN_EXE_yunxin-ecp-mock"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--callback-url"));
}
