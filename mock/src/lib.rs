//! A local stand-in for NetEase YunXin's ECP (专线电话) API, so that integration tests place
//! calls, read records and receive call-end callbacks without a paid account.
//!
//! It is strict where the real gateway is strict (the `CheckSum` with its 5-minute window,
//! nonce length, lowercase hex; every parameter validated by the same core rules), answers with
//! the service's exact bodies, and still accepts what the official samples send (parameters in
//! the query string, single-quoted callee lists, a fixed nonce). On top of that it can misbehave
//! on purpose ([`Fault`]) so that clients are tested for the cases where a billable start must
//! not be retried.
//!
//! ```
//! use yunxin_ecp::{BaseUrl, Credentials, EcpRequest, StartCall};
//! use yunxin_ecp_mock::{MockConfig, MockServer, Outcome, SAMPLE_APP_KEY, SAMPLE_APP_SECRET};
//!
//! let server = MockServer::start(MockConfig::default())?;
//! server.set_outcome("13777777777", Outcome::no_answer("USER_BUSY"));
//! let creds = Credentials::new(SAMPLE_APP_KEY, SAMPLE_APP_SECRET)?;
//! let request = StartCall::new("liuxuanlin", "13888888888", "13777777777", 100)?
//!     .prepare(&BaseUrl::new(&server.base_url())?, &creds.sign_now()?);
//! // ... send `request` with any HTTP client ...
//! # drop(request);
//! server.stop();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How a request is served
//!
//! Requests to `/call/ecp/startcall.action`, `/call/ecp/startconf.action` and
//! `/call/ecp/queryBySession.action` (`POST` only; parameters from the form body and the query
//! string together) go through, in order:
//!
//! 1. the latency set with [`MockServer::set_latency`], then the next queued [`Fault`];
//! 2. the signature, checked by `yunxin_ecp::server::verify_request` against the configured apps
//!    and window: any problem answers `{"desc":"bad http header","code":414}`;
//! 3. for starts, the ECP switch ([`MockConfig::ecp_enabled`]): off answers
//!    `{"code":403,"msg":"no authorization"}`;
//! 4. the parameters, read by `yunxin_ecp::server::Params`: a broken rule answers
//!    `{"code":414,"msg":"bad param '<field>'"}`, and so does an unregistered `callerAcc`;
//! 5. a start places a session (a random UUID), answers `{"code":200,"obj":{"session":…}}`
//!    and, [`MockConfig::call_duration`] later, POSTs the signed call-end callback; a query
//!    answers the record, or `{"code":404,"msg":"session not found"}` for an unknown session,
//!    the wrong `type`, or another app's session.
//!
//! Business answers come with HTTP 200, as on the real service.
//!
//! # Callback deliveries
//!
//! A call's end POSTs its record to the callback URL in force at that moment, signed with the
//! app that placed the call; [`MockServer::callbacks`] (and `GET /_mock/callbacks`) records every
//! attempt with the receiver's status or the connection error, and the receiver's `reason` when
//! it refused with a JSON body such as `{"reason":"checksum_mismatch"}` (what the library's
//! integrations answer). With [`MockConfig::console`] set, each attempt also prints one line as it
//! is made; the commands `yunxin-ecp-mock` and `yunxin-ecp mock` print them on standard output:
//!
//! ```text
//! callback POST http://127.0.0.1:8000/cb -> delivered (HTTP 200) session=7c4b7673-4f70-4164-82a0-decb84d77914
//! callback POST http://127.0.0.1:8000/cb -> refused (HTTP 403): checksum_mismatch session=4ea1e712-cfd5-4891-b66a-4aa71fe65383
//! callback POST http://127.0.0.1:8001/cb -> failed: io: Connection refused session=0e9b7d8e-58a4-4a4c-9d43-2c55b0d1a2f1
//! callback POST http://127.0.0.1:8001/cb -> failed: io: Connection refused session=0e9b7d8e-58a4-4a4c-9d43-2c55b0d1a2f1 [retry 1]
//! ```
//!
//! What is known of the real service, and what the mock assumes:
//!
//! - Known (the product documents): the service POSTs the record to a URL NetEase staff set up,
//!   expects HTTP 200 within 5 seconds, and may deliver a record more than once, so a receiver
//!   deduplicates (on `session`, for instance).
//! - Not known: when it repeats a delivery, how often and at what intervals, and whether any
//!   answer ends the repeats. The mock assumes the usual webhook practice: with
//!   [`MockConfig::callback_retries`] (0 in the library, so that a test suite sees exactly one
//!   delivery per call; 2 in the commands), a delivery that got no answer (connection refused,
//!   timeout) or a 5xx is tried again after [`MockConfig::callback_retry_delay`], doubling
//!   each time; a 4xx is taken as the receiver's final word and never retried. A receiver must
//!   not count on that: answer 200 to what it accepted (a duplicate included), and expect any
//!   other answer to be followed by another delivery of the same record.
//! - A retry after a timeout repeats a callback the receiver may have processed already, and
//!   [`MockConfig::duplicate_callbacks`] repeats every delivery, even an accepted one: both are
//!   what deduplication is for.
//!
//! # Faults on the wire
//!
//! | fault | the service handles the request | the client receives |
//! |---|---|---|
//! | `Delay(d)` | yes, after `d` | the normal answer, late |
//! | `ResetBeforeResponse` | yes (a start is placed) | a TCP reset, no byte |
//! | `ResetMidBody` | yes | the head with the full `Content-Length`, half the body, a reset |
//! | `Html502` | no | HTTP 502, nginx's HTML page |
//! | `EmptyBody` | yes | HTTP 200, `Content-Length: 0` |
//! | `GarbageJson` | yes | HTTP 200, `{"code":200,"obj":{"sess` |
//! | `Oversized(n)` | yes | HTTP 200, exactly `n` bytes: the answer padded with a `padding` field |
//! | `RateLimited` | no | `{"code":416,"msg":"rate limited"}` |
//! | `ServerError` | yes (a start is placed) | `{"code":500,"msg":"server internal error"}` |
//! | `Busy503` | no | `{"code":503,"msg":"server busy"}` |
//! | `Redirect` | no | HTTP 302, nginx's page, `Location: http://<addr>/_mock/redirect-target<path>` |
//!
//! A client that follows the redirect reaches `/_mock/redirect-target`, which answers every
//! method with `{"code":200,"obj":{"session":"redirect-target-session"}}` (a success for a call
//! that does not exist) and counts the hit: [`MockServer::redirect_target_hits`], and
//! `redirect_target_hits` in [`Stats`].
//!
//! # Staying up for everyone
//!
//! Anyone who can reach the port can talk to it, so every resource a client can take is bounded
//! ([`MockConfig`] holds the numbers): a new connection must send its first byte within
//! `first_byte_timeout`, a kept-alive one its next request within `idle_timeout`, a request must
//! arrive and an answer be taken within `request_timeout`, and a head may be 16 KiB (else HTTP 431,
//! `{"code":414,"desc":"request head too large"}`). At `max_connections` the longest-idle
//! connection is closed to make room, else one stalled (or held in a delay) for over a second,
//! else the newcomer gets HTTP 503 `{"code":503,"desc":"mock busy: too many connections"}`. The
//! request log, the inbox, the sessions and the callback log keep the newest entries within their
//! limits, and are read without holding up the requests being served. No control answer shows
//! a live `CheckSum`: a recorded request's, a callback delivery's and an inbox POST's read
//! `<redacted, N characters>`. A request's would, with its `Nonce` and `CurTime`, sign any
//! request of the app for five minutes; a callback's would make a copied delivery verify at the
//! app's receiver. The handle's [`MockServer::callbacks`] and [`MockServer::inbox`] keep the
//! headers as sent, for the process that started the mock. Every answer carries a `Date` header on the
//! mock's clock, which [`MockConfig::clock_skew`] can move.
//!
//! # Control API
//!
//! Other languages, and users of the `yunxin-ecp-mock` binary, steer the same server over plain
//! HTTP on the same port, under `/_mock` (not signed, not recorded, never faulted). Parameters
//! are form fields in the body or the query string; answers are JSON (`{"ok":true}`, or
//! `{"ok":false,"error":…}` with HTTP 400, 404 or 405).
//!
//! | route | fields | does |
//! |---|---|---|
//! | `GET /_mock` | | lists the routes and fault kinds |
//! | `GET /_mock/stats` | | [`Stats`] |
//! | `GET /_mock/requests` | | every [`RecordedRequest`] |
//! | `GET /_mock/sessions` | | the record of every placed session |
//! | `GET /_mock/callbacks` | | every [`CallbackDelivery`] (`CheckSum` redacted) |
//! | `POST /_mock/outcome` | `number` (or `default`), `duration_sec` or `hang_cause` | [`MockServer::set_outcome`] (at most 10,000 numbers) |
//! | `POST /_mock/fault` | `kind` (see [`FAULT_KINDS`]), `times` (default 1), `ms`, `bytes` | [`MockServer::inject_fault`] (at most 1000 queued) |
//! | `POST /_mock/faults/clear` | | [`MockServer::clear_faults`] |
//! | `POST /_mock/latency` | `ms` | [`MockServer::set_latency`] |
//! | `POST /_mock/callback_url` | `url` (an http or https URI, no CR, LF or other control character; empty: none) | [`MockServer::set_callback_url`] |
//! | `POST /_mock/ecp_enabled` | `enabled` = `true` or `false` | [`MockServer::set_ecp_enabled`] |
//! | `POST /_mock/reset` | | [`MockServer::reset`] |
//! | `POST /_mock/inbox` | any body: recorded as received, answered HTTP 200 | [`MockServer::inbox_url`] |
//! | `GET /_mock/inbox` | | every [`ReceivedCallback`] kept (`CheckSum` redacted) |
//! | any `/_mock/redirect-target/<path>` | | the fake success above, counted |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
mod callbacks;
mod config;
pub mod console;
mod control;
mod faults;
mod http;
mod records;
mod server;
mod state;
mod watch;

pub use config::{
    DEFAULT_ANSWERED_SECS, DEFAULT_CALL_DURATION, DEFAULT_CALLBACK_LOG_LIMIT,
    DEFAULT_CALLBACK_RETRY_DELAY, DEFAULT_CALLBACK_TIMEOUT, DEFAULT_COMMAND_CALLBACK_RETRIES,
    DEFAULT_FIRST_BYTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_INBOX_LIMIT, DEFAULT_INBOX_MAX_BYTES,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_LOG_LIMIT,
    DEFAULT_REQUEST_LOG_MAX_BYTES, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SESSION_LIMIT, MockConfig,
    Outcome, SAMPLE_ACCIDS, SAMPLE_APP_KEY, SAMPLE_APP_SECRET,
};
pub use faults::{FAULT_KINDS, Fault};
pub use server::MockServer;
pub use state::{CallbackDelivery, ReceivedCallback, RecordedRequest, Stats};

/// The `yyyy-MM-dd HH:mm:ss` Beijing time the records use, for a Unix time in seconds: exposed so
/// tests can predict `starttime` and `endTime`.
pub fn beijing_time(unix_secs: u64) -> String {
    records::beijing_time(unix_secs)
}

/// The exact callback body the mock POSTs for a record:
/// `{"callback":"<record JSON>","eventType":"10"}`.
pub fn callback_body(record_json: &str) -> String {
    callbacks::callback_body(record_json)
}

/// The record the mock keeps, answers `queryBySession` with and POSTs at the end of `call`
/// placed at `now_ms` (Unix epoch milliseconds) and ended as `outcome`: exposed so that a tool
/// sending a sample call-end callback (`yunxin-ecp send-callback`) sends exactly what the mock
/// would, instead of building a record a second way.
pub fn call_record(
    session: &str,
    call: &yunxin_ecp::StartCall,
    outcome: &Outcome,
    now_ms: u64,
) -> serde_json::Value {
    records::call_record(session, call, outcome, now_ms)
}

/// The record of a conference, as [`call_record`] is of a call: `members` the caller, then the
/// callees, as a JSON array inside a string.
pub fn conference_record(
    session: &str,
    conf: &yunxin_ecp::StartConf,
    outcome: &Outcome,
    now_ms: u64,
) -> serde_json::Value {
    records::conference_record(session, conf, outcome, now_ms)
}

/// A fresh session id as the mock gives one: a random (version 4) UUID, lowercase. Fails only
/// when the OS has no randomness to give.
pub fn new_session_id() -> std::io::Result<String> {
    records::new_session_id().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    /// Tests share one server across threads, so the handle must be `Send + Sync`.
    #[test]
    fn server_handle_is_shareable() {
        fn shareable<T: Send + Sync>() {}
        shareable::<crate::MockServer>();
        shareable::<crate::MockConfig>();
    }
}
