//! Call-end callbacks: verification over the raw body and Node's `IncomingHttpHeaders`.

use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;
use serde_json::Value;
use yunxin_ecp::TimeCheck;
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::views::EventView;

use crate::convert::{Credentials, JsError, camel, core_error, u64_arg};

/// Verifies call-end callbacks signed with one app's credentials.
#[napi]
pub struct CallbackVerifier {
    inner: yunxin_ecp::CallbackVerifier,
}

/// The raw body: a Buffer (or any Uint8Array) as received, or a string taken as its UTF-8.
fn body_bytes(body: &Either<Buffer, String>) -> &[u8] {
    match body {
        Either::A(buffer) => buffer,
        Either::B(text) => text.as_bytes(),
    }
}

/// Node's `IncomingHttpHeaders` (a value that is an array of strings is that header sent
/// several times: its pairs are repeated, so the core refuses the duplicate), or an array of
/// `[name, value]` pairs (`rawHeaders` paired up, a fetch `Headers`' entries). An `undefined`
/// value is left out; anything else is refused naming `headers`.
pub fn header_pairs(headers: &Value) -> napi::Result<Vec<(String, String)>> {
    let bad = || {
        JsError::type_error(
            "headers",
            "an object of strings (or arrays of strings), or [name, value] pairs",
        )
    };
    let mut pairs = Vec::new();
    match headers {
        Value::Object(map) => {
            for (name, value) in map {
                match value {
                    Value::String(v) => pairs.push((name.clone(), v.clone())),
                    Value::Array(values) => {
                        for v in values {
                            let v = v.as_str().ok_or_else(bad)?;
                            pairs.push((name.clone(), v.to_owned()));
                        }
                    }
                    Value::Null => {}
                    _ => return Err(bad()),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item.as_array().map(Vec::as_slice) {
                    Some([Value::String(n), Value::String(v)]) => {
                        pairs.push((n.clone(), v.clone()))
                    }
                    _ => return Err(bad()),
                }
            }
        }
        _ => return Err(bad()),
    }
    Ok(pairs)
}

fn now_arg(now_ms: Option<f64>) -> napi::Result<u64> {
    now_ms.map_or_else(|| Ok(unix_millis_now()), |n| u64_arg(n, "nowMs"))
}

/// The typed event as the core's view, keys in camelCase.
fn event_value(event: &yunxin_ecp::CallbackEvent) -> napi::Result<Value> {
    let view = serde_json::to_value(EventView::new(event))
        .map_err(|_| JsError::type_error("body", "a serializable event"))?;
    Ok(camel(view))
}

#[napi]
impl CallbackVerifier {
    /// A verifier for `credentials`: `CurTime` within `toleranceMs` (default 5 minutes; 0 means
    /// the same millisecond), or not checked at all with `skipTimeCheck` (tests only).
    #[napi(constructor)]
    pub fn new(
        credentials: &Credentials,
        tolerance_ms: Option<f64>,
        skip_time_check: Option<bool>,
    ) -> napi::Result<Self> {
        let mut inner = yunxin_ecp::CallbackVerifier::new(credentials.inner.clone());
        if skip_time_check == Some(true) {
            inner = inner.with_time_check(TimeCheck::SkipInsecure);
        } else if let Some(ms) = tolerance_ms {
            let check = TimeCheck::tolerance(u64_arg(ms, "toleranceMs")?).map_err(core_error)?;
            inner = inner.with_time_check(check);
        }
        Ok(CallbackVerifier { inner })
    }

    /// Verifies the raw body against its headers at `nowMs` (default: the clock); throws the
    /// refusal (`reason`: `md5_mismatch`, `checksum_mismatch`, `stale`, `duplicate_header`, ...).
    #[napi]
    pub fn verify(
        &self,
        body: Either<Buffer, String>,
        headers: Value,
        now_ms: Option<f64>,
    ) -> napi::Result<()> {
        let pairs = header_pairs(&headers)?;
        self.inner
            .verify(body_bytes(&body), &pairs, now_arg(now_ms)?)
            .map_err(core_error)
    }

    /// Verifies, then parses: `{ type: 'call_end', session, answered, billedMinutes, costFen,
    /// ... }` or `{ type: 'other', eventType, raw }`.
    #[napi]
    pub fn verify_and_parse(
        &self,
        body: Either<Buffer, String>,
        headers: Value,
        now_ms: Option<f64>,
    ) -> napi::Result<Value> {
        let pairs = header_pairs(&headers)?;
        let event = self
            .inner
            .verify_and_parse(body_bytes(&body), &pairs, now_arg(now_ms)?)
            .map_err(core_error)?;
        event_value(&event)
    }
}

/// Parses a callback body without verifying it (it must have been verified).
#[napi]
pub fn parse_callback(body: Either<Buffer, String>) -> napi::Result<Value> {
    let event = yunxin_ecp::callback::parse_callback(body_bytes(&body)).map_err(core_error)?;
    event_value(&event)
}
