//! The JSON forms of complex results, produced by one serializer (serde_json) for every
//! language: a prepared request, a request's parameters, a call record, a callback event, an
//! error, the code table.
//!
//! Field names are snake_case, absent values are `null`, numbers are JSON integers.

use serde::Serialize;
use yunxin_ecp::{CallRecord, CallbackEvent, Rate};

use crate::error::{Fallible, yx_error, yx_result};

/// Serializes a view. Every view here holds only strings, integers, booleans and JSON values,
/// which always serialize; the error path is kept for safety's sake.
pub(crate) fn to_json(value: &impl Serialize) -> Fallible<String> {
    serde_json::to_string(value)
        .map_err(|e| yx_error::new(yx_result::YX_OTHER, format!("could not serialize: {e}")))
}

/// A call record with what the bindings compute from it: the record's own fields
/// (`session`, `init_account`, `caller`, `callee`, `members`, `create_time_ms`, `start_time`,
/// `duration_sec`, `status`, `legs`, `raw`), then `answered`, `billed_minutes`, `cost_fen` (at
/// the published 0.12 yuan a minute) and `is_conference`.
#[derive(Serialize)]
pub(crate) struct RecordJson<'a> {
    #[serde(flatten)]
    record: &'a CallRecord,
    answered: bool,
    billed_minutes: u64,
    cost_fen: u64,
    is_conference: bool,
}

impl<'a> RecordJson<'a> {
    pub(crate) fn new(record: &'a CallRecord) -> Self {
        RecordJson {
            record,
            answered: record.answered(),
            billed_minutes: record.billed_minutes(),
            cost_fen: record.cost(Rate::default()).fen,
            is_conference: record.is_conference(),
        }
    }
}

/// A callback event: `{"type":"call_end", <the record's fields>}` or
/// `{"type":"other","event_type":...,"raw":...}`.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum EventJson<'a> {
    CallEnd(RecordJson<'a>),
    Other {
        event_type: Option<&'a str>,
        raw: &'a str,
    },
}

impl<'a> EventJson<'a> {
    pub(crate) fn new(event: &'a CallbackEvent) -> Self {
        match event {
            CallbackEvent::CallEnd(record) => EventJson::CallEnd(RecordJson::new(record)),
            CallbackEvent::Other { event_type, raw } => EventJson::Other {
                event_type: event_type.as_deref(),
                raw,
            },
        }
    }
}
