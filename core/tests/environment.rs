//! What a client takes from the environment: `YUNXIN_BASE_URL` when its caller names no base
//! URL, and a proxy by the core's one rule (see `yunxin_ecp::proxy`). One test in its own
//! binary, because the environment is the process's: no other test runs beside it here.
#![cfg(feature = "blocking")]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use yunxin_ecp::blocking::Client;
use yunxin_ecp::settings::ClientSettings;
use yunxin_ecp::{Credentials, Error, QueryBySession, SessionKind};

/// The `client ready` events logged, as text.
static EVENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let text = record.args().to_string();
        if text.starts_with("client ready") {
            EVENTS.lock().unwrap().push(text);
        }
    }
    fn flush(&self) {}
}

const VARIABLES: &[&str] = &[
    "YUNXIN_BASE_URL",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUEST_METHOD",
];

fn set_only(vars: &[(&str, &str)]) {
    for name in VARIABLES {
        // SAFETY: the only test of this binary; no other thread reads the environment.
        unsafe { std::env::remove_var(name) };
    }
    for (name, value) in vars {
        // SAFETY: as above.
        unsafe { std::env::set_var(name, value) };
    }
}

fn creds() -> Credentials {
    Credentials::new("env-app-key", "env-app-secret").unwrap()
}

/// The `client ready` event of a client built now.
fn ready_event(builder: yunxin_ecp::blocking::ClientBuilder) -> Result<String, Error> {
    EVENTS.lock().unwrap().clear();
    builder.build()?;
    Ok(EVENTS.lock().unwrap().pop().expect("a client ready event"))
}

/// Reads one request (head by `httparse`, then its body by length) and returns its head.
fn read_request(stream: &mut std::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
        if stream.read(&mut byte).unwrap_or(0) == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    request.parse(&head).unwrap();
    let length: usize = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    String::from_utf8_lossy(&head).into_owned()
}

#[test]
fn base_url_and_proxy_come_from_the_environment_by_one_rule() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Debug);

    // YUNXIN_BASE_URL, when the caller names none; the caller's choice wins.
    set_only(&[("YUNXIN_BASE_URL", "http://127.0.0.1:9")]);
    let client = Client::builder(creds()).build().unwrap();
    assert_eq!(client.base_url().as_str(), "http://127.0.0.1:9");
    let chosen = Client::builder(creds())
        .base_url("http://127.0.0.1:7")
        .build()
        .unwrap();
    assert_eq!(chosen.base_url().as_str(), "http://127.0.0.1:7");
    assert_eq!(
        ClientSettings::from_json("{}").unwrap().base_url,
        "http://127.0.0.1:9"
    );
    assert_eq!(
        ClientSettings::from_json(r#"{"base_url":"http://127.0.0.1:7"}"#)
            .unwrap()
            .base_url,
        "http://127.0.0.1:7"
    );
    assert_eq!(
        ready_event(Client::builder(creds())).unwrap(),
        "client ready base_url=http://127.0.0.1:9 proxy=none"
    );
    set_only(&[("YUNXIN_BASE_URL", "ftp://nope")]);
    let Err(Error::Validation(e)) = Client::builder(creds()).build() else {
        panic!("a bad YUNXIN_BASE_URL must be refused")
    };
    assert_eq!((e.field, e.rule.code()), ("YUNXIN_BASE_URL", "url"));
    // Set but empty is a mistake, not "unset": the real service bills.
    set_only(&[("YUNXIN_BASE_URL", "")]);
    let Err(Error::Validation(e)) = Client::builder(creds()).build() else {
        panic!("an empty YUNXIN_BASE_URL must be refused")
    };
    assert_eq!((e.field, e.rule.code()), ("YUNXIN_BASE_URL", "empty"));
    set_only(&[]);
    let client = Client::builder(creds()).build().unwrap();
    assert_eq!(client.base_url().as_str(), "https://api.netease.im");

    // The proxy: HTTP_PROXY never for https, never under CGI; the lower-case name is read.
    let https = || Client::builder(creds()).base_url("https://api.netease.im");
    let http = || Client::builder(creds()).base_url("http://yunxin.test");
    set_only(&[("HTTP_PROXY", "http://127.0.0.1:1")]);
    assert!(ready_event(https()).unwrap().ends_with("proxy=none"));
    assert!(ready_event(http()).unwrap().ends_with("proxy=HTTP_PROXY"));
    set_only(&[
        ("HTTP_PROXY", "http://127.0.0.1:1"),
        ("REQUEST_METHOD", "GET"),
    ]);
    assert!(ready_event(http()).unwrap().ends_with("proxy=none"));
    set_only(&[
        ("HTTPS_PROXY", "http://127.0.0.1:1"),
        ("NO_PROXY", "netease.im"),
    ]);
    assert!(ready_event(https()).unwrap().ends_with("proxy=none"));
    set_only(&[("HTTPS_PROXY", "http://127.0.0.1:1")]);
    assert!(ready_event(https()).unwrap().ends_with("proxy=HTTPS_PROXY"));

    // The chosen proxy is the one the request goes through: a local listener stands in for it
    // and sees the absolute-form request for a host that is never resolved.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    let seen = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let connect = read_request(&mut stream);
        stream
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .unwrap();
        let tunnelled = read_request(&mut stream);
        let body = r#"{"code":404,"desc":"no such session"}"#;
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(reply.as_bytes());
        (connect, tunnelled)
    });
    set_only(&[
        ("http_proxy", proxy_url.as_str()),
        ("REQUEST_METHOD", "POST"),
    ]);
    let client = http().max_retries(0).build().unwrap();
    let query = QueryBySession::new("s-1", SessionKind::Call).unwrap();
    let err = client.query(&query).unwrap_err();
    let (connect, tunnelled) = seen.join().unwrap();
    assert!(err.to_string().contains("404"), "{err}");
    assert!(connect.starts_with("CONNECT yunxin.test:80 "), "{connect}");
    assert!(
        tunnelled.starts_with("POST /call/ecp/queryBySession.action "),
        "{tunnelled}"
    );

    // A proxy variable that is no URL is refused naming the variable, never echoing it.
    set_only(&[("HTTPS_PROXY", "http://user:pw@[bad")]);
    let Err(Error::Validation(e)) = https().build() else {
        panic!("a bad proxy URL must be refused")
    };
    assert_eq!((e.field, e.rule.code()), ("HTTPS_PROXY", "url"));
    assert!(!e.to_string().contains("pw"), "{e}");
    set_only(&[]);
}
