//! Helpers shared by the mock's integration tests: signing and sending requests with ureq or a
//! raw socket, and a tiny callback receiver. Only 127.0.0.1 is ever contacted.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use yunxin_ecp::{BaseUrl, Credentials, EcpRequest, PreparedRequest};
use yunxin_ecp_mock::{MockConfig, MockServer, SAMPLE_APP_KEY, SAMPLE_APP_SECRET};

/// The samples' app, which the default mock accepts.
pub fn creds() -> Credentials {
    Credentials::new(SAMPLE_APP_KEY, SAMPLE_APP_SECRET).unwrap()
}

pub fn server() -> MockServer {
    MockServer::start(MockConfig::default()).unwrap()
}

pub fn base(server: &MockServer) -> BaseUrl {
    BaseUrl::new(&server.base_url()).unwrap()
}

/// An agent that reports every status as a response and ignores proxy variables.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// Signs `request` now and prepares it for `server`.
pub fn prepare<R: EcpRequest>(server: &MockServer, request: &R) -> PreparedRequest {
    request.prepare(&base(server), &creds().sign_now().unwrap())
}

/// Sends a prepared request; returns the HTTP status and the body text.
pub fn send_with(
    agent: &ureq::Agent,
    prepared: &PreparedRequest,
) -> Result<(u16, String), ureq::Error> {
    let mut request = agent.post(&prepared.url);
    for (name, value) in &prepared.headers {
        request = request.header(*name, value.as_str());
    }
    let mut response = request.send(prepared.body.as_str())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()?;
    Ok((status, body))
}

pub fn send(prepared: &PreparedRequest) -> Result<(u16, String), ureq::Error> {
    send_with(&agent(), prepared)
}

/// Signs and sends a request, expecting an HTTP answer.
pub fn call<R: EcpRequest>(server: &MockServer, request: &R) -> (u16, String) {
    send(&prepare(server, request)).unwrap()
}

/// The session id of a start answer.
pub fn session_of(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["obj"]["session"].as_str().unwrap().to_owned()
}

/// A raw HTTP exchange's outcome.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawAnswer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Writes `request` bytes and reads one response framed by Content-Length.
pub fn raw_exchange(stream: &mut TcpStream, request: &[u8]) -> io::Result<RawAnswer> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request)?;
    read_response(stream, &mut Vec::new())
}

/// Parsed headers as owned pairs, and the body length their `Content-Length` gives (0 without).
fn owned_head(headers: &[httparse::Header<'_>]) -> (Vec<(String, String)>, usize) {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    (headers, length)
}

/// Reads one response from `stream`, keeping bytes past its end in `buf` for the next one.
pub fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<RawAnswer> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head_len) = response
            .parse(buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
        {
            let status = response.code.unwrap_or(0);
            let (headers, length) = owned_head(response.headers);
            while buf.len() < head_len + length {
                fill(stream, buf, deadline)?;
            }
            let body = buf[head_len..head_len + length].to_vec();
            buf.drain(..head_len + length);
            return Ok(RawAnswer {
                status,
                headers,
                body,
            });
        }
        fill(stream, buf, deadline)?;
    }
}

fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> io::Result<()> {
    assert!(Instant::now() < deadline, "no response in time");
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk)?;
    if n == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

/// A raw request with the given head lines (without the request line) and body.
pub fn raw_request(method: &str, target: &str, headers: &[(&str, String)], body: &str) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

/// The four auth headers for `nonce`, signed at `cur_time` with the samples' secret, without the
/// core's client-side checks (so that tests can send what a buggy client sends).
pub fn auth_headers(nonce: &str, cur_time: u64) -> Vec<(&'static str, String)> {
    let cur_time = cur_time.to_string();
    vec![
        ("AppKey", SAMPLE_APP_KEY.to_owned()),
        ("Nonce", nonce.to_owned()),
        ("CurTime", cur_time.clone()),
        (
            "CheckSum",
            yunxin_ecp::checksum(SAMPLE_APP_SECRET, nonce, &cur_time).into(),
        ),
    ]
}

pub fn now_secs() -> u64 {
    yunxin_ecp::signing::unix_seconds_now()
}

/// One callback as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A local HTTP server that answers every POST with 200 and hands over what it received.
pub struct Receiver200 {
    pub url: String,
    pub received: Receiver<Received>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver200 {
    pub fn start() -> Receiver200 {
        Receiver200::start_answering(200)
    }

    /// A receiver that answers every callback with `status`.
    pub fn start_answering(status: u16) -> Receiver200 {
        Receiver200::start_replying(status, "success")
    }

    /// A receiver that answers every callback with `status` and `body`.
    pub fn start_replying(status: u16, body: &str) -> Receiver200 {
        let body = body.to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut connections = Vec::new();
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let tx = tx.clone();
                        let flag = Arc::clone(&flag);
                        let body = body.clone();
                        connections.push(thread::spawn(move || {
                            serve_callbacks(stream, tx, flag, status, &body)
                        }));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
            for c in connections {
                let _ = c.join();
            }
        });
        Receiver200 {
            url: format!("http://{addr}/yunxin/callback"),
            received: rx,
            stop,
            thread: Some(thread),
        }
    }

    /// Waits for the next callback.
    pub fn next(&self) -> Received {
        self.received
            .recv_timeout(Duration::from_secs(10))
            .expect("a callback within 10 s")
    }
}

impl Drop for Receiver200 {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves kept-alive callback POSTs on one connection.
fn serve_callbacks(
    mut stream: TcpStream,
    tx: mpsc::Sender<Received>,
    stop: Arc<AtomicBool>,
    status: u16,
    answer_body: &str,
) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut buf = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(head_len)) = request.parse(&buf) {
            let (headers, length) = owned_head(request.headers);
            if buf.len() >= head_len + length {
                let body = buf[head_len..head_len + length].to_vec();
                buf.drain(..head_len + length);
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n{answer_body}",
                    answer_body.len()
                );
                if stream.write_all(answer.as_bytes()).is_err() {
                    return;
                }
                let _ = tx.send(Received { headers, body });
                continue;
            }
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}
