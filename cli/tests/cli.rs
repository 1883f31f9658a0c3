//! The `yunxin-ecp` binary end to end: every subcommand run as a process against the mock on
//! 127.0.0.1 (an in-process one, or the binary's own `mock`), checking its output and its exit
//! code. Nothing here contacts another host.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use yunxin_ecp::{Credentials, EcpRequest, StartCall};
use yunxin_ecp_mock::{Fault, MockConfig, MockServer, Outcome, SAMPLE_APP_KEY, SAMPLE_APP_SECRET};

mod common;

use common::{BIN, code, json, run, stderr, stdout, temp_file};

/// The binary with the samples' credentials, sending to `base_url`.
fn cmd(base_url: &str) -> Command {
    let mut cmd = common::bare_cmd();
    cmd.args(["--base-url", base_url]);
    cmd
}

fn mock() -> MockServer {
    MockServer::start(MockConfig::default()).unwrap()
}

/// A base URL where nothing listens.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// The longest run of digits in `text`, outside the log's call ids (`id=` and 8 random hex
/// characters, which hold a run of seven digits about once in 20 calls and would otherwise
/// look like a phone number).
fn longest_digit_run(text: &str) -> usize {
    text.split_whitespace()
        .filter(|word| !word.starts_with("id="))
        .flat_map(|word| word.split(|c: char| !c.is_ascii_digit()))
        .map(str::len)
        .max()
        .unwrap_or(0)
}

#[test]
fn every_subcommand_has_help_with_examples_and_exit_codes() {
    for sub in [
        "sign",
        "call",
        "conf",
        "query",
        "request",
        "verify-callback",
        "mock",
        "doctor",
    ] {
        let out = run(Command::new(BIN).args([sub, "--help"]));
        assert_eq!(code(&out), 0, "{sub}");
        let help = stdout(&out);
        for needle in [
            "Examples:",
            "Exit codes:",
            "--json",
            "--base-url",
            "YUNXIN_APP_SECRET",
        ] {
            assert!(help.contains(needle), "{sub} --help lacks {needle}");
        }
    }
    let out = run(Command::new(BIN).arg("--help"));
    assert!(stdout(&out).contains("4  refused locally"));
    // Usage errors are clap's: exit code 2. No flag takes a secret.
    for args in [
        vec!["sign", "--app-secret", "x"],
        vec!["call", "liuxuanlin"],
        vec!["request", "/user/create.action", "no-equals-sign"],
        vec!["nonsense"],
    ] {
        assert_eq!(code(&run(Command::new(BIN).args(&args))), 2, "{args:?}");
    }
}

#[test]
fn sign_prints_the_four_headers() {
    let out = run(cmd("http://127.0.0.1:9").args([
        "sign",
        "--nonce",
        "123456",
        "--cur-time",
        "1440570500",
    ]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "AppKey: fd460d34e786e7754e505bc4fab0f027\nNonce: 123456\nCurTime: 1440570500\n\
         CheckSum: 90d19362ba1584524bbd9b375b006837a4f676db\n"
    );
    let fresh = json(&run(cmd("http://127.0.0.1:9").args(["sign", "--json"])));
    let nonce = fresh["Nonce"].as_str().unwrap();
    let cur_time = fresh["CurTime"].as_str().unwrap();
    assert_eq!(nonce.len(), 32);
    assert_eq!(
        fresh["CheckSum"],
        yunxin_ecp::checksum(SAMPLE_APP_SECRET, nonce, cur_time).as_str()
    );
    // Milliseconds, a bad nonce: refused locally.
    for args in [
        ["sign", "--cur-time", "1440570500855"].as_slice(),
        ["sign", "--nonce", "abc-def"].as_slice(),
    ] {
        let out = run(cmd("http://127.0.0.1:9").args(args));
        assert_eq!(code(&out), 4, "{args:?}: {}", stderr(&out));
    }
    let out = run(cmd("http://127.0.0.1:9")
        .env_remove("YUNXIN_APP_SECRET")
        .args(["sign", "--json"]));
    assert_eq!(code(&out), 4);
    assert_eq!(json(&out)["error"]["kind"], "validation");
}

#[test]
fn credentials_come_from_a_file_in_either_spelling() {
    let plain =
        temp_file(b"# test app\napp_key=fd460d34e786e7754e505bc4fab0f027\napp_secret=xxxxxxxx\n");
    let env_style = temp_file(
        b"export YUNXIN_APP_KEY=fd460d34e786e7754e505bc4fab0f027\r\n\r\nYUNXIN_APP_SECRET=xxxxxxxx\r\n",
    );
    for file in [&plain, &env_style] {
        let out = run(cmd("http://127.0.0.1:9")
            .env_remove("YUNXIN_APP_KEY")
            .env_remove("YUNXIN_APP_SECRET")
            .arg("--credentials-file")
            .arg(file)
            .args(["sign", "--nonce", "123456", "--cur-time", "1440570500"]));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(stdout(&out).contains("CheckSum: 90d19362ba1584524bbd9b375b006837a4f676db"));
    }
    let broken = temp_file(b"app_key=fd460d34e786e7754e505bc4fab0f027\nsecret xxxxxxxx\n");
    let out = run(cmd("http://127.0.0.1:9")
        .arg("--credentials-file")
        .arg(&broken)
        .arg("sign"));
    assert_eq!(code(&out), 4);
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("xxxxxxxx"),
        "the file's content in an error"
    );
    let out = run(cmd("http://127.0.0.1:9")
        .arg("--credentials-file")
        .arg("/nonexistent/credentials")
        .arg("sign"));
    assert_eq!(code(&out), 4);
}

#[test]
fn call_and_conf_place_and_query_reads_the_record() {
    let mock = mock();
    mock.set_outcome("13777777777", Outcome::answered(61));
    let url = mock.base_url();
    let out = run(cmd(&url).args([
        "call",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "--max-dur",
        "100",
    ]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let session = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("placed: session "))
        .unwrap_or_else(|| panic!("{text}"))
        .to_owned();
    assert!(text.contains(&format!("yunxin-ecp query {session}")));

    let out = run(cmd(&url).args(["query", &session]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "answered   yes, 61 s",
        "billed     2 minute(s), 0.24 yuan",
        "callee     13777777777",
        "status     SUCCESS",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
    let record = json(&run(cmd(&url).args(["query", &session, "--json"])));
    assert_eq!(record["answered"], true);
    assert_eq!(record["billed_minutes"], 2);
    assert_eq!(record["cost_fen"], 24);
    assert_eq!(record["session"], session.as_str());

    let started = json(&run(cmd(&url).args([
        "--json",
        "conf",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "13666666666",
        "--max-dur",
        "600",
    ])));
    let conf = started["session"].as_str().unwrap();
    let record = json(&run(cmd(&url).args([
        "query",
        conf,
        "--conference",
        "--json",
    ])));
    assert_eq!(record["is_conference"], true);
    assert_eq!(
        record["members"],
        serde_json::json!(["13888888888", "13777777777", "13666666666"])
    );
    // The wrong kind, or no such session: refused by the service.
    let out = run(cmd(&url).args(["query", conf]));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("code 404"));
    assert_eq!(mock.start_count(), 2);
    mock.stop();
}

#[test]
fn dry_runs_send_nothing_and_show_the_worst_case() {
    let mock = mock();
    let url = mock.base_url();
    let out = run(cmd(&url).args([
        "call",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "--max-dur",
        "100",
        "--dry-run",
    ]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with(&format!("POST {url}/call/ecp/startcall.action\n")));
    assert!(text.contains("CheckSum: <redacted, 40 characters>"));
    assert!(text.contains("Content-Type: application/x-www-form-urlencoded;charset=utf-8"));
    assert!(
        text.contains("\ncallerAcc=liuxuanlin&caller=13888888888&callee=13777777777&maxDur=100\n")
    );
    assert!(text.contains("2 started minute(s) x 0.12 yuan = 0.24 yuan"));
    assert!(
        !text
            .split(|c: char| !c.is_ascii_hexdigit())
            .any(|w| w.len() == 40),
        "a live CheckSum in\n{text}"
    );

    let out = json(&run(cmd(&url).args([
        "conf",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "13666666666",
        "--max-dur",
        "600",
        "--dry-run",
        "--json",
    ])));
    assert_eq!(out["dry_run"], true);
    assert_eq!(out["worst_case"]["billed_minutes"], 10);
    assert_eq!(out["worst_case"]["cost_fen"], 120);
    assert_eq!(out["worst_case"]["cost_yuan"], "1.20");
    assert_eq!(
        out["request"]["body"],
        "callerAcc=liuxuanlin&caller=13888888888&callee=%5B%2213777777777%22%2C%2213666666666%22%5D&maxDur=600"
    );
    assert!(mock.requests().is_empty(), "a dry run reached the mock");
    mock.stop();
}

#[test]
fn exit_codes_tell_refused_from_unknown_from_local() {
    let mock = mock();
    let url = mock.base_url();
    let call = |extra: &[&str]| {
        let mut c = cmd(&url);
        c.args([
            "call",
            "liuxuanlin",
            "13888888888",
            "13777777777",
            "--max-dur",
            "60",
        ]);
        c.args(extra);
        c
    };
    // Invalid arguments: 4, nothing sent.
    let out = run(cmd(&url).args([
        "call",
        "liuxuanlin",
        "+8613888888888",
        "13777777777",
        "--max-dur",
        "60",
    ]));
    assert_eq!(code(&out), 4);
    assert!(stderr(&out).contains("country code"), "{}", stderr(&out));
    let out = run(cmd(&url).args([
        "call",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "--max-dur",
        "0",
    ]));
    assert_eq!(code(&out), 4);
    assert!(mock.requests().is_empty());

    // Refused by the service: 1.
    let out = run(cmd(&url).args([
        "call",
        "nobody",
        "13888888888",
        "13777777777",
        "--max-dur",
        "60",
    ]));
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("bad param 'callerAcc'"),
        "{}",
        stderr(&out)
    );
    let out = run(call(&["--json"]).env("YUNXIN_APP_SECRET", "not-the-secret"));
    assert_eq!(code(&out), 1);
    let error = &json(&out)["error"];
    assert_eq!(
        (&error["kind"], &error["code"]),
        (&Value::from("api"), &Value::from(414))
    );
    assert_eq!(error["api_message"], "bad http header");

    // The call may have been placed: 3.
    for fault in [
        Fault::ServerError,
        Fault::ResetBeforeResponse,
        Fault::Html502,
    ] {
        mock.inject_fault(fault.clone(), 1);
        let out = run(&mut call(&["--json"]));
        assert_eq!(code(&out), 3, "{fault:?}: {}", stderr(&out));
        assert_eq!(json(&out)["error"]["retry"], "outcome_unknown", "{fault:?}");
    }
    // Nothing listens: 3 too, but the request was provably not sent.
    let out = run(cmd(&closed_port()).args([
        "--json",
        "--timeout",
        "2",
        "call",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "--max-dur",
        "60",
    ]));
    assert_eq!(code(&out), 3);
    assert_eq!(json(&out)["error"]["maybe_sent"], false);
    mock.stop();
}

#[test]
fn request_sends_any_api_path() {
    let mock = mock();
    let url = mock.base_url();
    let out = run(cmd(&url).args([
        "request",
        "/call/ecp/startcall.action",
        "callerAcc=liuxuanlin",
        "caller=13888888888",
        "callee=13777777777",
        "maxDur=60",
    ]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let answer = json(&out);
    assert_eq!(answer["code"], 200);
    let session = answer["obj"]["session"].as_str().unwrap();
    let out = run(cmd(&url).args([
        "request",
        "/call/ecp/queryBySession.action",
        &format!("session={session}"),
        "type=1",
        "--idempotent",
    ]));
    assert_eq!(json(&out)["obj"]["callee"], "13777777777");

    // A refusal is printed with the code's meaning; --json gives the error view.
    let out = run(cmd(&url).args([
        "--json",
        "request",
        "/call/ecp/startcall.action",
        "callerAcc=liuxuanlin",
        "caller=13888888888",
        "callee=+8613777777777",
        "maxDur=60",
    ]));
    assert_eq!(code(&out), 1);
    let error = &json(&out)["error"];
    assert_eq!(error["api_message"], "bad param 'callee'");
    assert_eq!(error["endpoint"], "api");
    assert_eq!(error["path"], "/call/ecp/startcall.action");

    // A path the mock does not serve: its 404 page says the request never reached the
    // service, so it is refused (1), not of unknown outcome (3).
    let out = run(cmd(&url).args(["request", "/nimserver/user/create.action", "accid=demo"]));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown path"), "{}", stderr(&out));
    // Paths that could leave the base URL or smuggle parameters: refused locally.
    for path in [
        "/user/create.action?x=1",
        "//evil.example/x",
        "/a/../b",
        "user/create.action",
    ] {
        let out = run(cmd(&url).args(["request", path, "accid=demo"]));
        assert_eq!(code(&out), 4, "{path}");
    }
    mock.stop();
}

/// Runs every "verify" case of the shared callback vectors through the binary.
#[test]
fn verify_callback_agrees_with_the_shared_vectors() {
    let vectors: Value = serde_json::from_str(include_str!("../../tests/vectors/callbacks.json"))
        .expect("callbacks.json");
    let cases = vectors["verify"].as_array().expect("verify cases");
    assert!(cases.len() >= 30);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let body = temp_file(case["body"].as_str().unwrap().as_bytes());
        let mut c = cmd("http://127.0.0.1:9");
        c.env("YUNXIN_APP_KEY", case["app_key"].as_str().unwrap())
            .env("YUNXIN_APP_SECRET", case["secret"].as_str().unwrap())
            .args(["--json", "verify-callback", "--body"])
            .arg(&body)
            .args(["--now-ms", &case["now_ms"].to_string()]);
        for header in case["headers"].as_array().unwrap() {
            let (n, v) = (header[0].as_str().unwrap(), header[1].as_str().unwrap());
            c.args(["-H", &format!("{n}: {v}")]);
        }
        match &case["tolerance_ms"] {
            Value::String(s) if s == "skip" => {
                c.arg("--skip-time-check");
            }
            t => {
                c.args(["--tolerance-ms", &t.to_string()]);
            }
        }
        let out = run(&mut c);
        let got = json(&out);
        let expect = case["expect"].as_str().unwrap();
        if expect == "ok" {
            assert_eq!(code(&out), 0, "{name}: {got}");
            assert_eq!(got["accepted"], true, "{name}");
        } else {
            assert_eq!(code(&out), 1, "{name}: {got}");
            assert_eq!(got["accepted"], false, "{name}");
            assert_eq!(got["reason"], expect, "{name}");
        }
        let _ = std::fs::remove_file(body);
    }
}

#[test]
fn verify_callback_reads_a_captured_request_and_standard_input() {
    // A real callback, as the mock delivers it to another mock's inbox.
    let receiver = mock();
    let mock = MockServer::start(MockConfig {
        callback_url: Some(receiver.inbox_url()),
        ..MockConfig::default()
    })
    .unwrap();
    let creds = Credentials::new(SAMPLE_APP_KEY, SAMPLE_APP_SECRET).unwrap();
    let prepared = StartCall::new("liuxuanlin", "13888888888", "13777777777", 60)
        .unwrap()
        .prepare(
            &yunxin_ecp::BaseUrl::new(&mock.base_url()).unwrap(),
            &creds.sign_now().unwrap(),
        );
    let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).build().into();
    let mut request = agent.post(&prepared.url);
    for (n, v) in &prepared.headers {
        request = request.header(*n, v.as_str());
    }
    request.send(prepared.body.as_str()).unwrap();
    let received = receiver.wait_for_inbox(1, Duration::from_secs(10));
    let callback = &received[0];
    let mut raw = b"POST /cb HTTP/1.1\r\n".to_vec();
    for (n, v) in &callback.headers {
        raw.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    raw.extend_from_slice(&callback.body);
    raw.extend_from_slice(b"\n"); // an editor's trailing line break, past Content-Length
    let file = temp_file(&raw);
    let out = run(cmd("http://127.0.0.1:9")
        .args(["verify-callback", "--raw-request"])
        .arg(&file));
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("accepted\n"), "{text}");
    assert!(text.contains("call end (eventType 10)"));
    assert!(text.contains("callee     13777777777"));

    // The body on standard input, one byte changed: refused, and why.
    let headers: Vec<String> = callback
        .headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect();
    let mut tampered = callback.body.clone();
    tampered[10] ^= 1;
    let mut c = cmd("http://127.0.0.1:9");
    c.args(["verify-callback", "--body", "-"]);
    for h in &headers {
        c.args(["-H", h]);
    }
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&tampered).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).starts_with("refused: md5_mismatch\n"),
        "{}",
        stdout(&out)
    );
    mock.stop();
    receiver.stop();
}

/// The binary's `mock`, running: its first lines, and a reader for the rest.
struct MockProcess {
    child: Child,
    lines: BufReader<ChildStdout>,
    url: String,
    banner: Vec<String>,
}

impl MockProcess {
    fn start(args: &[&str]) -> MockProcess {
        let mut child = cmd("http://127.0.0.1:9")
            .env_remove("YUNXIN_APP_KEY")
            .env_remove("YUNXIN_APP_SECRET")
            .args(["mock", "--port", "0", "--exit-on-stdin-eof"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let mut banner = Vec::new();
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap() > 0 {
            banner.push(line.trim_end().to_owned());
            if line.starts_with("try:") || line.starts_with("{\"") {
                break;
            }
            line.clear();
        }
        let url = banner
            .iter()
            .find_map(|l| l.strip_prefix("listening on "))
            .map(str::to_owned)
            .unwrap_or_else(|| {
                let first: Value = serde_json::from_str(&banner[0]).unwrap();
                first["url"].as_str().unwrap().to_owned()
            });
        MockProcess {
            child,
            lines,
            url,
            banner,
        }
    }

    fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.lines.read_line(&mut line).unwrap();
        line.trim_end().to_owned()
    }

    fn stop(mut self) -> i32 {
        drop(self.child.stdin.take());
        self.child.wait().unwrap().code().unwrap()
    }
}

#[test]
fn mock_prints_its_app_and_one_masked_line_per_request_with_the_reason() {
    let mut mock = MockProcess::start(&[]);
    let banner = mock.banner.join("\n");
    assert!(
        banner.starts_with("listening on http://127.0.0.1:"),
        "{banner}"
    );
    assert!(banner.contains(SAMPLE_APP_KEY));
    assert!(banner.contains(&format!("secret:    {SAMPLE_APP_SECRET}")));
    assert!(banner.contains("liuxuanlin, abcd, call817, demo"));
    let url = mock.url.clone();

    let call = [
        "call",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "--max-dur",
        "60",
    ];
    assert_eq!(code(&run(cmd(&url).args(call))), 0);
    let line = mock.next_line();
    assert!(
        line.starts_with("#1 POST /call/ecp/startcall.action -> accepted (HTTP 200, code 200)"),
        "{line}"
    );
    assert!(
        line.contains("caller=138****8888 callee=137****7777"),
        "{line}"
    );

    assert_eq!(
        code(&run(cmd(&url).env("YUNXIN_APP_SECRET", "wrong").args(call))),
        1
    );
    let line = mock.next_line();
    assert!(
        line.contains("refused (HTTP 200, code 414): bad http header: checksum_mismatch"),
        "{line}"
    );

    let out = run(cmd(&url).args([
        "request",
        "/call/ecp/startcall.action",
        "callerAcc=liuxuanlin",
        "caller=13888888888",
        "callee=+8613777777777",
        "maxDur=60",
    ]));
    assert_eq!(code(&out), 1);
    let line = mock.next_line();
    assert!(line.contains("bad param 'callee'"), "{line}");
    assert!(line.contains("callee=+861******7777"), "{line}");

    // Signed an hour ago: outside the window.
    let creds = Credentials::new(SAMPLE_APP_KEY, SAMPLE_APP_SECRET).unwrap();
    let stale = creds
        .sign("abc123", yunxin_ecp::signing::unix_seconds_now() - 3600)
        .unwrap();
    let prepared = StartCall::new("liuxuanlin", "13888888888", "13777777777", 60)
        .unwrap()
        .prepare(&yunxin_ecp::BaseUrl::new(&url).unwrap(), &stale);
    let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).build().into();
    let mut request = agent.post(&prepared.url);
    for (n, v) in &prepared.headers {
        request = request.header(*n, v.as_str());
    }
    request.send(prepared.body.as_str()).unwrap();
    let line = mock.next_line();
    assert!(line.contains("bad http header: outside_window"), "{line}");

    for line in mock.banner.iter().skip(1) {
        assert!(
            longest_digit_run(line) < 7 || line.starts_with("try:"),
            "{line}"
        );
    }
    assert_eq!(mock.stop(), 0);
}

#[test]
fn mock_json_lines_and_its_clock_skew() {
    let mock = MockProcess::start(&["--clock-skew-secs", "-3600", "--accid", "ops"]);
    let first: Value = serde_json::from_str(&mock.banner[0]).unwrap_or(Value::Null);
    // Text banner by default; the request lines are checked in JSON below.
    assert_eq!(first, Value::Null);
    assert!(
        mock.banner
            .iter()
            .any(|l| l == "clock:     shifted by -3600 s")
    );
    assert!(mock.banner.iter().any(|l| l == "accids:    ops"));
    assert_eq!(mock.stop(), 0);

    let mut mock = MockProcess::start(&["--json"]);
    let banner: Value = serde_json::from_str(&mock.banner[0]).unwrap();
    assert_eq!(banner["event"], "listening");
    assert_eq!(banner["app_key"], SAMPLE_APP_KEY);
    let url = mock.url.clone();
    let out = run(cmd(&url).args([
        "call",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "--max-dur",
        "60",
    ]));
    assert_eq!(code(&out), 0);
    let event: Value = serde_json::from_str(&mock.next_line()).unwrap();
    assert_eq!(event["verdict"], "accepted");
    assert_eq!(event["params"]["caller"], "138****8888");
    assert!(event["session"].is_string());
    assert_eq!(mock.stop(), 0);
}

/// The mock's own console prints each callback delivery attempt beside the request lines (in
/// either order: the two are printed by different threads).
#[test]
fn mock_prints_a_line_per_callback_delivery() {
    let dead = format!("{}/cb", closed_port());
    let mut mock = MockProcess::start(&["--callback-url", &dead, "--callback-retries", "0"]);
    let url = mock.url.clone();
    let out = run(cmd(&url).args([
        "--json",
        "call",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "--max-dur",
        "60",
    ]));
    assert_eq!(code(&out), 0);
    let session = json(&out)["session"].as_str().unwrap().to_owned();
    let mut lines = [mock.next_line(), mock.next_line()];
    lines.sort_by_key(|l| !l.starts_with("callback "));
    let expected = format!("callback POST {dead} -> failed: ");
    assert!(lines[0].starts_with(&expected), "{lines:?}");
    assert!(
        lines[0].ends_with(&format!(" session={session}")),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("#1 POST /call/ecp/startcall.action"),
        "{lines:?}"
    );
    assert_eq!(mock.stop(), 0);
}

fn doctor(url: &str, extra: &[&str]) -> (i32, Value) {
    let out = run(cmd(url).args(["--json", "doctor"]).args(extra));
    (code(&out), json(&out))
}

fn check<'a>(report: &'a Value, name: &str) -> Vec<&'a Value> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == name)
        .collect()
}

#[test]
fn doctor_finds_nothing_wrong_with_a_healthy_setup() {
    let mock = mock();
    let (code, report) = doctor(&mock.base_url(), &[]);
    assert_eq!(code, 0, "{report:#}");
    for name in ["credentials", "dns", "tcp", "http", "clock", "signature"] {
        assert_eq!(
            check(&report, name)[0]["status"],
            "ok",
            "{name}: {report:#}"
        );
    }
    assert!(report["clock_skew_secs"].as_i64().unwrap().abs() <= 2);
    let text = run(cmd(&mock.base_url()).arg("doctor"));
    assert!(
        stdout(&text).ends_with("no problem found\n"),
        "{}",
        stdout(&text)
    );
    mock.stop();
}

#[test]
fn doctor_measures_a_skewed_service_clock() {
    let mock = MockServer::start(MockConfig {
        clock_skew: -3600,
        ..MockConfig::default()
    })
    .unwrap();
    let (code, report) = doctor(&mock.base_url(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let skew = report["clock_skew_secs"].as_i64().unwrap();
    assert!((-3602..=-3598).contains(&skew), "{skew}");
    let clock = check(&report, "clock")[0];
    assert_eq!(clock["status"], "fail");
    assert!(
        clock["detail"]
            .as_str()
            .unwrap()
            .contains("outside the 300 s window")
    );
    assert_eq!(check(&report, "signature")[0]["status"], "fail");

    // Inside the window but far enough off to mention.
    let mock = MockServer::start(MockConfig {
        clock_skew: 120,
        ..MockConfig::default()
    })
    .unwrap();
    let (code, report) = doctor(&mock.base_url(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(check(&report, "clock")[0]["status"], "warn");
    assert!(
        check(&report, "clock")[0]["detail"]
            .as_str()
            .unwrap()
            .contains("ahead of")
    );
    assert_eq!(check(&report, "signature")[0]["status"], "ok");
}

#[test]
fn doctor_checks_the_credentials_shape_and_reachability() {
    let mock = mock();
    let file = temp_file(b"app_key=fd460d34e786e7754e505bc4fab0f027\napp_secret=xxxxxxxx \n");
    let out = run(cmd(&mock.base_url())
        .arg("--credentials-file")
        .arg(&file)
        .args(["--json", "doctor"]));
    assert_eq!(code(&out), 1);
    let report = json(&out);
    let creds = check(&report, "credentials")[0];
    assert_eq!(creds["status"], "fail");
    assert!(
        creds["detail"]
            .as_str()
            .unwrap()
            .contains("surrounding whitespace")
    );
    assert!(
        !out.stdout.windows(9).any(|w| w == b"xxxxxxxx "),
        "the secret printed"
    );
    assert_eq!(check(&report, "signature")[0]["status"], "fail");

    let out = run(cmd(&mock.base_url())
        .env("YUNXIN_APP_KEY", "not-a-console-key")
        .args(["--json", "doctor"]));
    assert_eq!(check(&json(&out), "credentials")[0]["status"], "warn");

    let (code, report) = doctor(&closed_port(), &[]);
    assert_eq!(code, 3, "{report:#}");
    assert_eq!(check(&report, "tcp")[0]["status"], "fail");
    mock.stop();
}

#[test]
fn doctor_says_which_rule_captured_headers_break() {
    let mock = mock();
    let now = yunxin_ecp::signing::unix_seconds_now();
    let (s, key) = (SAMPLE_APP_SECRET, SAMPLE_APP_KEY);
    let captured = |nonce: &str, cur_time: &str, sum: &str| {
        temp_file(
            format!("AppKey: {key}\nNonce: {nonce}\nCurTime: {cur_time}\nCheckSum: {sum}\n")
                .as_bytes(),
        )
    };
    let t = now.to_string();
    let right = yunxin_ecp::checksum(s, "abc123", &t).to_string();
    let long_nonce = "n".repeat(256);
    let ms = (now * 1000).to_string();
    let stale = (now - 3600).to_string();
    let md5 = yunxin_ecp::callback::body_md5(format!("{s}abc123{t}").as_bytes());
    let cases: Vec<(tempfile::TempPath, &str)> = vec![
        (
            captured("abc123", &t, &right.to_uppercase()),
            "CheckSum is in uppercase hex",
        ),
        (
            captured("abc123", &t, &yunxin_ecp::checksum("abc123", s, &t)),
            "CheckSum is SHA1(Nonce + AppSecret + CurTime)",
        ),
        (
            captured("abc123", &t, &md5),
            "MD5(AppSecret + Nonce + CurTime)",
        ),
        (
            captured(&long_nonce, &t, &yunxin_ecp::checksum(s, &long_nonce, &t)),
            "Nonce has 256 characters, over 128",
        ),
        (
            captured("abc123", &ms, &yunxin_ecp::checksum(s, "abc123", &ms)),
            "is in milliseconds",
        ),
        (
            captured("abc123", &stale, &yunxin_ecp::checksum(s, "abc123", &stale)),
            "s old by this machine's clock",
        ),
        (
            captured("abc123", &t, &"0".repeat(40)),
            "matches no known computation",
        ),
    ];
    for (file, expected) in &cases {
        let (exit, report) = doctor(
            &mock.base_url(),
            &["--captured-headers", file.to_str().unwrap()],
        );
        assert_eq!(exit, 1, "{expected}: {report:#}");
        let found = check(&report, "captured")
            .iter()
            .any(|c| c["status"] == "fail" && c["detail"].as_str().unwrap().contains(expected));
        assert!(found, "{expected}: {report:#}");
    }
    let good = captured("abc123", &t, &right);
    let (exit, report) = doctor(
        &mock.base_url(),
        &["--captured-headers", good.to_str().unwrap()],
    );
    assert_eq!(exit, 0, "{report:#}");
    assert_eq!(check(&report, "captured")[0]["status"], "ok");

    let out = run(cmd(&mock.base_url()).args(["doctor", "--captured-headers", "/nonexistent"]));
    assert_eq!(code(&out), 4);
    mock.stop();
}

#[test]
fn verbose_logs_each_attempt_without_numbers_or_signatures() {
    let mock = mock();
    mock.inject_fault(Fault::Busy503, 1);
    let out = run(cmd(&mock.base_url()).args([
        "-v",
        "call",
        "liuxuanlin",
        "13888888888",
        "13777777777",
        "--max-dur",
        "60",
    ]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let log = stderr(&out);
    for event in ["request sent", "response", "retry", "reason=api_503"] {
        assert!(log.contains(event), "{event} not in\n{log}");
    }
    assert!(longest_digit_run(&log) < 7, "{log}");
    assert!(!log.contains(SAMPLE_APP_SECRET));
    mock.stop();
}

/// A credentials file for the samples' app key with `secret`.
fn credentials_file(secret: &str) -> tempfile::TempPath {
    temp_file(format!("app_key={SAMPLE_APP_KEY}\napp_secret={secret}\n").as_bytes())
}

/// verify-callback with several `--credentials-file`s: a rotation. The digests are hashlib's
/// (md5 of the body; sha1 of secret + MD5 + CurTime; the delivery key: sha1 over AppKey,
/// CheckSum, CurTime and MD5, each after its length as 8 big-endian bytes).
#[test]
fn verify_callback_takes_several_credentials_and_names_the_match() {
    let body = temp_file(br#"{"callback":"{\"session\":\"s-9\"}","eventType":"10"}"#);
    let (old, new) = (
        credentials_file("old-secret"),
        credentials_file("new-secret"),
    );
    let md5 = "a2b82accf9d0061c46672eabfee88947";
    let signed = |checksum: &str| {
        let mut c = cmd("http://127.0.0.1:9");
        c.args(["--json", "--credentials-file"])
            .arg(&old)
            .arg("--credentials-file")
            .arg(&new)
            .args(["verify-callback", "--now-ms", "1700000000500", "--body"])
            .arg(&body)
            .args(["-H", "CurTime: 1700000000123", "-H", &format!("MD5: {md5}")])
            .args(["-H", &format!("CheckSum: {checksum}")]);
        run(&mut c)
    };
    for (checksum, index, key, file) in [
        (
            "50140651543ed072a0a1d12a5a70be3c33c3048d",
            0,
            "1bc75738cb7a9bd0d9312fb1d040d83c5f12273b",
            &old,
        ),
        (
            "a6102e0b180b0e520a70c946dfcc87928fdce039",
            1,
            "c89be82ae210d927ec8eaf07886b7fa07f9d7663",
            &new,
        ),
    ] {
        let out = signed(checksum);
        assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
        let got = json(&out);
        assert_eq!(got["accepted"], true);
        assert_eq!(got["credential"], index);
        assert_eq!(got["app_key"], SAMPLE_APP_KEY);
        assert_eq!(got["delivery_key"], key);
        assert_eq!(got["credentials_source"], file.display().to_string());
        assert_eq!(got["event"]["session"], "s-9");
    }
    // Signed with neither secret.
    let out = signed("e7c4bc997ec5f3b450b8529abf4e8704a5efd5e3");
    assert_eq!(code(&out), 1);
    assert_eq!(json(&out)["reason"], "checksum_mismatch");
    assert!(!stdout(&out).contains("secret"), "{}", stdout(&out));

    // Text: which of the two matched, and from where.
    let out = run(cmd("http://127.0.0.1:9")
        .arg("--credentials-file")
        .arg(&old)
        .arg("--credentials-file")
        .arg(&new)
        .args(["verify-callback", "--now-ms", "1700000000500", "--body"])
        .arg(&body)
        .args(["-H", "CurTime: 1700000000123", "-H", &format!("MD5: {md5}")])
        .args(["-H", "CheckSum: a6102e0b180b0e520a70c946dfcc87928fdce039"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "matched    credentials 2 of 2 (app key {SAMPLE_APP_KEY}, from {})",
            new.display()
        )),
        "{text}"
    );
}

#[test]
fn several_credentials_files_are_refused_where_one_app_signs_and_past_eight() {
    let files: Vec<_> = (0..9).map(|i| credentials_file(&format!("s{i}"))).collect();
    let mut c = cmd("http://127.0.0.1:9");
    c.arg("--json");
    for file in &files {
        c.arg("--credentials-file").arg(file);
    }
    c.args(["verify-callback", "--body", "-", "-H", "CurTime: 1"]);
    let out = run(&mut c);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    let got = json(&out);
    assert_eq!(got["error"]["field"], "--credentials-file", "{got}");
    assert_eq!(got["error"]["rule"], "count", "{got}");
    assert!(
        got["error"]["message"]
            .as_str()
            .unwrap()
            .contains("must hold 1 to 8 entries, got 9"),
        "{got}"
    );

    let out = run(cmd("http://127.0.0.1:9")
        .args(["--json", "--credentials-file"])
        .arg(&files[0])
        .arg("--credentials-file")
        .arg(&files[1])
        .args(["sign"]));
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    let got = json(&out);
    assert_eq!(got["error"]["field"], "--credentials-file", "{got}");
    assert!(
        got["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only verify-callback takes several"),
        "{got}"
    );
}

/// The tolerance's ceiling is the core's, as in every binding: over an hour is refused by name.
#[test]
fn verify_callback_refuses_a_tolerance_over_an_hour() {
    let body = temp_file(b"{}");
    let run_with = |tolerance: &str| {
        run(cmd("http://127.0.0.1:9")
            .args(["--json", "verify-callback", "--body"])
            .arg(&body)
            .args([
                "-H",
                "CurTime: 1700000000000",
                "-H",
                "MD5: x",
                "-H",
                "CheckSum: y",
            ])
            .args(["--now-ms", "1700000000000", "--tolerance-ms", tolerance]))
    };
    let out = run_with("3600001");
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    let got = json(&out);
    assert_eq!(got["error"]["field"], "--tolerance-ms", "{got}");
    assert_eq!(got["error"]["rule"], "at_most", "{got}");
    // At the ceiling it verifies (and refuses the made-up digests).
    let out = run_with("3600000");
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json(&out)["reason"], "md5_mismatch");
}
