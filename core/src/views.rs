//! The JSON shapes that every edge prints: a call record with what is derived from it, a
//! callback event, an error. Written once here so that the command's `--json`, the C ABI's
//! `_to_json` functions and the Python package agree field for field.
//!
//! Field names are snake_case, absent values are `null`, numbers are JSON integers, money is in
//! fen.

use serde::Serialize;

use crate::api::ApiRequest;
use crate::billing::Rate;
use crate::callback::{CallbackError, CallbackEvent};
use crate::codes::RetryAdvice;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::record::CallRecord;
use crate::request::{QueryBySession, SessionKind, StartCall, StartConf};
use crate::response::ResponseError;
use crate::server::AuthRefusal;

/// A call record's own fields (`session`, `init_account`, `caller`, `callee`, `members`,
/// `create_time_ms`, `start_time`, `duration_sec`, `status`, `legs`, `raw`), then `answered`,
/// `billed_minutes`, `cost_fen` (at the published 0.12 yuan a minute) and `is_conference`.
#[derive(Debug, Clone, Serialize)]
pub struct RecordView<'a> {
    /// The record.
    #[serde(flatten)]
    pub record: &'a CallRecord,
    /// Someone talked: `durationSec > 0`.
    pub answered: bool,
    /// Every started minute.
    pub billed_minutes: u64,
    /// The cost in fen at the default rate.
    pub cost_fen: u64,
    /// The record lists `members`.
    pub is_conference: bool,
}

impl<'a> RecordView<'a> {
    /// The view of `record`.
    pub fn new(record: &'a CallRecord) -> Self {
        RecordView {
            record,
            answered: record.answered(),
            billed_minutes: record.billed_minutes(),
            cost_fen: record.cost(Rate::default()).fen,
            is_conference: record.is_conference(),
        }
    }
}

/// A request's kind and parameters, as built (before signing): `{"request":"start_call",
/// "params":{"caller_acc":…,"caller":…,"callee":…,"max_dur":…}}`, `start_conf` (with
/// `callees`), `query` (`session`, `kind` `call` or `conference`) or `api` (`path`, `params` as
/// `[name, value]` pairs, `idempotent`).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "request", content = "params", rename_all = "snake_case")]
pub enum RequestView<'a> {
    /// A callback call.
    StartCall {
        /// The accid placing the call.
        caller_acc: &'a str,
        /// The number rung first.
        caller: &'a str,
        /// The number rung second.
        callee: &'a str,
        /// The longest the call may last, in seconds.
        max_dur: u32,
    },
    /// A conference.
    StartConf {
        /// The accid placing the conference.
        caller_acc: &'a str,
        /// The host's number.
        caller: &'a str,
        /// The other participants.
        callees: &'a [String],
        /// The longest the conference may last, in seconds.
        max_dur: u32,
    },
    /// A query for a record.
    Query {
        /// The session a start returned.
        session: &'a str,
        /// `call` or `conference`.
        kind: &'static str,
    },
    /// Any other server API.
    Api {
        /// The path below the base URL.
        path: &'a str,
        /// The form parameters, in order.
        params: &'a [(String, String)],
        /// Whether the caller allowed it to be sent again after it may have arrived.
        idempotent: bool,
    },
}

impl<'a> From<&'a StartCall> for RequestView<'a> {
    fn from(r: &'a StartCall) -> Self {
        RequestView::StartCall {
            caller_acc: r.caller_acc(),
            caller: r.caller(),
            callee: r.callee(),
            max_dur: r.max_dur(),
        }
    }
}

impl<'a> From<&'a StartConf> for RequestView<'a> {
    fn from(r: &'a StartConf) -> Self {
        RequestView::StartConf {
            caller_acc: r.caller_acc(),
            caller: r.caller(),
            callees: r.callees(),
            max_dur: r.max_dur(),
        }
    }
}

impl<'a> From<&'a QueryBySession> for RequestView<'a> {
    fn from(r: &'a QueryBySession) -> Self {
        RequestView::Query {
            session: r.session(),
            kind: match r.kind() {
                SessionKind::Call => "call",
                SessionKind::Conference => "conference",
            },
        }
    }
}

impl<'a> From<&'a ApiRequest> for RequestView<'a> {
    fn from(r: &'a ApiRequest) -> Self {
        RequestView::Api {
            path: r.path(),
            params: r.params(),
            idempotent: r.is_idempotent(),
        }
    }
}

/// A callback event: `{"type":"call_end", <the record view's fields>}` or
/// `{"type":"other","event_type":…,"raw":…}`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventView<'a> {
    /// A call or conference ended.
    CallEnd(RecordView<'a>),
    /// Any other event, untouched.
    Other {
        /// The `eventType`, as text.
        event_type: Option<&'a str>,
        /// The body as received.
        raw: &'a str,
    },
}

impl<'a> EventView<'a> {
    /// The view of `event`.
    pub fn new(event: &'a CallbackEvent) -> Self {
        match event {
            CallbackEvent::CallEnd(record) => EventView::CallEnd(RecordView::new(record)),
            CallbackEvent::Other { event_type, raw } => EventView::Other {
                event_type: event_type.as_deref(),
                raw,
            },
        }
    }
}

/// An error as data: `kind` (`validation`, `api`, `protocol`, `callback`, `auth`, `transport`,
/// `entropy`), the message, and whichever of the other fields apply (`null` otherwise).
#[derive(Debug, Clone, Serialize)]
pub struct ErrorView<'a> {
    /// Which family of error.
    pub kind: &'static str,
    /// The error's message, as `Display` gives it.
    pub message: String,
    /// The refused field or header.
    pub field: Option<&'a str>,
    /// The validation rule's code.
    pub rule: Option<&'static str>,
    /// For list parameters, the offending entry.
    pub index: Option<usize>,
    /// The service's code.
    pub code: Option<i64>,
    /// The service's `msg` or `desc`.
    pub api_message: Option<&'a str>,
    /// The code table's meaning of `code`.
    pub meaning: Option<&'static str>,
    /// The HTTP status of the answer.
    pub http_status: Option<u16>,
    /// Why: the protocol error's kind, the callback's or signature's refusal, the transport step.
    pub reason: Option<&'static str>,
    /// Whether the same request may be sent again.
    pub retry: &'static str,
    /// Whether the request may have reached the service.
    pub maybe_sent: bool,
    /// The endpoint the request was for.
    pub endpoint: Option<Endpoint>,
    /// The path of a generic request.
    pub path: Option<&'a str>,
    /// Attempts made, for transport errors.
    pub attempts: Option<u32>,
    /// What the HTTP stack or the parser added: a redirect's `Location`, the JSON parser's
    /// message, the transport failure's cause.
    pub detail: Option<&'a str>,
    /// The body as received.
    pub raw_body: Option<&'a str>,
}

impl<'a> ErrorView<'a> {
    /// A view of an error that is not one of the core's, such as a binding's refusal of an
    /// argument (a NULL pointer, text that is not UTF-8): its `kind`, its message and the
    /// argument in `field`; nothing was sent, and sending it again would fail the same way.
    pub fn other(kind: &'static str, message: String, field: Option<&'a str>) -> Self {
        ErrorView {
            kind,
            message,
            field,
            rule: None,
            index: None,
            code: None,
            api_message: None,
            meaning: None,
            http_status: None,
            reason: None,
            retry: RetryAdvice::Never.code(),
            maybe_sent: false,
            endpoint: None,
            path: None,
            attempts: None,
            detail: None,
            raw_body: None,
        }
    }

    /// The view of `error`.
    pub fn new(error: &'a Error) -> Self {
        let mut view = ErrorView::other("other", error.to_string(), None);
        view.retry = error.retry_advice().code();
        match error {
            Error::Validation(v) => {
                view.kind = "validation";
                view.field = Some(v.field);
                view.rule = Some(v.rule.code());
                view.index = v.index;
            }
            Error::Response(ResponseError::Api(a)) => {
                view.kind = "api";
                view.code = Some(a.code);
                view.api_message = a.message.as_deref();
                view.meaning = Some(a.meaning());
                view.http_status = Some(a.http_status);
                view.maybe_sent = true;
                view.endpoint = Some(a.endpoint);
                view.path = a.path.as_deref();
                view.raw_body = Some(&a.raw_body);
            }
            Error::Response(ResponseError::Protocol(p)) => {
                view.kind = "protocol";
                view.reason = Some(p.kind.code());
                view.detail = p.detail.as_deref();
                view.http_status = Some(p.http_status);
                view.maybe_sent = true;
                view.endpoint = Some(p.endpoint);
                view.path = p.path.as_deref();
                view.raw_body = Some(&p.raw_body);
            }
            Error::Callback(c) => {
                view.kind = "callback";
                view.reason = Some(c.reason());
                if let CallbackError::MissingHeader { header }
                | CallbackError::DuplicateHeader { header } = c
                {
                    view.field = Some(header);
                }
            }
            Error::Auth(a) => {
                view.kind = "auth";
                view.reason = Some(a.reason());
                if let AuthRefusal::MissingHeader { header }
                | AuthRefusal::DuplicateHeader { header } = a
                {
                    view.field = Some(header);
                }
            }
            Error::Transport(t) => {
                view.kind = "transport";
                view.reason = Some(t.kind.code());
                view.detail = Some(&t.detail);
                view.maybe_sent = t.maybe_sent;
                view.endpoint = Some(t.endpoint);
                view.path = t.path.as_deref();
                view.attempts = Some(t.attempts);
            }
            Error::Entropy(_) => view.kind = "entropy",
        }
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiRequest;
    use serde_json::json;

    #[test]
    fn record_and_error_views() {
        let record = CallRecord::from_json(json!({"session": "s", "durationSec": 61}));
        let view = serde_json::to_value(RecordView::new(&record)).unwrap();
        assert_eq!(view["session"], "s");
        assert_eq!(
            (
                &view["answered"],
                &view["billed_minutes"],
                &view["cost_fen"]
            ),
            (&json!(true), &json!(2), &json!(24))
        );

        let request = ApiRequest::new("/user/create.action", [("accid", "a")]).unwrap();
        let error = Error::from(
            request
                .parse_response(200, br#"{"code":414,"desc":"already register"}"#)
                .unwrap_err(),
        );
        let view = serde_json::to_value(ErrorView::new(&error)).unwrap();
        assert_eq!(view["kind"], "api");
        assert_eq!(view["code"], 414);
        assert_eq!(view["api_message"], "already register");
        assert_eq!(view["endpoint"], "api");
        assert_eq!(view["path"], "/user/create.action");
        assert_eq!(view["retry"], "never");
        assert_eq!(view["field"], serde_json::Value::Null);
    }
}
