//! What the running server shares between its threads: the configuration, the mutable settings
//! tests change at run time, and everything it observed (requests, placed sessions, callback
//! deliveries) for tests to assert on.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::Value;
use yunxin_ecp::{Endpoint, SessionKind};

use yunxin_ecp::Credentials;

use crate::config::{MockConfig, Outcome};
use crate::faults::{Fault, FaultQueue};
use crate::watch::Slot;

/// One request as the mock received it and what it did with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    /// Position among the requests the server recorded, from 1, in the order their answers
    /// were decided.
    pub seq: u64,
    /// The HTTP method.
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The raw query string (empty when there is none).
    pub query: String,
    /// The ECP endpoint the path names, if any.
    pub endpoint: Option<Endpoint>,
    /// Every header, in the order received, except that the value of `CheckSum` is replaced
    /// by `<redacted, N characters>`: with the `Nonce` and `CurTime` beside it, a CheckSum is a
    /// five-minute key for any request of the app, and this log is readable by anyone who can
    /// reach the port.
    pub headers: Vec<(String, String)>,
    /// The body, decoded as UTF-8 (invalid bytes replaced).
    pub body: String,
    /// The fault applied to this request.
    pub fault: Option<Fault>,
    /// The HTTP status written on the wire; `None` when the connection was reset before any
    /// byte of the response.
    pub http_status: Option<u16>,
    /// The API code the mock decided on (`200`, `414`, `416`...), even when a fault then mangled
    /// or withheld the answer; `None` when no JSON answer was produced.
    pub code: Option<i64>,
    /// Why the signature was refused (`checksum_mismatch`, `nonce_too_long`...), for debugging
    /// a 414 that the wire reports only as "bad http header".
    pub refusal: Option<String>,
    /// The session placed by this request, if it placed one.
    pub session: Option<String>,
}

/// One POST of a call-end callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackDelivery {
    /// The session the record describes.
    pub session: String,
    /// Where it was POSTed.
    pub url: String,
    /// 1 for the first delivery of a record, 2 for its duplicate.
    pub attempt: u32,
    /// 0 for the first try of this delivery, `n` for its `n`-th retry (see
    /// [`crate::MockConfig::callback_retries`]).
    pub retry: u32,
    /// The body bytes sent, `{"callback":"<record>","eventType":"10"}`.
    pub body: String,
    /// The headers sent with it (`Content-Type`, `AppKey`, `CurTime`, `MD5`, `CheckSum`). The
    /// control API's `GET /_mock/callbacks` shows the `CheckSum` as `<redacted, N characters>`:
    /// a live one makes a replay of the delivery verify at the app's receiver.
    pub headers: Vec<(String, String)>,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why the POST failed (connection refused, timeout...), when it did.
    pub error: Option<String>,
    /// The receiver's own reason for refusing the callback, when it answered a status other than
    /// 2xx with a JSON object holding `"reason"` (as the library's integrations answer:
    /// `{"reason":"checksum_mismatch"}`), cut to 200 characters.
    pub reason: Option<String>,
}

/// A callback waiting for its call to end.
pub(crate) struct CallbackJob {
    /// When the simulated call ends.
    pub(crate) due: Instant,
    pub(crate) session: String,
    /// The app that placed the call signs its callback.
    pub(crate) credentials: Credentials,
    pub(crate) record_json: String,
    /// The state generation the call was placed in (see [`crate::MockServer::reset`]).
    pub(crate) generation: u64,
    /// `None` for a record's first delivery (and its duplicate); for a retry, which delivery it
    /// repeats and which retry of it this is.
    pub(crate) retry: Option<Retry>,
}

/// A later try of one delivery that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Retry {
    /// The delivery's [`CallbackDelivery::attempt`].
    pub(crate) attempt: u32,
    /// Its [`CallbackDelivery::retry`], from 1.
    pub(crate) number: u32,
}

/// A POST received on the inbox route (`/_mock/inbox`): a callback receiver for tests and demos,
/// so that a second mock can stand in for the app's own web server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedCallback {
    /// The headers as received. The control API's `GET /_mock/inbox` shows a `CheckSum` as
    /// `<redacted, N characters>`, as for the callback log.
    pub headers: Vec<(String, String)>,
    /// The body bytes as received (serialized as text for the control API).
    #[serde(serialize_with = "lossy_text")]
    pub body: Vec<u8>,
    /// When it arrived, Unix epoch milliseconds.
    pub received_at_ms: u64,
}

/// Headers as a control answer shows them: the value of a `CheckSum` is replaced by its
/// length. With the `Nonce` and `CurTime` of a request it would sign any request of the app for
/// five minutes; a callback's would make a replayed delivery verify. Control answers are
/// unauthenticated, and a mock may run on an app's real credentials.
pub(crate) fn redact_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            if name.eq_ignore_ascii_case("CheckSum") {
                let shown = format!("<redacted, {} characters>", value.chars().count());
                (name.clone(), shown)
            } else {
                (name.clone(), value.clone())
            }
        })
        .collect()
}

impl CallbackDelivery {
    /// The delivery as `GET /_mock/callbacks` shows it: its `CheckSum` redacted. The handle's
    /// [`crate::MockServer::callbacks`] keeps it, for the process that started the mock.
    pub(crate) fn shown(&self) -> CallbackDelivery {
        CallbackDelivery {
            headers: redact_headers(&self.headers),
            ..self.clone()
        }
    }
}

impl ReceivedCallback {
    /// The POST as `GET /_mock/inbox` shows it: its `CheckSum` redacted. The handle's
    /// [`crate::MockServer::inbox`] keeps it, for the process that started the mock.
    pub(crate) fn shown(&self) -> ReceivedCallback {
        ReceivedCallback {
            headers: redact_headers(&self.headers),
            ..self.clone()
        }
    }
}

fn lossy_text<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&String::from_utf8_lossy(bytes))
}

/// Counters, for tests and for the control API's `/_mock/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Requests received on the ECP paths and elsewhere (control routes excluded).
    pub requests: u64,
    /// Start requests (call or conference) that reached the service handler, whatever the
    /// answer: the count a non-idempotency test checks.
    pub start_count: u64,
    /// Calls and conferences placed.
    pub sessions: usize,
    /// Callback POSTs made (duplicates included).
    pub callbacks: usize,
    /// TCP connections accepted: with keep-alive, far fewer than requests.
    pub connections: u64,
    /// Requests the queued faults will still apply to.
    pub faults_pending: usize,
    /// Requests that reached `/_mock/redirect-target` (any method): a client that follows the
    /// `redirect` fault's `302` lands there.
    pub redirect_target_hits: u64,
    /// Connections open now.
    pub open_connections: usize,
    /// Of those, the ones waiting for a request with nothing received: the first to be closed
    /// when a new connection finds every slot taken.
    pub idle_connections: usize,
    /// Connections answered HTTP 503 on arrival because every slot was busy.
    pub rejected_connections: u64,
    /// Idle or stalled connections closed to make room for a new one.
    pub evicted_connections: u64,
    /// Callbacks never sent because [`MockConfig::session_limit`] callbacks were waiting
    /// already: the receiver is slower than the calls placed.
    pub dropped_callbacks: u64,
}

/// Entries kept oldest first, at most a count and a total size, the oldest dropped first.
/// Entries are shared (`Arc`) so that a reader copies pointers under the state lock and
/// serializes after releasing it.
#[derive(Debug)]
pub(crate) struct BoundedLog<T> {
    entries: VecDeque<(Arc<T>, usize)>,
    bytes: usize,
    limit: usize,
    max_bytes: usize,
}

impl<T> BoundedLog<T> {
    pub(crate) fn new(limit: usize, max_bytes: usize) -> Self {
        BoundedLog {
            entries: VecDeque::new(),
            bytes: 0,
            limit,
            max_bytes,
        }
    }

    /// Adds `entry` of `size` bytes. The newest entry is kept even when it alone is over the
    /// byte limit, so that the last thing that happened can always be read.
    pub(crate) fn push(&mut self, entry: T, size: usize) {
        self.entries.push_back((Arc::new(entry), size));
        self.bytes = self.bytes.saturating_add(size);
        while self.entries.len() > self.limit
            || (self.bytes > self.max_bytes && self.entries.len() > 1)
        {
            match self.entries.pop_front() {
                Some((_, size)) => self.bytes -= size,
                None => break,
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entries, oldest first: cheap to take under the lock.
    pub(crate) fn snapshot(&self) -> Vec<Arc<T>> {
        self.entries.iter().map(|(e, _)| Arc::clone(e)).collect()
    }
}

impl RecordedRequest {
    /// What the entry costs in the log's byte budget.
    pub(crate) fn size(&self) -> usize {
        self.method.len()
            + self.path.len()
            + self.query.len()
            + self.body.len()
            + headers_size(&self.headers)
    }
}

impl ReceivedCallback {
    /// What the entry costs in the inbox's byte budget.
    pub(crate) fn size(&self) -> usize {
        self.body.len() + headers_size(&self.headers)
    }
}

fn headers_size(headers: &[(String, String)]) -> usize {
    headers.iter().map(|(k, v)| k.len() + v.len()).sum()
}

/// A placed call or conference.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) app_key: String,
    pub(crate) kind: SessionKind,
    /// Shared, so that listing the sessions copies pointers under the lock.
    pub(crate) record: Arc<Value>,
}

/// The settings tests change at run time and what the server observed.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) outcomes: HashMap<String, Outcome>,
    pub(crate) default_outcome: Outcome,
    pub(crate) callback_url: Option<String>,
    pub(crate) ecp_enabled: bool,
    pub(crate) latency: Duration,
    pub(crate) faults: FaultQueue,
    pub(crate) requests: BoundedLog<RecordedRequest>,
    pub(crate) request_total: u64,
    pub(crate) start_count: u64,
    pub(crate) sessions: VecDeque<String>,
    pub(crate) session_index: HashMap<String, Session>,
    session_limit: usize,
    pub(crate) callbacks: BoundedLog<CallbackDelivery>,
    pub(crate) inbox: BoundedLog<ReceivedCallback>,
    pub(crate) redirect_target_hits: u64,
    /// Counts resets, so that callbacks of calls placed before a reset are not delivered after it.
    pub(crate) generation: u64,
}

impl State {
    /// The state a server starts in, and returns to on reset.
    pub(crate) fn new(config: &MockConfig) -> State {
        State {
            outcomes: HashMap::new(),
            default_outcome: config.default_outcome.clone(),
            callback_url: config.callback_url.clone(),
            ecp_enabled: config.ecp_enabled,
            latency: Duration::ZERO,
            faults: FaultQueue::default(),
            requests: BoundedLog::new(config.request_log_limit, config.request_log_max_bytes),
            request_total: 0,
            start_count: 0,
            sessions: VecDeque::new(),
            session_index: HashMap::new(),
            session_limit: config.session_limit,
            callbacks: BoundedLog::new(config.callback_log_limit, usize::MAX),
            inbox: BoundedLog::new(config.inbox_limit, config.inbox_max_bytes),
            redirect_target_hits: 0,
            generation: 0,
        }
    }

    /// The outcome of a call to `number`.
    pub(crate) fn outcome_for(&self, number: &str) -> Outcome {
        self.outcomes
            .get(number)
            .unwrap_or(&self.default_outcome)
            .clone()
    }

    /// Numbers the next request, for its [`RecordedRequest::seq`].
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.request_total += 1;
        self.request_total
    }

    /// Keeps a request, dropping the oldest beyond the log's limits.
    pub(crate) fn record(&mut self, request: RecordedRequest) {
        let size = request.size();
        self.requests.push(request, size);
    }

    /// Stores a placed session, forgetting the oldest beyond the limit.
    pub(crate) fn place(&mut self, id: String, session: Session) {
        self.sessions.push_back(id.clone());
        self.session_index.insert(id, session);
        while self.sessions.len() > self.session_limit {
            if let Some(old) = self.sessions.pop_front() {
                self.session_index.remove(&old);
            }
        }
    }

    /// The records of every kept session, in placement order: pointers, cheap under the lock.
    pub(crate) fn records(&self) -> Vec<Arc<Value>> {
        self.sessions
            .iter()
            .filter_map(|id| self.session_index.get(id))
            .map(|s| Arc::clone(&s.record))
            .collect()
    }
}

/// Everything the server's threads share.
pub(crate) struct Shared {
    pub(crate) config: MockConfig,
    pub(crate) state: Mutex<State>,
    pub(crate) shutdown: AtomicBool,
    /// Every connection thread not yet joined, with what it is doing.
    pub(crate) connections: Mutex<Vec<Slot>>,
    pub(crate) connection_count: AtomicU64,
    pub(crate) rejected_connections: AtomicU64,
    pub(crate) evicted_connections: AtomicU64,
    /// The origin of the connections' activity times.
    pub(crate) epoch: Instant,
    /// Feeds the callback worker; taken out (closing the channel) when the server stops, which
    /// wakes the worker at once.
    pub(crate) callback_jobs: Mutex<Option<Sender<CallbackJob>>>,
    /// Callbacks scheduled and not yet delivered or dropped. At most the session limit wait,
    /// so that calls placed faster than a slow or silent receiver answers (each POST may take
    /// the callback timeout, one at a time) cannot grow the queue without bound.
    pub(crate) pending_callbacks: AtomicUsize,
    pub(crate) dropped_callbacks: AtomicU64,
}

impl Shared {
    /// The mutable state. A thread that panicked while holding the lock cannot leave it
    /// half-updated in a way that matters to a mock, so a poisoned lock is simply recovered.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Hands a callback to the worker (dropped when the server is stopping).
    pub(crate) fn schedule_callback(&self, job: CallbackJob) {
        let limit = self.config.session_limit;
        let admitted =
            self.pending_callbacks
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < limit).then_some(n + 1)
                });
        if admitted.is_err() {
            self.dropped_callbacks.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Some(jobs) = lock(&self.callback_jobs).as_ref() {
            // The worker only goes away after the channel is closed, so this cannot fail.
            let _ = jobs.send(job);
        }
    }

    /// Whether the server is stopping.
    pub(crate) fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Sleeps for `duration`, waking early when the server stops so that no thread outlives
    /// [`crate::MockServer::stop`] by more than a slice.
    pub(crate) fn sleep(&self, duration: Duration) {
        const SLICE: Duration = Duration::from_millis(25);
        // A duration too long to represent sleeps until the server stops.
        let deadline = Instant::now().checked_add(duration);
        while !self.stopping() {
            let left = deadline.map_or(SLICE, |d| d.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(SLICE));
        }
    }

    /// The current counters.
    pub(crate) fn stats(&self) -> Stats {
        let (open_connections, idle_connections) = lock(&self.connections)
            .iter()
            .filter(|slot| slot.is_open())
            .fold((0, 0), |(open, idle), slot| {
                (open + 1, idle + usize::from(slot.is_idle()))
            });
        let state = self.state();
        Stats {
            requests: state.request_total,
            start_count: state.start_count,
            sessions: state.sessions.len(),
            callbacks: state.callbacks.len(),
            connections: self.connection_count.load(Ordering::Relaxed),
            faults_pending: state.faults.pending(),
            redirect_target_hits: state.redirect_target_hits,
            open_connections,
            idle_connections,
            rejected_connections: self.rejected_connections.load(Ordering::Relaxed),
            evicted_connections: self.evicted_connections.load(Ordering::Relaxed),
            dropped_callbacks: self.dropped_callbacks.load(Ordering::Relaxed),
        }
    }

    /// Milliseconds since the server started: the clock of the connections' activity times.
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The mock's clock in Unix seconds: the pinned clock or the system's, shifted by the
    /// configured skew. Request signatures are checked against it.
    pub(crate) fn clock_secs(&self) -> u64 {
        let now = self
            .config
            .fixed_clock_secs
            .unwrap_or_else(yunxin_ecp::signing::unix_seconds_now);
        now.saturating_add_signed(self.config.clock_skew)
    }

    /// The `Date` header of an answer (RFC 7231 IMF-fixdate), on the same clock as the
    /// signature check, so that a client comparing it with its own clock measures the skew
    /// that decides its 414s.
    pub(crate) fn http_date(&self) -> String {
        let now = match self.config.fixed_clock_secs {
            Some(secs) => SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
            None => SystemTime::now(),
        };
        let skew = Duration::from_secs(self.config.clock_skew.unsigned_abs());
        let shifted = if self.config.clock_skew >= 0 {
            now.checked_add(skew)
        } else {
            now.checked_sub(skew)
        };
        httpdate::fmt_http_date(shifted.unwrap_or(now).max(SystemTime::UNIX_EPOCH))
    }
}

/// Locks a mutex, recovering it if a thread panicked while holding it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
