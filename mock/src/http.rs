//! Just enough HTTP/1.1 for API clients: request heads parsed by `httparse`, bodies framed by
//! `Content-Length`, keep-alive, and the deliberate misbehaviour faults need (a TCP reset, a body
//! cut in half). One [`Connection`] per accepted socket, served by its own thread.
//!
//! Every wait is bounded and wakes at least every [`POLL`] to notice that the server is
//! stopping, so a stopped server never leaves a thread behind. Each connection also publishes
//! what it is doing in a [`Watch`], so that the listener can close an idle or stalled one when
//! every slot is taken, instead of turning a new client away.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use serde::Serialize;
use socket2::SockRef;

use crate::state::Shared;
use crate::watch::{Evicted, POLL, Phase, Watch};
pub(crate) use crate::watch::{Slot, is_poll_expiry};

/// Longest request head accepted (request line and headers), complete or not: what the
/// documentation promises, and far more than an ECP request needs.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most headers accepted in one request.
const MAX_HEADERS: usize = 64;
/// Pause between the half body of a reset-mid-body fault and the reset, so that the bytes reach
/// the client before the reset does.
const HALF_BODY_PAUSE: Duration = Duration::from_millis(50);
/// Size of the chunks a padded body is written in.
const PAD_CHUNK: usize = 64 * 1024;

/// One parsed request.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The client asked to close the connection after this request.
    pub(crate) close: bool,
    /// The address the client connected to, for answers that point back at the mock.
    pub(crate) local: Option<SocketAddr>,
}

impl Request {
    /// The headers as `(&str, &str)` pairs, for the core's verifiers.
    pub(crate) fn header_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// A response body: bytes, or bytes with a long run of padding written in chunks so that an
/// oversized body is never held in memory whole, or JSON serialized straight to the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    Bytes(Vec<u8>),
    Padded {
        prefix: Vec<u8>,
        pad_len: usize,
        suffix: Vec<u8>,
    },
    Streamed(Streamed),
}

impl Body {
    fn len(&self) -> usize {
        match self {
            Body::Bytes(b) => b.len(),
            Body::Padded {
                prefix,
                pad_len,
                suffix,
            } => prefix.len() + pad_len + suffix.len(),
            Body::Streamed(streamed) => streamed.len,
        }
    }
}

/// Writes a body to any writer, the same bytes every time.
type WriteBody = dyn Fn(&mut dyn Write) -> io::Result<()> + Send + Sync;

/// A large answer (a full log) serialized twice from one immutable snapshot: once into a
/// counter for its `Content-Length`, once into the socket. Building it in memory instead would
/// let every client that asks and then does not read hold a copy of the log.
#[derive(Clone)]
pub(crate) struct Streamed {
    len: usize,
    write: Arc<WriteBody>,
}

impl Streamed {
    pub(crate) fn new(
        write: impl Fn(&mut dyn Write) -> io::Result<()> + Send + Sync + 'static,
    ) -> Self {
        let mut counter = Counter(0);
        // Counting cannot fail, and serializing strings and numbers does not either.
        let _ = write(&mut counter);
        Streamed {
            len: counter.0,
            write: Arc::new(write),
        }
    }
}

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streamed").field("len", &self.len).finish()
    }
}

impl PartialEq for Streamed {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.write, &other.write)
    }
}

impl Eq for Streamed {}

/// A writer that only counts.
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Buffers a streamed body into [`PAD_CHUNK`]-sized writes to the connection, counting them.
struct SocketSink<'c> {
    connection: &'c mut Connection,
    buf: Vec<u8>,
    written: usize,
}

impl Write for SocketSink<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= PAD_CHUNK {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.connection.write_all(&self.buf)?;
        self.written += self.buf.len();
        self.buf.clear();
        Ok(())
    }
}

/// A response to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) extra_headers: Vec<(&'static str, String)>,
    pub(crate) body: Body,
    /// Close the connection after writing.
    pub(crate) close: bool,
}

/// The content type of every JSON answer, as the service writes it.
pub(crate) const JSON: &str = "application/json;charset=utf-8";

impl Response {
    /// A JSON answer.
    pub(crate) fn json(status: u16, body: impl Into<String>) -> Response {
        Response::new(status, JSON, body.into().into_bytes())
    }

    /// A JSON array of shared entries, serialized while it is written (see [`Streamed`]).
    pub(crate) fn json_array<T: Serialize + Send + Sync + 'static>(
        entries: Vec<Arc<T>>,
    ) -> Response {
        let streamed = Streamed::new(move |out| {
            let refs: Vec<&T> = entries.iter().map(|e| &**e).collect();
            serde_json::to_writer(out, &refs).map_err(io::Error::other)
        });
        Response {
            status: 200,
            content_type: JSON,
            extra_headers: Vec::new(),
            body: Body::Streamed(streamed),
            close: false,
        }
    }

    /// A JSON array of shared entries, each serialized as `view` shows it, while it is written:
    /// the view is built one entry at a time, so no reader holds a copy of the whole log.
    pub(crate) fn json_array_of<T, V>(
        entries: Vec<Arc<T>>,
        view: impl Fn(&T) -> V + Send + Sync + 'static,
    ) -> Response
    where
        T: Send + Sync + 'static,
        V: Serialize,
    {
        /// The views of the entries, made as the serializer asks for them.
        struct Views<'a, T, F>(&'a [Arc<T>], &'a F);
        impl<T, V: Serialize, F: Fn(&T) -> V> Serialize for Views<'_, T, F> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().map(|e| (self.1)(e)))
            }
        }
        let streamed = Streamed::new(move |out| {
            serde_json::to_writer(out, &Views(&entries, &view)).map_err(io::Error::other)
        });
        Response {
            status: 200,
            content_type: JSON,
            extra_headers: Vec::new(),
            body: Body::Streamed(streamed),
            close: false,
        }
    }

    /// A plain-text answer for HTTP-level problems (bad framing, unknown path).
    pub(crate) fn text(status: u16, body: &str) -> Response {
        Response::new(status, "text/plain;charset=utf-8", body.as_bytes().to_vec())
    }

    /// A response with the given content type and body.
    pub(crate) fn new(status: u16, content_type: &'static str, body: Vec<u8>) -> Response {
        Response {
            status,
            content_type,
            extra_headers: Vec::new(),
            body: Body::Bytes(body),
            close: false,
        }
    }

    /// Closes the connection after this response.
    pub(crate) fn closing(mut self) -> Response {
        self.close = true;
        self
    }

    /// The status line and headers. `date` is the `Date` header, sent with every answer as
    /// the real gateway does, so that clients can measure their clock against the mock's.
    fn head(&self, close: bool, date: &str) -> String {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nDate: {date}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len(),
            if close { "close" } else { "keep-alive" }
        );
        for (name, value) in &self.extra_headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head
    }

    /// The whole answer as bytes, for a small answer written in one go (a padded body is
    /// written as its head alone).
    pub(crate) fn encode(&self, close: bool, date: &str) -> Vec<u8> {
        let head = self.head(close, date);
        match &self.body {
            Body::Bytes(bytes) => [head.as_bytes(), bytes].concat(),
            Body::Padded { .. } | Body::Streamed(_) => head.into_bytes(),
        }
    }
}

/// The answer to a request head over [`MAX_HEAD_BYTES`] or with too many headers. JSON, like
/// every answer of the gateway; its code is 414 ("bad http header"), never retried, rather
/// than 431, which in the service's code table means "duplicate request, may have succeeded".
fn head_too_large() -> Response {
    Response::json(431, r#"{"code":414,"desc":"request head too large"}"#)
}

/// The reason phrase of the statuses the mock writes.
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// What reading the next request gave.
pub(crate) enum Incoming {
    /// A complete request.
    Request(Request),
    /// The client closed the connection, it stayed idle too long, or the server is stopping.
    Closed,
    /// The bytes are not an acceptable request: answer this, then close.
    Refused(Response),
}

/// A request head, copied out of the read buffer.
#[derive(Debug)]
struct Head {
    method: String,
    target: String,
    version: u8,
    headers: Vec<(String, String)>,
    len: usize,
}

/// Parses a complete request head at the start of `buf`; `Ok(None)` when more bytes are needed.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, Response> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len > MAX_HEAD_BYTES => Err(head_too_large()),
        Ok(httparse::Status::Complete(len)) => Ok(Some(Head {
            method: req.method.unwrap_or_default().to_owned(),
            target: req.path.unwrap_or_default().to_owned(),
            version: req.version.unwrap_or(1),
            headers: req
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect(),
            len,
        })),
        // Everything buffered belongs to the unfinished head.
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => Err(head_too_large()),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(head_too_large()),
        Err(e) => Err(Response::text(400, &format!("malformed request: {e}"))),
    }
}

/// Splits a request target into path and query, accepting the absolute form
/// (`http://host/path?query`) that proxies send.
fn split_target(target: &str) -> (String, String) {
    let origin = ["http://", "https://"]
        .iter()
        .find_map(|scheme| target.strip_prefix(scheme))
        .map(|rest| rest.find('/').map_or("/", |i| &rest[i..]))
        .unwrap_or(target);
    match origin.split_once('?') {
        Some((path, query)) => (path.to_owned(), query.to_owned()),
        None => (origin.to_owned(), String::new()),
    }
}

/// Whether a comma-separated header value holds `token`, case-insensitively.
fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The body length a head announces: `Content-Length`, or none (an empty body, RFC 9112 6.3).
/// Chunked bodies are refused with 411 so that the client resends with a length.
fn body_length(head: &Head, max_body: usize) -> Result<usize, Response> {
    fn named<'h>(head: &'h Head, name: &'static str) -> impl Iterator<Item = &'h str> {
        head.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    if named(head, "Transfer-Encoding").next().is_some() {
        return Err(Response::text(
            411,
            "chunked or encoded bodies are not accepted: send Content-Length",
        ));
    }
    let mut length: Option<usize> = None;
    for value in named(head, "Content-Length").flat_map(|v| v.split(',')) {
        let value = value.trim();
        let parsed = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
            .then(|| value.parse::<usize>().ok())
            .flatten()
            .ok_or_else(|| Response::text(400, "invalid Content-Length"))?;
        if length.is_some_and(|l| l != parsed) {
            return Err(Response::text(400, "conflicting Content-Length headers"));
        }
        length = Some(parsed);
    }
    let length = length.unwrap_or(0);
    if length > max_body {
        return Err(Response::text(
            413,
            &format!("body of {length} bytes is over the {max_body}-byte limit"),
        ));
    }
    Ok(length)
}

/// What one read from the socket gave.
enum Fill {
    /// Bytes were added to the buffer.
    Data,
    /// The poll interval passed without a byte.
    Nothing,
    /// The client closed its side, or the socket failed.
    End,
}

/// One client connection.
pub(crate) struct Connection {
    watch: Arc<Watch>,
    buf: Vec<u8>,
    shared: Arc<Shared>,
    local: Option<SocketAddr>,
    /// Requests read so far: the first one has its own (first-byte) deadline.
    served: u64,
    /// When the answer being written must be out (see [`Self::begin_answer`]).
    answer_deadline: Option<Instant>,
}

impl Connection {
    /// Prepares an accepted socket: blocking with a short read timeout (to poll for shutdown)
    /// and no Nagle delay (small answers must not wait for an ACK on a kept-alive connection).
    /// Returns the watch the listener keeps.
    pub(crate) fn new(stream: TcpStream, shared: Arc<Shared>) -> io::Result<Connection> {
        stream.set_nonblocking(false)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(POLL))?;
        stream.set_write_timeout(Some(POLL))?;
        let local = stream.local_addr().ok();
        let watch = Arc::new(Watch {
            stream,
            word: AtomicU64::new(Watch::pack(Phase::Busy, shared.now_ms())),
        });
        Ok(Connection {
            watch,
            buf: Vec::new(),
            shared,
            local,
            served: 0,
            answer_deadline: None,
        })
    }

    /// What the listener keeps to watch and, if need be, close this connection.
    pub(crate) fn watch(&self) -> Weak<Watch> {
        Arc::downgrade(&self.watch)
    }

    /// The state shared with the rest of the server.
    pub(crate) fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    fn stream(&self) -> &TcpStream {
        &self.watch.stream
    }

    fn set_phase(&self, phase: Phase) -> Result<(), Evicted> {
        self.watch.set(phase, self.shared.now_ms())
    }

    /// Reads bytes into the buffer.
    fn fill(&mut self) -> Fill {
        let mut chunk = [0u8; 8192];
        match self.stream().read(&mut chunk) {
            Ok(0) => Fill::End,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Fill::Data
            }
            Err(e) if is_poll_expiry(&e) => Fill::Nothing,
            Err(_) => Fill::End,
        }
    }

    /// Reads the next request, waiting up to the first-byte timeout (first request) or the
    /// idle timeout (the next ones) for it to begin, and up to the request timeout for the
    /// rest of it.
    pub(crate) fn read_request(&mut self) -> Incoming {
        let waiting_since = Instant::now();
        let config = &self.shared.config;
        let patience = if self.served == 0 {
            config.first_byte_timeout
        } else {
            config.idle_timeout
        };
        let idle_from = self.shared.now_ms();
        let mut idle = false;
        let mut started: Option<Instant> = None;
        let head = loop {
            // Empty lines between requests are ignored (RFC 9112 2.2); the PHP sample sends
            // one after its body.
            let blank = self
                .buf
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            self.buf.drain(..blank);
            if !self.buf.is_empty() {
                match parse_head(&self.buf) {
                    Ok(Some(head)) => break head,
                    Ok(None) => {}
                    Err(refusal) => return Incoming::Refused(refusal.closing()),
                }
                started.get_or_insert_with(Instant::now);
            }
            if let Some(outcome) = self.check_waiting(waiting_since, patience, started) {
                return outcome;
            }
            let progress = match self.fill() {
                Fill::Data if !self.buf.is_empty() => self.set_phase(Phase::Reading),
                Fill::Nothing if self.buf.is_empty() && !idle => {
                    idle = true;
                    self.watch.set(Phase::Idle, idle_from)
                }
                Fill::Data | Fill::Nothing => Ok(()),
                Fill::End => return Incoming::Closed,
            };
            if progress.is_err() {
                return Incoming::Closed;
            }
        };
        let started = started.unwrap_or_else(Instant::now);
        let length = match body_length(&head, self.shared.config.max_body_bytes) {
            Ok(length) => length,
            Err(refusal) => return Incoming::Refused(refusal.closing()),
        };
        let expects_continue = head
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("Expect") && has_token(v, "100-continue"));
        if expects_continue && self.buf.len() < head.len + length {
            self.begin_answer();
            if self.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
                return Incoming::Closed;
            }
        }
        while self.buf.len() < head.len + length {
            if let Some(outcome) = self.check_waiting(waiting_since, patience, Some(started)) {
                return outcome;
            }
            match self.fill() {
                Fill::Data => {
                    if self.set_phase(Phase::Reading).is_err() {
                        return Incoming::Closed;
                    }
                }
                Fill::Nothing => {}
                Fill::End => return Incoming::Closed,
            }
        }
        if self.set_phase(Phase::Busy).is_err() {
            return Incoming::Closed;
        }
        self.served += 1;
        let body = self.buf[head.len..head.len + length].to_vec();
        self.buf.drain(..head.len + length);

        let connection = head
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("Connection"))
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let close = if head.version == 0 {
            !has_token(&connection, "keep-alive")
        } else {
            has_token(&connection, "close")
        };
        let (path, query) = split_target(&head.target);
        Incoming::Request(Request {
            method: head.method,
            path,
            query,
            headers: head.headers,
            body,
            close,
            local: self.local,
        })
    }

    /// Ends a wait when the server stops, the listener closed the connection, the connection
    /// waited `patience` for a request to begin, or a begun request took too long.
    fn check_waiting(
        &self,
        waiting_since: Instant,
        patience: Duration,
        started: Option<Instant>,
    ) -> Option<Incoming> {
        if self.shared.stopping() || self.watch.evicted() {
            return Some(Incoming::Closed);
        }
        match started {
            Some(t) if t.elapsed() > self.shared.config.request_timeout => Some(Incoming::Refused(
                Response::text(408, "request not received in time").closing(),
            )),
            None if waiting_since.elapsed() > patience => Some(Incoming::Closed),
            _ => None,
        }
    }

    /// Starts the clock of an answer: it must be taken whole within the request timeout. A
    /// limit on the time without progress alone would let a client that reads a few bytes at a
    /// time hold the connection and its thread for as long as the answer lasts (hours, for an
    /// `oversized` fault or a full log).
    fn begin_answer(&mut self) {
        self.answer_deadline = Instant::now().checked_add(self.shared.config.request_timeout);
    }

    /// Writes all of `bytes`, retrying on the poll timeout until the server stops, the
    /// listener closes the connection, or the answer's time (see [`Self::begin_answer`]) is up.
    fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        let overdue = |deadline: Option<Instant>| deadline.is_some_and(|d| Instant::now() > d);
        while !bytes.is_empty() {
            match self.stream().write(bytes) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    bytes = &bytes[n..];
                    if self.set_phase(Phase::Writing).is_err() {
                        return Err(io::ErrorKind::ConnectionAborted.into());
                    }
                    if !bytes.is_empty() && overdue(self.answer_deadline) {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                }
                Err(e) if is_poll_expiry(&e) => {
                    if self.shared.stopping()
                        || self.watch.evicted()
                        || overdue(self.answer_deadline)
                    {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Holds the request for `duration` (latency, a `delay` fault), waking early when the
    /// server stops. `false` when the listener closed the connection meanwhile: the request is
    /// then dropped unhandled.
    pub(crate) fn pause(&self, duration: Duration) -> bool {
        const SLICE: Duration = Duration::from_millis(25);
        if duration.is_zero() {
            return true;
        }
        if self.set_phase(Phase::Sleeping).is_err() {
            return false;
        }
        // A duration too long to represent lasts until the server stops.
        let deadline = Instant::now().checked_add(duration);
        while !self.shared.stopping() {
            if self.watch.evicted() {
                return false;
            }
            let left = deadline.map_or(SLICE, |d| d.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(SLICE));
        }
        self.set_phase(Phase::Busy).is_ok()
    }

    /// Writes a whole response. `close` is announced in the `Connection` header. The answer to
    /// a `HEAD` request is the head alone (RFC 9110 9.3.2): a body there would be read as the
    /// next answer on the connection.
    pub(crate) fn send(
        &mut self,
        response: &Response,
        close: bool,
        head_only: bool,
    ) -> io::Result<()> {
        if self.set_phase(Phase::Writing).is_err() {
            return Err(io::ErrorKind::ConnectionAborted.into());
        }
        self.begin_answer();
        let date = self.shared.http_date();
        if head_only {
            self.write_all(response.head(close, &date).as_bytes())?;
            self.stream().flush()?;
            return self
                .set_phase(Phase::Busy)
                .map_err(|_| io::ErrorKind::ConnectionAborted.into());
        }
        match &response.body {
            // Head and body in one write: one segment for a small answer, not two.
            Body::Bytes(_) => self.write_all(&response.encode(close, &date))?,
            Body::Padded {
                prefix,
                pad_len,
                suffix,
            } => {
                self.write_all(response.head(close, &date).as_bytes())?;
                self.write_all(prefix)?;
                let chunk = vec![b'x'; PAD_CHUNK.min(*pad_len)];
                let mut left = *pad_len;
                while left > 0 {
                    let n = left.min(chunk.len());
                    self.write_all(&chunk[..n])?;
                    left -= n;
                }
                self.write_all(suffix)?;
            }
            Body::Streamed(streamed) => {
                self.write_all(response.head(close, &date).as_bytes())?;
                let mut sink = SocketSink {
                    connection: self,
                    buf: Vec::with_capacity(PAD_CHUNK),
                    written: 0,
                };
                (streamed.write)(&mut sink)?;
                sink.flush()?;
                // The snapshot is immutable, so this cannot happen; if it did, the framing would
                // be wrong and the connection must not be reused.
                if sink.written != streamed.len {
                    return Err(io::ErrorKind::InvalidData.into());
                }
            }
        }
        self.stream().flush()?;
        self.set_phase(Phase::Busy)
            .map_err(|_| io::ErrorKind::ConnectionAborted.into())
    }

    /// Writes the head and the first half of the body, then resets the connection.
    pub(crate) fn send_half_then_reset(mut self, response: &Response) {
        let body = match &response.body {
            Body::Bytes(bytes) => bytes.clone(),
            Body::Padded { prefix, .. } => prefix.clone(),
            Body::Streamed(_) => Vec::new(),
        };
        let head = response.head(false, &self.shared.http_date());
        self.begin_answer();
        if self.write_all(head.as_bytes()).is_ok()
            && self.write_all(&body[..body.len() / 2]).is_ok()
        {
            let _ = self.stream().flush();
            self.shared.sleep(HALF_BODY_PAUSE);
        }
        self.reset();
    }

    /// Closes the connection with a TCP reset (RST) instead of an orderly close: `SO_LINGER`
    /// with a zero timeout makes the close abortive, so the client sees "connection reset".
    pub(crate) fn reset(self) {
        let _ = SockRef::from(self.stream()).set_linger(Some(Duration::ZERO));
        drop(self.watch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            split_target("/a?b=1&c"),
            ("/a".to_owned(), "b=1&c".to_owned())
        );
        assert_eq!(split_target("/a"), ("/a".to_owned(), String::new()));
        assert_eq!(
            split_target("http://h:1/x?y"),
            ("/x".to_owned(), "y".to_owned())
        );
        assert_eq!(split_target("http://h"), ("/".to_owned(), String::new()));
    }

    #[test]
    fn heads_and_lengths() {
        let raw =
            b"POST /p?q HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc";
        let head = parse_head(raw).unwrap().unwrap();
        assert_eq!(
            (head.method.as_str(), head.target.as_str()),
            ("POST", "/p?q")
        );
        assert_eq!(body_length(&head, 10), Ok(3));
        assert_eq!(body_length(&head, 2).unwrap_err().status, 413);
        assert!(parse_head(b"POST / HTTP/1.1\r\nHost").unwrap().is_none());
        assert_eq!(
            parse_head(b"\x00\x01 junk\r\n\r\n").unwrap_err().status,
            400
        );
        for (headers, status) in [
            ("Content-Length: 3\r\nContent-Length: 4", 400),
            ("Content-Length: -1", 400),
            ("Content-Length: +3", 400),
            ("Content-Length: 99999999999999999999999", 400),
            ("Transfer-Encoding: chunked", 411),
        ] {
            let raw = format!("POST / HTTP/1.1\r\n{headers}\r\n\r\n");
            let head = parse_head(raw.as_bytes()).unwrap().unwrap();
            assert_eq!(
                body_length(&head, 100).unwrap_err().status,
                status,
                "{headers}"
            );
        }
        let head = parse_head(b"POST / HTTP/1.1\r\n\r\n").unwrap().unwrap();
        assert_eq!(body_length(&head, 100), Ok(0));
    }
}
