//! The mock against a hostile client: idle and trickling sockets, floods of the unauthenticated
//! routes, oversized heads, smuggling forms and abuse of the control API. The mock must keep
//! answering everyone else, stay bounded in memory and time, and never show a live signature.
//!
//! Only 127.0.0.1 is contacted, on ephemeral ports. Socket counts stay modest (a few hundred);
//! a test that cannot open them (too many open files) says so and skips.

mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use common::*;
use serde_json::{Value, json};
use yunxin_ecp::{EcpRequest, QueryBySession, SessionKind, StartCall};
use yunxin_ecp_mock::{
    DEFAULT_FIRST_BYTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_INBOX_LIMIT, DEFAULT_INBOX_MAX_BYTES,
    DEFAULT_REQUEST_TIMEOUT, Fault, MockConfig, MockServer, SAMPLE_APP_KEY,
};

/// Linux's "too many open files" (per process and per system).
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

fn start_call() -> StartCall {
    StartCall::new("liuxuanlin", "13888888888", "13777777777", 100).unwrap()
}

/// A freshly signed request as raw bytes.
fn raw_signed<R: EcpRequest>(server: &MockServer, request: &R, path: &str) -> Vec<u8> {
    let prepared = prepare(server, request);
    let mut headers = prepared.headers.clone();
    headers.push(("Content-Length", prepared.body.len().to_string()));
    raw_request("POST", path, &headers, &prepared.body)
}

fn raw_start(server: &MockServer) -> Vec<u8> {
    raw_signed(server, &start_call(), "/call/ecp/startcall.action")
}

/// A signed query of a session that does not exist: answered `404 session not found`, with
/// the signature checked, the cheapest fully-served API request.
fn raw_query(server: &MockServer) -> Vec<u8> {
    let query =
        QueryBySession::new("7c4b7673-4f70-4164-82a0-decb84d77914", SessionKind::Call).unwrap();
    raw_signed(server, &query, "/call/ecp/queryBySession.action")
}

/// Opens `n` connections that send nothing; `None` (with a message) when the process runs out
/// of file descriptors first.
fn hold_idle(addr: SocketAddr, n: usize) -> Option<Vec<TcpStream>> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        match TcpStream::connect(addr) {
            Ok(stream) => held.push(stream),
            Err(e) if matches!(e.raw_os_error(), Some(EMFILE | ENFILE)) => {
                eprintln!(
                    "skipped: only {} sockets could be opened ({e}); raise the open-file limit",
                    held.len()
                );
                return None;
            }
            Err(e) => panic!("connect: {e}"),
        }
    }
    Some(held)
}

/// Connects, sends `request` and reads one answer, timing the whole exchange.
fn timed_exchange(addr: SocketAddr, request: &[u8]) -> (RawAnswer, Duration) {
    let began = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    let answer = raw_exchange(&mut stream, request).unwrap();
    (answer, began.elapsed())
}

/// Reads until the server closes the connection (or `limit` passes): how long it took, and
/// what was received.
fn wait_for_close(stream: &mut TcpStream, limit: Duration) -> (Duration, Vec<u8>, bool) {
    let began = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (began.elapsed(), received, true),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                return (began.elapsed(), received, true);
            }
            Err(_) => return (began.elapsed(), received, false),
        }
        if began.elapsed() > limit {
            return (began.elapsed(), received, false);
        }
    }
}

/// Polls `condition` every 10 ms until it holds or `limit` passes.
fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn json_of(answer: &RawAnswer) -> Value {
    serde_json::from_slice(&answer.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", answer.text()))
}

// ---- 1. connections: timeouts, eviction, 503 --------------------------------------------

#[test]
fn a_connection_that_never_sends_is_closed_after_the_first_byte_timeout() {
    let server = server();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let (took, received, closed) = wait_for_close(&mut stream, Duration::from_secs(20));
    assert!(closed, "still open after {took:?}");
    assert!(received.is_empty());
    assert!(
        took >= DEFAULT_FIRST_BYTE_TIMEOUT - Duration::from_millis(200)
            && took < DEFAULT_FIRST_BYTE_TIMEOUT + Duration::from_secs(3),
        "closed after {took:?}"
    );
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let server = server();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let answer = raw_exchange(&mut stream, &raw_query(&server)).unwrap();
    assert_eq!(answer.header("Connection"), Some("keep-alive"));
    let (took, _, closed) = wait_for_close(&mut stream, Duration::from_secs(20));
    assert!(closed, "still open after {took:?}");
    assert!(
        took < DEFAULT_IDLE_TIMEOUT + Duration::from_secs(3),
        "closed after {took:?}"
    );
}

#[test]
fn a_slowloris_is_cut_off_at_the_request_timeout() {
    let server = server();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let mut reader = stream.try_clone().unwrap();
    let began = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let trickle = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            // One byte a second of a head that would take a minute to finish.
            for byte in raw_start_head().iter().take(60) {
                if done.load(Ordering::Relaxed) || stream.write_all(&[*byte]).is_err() {
                    return;
                }
                thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let (took, received, closed) = wait_for_close(&mut reader, Duration::from_secs(40));
    done.store(true, Ordering::Relaxed);
    let took_total = began.elapsed();
    trickle.join().unwrap();
    assert!(closed, "still open after {took:?}");
    assert!(
        took_total < DEFAULT_REQUEST_TIMEOUT + Duration::from_secs(4),
        "the trickling connection lived {took_total:?}"
    );
    assert!(
        String::from_utf8_lossy(&received).starts_with("HTTP/1.1 408 "),
        "{}",
        String::from_utf8_lossy(&received)
    );
}

/// The head of a start, without its signature: what a slowloris trickles.
fn raw_start_head() -> Vec<u8> {
    b"POST /call/ecp/startcall.action HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".to_vec()
}

#[test]
fn hundreds_of_idle_sockets_do_not_delay_a_new_client() {
    let server = server();
    let held_count = 300;
    let Some(held) = hold_idle(server.addr(), held_count) else {
        return;
    };
    assert!(wait_until(Duration::from_secs(10), || {
        server.stats().open_connections >= held_count
    }));
    let (answer, took) = timed_exchange(server.addr(), &raw_query(&server));
    println!(
        "load: {held_count} idle sockets held; a fresh signed request was answered in {} ms",
        took.as_millis()
    );
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.text(),
        r#"{"code":404,"msg":"session not found"}"#,
        "served, signature checked"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    drop(held);
}

#[test]
fn when_full_the_longest_idle_connection_makes_room() {
    let server = MockServer::start(MockConfig {
        max_connections: 32,
        ..MockConfig::default()
    })
    .unwrap();
    let held_count = 300;
    let Some(mut held) = hold_idle(server.addr(), held_count) else {
        return;
    };
    // Every connection was accepted (those over the cap were turned away or made room), and
    // the 32 that hold the slots have been seen idle.
    assert!(wait_until(Duration::from_secs(10), || {
        let stats = server.stats();
        stats.connections == held_count as u64 && stats.idle_connections == 32
    }));
    let (answer, took) = timed_exchange(server.addr(), &raw_start(&server));
    println!(
        "load: {held_count} idle sockets against a cap of 32; a fresh signed start was answered \
         in {} ms",
        took.as_millis()
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    session_of(&answer.text());
    assert!(took < Duration::from_secs(3), "{took:?}");
    let stats = server.stats();
    assert!(stats.evicted_connections >= 1, "{stats:?}");
    assert!(stats.open_connections <= 32, "{stats:?}");
    // Every held socket was closed by the server (made room, or turned away with a 503) except
    // those still holding a slot.
    let mut closed = 0;
    for stream in &mut held {
        let (_, received, was_closed) = wait_for_close(stream, Duration::from_millis(50));
        assert!(
            received.is_empty() || received.starts_with(b"HTTP/1.1 503 "),
            "{}",
            String::from_utf8_lossy(&received)
        );
        closed += usize::from(was_closed);
    }
    assert!(closed >= held_count - 32, "{closed} closed");
}

#[test]
fn a_crowd_larger_than_the_cap_gets_an_answer_each() {
    let server = MockServer::start(MockConfig {
        max_connections: 16,
        ..MockConfig::default()
    })
    .unwrap();
    let addr = server.addr();
    let clients = 150;
    let requests: Vec<Vec<u8>> = (0..clients).map(|_| raw_query(&server)).collect();
    let gate = Arc::new(std::sync::Barrier::new(clients));
    let workers: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let gate = Arc::clone(&gate);
            thread::spawn(move || {
                gate.wait();
                let mut stream = match TcpStream::connect(addr) {
                    Ok(stream) => stream,
                    Err(e) => return Err(e.to_string()),
                };
                raw_exchange(&mut stream, &request)
                    .map(|a| a.status)
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    let outcomes: Vec<Result<u16, String>> =
        workers.into_iter().map(|w| w.join().unwrap()).collect();
    let served = outcomes.iter().filter(|o| **o == Ok(200)).count();
    let busy = outcomes.iter().filter(|o| **o == Ok(503)).count();
    println!(
        "load: {clients} simultaneous signed queries against a cap of 16: {served} served, {busy} \
         answered 503, {} without an answer",
        clients - served - busy
    );
    assert_eq!(served + busy, clients, "{outcomes:?}");
}

#[test]
fn when_every_slot_is_busy_a_newcomer_gets_a_json_503_and_a_close() {
    let cap = 4;
    let server = MockServer::start(MockConfig {
        max_connections: cap,
        ..MockConfig::default()
    })
    .unwrap();
    // Busy connections: each request sleeps in the handler, where it is never evicted.
    server.inject_fault(Fault::Delay(Duration::from_secs(60)), cap);
    let busy: Vec<TcpStream> = (0..cap)
        .map(|_| {
            let mut stream = TcpStream::connect(server.addr()).unwrap();
            stream.write_all(&raw_query(&server)).unwrap();
            stream
        })
        .collect();
    assert!(wait_until(Duration::from_secs(10), || server
        .stats()
        .faults_pending
        == 0));
    let (answer, took) = timed_exchange(server.addr(), &raw_query(&server));
    assert_eq!(answer.status, 503);
    assert_eq!(answer.header("Connection"), Some("close"));
    assert!(answer.header("Date").is_some());
    assert_eq!(
        json_of(&answer),
        json!({"code": 503, "desc": "mock busy: too many connections"})
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    let stats = server.stats();
    assert_eq!(
        (stats.rejected_connections, stats.evicted_connections),
        (1, 0)
    );
    // The core client reads it as "server busy": a start may be retried, nothing was placed.
    let error = StartCall::parse_response(503, &answer.body).unwrap_err();
    assert!(
        matches!(&error, yunxin_ecp::ResponseError::Api(e) if e.code == 503),
        "{error:?}"
    );
    assert_eq!(
        error.retry_advice(),
        yunxin_ecp::RetryAdvice::OnceAfterDelay
    );
    let t = Instant::now();
    server.stop();
    assert!(t.elapsed() < Duration::from_secs(2));
    drop(busy);
}

#[test]
fn stalled_requests_make_room_when_every_slot_is_taken() {
    let cap = 4;
    let server = MockServer::start(MockConfig {
        max_connections: cap,
        ..MockConfig::default()
    })
    .unwrap();
    // Slots taken by half-sent requests that then stall.
    let stalled: Vec<TcpStream> = (0..cap)
        .map(|_| {
            let mut stream = TcpStream::connect(server.addr()).unwrap();
            stream
                .write_all(b"POST /call/ecp/startcall.action HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
        })
        .collect();
    assert!(wait_until(Duration::from_secs(10), || server
        .stats()
        .open_connections
        == cap));
    // Within the grace period a newcomer may be turned away; once the requests have stalled,
    // one of them makes room.
    let mut statuses = Vec::new();
    let served = wait_until(Duration::from_secs(10), || {
        let (answer, _) = timed_exchange(server.addr(), &raw_query(&server));
        statuses.push(answer.status);
        answer.status == 200
    });
    assert!(served, "{statuses:?}");
    assert!(server.stats().evicted_connections >= 1);
    drop(stalled);
}

// ---- 2. the inbox and the logs are bounded, and read without holding the lock ------------

/// Held by the tests that measure this process's memory, so that they do not measure each
/// other.
static MEMORY: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// This process's resident memory in MiB (the mock runs in-process).
fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// POSTs `count` bodies of `size` bytes to `path` over one kept-alive connection, each
/// answered `status`.
fn flood(addr: SocketAddr, path: &str, count: usize, size: usize, status: u16) {
    let body = "x".repeat(size);
    let request = raw_request("POST", path, &[("Content-Length", size.to_string())], &body);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    for _ in 0..count {
        stream.write_all(&request).unwrap();
        let answer = read_response(&mut stream, &mut buf).unwrap();
        assert_eq!(answer.status, status, "{}", answer.text());
    }
}

#[test]
fn an_inbox_flood_is_bounded_and_reading_it_never_stalls_the_server() {
    let _alone = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let server = server();
    let before = rss_mib();
    let (posts, size, senders) = (5000, 60_000, 4);
    let began = Instant::now();
    let workers: Vec<_> = (0..senders)
        .map(|_| {
            let addr = server.addr();
            thread::spawn(move || flood(addr, "/_mock/inbox", posts / senders, size, 200))
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let flooded = began.elapsed();
    let after = rss_mib();
    let inbox = server.inbox();
    let kept: usize = inbox.iter().map(|r| r.body.len()).sum();
    println!(
        "inbox flood: {posts} POSTs of {size} bytes in {:.1} s; inbox keeps {} ({:.1} MiB); \
         RSS {} MiB before, {} MiB after",
        flooded.as_secs_f64(),
        inbox.len(),
        kept as f64 / 1048576.0,
        before.map_or("?".into(), |m| format!("{m:.0}")),
        after.map_or("?".into(), |m| format!("{m:.0}")),
    );
    assert!(inbox.len() <= DEFAULT_INBOX_LIMIT, "{}", inbox.len());
    assert!(kept <= DEFAULT_INBOX_MAX_BYTES, "{kept}");
    assert!(!inbox.is_empty());
    if let (Some(before), Some(after)) = (before, after) {
        assert!(
            after - before < 160.0,
            "RSS grew by {:.0} MiB",
            after - before
        );
    }

    // Reading the full inbox over HTTP, again and again, while the state lock is timed.
    let reading = Arc::new(AtomicBool::new(true));
    let reader = {
        let (addr, reading) = (server.addr(), Arc::clone(&reading));
        thread::spawn(move || {
            let mut sizes = Vec::new();
            for _ in 0..4 {
                let mut stream = TcpStream::connect(addr).unwrap();
                let answer =
                    raw_exchange(&mut stream, &raw_request("GET", "/_mock/inbox", &[], ""))
                        .unwrap();
                assert_eq!(answer.status, 200);
                sizes.push(answer.body.len());
            }
            reading.store(false, Ordering::Relaxed);
            sizes
        })
    };
    let mut slowest = Duration::ZERO;
    while reading.load(Ordering::Relaxed) {
        let t = Instant::now();
        server.stats();
        slowest = slowest.max(t.elapsed());
        thread::sleep(Duration::from_millis(1));
    }
    let sizes = reader.join().unwrap();
    println!(
        "inbox read: {} bytes of JSON per GET; slowest stats() meanwhile {} ms",
        sizes[0],
        slowest.as_millis()
    );
    assert!(
        sizes
            .iter()
            .all(|s| *s < DEFAULT_INBOX_MAX_BYTES + (1 << 20))
    );
    assert!(slowest < Duration::from_millis(500), "{slowest:?}");
}

#[test]
fn the_request_log_is_bounded_in_bytes() {
    let server = MockServer::start(MockConfig {
        request_log_max_bytes: 1 << 20,
        ..MockConfig::default()
    })
    .unwrap();
    // Unknown paths are recorded, body and all.
    flood(server.addr(), "/nim/anything", 100, 60_000, 404);
    assert_eq!(server.stats().requests, 100);
    let kept = server.requests();
    let bytes: usize = kept.iter().map(|r| r.body.len()).sum();
    assert!(bytes <= 1 << 20, "{bytes}");
    assert_eq!(kept.len(), (1 << 20) / 60_000, "whole requests, the newest");
    assert_eq!(kept.last().unwrap().seq, 100);
}

// ---- 3. the head limit is 16 KiB, complete or not -----------------------------------------

#[test]
fn a_head_over_16_kib_is_refused_with_a_json_431_and_a_close() {
    let server = server();
    for (padding, complete) in [(20_000, true), (17_000, false), (16_500, true)] {
        let mut raw = format!(
            "POST /call/ecp/startcall.action HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n",
            "a".repeat(padding)
        );
        if complete {
            raw.push_str("Content-Length: 0\r\n\r\n");
        }
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        let answer = raw_exchange(&mut stream, raw.as_bytes()).unwrap();
        assert_eq!(answer.status, 431, "{padding}");
        assert_eq!(answer.header("Connection"), Some("close"));
        assert!(
            answer
                .header("Content-Type")
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(
            json_of(&answer),
            json!({"code": 414, "desc": "request head too large"})
        );
        let (_, rest, closed) = wait_for_close(&mut stream, Duration::from_secs(5));
        assert!(closed && rest.is_empty());
    }
    // Just under the limit is served.
    let prepared = prepare(&server, &start_call());
    let mut headers = prepared.headers.clone();
    headers.push(("Content-Length", prepared.body.len().to_string()));
    headers.push(("X-Padding", "a".repeat(16_000)));
    let raw = raw_request(
        "POST",
        "/call/ecp/startcall.action",
        &headers,
        &prepared.body,
    );
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let answer = raw_exchange(&mut stream, &raw).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(server.start_count(), 1);
}

// ---- 4. no live signature is shown back; the secret stays off the command line ----------

#[test]
fn recorded_requests_redact_the_checksum() {
    let server = server();
    let prepared = prepare(&server, &start_call());
    let checksum = prepared
        .headers
        .iter()
        .find(|(k, _)| *k == "CheckSum")
        .map(|(_, v)| v.clone())
        .unwrap();
    let (status, _) = send(&prepared).unwrap();
    assert_eq!(status, 200);
    let recorded = server.requests().pop().unwrap();
    let header = |name: &str| {
        recorded
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("CheckSum"), Some("<redacted, 40 characters>"));
    assert!(header("Nonce").is_some() && header("CurTime").is_some());
    assert!(!format!("{recorded:?}").contains(&checksum));
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let log = raw_exchange(&mut stream, &raw_request("GET", "/_mock/requests", &[], "")).unwrap();
    assert!(!log.text().contains(&checksum), "{}", log.text());
    assert!(log.text().contains("<redacted, 40 characters>"));
    // Also when the header is spelled in another case, or sent twice.
    let now = now_secs();
    let mut headers = auth_headers("abc", now);
    let sum = headers[3].1.clone();
    headers[3].0 = "checksum";
    headers.push(("CHECKSUM", sum.clone()));
    let raw = raw_request("POST", "/call/ecp/queryBySession.action", &headers, "");
    raw_exchange(&mut stream, &raw).unwrap();
    let recorded = server.requests().pop().unwrap();
    assert!(!format!("{recorded:?}").contains(&sum));
}

fn mock_binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_yunxin-ecp-mock"));
    command
        .env_remove("YUNXIN_APP_KEY")
        .env_remove("YUNXIN_APP_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Starts the binary, reads its URL, and answers whether a start signed with `secret` for
/// `key` is accepted; stops it through standard input.
fn binary_accepts(mut command: Command, key: &str, secret: &str) -> bool {
    let mut child = command.arg("--exit-on-stdin-eof").spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    let creds = yunxin_ecp::Credentials::new(key, secret).unwrap();
    let prepared = start_call().prepare(
        &yunxin_ecp::BaseUrl::new(&url).unwrap(),
        &creds.sign_now().unwrap(),
    );
    let (_, body) = send(&prepared).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    body.starts_with(r#"{"code":200,"#)
}

#[test]
fn the_binary_takes_the_secret_from_a_file_or_the_environment() {
    const KEY: &str = "0123456789abcdef0123456789abcdef";
    let dir = std::env::temp_dir().join(format!("yunxin-ecp-mock-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("secret");
    std::fs::write(&file, "from-a-file\n").unwrap();

    let mut command = mock_binary();
    command
        .args(["--app-key", KEY, "--app-secret-file"])
        .arg(&file);
    assert!(binary_accepts(command, KEY, "from-a-file"));

    let mut command = mock_binary();
    command
        .env("YUNXIN_APP_KEY", KEY)
        .env("YUNXIN_APP_SECRET", "from-the-environment");
    assert!(binary_accepts(command, KEY, "from-the-environment"));

    // The command line still works, and beats the environment.
    let mut command = mock_binary();
    command
        .env("YUNXIN_APP_SECRET", "from-the-environment")
        .args(["--app-key", KEY, "--app-secret", "on-the-command-line"]);
    assert!(binary_accepts(command, KEY, "on-the-command-line"));

    // Without any, the samples' app.
    assert!(binary_accepts(
        mock_binary(),
        SAMPLE_APP_KEY,
        yunxin_ecp_mock::SAMPLE_APP_SECRET
    ));

    for (args, env_secret, says) in [
        (vec!["--app-key", KEY], None, "needs one secret"),
        (vec![], Some("lonely"), "needs one secret"),
        (
            vec!["--app-key", KEY, "--app-secret-file", "/nonexistent/secret"],
            None,
            "cannot read --app-secret-file /nonexistent/secret",
        ),
        (
            vec!["--app-secret", "a", "--app-secret-file", "/x"],
            None,
            "cannot be used with",
        ),
    ] {
        let mut command = mock_binary();
        command.args(&args).stdin(Stdio::null());
        if let Some(secret) = env_secret {
            command.env("YUNXIN_APP_SECRET", secret);
        }
        let out = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("lonely"), "the secret is never echoed");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_binary_help_exits_0_with_an_example() {
    let out = mock_binary()
        .arg("--help")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "--app-secret-file",
        "YUNXIN_APP_SECRET",
        "process list",
        "--exit-on-stdin-eof",
        "--callback-url",
        "Examples:",
        "yunxin-ecp-mock --port 0",
    ] {
        assert!(help.contains(expected), "{expected}: {help}");
    }
}

// ---- 5. the redirect fault, the Date header, clock skew -----------------------------------

#[test]
fn the_redirect_fault_points_at_a_counted_target_and_places_nothing() {
    let server = server();
    server.inject_fault(Fault::Redirect, 1);
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let answer = raw_exchange(&mut stream, &raw_start(&server)).unwrap();
    assert_eq!(answer.status, 302);
    let location = format!(
        "{}/_mock/redirect-target/call/ecp/startcall.action",
        server.base_url()
    );
    assert_eq!(answer.header("Location"), Some(location.as_str()));
    assert!(
        answer
            .header("Content-Type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(answer.text().contains("302 Found"));
    assert_eq!(server.start_count(), 0);
    assert!(server.sessions().is_empty());
    let recorded = server.requests().pop().unwrap();
    assert_eq!(
        (recorded.fault, recorded.http_status, recorded.session),
        (Some(Fault::Redirect), Some(302), None)
    );

    // A client that follows it lands on a success that places nothing, and is counted.
    assert_eq!(server.redirect_target_hits(), 0);
    let target = location.trim_start_matches(&server.base_url());
    for method in ["GET", "POST"] {
        let followed = raw_exchange(&mut stream, &raw_request(method, target, &[], "")).unwrap();
        assert_eq!(followed.status, 200);
        assert_eq!(
            followed.text(),
            r#"{"code":200,"obj":{"session":"redirect-target-session"}}"#
        );
    }
    assert_eq!(server.redirect_target_hits(), 2);
    let stats = raw_exchange(&mut stream, &raw_request("GET", "/_mock/stats", &[], "")).unwrap();
    assert_eq!(json_of(&stats)["redirect_target_hits"], 2);
    assert!(server.sessions().is_empty());

    // From the control API, and through the project's client, which never follows redirects.
    let form = "kind=redirect";
    let headers = [("Content-Length", form.len().to_string())];
    let set = raw_exchange(
        &mut stream,
        &raw_request("POST", "/_mock/fault", &headers, form),
    )
    .unwrap();
    assert_eq!(set.status, 200, "{}", set.text());
    let client = yunxin_ecp::blocking::Client::builder(creds())
        .base_url(server.base_url())
        .max_retries(0)
        .build()
        .unwrap();
    let error = client.start_call(&start_call()).unwrap_err();
    assert!(
        matches!(&error, yunxin_ecp::Error::Response(yunxin_ecp::ResponseError::Protocol(e))
            if e.kind == yunxin_ecp::ProtocolErrorKind::Redirect),
        "{error:?}"
    );
    assert_eq!(server.redirect_target_hits(), 2);
    assert_eq!(server.start_count(), 0);
    server.reset();
    assert_eq!(server.redirect_target_hits(), 0);
}

/// The `Date` header of an answer as a time.
fn date_of(answer: &RawAnswer) -> SystemTime {
    let date = answer.header("Date").expect("a Date header");
    httpdate::parse_http_date(date).unwrap_or_else(|e| panic!("{date}: {e}"))
}

fn seconds_between(a: SystemTime, b: SystemTime) -> i64 {
    match a.duration_since(b) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

#[test]
fn every_answer_has_a_date_and_clock_skew_moves_it_and_the_window() {
    let server = server();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let answers = [
        raw_exchange(&mut stream, &raw_start(&server)).unwrap(),
        raw_exchange(&mut stream, &raw_request("GET", "/_mock/stats", &[], "")).unwrap(),
        raw_exchange(&mut stream, &raw_request("GET", "/nowhere", &[], "")).unwrap(),
        raw_exchange(
            &mut stream,
            &raw_request("GET", "/call/ecp/startcall.action", &[], ""),
        )
        .unwrap(),
    ];
    for answer in &answers {
        let skew = seconds_between(date_of(answer), SystemTime::now());
        assert!(skew.abs() <= 2, "{skew}");
    }

    let skewed = MockServer::start(MockConfig {
        clock_skew: -3600,
        ..MockConfig::default()
    })
    .unwrap();
    let mut stream = TcpStream::connect(skewed.addr()).unwrap();
    // Signed by a client whose clock is right: the mock, an hour behind, refuses it...
    let on_time = raw_exchange(&mut stream, &raw_start(&skewed)).unwrap();
    let skew = seconds_between(date_of(&on_time), SystemTime::now());
    assert!((-3602..=-3598).contains(&skew), "{skew}");
    assert_eq!(on_time.text(), r#"{"desc":"bad http header","code":414}"#);
    assert_eq!(
        skewed.requests().pop().unwrap().refusal.as_deref(),
        Some("outside_window")
    );
    // ...and accepts one signed by a client that is an hour behind too.
    let mut headers = auth_headers("abc123", now_secs() - 3600);
    let body = start_call().form_body();
    headers.push(("Content-Length", body.len().to_string()));
    let late = raw_exchange(
        &mut stream,
        &raw_request("POST", "/call/ecp/startcall.action", &headers, &body),
    )
    .unwrap();
    session_of(&late.text());

    // A pinned clock shows in the Date too: the clock the signatures are checked against.
    let pinned = MockServer::start(MockConfig {
        fixed_clock_secs: Some(1_440_570_500),
        clock_skew: 10,
        ..MockConfig::default()
    })
    .unwrap();
    let mut stream = TcpStream::connect(pinned.addr()).unwrap();
    let answer = raw_exchange(&mut stream, &raw_request("GET", "/_mock", &[], "")).unwrap();
    assert_eq!(answer.header("Date"), Some("Wed, 26 Aug 2015 06:28:30 GMT"));
}

// ---- 6. what a hostile client tried next ---------------------------------------------------

#[test]
fn requests_sleeping_in_a_delay_make_room_once_every_slot_is_taken() {
    let cap = 4;
    let server = MockServer::start(MockConfig {
        max_connections: cap,
        ..MockConfig::default()
    })
    .unwrap();
    // Requests delayed for a minute, whose clients then leave: without eviction their threads
    // would hold every slot for that minute, control API included.
    server.inject_fault(Fault::Delay(Duration::from_secs(60)), cap);
    for _ in 0..cap {
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        stream.write_all(&raw_query(&server)).unwrap();
    }
    assert!(wait_until(Duration::from_secs(10), || server
        .stats()
        .faults_pending
        == 0));
    let mut statuses = Vec::new();
    let served = wait_until(Duration::from_secs(10), || {
        let (answer, _) =
            timed_exchange(server.addr(), &raw_request("GET", "/_mock/stats", &[], ""));
        statuses.push(answer.status);
        answer.status == 200
    });
    let busy = statuses.iter().filter(|s| **s == 503).count();
    assert!(served, "{busy} answers of 503 and no other");
    assert!(server.stats().evicted_connections >= 1);
    // The delayed request that made room was never handled, and is recorded as unanswered.
    assert!(wait_until(Duration::from_secs(5), || !server
        .requests()
        .is_empty()));
    let recorded = server.requests().pop().unwrap();
    assert_eq!(recorded.fault, Some(Fault::Delay(Duration::from_secs(60))));
    assert_eq!((recorded.http_status, recorded.code), (None, None));
    let t = Instant::now();
    server.stop();
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_head_request_is_answered_without_a_body() {
    let server = server();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    // Two pipelined requests: a body after the first answer would be read as the second.
    stream
        .write_all(b"HEAD /_mock/stats HTTP/1.1\r\n\r\nHEAD /nowhere HTTP/1.1\r\n\r\nGET /_mock HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).unwrap();
    let text = String::from_utf8_lossy(&received);
    let answers: Vec<&str> = text.split("HTTP/1.1 ").skip(1).collect();
    assert_eq!(answers.len(), 3, "{text}");
    assert!(
        answers[0].starts_with("405 ") && answers[0].ends_with("\r\n\r\n"),
        "{text}"
    );
    assert!(answers[0].contains("Content-Length: "), "{text}");
    assert!(
        answers[1].starts_with("404 ") && answers[1].ends_with("\r\n\r\n"),
        "{text}"
    );
    assert!(
        answers[2].starts_with("200 ") && answers[2].contains(r#""routes""#),
        "{text}"
    );
}

/// POSTs a form to a control route over `stream`; the status and the JSON answer.
fn control_post(stream: &mut TcpStream, route: &str, form: &str) -> (u16, Value) {
    let headers = [("Content-Length", form.len().to_string())];
    let answer = raw_exchange(stream, &raw_request("POST", route, &headers, form)).unwrap();
    (answer.status, json_of(&answer))
}

#[test]
fn the_control_api_cannot_be_grown_without_bound() {
    let server = server();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    // Queued faults: a thousand entries, then a refusal until they are cleared.
    for _ in 0..1000 {
        let (status, _) = control_post(&mut stream, "/_mock/fault", "kind=html_502");
        assert_eq!(status, 200);
    }
    let (status, body) = control_post(&mut stream, "/_mock/fault", "kind=html_502");
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("faults"), "{body}");
    assert_eq!(server.stats().faults_pending, 1000);
    control_post(&mut stream, "/_mock/faults/clear", "");
    assert_eq!(
        control_post(&mut stream, "/_mock/fault", "kind=html_502").0,
        200
    );

    // Outcomes: numbers and hang causes of a sane length, and a bounded count.
    let long_number = format!("number={}&duration_sec=1", "1".repeat(60_000));
    let long_cause = format!("number=1&hang_cause={}", "X".repeat(65));
    for form in [long_number.as_str(), long_cause.as_str()] {
        let (status, body) = control_post(&mut stream, "/_mock/outcome", form);
        assert_eq!(status, 400, "{body}");
    }
    for i in 0..10_000 {
        let form = format!("number=1{i:010}&duration_sec=1");
        assert_eq!(control_post(&mut stream, "/_mock/outcome", &form).0, 200);
    }
    let (status, body) = control_post(&mut stream, "/_mock/outcome", "number=2&duration_sec=1");
    assert_eq!(status, 400, "{body}");
    // A number already set can still be changed.
    let form = "number=10000000000&hang_cause=USER_BUSY";
    assert_eq!(control_post(&mut stream, "/_mock/outcome", form).0, 200);

    // The callback URL: http or https, of a sane length.
    let long_url = format!("url=http://127.0.0.1/{}", "a".repeat(3000));
    for form in [
        "url=file:///etc/passwd",
        "url=gopher://x/",
        long_url.as_str(),
    ] {
        let (status, body) = control_post(&mut stream, "/_mock/callback_url", form);
        assert_eq!(status, 400, "{form}: {body}");
    }
    let form = "url=http://127.0.0.1:9/cb";
    assert_eq!(
        control_post(&mut stream, "/_mock/callback_url", form).0,
        200
    );
    assert_eq!(
        control_post(&mut stream, "/_mock/callback_url", "url=").0,
        200
    );
}

#[test]
fn readers_that_do_not_read_hold_no_copy_of_a_full_log() {
    let _alone = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let server = server();
    flood(server.addr(), "/_mock/inbox", 300, 60_000, 200);
    let before = rss_mib();
    // Readers that ask for the whole inbox (16 MiB of JSON) and never read the answer.
    let readers: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut stream = TcpStream::connect(server.addr()).unwrap();
            stream
                .write_all(b"GET /_mock/inbox HTTP/1.1\r\n\r\n")
                .unwrap();
            stream
        })
        .collect();
    // Each has begun to receive its answer, so the mock is holding whatever it needs to
    // finish it.
    for stream in &readers {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut byte = [0u8; 1];
        let peeked = loop {
            match stream.peek(&mut byte) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other.unwrap(),
            }
        };
        assert_eq!(peeked, 1);
    }
    let after = rss_mib();
    println!(
        "8 readers of a 16 MiB inbox that do not read: RSS {} MiB before, {} MiB after",
        before.map_or("?".into(), |m| format!("{m:.0}")),
        after.map_or("?".into(), |m| format!("{m:.0}")),
    );
    if let (Some(before), Some(after)) = (before, after) {
        assert!(
            after - before < 100.0,
            "RSS grew by {:.0} MiB",
            after - before
        );
    }
    // The answer is whole and exact when read.
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let answer = raw_exchange(&mut stream, &raw_request("GET", "/_mock/inbox", &[], "")).unwrap();
    let inbox: Vec<Value> = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(inbox.len(), server.inbox().len());
    drop(readers);
}
