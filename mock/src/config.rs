//! What a mock server is started with: the apps it knows, the accids registered in them, the
//! signature window, and how simulated calls end.
//!
//! The defaults are the values of NetEase's official samples (app key
//! `fd460d34e786e7754e505bc4fab0f027`, secret `xxxxxxxx`, accid `liuxuanlin`), so that a request
//! copied from a sample verifies against the mock unchanged.

use std::time::Duration;

use serde::Serialize;
use yunxin_ecp::Credentials;
use yunxin_ecp::server::REQUEST_WINDOW_SECS;

use crate::console::Console;

/// The app key used by every official sample; the default mock app.
pub const SAMPLE_APP_KEY: &str = "fd460d34e786e7754e505bc4fab0f027";
/// The app secret of the official samples; the default mock app's secret.
pub const SAMPLE_APP_SECRET: &str = "xxxxxxxx";
/// The accids the samples and the documented callback examples use, registered by default so
/// that their `callerAcc` is accepted.
pub const SAMPLE_ACCIDS: [&str; 4] = ["liuxuanlin", "abcd", "call817", "demo"];
/// Real time between a start and the end of the simulated call (and its callback), by default:
/// short, so that test suites wait for callbacks without slowing down.
pub const DEFAULT_CALL_DURATION: Duration = Duration::from_millis(20);
/// Simulated conversation length of a call whose callee has no outcome set.
pub const DEFAULT_ANSWERED_SECS: u64 = 42;
/// How long one callback POST may take before it is recorded as failed; the real service
/// expects an answer within 5 s.
pub const DEFAULT_CALLBACK_TIMEOUT: Duration = Duration::from_secs(5);
/// The wait before a failed callback delivery's first retry, doubled for each further one.
pub const DEFAULT_CALLBACK_RETRY_DELAY: Duration = Duration::from_secs(1);
/// The retries the commands that run the mock (`yunxin-ecp-mock`, `yunxin-ecp mock`) make of a
/// failed delivery by default: three tries in all, over about three seconds.
pub const DEFAULT_COMMAND_CALLBACK_RETRIES: u32 = 2;
/// Largest request body accepted; larger ones get HTTP 413. Real ECP requests are a few
/// hundred bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// How long a kept-alive connection may wait for its next request. Short, because an idle
/// socket holds a thread and a connection slot that a waiting client could use; HTTP clients
/// reconnect when a pooled connection was closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a new connection may take to send the first byte of its first request: a client
/// that connects and says nothing is either gone or hostile.
pub const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take to arrive once its first byte came, and its answer to be read
/// whole, so that a client sending or reading a byte a second (slowloris) cannot keep a
/// connection for long. A real ECP request is a few hundred bytes and arrives in one segment.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Most connections served at once (one thread each). When all are taken, the longest-idle one
/// is closed to make room, or else the newcomer is answered HTTP 503.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// How many requests [`crate::MockServer::requests`] keeps (the oldest are dropped first), so a
/// long benchmark cannot grow the log without bound.
pub const DEFAULT_REQUEST_LOG_LIMIT: usize = 10_000;
/// Most bytes (bodies, headers, paths) the request log holds; the oldest requests are dropped
/// first. Without it, 10,000 requests with 64 KiB bodies would hold 640 MiB.
pub const DEFAULT_REQUEST_LOG_MAX_BYTES: usize = 16 * 1024 * 1024;
/// How many POSTs the inbox keeps (the oldest are dropped first): the inbox takes
/// unauthenticated POSTs from anyone who can reach the port.
pub const DEFAULT_INBOX_LIMIT: usize = 1_000;
/// Most bytes (bodies and headers) the inbox holds; the oldest POSTs are dropped first.
pub const DEFAULT_INBOX_MAX_BYTES: usize = 16 * 1024 * 1024;
/// How many placed sessions are kept (the oldest are forgotten first, and `queryBySession`
/// answers 404 for them): the samples' secret is public, so anyone can place calls.
pub const DEFAULT_SESSION_LIMIT: usize = 10_000;
/// How many callback deliveries [`crate::MockServer::callbacks`] keeps (the oldest are dropped
/// first).
pub const DEFAULT_CALLBACK_LOG_LIMIT: usize = 10_000;

/// How a simulated call ends, decided by the callee's number (see
/// [`crate::MockServer::set_outcome`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Someone picked up and talked for `duration_sec` seconds (capped by the request's
    /// `maxDur`, as the real service cuts the call there). Both legs end with `NORMAL_CLEARING`.
    Answered {
        /// Seconds of conversation reported as `durationSec`.
        duration_sec: u64,
    },
    /// Nobody talked: `durationSec` is 0 and both legs carry `hang_cause`, e.g.
    /// `NO_USER_RESPONSE` or `USER_BUSY`. The record's `status` is still `SUCCESS`, as on the
    /// real service.
    NoAnswer {
        /// The `hangCause` of the legs.
        hang_cause: String,
    },
}

impl Outcome {
    /// An answered call of `duration_sec` seconds.
    pub fn answered(duration_sec: u64) -> Self {
        Outcome::Answered { duration_sec }
    }

    /// An unanswered call ending with `hang_cause`.
    pub fn no_answer(hang_cause: impl Into<String>) -> Self {
        Outcome::NoAnswer {
            hang_cause: hang_cause.into(),
        }
    }
}

impl Default for Outcome {
    /// Answered, [`DEFAULT_ANSWERED_SECS`] seconds: a billable call (one minute) so that cost
    /// code has something to count.
    fn default() -> Self {
        Outcome::answered(DEFAULT_ANSWERED_SECS)
    }
}

/// Everything a mock server is started with. Build it with `..Default::default()` and change
/// only what a test needs.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// The apps whose signed requests are accepted; each callback is signed with the app that
    /// placed the call.
    pub apps: Vec<Credentials>,
    /// The accids registered in the apps; a start with another `callerAcc` is refused with
    /// `{"code":414,"msg":"bad param 'callerAcc'"}`.
    pub accids: Vec<String>,
    /// How far a request's `CurTime` may be from the mock's clock, in seconds.
    pub window_secs: u64,
    /// Pins the clock that signatures are checked against (Unix seconds), to replay requests
    /// signed at a fixed time such as the golden vectors. `None` reads the system clock.
    pub fixed_clock_secs: Option<u64>,
    /// Where call-end callbacks are POSTed; `None` sends none.
    pub callback_url: Option<String>,
    /// Real time between a start and the end of its simulated call, when the callback is sent.
    pub call_duration: Duration,
    /// The outcome of calls whose callee has none set.
    pub default_outcome: Outcome,
    /// Whether the ECP service is enabled for the apps. When false every start is refused with
    /// `{"code":403,"msg":"no authorization"}`, as for an account without ECP or without balance.
    pub ecp_enabled: bool,
    /// Sends every callback twice, because the real service may repeat a delivery and receivers
    /// must deduplicate on `session`.
    pub duplicate_callbacks: bool,
    /// Longest time one callback POST may take.
    pub callback_timeout: Duration,
    /// How many times a delivery that got no answer (connection refused, timeout...) or a 5xx
    /// answer is tried again; never after any other status, a 4xx being the receiver's final
    /// word. 0 (the default) tries once, so that a test suite counts exactly one delivery per
    /// call; the commands that run the mock retry twice, as the service is assumed to (see the
    /// crate's documentation).
    pub callback_retries: u32,
    /// The wait before the first retry; each further retry waits twice as long as the one
    /// before.
    pub callback_retry_delay: Duration,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long a new connection may wait before sending its first byte.
    pub first_byte_timeout: Duration,
    /// How long one request may take to arrive once it has begun, and how long its answer may
    /// take to be read whole: a client that reads a few bytes at a time cannot hold a
    /// connection longer than that.
    pub request_timeout: Duration,
    /// Most connections served at once.
    pub max_connections: usize,
    /// How many recorded requests are kept.
    pub request_log_limit: usize,
    /// Most bytes the recorded requests may hold together.
    pub request_log_max_bytes: usize,
    /// How many POSTs the inbox keeps.
    pub inbox_limit: usize,
    /// Most bytes the inbox may hold together.
    pub inbox_max_bytes: usize,
    /// How many placed sessions are kept for `queryBySession`, and how many callbacks may
    /// wait to be sent (more are dropped and counted in [`crate::Stats::dropped_callbacks`]).
    pub session_limit: usize,
    /// How many callback deliveries are kept.
    pub callback_log_limit: usize,
    /// Shifts the mock's clock by this many seconds (negative: behind), both the `Date` header
    /// of every answer and the "now" that a request's `CurTime` is checked against, so that a
    /// client's diagnosis of clock skew can be tested without touching the machine's clock.
    /// Applied on top of [`fixed_clock_secs`](Self::fixed_clock_secs).
    pub clock_skew: i64,
    /// Where a line is printed for each callback delivery attempt (see [`Console`]); `None`
    /// prints nothing, as a library in a test suite should. The commands that run the mock
    /// print on standard output.
    pub console: Option<Console>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            // The sample credentials are valid constants, so this list always holds one app.
            apps: Credentials::new(SAMPLE_APP_KEY, SAMPLE_APP_SECRET)
                .ok()
                .into_iter()
                .collect(),
            accids: SAMPLE_ACCIDS.iter().map(|a| (*a).to_owned()).collect(),
            window_secs: REQUEST_WINDOW_SECS,
            fixed_clock_secs: None,
            callback_url: None,
            call_duration: DEFAULT_CALL_DURATION,
            default_outcome: Outcome::default(),
            ecp_enabled: true,
            duplicate_callbacks: false,
            callback_timeout: DEFAULT_CALLBACK_TIMEOUT,
            callback_retries: 0,
            callback_retry_delay: DEFAULT_CALLBACK_RETRY_DELAY,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            first_byte_timeout: DEFAULT_FIRST_BYTE_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            request_log_limit: DEFAULT_REQUEST_LOG_LIMIT,
            request_log_max_bytes: DEFAULT_REQUEST_LOG_MAX_BYTES,
            inbox_limit: DEFAULT_INBOX_LIMIT,
            inbox_max_bytes: DEFAULT_INBOX_MAX_BYTES,
            session_limit: DEFAULT_SESSION_LIMIT,
            callback_log_limit: DEFAULT_CALLBACK_LOG_LIMIT,
            clock_skew: 0,
            console: None,
        }
    }
}
