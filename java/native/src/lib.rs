//! The JNI side of the Java binding (`io.github.yunxinecp`): conversion, error mapping and
//! ownership only. Every rule (signing, validation, callbacks, retries, redirects, size caps,
//! redaction) is the core's; the Java classes only carry values across and do I/O.
//!
//! Values cross as strings, arrays and primitives rather than JSON, because the jar has no
//! runtime dependency and so no JSON reader. Errors become Java exceptions built by the Java
//! class `YunxinException.fromNative(String[])` from the core's one error view
//! ([`yunxin_ecp::views::ErrorView`]), so every field the other languages expose is there.
//!
//! No panic crosses into the JVM (that is undefined behaviour): every entry point runs under
//! `catch_unwind` in `guard`, and a panic becomes an `IllegalStateException`.

mod convert;
mod deliveries;
mod exchange;

use std::panic::{AssertUnwindSafe, catch_unwind};

use jni::JNIEnv;
use jni::objects::{JByteArray, JClass, JLongArray, JObjectArray, JString, JThrowable, JValue};
use jni::sys::{jint, jlong, jobject, jobjectArray, jstring};
use yunxin_ecp::callback::{CallbackVerifier, TimeCheck, parse_callback};
use yunxin_ecp::settings::ClientSettings;
use yunxin_ecp::signing::{Credentials, unix_millis_now};
use yunxin_ecp::validate::epoch_millis;
use yunxin_ecp::views::ErrorView;
use yunxin_ecp::{CallbackEvent, Error, checksum};

use convert::{bytes_arg, event_object, header_pairs, str_arg, string_array, strings_arg};

/// The Java package, as JNI spells class names.
pub(crate) const PACKAGE: &str = "io/github/yunxinecp";

/// Why an entry point did not return a value: a core error (thrown as the matching
/// `YunxinException`), a refused argument, or a Java exception already pending.
pub(crate) enum Thrown {
    /// The core refused or failed.
    Core(Error),
    /// A `null` where a value is required: `NullPointerException` naming the parameter.
    Null(&'static str),
    /// An argument the binding cannot carry (text that is not valid UTF-16):
    /// `IllegalArgumentException` naming the parameter.
    Argument(String),
    /// A JNI call failed; it left a Java exception pending, or a plain error to report.
    Jni(jni::errors::Error),
}

impl<E: Into<Error>> From<E> for Thrown {
    fn from(e: E) -> Self {
        Thrown::Core(e.into())
    }
}

/// A JNI failure, kept apart from the core's errors (the blanket `From` above covers those).
pub(crate) fn jni_err(e: jni::errors::Error) -> Thrown {
    Thrown::Jni(e)
}

pub(crate) type Fallible<T> = Result<T, Thrown>;

/// Runs an entry point's body: its error becomes a Java exception and a panic an
/// `IllegalStateException`; `fallback` is what the JVM gets back, ignored while an exception is
/// pending.
pub(crate) fn guard<'l, T>(
    env: &mut JNIEnv<'l>,
    fallback: T,
    body: impl FnOnce(&mut JNIEnv<'l>) -> Fallible<T>,
) -> T {
    // The bodies read their arguments first and change a handle's state last (the core's
    // methods do not panic half-way), so asserting unwind safety is sound.
    let outcome = catch_unwind(AssertUnwindSafe(|| body(env)));
    let thrown = match outcome {
        Ok(Ok(value)) => return value,
        Ok(Err(thrown)) => thrown,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Thrown::Argument(format!("\u{0}panic: {what}"))
        }
    };
    throw(env, thrown);
    fallback
}

/// Throws `thrown` unless an exception is already pending (the first one is the cause).
fn throw(env: &mut JNIEnv<'_>, thrown: Thrown) {
    if env.exception_check().unwrap_or(true) {
        return;
    }
    let done = match thrown {
        Thrown::Core(error) => throw_core(env, &error),
        Thrown::Null(name) => env.throw_new(
            "java/lang/NullPointerException",
            format!("{name} must not be null"),
        ),
        Thrown::Argument(message) => match message.strip_prefix('\u{0}') {
            Some(panic) => env.throw_new(
                "java/lang/IllegalStateException",
                format!("yunxin-ecp: internal error ({panic}); please report it"),
            ),
            None => env.throw_new("java/lang/IllegalArgumentException", message),
        },
        Thrown::Jni(e) => env.throw_new(
            "java/lang/IllegalStateException",
            format!("yunxin-ecp: JNI call failed: {e}"),
        ),
    };
    if done.is_err() && !env.exception_check().unwrap_or(true) {
        // Nothing better is left than the JVM's own error.
        let _ = env.throw_new(
            "java/lang/Error",
            "yunxin-ecp: could not throw an exception",
        );
    }
}

/// The order of `YunxinException.fromNative`'s array: the error view's fields by name.
const VIEW_FIELDS: [&str; 17] = [
    "kind",
    "message",
    "field",
    "rule",
    "index",
    "code",
    "api_message",
    "meaning",
    "http_status",
    "reason",
    "retry",
    "maybe_sent",
    "endpoint",
    "path",
    "attempts",
    "detail",
    "raw_body",
];

/// Builds the Java exception for `error` from the core's error view and throws it.
fn throw_core(env: &mut JNIEnv<'_>, error: &Error) -> jni::errors::Result<()> {
    let view = serde_json::to_value(ErrorView::new(error)).unwrap_or_default();
    let fields: Vec<Option<String>> = VIEW_FIELDS
        .iter()
        .map(|name| match view.get(name) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        })
        .collect();
    let array = string_array(env, &fields)?;
    let class = format!("{PACKAGE}/YunxinException");
    let exception = env
        .call_static_method(
            class.as_str(),
            "fromNative",
            "([Ljava/lang/String;)Ljava/lang/RuntimeException;",
            &[JValue::Object(&array)],
        )?
        .l()?;
    env.throw(JThrowable::from(exception))
}

/// `Native.checksum(secret, nonce, curTime)`: lowercase hex SHA1 of the three, as UTF-8.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_checksum<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    secret: JString<'l>,
    nonce: JString<'l>,
    cur_time: JString<'l>,
) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let secret = str_arg(env, &secret, "appSecret")?;
        let nonce = str_arg(env, &nonce, "nonce")?;
        let cur_time = str_arg(env, &cur_time, "curTime")?;
        let sum = checksum(&secret, &nonce, &cur_time);
        Ok(env.new_string(sum.as_str()).map_err(jni_err)?.into_raw())
    })
}

/// The core's credentials from the Java object's two strings (checked every time: the Java
/// class keeps no native handle, so there is nothing to free).
pub(crate) fn credentials(
    env: &mut JNIEnv<'_>,
    key: &JString<'_>,
    secret: &JString<'_>,
) -> Fallible<Credentials> {
    let key = str_arg(env, key, "appKey")?;
    let secret = str_arg(env, secret, "appSecret")?;
    Ok(Credentials::new(key, secret)?)
}

/// `Native.checkCredentials(key, secret)`: refuses what `Credentials::new` refuses.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_checkCredentials<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    key: JString<'l>,
    secret: JString<'l>,
) {
    guard(&mut env, (), |env| {
        credentials(env, &key, &secret).map(drop)
    })
}

/// `Native.credentialsFromEnv()`: `{key, secret}` from `YUNXIN_APP_KEY`/`YUNXIN_APP_SECRET`,
/// read by the core's rule (a variable not set or empty is refused naming it).
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_credentialsFromEnv<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let creds = Credentials::from_env()?;
        let pair = [
            Some(creds.app_key().to_owned()),
            Some(creds.expose_secret().to_owned()),
        ];
        Ok(string_array(env, &pair).map_err(jni_err)?.into_raw())
    })
}

/// `Native.sign(key, secret, nonce, curTime)`: the four headers as name, value pairs in one
/// array. A `null` nonce signs now: a fresh nonce from the OS CSPRNG and one reading of the
/// clock (`curTime` is then ignored).
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_sign<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    key: JString<'l>,
    secret: JString<'l>,
    nonce: JString<'l>,
    cur_time: jlong,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let creds = credentials(env, &key, &secret)?;
        let auth = if nonce.is_null() {
            creds.sign_now()?
        } else {
            let nonce = str_arg(env, &nonce, "nonce")?;
            // A negative time is refused by the core's own rule, as 0 is.
            creds.sign(&nonce, u64::try_from(cur_time).unwrap_or(0))?
        };
        let flat: Vec<Option<String>> = auth
            .pairs()
            .iter()
            .flat_map(|(name, value)| [Some((*name).to_owned()), Some((*value).to_owned())])
            .collect();
        Ok(string_array(env, &flat).map_err(jni_err)?.into_raw())
    })
}

/// `Native.signInto(key, secret, out)`: signs now, writing the `Nonce`, `CurTime` and
/// `CheckSum` values (all ASCII) one after the other into `out`; answers the nonce's length
/// shifted left by 16 bits, or'ed with `CurTime`'s (the `CheckSum` is 40 characters).
///
/// The signing path of `Credentials.signNow()`: the key and secret come as the UTF-8 bytes the
/// Java object keeps, and the values go back in one array, because building eight Java strings
/// and a `String[]` across JNI cost several times the signature itself (the hand-rolled
/// `MessageDigest` code it is measured against builds none).
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_signInto<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    key: JByteArray<'l>,
    secret: JByteArray<'l>,
    out: JByteArray<'l>,
) -> jint {
    guard(&mut env, -1, |env| {
        let key = utf8_arg(bytes_arg(env, &key, "appKey")?, "appKey")?;
        let secret = utf8_arg(bytes_arg(env, &secret, "appSecret")?, "appSecret")?;
        let auth = Credentials::new(key, secret)?.sign_now()?;
        let parts = [
            auth.nonce.as_bytes(),
            auth.cur_time.as_bytes(),
            auth.checksum.as_bytes(),
        ];
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let room = usize::try_from(env.get_array_length(&out).map_err(jni_err)?).unwrap_or(0);
        if total > room || parts[0].len() > 0xffff || parts[1].len() > 0xffff {
            return Err(Thrown::Argument(format!(
                "out holds {room} bytes, the signature needs {total}"
            )));
        }
        let mut written = Vec::with_capacity(total);
        for part in parts {
            written.extend(part.iter().map(|b| *b as i8));
        }
        env.set_byte_array_region(&out, 0, &written)
            .map_err(jni_err)?;
        // Both lengths fit in 16 bits (checked above), so the shift cannot overflow.
        Ok(((parts[0].len() as jint) << 16) | parts[1].len() as jint)
    })
}

/// Text from the UTF-8 bytes the Java side made of a string it already had checked.
fn utf8_arg(bytes: Vec<u8>, name: &'static str) -> Fallible<String> {
    String::from_utf8(bytes).map_err(|_| Thrown::Argument(format!("{name} is not UTF-8")))
}

/// A verifier for the Java `CallbackVerifier`'s values: its credentials as app key, secret,
/// app key, secret... (1 to 8 pairs: the core's rule, named `credentials`); `tolerance_ms`
/// negative skips the time check (`skipTimeCheckInsecure`).
fn verifier(
    env: &mut JNIEnv<'_>,
    credentials: &JObjectArray<'_>,
    tolerance_ms: jlong,
) -> Fallible<CallbackVerifier> {
    let flat = strings_arg(env, credentials, "credentials")?;
    let mut each = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(key), Some(secret)) = (it.next(), it.next()) {
        each.push(Credentials::new(key, secret)?);
    }
    let check = match u64::try_from(tolerance_ms) {
        Ok(ms) => TimeCheck::tolerance(ms)?,
        Err(_) => TimeCheck::SkipInsecure,
    };
    Ok(CallbackVerifier::with_credentials(each)?.with_time_check(check))
}

/// `Native.checkVerifier(credentials, toleranceMs)`: refuses what building the verifier refuses
/// (no credentials, more than 8, a tolerance over the core's ceiling), once, when the Java
/// verifier is built.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_checkVerifier<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    credentials: JObjectArray<'l>,
    tolerance_ms: jlong,
) {
    guard(&mut env, (), |env| {
        verifier(env, &credentials, tolerance_ms).map(drop)
    })
}

/// `Native.checkTolerance(ms)`: the core's ceiling on a verifier's tolerance.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_checkTolerance<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    tolerance_ms: jlong,
) {
    guard(&mut env, (), |_| {
        if let Ok(ms) = u64::try_from(tolerance_ms) {
            TimeCheck::tolerance(ms)?;
        }
        Ok(())
    })
}

/// The time a verification is made at: the clock's when negative, else the caller's, which must
/// be milliseconds (a value in seconds is refused naming `nowMs`, rule `seconds`, rather than
/// every callback being refused as stale).
fn now_ms(now: jlong) -> Fallible<u64> {
    match u64::try_from(now) {
        Ok(ms) => Ok(epoch_millis("nowMs", ms)?),
        Err(_) => Ok(unix_millis_now()),
    }
}

/// `Native.verifyAndParse(credentials, toleranceMs, body, headers, nowMs)`: the event (a
/// `CallbackEvent`), or `CallbackVerificationException` with the reason. `headers` is name,
/// value, name, value... (the Java side flattens its map; a repeated signature header is the
/// core's refusal).
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_verifyAndParse<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    credentials: JObjectArray<'l>,
    tolerance_ms: jlong,
    body: JByteArray<'l>,
    headers: JObjectArray<'l>,
    now: jlong,
) -> jobject {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let verifier = verifier(env, &credentials, tolerance_ms)?;
        let body = bytes_arg(env, &body, "body")?;
        let pairs = header_pairs(env, &headers)?;
        let event = verifier.verify_and_parse(&body, &pairs, now_ms(now)?)?;
        Ok(event_object(env, &event)?.into_raw())
    })
}

/// `Native.verifyDelivery(credentials, toleranceMs, body, headers, nowMs, numbers, event)`: as
/// `verifyAndParse`, returning the delivery's key (40 hex characters) and writing which
/// credentials matched, its `CurTime` and its expiry (clamped to `Long.MAX_VALUE`: no time check)
/// into `numbers`; with a non-null `event` (one slot), the body is parsed into it too.
///
/// The Java side builds the `Delivery` from these, so that a verification neither looks up nor
/// calls a Java factory (a class and method lookup by name on every call).
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_io_github_yunxinecp_Native_verifyDelivery<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    credentials: JObjectArray<'l>,
    tolerance_ms: jlong,
    body: JByteArray<'l>,
    headers: JObjectArray<'l>,
    now: jlong,
    numbers: JLongArray<'l>,
    event: JObjectArray<'l>,
) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let verifier = verifier(env, &credentials, tolerance_ms)?;
        let body = bytes_arg(env, &body, "body")?;
        let pairs = header_pairs(env, &headers)?;
        if numbers.is_null() {
            return Err(Thrown::Null("numbers"));
        }
        let now = now_ms(now)?;
        let verified = if event.is_null() {
            verifier.verify_delivery(&body, &pairs, now)?
        } else {
            let (verified, parsed) = verifier.verify_and_parse_delivery(&body, &pairs, now)?;
            let parsed = event_object(env, &parsed)?;
            env.set_object_array_element(&event, 0, &parsed)
                .map_err(jni_err)?;
            verified
        };
        let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        // At most MAX_CREDENTIALS (8): the index always fits.
        let values = [
            clamp(verified.credential as u64),
            clamp(verified.cur_time_ms),
            clamp(verified.expires_at_ms),
        ];
        env.set_long_array_region(&numbers, 0, &values)
            .map_err(jni_err)?;
        Ok(env
            .new_string(verified.key.hex())
            .map_err(jni_err)?
            .into_raw())
    })
}

/// `Native.parseCallback(body)`: a callback body's event, without verification (for bodies
/// verified elsewhere, and the parse vectors).
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_parseCallback<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    body: JByteArray<'l>,
) -> jobject {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let body = bytes_arg(env, &body, "body")?;
        let event: CallbackEvent = parse_callback(&body)?;
        Ok(event_object(env, &event)?.into_raw())
    })
}

/// Settings from the Java builder's values: `Long.MIN_VALUE` (and `Integer.MIN_VALUE` for the
/// retries) keeps a default, a `null` base URL is the core's default (`YUNXIN_BASE_URL`, else
/// the service). Every value is then checked by [`ClientSettings::check`], which names it.
pub(crate) fn settings(
    env: &mut JNIEnv<'_>,
    base_url: &JString<'_>,
    limits: [jlong; 5],
) -> Fallible<ClientSettings> {
    use std::time::Duration;
    use yunxin_ecp::validate::{Rule, ValidationError};
    let mut settings = if base_url.is_null() {
        ClientSettings::from_env()?
    } else {
        ClientSettings {
            base_url: str_arg(env, base_url, "baseUrl")?,
            ..ClientSettings::default()
        }
    };
    let [connect, timeout, retries, backoff, max_bytes] = limits;
    let wait = |field: &'static str, ms: jlong, zero_ok: bool| -> Fallible<Option<Duration>> {
        if ms == jlong::MIN {
            return Ok(None);
        }
        let rule = if zero_ok {
            Rule::NonNegativeSeconds
        } else {
            Rule::PositiveSeconds
        };
        let ms = u64::try_from(ms).map_err(|_| ValidationError::new(field, rule))?;
        Ok(Some(Duration::from_millis(ms)))
    };
    if let Some(d) = wait("connect_timeout", connect, false)? {
        settings.connect_timeout = d;
    }
    if let Some(d) = wait("timeout", timeout, false)? {
        settings.timeout = d;
    }
    if let Some(d) = wait("backoff", backoff, true)? {
        settings.backoff = d;
    }
    if retries != jlong::MIN {
        settings.max_retries = u32::try_from(retries)
            .map_err(|_| ValidationError::new("max_retries", Rule::NotInteger))?;
    }
    if max_bytes != jlong::MIN {
        settings.max_response_bytes = u64::try_from(max_bytes)
            .map_err(|_| ValidationError::new("max_response_bytes", Rule::NotPositive))?;
    }
    settings.check()?;
    Ok(settings)
}

/// `Native.resolveBaseUrl(baseUrl, connectMs, timeoutMs, maxRetries, backoffMs, maxBytes)`:
/// checks a client's settings once, when it is built, and returns the base URL it sends to.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_io_github_yunxinecp_Native_resolveBaseUrl<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    base_url: JString<'l>,
    connect_ms: jlong,
    timeout_ms: jlong,
    max_retries: jlong,
    backoff_ms: jlong,
    max_bytes: jlong,
) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let limits = [connect_ms, timeout_ms, max_retries, backoff_ms, max_bytes];
        let settings = settings(env, &base_url, limits)?;
        Ok(env
            .new_string(settings.base_url)
            .map_err(jni_err)?
            .into_raw())
    })
}

/// `Native.userAgent()`: what every driver sends, `yunxin-ecp/<version>`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_userAgent<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let agent = yunxin_ecp::exchange::USER_AGENT;
        Ok(env.new_string(agent).map_err(jni_err)?.into_raw())
    })
}
