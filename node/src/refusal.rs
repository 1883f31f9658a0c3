//! What the framework middleware (`express.js`, `fastify.js`, `koa.js`) asks of the core: the
//! body cap and the answer to a refused callback. The JavaScript side only reads the body and
//! writes the answer, so every language's integration refuses alike (see the core's `refusal`).

use napi_derive::napi;
use yunxin_ecp::refusal::{self, Refusal};

use crate::convert::{JsError, core_error};

/// The HTTP answer to a refused callback: the status, the reason and the JSON body (which says
/// the reason only).
#[napi(object)]
pub struct RefusalOut {
    pub status: u32,
    /// The stable reason (`checksum_mismatch`, `too_large`, ...), for the endpoint's own log.
    pub reason: String,
    /// `{"error":"callback refused","reason":"..."}`.
    pub body: String,
}

impl From<Refusal> for RefusalOut {
    fn from(refusal: Refusal) -> Self {
        RefusalOut {
            status: u32::from(refusal.status()),
            reason: refusal.reason().to_owned(),
            body: refusal.body(),
        }
    }
}

/// The answer to a callback refused for `reason` (a `CallbackVerificationError`'s): 400 for a
/// body that is not a callback, 403 for any other refusal; an unknown reason is not echoed.
#[napi]
pub fn callback_refusal(reason: String) -> RefusalOut {
    Refusal::for_reason(&reason).into()
}

/// The answer to a repeated delivery handled before: a 200, so that the sender stops, and
/// `{"result":"duplicate"}` (reason `duplicate`), the core's.
#[napi]
pub fn duplicate_answer() -> RefusalOut {
    let (status, body) = refusal::DUPLICATE_ANSWER;
    RefusalOut {
        status: u32::from(status),
        reason: "duplicate".to_owned(),
        body: body.to_owned(),
    }
}

/// The answer to a body over the cap (413).
#[napi]
pub fn too_large_refusal() -> RefusalOut {
    Refusal::too_large().into()
}

/// The body cap of a middleware: `maxBodyBytes` checked (a positive whole number of bytes), or
/// the core's default (1 MiB) when it is not given.
#[napi]
pub fn callback_body_limit(max_body_bytes: Option<f64>) -> napi::Result<f64> {
    let Some(value) = max_body_bytes else {
        return Ok(refusal::DEFAULT_MAX_BODY_BYTES as f64);
    };
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if !value.is_finite() || value.fract() != 0.0 || value.abs() > MAX_SAFE {
        return Err(JsError::type_error(
            "maxBodyBytes",
            "an integer number of bytes",
        ));
    }
    let limit = refusal::body_limit(value as i64).map_err(core_error)?;
    Ok(limit as f64)
}

/// Whether a request's `Content-Length` already says more than `maxBodyBytes`, so that its body
/// is refused unread (absent or not a plain number: the body is bounded while it is read).
#[napi]
pub fn declared_too_large(content_length: Option<String>, max_body_bytes: f64) -> bool {
    // The limit comes from `callbackBodyLimit`: a whole positive number within 2^53.
    refusal::declared_too_large(content_length.as_deref(), max_body_bytes as u64)
}
