//! What an exchange reports as it goes, as data: every driver (the blocking client through the
//! `log` facade, the Python `AsyncClient` through `logging`, a C program through its own logger)
//! emits the same events with the same words, because they are made here once.
//!
//! | level | name | fields |
//! |---|---|---|
//! | debug | `request sent` | `id`, `endpoint`, `path`, `attempt` |
//! | debug | `response` | `id`, `attempt`, `http_status`, `code` (when the body had one), `protocol` (when unreadable), `elapsed_ms` |
//! | debug | `no response` | `id`, `attempt`, `transport`, `maybe_sent`, `elapsed_ms` |
//! | info | `retry` | `id`, `attempt` (the one that failed), `reason`, `delay_ms` |
//! | warn | `gave up` | `id`, `attempts`, `reason`, `advice` |
//! | warn | `cancelled` | `id`, `endpoint`, `attempt`, `advice` (a driver's caller gave up on an attempt that may have been sent) |
//!
//! Fields are `key=value` pairs after the name, values without spaces. `id` is 8 random hex
//! characters drawn once per exchange and kept across its retries, so one call's lines can be
//! told apart from another's. Only what is safe is reported: never a header (the `CheckSum` with
//! its `Nonce` and `CurTime` is a five-minute key), never a body or a server's message (phone
//! numbers, and whatever a hostile server chooses to echo), and the path with its phone numbers
//! masked by [`mask_numbers`].

use std::fmt;

use serde::Serialize;

use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::mask::mask_numbers;
use crate::response::ResponseError;

/// How much an event matters, as the `log` levels name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Every attempt: sent, answered.
    Debug,
    /// A retry.
    Info,
    /// The exchange ended without a result, or was abandoned after it may have been sent.
    Warn,
}

impl Level {
    /// A stable identifier shared by the bindings.
    pub fn code(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
        }
    }
}

/// One event: its level, its name and its `key=value` fields; `Display` gives the log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// How much it matters.
    pub level: Level,
    /// What happened: `request sent`, `response`, `no response`, `retry`, `gave up`, `cancelled`.
    pub name: &'static str,
    /// The fields, in order; no value holds a space.
    pub fields: Vec<(&'static str, String)>,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        for (key, value) in &self.fields {
            write!(f, " {key}={value}")?;
        }
        Ok(())
    }
}

/// Builds the events of one exchange, under its id.
#[derive(Debug, Clone)]
pub(crate) struct Reporter {
    pub(crate) id: String,
    endpoint: Endpoint,
    path: String,
}

impl Reporter {
    pub(crate) fn new(id: String, endpoint: Endpoint, path: &str) -> Self {
        Reporter {
            id,
            endpoint,
            path: mask_numbers(path).into_owned(),
        }
    }

    fn event(&self, level: Level, name: &'static str, rest: Vec<(&'static str, String)>) -> Event {
        let mut fields = Vec::with_capacity(rest.len() + 1);
        fields.push(("id", self.id.clone()));
        fields.extend(rest);
        Event {
            level,
            name,
            fields,
        }
    }

    pub(crate) fn sent(&self, attempt: u32) -> Event {
        self.event(
            Level::Debug,
            "request sent",
            vec![
                ("endpoint", self.endpoint.code().to_owned()),
                ("path", self.path.clone()),
                ("attempt", attempt.to_string()),
            ],
        )
    }

    /// What came back to attempt `attempt` (or did not), and how long it took. `status` is the
    /// HTTP status of an answer that parsed to a result.
    pub(crate) fn outcome<T>(
        &self,
        attempt: u32,
        result: &Result<T, Error>,
        status: u16,
        elapsed_ms: u128,
    ) -> Event {
        let attempt = ("attempt", attempt.to_string());
        let ms = ("elapsed_ms", elapsed_ms.to_string());
        let (name, fields) = match result {
            Err(Error::Transport(t)) => (
                "no response",
                vec![
                    attempt,
                    ("transport", t.kind.code().to_owned()),
                    ("maybe_sent", t.maybe_sent.to_string()),
                    ms,
                ],
            ),
            Ok(_) => (
                "response",
                vec![
                    attempt,
                    ("http_status", status.to_string()),
                    ("code", "200".to_owned()),
                    ms,
                ],
            ),
            Err(Error::Response(ResponseError::Api(a))) => (
                "response",
                vec![
                    attempt,
                    ("http_status", a.http_status.to_string()),
                    ("code", a.code.to_string()),
                    ms,
                ],
            ),
            Err(Error::Response(ResponseError::Protocol(p))) => (
                "response",
                vec![
                    attempt,
                    ("http_status", p.http_status.to_string()),
                    ("protocol", p.kind.code().to_owned()),
                    ms,
                ],
            ),
            Err(e) => ("no response", vec![attempt, ("error", reason(e)), ms]),
        };
        self.event(Level::Debug, name, fields)
    }

    pub(crate) fn retry(&self, attempt: u32, error: &Error, delay_ms: u128) -> Event {
        self.event(
            Level::Info,
            "retry",
            vec![
                ("attempt", attempt.to_string()),
                ("reason", reason(error)),
                ("delay_ms", delay_ms.to_string()),
            ],
        )
    }

    pub(crate) fn gave_up(&self, attempts: u32, error: &Error) -> Event {
        self.event(
            Level::Warn,
            "gave up",
            vec![
                ("attempts", attempts.to_string()),
                ("reason", reason(error)),
                ("advice", error.retry_advice().code().to_owned()),
            ],
        )
    }

    pub(crate) fn cancelled(&self, attempt: u32, advice: &'static str) -> Event {
        self.event(
            Level::Warn,
            "cancelled",
            vec![
                ("endpoint", self.endpoint.code().to_owned()),
                ("attempt", attempt.to_string()),
                ("advice", advice.to_owned()),
            ],
        )
    }
}

/// A short, fixed-vocabulary name for what went wrong: `api_503`, `protocol_html`,
/// `transport_timeout`...
pub(crate) fn reason(error: &Error) -> String {
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
