//! Switchable faults: what a flaky network, an overloaded gateway or a broken proxy does to a
//! request, so that clients can be tested for exactly the cases where a billable start must not
//! be retried blindly.
//!
//! Faults queue up: each [`crate::MockServer::inject_fault`] adds one fault for a number of
//! requests, and requests to the ECP endpoints consume them in order.

use std::collections::VecDeque;
use std::time::Duration;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// One fault, applied to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Sleeps this long before handling the request, then answers normally: a slow gateway, to
    /// exercise client read timeouts.
    Delay(Duration),
    /// Handles the request (a start IS placed), then closes the connection with a TCP reset
    /// without writing a byte: the ambiguous case where the client cannot know whether the call
    /// exists.
    ResetBeforeResponse,
    /// Handles the request, sends the headers with the full `Content-Length` and half of the
    /// body, then resets the connection.
    ResetMidBody,
    /// Answers HTTP 502 with an nginx error page before the request reaches the service (nothing
    /// placed): what a proxy in front of the API returns.
    Html502,
    /// Handles the request, then answers HTTP 200 with an empty body.
    EmptyBody,
    /// Handles the request, then answers HTTP 200 with the truncated JSON
    /// `{"code":200,"obj":{"sess`.
    GarbageJson,
    /// Handles the request, then answers HTTP 200 with a body of exactly this many bytes: the
    /// real answer padded with a `padding` field (valid JSON when there is room), to exercise
    /// client response-size limits.
    Oversized(usize),
    /// Refuses the request with `{"code":416,"msg":"rate limited"}` before it reaches the
    /// service (nothing placed): safe to retry with backoff.
    RateLimited,
    /// Handles the request (a start IS placed), then answers
    /// `{"code":500,"msg":"server internal error"}`: the outcome is unknown to the client.
    ServerError,
    /// Refuses the request with `{"code":503,"msg":"server busy"}` before it reaches the service
    /// (nothing placed).
    Busy503,
    /// Answers `302 Found` before the request reaches the service (nothing placed), with a
    /// `Location` on the mock's own `/_mock/redirect-target` plus the original path, which
    /// answers a success and counts its hits
    /// ([`crate::MockServer::redirect_target_hits`]): a client that follows redirects both
    /// leaks its signed headers and reports a call that does not exist.
    Redirect,
}

/// Every fault kind's wire name, as the control API and the recorded requests spell it.
pub const FAULT_KINDS: [&str; 11] = [
    "delay",
    "reset_before_response",
    "reset_mid_body",
    "html_502",
    "empty_body",
    "garbage_json",
    "oversized",
    "rate_limited",
    "server_error",
    "busy_503",
    "redirect",
];

impl Fault {
    /// The fault's wire name (one of [`FAULT_KINDS`]).
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Delay(_) => "delay",
            Fault::ResetBeforeResponse => "reset_before_response",
            Fault::ResetMidBody => "reset_mid_body",
            Fault::Html502 => "html_502",
            Fault::EmptyBody => "empty_body",
            Fault::GarbageJson => "garbage_json",
            Fault::Oversized(_) => "oversized",
            Fault::RateLimited => "rate_limited",
            Fault::ServerError => "server_error",
            Fault::Busy503 => "busy_503",
            Fault::Redirect => "redirect",
        }
    }

    /// Builds a fault from its wire name and its parameter: `ms` for `delay`, `bytes` for
    /// `oversized`. The control API and the binary use this, so every language names faults the
    /// same way.
    pub fn from_kind(kind: &str, ms: Option<u64>, bytes: Option<usize>) -> Result<Fault, String> {
        let fault = match kind {
            "delay" => Fault::Delay(Duration::from_millis(ms.ok_or("fault 'delay' needs ms")?)),
            "reset_before_response" => Fault::ResetBeforeResponse,
            "reset_mid_body" => Fault::ResetMidBody,
            "html_502" => Fault::Html502,
            "empty_body" => Fault::EmptyBody,
            "garbage_json" => Fault::GarbageJson,
            "oversized" => Fault::Oversized(bytes.ok_or("fault 'oversized' needs bytes")?),
            "rate_limited" => Fault::RateLimited,
            "server_error" => Fault::ServerError,
            "busy_503" => Fault::Busy503,
            "redirect" => Fault::Redirect,
            other => {
                return Err(format!(
                    "unknown fault kind '{other}', expected one of {}",
                    FAULT_KINDS.join(", ")
                ));
            }
        };
        Ok(fault)
    }

    /// Whether the fault turns the request away before the service handles it, so that nothing
    /// is placed and the start is not counted.
    pub(crate) fn rejects_before_handler(&self) -> bool {
        matches!(
            self,
            Fault::Html502 | Fault::RateLimited | Fault::Busy503 | Fault::Redirect
        )
    }
}

impl Serialize for Fault {
    /// `{"kind":"delay","ms":1500}`, `{"kind":"oversized","bytes":1048576}`, `{"kind":"html_502"}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", self.kind())?;
        match self {
            Fault::Delay(d) => map.serialize_entry("ms", &d.as_millis())?,
            Fault::Oversized(bytes) => map.serialize_entry("bytes", bytes)?,
            _ => {}
        }
        map.end()
    }
}

/// The page nginx writes for a 502, which a client must report as a protocol error rather
/// than choke on.
pub(crate) const NGINX_502_HTML: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// The page nginx writes with a 302.
pub(crate) const NGINX_302_HTML: &str = "<html>\r\n<head><title>302 Found</title></head>\r\n<body>\r\n<center><h1>302 Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// The truncated body of [`Fault::GarbageJson`].
pub(crate) const GARBAGE_JSON: &str = r#"{"code":200,"obj":{"sess"#;

/// Faults waiting for requests, in the order they were injected.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue(VecDeque<(Fault, usize)>);

impl FaultQueue {
    /// Queues `fault` for the next `times` requests after those already queued.
    pub(crate) fn push(&mut self, fault: Fault, times: usize) {
        if times > 0 {
            self.0.push_back((fault, times));
        }
    }

    /// The fault for the request now being handled, if any.
    pub(crate) fn take(&mut self) -> Option<Fault> {
        let (fault, left) = self.0.front_mut()?;
        let fault = fault.clone();
        *left -= 1;
        if *left == 0 {
            self.0.pop_front();
        }
        Some(fault)
    }

    /// How many faults are queued (each for one or more requests).
    pub(crate) fn entries(&self) -> usize {
        self.0.len()
    }

    /// How many requests the queued faults will still apply to.
    pub(crate) fn pending(&self) -> usize {
        self.0.iter().map(|(_, n)| *n).sum()
    }

    /// Drops every queued fault.
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_applies_in_order_and_counts_down() {
        let mut q = FaultQueue::default();
        q.push(Fault::RateLimited, 2);
        q.push(Fault::Html502, 0);
        q.push(Fault::EmptyBody, 1);
        assert_eq!(q.pending(), 3);
        assert_eq!(q.take(), Some(Fault::RateLimited));
        assert_eq!(q.take(), Some(Fault::RateLimited));
        assert_eq!(q.take(), Some(Fault::EmptyBody));
        assert_eq!(q.take(), None);
    }

    #[test]
    fn every_kind_round_trips() {
        for kind in FAULT_KINDS {
            let f = Fault::from_kind(kind, Some(5), Some(7)).unwrap();
            assert_eq!(f.kind(), kind);
        }
        assert!(Fault::from_kind("delay", None, None).is_err());
        assert!(Fault::from_kind("nope", None, None).is_err());
        assert_eq!(
            serde_json::to_string(&Fault::Delay(Duration::from_millis(5))).unwrap(),
            r#"{"kind":"delay","ms":5}"#
        );
    }
}
