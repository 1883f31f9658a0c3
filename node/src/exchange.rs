//! The core's sans-IO exchange, for the driver in `index.js` over Node's `http`/`https`: every
//! decision (signing each attempt, refusing redirects, the size cap, retries and their waits,
//! redaction, events) is the core's.

use std::time::Duration;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use serde_json::{Map, Number, Value};
use yunxin_ecp::exchange::{Answer, AnyRequest, Entropy, Next, SystemEntropy};
use yunxin_ecp::request::SessionKind;
use yunxin_ecp::settings::ClientSettings;
use yunxin_ecp::views::RecordView;
use yunxin_ecp::{ApiRequest, Error, QueryBySession, StartCall, StartConf, TransportErrorKind};

use crate::convert::{Credentials, JsError, camel, core_error, millis_arg, u32_arg, u64_arg};

/// A request for an exchange: `kind` is `start_call` (`callerAcc`, `caller`, `callee`,
/// `maxDur`), `start_conf` (`callees` instead of `callee`), `query` (`session`, `type`:
/// `call` or `conference`) or `api` (`path`, `params`, `idempotent`).
#[napi(object)]
pub struct RequestArgs {
    pub kind: String,
    pub caller_acc: Option<String>,
    pub caller: Option<String>,
    pub callee: Option<String>,
    pub callees: Option<Vec<String>>,
    pub max_dur: Option<f64>,
    pub session: Option<String>,
    pub r#type: Option<String>,
    pub path: Option<String>,
    /// An object of strings, or `[name, value]` pairs (kept in order).
    pub params: Option<Value>,
    pub idempotent: Option<bool>,
}

/// A client's settings; absent ones keep the core's defaults (`baseUrl`: `YUNXIN_BASE_URL`
/// when set, else the service).
#[napi(object)]
pub struct SettingsArgs {
    pub base_url: Option<String>,
    pub connect_timeout_ms: Option<f64>,
    pub timeout_ms: Option<f64>,
    pub max_retries: Option<f64>,
    pub backoff_ms: Option<f64>,
    pub max_response_bytes: Option<f64>,
}

/// Fixed nonces, clock and jitter: for tests that replay a scripted conversation exactly, never
/// for requests to the service (a nonce is for one request only).
#[napi(object)]
pub struct EntropyArgs {
    pub nonces: Option<Vec<String>>,
    pub now_secs: Option<f64>,
    pub jitter: Option<f64>,
}

/// One attempt to send: POST `url` with `headers` and `body`, redirects never followed, within
/// the limits.
#[napi(object)]
pub struct AttemptOut {
    pub number: u32,
    pub method: String,
    pub url: String,
    /// Header name to value, in the core's order (the four auth headers, `Content-Type`).
    pub headers: Value,
    pub body: String,
    pub connect_timeout_ms: f64,
    pub timeout_ms: f64,
    pub max_response_bytes: f64,
}

/// What next: wait `retryAfterMs` then `send()` again, or `done` with the `answer`.
#[napi(object)]
pub struct NextOut {
    pub retry_after_ms: Option<f64>,
    pub done: bool,
    pub answer: Option<Value>,
}

fn number(value: f64) -> Value {
    if value.is_finite() && value.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&value)
    {
        Value::Number(Number::from(value as u64))
    } else {
        // Not an integer: the core refuses it naming the key.
        Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

/// The settings by the core's rules (`ClientSettings::from_json`, which names a refused key).
pub fn settings(args: Option<SettingsArgs>) -> napi::Result<ClientSettings> {
    let Some(args) = args else {
        return ClientSettings::from_env().map_err(core_error);
    };
    let mut map = Map::new();
    if let Some(url) = args.base_url {
        map.insert("base_url".into(), Value::String(url));
    }
    let numbers = [
        ("connect_timeout_ms", args.connect_timeout_ms),
        ("timeout_ms", args.timeout_ms),
        ("max_retries", args.max_retries),
        ("backoff_ms", args.backoff_ms),
        ("max_response_bytes", args.max_response_bytes),
    ];
    for (key, value) in numbers {
        if let Some(v) = value {
            map.insert(key.into(), number(v));
        }
    }
    ClientSettings::from_json(&Value::Object(map).to_string()).map_err(core_error)
}

fn required(value: Option<String>, field: &str) -> napi::Result<String> {
    value.ok_or_else(|| JsError::type_error(field, "a string"))
}

fn api_params(params: Option<Value>) -> napi::Result<Vec<(String, String)>> {
    let bad = || JsError::type_error("params", "an object of strings or [name, value] pairs");
    match params {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                _ => Err(bad()),
            })
            .collect(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::Array(pair) => match <[Value; 2]>::try_from(pair) {
                    Ok([Value::String(k), Value::String(v)]) => Ok((k, v)),
                    _ => Err(bad()),
                },
                _ => Err(bad()),
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// The core's request for `args`, validated by the core.
pub fn request(args: RequestArgs) -> napi::Result<AnyRequest> {
    let max_dur = |v: Option<f64>| -> napi::Result<u32> {
        u32_arg(
            v.ok_or_else(|| JsError::type_error("maxDur", "a number"))?,
            "maxDur",
        )
    };
    Ok(match args.kind.as_str() {
        "start_call" => StartCall::new(
            required(args.caller_acc, "callerAcc")?,
            required(args.caller, "caller")?,
            required(args.callee, "callee")?,
            max_dur(args.max_dur)?,
        )
        .map_err(core_error)?
        .into(),
        "start_conf" => StartConf::new(
            required(args.caller_acc, "callerAcc")?,
            required(args.caller, "caller")?,
            args.callees
                .ok_or_else(|| JsError::type_error("callees", "an array of strings"))?,
            max_dur(args.max_dur)?,
        )
        .map_err(core_error)?
        .into(),
        "query" => {
            let kind = match args.r#type.as_deref() {
                None | Some("call") => SessionKind::Call,
                Some("conference") => SessionKind::Conference,
                Some(_) => return Err(JsError::type_error("type", "'call' or 'conference'")),
            };
            QueryBySession::new(required(args.session, "session")?, kind)
                .map_err(core_error)?
                .into()
        }
        "api" => {
            let request = ApiRequest::new(required(args.path, "path")?, api_params(args.params)?)
                .map_err(core_error)?;
            request.idempotent(args.idempotent.unwrap_or(false)).into()
        }
        _ => {
            let expected = "'start_call', 'start_conf', 'query' or 'api'";
            return Err(JsError::type_error("kind", expected));
        }
    })
}

/// Where nonces, the clock and the jitter come from: the OS, or what a test fixed.
#[derive(Debug, Default)]
struct Source {
    nonces: Vec<String>,
    next: usize,
    now_secs: Option<u64>,
    jitter: Option<u32>,
}

impl Entropy for Source {
    fn nonce(&mut self) -> Result<String, Error> {
        let Some(last) = self.nonces.len().checked_sub(1) else {
            return SystemEntropy.nonce();
        };
        let nonce = self.nonces[self.next.min(last)].clone();
        self.next += 1;
        Ok(nonce)
    }

    fn now_secs(&mut self) -> u64 {
        self.now_secs.unwrap_or_else(|| SystemEntropy.now_secs())
    }

    fn jitter(&mut self) -> u32 {
        self.jitter.unwrap_or_else(|| SystemEntropy.jitter())
    }
}

impl Source {
    fn new(args: Option<EntropyArgs>) -> napi::Result<Self> {
        let Some(args) = args else {
            return Ok(Source::default());
        };
        Ok(Source {
            nonces: args.nonces.unwrap_or_default(),
            next: 0,
            now_secs: args.now_secs.map(|n| u64_arg(n, "nowSecs")).transpose()?,
            jitter: args.jitter.map(|n| u32_arg(n, "jitter")).transpose()?,
        })
    }
}

fn duration_ms(ms: f64, field: &str) -> napi::Result<Duration> {
    if ms.is_finite() && ms >= 0.0 {
        Ok(Duration::from_secs_f64(ms / 1000.0))
    } else {
        Err(JsError::type_error(
            field,
            "a non-negative number of milliseconds",
        ))
    }
}

fn status_arg(status: f64) -> napi::Result<u16> {
    let n = u64_arg(status, "status")?;
    u16::try_from(n).map_err(|_| JsError::type_error("status", "an HTTP status"))
}

/// One request's exchange with the service, from its first attempt to its answer or error.
#[napi]
pub struct Exchange {
    inner: yunxin_ecp::exchange::Exchange,
    entropy: Source,
}

impl Exchange {
    fn next(next: Next) -> napi::Result<NextOut> {
        match next {
            Next::Retry { after } => Ok(NextOut {
                retry_after_ms: Some(millis_arg(after)),
                done: false,
                answer: None,
            }),
            Next::Done(Err(error)) => Err(core_error(error)),
            Next::Done(Ok(answer)) => {
                let value = match answer {
                    Answer::Started(started) => {
                        serde_json::json!({ "session": started.session, "raw": started.raw })
                    }
                    Answer::Record(record) => {
                        let view = serde_json::to_value(RecordView::new(&record))
                            .map_err(|_| JsError::type_error("answer", "a record"))?;
                        camel(view)
                    }
                    Answer::Json(value) => value,
                };
                Ok(NextOut {
                    retry_after_ms: None,
                    done: true,
                    answer: Some(value),
                })
            }
        }
    }
}

#[napi]
impl Exchange {
    /// An exchange for `request` signed with `credentials` under `settings` (checked by the
    /// core); `entropy` fixes nonces, clock and jitter, for tests only.
    #[napi(constructor)]
    pub fn new(
        request_args: RequestArgs,
        credentials: &Credentials,
        settings_args: Option<SettingsArgs>,
        entropy: Option<EntropyArgs>,
    ) -> napi::Result<Self> {
        let request = request(request_args)?;
        let settings = settings(settings_args)?;
        let inner =
            yunxin_ecp::exchange::Exchange::new(request, credentials.inner.clone(), &settings)
                .map_err(core_error)?;
        Ok(Exchange {
            inner,
            entropy: Source::new(entropy)?,
        })
    }

    /// The next attempt, signed now with a fresh nonce.
    #[napi]
    pub fn send(&mut self) -> napi::Result<AttemptOut> {
        let attempt = self.inner.send(&mut self.entropy).map_err(core_error)?;
        let request = attempt.request;
        let headers: Map<String, Value> = request
            .headers
            .into_iter()
            .map(|(name, value)| (name.to_owned(), Value::String(value)))
            .collect();
        Ok(AttemptOut {
            number: attempt.number,
            method: request.method.to_owned(),
            url: request.url,
            headers: Value::Object(headers),
            body: request.body,
            connect_timeout_ms: millis_arg(attempt.connect_timeout),
            timeout_ms: millis_arg(attempt.timeout),
            max_response_bytes: attempt.max_response_bytes as f64,
        })
    }

    /// The answer to the attempt in flight: status, `Location` (only a 3xx's is used, to name
    /// the refused redirect), the whole body (within the cap), and the attempt's time.
    #[napi]
    pub fn receive(
        &mut self,
        status: f64,
        location: Option<String>,
        body: Buffer,
        elapsed_ms: f64,
    ) -> napi::Result<NextOut> {
        let status = status_arg(status)?;
        let elapsed = duration_ms(elapsed_ms, "elapsedMs")?;
        let next = self.inner.receive(
            status,
            location.as_deref(),
            &body,
            elapsed,
            &mut self.entropy,
        );
        Self::next(next)
    }

    /// The answer was longer than the attempt's `maxResponseBytes`; reading stopped there.
    #[napi]
    pub fn too_large(&mut self, status: f64, elapsed_ms: f64) -> napi::Result<NextOut> {
        let status = status_arg(status)?;
        let elapsed = duration_ms(elapsed_ms, "elapsedMs")?;
        Self::next(self.inner.too_large(status, elapsed, &mut self.entropy))
    }

    /// No complete answer: `kind` is `connect`, `timeout`, `tls` or `io`; `maybeSent` false
    /// only when the connection was never opened.
    #[napi]
    pub fn fail(
        &mut self,
        kind: String,
        maybe_sent: bool,
        detail: String,
        elapsed_ms: f64,
    ) -> napi::Result<NextOut> {
        let kind = TransportErrorKind::from_code(&kind)
            .ok_or_else(|| JsError::type_error("kind", "'connect', 'timeout', 'tls' or 'io'"))?;
        let elapsed = duration_ms(elapsed_ms, "elapsedMs")?;
        let next = self
            .inner
            .fail(kind, maybe_sent, &detail, elapsed, &mut self.entropy);
        Self::next(next)
    }

    /// The caller abandoned the attempt in flight: the retry advice for the request
    /// (`outcome_unknown` when a start may have been sent). The exchange is done.
    #[napi]
    pub fn cancel(&mut self, maybe_sent: bool) -> String {
        self.inner.cancel(maybe_sent).code().to_owned()
    }

    /// The events since the last call, oldest first: `{ level, name, fields, line }`, masked,
    /// never a header or a body.
    #[napi]
    pub fn take_events(&mut self) -> Vec<Value> {
        self.inner
            .take_events()
            .into_iter()
            .map(|event| {
                let fields: Map<String, Value> = event
                    .fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
                    .collect();
                serde_json::json!({
                    "level": event.level.code(),
                    "name": event.name,
                    "fields": fields,
                    "line": event.to_string(),
                })
            })
            .collect()
    }
}
