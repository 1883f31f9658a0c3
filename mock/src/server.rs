//! The server: a listener thread that accepts connections, one thread per connection, one
//! callback worker, and the handle tests use to steer and inspect it all.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;
use socket2::SockRef;
use yunxin_ecp::Endpoint;

use crate::api::{self, Reply};
use crate::callbacks::{self, WAIT_STEP};
use crate::config::{MockConfig, Outcome};
use crate::control;
use crate::faults::Fault;
use crate::http::{Connection, Incoming, Response, Slot, is_poll_expiry};
use crate::state::{
    CallbackDelivery, ReceivedCallback, RecordedRequest, Shared, State, Stats, lock,
};

/// How often the listener checks for shutdown while no connection arrives.
const ACCEPT_POLL: Duration = Duration::from_millis(100);
/// The answer to a connection that arrives when every slot is busy: an HTTP answer that a
/// client can report (and, for a start, safely retry: nothing was placed), not a silent close.
const BUSY_BODY: &str = r#"{"code":503,"desc":"mock busy: too many connections"}"#;
/// How long a turned-away connection is kept to read what its client sent. Closing a socket
/// with unread bytes sends a reset, which can destroy the 503 before the client reads it.
const LINGER: Duration = Duration::from_secs(1);
/// Most turned-away connections lingering at once (the oldest is closed first), so that a
/// flood of them costs a bounded number of sockets.
const MAX_LINGERING: usize = 256;
/// How many times the listener looks for a connection to close when every candidate it picks
/// starts working before it can close it.
const EVICTION_ATTEMPTS: usize = 4;

/// A running mock of the ECP API on a local port.
///
/// Stopping it (with [`stop`](Self::stop) or by dropping it) closes the port and joins every
/// thread it started before returning.
///
/// ```
/// use yunxin_ecp_mock::{MockConfig, MockServer};
/// let server = MockServer::start(MockConfig::default())?;
/// assert!(server.base_url().starts_with("http://127.0.0.1:"));
/// server.stop();
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    listener: Option<JoinHandle<()>>,
    worker: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Starts on an ephemeral port of 127.0.0.1, so parallel tests never collide.
    pub fn start(config: MockConfig) -> io::Result<MockServer> {
        MockServer::start_on((Ipv4Addr::LOCALHOST, 0), config)
    }

    /// Starts on a given address (port 0 picks a free one).
    pub fn start_on(addr: impl ToSocketAddrs, config: MockConfig) -> io::Result<MockServer> {
        let listener = TcpListener::bind(addr)?;
        // A blocking accept that gives up every poll interval, so the listener notices shutdown
        // without delaying any connection (stop also wakes it with a connection of its own).
        SockRef::from(&listener).set_read_timeout(Some(ACCEPT_POLL))?;
        let addr = listener.local_addr()?;
        let (jobs, job_queue) = mpsc::channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(&config)),
            config,
            shutdown: Default::default(),
            connections: Mutex::new(Vec::new()),
            connection_count: Default::default(),
            rejected_connections: Default::default(),
            evicted_connections: Default::default(),
            epoch: Instant::now(),
            callback_jobs: Mutex::new(Some(jobs)),
            pending_callbacks: Default::default(),
            dropped_callbacks: Default::default(),
        });
        let worker = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("ecp-mock-callbacks".into())
                .spawn(move || callbacks::run_worker(shared, job_queue))?
        };
        let accepting = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("ecp-mock-listener".into())
                .spawn(move || accept_loop(&listener, &shared))
        };
        let listener = match accepting {
            Ok(handle) => handle,
            Err(e) => {
                shared.shutdown.store(true, Ordering::Release);
                lock(&shared.callback_jobs).take();
                let _ = worker.join();
                return Err(e);
            }
        };
        Ok(MockServer {
            addr,
            shared,
            listener: Some(listener),
            worker: Some(worker),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address a local client connects to: loopback for a server bound to every interface.
    fn local_target(&self) -> SocketAddr {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        SocketAddr::new(ip, self.addr.port())
    }

    /// The base URL to give a client, e.g. `http://127.0.0.1:41234`. A server bound to every
    /// interface is reached through loopback.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_target())
    }

    /// The configuration the server was started with.
    pub fn config(&self) -> &MockConfig {
        &self.shared.config
    }

    /// Stops the server: frees the port and joins every thread (connections notice within
    /// about 100 ms; a callback POST in flight may take up to its timeout).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.shutdown.store(true, Ordering::Release);
        if let Some(listener) = self.listener.take() {
            // Wakes a listener blocked in accept, where the accept timeout is not supported.
            let _ = TcpStream::connect_timeout(&self.local_target(), ACCEPT_POLL);
            let _ = listener.join();
        }
        let connections = std::mem::take(&mut *lock(&self.shared.connections));
        for connection in connections {
            let _ = connection.handle.join();
        }
        lock(&self.shared.callback_jobs).take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }

    /// Decides how calls to `number` end (for a conference, the first callee's number decides).
    pub fn set_outcome(&self, number: &str, outcome: Outcome) {
        self.shared
            .state()
            .outcomes
            .insert(number.to_owned(), outcome);
    }

    /// Decides how calls to numbers without an outcome of their own end.
    pub fn set_default_outcome(&self, outcome: Outcome) {
        self.shared.state().default_outcome = outcome;
    }

    /// Applies `fault` to the next `times` requests to the ECP endpoints, after any faults
    /// already queued.
    pub fn inject_fault(&self, fault: Fault, times: usize) {
        self.shared.state().faults.push(fault, times);
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.shared.state().faults.clear();
    }

    /// Adds `latency` to every ECP request (before any fault), to measure clients under a slow
    /// network; [`Duration::ZERO`] turns it off.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.state().latency = latency;
    }

    /// Where call-end callbacks go from now on; `None` stops them.
    pub fn set_callback_url(&self, url: Option<String>) {
        self.shared.state().callback_url = url;
    }

    /// Turns the ECP service on or off for every app (off: starts get `403 no authorization`).
    pub fn set_ecp_enabled(&self, enabled: bool) {
        self.shared.state().ecp_enabled = enabled;
    }

    /// Every recorded request kept, oldest first (control routes are not recorded; see
    /// [`MockConfig::request_log_limit`] and [`MockConfig::request_log_max_bytes`]).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        let snapshot = self.shared.state().requests.snapshot();
        snapshot.iter().map(|r| RecordedRequest::clone(r)).collect()
    }

    /// How many start requests reached the service handler, whatever their answer. A start
    /// whose connection was reset before the response still counts: the call was placed.
    pub fn start_count(&self) -> u64 {
        self.shared.state().start_count
    }

    /// The record of every placed call and conference, in placement order: the JSON object that
    /// `queryBySession` answers and the callback carries.
    pub fn sessions(&self) -> Vec<Value> {
        let records = self.shared.state().records();
        records.iter().map(|r| Value::clone(r)).collect()
    }

    /// Every callback POST kept, oldest first (see [`MockConfig::callback_log_limit`]), with
    /// the headers as sent, `CheckSum` included: this handle belongs to the process that started
    /// the mock with its apps. `GET /_mock/callbacks`, open to anyone who reaches the port,
    /// redacts it.
    pub fn callbacks(&self) -> Vec<CallbackDelivery> {
        let snapshot = self.shared.state().callbacks.snapshot();
        snapshot
            .iter()
            .map(|c| CallbackDelivery::clone(c))
            .collect()
    }

    /// Waits until at least `count` callback POSTs were made or `timeout` passed, and returns
    /// them: tests wait on this instead of sleeping a guessed time.
    pub fn wait_for_callbacks(&self, count: usize, timeout: Duration) -> Vec<CallbackDelivery> {
        wait_for(
            count,
            timeout,
            || self.shared.state().callbacks.len(),
            || self.callbacks(),
        )
    }

    /// The URL of this server's inbox: give it as another mock's `callback_url` (or to any
    /// sender) and read what arrived with [`inbox`](Self::inbox).
    pub fn inbox_url(&self) -> String {
        format!("{}{}", self.base_url(), control::INBOX)
    }

    /// Every POST kept by the inbox route, in order of arrival (see
    /// [`MockConfig::inbox_limit`] and [`MockConfig::inbox_max_bytes`]), headers as received,
    /// `CheckSum` included (`GET /_mock/inbox` redacts it, as for [`callbacks`](Self::callbacks)).
    pub fn inbox(&self) -> Vec<ReceivedCallback> {
        let snapshot = self.shared.state().inbox.snapshot();
        snapshot
            .iter()
            .map(|r| ReceivedCallback::clone(r))
            .collect()
    }

    /// Waits until at least `count` POSTs reached the inbox or `timeout` passed, and returns
    /// what arrived.
    pub fn wait_for_inbox(&self, count: usize, timeout: Duration) -> Vec<ReceivedCallback> {
        wait_for(
            count,
            timeout,
            || self.shared.state().inbox.len(),
            || self.inbox(),
        )
    }

    /// How many requests reached `/_mock/redirect-target` (any method): non-zero after a
    /// [`Fault::Redirect`] means the client followed the redirect, signed headers and all.
    pub fn redirect_target_hits(&self) -> u64 {
        self.shared.state().redirect_target_hits
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Returns to the state the server started in: outcomes, faults, latency, callback URL and
    /// the ECP switch as configured; requests, sessions, callbacks and counters emptied.
    /// Callbacks of calls placed before the reset are not delivered.
    pub fn reset(&self) {
        control::reset(&self.shared);
    }
}

/// Polls `len` until it reaches `count` or `timeout` passes, then returns `fetch()`: only the
/// length is read while waiting, so a full log is not copied every few milliseconds.
fn wait_for<T>(
    count: usize,
    timeout: Duration,
    len: impl Fn() -> usize,
    fetch: impl Fn() -> Vec<T>,
) -> Vec<T> {
    let deadline = Instant::now().checked_add(timeout);
    while len() < count && deadline.is_none_or(|d| Instant::now() < d) {
        thread::sleep(WAIT_STEP);
    }
    fetch()
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Accepts connections until shutdown, giving each its own thread. When every slot is taken,
/// an idle or stalled connection is closed to make room, or else the newcomer is answered 503.
fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut lingering = VecDeque::new();
    loop {
        let accepted = listener.accept();
        if shared.stopping() {
            return;
        }
        drain_lingering(&mut lingering);
        match accepted {
            Ok((stream, _)) => {
                shared.connection_count.fetch_add(1, Ordering::Relaxed);
                let mut connections = lock(&shared.connections);
                connections.retain(|c| !c.handle.is_finished());
                let open = connections.iter().filter(|c| c.is_open()).count();
                if open >= shared.config.max_connections && !make_room(shared, &connections) {
                    drop(connections);
                    turn_away(shared, stream, &mut lingering);
                    continue;
                }
                let Ok(connection) = Connection::new(stream, Arc::clone(shared)) else {
                    continue;
                };
                let watch = connection.watch();
                let spawned = thread::Builder::new()
                    .name("ecp-mock-connection".into())
                    .spawn(move || serve_connection(connection));
                if let Ok(handle) = spawned {
                    connections.push(Slot { handle, watch });
                }
            }
            // The poll interval passed with no connection.
            Err(e) if is_poll_expiry(&e) => {}
            // A transient failure such as too many open files: look again shortly.
            Err(_) => thread::sleep(ACCEPT_POLL),
        }
    }
}

/// Closes the connection the listener can best spare: the longest-idle one, else the one
/// stalled longest. Busy connections and those making progress are never closed.
fn make_room(shared: &Shared, connections: &[Slot]) -> bool {
    for _ in 0..EVICTION_ATTEMPTS {
        let now = shared.now_ms();
        let best = connections
            .iter()
            .filter_map(|slot| {
                let watch = slot.watch.upgrade()?;
                let (rank, judged) = watch.eviction_rank(now)?;
                Some((rank, judged, watch))
            })
            .min_by_key(|(rank, ..)| *rank);
        let Some((_, judged, watch)) = best else {
            return false;
        };
        if watch.evict(judged) {
            shared.evicted_connections.fetch_add(1, Ordering::Relaxed);
            return true;
        }
    }
    false
}

/// A connection turned away with a 503, kept a moment to read what its client sent.
struct Lingering {
    stream: TcpStream,
    until: Instant,
}

/// Answers 503 on a connection that found every slot busy, without giving it a thread.
fn turn_away(shared: &Shared, stream: TcpStream, lingering: &mut VecDeque<Lingering>) {
    shared.rejected_connections.fetch_add(1, Ordering::Relaxed);
    let busy = Response::json(503, BUSY_BODY).encode(true, &shared.http_date());
    // Non-blocking: a fresh socket's send buffer takes a small answer whole, and the listener
    // must never wait on a client.
    if stream.set_nonblocking(true).is_err() || (&stream).write_all(&busy).is_err() {
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
    if lingering.len() >= MAX_LINGERING {
        lingering.pop_front();
    }
    lingering.push_back(Lingering {
        stream,
        until: Instant::now() + LINGER,
    });
}

/// Reads and discards what turned-away clients sent; closes those that closed their side or
/// whose time is up.
fn drain_lingering(lingering: &mut VecDeque<Lingering>) {
    let now = Instant::now();
    let mut sink = [0u8; 4096];
    lingering.retain_mut(|l| {
        if now >= l.until {
            return false;
        }
        // Bounded, so that a client streaming bytes cannot hold the listener.
        for _ in 0..16 {
            match l.stream.read(&mut sink) {
                Ok(0) => return false,
                Ok(_) => {}
                Err(e) => return e.kind() == io::ErrorKind::WouldBlock,
            }
        }
        true
    });
}

/// Serves requests on one connection until it closes, a fault resets it, or the server stops.
fn serve_connection(mut connection: Connection) {
    loop {
        let request = match connection.read_request() {
            Incoming::Request(request) => request,
            Incoming::Closed => return,
            Incoming::Refused(response) => {
                let _ = connection.send(&response, true, false);
                return;
            }
        };
        let shared = connection.shared();
        let reply = if control::is_control(&request.path) {
            Reply::Send(control::handle(&shared, &request))
        } else if let Some(endpoint) = Endpoint::from_path(&request.path) {
            api::serve(&shared, endpoint, &request, &|d| connection.pause(d))
        } else {
            Reply::Send(api::not_found(&shared, &request))
        };
        match reply {
            Reply::Send(response) => {
                let close = request.close || response.close || shared.stopping();
                let head_only = request.method == "HEAD";
                if connection.send(&response, close, head_only).is_err() || close {
                    return;
                }
            }
            Reply::Dropped => return,
            Reply::Reset => return connection.reset(),
            Reply::HalfThenReset(response) => return connection.send_half_then_reset(&response),
        }
    }
}
