//! No request bytes make the server panic: random and mutated requests, on the API and control
//! routes, are answered or dropped, and the server keeps serving. Alone in its test binary
//! because it installs a process-wide panic hook to count panics in the server's threads.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use yunxin_ecp::StartConf;

/// A small deterministic generator (xorshift64*), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_and_mutated_requests_never_panic_the_server() {
    let panics = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&panics);
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counter.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));

    let server = server();
    let conf = StartConf::new(
        "liuxuanlin",
        "13777777777",
        ["13888888888", "13666666666"],
        100,
    )
    .unwrap();
    let prepared = prepare(&server, &conf);
    let mut headers = prepared.headers.clone();
    headers.push(("Content-Length", prepared.body.len().to_string()));
    let valid = raw_request(
        "POST",
        "/call/ecp/startconf.action",
        &headers,
        &prepared.body,
    );
    let control =
        b"POST /_mock/fault?kind=oversized&bytes=12&times=1 HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
            .to_vec();
    let samples = [valid.clone(), control];

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..300 {
        let mut bytes = samples[round % 2].clone();
        match rng.below(5) {
            // Random bytes.
            0 => bytes = (0..rng.below(512)).map(|_| rng.next() as u8).collect(),
            // Flipped bytes anywhere, the head included.
            1 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(bytes.len());
                    bytes[i] = rng.next() as u8;
                }
            }
            // Cut short.
            2 => bytes.truncate(rng.below(bytes.len())),
            // Junk spliced in.
            3 => {
                let at = rng.below(bytes.len());
                let junk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
                bytes.splice(at..at, junk);
            }
            // Percent signs and quotes in the form.
            _ => bytes.extend_from_slice(b"&callee=%ZZ%%['\"\xff\xfe&maxDur=%00"),
        }
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let _ = stream.write_all(&bytes);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut sink = Vec::new();
        let t = std::time::Instant::now();
        let r = stream.read_to_end(&mut sink);
        if t.elapsed() > Duration::from_millis(50) {
            eprintln!(
                "slow round {round}: {:?} {:?} {:?}",
                t.elapsed(),
                r,
                String::from_utf8_lossy(&bytes[..bytes.len().min(120)])
            );
        }
    }

    // Still serving, and every recorded request serializes.
    server.clear_faults();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let answer = raw_exchange(&mut stream, &valid).unwrap();
    assert_eq!(answer.status, 200);
    serde_json::to_string(&server.requests()).unwrap();
    assert!(server.stats().connections >= 301);

    // Durations too long to represent: the request waits until the server stops, which is prompt.
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(b"POST /_mock/fault?kind=delay&ms=18446744073709551615 HTTP/1.1\r\n\r\n")
        .unwrap();
    read_response(&mut stream, &mut Vec::new()).unwrap();
    server.inject_fault(yunxin_ecp_mock::Fault::Delay(Duration::MAX), 1);
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    stream.write_all(&valid).unwrap();
    let mut byte = [0u8; 1];
    assert!(stream.read(&mut byte).is_err(), "still delayed");
    let t = std::time::Instant::now();
    server.stop();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(panics.load(Ordering::SeqCst), 0);
    let _ = std::panic::take_hook();
}
