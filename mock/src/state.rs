//! What the running server shares between its threads: the configuration, the mutable settings
//! tests change at run time, and everything it observed (requests, placed sessions, callback
//! deliveries) for tests to assert on.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use yunxin_ecp::{Endpoint, SessionKind};

use crate::callbacks::CallbackJob;
use crate::config::{MockConfig, Outcome};
use crate::faults::{Fault, FaultQueue};

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
    /// Every header, in the order received.
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
    /// The body bytes sent, `{"callback":"<record>","eventType":"10"}`.
    pub body: String,
    /// The headers sent with it (`Content-Type`, `AppKey`, `CurTime`, `MD5`, `CheckSum`).
    pub headers: Vec<(String, String)>,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why the POST failed (connection refused, timeout...), when it did.
    pub error: Option<String>,
}

/// A POST received on the inbox route (`/_mock/inbox`): a callback receiver for tests and demos,
/// so that a second mock can stand in for the app's own web server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedCallback {
    /// The headers as received.
    pub headers: Vec<(String, String)>,
    /// The body bytes as received (serialized as text for the control API).
    #[serde(serialize_with = "lossy_text")]
    pub body: Vec<u8>,
    /// When it arrived, Unix epoch milliseconds.
    pub received_at_ms: u64,
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
}

/// A placed call or conference.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) app_key: String,
    pub(crate) kind: SessionKind,
    pub(crate) record: Value,
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
    pub(crate) requests: VecDeque<RecordedRequest>,
    pub(crate) request_total: u64,
    pub(crate) start_count: u64,
    pub(crate) sessions: Vec<String>,
    pub(crate) session_index: HashMap<String, Session>,
    pub(crate) callbacks: Vec<CallbackDelivery>,
    pub(crate) inbox: Vec<ReceivedCallback>,
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
            requests: VecDeque::new(),
            request_total: 0,
            start_count: 0,
            sessions: Vec::new(),
            session_index: HashMap::new(),
            callbacks: Vec::new(),
            inbox: Vec::new(),
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

    /// Keeps a request, dropping the oldest beyond `limit`.
    pub(crate) fn record(&mut self, request: RecordedRequest, limit: usize) {
        self.requests.push_back(request);
        while self.requests.len() > limit {
            self.requests.pop_front();
        }
    }

    /// Stores a placed session.
    pub(crate) fn place(&mut self, id: String, session: Session) {
        self.sessions.push(id.clone());
        self.session_index.insert(id, session);
    }

    /// The records of every placed session, in placement order.
    pub(crate) fn records(&self) -> Vec<Value> {
        self.sessions
            .iter()
            .filter_map(|id| self.session_index.get(id))
            .map(|s| s.record.clone())
            .collect()
    }
}

/// Everything the server's threads share.
pub(crate) struct Shared {
    pub(crate) config: MockConfig,
    pub(crate) state: Mutex<State>,
    pub(crate) shutdown: AtomicBool,
    pub(crate) connections: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) connection_count: AtomicU64,
    /// Feeds the callback worker; taken out (closing the channel) when the server stops, which
    /// wakes the worker at once.
    pub(crate) callback_jobs: Mutex<Option<Sender<CallbackJob>>>,
}

impl Shared {
    /// The mutable state. A thread that panicked while holding the lock cannot leave it
    /// half-updated in a way that matters to a mock, so a poisoned lock is simply recovered.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Hands a callback to the worker (dropped when the server is stopping).
    pub(crate) fn schedule_callback(&self, job: CallbackJob) {
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
        let connections = self.connection_count.load(Ordering::Relaxed);
        let state = self.state();
        Stats {
            requests: state.request_total,
            start_count: state.start_count,
            sessions: state.sessions.len(),
            callbacks: state.callbacks.len(),
            connections,
            faults_pending: state.faults.pending(),
        }
    }
}

/// Locks a mutex, recovering it if a thread panicked while holding it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
