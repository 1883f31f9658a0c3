//! The Node.js binding of yunxin-ecp (napi-rs): conversion, error mapping and ownership only.
//! Every rule (signing, validation, callbacks, retries, redirects, size caps, redaction) is the
//! core's; the JavaScript layer (`index.js`) only drives Node's own HTTP with the core's
//! exchange.
//!
//! Errors cross as the core's [`ErrorView`](yunxin_ecp::views::ErrorView) in JSON after a marker, and `index.js` turns them
//! into its error classes; so the fields every binding reports are made in one place.

#![deny(clippy::all)]

mod callback;
mod convert;
mod deliveries;
mod exchange;
mod refusal;

use napi::bindgen_prelude::Either;
use napi_derive::napi;
use serde_json::{Value, json};
use yunxin_ecp::AuthHeaders;

pub use callback::{CallbackVerifier, callback_header_names, parse_callback, sign_callback};
pub use convert::{Credentials, JsError};
pub use deliveries::{MemoryDeliveries, claim_codes, store_error_message};
pub use exchange::Exchange;
pub use refusal::{
    callback_body_limit, callback_refusal, declared_too_large, duplicate_answer, too_large_refusal,
};

use convert::{core_error, millis_arg, u64_arg};

/// The CheckSum of a server-API request: the lowercase hex SHA-1 of `secret + nonce + curTime`.
/// Pure: no check of the nonce's length or of the time (see `Credentials.sign` for that).
#[napi]
pub fn checksum(secret: String, nonce: String, cur_time: Either<String, f64>) -> String {
    let cur_time = match cur_time {
        Either::A(text) => text,
        Either::B(number) => format!("{number}"),
    };
    yunxin_ecp::checksum(&secret, &nonce, &cur_time)
        .as_str()
        .to_owned()
}

/// The four authentication headers of one request, as a plain object in the documented order.
/// Made by napi directly (no JSON value in between): signing is called once per request, and
/// the conversion was most of its cost.
#[napi(object)]
pub struct AuthHeadersOut {
    #[napi(js_name = "AppKey")]
    pub app_key: String,
    #[napi(js_name = "Nonce")]
    pub nonce: String,
    #[napi(js_name = "CurTime")]
    pub cur_time: String,
    #[napi(js_name = "CheckSum")]
    pub check_sum: String,
}

fn headers_object(auth: &AuthHeaders) -> AuthHeadersOut {
    let [app_key, nonce, cur_time, check_sum] = auth.pairs().map(|(_, value)| value.to_owned());
    AuthHeadersOut {
        app_key,
        nonce,
        cur_time,
        check_sum,
    }
}

#[napi]
impl Credentials {
    /// Credentials from an app key and its secret (refused: an empty key, a key that is not
    /// visible ASCII, an empty secret, a secret with a control character).
    #[napi(constructor)]
    pub fn new(app_key: String, app_secret: String) -> napi::Result<Self> {
        let inner = yunxin_ecp::Credentials::new(app_key, app_secret).map_err(core_error)?;
        Ok(Credentials { inner })
    }

    /// From `YUNXIN_APP_KEY` and `YUNXIN_APP_SECRET`.
    #[napi(factory)]
    pub fn from_env() -> napi::Result<Self> {
        let inner = yunxin_ecp::Credentials::from_env().map_err(core_error)?;
        Ok(Credentials { inner })
    }

    /// The public app key.
    #[napi(getter)]
    pub fn app_key(&self) -> String {
        self.inner.app_key().to_owned()
    }

    /// The four headers signed with this nonce and `CurTime` (Unix seconds): refused when the
    /// nonce is not 1..=128 characters or the time is not seconds.
    #[napi]
    pub fn sign(&self, nonce: String, cur_time: f64) -> napi::Result<AuthHeadersOut> {
        let cur_time = u64_arg(cur_time, "curTime")?;
        let auth = self.inner.sign(&nonce, cur_time).map_err(core_error)?;
        Ok(headers_object(&auth))
    }

    /// The four headers signed now with a fresh nonce from the OS CSPRNG.
    #[napi]
    pub fn sign_now(&self) -> napi::Result<AuthHeadersOut> {
        let auth = self.inner.sign_now().map_err(core_error)?;
        Ok(headers_object(&auth))
    }

    /// `signNow` as one string, `nonce curTime checkSum` (the app key is the caller's already):
    /// `index.js` makes the header object from it. One string crossing instead of an object
    /// whose four keys V8 looks up each time is most of what signing costs from JavaScript.
    #[napi]
    pub fn sign_now_packed(&self) -> napi::Result<String> {
        let auth = self.inner.sign_now().map_err(core_error)?;
        let [_, nonce, cur_time, check_sum] = auth.pairs().map(|(_, value)| value);
        Ok(format!("{nonce} {cur_time} {check_sum}"))
    }

    /// What `util.inspect` and `toJSON` show: the app key only.
    #[napi]
    pub fn describe(&self) -> String {
        format!("{}", self.inner)
    }
}

/// The base URL a client uses when none is given: `YUNXIN_BASE_URL` when set (checked), else
/// the service's.
#[napi]
pub fn default_base_url() -> napi::Result<String> {
    yunxin_ecp::settings::default_base_url().map_err(core_error)
}

/// The `User-Agent` the core's drivers send.
#[napi]
pub fn user_agent() -> String {
    yunxin_ecp::exchange::USER_AGENT.to_owned()
}

/// The settings a client would run with, checked by the core's rules (a refused one names the
/// setting): `{ baseUrl, connectTimeoutMs, timeoutMs, maxRetries, backoffMs, maxResponseBytes }`.
#[napi]
pub fn check_settings(settings: Option<exchange::SettingsArgs>) -> napi::Result<Value> {
    let s = exchange::settings(settings)?;
    Ok(json!({
        "baseUrl": s.base_url,
        "connectTimeoutMs": millis_arg(s.connect_timeout),
        "timeoutMs": millis_arg(s.timeout),
        "maxRetries": s.max_retries,
        "backoffMs": millis_arg(s.backoff),
        "maxResponseBytes": s.max_response_bytes,
    }))
}
