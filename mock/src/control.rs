//! The control API under `/_mock/`, on the same port as the ECP endpoints and not signed, so that
//! test suites in any language (and users of the binary) can steer the mock and read what it saw
//! with plain HTTP. Parameters are form fields, in the body or the query string; answers are JSON.
//! The routes are listed in the crate documentation.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use ureq::http::Uri;
use yunxin_ecp::server::Params;

use crate::config::Outcome;
use crate::faults::{FAULT_KINDS, Fault};
use crate::http::{Request, Response};
use crate::state::{CallbackDelivery, ReceivedCallback, Shared, State};

/// Where the control routes live.
pub(crate) const PREFIX: &str = "/_mock";

/// Every route, for `GET /_mock`.
const ROUTES: [&str; 15] = [
    "GET /_mock",
    "GET /_mock/stats",
    "GET /_mock/requests",
    "GET /_mock/sessions",
    "GET /_mock/callbacks",
    "POST /_mock/outcome",
    "POST /_mock/fault",
    "POST /_mock/faults/clear",
    "POST /_mock/latency",
    "POST /_mock/callback_url",
    "POST /_mock/ecp_enabled",
    "POST /_mock/reset",
    "POST /_mock/inbox",
    "GET /_mock/inbox",
    "ANY /_mock/redirect-target/<path>",
];

/// Most fault entries the control API queues: anyone who can reach the port may POST, and
/// each entry is kept until requests consume it.
const MAX_QUEUED_FAULTS: usize = 1_000;
/// Most numbers with an outcome of their own set through the control API.
const MAX_OUTCOMES: usize = 10_000;
/// Longest number an outcome is set for: real numbers have at most 12 digits.
const MAX_NUMBER_LEN: usize = 32;
/// Longest hang cause: the service's are words like `NO_USER_RESPONSE`, and every record of a
/// call to that number carries it.
const MAX_HANG_CAUSE_LEN: usize = 64;
/// Longest callback URL accepted.
const MAX_URL_LEN: usize = 2_048;

/// The route that records callbacks POSTed to it.
pub(crate) const INBOX: &str = "/_mock/inbox";
/// Where the `redirect` fault sends clients (the original path appended).
pub(crate) const REDIRECT_TARGET: &str = "/_mock/redirect-target";
/// What the redirect target answers: a success, so that a client which follows redirects
/// believes the call was placed while the mock placed nothing.
const REDIRECT_TARGET_ANSWER: &str = r#"{"code":200,"obj":{"session":"redirect-target-session"}}"#;

/// Whether `path` is a control route.
pub(crate) fn is_control(path: &str) -> bool {
    path == PREFIX || path.starts_with("/_mock/")
}

/// Serves one control request.
pub(crate) fn handle(shared: &Shared, request: &Request) -> Response {
    if is_redirect_target(&request.path) {
        shared.state().redirect_target_hits += 1;
        return Response::json(200, REDIRECT_TARGET_ANSWER);
    }
    let params = Params::parse(&request.query, &request.body);
    let route = request.path.trim_end_matches('/');
    // The logs are copied as pointers under the lock and serialized after it is released, so
    // that reading a full log never stalls the requests being served, and straight into the
    // socket, so that a reader that does not read holds no copy.
    let result = match (request.method.as_str(), route) {
        ("GET", PREFIX) => Ok(ok_json(&json!({ "routes": ROUTES, "faults": FAULT_KINDS }))),
        ("GET", "/_mock/stats") => Ok(ok_json(&shared.stats())),
        // A `let` ends the lock guard's life; inside the call it would last to the end of
        // the `match`, through the serialization.
        ("GET", "/_mock/requests") => {
            let requests = shared.state().requests.snapshot();
            Ok(Response::json_array(requests))
        }
        ("GET", "/_mock/sessions") => {
            let records = shared.state().records();
            Ok(Response::json_array(records))
        }
        ("GET", "/_mock/callbacks") => {
            let callbacks = shared.state().callbacks.snapshot();
            Ok(Response::json_array_of(callbacks, CallbackDelivery::shown))
        }
        ("POST", "/_mock/outcome") => set_outcome(shared, &params),
        ("POST", "/_mock/fault") => inject_fault(shared, &params),
        ("POST", "/_mock/faults/clear") => {
            shared.state().faults.clear();
            Ok(done())
        }
        ("POST", "/_mock/latency") => number_of(&params, "ms").map(|ms| {
            shared.state().latency = Duration::from_millis(ms.unwrap_or(0));
            done()
        }),
        ("POST", "/_mock/callback_url") => callback_url(&params).map(|url| {
            shared.state().callback_url = url;
            done()
        }),
        ("POST", "/_mock/ecp_enabled") => match params.get("enabled") {
            Some("true" | "1") => {
                shared.state().ecp_enabled = true;
                Ok(done())
            }
            Some("false" | "0") => {
                shared.state().ecp_enabled = false;
                Ok(done())
            }
            _ => Err("enabled must be true or false".to_owned()),
        },
        ("POST", "/_mock/reset") => {
            reset(shared);
            Ok(done())
        }
        // Answers like a receiver that accepted the callback: HTTP 200, promptly.
        ("POST", INBOX) => {
            let received = ReceivedCallback {
                headers: request.headers.clone(),
                body: request.body.clone(),
                received_at_ms: yunxin_ecp::signing::unix_millis_now(),
            };
            let size = received.size();
            shared.state().inbox.push(received, size);
            Ok(ok_json(&json!({ "code": 200 })))
        }
        ("GET", INBOX) => {
            let inbox = shared.state().inbox.snapshot();
            Ok(Response::json_array_of(inbox, ReceivedCallback::shown))
        }
        (_, route)
            if ROUTES
                .iter()
                .any(|r| r.split_once(' ').map(|(_, p)| p) == Some(route)) =>
        {
            return error(405, "wrong method for this control route");
        }
        _ => return error(404, "no such control route: GET /_mock lists them"),
    };
    result.unwrap_or_else(|e| error(400, &e))
}

/// Whether `path` is the redirect target or under it.
fn is_redirect_target(path: &str) -> bool {
    path.strip_prefix(REDIRECT_TARGET)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Returns the server to the state it started in. Callbacks still waiting for their call to end
/// belong to the old generation and are dropped.
pub(crate) fn reset(shared: &Shared) {
    let mut state = shared.state();
    let generation = state.generation + 1;
    *state = State::new(&shared.config);
    state.generation = generation;
}

/// `POST /_mock/outcome`.
fn set_outcome(shared: &Shared, params: &Params) -> Result<Response, String> {
    let number = params
        .get("number")
        .filter(|n| !n.is_empty())
        .ok_or("number is required (or 'default')")?;
    if number.chars().count() > MAX_NUMBER_LEN {
        return Err(format!("number is over {MAX_NUMBER_LEN} characters"));
    }
    let outcome = match (number_of(params, "duration_sec")?, params.get("hang_cause")) {
        (Some(secs), None) => Outcome::answered(secs),
        (None, Some(cause)) if cause.chars().count() > MAX_HANG_CAUSE_LEN => {
            return Err(format!(
                "hang_cause is over {MAX_HANG_CAUSE_LEN} characters"
            ));
        }
        (None, Some(cause)) if !cause.is_empty() => Outcome::no_answer(cause),
        _ => return Err("give either duration_sec (answered) or hang_cause (no answer)".into()),
    };
    let mut state = shared.state();
    if number == "default" {
        state.default_outcome = outcome;
    } else if state.outcomes.len() >= MAX_OUTCOMES && !state.outcomes.contains_key(number) {
        return Err(format!(
            "outcomes are set for {MAX_OUTCOMES} numbers already: POST /_mock/reset first"
        ));
    } else {
        state.outcomes.insert(number.to_owned(), outcome);
    }
    Ok(done())
}

/// The `url` field of `POST /_mock/callback_url`: empty for none, else an http or https URL
/// (the callback worker speaks nothing else) of a sane length.
fn callback_url(params: &Params) -> Result<Option<String>, String> {
    let Some(url) = params.get("url").filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    if url.len() > MAX_URL_LEN {
        return Err(format!("url is over {MAX_URL_LEN} bytes"));
    }
    // Named apart from the URI rules below: a line break would end the callback's request
    // line and start a header of the sender's choosing, and it reaches the callback log.
    if url.chars().any(char::is_control) {
        return Err("url must not contain CR, LF or another control character".to_owned());
    }
    let uri = url
        .parse::<Uri>()
        .map_err(|e| format!("url must be an http:// or https:// URL: {e}"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return Err("url must be an http:// or https:// URL with a host".to_owned());
    }
    Ok(Some(url.to_owned()))
}

/// `POST /_mock/fault`.
fn inject_fault(shared: &Shared, params: &Params) -> Result<Response, String> {
    let kind = params.get("kind").ok_or("kind is required")?;
    let bytes = number_of(params, "bytes")?
        .map(|b| usize::try_from(b).map_err(|_| "bytes is too large".to_owned()))
        .transpose()?;
    let fault = Fault::from_kind(kind, number_of(params, "ms")?, bytes)?;
    let times = number_of(params, "times")?.unwrap_or(1);
    let times = usize::try_from(times).map_err(|_| "times is too large".to_owned())?;
    let mut state = shared.state();
    if state.faults.entries() >= MAX_QUEUED_FAULTS {
        return Err(format!(
            "{MAX_QUEUED_FAULTS} faults are queued already: POST /_mock/faults/clear first"
        ));
    }
    state.faults.push(fault, times);
    Ok(done())
}

/// An optional decimal field.
fn number_of(params: &Params, name: &str) -> Result<Option<u64>, String> {
    match params.get(name) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("{name} must be a non-negative integer")),
    }
}

fn ok_json(value: &impl Serialize) -> Response {
    // Every value served here is built from strings, integers and JSON values, which serialize.
    Response::json(200, serde_json::to_string(value).unwrap_or_default())
}

fn done() -> Response {
    Response::json(200, r#"{"ok":true}"#)
}

fn error(status: u16, message: &str) -> Response {
    Response::json(status, json!({ "ok": false, "error": message }).to_string())
}
