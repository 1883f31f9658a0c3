//! The blocking client against a hostile server: an in-process listener answers every request
//! with the input's bytes verbatim (status line, headers and body, any bytes at all), then
//! closes. A `QueryBySession` and a `StartCall` go through the real client, and whatever comes
//! back must hold to these rules:
//!
//! - nothing panics;
//! - no error shows the request's `CheckSum` or `Nonce`, or the app secret, in `Display` or
//!   `Debug`;
//! - a `StartCall` answered with a 3xx status never succeeds (the client follows no redirect),
//!   and a protocol error is of kind `redirect` exactly when its status is a 3xx;
//! - every call reaches the server on exactly one connection (`max_retries` is 0, and a
//!   redirect followed would be a second).
//!
//! The server speaks only to 127.0.0.1, but a followed redirect could send the client anywhere
//! the input names: run this target in a network namespace of its own (`unshare -n`, then
//! `ip link set lo up`) so that nothing leaves the machine whatever the client does.
#![no_main]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use yunxin_ecp::blocking::Client;
use yunxin_ecp::{
    Credentials, Error, ProtocolErrorKind, QueryBySession, ResponseError, SessionKind, StartCall,
};

/// A secret no input is likely to contain, so its absence from every error means something.
const SECRET: &str = "fuzz-secret-云信-5f1e0c9a7b3d";
/// The first bytes of the connection the fuzz body opens to learn that the server has taken
/// every earlier connection (the listener's backlog is first in, first out).
const SYNC: &[u8] = b"FUZZ-SYNC\r\n\r\n";
/// Longest request head read; anything longer is cut off and answered all the same.
const MAX_HEAD: usize = 16 * 1024;
/// Longest request body read (ECP forms are a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;
/// How long the server waits on a client that stops reading or writing.
const SERVER_IO_TIMEOUT: Duration = Duration::from_secs(2);

/// What the fuzz body and the server thread share.
#[derive(Default)]
struct State {
    /// The raw response to send on every connection.
    response: Vec<u8>,
    /// Request connections accepted since the last reset (sync connections excluded).
    connections: u32,
    /// The `CheckSum` and `Nonce` values of the requests seen since the last reset.
    sent_secrets: Vec<String>,
    /// Sync connections handled; the fuzz body waits for this to move.
    syncs: u64,
}

struct Harness {
    state: Mutex<State>,
    synced: Condvar,
    port: u16,
    client: Client,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let creds = Credentials::new("fuzzappkey", SECRET).expect("credentials");
        let client = Client::builder(creds)
            .base_url(format!("http://127.0.0.1:{port}"))
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(1))
            .max_retries(0)
            // Well under the inputs' 4096-byte cap, so that the size limit is reached too.
            .max_response_bytes(256)
            .build()
            .expect("client");
        std::thread::spawn(move || serve(listener));
        Harness {
            state: Mutex::new(State::default()),
            synced: Condvar::new(),
            port,
            client,
        }
    })
}

/// Handles one connection at a time, in the order they arrive.
fn serve(listener: TcpListener) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let h = harness();
        let _ = stream.set_read_timeout(Some(SERVER_IO_TIMEOUT));
        let _ = stream.set_write_timeout(Some(SERVER_IO_TIMEOUT));
        let _ = stream.set_nodelay(true);
        handle(h, stream);
    }
}

fn handle(h: &Harness, mut stream: TcpStream) {
    let head = read_head(&mut stream);
    if head.starts_with(SYNC) {
        let mut state = lock(&h.state);
        state.syncs += 1;
        h.synced.notify_all();
        return;
    }
    let response = {
        let mut state = lock(&h.state);
        state.connections += 1;
        let text = String::from_utf8_lossy(&head);
        for line in text.split("\r\n") {
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim();
                if name.eq_ignore_ascii_case("checksum") || name.eq_ignore_ascii_case("nonce") {
                    state.sent_secrets.push(value.trim().to_owned());
                }
            }
        }
        state.response.clone()
    };
    // Read the whole body, so that closing sends a FIN, not a reset that could destroy the
    // answer before the client reads it.
    let text = String::from_utf8_lossy(&head);
    let length = text
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let already = head.len() - head_end(&head).unwrap_or(head.len());
    let mut rest = length.saturating_sub(already).min(MAX_BODY);
    let mut buf = [0u8; 4096];
    while rest > 0 {
        match stream.read(&mut buf[..rest.min(4096)]) {
            Ok(0) | Err(_) => break,
            Ok(n) => rest -= n,
        }
    }
    let _ = stream.write_all(&response);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}

/// Where the blank line ending the head ends, if it came.
fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

/// Reads up to the blank line ending the request head (or `MAX_HEAD` bytes, or EOF).
fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while head_end(&head).is_none() && head.len() < MAX_HEAD {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    head
}

/// Waits until the server has handled every connection opened before this call.
fn sync(h: &Harness) {
    let before = lock(&h.state).syncs;
    let mut stream = TcpStream::connect(("127.0.0.1", h.port)).expect("sync connection");
    stream.write_all(SYNC).expect("sync write");
    let state = lock(&h.state);
    let (state, timeout) = h
        .synced
        .wait_timeout_while(state, Duration::from_secs(30), |s| s.syncs == before)
        .unwrap_or_else(PoisonError::into_inner);
    assert!(!timeout.timed_out(), "the server thread stopped answering");
    drop(state);
}

/// The status the client acts on: that of the first response after any 1xx ones, as far as a
/// lenient reading of the input can tell (`None` when there is no readable status line).
fn final_status(mut input: &[u8]) -> Option<u16> {
    loop {
        let line_end = input.iter().position(|b| *b == b'\n')?;
        let line = std::str::from_utf8(&input[..line_end]).ok()?;
        let mut words = line.split_ascii_whitespace();
        if !words.next()?.starts_with("HTTP/") {
            return None;
        }
        let status: u16 = words.next()?.parse().ok()?;
        if !(100..200).contains(&status) {
            return Some(status);
        }
        let end = input
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| i + 4)
            .or_else(|| input.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))?;
        input = &input[end..];
    }
}

/// One call: how many connections it made and the secrets its requests carried.
fn call<T>(
    h: &Harness,
    data: &[u8],
    f: impl FnOnce(&Client) -> Result<T, Error>,
) -> (Result<T, Error>, u32, Vec<String>) {
    {
        let mut state = lock(&h.state);
        state.response.clear();
        state.response.extend_from_slice(data);
        state.connections = 0;
        state.sent_secrets.clear();
    }
    let result = f(&h.client);
    sync(h);
    let mut state = lock(&h.state);
    let secrets = std::mem::take(&mut state.sent_secrets);
    (result, state.connections, secrets)
}

fn check_error(what: &str, error: &Error, data: &[u8], secrets: &[String]) {
    // Every request carries a CheckSum and a Nonce: the harness saw them, or it checks nothing.
    assert_eq!(
        secrets.len(),
        2,
        "{what}: the server read no CheckSum and Nonce"
    );
    // A 3xx is reported as a redirect, and only a 3xx is (the parsers never see one).
    if let Error::Response(e) = error {
        let status = (300..400).contains(&e.http_status());
        let kind = matches!(e, ResponseError::Protocol(p) if p.kind == ProtocolErrorKind::Redirect);
        assert_eq!(status, kind, "{what}: {e:?}");
    }
    let shown = format!("{error}\n{error:?}");
    let input = String::from_utf8_lossy(data);
    let forbidden = secrets.iter().map(String::as_str).chain([SECRET]);
    for secret in forbidden.filter(|s| !s.is_empty() && !input.contains(*s)) {
        assert!(
            !shown.contains(secret),
            "{what}: the error shows {secret:?}: {shown}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let h = harness();

    let query = QueryBySession::new("6453168498234567", SessionKind::Call).expect("query");
    let (result, connections, secrets) = call(h, data, |c| c.query(&query));
    assert_eq!(
        connections, 1,
        "a query reached {connections} connections: {result:?}"
    );
    if let Err(e) = &result {
        check_error("query", e, data, &secrets);
    }

    let start = StartCall::new("fuzzacc", "13888888888", "13777777777", 60).expect("start");
    let (result, connections, secrets) = call(h, data, |c| c.start_call(&start));
    assert_eq!(
        connections, 1,
        "a start reached {connections} connections: {result:?}"
    );
    match &result {
        Ok(started) => {
            let status = final_status(data);
            assert!(
                !status.is_some_and(|s| (300..400).contains(&s)),
                "a start answered with HTTP {status:?} succeeded: {started:?}"
            );
        }
        Err(e) => check_error("start", e, data, &secrets),
    }
});
