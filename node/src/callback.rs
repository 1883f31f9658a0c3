//! Call-end callbacks: verification over the raw body and Node's `IncomingHttpHeaders`, and
//! signing one for a test.

use napi::bindgen_prelude::{BufferSlice, Either};
use napi_derive::napi;
use serde_json::Value;
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::views::EventView;
use yunxin_ecp::{TimeCheck, Verified};

use crate::convert::{Credentials, JsError, camel, core_error, u64_arg};

/// Verifies call-end callbacks signed with one app's credentials, or with any of several (an
/// AppSecret being rotated: the old and the new; several apps served by one endpoint).
#[napi]
pub struct CallbackVerifier {
    inner: yunxin_ecp::CallbackVerifier,
}

/// A verified delivery as one string, `credential curTimeMs expiresAtMs key` (`expiresAtMs`
/// `Infinity` without a time check): `index.js` makes the object, with the app key it already
/// knows, so that verifying costs one string crossing instead of an object of five keys.
fn packed_delivery(verified: &Verified) -> String {
    let expires = if verified.expires_at_ms == u64::MAX {
        "Infinity".to_owned()
    } else {
        verified.expires_at_ms.to_string()
    };
    format!(
        "{} {} {} {}",
        verified.credential,
        verified.cur_time_ms,
        expires,
        verified.key.hex()
    )
}

/// What `verifyDelivery` returns: the packed delivery (as `verify`'s) and the event.
#[napi(object)]
pub struct DeliveryEventOut {
    pub delivery: String,
    pub event: Value,
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
    /// A verifier for `credentials` (1 to 8, the core's rule, refused naming `credentials`):
    /// `CurTime` within `toleranceMs` (default 5 minutes; 0 means the same millisecond), or not
    /// checked at all with `skipTimeCheck` (tests only).
    #[napi(constructor)]
    pub fn new(
        credentials: Vec<&Credentials>,
        tolerance_ms: Option<f64>,
        skip_time_check: Option<bool>,
    ) -> napi::Result<Self> {
        let list = credentials.into_iter().map(|c| c.inner.clone());
        let mut inner = yunxin_ecp::CallbackVerifier::with_credentials(list).map_err(core_error)?;
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
    /// building a JSON value first. Returns the delivery packed: `credential curTimeMs
    /// expiresAtMs key`.
    #[napi]
    pub fn verify(
        &self,
        body: Either<BufferSlice<'_>, String>,
        headers: Either<String, Vec<String>>,
        now_ms: Option<f64>,
    ) -> napi::Result<String> {
        let verified = self
            .inner
            .verify_delivery(body_bytes(&body), header_pairs(&headers)?, now_arg(now_ms)?)
            .map_err(core_error)?;
        Ok(packed_delivery(&verified))
    }

    /// Verifies, then parses: the packed delivery (as `verify`'s) and the event (as
    /// `verifyAndParse`'s), for a handler that guards against repeated deliveries.
    #[napi]
    pub fn verify_delivery(
        &self,
        body: Either<BufferSlice<'_>, String>,
        headers: Either<String, Vec<String>>,
        now_ms: Option<f64>,
    ) -> napi::Result<DeliveryEventOut> {
        let (verified, event) = self
            .inner
            .verify_and_parse_delivery(body_bytes(&body), header_pairs(&headers)?, now_arg(now_ms)?)
            .map_err(core_error)?;
        Ok(DeliveryEventOut {
            delivery: packed_delivery(&verified),
            event: event_value(&event)?,
        })
    }

    /// The app key of each credentials, in the order given: `index.js` names the matched one
    /// from it.
    #[napi(getter)]
    pub fn app_keys(&self) -> Vec<String> {
        self.inner
            .credentials()
            .iter()
            .map(|c| c.app_key().to_owned())
            .collect()
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

/// A callback body signed as the service signs it, for testing a receiver: the headers to send,
/// flat as `[name, value, ...]` in the core's order (`Content-Type`, `AppKey`, `CurTime` in
/// milliseconds, `MD5`, `CheckSum`); `index.js` makes the object. `curTimeMs` defaults to the
/// clock, and one that looks like seconds is refused (it would be refused as stale).
#[napi]
pub fn sign_callback(
    credentials: &Credentials,
    body: Either<BufferSlice<'_>, String>,
    cur_time_ms: Option<f64>,
) -> napi::Result<Vec<String>> {
    let cur_time_ms = match cur_time_ms {
        Some(ms) => yunxin_ecp::validate::epoch_millis("curTimeMs", u64_arg(ms, "curTimeMs")?)
            .map_err(core_error)?,
        None => unix_millis_now(),
    };
    let signed =
        yunxin_ecp::callback::sign_callback(&credentials.inner, body_bytes(&body), cur_time_ms);
    Ok(signed
        .pairs()
        .iter()
        .flat_map(|(name, value)| [(*name).to_owned(), (*value).to_owned()])
        .collect())
}
