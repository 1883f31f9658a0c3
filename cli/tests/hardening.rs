//! The `yunxin-ecp` binary against a hostile server and a hostile caller: what it prints must
//! not drive the terminal or forge lines, the files it is pointed at must not hang it or fill
//! memory, and its messages must say what is wrong without showing a secret. Servers here are
//! the mock or a canned one-shot server on 127.0.0.1; nothing contacts another host.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use yunxin_ecp_mock::{Fault, MockConfig, MockServer, SAMPLE_APP_SECRET};

/// What a hostile server puts in `desc`: a screen clear, a forged line and a bidi override.
const HOSTILE: &str = "\u{1b}[2J\r\n#1 FAKE -> accepted \u{202e}\u{9b}\u{7f}\u{2028}";

mod common;

use common::{BIN, code, json, run, stderr, stdout, temp_file};

fn cmd() -> Command {
    common::bare_cmd()
}

/// Runs `cmd`, killing it (and failing) if it has not ended after a minute: the bound of a
/// test that would otherwise hang forever, far above what any of these runs take.
fn run_bounded(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let began = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if began.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the command did not end within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// No byte or character of `text` can drive a terminal or start a line of its own.
fn assert_inert(what: &str, bytes: &[u8], lines: usize) {
    let text = String::from_utf8_lossy(bytes);
    let bad = text
        .chars()
        .find(|&c| (c.is_control() && c != '\n') || ('\u{2028}'..='\u{2069}').contains(&c));
    assert_eq!(bad, None, "{what}: a raw control character in {text:?}");
    assert_eq!(text.lines().count(), lines, "{what}: lines in {text:?}");
}

/// Reads one request whole; returns its head as text.
fn read_request(stream: &mut TcpStream) -> String {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(head)) = request.parse(&buf) {
            let length = request
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| {
                    std::str::from_utf8(h.value)
                        .ok()?
                        .trim()
                        .parse::<usize>()
                        .ok()
                })
                .unwrap_or(0);
            if buf.len() >= head + length {
                return String::from_utf8_lossy(&buf[..head]).into_owned();
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&buf).into_owned(),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A server on 127.0.0.1 answering each of its first `connections` requests with HTTP 200 and
/// `body` as JSON.
fn canned_server(body: &str, connections: usize) -> String {
    answering("200 OK", body, connections)
}

/// A server on 127.0.0.1 answering each of its first `connections` requests with `status` and
/// `body`.
fn answering(status: &str, body: &str, connections: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json;charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(mut stream) = stream else { continue };
            read_request(&mut stream);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    url
}

/// A gateway on 127.0.0.1 that answers each of its first `connections` requests with a 414
/// whose `desc` repeats the request's head, as some do in their error pages; the heads it saw
/// are sent on the returned channel.
fn echoing_server(connections: usize) -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (seen, heads) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(mut stream) = stream else { continue };
            let head = read_request(&mut stream);
            let body = format!("{{\"code\":414,\"desc\":{}}}", quoted(&head));
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            // Sent before the answer, so that it is there once the command has its answer.
            let _ = seen.send(head);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (url, heads)
}

/// `text` as a JSON string literal.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

#[test]
fn a_hostile_desc_is_escaped_on_the_error_line_and_exact_in_json() {
    let body = format!("{{\"code\":414,\"desc\":{}}}", quoted(HOSTILE));
    let url = canned_server(&body, 8);
    let query = ["query", "7c4b7673-4f70-4164-82a0-decb84d77914"];

    let out = run(cmd().args(["--base-url", &url]).args(query));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_inert("query's error line", &out.stderr, 1);
    let line = stderr(&out);
    assert!(
        line.contains("code 414") && line.contains("\\u{1b}[2J\\u{d}\\u{a}#1 FAKE -> accepted"),
        "{line}"
    );

    let out = run(cmd().args(["--base-url", &url, "--json"]).args(query));
    assert_eq!(code(&out), 1);
    assert_inert("query --json's error line", &out.stderr, 1);
    assert!(!out.stdout.contains(&0x1b), "a raw ESC in the JSON");
    let text = stdout(&out);
    for escaped in ["\\u001b[2J", "\\u202e", "\\u009b", "\\u007f", "\\u2028"] {
        assert!(text.contains(escaped), "{escaped} not in {text}");
    }
    assert_inert("query --json", &out.stdout, text.lines().count());
    // Escaped, not altered: the value read back is the server's.
    assert_eq!(json(&out)["error"]["api_message"], HOSTILE);

    // `request` and `doctor` quote the same text.
    let out = run(cmd().args([
        "--base-url",
        &url,
        "request",
        "/nimserver/user/x.action",
        "a=1",
    ]));
    assert_eq!(code(&out), 1);
    assert_inert("request's error line", &out.stderr, 1);
    let out = run(cmd().args(["--base-url", &url, "doctor"]));
    assert_inert("doctor", &out.stdout, stdout(&out).lines().count());
    assert!(stdout(&out).contains("\\u{1b}[2J"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("\n#1 FAKE"), "{}", stdout(&out));
}

#[test]
fn a_hostile_answer_is_escaped_in_a_record_and_in_requests_json() {
    let record = serde_json::json!({
        "code": 200,
        "obj": {
            "session": "7c4b7673-4f70-4164-82a0-decb84d77914",
            "status": HOSTILE,
            "caller": "13888888888",
            "callee": HOSTILE,
            "durationSec": 0,
        }
    })
    .to_string();
    let url = canned_server(&record, 4);
    let out = run(cmd().args([
        "--base-url",
        &url,
        "query",
        "7c4b7673-4f70-4164-82a0-decb84d77914",
    ]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert_inert("query's record", &out.stdout, text.lines().count());
    assert!(
        text.contains("status     \\u{1b}[2J\\u{d}\\u{a}#1 FAKE -> accepted \\u{202e}"),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("#1 FAKE")), "{text}");

    let out = run(cmd().args(["--base-url", &url, "request", "/nimserver/user/x.action"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_inert(
        "request's answer",
        &out.stdout,
        stdout(&out).lines().count(),
    );
    assert_eq!(json(&out)["obj"]["status"], HOSTILE);
}

#[test]
fn caller_named_files_must_be_regular_and_small() {
    let sign = |file: &std::path::Path| {
        run_bounded(
            cmd()
                .env_remove("YUNXIN_APP_KEY")
                .env_remove("YUNXIN_APP_SECRET")
                .arg("--credentials-file")
                .arg(file)
                .arg("sign"),
        )
    };
    let out = sign(std::path::Path::new("/dev/zero"));
    assert_eq!(code(&out), 4);
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );

    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // Opened for reading, a FIFO without a writer blocks: refused before it is opened.
    let out = sign(&fifo);
    assert_eq!(code(&out), 4);
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    let out = run_bounded(
        cmd()
            .args([
                "verify-callback",
                "--skip-time-check",
                "-H",
                "MD5: x",
                "--body",
            ])
            .arg(&fifo),
    );
    assert_eq!(code(&out), 4);
    assert!(stderr(&out).contains("--body"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );

    let mut big = b"app_key=fd460d34e786e7754e505bc4fab0f027\napp_secret=xxxxxxxx\n".to_vec();
    big.resize(65 * 1024, b'#');
    let out = sign(&temp_file(&big));
    assert_eq!(code(&out), 4);
    assert!(
        stderr(&out).contains("larger than 65536 bytes"),
        "{}",
        stderr(&out)
    );
    // At the cap itself, still read.
    let mut full = b"app_key=fd460d34e786e7754e505bc4fab0f027\napp_secret=xxxxxxxx\n#".to_vec();
    full.resize(64 * 1024, b'#');
    assert_eq!(code(&sign(&temp_file(&full))), 0);

    let out = run_bounded(cmd().args(["doctor", "--captured-headers", "/dev/zero"]));
    assert_eq!(code(&out), 4);
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_credentials_file_error_names_the_line_not_its_text() {
    let file =
        temp_file(b"# app\napp_key=fd460d34e786e7754e505bc4fab0f027\napp_secret: S3CRETVALUE=x\n");
    let out = run(cmd().arg("--credentials-file").arg(&file).arg("sign"));
    assert_eq!(code(&out), 4);
    let text = stderr(&out);
    assert!(
        text.contains("line 3: unknown name (expected app_key or app_secret"),
        "{text}"
    );
    assert!(!text.contains("S3CRET"), "the secret in {text}");

    // A second secret would silently win over the first.
    let file =
        temp_file(b"app_key=fd460d34e786e7754e505bc4fab0f027\napp_secret=one\napp_secret=two\n");
    let out = run(cmd().arg("--credentials-file").arg(&file).arg("sign"));
    assert_eq!(code(&out), 4);
    let text = stderr(&out);
    assert!(
        text.contains("line 3: a second app_secret (the first is on line 2)"),
        "{text}"
    );
    assert!(!text.contains("one") && !text.contains("two"), "{text}");
}

#[test]
fn the_error_line_masks_numbers_in_the_path_as_the_events_do() {
    let body = r#"{"code":414,"desc":"no such user"}"#;
    let url = canned_server(body, 4);
    let out = run(cmd().args([
        "--base-url",
        &url,
        "-v",
        "request",
        "/nimserver/user/13888888888/info.action",
    ]));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("path=/nimserver/user/138****8888/info.action"),
        "{text}"
    );
    let error = text
        .lines()
        .find(|l| l.starts_with("yunxin-ecp: "))
        .unwrap();
    assert!(
        error.contains("/nimserver/user/138****8888/info.action"),
        "{error}"
    );
    assert!(!text.contains("13888888888"), "{text}");
}

#[test]
fn now_ms_in_seconds_is_refused_as_seconds() {
    let body = temp_file(b"{}");
    let out = run(cmd()
        .args([
            "--json",
            "verify-callback",
            "-H",
            "CurTime: 1794597977",
            "--now-ms",
            "1794597977",
            "--body",
        ])
        .arg(&body));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1794597977 looks like seconds; --now-ms takes Unix milliseconds"),
        "{}",
        stderr(&out)
    );
    let error = &json(&out)["error"];
    assert_eq!(
        (&error["kind"], &error["field"], &error["rule"]),
        (
            &Value::from("validation"),
            &Value::from("--now-ms"),
            &Value::from("seconds")
        )
    );
}

#[test]
fn an_unset_credential_says_which_and_what_to_do() {
    let out = run(cmd().env_remove("YUNXIN_APP_KEY").args(["--json", "sign"]));
    assert_eq!(code(&out), 4);
    let text = stderr(&out);
    assert!(
        text.starts_with(
            "yunxin-ecp: YUNXIN_APP_KEY is not set (but YUNXIN_APP_SECRET is): export it too, \
             or pass --credentials-file PATH"
        ),
        "{text}"
    );
    assert!(!text.contains("invalid YUNXIN_APP_KEY"), "{text}");
    let error = &json(&out)["error"];
    assert_eq!(
        (&error["kind"], &error["field"], &error["rule"]),
        (
            &Value::from("validation"),
            &Value::from("YUNXIN_APP_KEY"),
            &Value::from("not_set")
        )
    );
}

#[cfg(unix)]
#[test]
fn a_credential_that_is_not_utf8_is_refused_as_such() {
    use std::os::unix::ffi::OsStrExt;
    let out = run(cmd()
        .env(
            "YUNXIN_APP_SECRET",
            std::ffi::OsStr::from_bytes(b"se\xffcret"),
        )
        .args(["--json", "sign"]));
    assert_eq!(code(&out), 4);
    let text = stderr(&out);
    assert!(
        text.contains("YUNXIN_APP_SECRET is set but is not valid UTF-8"),
        "{text}"
    );
    assert_eq!(json(&out)["error"]["rule"], "not_unicode");
}

#[test]
fn the_base_url_from_the_environment_is_not_shown_as_required() {
    let out = run(cmd()
        .env("YUNXIN_BASE_URL", "http://127.0.0.1:9")
        .args(["call", "liuxuanlin"]));
    assert_eq!(code(&out), 2);
    let text = stderr(&out);
    let usage = text.lines().find(|l| l.starts_with("Usage:")).unwrap();
    assert!(!usage.contains("--base-url"), "{usage}");
    assert!(usage.contains("--max-dur <N>"), "{usage}");

    // And it is used: a dry run shows it.
    let out = run(cmd().env("YUNXIN_BASE_URL", "http://127.0.0.1:9").args([
        "call",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "--max-dur",
        "60",
        "--dry-run",
    ]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).starts_with("POST http://127.0.0.1:9/call/ecp/startcall.action\n"));
    // --base-url wins over it.
    let out = run(cmd().env("YUNXIN_BASE_URL", "http://127.0.0.1:9").args([
        "--base-url",
        "http://127.0.0.1:8",
        "call",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "--max-dur",
        "60",
        "--dry-run",
    ]));
    assert!(
        stdout(&out).starts_with("POST http://127.0.0.1:8/"),
        "{}",
        stdout(&out)
    );
    let help = stdout(&run(Command::new(BIN).args(["call", "--help"])));
    assert!(help.contains("YUNXIN_BASE_URL"), "{help}");
}

#[test]
fn an_empty_base_url_variable_is_refused_not_taken_for_the_service() {
    let out = run(cmd().env("YUNXIN_BASE_URL", "").args([
        "--json",
        "call",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "--max-dur",
        "60",
        "--dry-run",
    ]));
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("YUNXIN_BASE_URL is set but empty"),
        "{}",
        stderr(&out)
    );
    assert_eq!(json(&out)["error"]["field"], "YUNXIN_BASE_URL");
}

#[test]
fn doctor_says_too_large_for_an_answer_over_its_limit() {
    let mock = MockServer::start(MockConfig::default()).unwrap();
    mock.inject_fault(Fault::Oversized(5 * 1024 * 1024), 1);
    let out = run(cmd().args(["--base-url", &mock.base_url(), "--json", "doctor"]));
    let report = json(&out);
    let signature: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "signature")
        .collect();
    let detail = signature[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("too large: larger than 65536 bytes"),
        "{report:#}"
    );
    assert!(!detail.contains("empty"), "{report:#}");
    mock.stop();
}

#[test]
fn a_server_that_never_answers_is_left_at_the_timeout() {
    // Accepts, reads, and says nothing until the test ends.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut stream in listener.incoming().take(16).flatten() {
            read_request(&mut stream);
            held.push(stream);
        }
    });
    let out = run_bounded(cmd().args([
        "--base-url",
        &url,
        "--timeout",
        "1",
        "--json",
        "call",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "--max-dur",
        "60",
    ]));
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let error = &json(&out)["error"];
    assert_eq!(error["kind"], "transport", "{error:#}");
    assert_eq!(error["maybe_sent"], true, "{error:#}");
    assert_eq!(error["retry"], "outcome_unknown", "{error:#}");

    // doctor's probe has its own limit: it ends too, saying the service cannot be used.
    let out = run_bounded(cmd().args(["--base-url", &url, "--json", "doctor"]));
    assert_eq!(code(&out), 3, "{}", stdout(&out));
    let report = json(&out);
    assert_eq!(report["reachable"], false, "{report:#}");
    let http = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "http")
        .unwrap();
    assert_eq!(http["status"], "fail", "{report:#}");
}

#[test]
fn a_usage_error_quotes_a_hostile_argument_escaped() {
    for args in [
        vec![
            "call",
            "a",
            "13888888888",
            "13777777777",
            "--max-dur",
            "\u{1b}[2J\n#1 FAKE",
        ],
        vec!["request", "/x", "\u{1b}]0;title\u{7}\r\n#1 FAKE"],
        vec!["verify-callback", "--body", "-", "-H", "no colon \u{202e}"],
    ] {
        let out = run(cmd().args(&args));
        assert_eq!(code(&out), 2, "{args:?}");
        let text = stderr(&out);
        assert!(text.starts_with("error: "), "{text}");
        assert_inert("a usage error", &out.stderr, text.lines().count());
        assert!(!text.lines().any(|l| l.starts_with("#1 FAKE")), "{text}");
    }
}

#[test]
fn a_huge_desc_is_cut_on_the_error_line_and_whole_in_json() {
    let desc = "\u{1b}".repeat(100_000);
    let url = canned_server(&format!("{{\"code\":414,\"desc\":{}}}", quoted(&desc)), 4);
    let query = ["query", "7c4b7673-4f70-4164-82a0-decb84d77914"];
    let out = run(cmd().args(["--base-url", &url]).args(query));
    assert_eq!(code(&out), 1);
    assert_inert("a huge error line", &out.stderr, 1);
    let line = stderr(&out);
    assert!(line.chars().count() < 2100, "{} characters", line.len());
    assert!(
        line.contains("more characters; --json shows them all"),
        "{line}"
    );
    let out = run(cmd().args(["--base-url", &url, "--json"]).args(query));
    assert_eq!(json(&out)["error"]["api_message"], desc.as_str());
}

#[test]
fn signatures_echoed_by_a_gateway_never_reach_the_terminal() {
    let runs: [&[&str]; 4] = [
        &["query", "7c4b7673-4f70-4164-82a0-decb84d77914"],
        &["--json", "query", "7c4b7673-4f70-4164-82a0-decb84d77914"],
        &["request", "/nimserver/user/x.action", "a=1"],
        &["doctor"],
    ];
    for args in runs {
        // `doctor` opens a connection of its own first, to see that the host is reachable.
        let (url, heads) = echoing_server(4);
        let out = run(cmd().args(["--base-url", &url]).args(args));
        let head = heads
            .try_iter()
            .find(|h| h.to_ascii_lowercase().contains("\nnonce:"))
            .expect("a signed request reached the server");
        let value = |name: &str| {
            head.lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                })
                .unwrap_or_else(|| panic!("no {name} in {head}"))
        };
        let (nonce, sum) = (value("Nonce"), value("CheckSum"));
        let printed = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            !printed.contains(&nonce),
            "{args:?}: the nonce in {printed}"
        );
        assert!(
            !printed.contains(&sum),
            "{args:?}: the CheckSum in {printed}"
        );
        assert!(
            !printed.contains(SAMPLE_APP_SECRET),
            "{args:?}: the secret in {printed}"
        );
        assert!(printed.contains("[redacted]"), "{args:?}: {printed}");
    }
}

#[test]
fn an_unknown_path_is_refused_not_outcome_unknown() {
    // A web server's 404 page for a path it does not serve: the service never saw the request.
    let url = answering("404 Not Found", "Not Found: no route", 2);
    let out = run(cmd().args([
        "--base-url",
        &url,
        "request",
        "/nimserver/nosuch.action",
        "a=1",
    ]));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("unknown path") && said.contains("never reached"),
        "{said}"
    );
    assert!(
        !said.contains("expected"),
        "the JSON parser's words: {said}"
    );
    let out = run(cmd().args([
        "--base-url",
        &url,
        "--json",
        "call",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "--max-dur",
        "60",
    ]));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(json(&out)["error"]["retry"], "never");
}
