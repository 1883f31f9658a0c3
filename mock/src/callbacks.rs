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
use yunxin_ecp::callback::{CALL_END_EVENT, sign_callback};
use yunxin_ecp::signing::unix_millis_now;

use crate::state::{CallbackDelivery, CallbackJob, Shared};
use crate::watch::POLL;

/// Largest callback answer read back (the body is discarded; it is read so the connection can be
/// reused).
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

/// Delivers one record (twice when duplicates are configured) to the URL set at the call's end.
/// Its place among the waiting callbacks is given back before the last delivery is recorded,
/// so that whoever sees the delivery may count on the room.
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
    let attempts = if shared.config.duplicate_callbacks {
        2
    } else {
        1
    };
    let body = callback_body(&job.record_json);
    for attempt in 1..=attempts {
        if shared.stopping() {
            return release();
        }
        let delivery = deliver(agent, &url, job, &body, attempt);
        if attempt == attempts {
            release();
        }
        let size = delivery.body.len();
        shared.state().callbacks.push(delivery, size);
    }
}

/// One signed POST, recorded with the receiver's status or the error.
fn deliver(
    agent: &ureq::Agent,
    url: &str,
    job: &CallbackJob,
    body: &str,
    attempt: u32,
) -> CallbackDelivery {
    let signed = sign_callback(&job.credentials, body.as_bytes(), unix_millis_now());
    let headers: Vec<(String, String)> = signed
        .pairs()
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut request = agent.post(url);
    for (name, value) in &headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let (status, error) = match request.send(body.as_bytes()) {
        Ok(mut response) => {
            let _ = response
                .body_mut()
                .with_config()
                .limit(MAX_ANSWER_BYTES)
                .read_to_vec();
            (Some(response.status().as_u16()), None)
        }
        Err(e) => (None, Some(e.to_string())),
    };
    CallbackDelivery {
        session: job.session.clone(),
        url: url.to_owned(),
        attempt,
        body: body.to_owned(),
        headers,
        status,
        error,
    }
}

/// How long [`crate::MockServer::wait_for_callbacks`] sleeps between looks.
pub(crate) const WAIT_STEP: Duration = Duration::from_millis(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_matches_the_documented_layout() {
        assert_eq!(callback_body("{}"), r#"{"callback":"{}","eventType":"10"}"#);
        assert_eq!(
            callback_body(r#"{"members":"[\"1\"]"}"#),
            r#"{"callback":"{\"members\":\"[\\\"1\\\"]\"}","eventType":"10"}"#
        );
    }
}
