//! Values across JNI: Java strings in (strictly: an unpaired surrogate is refused, never
//! replaced, since a secret or a number changed by one character would sign or send something
//! else), byte arrays in, string arrays and the binding's value objects out.

use jni::JNIEnv;
use std::sync::OnceLock;

use jni::objects::{GlobalRef, JByteArray, JObject, JObjectArray, JString, JValue};
use yunxin_ecp::{CallRecord, CallbackEvent, Rate};

use crate::{Fallible, PACKAGE, Thrown, jni_err};

/// A Java string argument as Rust text; `null` is a `NullPointerException` naming `name`.
pub(crate) fn str_arg(
    env: &mut JNIEnv<'_>,
    s: &JString<'_>,
    name: &'static str,
) -> Fallible<String> {
    if s.is_null() {
        return Err(Thrown::Null(name));
    }
    // Read as UTF-16 (GetStringRegion into a buffer of ours) rather than as "modified UTF-8"
    // (GetStringUTFChars, which allocates a copy in the JVM on every call and needs decoding):
    // this sits on every signing, verifying and request path. A lone surrogate cannot be Rust
    // text, and is refused by name rather than replaced.
    let units = utf16_units(env, s)?;
    String::from_utf16(&units).map_err(|_| {
        Thrown::Argument(format!(
            "{name} is not valid UTF-16 (an unpaired surrogate)"
        ))
    })
}

/// The UTF-16 code units of a non-null Java string.
fn utf16_units(env: &mut JNIEnv<'_>, s: &JString<'_>) -> Fallible<Vec<u16>> {
    let raw = env.get_raw();
    // SAFETY: `raw` is this thread's live JNIEnv (the entry point's own), and `s` a non-null
    // local reference to a `java.lang.String`: every `JString` handed here is a parameter the
    // Java side declares `String`, or an element of a `String[]` (whose stores the JVM
    // type-checks; `String` is final). GetStringRegion writes exactly `len` units into a buffer
    // of that capacity, which `set_len` then exposes; it cannot fail for the range 0..len of the
    // same string, and throws (checked below) rather than writing when it would.
    unsafe {
        let functions = &**raw;
        let (Some(length), Some(region)) = (functions.GetStringLength, functions.GetStringRegion)
        else {
            return Err(Thrown::Argument("this JVM lacks GetStringRegion".into()));
        };
        let len = length(raw, s.as_raw());
        let count = usize::try_from(len).unwrap_or(0);
        let mut units: Vec<u16> = Vec::with_capacity(count);
        region(raw, s.as_raw(), 0, len, units.as_mut_ptr());
        if env.exception_check().map_err(jni_err)? {
            return Err(Thrown::Jni(jni::errors::Error::JavaException));
        }
        units.set_len(count);
        Ok(units)
    }
}

/// A `byte[]` argument; `null` is a `NullPointerException` naming `name`.
pub(crate) fn bytes_arg(
    env: &mut JNIEnv<'_>,
    array: &JByteArray<'_>,
    name: &'static str,
) -> Fallible<Vec<u8>> {
    if array.is_null() {
        return Err(Thrown::Null(name));
    }
    env.convert_byte_array(array).map_err(jni_err)
}

/// Strings of a `String[]` argument (none of them `null`), named `name` in refusals.
pub(crate) fn strings_arg(
    env: &mut JNIEnv<'_>,
    array: &JObjectArray<'_>,
    name: &'static str,
) -> Fallible<Vec<String>> {
    if array.is_null() {
        return Err(Thrown::Null(name));
    }
    let len = env.get_array_length(array).map_err(jni_err)?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    for i in 0..len {
        let item = JString::from(env.get_object_array_element(array, i).map_err(jni_err)?);
        out.push(str_arg(env, &item, name)?);
        env.delete_local_ref(item).map_err(jni_err)?;
    }
    Ok(out)
}

/// Header pairs from a flattened `String[]` (name, value, name, value...).
pub(crate) fn header_pairs(
    env: &mut JNIEnv<'_>,
    array: &JObjectArray<'_>,
) -> Fallible<Vec<(String, String)>> {
    let flat = strings_arg(env, array, "headers")?;
    let mut pairs = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(name), Some(value)) = (it.next(), it.next()) {
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// A `String[]` with `null` where a value is absent.
pub(crate) fn string_array<'l>(
    env: &mut JNIEnv<'l>,
    values: &[Option<String>],
) -> jni::errors::Result<JObjectArray<'l>> {
    let len = i32::try_from(values.len()).unwrap_or(i32::MAX);
    let class = string_class(env)?;
    let array = env.new_object_array(len, class, JObject::null())?;
    for (i, value) in values.iter().enumerate().take(len as usize) {
        if let Some(value) = value {
            let s = env.new_string(value)?;
            env.set_object_array_element(&array, i as i32, &s)?;
            env.delete_local_ref(s)?;
        }
    }
    Ok(array)
}

/// `java.lang.String`, looked up once: a lookup by name (FindClass) per array cost more than
/// the signing it carried. The class is never unloaded, so the global reference stays valid.
fn string_class(env: &mut JNIEnv<'_>) -> jni::errors::Result<&'static GlobalRef> {
    static STRING: OnceLock<GlobalRef> = OnceLock::new();
    if let Some(class) = STRING.get() {
        return Ok(class);
    }
    let class = env.find_class("java/lang/String")?;
    let global = env.new_global_ref(class)?;
    Ok(STRING.get_or_init(|| global))
}

/// "Absent" for the Java side's `long` fields.
const ABSENT: i64 = i64::MIN;

/// A Java `CallRecord` built by `CallRecord.fromNative` from the core's record: its own
/// fields, and `answered`, billed minutes and cost in fen as the core computes them.
pub(crate) fn record_object<'l>(
    env: &mut JNIEnv<'l>,
    record: &CallRecord,
) -> Fallible<JObject<'l>> {
    let strings = [
        record.session.clone(),
        record.init_account.clone(),
        record.caller.clone(),
        record.callee.clone(),
        record.start_time.clone(),
        record.status.clone(),
        Some(record.raw.to_string()),
    ];
    let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let numbers = [
        record.create_time_ms.map_or(ABSENT, clamp),
        record.duration_sec.map_or(ABSENT, clamp),
        clamp(record.billed_minutes()),
        clamp(record.cost(Rate::default()).fen),
        i64::from(record.answered()),
    ];
    let legs: Vec<Option<String>> = record
        .legs
        .iter()
        .flat_map(|leg| {
            [
                leg.endpoint.clone(),
                leg.end_time.clone(),
                leg.hang_cause.clone(),
            ]
        })
        .collect();
    let strings = string_array(env, &strings).map_err(jni_err)?;
    let numbers_array = env.new_long_array(numbers.len() as i32).map_err(jni_err)?;
    env.set_long_array_region(&numbers_array, 0, &numbers)
        .map_err(jni_err)?;
    let members = match &record.members {
        Some(m) => {
            let m: Vec<Option<String>> = m.iter().cloned().map(Some).collect();
            JObject::from(string_array(env, &m).map_err(jni_err)?)
        }
        None => JObject::null(),
    };
    let legs = string_array(env, &legs).map_err(jni_err)?;
    let class = format!("{PACKAGE}/CallRecord");
    let signature = format!(
        "([Ljava/lang/String;[J[Ljava/lang/String;[Ljava/lang/String;)L{PACKAGE}/CallRecord;"
    );
    env.call_static_method(
        class.as_str(),
        "fromNative",
        signature.as_str(),
        &[
            JValue::Object(&strings),
            JValue::Object(&numbers_array),
            JValue::Object(&members),
            JValue::Object(&legs),
        ],
    )
    .and_then(|v| v.l())
    .map_err(jni_err)
}

/// A Java `CallbackEvent` (`CallbackEvent.fromNative(eventType, raw, record)`).
pub(crate) fn event_object<'l>(
    env: &mut JNIEnv<'l>,
    event: &CallbackEvent,
) -> Fallible<JObject<'l>> {
    let (event_type, raw, record) = match event {
        CallbackEvent::CallEnd(record) => (
            Some(yunxin_ecp::callback::CALL_END_EVENT.to_owned()),
            None,
            Some(record_object(env, record)?),
        ),
        CallbackEvent::Other { event_type, raw } => (event_type.clone(), Some(raw.clone()), None),
    };
    let texts = string_array(env, &[event_type, raw]).map_err(jni_err)?;
    let record = record.unwrap_or_default();
    let class = format!("{PACKAGE}/CallbackEvent");
    let signature = format!("([Ljava/lang/String;L{PACKAGE}/CallRecord;)L{PACKAGE}/CallbackEvent;");
    env.call_static_method(
        class.as_str(),
        "fromNative",
        signature.as_str(),
        &[JValue::Object(&texts), JValue::Object(&record)],
    )
    .and_then(|v| v.l())
    .map_err(jni_err)
}

/// A Java `Started` (`Started.fromNative(session, rawObj)`).
pub(crate) fn started_object<'l>(
    env: &mut JNIEnv<'l>,
    started: &yunxin_ecp::Started,
) -> Fallible<JObject<'l>> {
    let session = env.new_string(&started.session).map_err(jni_err)?;
    let raw = env.new_string(started.raw.to_string()).map_err(jni_err)?;
    let class = format!("{PACKAGE}/Started");
    let signature = format!("(Ljava/lang/String;Ljava/lang/String;)L{PACKAGE}/Started;");
    env.call_static_method(
        class.as_str(),
        "fromNative",
        signature.as_str(),
        &[JValue::Object(&session), JValue::Object(&raw)],
    )
    .and_then(|v| v.l())
    .map_err(jni_err)
}
