//! The blocking client's log events, captured by a test logger: each attempt is logged sent and
//! answered with one id per call, retries and give-ups say why, and no line carries a phone
//! number, a header value (CheckSum, Nonce) or the secret. Only 127.0.0.1 is contacted.
//!
//! One test function: the logger is process-wide, and tests in one binary share the process.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use log::{Level, LevelFilter, Log, Metadata, Record};
use yunxin_ecp::blocking::Client;
use yunxin_ecp::blocking::events::TARGET;
use yunxin_ecp::{ApiRequest, Credentials, Error, QueryBySession, SessionKind, StartCall};
use yunxin_ecp_mock::{Fault, MockConfig, MockServer};

const APP_KEY: &str = "0123456789abcdef0123456789abcdef";
const SECRET: &str = "log-test-secret-Zq81";

/// Every record logged under the client's target: level and message.
struct Capture(Mutex<Vec<(Level, String)>>);

impl Log for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == TARGET
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = record.args().to_string();
            self.0.lock().unwrap().push((record.level(), line));
        }
    }

    fn flush(&self) {}
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(capture).expect("the only logger of this test binary");
        log::set_max_level(LevelFilter::Debug);
        capture
    })
}

/// Takes the lines captured so far.
fn take() -> Vec<(Level, String)> {
    std::mem::take(&mut *capture().0.lock().unwrap())
}

/// An event: its message (the words before the first `key=`) and its fields.
#[derive(Debug)]
struct Event {
    level: Level,
    message: String,
    fields: HashMap<String, String>,
}

impl Event {
    fn parse((level, line): &(Level, String)) -> Event {
        let mut message = Vec::new();
        let mut fields = HashMap::new();
        for word in line.split(' ') {
            match word.split_once('=') {
                Some((k, v)) => {
                    fields.insert(k.to_owned(), v.to_owned());
                }
                None => message.push(word),
            }
        }
        Event {
            level: *level,
            message: message.join(" "),
            fields,
        }
    }

    fn get(&self, key: &str) -> &str {
        self.fields
            .get(key)
            .map_or_else(|| panic!("{self:?} has no {key}"), String::as_str)
    }
}

fn take_events() -> Vec<Event> {
    take().iter().map(Event::parse).collect()
}

/// Asserts that no captured line leaks what must not be logged.
fn assert_safe(lines: &[(Level, String)], forbidden: &[String]) {
    for (_, line) in lines {
        // The request id is 8 random hex digits, now and then all of them decimal ones.
        let without_id: String = line
            .split(' ')
            .filter(|field| !field.starts_with("id="))
            .collect::<Vec<_>>()
            .join(" ");
        let longest_digits = without_id
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest_digits < 7, "a number in {line:?}");
        for value in forbidden {
            assert!(!line.contains(value.as_str()), "{value} in {line:?}");
        }
    }
}

#[test]
fn requests_are_observable_and_nothing_secret_is_logged() {
    capture();
    let config = MockConfig {
        apps: vec![Credentials::new(APP_KEY, SECRET).unwrap()],
        ..MockConfig::default()
    };
    let mock = MockServer::start(config).unwrap();
    let client = Client::builder(Credentials::new(APP_KEY, SECRET).unwrap())
        .base_url(mock.base_url())
        .backoff(Duration::from_millis(5))
        .build()
        .unwrap();
    take();

    // A start turned away once with 503, then placed.
    mock.inject_fault(Fault::Busy503, 1);
    let start = StartCall::new("liuxuanlin", "13888888888", "13777777777", 100).unwrap();
    let started = client.start_call(&start).unwrap();
    let lines = take();
    let events: Vec<Event> = lines.iter().map(Event::parse).collect();
    let messages: Vec<&str> = events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "request sent",
            "response",
            "retry",
            "request sent",
            "response"
        ]
    );
    let id = events[0].get("id").to_owned();
    assert_eq!(id.len(), 8);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    for e in &events {
        assert_eq!(e.get("id"), id, "one id across the retries of a call");
    }
    assert_eq!(events[0].level, Level::Debug);
    assert_eq!(events[0].get("endpoint"), "start_call");
    assert_eq!(events[0].get("path"), "/call/ecp/startcall.action");
    assert_eq!(events[0].get("attempt"), "1");
    assert_eq!(events[1].get("http_status"), "200");
    assert_eq!(events[1].get("code"), "503");
    assert!(events[1].get("elapsed_ms").parse::<u64>().is_ok());
    assert_eq!(events[2].level, Level::Info);
    assert_eq!(events[2].get("reason"), "api_503");
    assert!(events[2].get("delay_ms").parse::<u64>().unwrap() <= 5);
    assert_eq!(events[3].get("attempt"), "2");
    assert_eq!(events[4].get("code"), "200");

    // What the mock received: no value of a signature header is in any line, nor the secret.
    let mut forbidden = vec![SECRET.to_owned(), started.session.clone()];
    for request in mock.requests() {
        for (name, value) in &request.headers {
            if ["Nonce", "CheckSum", "CurTime"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
            {
                forbidden.push(value.clone());
            }
        }
        let header = |name: &str| {
            let found = request
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name));
            found.map(|(_, v)| v.clone()).unwrap()
        };
        let sum = yunxin_ecp::checksum(SECRET, &header("Nonce"), &header("CurTime"));
        forbidden.push(sum.to_string());
    }
    assert_safe(&lines, &forbidden);

    // A second call gets another id; a query logs no retry.
    let query = QueryBySession::new(started.session, SessionKind::Call).unwrap();
    client.query(&query).unwrap();
    let events = take_events();
    assert_eq!(events.len(), 2);
    assert_ne!(events[0].get("id"), id);
    assert_eq!(events[0].get("endpoint"), "query_by_session");

    // A refused start: sent, answered 414, given up with the advice, at warn.
    let refused = StartCall::new("nobody", "13888888888", "13777777777", 100).unwrap();
    let err = client.start_call(&refused).unwrap_err();
    assert!(matches!(err, Error::Response(_)));
    let events = take_events();
    let gave_up = events.last().unwrap();
    assert_eq!(gave_up.message, "gave up");
    assert_eq!(gave_up.level, Level::Warn);
    assert_eq!(gave_up.get("reason"), "api_414");
    assert_eq!(gave_up.get("advice"), "never");
    assert_eq!(gave_up.get("attempts"), "1");

    // A generic request whose path holds a phone number, to a port where nothing listens:
    // retried (nothing was sent), then given up; the number is masked in every line.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let offline = Client::builder(Credentials::new(APP_KEY, SECRET).unwrap())
        .base_url(&closed)
        .backoff(Duration::ZERO)
        .build()
        .unwrap();
    // A client's first event says where it sends, and through which proxy.
    let ready = take_events();
    assert_eq!(ready.len(), 1, "{ready:?}");
    assert_eq!(ready[0].message, "client ready");
    assert_eq!(ready[0].level, Level::Debug);
    assert_eq!(ready[0].get("base_url"), closed);
    assert_eq!(ready[0].get("proxy"), "none");
    let request = ApiRequest::new(
        "/user/13912345678/create.action",
        [("mobile", "13912345678")],
    )
    .unwrap();
    offline.request(&request).unwrap_err();
    let lines = take();
    assert_safe(&lines, &[SECRET.to_owned()]);
    let events: Vec<Event> = lines.iter().map(Event::parse).collect();
    assert_eq!(events[0].get("endpoint"), "api");
    assert_eq!(events[0].get("path"), "/user/139****5678/create.action");
    assert_eq!(events[1].message, "no response");
    assert_eq!(events[1].get("transport"), "connect");
    assert_eq!(events[1].get("maybe_sent"), "false");
    let retries = events.iter().filter(|e| e.message == "retry").count();
    assert_eq!(retries, 2);
    let last = events.last().unwrap();
    assert_eq!(
        (
            last.message.as_str(),
            last.get("reason"),
            last.get("advice"),
            last.get("attempts")
        ),
        ("gave up", "transport_connect", "safe", "3")
    );

    // Disabled: nothing is logged, and the call works the same.
    log::set_max_level(LevelFilter::Off);
    let query = QueryBySession::new("no-such-session", SessionKind::Call).unwrap();
    client.query(&query).unwrap_err();
    assert!(take().is_empty());
    log::set_max_level(LevelFilter::Debug);
    mock.stop();
}
