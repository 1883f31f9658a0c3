//! Call-end callbacks: when a simulated call ends, one background worker POSTs its record to the
//! configured URL, signed exactly like the service's (`MD5` of the raw body, `CheckSum` over the
//! secret, the MD5 and `CurTime` in milliseconds). Deliveries run off the request threads, so a
//! slow receiver never delays an API answer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde::Serialize;
use yunxin_ecp::callback::{CALL_END_EVENT, CallbackHeaders, sign_callback};
use yunxin_ecp::signing::unix_millis_now;

use crate::state::{CallbackDelivery, CallbackJob, Retry, Shared};
use crate::watch::POLL;

/// Largest callback answer read back: it is read for a refusal's reason, and so that the
/// connection can be reused.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// The callback body. Field order is the documented examples': `callback`, then `eventType`.
#[derive(Serialize)]
struct CallbackBody<'a> {
    /// The record, as a JSON string inside the JSON body.
    callback: &'a str,
    #[serde(rename = "eventType")]
    event_type: &'static str,
}

/// The exact body bytes for a record: `{"callback":"<record JSON>","eventType":"10"}`.
pub(crate) fn callback_body(record_json: &str) -> String {
    // A struct of two strings always serializes.
    serde_json::to_string(&CallbackBody {
        callback: record_json,
        event_type: CALL_END_EVENT,
    })
    .unwrap_or_default()
}

/// Runs the worker until the server stops: jobs wait in due order, and callbacks still waiting
/// at shutdown are dropped.
pub(crate) fn run_worker(shared: Arc<Shared>, jobs: Receiver<CallbackJob>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(shared.config.callback_timeout))
        .http_status_as_error(false)
        // The receiver is the developer's own server: never route it through an environment proxy.
        .proxy(None)
        .build()
        .into();
    // Keyed by (due time, arrival number), so equal due times keep their order.
    let mut waiting: BTreeMap<(Instant, u64), CallbackJob> = BTreeMap::new();
    let mut arrivals = 0u64;
    while !shared.stopping() {
        let wait = waiting
            .keys()
            .next()
            .map_or(POLL, |(due, _)| {
                due.saturating_duration_since(Instant::now())
            })
            .min(POLL);
        match jobs.recv_timeout(wait) {
            Ok(job) => {
                arrivals += 1;
                waiting.insert((job.due, arrivals), job);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        while let Some(entry) = waiting.first_entry() {
            if entry.key().0 > Instant::now() || shared.stopping() {
                break;
            }
            let job = entry.remove();
            deliver_all(&shared, &agent, &job);
        }
    }
}

/// Delivers one record (twice when duplicates are configured), or the one delivery a retry
/// repeats, to the URL set at the call's end. Its place among the waiting callbacks is given
/// back before the last delivery is recorded, so that whoever sees the delivery may count on
/// the room. A delivery to retry is scheduled like a new callback (its own place, or dropped
/// and counted when there is none), so that retries cannot grow the queue past its bound.
fn deliver_all(shared: &Shared, agent: &ureq::Agent, job: &CallbackJob) {
    let release = || {
        shared.pending_callbacks.fetch_sub(1, Ordering::AcqRel);
    };
    let url = {
        let state = shared.state();
        if state.generation != job.generation {
            drop(state);
            return release();
        }
        state.callback_url.clone()
    };
    let Some(url) = url else {
        return release();
    };
    let attempts: &[u32] = match (job.retry, shared.config.duplicate_callbacks) {
        (Some(retry), _) => &[retry.attempt],
        (None, true) => &[1, 2],
        (None, false) => &[1],
    };
    let number = job.retry.map_or(0, |r| r.number);
    let body = callback_body(&job.record_json);
    // Signed once for the job: a duplicate is the same signed request sent again, as a sender's
    // redelivery of an unacknowledged request is, so that a receiver's duplicate guard meets the
    // same delivery every time (a retry after a failure is a later job, signed at its own time).
    let signed = sign_callback(&job.credentials, body.as_bytes(), unix_millis_now());
    for (n, &attempt) in attempts.iter().enumerate() {
        if shared.stopping() {
            return release();
        }
        let delivery = deliver(agent, &url, job, &body, &signed, attempt, number);
        // Printed before it is recorded: whoever sees the delivery may count on its line.
        if let Some(console) = &shared.config.console {
            console.delivery(&delivery);
        }
        if n + 1 == attempts.len() {
            release();
        }
        if worth_retrying(&delivery) && number < shared.config.callback_retries {
            let wait = retry_delay(shared.config.callback_retry_delay, number);
            // A wait too long to represent never comes: no retry.
            if let Some(due) = Instant::now().checked_add(wait) {
                shared.schedule_callback(CallbackJob {
                    due,
                    session: job.session.clone(),
                    credentials: job.credentials.clone(),
                    record_json: job.record_json.clone(),
                    generation: job.generation,
                    retry: Some(Retry {
                        attempt,
                        number: number + 1,
                    }),
                });
            }
        }
        let size = delivery.body.len();
        shared.state().callbacks.push(delivery, size);
    }
}

/// Whether a delivery may be tried again: it got no answer (the receiver may be restarting),
/// or a 5xx (the receiver failed, and may not fail next time). A 4xx, or any other status, is
/// the receiver's answer to this very callback, and would be the same again.
fn worth_retrying(delivery: &CallbackDelivery) -> bool {
    delivery.error.is_some() || matches!(delivery.status, Some(500..=599))
}

/// The wait before retry `done + 1`: `first`, doubled for each retry already made.
fn retry_delay(first: Duration, done: u32) -> Duration {
    match 1u32.checked_shl(done) {
        Some(factor) => first.saturating_mul(factor),
        None => Duration::MAX,
    }
}

/// One signed POST, recorded with the receiver's status or the error.
fn deliver(
    agent: &ureq::Agent,
    url: &str,
    job: &CallbackJob,
    body: &str,
    signed: &CallbackHeaders,
    attempt: u32,
    retry: u32,
) -> CallbackDelivery {
    let headers: Vec<(String, String)> = signed
        .pairs()
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut request = agent.post(url);
    for (name, value) in &headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let (status, error, reason) = match request.send(body.as_bytes()) {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let answer = response
                .body_mut()
                .with_config()
                .limit(MAX_ANSWER_BYTES)
                .read_to_vec()
                .unwrap_or_default();
            let reason = if (200..300).contains(&status) {
                None
            } else {
                refusal_reason(&answer)
            };
            (Some(status), None, reason)
        }
        Err(e) => (None, Some(e.to_string()), None),
    };
    CallbackDelivery {
        session: job.session.clone(),
        url: url.to_owned(),
        attempt,
        retry,
        body: body.to_owned(),
        headers,
        status,
        error,
        reason,
    }
}

/// Most characters of a receiver's reason kept: a reason is a word or a sentence, and the
/// receiver chooses the body, up to [`MAX_ANSWER_BYTES`].
const MAX_REASON_CHARS: usize = 200;

/// The `reason` of a refusal's JSON body (`{"reason":"checksum_mismatch"}`, as the library's
/// integrations answer), cut to [`MAX_REASON_CHARS`]; `None` when the body is no JSON object or
/// has no such string or number.
fn refusal_reason(answer: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(answer).ok()?;
    let reason = match value.get("reason")? {
        serde_json::Value::String(text) => text.clone(),
        number @ serde_json::Value::Number(_) => number.to_string(),
        _ => return None,
    };
    Some(match reason.char_indices().nth(MAX_REASON_CHARS) {
        Some((at, _)) => format!("{}...", &reason[..at]),
        None => reason,
    })
}

/// How long [`crate::MockServer::wait_for_callbacks`] sleeps between looks.
pub(crate) const WAIT_STEP: Duration = Duration::from_millis(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_connection_errors_and_5xx_only_and_back_off() {
        let delivery = |status, error: Option<&str>| CallbackDelivery {
            session: String::new(),
            url: String::new(),
            attempt: 1,
            retry: 0,
            body: String::new(),
            headers: Vec::new(),
            status,
            error: error.map(str::to_owned),
            reason: None,
        };
        assert!(worth_retrying(&delivery(
            None,
            Some("io: Connection refused")
        )));
        assert!(worth_retrying(&delivery(Some(500), None)));
        assert!(worth_retrying(&delivery(Some(503), None)));
        for status in [200, 204, 302, 400, 403, 404, 413, 429] {
            assert!(!worth_retrying(&delivery(Some(status), None)), "{status}");
        }
        let second = Duration::from_secs(1);
        assert_eq!(retry_delay(second, 0), second);
        assert_eq!(retry_delay(second, 1), 2 * second);
        assert_eq!(retry_delay(second, 2), 4 * second);
        assert_eq!(retry_delay(second, 40), Duration::MAX);
    }

    #[test]
    fn a_refusal_reason_is_read_from_a_json_body_and_cut() {
        assert_eq!(
            refusal_reason(br#"{"reason":"checksum_mismatch"}"#).as_deref(),
            Some("checksum_mismatch")
        );
        assert_eq!(refusal_reason(br#"{"reason":413}"#).as_deref(), Some("413"));
        for none in [
            &b"success"[..],
            b"",
            br#"{"error":"x"}"#,
            br#"{"reason":null}"#,
            b"[1]",
        ] {
            assert_eq!(refusal_reason(none), None);
        }
        // Cut by characters, not bytes: a cut inside a character would not be text.
        let long = format!(r#"{{"reason":"{}"}}"#, "é".repeat(300));
        let cut = refusal_reason(long.as_bytes()).unwrap();
        assert_eq!(cut, format!("{}...", "é".repeat(200)));
    }

    #[test]
    fn body_matches_the_documented_layout() {
        assert_eq!(callback_body("{}"), r#"{"callback":"{}","eventType":"10"}"#);
        assert_eq!(
            callback_body(r#"{"members":"[\"1\"]"}"#),
            r#"{"callback":"{\"members\":\"[\\\"1\\\"]\"}","eventType":"10"}"#
        );
    }
}
