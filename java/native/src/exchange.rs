//! The core's sans-IO exchange behind an opaque handle (a `long` on the Java side, freed by
//! `Exchange.close()` or its cleaner). The Java driver sends each attempt over
//! `HttpURLConnection` and feeds back what happened; every decision is the core's.

use std::time::Duration;

use jni::JNIEnv;
use jni::objects::{JByteArray, JClass, JObject, JObjectArray, JString, JValue};
use jni::sys::{jboolean, jint, jlong, jobject, jobjectArray, jstring};
use yunxin_ecp::exchange::{Answer, AnyRequest, Exchange, FixedEntropy, Next};
use yunxin_ecp::validate::{Rule, ValidationError};
use yunxin_ecp::{
    ApiRequest, Error, QueryBySession, SessionKind, StartCall, StartConf, TransportErrorKind,
};

use crate::convert::{record_object, started_object, str_arg, string_array, strings_arg};
use crate::{Fallible, PACKAGE, Thrown, credentials, guard, jni_err, settings};

/// What a Java `Exchange` points at.
struct Handle {
    inner: Exchange,
    entropy: FixedEntropy,
    /// The result once the exchange is done, for `result()`.
    done: Option<Result<Answer, Error>>,
}

/// The request a Java call describes: `kind` 0 start call (`callerAcc, caller, callee`), 1
/// start conference (`callerAcc, caller, callees...`), both with `number` = `maxDur`; 2 query
/// (`session`; `number` 1 call, 2 conference); 3 any API (`path, name, value, ...`; `number`
/// 1 when idempotent). The core validates each field.
fn request(kind: jint, strings: Vec<String>, number: jlong) -> Fallible<AnyRequest> {
    let max_dur = || {
        u32::try_from(number)
            .map_err(|_| Thrown::from(ValidationError::new("maxDur", Rule::NotPositive)))
    };
    let mut it = strings.into_iter();
    let mut next = || it.next().unwrap_or_default();
    Ok(match kind {
        0 => {
            let (acc, caller, callee) = (next(), next(), next());
            StartCall::new(acc, caller, callee, max_dur()?)?.into()
        }
        1 => {
            let (acc, caller) = (next(), next());
            let callees: Vec<String> = std::iter::from_fn(|| it.next()).collect();
            StartConf::new(acc, caller, callees, max_dur()?)?.into()
        }
        2 => {
            let kind = if number == 2 {
                SessionKind::Conference
            } else {
                SessionKind::Call
            };
            QueryBySession::new(next(), kind)?.into()
        }
        3 => {
            let path = next();
            let rest: Vec<String> = std::iter::from_fn(|| it.next()).collect();
            let params = rest
                .chunks(2)
                .map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default()));
            ApiRequest::new(path, params)?
                .idempotent(number == 1)
                .into()
        }
        _ => return Err(Thrown::Argument("unknown request kind".into())),
    })
}

/// `Native.exchangeNew(...)`: a handle, or an exception naming what was refused.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_io_github_yunxinecp_Native_exchangeNew<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    key: JString<'l>,
    secret: JString<'l>,
    kind: jint,
    strings: JObjectArray<'l>,
    number: jlong,
    base_url: JString<'l>,
    limits: jni::objects::JLongArray<'l>,
    nonces: JObjectArray<'l>,
    now_secs: jlong,
    jitter: jlong,
) -> jlong {
    guard(&mut env, 0, |env| {
        let creds = credentials(env, &key, &secret)?;
        let strings = strings_arg(env, &strings, "request")?;
        let request = request(kind, strings, number)?;
        if limits.is_null() {
            return Err(Thrown::Null("limits"));
        }
        let mut values = [jlong::MIN; 5];
        env.get_long_array_region(&limits, 0, &mut values)
            .map_err(jni_err)?;
        let settings = settings(env, &base_url, values)?;
        // A test's fixing (as the C ABI's entropy_json); the system's otherwise.
        let fixed_nonces = if nonces.is_null() {
            Vec::new()
        } else {
            strings_arg(env, &nonces, "nonces")?
        };
        let entropy = FixedEntropy::new(
            fixed_nonces,
            u64::try_from(now_secs).ok().filter(|n| *n > 0),
            u32::try_from(jitter).ok(),
        );
        let inner = Exchange::new(request, creds, &settings)?;
        let handle = Box::new(Handle {
            inner,
            entropy,
            done: None,
        });
        Ok(Box::into_raw(handle) as jlong)
    })
}

/// The handle behind `h`.
///
/// The Java `Exchange` passes only a live handle (it zeroes it on close, and its methods are
/// synchronized, so one thread at a time); 0 is refused rather than dereferenced.
fn handle<'a>(h: jlong) -> Fallible<&'a mut Handle> {
    if h == 0 {
        return Err(Thrown::Argument("the exchange is closed".into()));
    }
    // SAFETY: a non-zero `h` came from `Box::into_raw` in `exchangeNew` and is not freed yet
    // (see above); no other reference to it lives during this call.
    Ok(unsafe { &mut *(h as *mut Handle) })
}

/// `Native.exchangeFree(h)`: frees a handle; 0 does nothing.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_exchangeFree<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
) {
    guard(&mut env, (), |_| {
        if h != 0 {
            // SAFETY: as in `handle`; the Java side frees each handle once.
            drop(unsafe { Box::from_raw(h as *mut Handle) });
        }
        Ok(())
    })
}

/// `Native.exchangeSend(h)`: the next attempt, as a Java `Attempt`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_exchangeSend<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
) -> jobject {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let handle = handle(h)?;
        let attempt = handle.inner.send(&mut handle.entropy)?;
        let headers: Vec<Option<String>> = attempt
            .request
            .headers
            .iter()
            .flat_map(|(name, value)| [Some((*name).to_owned()), Some(value.clone())])
            .collect();
        let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let limits = [
            millis(attempt.connect_timeout),
            millis(attempt.timeout),
            i64::try_from(attempt.max_response_bytes).unwrap_or(i64::MAX),
        ];
        let url = env.new_string(&attempt.request.url).map_err(jni_err)?;
        let headers = string_array(env, &headers).map_err(jni_err)?;
        let body = env
            .byte_array_from_slice(attempt.request.body.as_bytes())
            .map_err(jni_err)?;
        let limits_array = env.new_long_array(3).map_err(jni_err)?;
        env.set_long_array_region(&limits_array, 0, &limits)
            .map_err(jni_err)?;
        let class = format!("{PACKAGE}/Exchange$Attempt");
        let signature =
            format!("(ILjava/lang/String;[Ljava/lang/String;[B[J)L{PACKAGE}/Exchange$Attempt;");
        let number = i32::try_from(attempt.number).unwrap_or(i32::MAX);
        let object = env
            .call_static_method(
                class.as_str(),
                "fromNative",
                signature.as_str(),
                &[
                    JValue::Int(number),
                    JValue::Object(&url),
                    JValue::Object(&headers),
                    JValue::Object(&body),
                    JValue::Object(&limits_array),
                ],
            )
            .and_then(|v| v.l())
            .map_err(jni_err)?;
        Ok(object.into_raw())
    })
}

/// What a step answers the Java side: the wait in milliseconds before the next attempt, or -1
/// when the exchange is done (its result is then read with `result`).
fn step(handle: &mut Handle, next: Next) -> jlong {
    match next {
        Next::Retry { after } => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Next::Done(result) => {
            handle.done = Some(result);
            -1
        }
    }
}

fn elapsed(ms: jlong) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn status(value: jint) -> Fallible<u16> {
    u16::try_from(value)
        .map_err(|_| Thrown::Argument(format!("status {value} is not an HTTP status")))
}

/// `Native.exchangeReceive(h, status, location, body, elapsedMs)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_exchangeReceive<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    http_status: jint,
    location: JString<'l>,
    body: JByteArray<'l>,
    length: jint,
    elapsed_ms: jlong,
) -> jlong {
    guard(&mut env, -1, |env| {
        let handle = handle(h)?;
        let status = status(http_status)?;
        let location = if location.is_null() {
            None
        } else {
            Some(str_arg(env, &location, "location")?)
        };
        let mut body = crate::convert::bytes_arg(env, &body, "body")?;
        body.truncate(usize::try_from(length).unwrap_or(0));
        let next = handle.inner.receive(
            status,
            location.as_deref(),
            &body,
            elapsed(elapsed_ms),
            &mut handle.entropy,
        );
        Ok(step(handle, next))
    })
}

/// `Native.exchangeTooLarge(h, status, elapsedMs)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_exchangeTooLarge<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    http_status: jint,
    elapsed_ms: jlong,
) -> jlong {
    guard(&mut env, -1, |_| {
        let handle = handle(h)?;
        let status = status(http_status)?;
        let next = handle
            .inner
            .too_large(status, elapsed(elapsed_ms), &mut handle.entropy);
        Ok(step(handle, next))
    })
}

/// `Native.exchangeFail(h, kind, maybeSent, detail, elapsedMs)`; `kind` 1 connect, 2 timeout,
/// 3 TLS, 4 I/O.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_exchangeFail<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    kind: jint,
    maybe_sent: jboolean,
    detail: JString<'l>,
    elapsed_ms: jlong,
) -> jlong {
    guard(&mut env, -1, |env| {
        let handle = handle(h)?;
        let kind = match kind {
            1 => TransportErrorKind::Connect,
            2 => TransportErrorKind::Timeout,
            3 => TransportErrorKind::Tls,
            4 => TransportErrorKind::Io,
            _ => {
                return Err(Thrown::Argument(format!(
                    "kind {kind} is no transport kind"
                )));
            }
        };
        let detail = str_arg(env, &detail, "detail")?;
        let next = handle.inner.fail(
            kind,
            maybe_sent != 0,
            &detail,
            elapsed(elapsed_ms),
            &mut handle.entropy,
        );
        Ok(step(handle, next))
    })
}

/// `Native.exchangeResult(h)`: a start's `Started`, a query's `CallRecord` or another API's
/// JSON text; or the error, thrown.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_exchangeResult<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
) -> jobject {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let handle = handle(h)?;
        let Some(done) = handle.done.clone() else {
            return Err(Thrown::Argument("the exchange is not done".into()));
        };
        let object: JObject<'_> = match done? {
            Answer::Started(started) => started_object(env, &started)?,
            Answer::Record(record) => record_object(env, &record)?,
            Answer::Json(value) => env.new_string(value.to_string()).map_err(jni_err)?.into(),
        };
        Ok(object.into_raw())
    })
}

/// `Native.exchangeCancel(h, maybeSent)`: the advice for an abandoned attempt.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_exchangeCancel<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    maybe_sent: jboolean,
) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let handle = handle(h)?;
        let advice = handle.inner.cancel(maybe_sent != 0);
        Ok(env.new_string(advice.code()).map_err(jni_err)?.into_raw())
    })
}

/// `Native.exchangeTakeEvents(h)`: level, line, level, line... oldest first.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_exchangeTakeEvents<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let handle = handle(h)?;
        let flat: Vec<Option<String>> = handle
            .inner
            .take_events()
            .iter()
            .flat_map(|e| [Some(e.level.code().to_owned()), Some(e.to_string())])
            .collect();
        Ok(string_array(env, &flat).map_err(jni_err)?.into_raw())
    })
}
