//! `send-callback` against a receiver on 127.0.0.1 that does what an app's endpoint does: verify
//! the raw body with the library's `CallbackVerifier`, answer 200, or the core's refusal (403
//! and `{"reason": ...}`) otherwise.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;
use yunxin_ecp::callback::parse_callback;
use yunxin_ecp::refusal::Refusal;
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::{CallbackEvent, CallbackVerifier, Credentials};
use yunxin_ecp_mock::{SAMPLE_ACCIDS, SAMPLE_APP_KEY, SAMPLE_APP_SECRET};

mod common;

use common::{bare_cmd, code, json, run, stderr, stdout, temp_file};

/// One request as the receiver got it, and the status it answered.
struct Got {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    status: u16,
}

/// A callback endpoint for the samples' app on 127.0.0.1, serving `requests` requests (one per
/// connection, as the command makes) on a thread of its own.
struct Endpoint {
    url: String,
    got: Receiver<Got>,
    thread: Option<JoinHandle<()>>,
}

/// What the endpoint answers besides verifying: a redirect, for the test of redirects.
#[derive(Clone, Copy)]
enum Behaviour {
    Verify,
    Redirect,
    /// 500 with a body that would draw on the terminal, and longer than the command reads.
    Hostile,
}

/// The hostile answer's body: a line break, an escape sequence and a bidi override up front,
/// then more than the command's 64 KiB cap.
fn hostile_body() -> String {
    format!("\u{1b}[2J\n#1 FAKE\u{202e}{}", "x".repeat(70_000))
}

impl Endpoint {
    fn start(requests: usize, behaviour: Behaviour) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/yunxin/callback", listener.local_addr().unwrap());
        let (tx, got) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            for _ in 0..requests {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                serve(stream, &tx, behaviour);
            }
        });
        Endpoint {
            url,
            got,
            thread: Some(thread),
        }
    }

    /// The request served, within a bounded wait.
    fn next(&self) -> Got {
        self.got
            .recv_timeout(Duration::from_secs(10))
            .expect("a request within 10 s")
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        // Only joined when it served everything it was started for: a test that failed
        // earlier must not hang on an accept that never comes.
        if let Some(thread) = self.thread.take()
            && thread.is_finished()
        {
            let _ = thread.join();
        }
    }
}

/// Reads one request (head by httparse, body by its Content-Length), answers it, reports it.
fn serve(mut stream: TcpStream, tx: &Sender<Got>, behaviour: Behaviour) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    let (headers, body) = loop {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut parsed = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut parsed);
        if let Ok(httparse::Status::Complete(head)) = request.parse(&buf) {
            let headers: Vec<(String, String)> = request
                .headers
                .iter()
                .map(|h| {
                    let value = String::from_utf8_lossy(h.value).into_owned();
                    (h.name.to_owned(), value)
                })
                .collect();
            let length: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            if buf.len() >= head + length {
                break (headers, buf[head..head + length].to_vec());
            }
        }
    };
    let (status, answer, extra) = match behaviour {
        Behaviour::Redirect => (
            302,
            String::new(),
            "Location: http://127.0.0.1:9/elsewhere\r\n",
        ),
        Behaviour::Hostile => (500, hostile_body(), ""),
        Behaviour::Verify => {
            let creds = Credentials::new(SAMPLE_APP_KEY, SAMPLE_APP_SECRET).unwrap();
            let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
            match CallbackVerifier::new(creds).verify(&body, pairs, unix_millis_now()) {
                Ok(_) => (200, "success".to_owned(), ""),
                Err(refused) => {
                    let refusal = Refusal::of(&refused);
                    (refusal.status(), refusal.body(), "")
                }
            }
        }
    };
    let reply = format!(
        "HTTP/1.1 {status} X\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = stream.write_all(reply.as_bytes());
    let _ = tx.send(Got {
        headers,
        body,
        status,
    });
}

fn header<'a>(got: &'a Got, name: &str) -> &'a str {
    got.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header"))
}

/// The record of a call-end body.
fn record(body: &[u8]) -> yunxin_ecp::CallRecord {
    match parse_callback(body).unwrap() {
        CallbackEvent::CallEnd(record) => *record,
        other => panic!("not a call end: {other:?}"),
    }
}

#[test]
fn a_signed_sample_call_end_is_accepted_and_the_answer_printed() {
    let endpoint = Endpoint::start(1, Behaviour::Verify);
    let out = run(bare_cmd().args(["send-callback", &endpoint.url]));
    let got = endpoint.next();
    assert_eq!((code(&out), got.status), (0, 200), "{}", stderr(&out));
    let record = record(&got.body);
    let session = record.session.clone().unwrap();
    assert_eq!(record.init_account.as_deref(), Some(SAMPLE_ACCIDS[0]));
    assert!(record.members.is_none() && record.legs.len() == 2);
    assert_eq!(header(&got, "Content-Type"), "application/json");
    assert_eq!(header(&got, "AppKey"), SAMPLE_APP_KEY);
    assert_eq!(
        stdout(&out),
        format!(
            "POST {} (a call-end record, session {session}, {} bytes, AppKey {SAMPLE_APP_KEY})\n\
             HTTP 200 (accepted)\nsuccess\n",
            endpoint.url,
            got.body.len()
        )
    );
}

#[test]
fn a_conference_record_and_the_json_shape() {
    let endpoint = Endpoint::start(1, Behaviour::Verify);
    let out = run(bare_cmd().args(["--json", "send-callback", "--conference", &endpoint.url]));
    let got = endpoint.next();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let record = record(&got.body);
    assert_eq!(
        record.members.as_deref(),
        Some(&["13888888888", "13777777777", "13666666666"].map(String::from)[..])
    );
    let report = json(&out);
    assert_eq!(
        report,
        serde_json::json!({
            "url": endpoint.url,
            "sent": {
                "kind": "conference_end",
                "session": record.session.unwrap(),
                "bytes": got.body.len(),
                "app_key": SAMPLE_APP_KEY,
                "cur_time": header(&got, "CurTime"),
                "md5": header(&got, "MD5"),
            },
            "http_status": 200,
            "accepted": true,
            "location": null,
            "body": "success",
            "body_truncated": false,
        })
    );
    // No CheckSum in the output: with the body it would verify at the receiver for minutes.
    assert!(!stdout(&out).contains(header(&got, "CheckSum")));
}

#[test]
fn the_wrong_secret_is_refused_with_403_shown_and_exit_1() {
    let endpoint = Endpoint::start(2, Behaviour::Verify);
    let out = run(bare_cmd()
        .env("YUNXIN_APP_SECRET", "not-the-secret")
        .args(["send-callback", &endpoint.url]));
    assert_eq!(endpoint.next().status, 403);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("\nHTTP 403 (not accepted)\n"), "{text}");
    assert!(
        text.ends_with("{\"error\":\"callback refused\",\"reason\":\"checksum_mismatch\"}\n"),
        "{text}"
    );
    assert!(!text.contains("not-the-secret"), "{text}");

    let out = run(bare_cmd().env("YUNXIN_APP_SECRET", "not-the-secret").args([
        "--json",
        "send-callback",
        &endpoint.url,
    ]));
    assert_eq!(endpoint.next().status, 403);
    assert_eq!(code(&out), 1);
    let report = json(&out);
    assert_eq!(
        (&report["http_status"], &report["accepted"]),
        (&Value::from(403), &Value::from(false))
    );
    let body: Value = serde_json::from_str(report["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["reason"], "checksum_mismatch");
}

#[test]
fn a_body_file_is_sent_byte_for_byte() {
    let endpoint = Endpoint::start(1, Behaviour::Verify);
    // Not JSON a serializer would write: spaces, a key order of its own, a line break.
    let bytes = b"{ \"eventType\": \"5\", \"note\": \"\xe4\xba\x91\xe4\xbf\xa1\" }\n";
    let file = temp_file(bytes);
    let out = run(bare_cmd().args([
        "send-callback",
        &endpoint.url,
        "--body-file",
        file.to_str().unwrap(),
    ]));
    let got = endpoint.next();
    assert_eq!((code(&out), got.status), (0, 200), "{}", stderr(&out));
    assert_eq!(got.body, bytes);
    assert!(
        stdout(&out).starts_with(&format!(
            "POST {} (the file's body, {} bytes,",
            endpoint.url,
            bytes.len()
        )),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_body_file_over_the_cap_is_refused_before_anything_is_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    let file = temp_file(&vec![b'x'; (1 << 20) + 1]);
    let path = file.to_str().unwrap();
    let out = run(bare_cmd().args(["send-callback", &url, "--body-file", path]));
    assert_eq!(code(&out), 4);
    assert_eq!(
        stderr(&out),
        format!("yunxin-ecp: cannot read --body-file {path}: larger than 1048576 bytes\n")
    );
    // The command has exited: any connection it made would be waiting to be accepted.
    assert_eq!(
        listener.accept().map_err(|e| e.kind()).err(),
        Some(std::io::ErrorKind::WouldBlock)
    );
    let out = run(bare_cmd().args(["--json", "send-callback", &url, "--body-file", path]));
    assert_eq!(
        (code(&out), &json(&out)["error"]["kind"]),
        (4, &Value::from("local"))
    );
    // A device is no body file.
    let out = run(bare_cmd().args(["send-callback", &url, "--body-file", "/dev/zero"]));
    assert_eq!(code(&out), 4);
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_refused_connection_says_so_and_exits_3() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/cb", closed.local_addr().unwrap());
    drop(closed);
    let out = run(bare_cmd().args(["send-callback", &url]));
    assert_eq!(code(&out), 3);
    assert_eq!(
        stderr(&out),
        format!(
            "yunxin-ecp: cannot deliver the callback to {url}: connection refused: is the \
             receiver running and listening there?\n"
        )
    );
    assert_eq!(stdout(&out), "");
    let out = run(bare_cmd().args(["--json", "send-callback", &url]));
    assert_eq!(code(&out), 3);
    assert_eq!(json(&out)["error"]["kind"], "unreachable");
}

#[test]
fn a_redirect_is_shown_and_not_followed() {
    let endpoint = Endpoint::start(1, Behaviour::Redirect);
    let out = run(bare_cmd().args(["send-callback", &endpoint.url]));
    assert_eq!(endpoint.next().status, 302);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(
        text.contains(
            "\nHTTP 302 (not accepted)\nredirect to http://127.0.0.1:9/elsewhere (not followed)\n"
        ),
        "{text}"
    );
}

#[test]
fn urls_other_than_http_and_https_and_conflicting_bodies_are_refused() {
    let out = run(bare_cmd().args(["--json", "send-callback", "ftp://127.0.0.1/cb"]));
    assert_eq!(code(&out), 4);
    let error = &json(&out)["error"];
    assert_eq!(
        (&error["kind"], &error["field"], &error["rule"]),
        (
            &Value::from("validation"),
            &Value::from("URL"),
            &Value::from("url")
        )
    );
    let out = run(bare_cmd().args([
        "send-callback",
        "http://127.0.0.1:9/cb",
        "--conference",
        "--body-file",
        "x.json",
    ]));
    assert_eq!(code(&out), 2);
    // Without credentials nothing is signed, and the variables are named.
    let out = run(bare_cmd()
        .env_remove("YUNXIN_APP_KEY")
        .env_remove("YUNXIN_APP_SECRET")
        .args(["send-callback", "http://127.0.0.1:9/cb"]));
    assert_eq!(code(&out), 4);
    assert!(stderr(&out).contains("YUNXIN_APP_KEY"), "{}", stderr(&out));
}

#[test]
fn the_answer_is_escaped_and_cut() {
    let endpoint = Endpoint::start(2, Behaviour::Hostile);
    let out = run(bare_cmd().args(["send-callback", &endpoint.url]));
    assert_eq!(endpoint.next().status, 500);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[1], "HTTP 500 (not accepted)");
    assert!(
        lines[2].starts_with("\\u{1b}[2J\\u{a}#1 FAKE\\u{202e}xxx"),
        "{}",
        &lines[2][..40]
    );
    // 2000 characters of the escaped text shown, and what was left out of the 64 KiB read
    // said: the prefix's 15 bytes escape to 29 characters, each x stays one.
    let escaped_prefix = r"\u{1b}[2J\u{a}#1 FAKE\u{202e}";
    let raw_prefix = "\u{1b}[2J\n#1 FAKE\u{202e}";
    let escaped_len = escaped_prefix.len() + (64 * 1024 - raw_prefix.len());
    let left = escaped_len - 2000;
    assert!(
        lines[2].ends_with(&format!(
            "{}... ({left} more characters; --json shows them all) (the answer goes on past \
             64 KiB, not read)",
            "x".repeat(20)
        )),
        "{}",
        &lines[2][lines[2].len() - 120..]
    );

    let out = run(bare_cmd().args(["--json", "send-callback", &endpoint.url]));
    assert_eq!(endpoint.next().status, 500);
    let report = json(&out);
    let body = report["body"].as_str().unwrap();
    assert_eq!(body.len(), 64 * 1024);
    assert!(hostile_body().starts_with(body));
    assert_eq!(report["body_truncated"], true);
    // The JSON on the terminal holds no raw control character either.
    assert!(!stdout(&out).contains('\u{1b}') && !stdout(&out).contains('\u{202e}'));
}

#[test]
fn a_receiver_that_never_answers_is_given_up_on_after_the_timeout() {
    // Connections complete in the listener's backlog, and nothing ever answers them.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/cb", silent.local_addr().unwrap());
    let out = run(bare_cmd().args(["--timeout", "0.3", "send-callback", &url]));
    assert_eq!(code(&out), 3);
    assert_eq!(
        stderr(&out),
        format!(
            "yunxin-ecp: cannot deliver the callback to {url}: no answer within 0.3 s (--timeout)\n"
        )
    );
    drop(silent);
}
