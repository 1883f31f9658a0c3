//! Text for a terminal from what clients sent, and the mock's own lines about what it does
//! unasked: one line per callback delivery attempt.
//!
//! A request's path and parameters are chosen by anyone who can reach the port: printed raw, a
//! line feed in a parameter starts a line of the sender's choosing (`#1 FAKE -> accepted`), an
//! escape sequence rewrites the screen, and a bidi override shows the line's characters in
//! another order than they are. The same holds for a callback URL set through the control API
//! and for what the receiver answers. The rule itself is the core's
//! ([`yunxin_ecp::printable`]), shared with the command.
//!
//! Deliveries happen on the mock's callback worker, not in answer to a request, so a program
//! that runs the mock cannot poll for them the way it reads the request log: the worker hands
//! each attempt to the [`Console`] of [`crate::MockConfig::console`] as it is made, before the
//! attempt is recorded, so that whoever sees it in [`crate::MockServer::callbacks`] may count on
//! its line having been handed over.

use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};

use serde::Serialize;
use serde_json::json;

pub use yunxin_ecp::printable::printable;

use crate::state::CallbackDelivery;

/// `value` as one line of JSON safe for a terminal (see [`yunxin_ecp::printable::json`]).
pub fn json_line(value: &impl Serialize) -> String {
    // A value built from strings, numbers and JSON values serializes.
    yunxin_ecp::printable::json(value, false).unwrap_or_default()
}

/// What a delivery attempt came to, in a word: `delivered` (2xx), `refused` (any other
/// status) or `failed` (no answer: the connection was refused, timed out, ...).
pub fn delivery_verdict(delivery: &CallbackDelivery) -> &'static str {
    match delivery.status {
        Some(200..=299) => "delivered",
        Some(_) => "refused",
        None => "failed",
    }
}

/// The line printed for one delivery attempt, e.g.
/// `callback POST http://127.0.0.1:8000/cb -> refused (HTTP 403): checksum_mismatch session=…`.
/// Everything in it that came from outside (the URL, the receiver's reason, the connection
/// error) is escaped by [`printable`], so the line stays one line.
pub fn delivery_line(delivery: &CallbackDelivery) -> String {
    let mut line = format!(
        "callback POST {} -> {}",
        delivery.url,
        delivery_verdict(delivery)
    );
    if let Some(status) = delivery.status {
        line.push_str(&format!(" (HTTP {status})"));
    }
    match (&delivery.error, &delivery.reason) {
        (Some(error), _) => line.push_str(&format!(": {error}")),
        (None, Some(reason)) => line.push_str(&format!(": {reason}")),
        (None, None) => {}
    }
    line.push_str(&format!(" session={}", delivery.session));
    if delivery.attempt > 1 {
        line.push_str(" [duplicate]");
    }
    if delivery.retry > 0 {
        line.push_str(&format!(" [retry {}]", delivery.retry));
    }
    printable(&line).into_owned()
}

/// The `--json` form of [`delivery_line`]: one JSON object on one line, without the body or
/// the headers (a live `CheckSum` would let a copied delivery verify at the receiver).
pub fn delivery_json(delivery: &CallbackDelivery) -> String {
    json_line(&json!({
        "event": "callback",
        "url": delivery.url,
        "session": delivery.session,
        "attempt": delivery.attempt,
        "retry": delivery.retry,
        "verdict": delivery_verdict(delivery),
        "http_status": delivery.status,
        "error": delivery.error,
        "reason": delivery.reason,
    }))
}

/// Where the mock prints its lines: one per callback delivery attempt, as plain text or as
/// JSON. Set it in [`crate::MockConfig::console`]; the commands that run the mock use
/// [`Console::stdout`], a test [`Console::with_sink`] to collect the lines.
#[derive(Clone)]
pub struct Console {
    sink: Arc<dyn Fn(&str) + Send + Sync>,
    json: bool,
}

impl fmt::Debug for Console {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Console")
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

/// Lines waiting for standard output at most: a parent process that never reads the mock's
/// output (it only wanted the first line) must not stall the deliveries once the pipe is full.
const STDOUT_BACKLOG: usize = 1024;

impl Console {
    /// Lines handed to `sink`, one call per line (without its line break), on the thread that
    /// made the attempt; `json` chooses [`delivery_json`] over [`delivery_line`].
    pub fn with_sink(json: bool, sink: impl Fn(&str) + Send + Sync + 'static) -> Console {
        Console {
            sink: Arc::new(sink),
            json,
        }
    }

    /// Lines on standard output, each written whole and flushed. They are written by a thread
    /// of their own, so that a full pipe never holds up a delivery: when more than
    /// 1024 lines wait, newer ones are dropped, and the next line written says
    /// how many were.
    pub fn stdout(json: bool) -> Console {
        let (tx, rx) = std::sync::mpsc::sync_channel::<String>(STDOUT_BACKLOG);
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&dropped);
        // Ends when the last copy of the console (and with it the sender) is gone.
        std::thread::spawn(move || {
            for line in rx {
                let mut out = std::io::stdout().lock();
                let lost = counted.swap(0, Ordering::AcqRel);
                if lost > 0 {
                    let _ = writeln!(out, "({lost} lines dropped: standard output was not read)");
                }
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
        });
        let tx: SyncSender<String> = tx;
        Console::with_sink(json, move |line| {
            if let Err(TrySendError::Full(_)) = tx.try_send(line.to_owned()) {
                dropped.fetch_add(1, Ordering::AcqRel);
            }
        })
    }

    /// Prints the line of one delivery attempt.
    pub fn delivery(&self, delivery: &CallbackDelivery) {
        let line = if self.json {
            delivery_json(delivery)
        } else {
            delivery_line(delivery)
        };
        (self.sink)(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(
        status: Option<u16>,
        error: Option<&str>,
        reason: Option<&str>,
    ) -> CallbackDelivery {
        CallbackDelivery {
            session: "4ea1e712-cfd5-4891-b66a-4aa71fe65383".to_owned(),
            url: "http://127.0.0.1:9/cb\n#2 FAKE".to_owned(),
            attempt: 1,
            retry: 0,
            body: String::new(),
            headers: Vec::new(),
            status,
            error: error.map(str::to_owned),
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn lines_say_what_happened_on_one_line() {
        assert_eq!(
            delivery_line(&delivery(Some(200), None, None)),
            "callback POST http://127.0.0.1:9/cb\\u{a}#2 FAKE -> delivered (HTTP 200) \
             session=4ea1e712-cfd5-4891-b66a-4aa71fe65383"
        );
        assert_eq!(
            delivery_line(&delivery(Some(403), None, Some("stale\u{1b}[2J"))),
            "callback POST http://127.0.0.1:9/cb\\u{a}#2 FAKE -> refused (HTTP 403): \
             stale\\u{1b}[2J session=4ea1e712-cfd5-4891-b66a-4aa71fe65383"
        );
        let mut duplicate = delivery(None, Some("io: Connection refused"), None);
        duplicate.attempt = 2;
        duplicate.retry = 1;
        assert_eq!(
            delivery_line(&duplicate),
            "callback POST http://127.0.0.1:9/cb\\u{a}#2 FAKE -> failed: io: Connection refused \
             session=4ea1e712-cfd5-4891-b66a-4aa71fe65383 [duplicate] [retry 1]"
        );
        let json: serde_json::Value =
            serde_json::from_str(&delivery_json(&delivery(Some(403), None, Some("stale"))))
                .unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "event": "callback", "url": "http://127.0.0.1:9/cb\n#2 FAKE",
                "session": "4ea1e712-cfd5-4891-b66a-4aa71fe65383", "attempt": 1, "retry": 0,
                "verdict": "refused", "http_status": 403, "error": null, "reason": "stale",
            })
        );
    }

    #[test]
    fn a_console_hands_each_line_to_its_sink() {
        let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = Arc::clone(&lines);
        let console =
            Console::with_sink(true, move |line| kept.lock().unwrap().push(line.to_owned()));
        console.delivery(&delivery(Some(200), None, None));
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 1);
        let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["event"], "callback", "{}", lines[0]);
    }
}
