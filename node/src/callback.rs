//! Call-end callbacks: verification over the raw body and Node's `IncomingHttpHeaders`.

use napi::bindgen_prelude::{BufferSlice, Either};
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
fn body_bytes<'a>(body: &'a Either<BufferSlice<'_>, String>) -> &'a [u8] {
    match body {
        Either::A(buffer) => buffer,
        Either::B(text) => text.as_bytes(),
    }
}

/// A callback's headers as `index.js` passes them: one string, `name\nvalue\nname\nvalue`
/// (one string crossing instead of ten; HTTP never delivers a newline in a name or a value), or,
/// when one does hold a newline, `[name, value, name, value, ...]`. Anything else is refused
/// naming `headers`.
fn header_pairs(headers: &Either<String, Vec<String>>) -> napi::Result<Vec<(&str, &str)>> {
    let parts: Vec<&str> = match headers {
        Either::A(joined) if joined.is_empty() => Vec::new(),
        Either::A(joined) => joined.split('\n').collect(),
        Either::B(flat) => flat.iter().map(String::as_str).collect(),
    };
    if parts.len() % 2 != 0 {
        return Err(JsError::type_error("headers", "name and value pairs"));
    }
    Ok(parts
        .chunks_exact(2)
        .map(|pair| (pair[0], pair[1]))
        .collect())
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
    /// The headers as `index.js` makes them of `IncomingHttpHeaders` (a header sent twice gives
    /// two pairs): name and value strings, joined by newlines or in an array, taken without
    /// building a JSON value first.
    #[napi]
    pub fn verify(
        &self,
        body: Either<BufferSlice<'_>, String>,
        headers: Either<String, Vec<String>>,
        now_ms: Option<f64>,
    ) -> napi::Result<()> {
        self.inner
            .verify(body_bytes(&body), header_pairs(&headers)?, now_arg(now_ms)?)
            .map_err(core_error)
    }

    /// Verifies, then parses: `{ type: 'call_end', session, answered, billedMinutes, costFen,
    /// ... }` or `{ type: 'other', eventType, raw }`. The headers as `verify` takes them.
    #[napi]
    pub fn verify_and_parse(
        &self,
        body: Either<BufferSlice<'_>, String>,
        headers: Either<String, Vec<String>>,
        now_ms: Option<f64>,
    ) -> napi::Result<Value> {
        let event = self
            .inner
            .verify_and_parse(body_bytes(&body), header_pairs(&headers)?, now_arg(now_ms)?)
            .map_err(core_error)?;
        event_value(&event)
    }
}

/// The names of the headers a callback carries (lowercase), as the core signs them: `index.js`
/// passes only these to `verify`, whatever else the request had (no other header is read).
#[napi]
pub fn callback_header_names() -> Vec<String> {
    let none = yunxin_ecp::callback::CallbackHeaders {
        app_key: String::new(),
        cur_time: String::new(),
        md5: String::new(),
        checksum: String::new(),
    };
    none.pairs()
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect()
}

/// Parses a callback body without verifying it (it must have been verified).
#[napi]
pub fn parse_callback(body: Either<BufferSlice<'_>, String>) -> napi::Result<Value> {
    let event = yunxin_ecp::callback::parse_callback(body_bytes(&body)).map_err(core_error)?;
    event_value(&event)
}
