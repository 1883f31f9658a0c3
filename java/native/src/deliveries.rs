//! Receiving callbacks in production, the native half: the core's bounded in-memory delivery
//! store behind a handle, the core's answers to a refused or repeated callback, its body cap, and
//! signed test callbacks.
//!
//! A store written in Java (Redis, a table) is called by the Java `DeliveryGuard` itself, never
//! from here: a call from Rust back into Java would hold a native frame across whatever the
//! store does (network, locks) and need its exceptions carried back through the core.

use jni::JNIEnv;
use jni::objects::{JByteArray, JClass, JObject, JString};
use jni::sys::{jboolean, jint, jlong, jobjectArray};
use yunxin_ecp::callback::sign_callback;
use yunxin_ecp::deliveries::{Claim, DeliveryKey, DeliveryStore, MemoryStore, StoreError};
use yunxin_ecp::refusal::{self, DUPLICATE_ANSWER, Refusal};
use yunxin_ecp::validate::epoch_millis;

use crate::convert::{bytes_arg, str_arg, string_array};
use crate::{Fallible, Thrown, credentials, guard, jni_err};

/// The store behind `h`.
///
/// The Java `MemoryDeliveryStore` passes only the handle it was built with, and passes itself
/// beside it, so that it stays reachable (and the handle unfreed) for the whole call: the handle
/// is freed only once the store is unreachable. The store is `Sync` (one mutex inside), so
/// threads may share it. 0 is refused rather than dereferenced.
fn store<'a>(h: jlong) -> Fallible<&'a MemoryStore> {
    if h == 0 {
        return Err(Thrown::Argument("the delivery store is freed".into()));
    }
    // SAFETY: a non-zero `h` came from `Box::into_raw` in `memoryStoreNew` and is freed only by
    // `memoryStoreFree` once its Java owner is unreachable (see above); only shared references
    // are made.
    Ok(unsafe { &*(h as *const MemoryStore) })
}

/// A key as the Java side hands it out (a `Delivery`'s 40 hex characters).
fn key_arg(env: &mut JNIEnv<'_>, key: &JString<'_>) -> Fallible<DeliveryKey> {
    let text = str_arg(env, key, "key")?;
    DeliveryKey::from_hex(&text).ok_or_else(|| {
        Thrown::Argument(
            "key is not a delivery key (the 40 hex characters of a Delivery's key())".into(),
        )
    })
}

/// The memory store cannot fail (its type says a store could): were it to, an internal error.
fn internal(error: StoreError) -> Thrown {
    Thrown::Argument(format!("\u{0}{error}"))
}

/// A time or expiry the Java side checked to be non-negative.
fn millis(value: jlong) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// `Native.memoryStoreNew(capacity)`: a store of at most `capacity` deliveries (the core's rule:
/// positive), or of the core's default capacity for `Native.UNSET`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_memoryStoreNew<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    capacity: jlong,
) -> jlong {
    guard(&mut env, 0, |_| {
        let store = if capacity == jlong::MIN {
            MemoryStore::default()
        } else {
            // A negative capacity is refused by the core's rule, as 0 is.
            MemoryStore::new(usize::try_from(capacity).unwrap_or(0))?
        };
        Ok(Box::into_raw(Box::new(store)) as jlong)
    })
}

/// `Native.memoryStoreFree(h)`: frees a store; 0 does nothing.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_memoryStoreFree<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
) {
    guard(&mut env, (), |_| {
        if h != 0 {
            // SAFETY: as in `store`; the Java side frees each handle once, when its owner is
            // unreachable, so no call is using it.
            drop(unsafe { Box::from_raw(h as *mut MemoryStore) });
        }
        Ok(())
    })
}

/// `Native.memoryStoreClaim(owner, h, key, expiresAtMs, nowMs)`: 0 first, 1 duplicate, 2 in
/// progress (the order of the Java enum `Claim`).
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_memoryStoreClaim<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    _owner: JObject<'l>,
    h: jlong,
    key: JString<'l>,
    expires_at_ms: jlong,
    now_ms: jlong,
) -> jint {
    guard(&mut env, -1, |env| {
        let key = key_arg(env, &key)?;
        let claim = store(h)?
            .claim(&key, millis(expires_at_ms), millis(now_ms))
            .map_err(internal)?;
        Ok(match claim {
            Claim::First => 0,
            Claim::Duplicate => 1,
            Claim::InProgress => 2,
        })
    })
}

/// `Native.memoryStoreComplete(owner, h, key, expiresAtMs)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_memoryStoreComplete<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    _owner: JObject<'l>,
    h: jlong,
    key: JString<'l>,
    expires_at_ms: jlong,
) {
    guard(&mut env, (), |env| {
        let key = key_arg(env, &key)?;
        store(h)?
            .complete(&key, millis(expires_at_ms))
            .map_err(internal)
    })
}

/// `Native.memoryStoreRelease(owner, h, key)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_memoryStoreRelease<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    _owner: JObject<'l>,
    h: jlong,
    key: JString<'l>,
) {
    guard(&mut env, (), |env| {
        let key = key_arg(env, &key)?;
        store(h)?.release(&key).map_err(internal)
    })
}

/// `Native.memoryStoreCounts(owner, h)`: `{held, evicted}`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_memoryStoreCounts<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    _owner: JObject<'l>,
    h: jlong,
) -> jni::sys::jlongArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let store = store(h)?;
        let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let counts = [clamp(store.len() as u64), clamp(store.evicted())];
        let array = env.new_long_array(2).map_err(jni_err)?;
        env.set_long_array_region(&array, 0, &counts)
            .map_err(jni_err)?;
        Ok(array.into_raw())
    })
}

/// `Native.callbackAnswer(reason)`: `{status, body, reason}` as the core answers a callback
/// turned away for `reason` (a refusal's, `in_progress`, `store_unavailable`), or acknowledges a
/// repeat handled before (`duplicate`). The reason comes back as the core names it: one it does
/// not know is `refused`, never echoed.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_callbackAnswer<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    reason: JString<'l>,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let reason = str_arg(env, &reason, "reason")?;
        let answer = if reason == "duplicate" {
            let (status, body) = DUPLICATE_ANSWER;
            [status.to_string(), body.to_owned(), reason]
        } else {
            let refusal = Refusal::for_reason(&reason);
            [
                refusal.status().to_string(),
                refusal.body(),
                refusal.reason().to_owned(),
            ]
        };
        let answer = answer.map(Some);
        Ok(string_array(env, &answer).map_err(jni_err)?.into_raw())
    })
}

/// `Native.defaultMaxBodyBytes()`: the body cap of the callback helpers unless given one.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_defaultMaxBodyBytes<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
) -> jlong {
    guard(&mut env, 0, |_| {
        Ok(i64::try_from(refusal::DEFAULT_MAX_BODY_BYTES).unwrap_or(i64::MAX))
    })
}

/// `Native.checkBodyLimit(maxBodyBytes)`: the core's rule for a cap (positive).
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_checkBodyLimit<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    max_body_bytes: jlong,
) {
    guard(&mut env, (), |_| {
        refusal::body_limit(max_body_bytes)?;
        Ok(())
    })
}

/// `Native.declaredTooLarge(contentLength, maxBodyBytes)`: whether a `Content-Length` value
/// already says more than the cap (`null`, or not a plain number, says nothing).
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_declaredTooLarge<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    content_length: JString<'l>,
    max_body_bytes: jlong,
) -> jboolean {
    guard(&mut env, 0, |env| {
        let value = if content_length.is_null() {
            None
        } else {
            Some(str_arg(env, &content_length, "contentLength")?)
        };
        let limit = refusal::body_limit(max_body_bytes)?;
        Ok(u8::from(refusal::declared_too_large(
            value.as_deref(),
            limit,
        )))
    })
}

/// `Native.signCallback(key, secret, body, curTimeMs)`: the headers the service sends with a
/// callback body, as name, value pairs in one array. `curTimeMs` is checked to be milliseconds
/// (a value in seconds is refused, rule `seconds`), as every binding checks it.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_yunxinecp_Native_signCallback<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    key: JString<'l>,
    secret: JString<'l>,
    body: JByteArray<'l>,
    cur_time_ms: jlong,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let creds = credentials(env, &key, &secret)?;
        let body = bytes_arg(env, &body, "body")?;
        // The Java side refuses a negative time before calling.
        let cur_time_ms = epoch_millis("curTimeMs", millis(cur_time_ms))?;
        let signed = sign_callback(&creds, &body, cur_time_ms);
        let flat: Vec<Option<String>> = signed
            .pairs()
            .iter()
            .flat_map(|(name, value)| [Some((*name).to_owned()), Some((*value).to_owned())])
            .collect();
        Ok(string_array(env, &flat).map_err(jni_err)?.into_raw())
    })
}
