//! The client's log events, under the target [`TARGET`] (`yunxin_ecp`), through the `log`
//! facade.
//!
//! `log` rather than `tracing`: the Python package forwards events to the standard `logging`
//! module through pyo3-log, which speaks `log`; `log` is also the lighter dependency (no
//! subscriber machinery in a library that only emits a handful of lines per request), and
//! `tracing` subscribers read `log` records anyway through `tracing-log`.
//!
//! | level | message | fields |
//! |---|---|---|
//! | debug | `client ready` | `base_url`, `proxy` (the environment variable it came from, or `none`) |
//! | debug | `request sent` | `id`, `endpoint`, `path`, `attempt` |
//! | debug | `response` | `id`, `attempt`, `http_status`, `code` (when the body had one), `protocol` (when unreadable), `elapsed_ms` |
//! | debug | `no response` | `id`, `attempt`, `transport`, `maybe_sent`, `elapsed_ms` |
//! | info | `retry` | `id`, `attempt` (the one that failed), `reason`, `delay_ms` |
//! | warn | `gave up` | `id`, `attempts`, `reason`, `advice` |
//! | warn | `cancelled` (the Python `AsyncClient` only: a task cancelled after a start, or a request not marked idempotent, may have been sent) | `id`, `endpoint`, `attempt`, `advice` |
//!
//! Fields are `key=value` pairs after the message, values without spaces. `id` is 8 random hex
//! characters drawn once per call and kept across its retries, so one call's lines can be told
//! apart from another thread's. Only what is safe is logged: never a header (the `CheckSum`
//! with its `Nonce` and `CurTime` is a five-minute key), never a body or a server's message
//! (phone numbers, and whatever a hostile server chooses to echo), and the path with its phone
//! numbers masked by [`mask_numbers`].

use std::time::Duration;

use log::Level;

use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::mask::mask_numbers;
use crate::request::BaseUrl;
use crate::response::ResponseError;
use crate::signing::generate_nonce;

/// The target every event of the client is logged under.
pub const TARGET: &str = "yunxin_ecp";

/// The first event of a client: where its requests go, and through which proxy, so that a
/// base URL or a proxy taken from the environment is never a surprise.
pub(super) fn client_ready(base_url: &BaseUrl, proxy: Option<&str>) {
    log::debug!(target: TARGET, "{}", client_ready_text(base_url, proxy));
}

/// The text of the `client ready` event, for clients on other HTTP stacks (the Python
/// `AsyncClient`) that log it themselves.
pub fn client_ready_text(base_url: &BaseUrl, proxy: Option<&str>) -> String {
    format!(
        "client ready base_url={} proxy={}",
        mask_numbers(base_url.as_str()),
        proxy.unwrap_or("none")
    )
}

/// One call's identity in the log: its id, and what it is sent to.
pub(super) struct CallLog<'a> {
    id: String,
    endpoint: Endpoint,
    path: &'a str,
}

impl<'a> CallLog<'a> {
    /// Draws the call's id, only when some event would be logged.
    pub(super) fn new(endpoint: Endpoint, path: &'a str) -> Self {
        let id = if log::log_enabled!(target: TARGET, Level::Warn) {
            generate_nonce(8).unwrap_or_else(|_| "-".to_owned())
        } else {
            String::new()
        };
        CallLog { id, endpoint, path }
    }

    pub(super) fn sent(&self, attempt: u32) {
        log::debug!(
            target: TARGET,
            "request sent id={} endpoint={} path={} attempt={attempt}",
            self.id,
            self.endpoint.code(),
            mask_numbers(self.path),
        );
    }

    /// After an attempt: what came back (or did not), and how long it took.
    pub(super) fn outcome<T>(
        &self,
        attempt: u32,
        result: &Result<T, Error>,
        status: Option<u16>,
        elapsed: Duration,
    ) {
        if !log::log_enabled!(target: TARGET, Level::Debug) {
            return;
        }
        let ms = elapsed.as_millis();
        let id = &self.id;
        match (result, status) {
            (Err(Error::Transport(t)), _) => log::debug!(
                target: TARGET,
                "no response id={id} attempt={attempt} transport={} maybe_sent={} elapsed_ms={ms}",
                t.kind.code(),
                t.maybe_sent,
            ),
            (Ok(_), status) => log::debug!(
                target: TARGET,
                "response id={id} attempt={attempt} http_status={} code=200 elapsed_ms={ms}",
                status.unwrap_or(200),
            ),
            (Err(Error::Response(ResponseError::Api(a))), _) => log::debug!(
                target: TARGET,
                "response id={id} attempt={attempt} http_status={} code={} elapsed_ms={ms}",
                a.http_status,
                a.code,
            ),
            (Err(Error::Response(ResponseError::Protocol(p))), _) => log::debug!(
                target: TARGET,
                "response id={id} attempt={attempt} http_status={} protocol={} elapsed_ms={ms}",
                p.http_status,
                p.kind.code(),
            ),
            (Err(e), _) => log::debug!(
                target: TARGET,
                "no response id={id} attempt={attempt} error={} elapsed_ms={ms}",
                reason(e),
            ),
        }
    }

    pub(super) fn retry(&self, attempt: u32, error: &Error, delay: Duration) {
        log::info!(
            target: TARGET,
            "retry id={} attempt={attempt} reason={} delay_ms={}",
            self.id,
            reason(error),
            delay.as_millis(),
        );
    }

    pub(super) fn gave_up(&self, attempts: u32, error: &Error) {
        log::warn!(
            target: TARGET,
            "gave up id={} attempts={attempts} reason={} advice={}",
            self.id,
            reason(error),
            error.retry_advice().code(),
        );
    }
}

/// A short, fixed-vocabulary name for what went wrong: `api_503`, `protocol_html`,
/// `transport_timeout`...
fn reason(error: &Error) -> String {
    match error {
        Error::Response(ResponseError::Api(a)) => format!("api_{}", a.code),
        Error::Response(ResponseError::Protocol(p)) => format!("protocol_{}", p.kind.code()),
        Error::Transport(t) => format!("transport_{}", t.kind.code()),
        Error::Validation(v) => format!("validation_{}", v.rule.code()),
        Error::Entropy(_) => "entropy".to_owned(),
        Error::Callback(c) => format!("callback_{}", c.reason()),
        Error::Auth(a) => format!("auth_{}", a.reason()),
    }
}
