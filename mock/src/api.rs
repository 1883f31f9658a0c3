//! The three ECP endpoints, served like the real gateway: latency and faults first, then the
//! signature (any problem is the same `{"desc":"bad http header","code":414}`), then the
//! parameters (`{"code":414,"msg":"bad param '<field>'"}`), then the call itself.

use std::time::{Duration, Instant};

use serde_json::Value;
use yunxin_ecp::codes::RequestKind;
use yunxin_ecp::server::{self, Params, reply};
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::{Credentials, Endpoint, SessionKind, StartCall, StartConf, ValidationError};

use crate::config::Outcome;
use crate::control::REDIRECT_TARGET;
use crate::faults::{Fault, GARBAGE_JSON, NGINX_302_HTML, NGINX_502_HTML};
use crate::http::{Body, Request, Response};
use crate::records;
use crate::state::CallbackJob;
use crate::state::{RecordedRequest, Session, Shared, redact_headers};

/// What the connection does with a request's answer.
pub(crate) enum Reply {
    /// Writes this response.
    Send(Response),
    /// Resets the connection without writing anything.
    Reset,
    /// Writes the head and half the body, then resets.
    HalfThenReset(Response),
    /// Closes the connection without an answer: it was closed to make room while the request
    /// was held in a delay, before the service saw it.
    Dropped,
}

/// The service's verdict on one request, before any fault mangles it.
struct Answer {
    body: String,
    code: i64,
    refusal: Option<&'static str>,
    session: Option<String>,
}

impl Answer {
    fn new(code: i64, body: String) -> Answer {
        Answer {
            body,
            code,
            refusal: None,
            session: None,
        }
    }

    fn bad_param(e: &ValidationError) -> Answer {
        Answer::new(414, reply::bad_param(e.field))
    }

    fn error(code: i64, msg: &str) -> Answer {
        Answer::new(code, reply::error(code, msg))
    }
}

/// Serves a request to an ECP endpoint path, records it, and says what to put on the wire.
/// `pause` holds the request for the latency and a `delay` fault; it answers `false` when the
/// connection was closed meanwhile.
pub(crate) fn serve(
    shared: &Shared,
    endpoint: Endpoint,
    request: &Request,
    pause: &dyn Fn(Duration) -> bool,
) -> Reply {
    if request.method != "POST" {
        let mut response = Response::text(405, "only POST is accepted");
        response.extra_headers.push(("Allow", "POST".to_owned()));
        let mut recorded = record_of(request, Some(endpoint), None);
        recorded.http_status = Some(response.status);
        keep(shared, recorded);
        return Reply::Send(response);
    }
    let (latency, fault) = {
        let mut state = shared.state();
        (state.latency, state.faults.take())
    };
    let delay = match &fault {
        Some(Fault::Delay(delay)) => *delay,
        _ => Duration::ZERO,
    };
    let mut recorded = record_of(request, Some(endpoint), fault.clone());
    if !(pause(latency) && pause(delay)) {
        keep(shared, recorded);
        return Reply::Dropped;
    }

    let reply = match &fault {
        Some(f) if f.rejects_before_handler() => {
            let (response, code) = rejection(f, request);
            recorded.code = code;
            Reply::Send(response)
        }
        _ => {
            let answer = handle(shared, endpoint, request);
            recorded.code = Some(answer.code);
            recorded.refusal = answer.refusal.map(str::to_owned);
            recorded.session = answer.session.clone();
            mangle(fault.as_ref(), answer)
        }
    };
    recorded.http_status = match &reply {
        Reply::Send(r) | Reply::HalfThenReset(r) => Some(r.status),
        Reply::Reset | Reply::Dropped => None,
    };
    keep(shared, recorded);
    reply
}

/// Numbers and stores a recorded request. Requests are recorded before their answer is written,
/// so whatever a client saw is already visible to the test that sent it.
fn keep(shared: &Shared, mut recorded: RecordedRequest) {
    let mut state = shared.state();
    recorded.seq = state.next_seq();
    state.record(recorded);
}

/// Answers a request to a path that is not an ECP endpoint (HTTP 404), recording it.
pub(crate) fn not_found(shared: &Shared, request: &Request) -> Response {
    let response = Response::text(404, "not found");
    let mut recorded = record_of(request, None, None);
    recorded.http_status = Some(response.status);
    keep(shared, recorded);
    response
}

/// The request as it will be recorded; the verdict fields are filled in later.
fn record_of(
    request: &Request,
    endpoint: Option<Endpoint>,
    fault: Option<Fault>,
) -> RecordedRequest {
    RecordedRequest {
        seq: 0,
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        endpoint,
        headers: redact_headers(&request.headers),
        body: String::from_utf8_lossy(&request.body).into_owned(),
        fault,
        http_status: None,
        code: None,
        refusal: None,
        session: None,
    }
}

/// The answer of a fault that turns the request away before the service sees it.
fn rejection(fault: &Fault, request: &Request) -> (Response, Option<i64>) {
    match fault {
        Fault::Redirect => {
            let mut page = Response::new(302, "text/html", NGINX_302_HTML.as_bytes().to_vec());
            let host = request
                .local
                .map_or_else(|| "127.0.0.1".to_owned(), |a| a.to_string());
            let location = format!("http://{host}{REDIRECT_TARGET}{}", request.path);
            page.extra_headers.push(("Location", location));
            page.extra_headers.push(("Server", "nginx".to_owned()));
            (page, None)
        }
        Fault::RateLimited => (
            Response::json(200, reply::error(416, "rate limited")),
            Some(416),
        ),
        Fault::Busy503 => (
            Response::json(200, reply::error(503, "server busy")),
            Some(503),
        ),
        _ => {
            let mut page = Response::new(502, "text/html", NGINX_502_HTML.as_bytes().to_vec());
            page.extra_headers.push(("Server", "nginx".to_owned()));
            (page, None)
        }
    }
}

/// What a fault applied after the handler does to its answer.
fn mangle(fault: Option<&Fault>, answer: Answer) -> Reply {
    let json = |body: String| Response::json(200, body);
    match fault {
        Some(Fault::ResetBeforeResponse) => Reply::Reset,
        Some(Fault::ResetMidBody) => Reply::HalfThenReset(json(answer.body)),
        Some(Fault::EmptyBody) => Reply::Send(json(String::new())),
        Some(Fault::GarbageJson) => Reply::Send(json(GARBAGE_JSON.to_owned())),
        Some(Fault::ServerError) => Reply::Send(json(reply::error(500, "server internal error"))),
        Some(Fault::Oversized(size)) => {
            let mut response = json(String::new());
            response.body = padded(answer.body, *size);
            Reply::Send(response)
        }
        _ => Reply::Send(json(answer.body)),
    }
}

/// `body` brought to exactly `size` bytes: a `"padding"` field added inside the JSON object when
/// there is room, else trailing spaces (still valid JSON), else the body cut short.
fn padded(body: String, size: usize) -> Body {
    const OPEN: &str = r#","padding":""#;
    const CLOSE: &str = r#""}"#;
    let mut bytes = body.into_bytes();
    let room = bytes.len().saturating_sub(1) + OPEN.len() + CLOSE.len();
    if bytes.last() == Some(&b'}') && size >= room {
        bytes.pop();
        bytes.extend_from_slice(OPEN.as_bytes());
        return Body::Padded {
            prefix: bytes,
            pad_len: size - room,
            suffix: CLOSE.as_bytes().to_vec(),
        };
    }
    if size >= bytes.len() {
        let pad_len = size - bytes.len();
        return Body::Padded {
            prefix: bytes,
            pad_len: 0,
            suffix: vec![b' '; pad_len],
        };
    }
    bytes.truncate(size);
    Body::Bytes(bytes)
}

/// The service itself: signature, parameters, then the endpoint's work.
fn handle(shared: &Shared, endpoint: Endpoint, request: &Request) -> Answer {
    if matches!(endpoint.kind(), RequestKind::Start) {
        shared.state().start_count += 1;
    }
    let config = &shared.config;
    let now = shared.clock_secs();
    let app = |key: &str| config.apps.iter().find(|c| c.app_key() == key);
    let credentials =
        match server::verify_request(request.header_pairs(), app, now, config.window_secs) {
            Ok(credentials) => credentials,
            Err(refusal) => {
                let mut answer = Answer::new(414, reply::bad_http_header());
                answer.refusal = Some(refusal.reason());
                return answer;
            }
        };
    let params = Params::parse(&request.query, &request.body);
    match endpoint {
        Endpoint::StartCall | Endpoint::StartConf => start(shared, endpoint, &params, credentials),
        Endpoint::QueryBySession => query(shared, &params, credentials),
        // Never routed here: `Endpoint::from_path` names only the three ECP endpoints.
        Endpoint::Api { .. } => Answer::error(404, "not found"),
    }
}

/// A validated start request of either kind.
enum Placement {
    Call(StartCall),
    Conference(StartConf),
}

impl Placement {
    fn read(endpoint: Endpoint, params: &Params) -> Result<Placement, ValidationError> {
        match endpoint {
            Endpoint::StartConf => params.start_conf().map(Placement::Conference),
            _ => params.start_call().map(Placement::Call),
        }
    }

    fn caller_acc(&self) -> &str {
        match self {
            Placement::Call(call) => call.caller_acc(),
            Placement::Conference(conf) => conf.caller_acc(),
        }
    }

    /// The number whose outcome decides how the session ends: the callee of a call, the first
    /// callee of a conference.
    fn decider(&self) -> &str {
        match self {
            Placement::Call(call) => call.callee(),
            Placement::Conference(conf) => conf.callees().first().map_or("", String::as_str),
        }
    }

    fn record(&self, session: &str, outcome: &Outcome, now_ms: u64) -> (SessionKind, Value) {
        match self {
            Placement::Call(call) => (
                SessionKind::Call,
                records::call_record(session, call, outcome, now_ms),
            ),
            Placement::Conference(conf) => (
                SessionKind::Conference,
                records::conference_record(session, conf, outcome, now_ms),
            ),
        }
    }
}

/// `startcall` and `startconf`: validates, places the session, schedules its callback.
fn start(shared: &Shared, endpoint: Endpoint, params: &Params, app: &Credentials) -> Answer {
    if !shared.state().ecp_enabled {
        return Answer::error(403, "no authorization");
    }
    let placement = match Placement::read(endpoint, params) {
        Ok(placement) => placement,
        Err(e) => return Answer::bad_param(&e),
    };
    if !shared
        .config
        .accids
        .iter()
        .any(|a| a == placement.caller_acc())
    {
        return Answer::new(414, reply::bad_param("callerAcc"));
    }
    let Ok(session) = records::new_session_id() else {
        return Answer::error(500, "server internal error");
    };
    let now_ms = unix_millis_now();
    let mut state = shared.state();
    let outcome = state.outcome_for(placement.decider());
    let (kind, record) = placement.record(&session, &outcome, now_ms);
    let record_json = serde_json::to_string(&record).unwrap_or_default();
    let generation = state.generation;
    state.place(
        session.clone(),
        Session {
            app_key: app.app_key().to_owned(),
            kind,
            record: record.into(),
        },
    );
    drop(state);
    // A call too long to represent never ends, and so never calls back.
    if let Some(due) = Instant::now().checked_add(shared.config.call_duration) {
        shared.schedule_callback(CallbackJob {
            due,
            session: session.clone(),
            credentials: app.clone(),
            record_json,
            generation,
            retry: None,
        });
    }
    let mut answer = Answer::new(200, reply::started(&session));
    answer.session = Some(session);
    answer
}

/// `queryBySession`: the record of a session placed by the same app with the same `type`.
fn query(shared: &Shared, params: &Params, app: &Credentials) -> Answer {
    let query = match params.query() {
        Ok(query) => query,
        Err(e) => return Answer::bad_param(&e),
    };
    let state = shared.state();
    let record: Option<&Value> = state
        .session_index
        .get(query.session())
        .filter(|s| s.kind == query.kind() && s.app_key == app.app_key())
        .map(|s| &*s.record);
    match record {
        Some(record) => Answer::new(200, reply::success(record)),
        None => Answer::error(404, "session not found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flatten(body: Body) -> Vec<u8> {
        match body {
            Body::Bytes(b) => b,
            Body::Padded {
                mut prefix,
                pad_len,
                suffix,
            } => {
                prefix.extend(std::iter::repeat_n(b'x', pad_len));
                prefix.extend(suffix);
                prefix
            }
            Body::Streamed(_) => unreachable!("faults never stream"),
        }
    }

    #[test]
    fn padding_gives_exact_sizes() {
        let body = r#"{"code":200,"obj":{"session":"s"}}"#.to_owned();
        for size in [0, 10, body.len(), body.len() + 5, body.len() + 13, 100_000] {
            let out = flatten(padded(body.clone(), size));
            assert_eq!(out.len(), size, "{size}");
            if size >= body.len() {
                let v: Value = serde_json::from_slice(&out).unwrap();
                assert_eq!(v["obj"]["session"], "s");
            }
        }
    }
}
