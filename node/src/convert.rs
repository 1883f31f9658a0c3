//! Values between JavaScript and the core: errors as the core's view, numbers checked, views with
//! camelCase keys.

use std::time::Duration;

use napi::Status;
use napi_derive::napi;
use serde_json::Value;
use yunxin_ecp::views::ErrorView;

/// The marker before an error's JSON view in a thrown error's message; `index.js` reads it.
pub const MARK: &str = "\u{1}yunxin-ecp:";

/// An app key and its secret. The secret never leaves Rust: nothing here returns it, and
/// `describe` (what `util.inspect` and `toJSON` show) names the app key only.
#[napi]
pub struct Credentials {
    pub(crate) inner: yunxin_ecp::Credentials,
}

/// The error `index.js` maps to its classes (nothing of it is exported to JavaScript).
pub struct JsError;

impl JsError {
    /// A thrown error carrying `view`.
    pub fn from_view(view: &ErrorView<'_>) -> napi::Error {
        let json = serde_json::to_string(view).unwrap_or_else(|_| "{}".to_owned());
        napi::Error::new(Status::GenericFailure, format!("{MARK}{json}"))
    }

    /// A `TypeError` naming the argument `field`: `index.js` throws it as one.
    pub fn type_error(field: &str, expected: &str) -> napi::Error {
        let view = ErrorView::other("type", format!("{field}: expected {expected}"), Some(field));
        Self::from_view(&view)
    }
}

/// A core error, thrown as its view.
pub fn core_error(error: impl Into<yunxin_ecp::Error>) -> napi::Error {
    let error = error.into();
    JsError::from_view(&ErrorView::new(&error))
}

/// A JavaScript number that must be an integer in `0..=2^53`.
pub fn u64_arg(value: f64, field: &str) -> napi::Result<u64> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if value.is_finite() && value.fract() == 0.0 && (0.0..=MAX_SAFE).contains(&value) {
        Ok(value as u64)
    } else {
        Err(JsError::type_error(field, "a non-negative integer"))
    }
}

/// A JavaScript number that must be an integer in `0..=u32::MAX`.
pub fn u32_arg(value: f64, field: &str) -> napi::Result<u32> {
    let n = u64_arg(value, field)?;
    u32::try_from(n).map_err(|_| JsError::type_error(field, "an integer of at most 4294967295"))
}

/// A duration as whole milliseconds, for JavaScript.
pub fn millis_arg(d: Duration) -> f64 {
    d.as_millis() as f64
}

/// `snake_case` keys as `camelCase`, recursively, except inside `raw` (the service's own JSON,
/// kept as it came).
pub fn camel(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = if key == "raw" { value } else { camel(value) };
                    (camel_key(&key), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camel).collect()),
        other => other,
    }
}

fn camel_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
