//! The records of placed calls and conferences, written field for field like the documented
//! call-end examples: same names, same alphabetical key order, `members` as a JSON array inside a
//! string, times in Beijing time. The same record answers `queryBySession` and goes into the
//! callback.

use serde::Serialize;
use serde_json::Value;
use yunxin_ecp::{StartCall, StartConf};

use crate::config::Outcome;

/// The `status` of every record: the service reports it even when nobody answered.
const STATUS_SUCCESS: &str = "SUCCESS";
/// The hang cause of a leg that ended normally.
const NORMAL_CLEARING: &str = "NORMAL_CLEARING";
/// Beijing time is UTC+8 all year.
const BEIJING_OFFSET_SECS: u64 = 8 * 3600;

/// A two-party call record. Fields are declared in alphabetical order, the order of the
/// documented examples.
#[derive(Serialize)]
struct CallJson<'a> {
    callee: &'a str,
    caller: &'a str,
    createtime: u64,
    #[serde(rename = "durationSec")]
    duration_sec: u64,
    #[serde(rename = "initAccount")]
    init_account: &'a str,
    legs: [LegJson<'a>; 2],
    session: &'a str,
    starttime: String,
    status: &'static str,
}

/// One leg of a two-party call.
#[derive(Serialize)]
struct LegJson<'a> {
    #[serde(rename = "endTime")]
    end_time: String,
    endpoint: &'a str,
    #[serde(rename = "hangCause")]
    hang_cause: &'a str,
}

/// A conference record: `members` is a JSON array serialized into a string, as documented.
#[derive(Serialize)]
struct ConferenceJson<'a> {
    createtime: u64,
    #[serde(rename = "durationSec")]
    duration_sec: u64,
    #[serde(rename = "initAccount")]
    init_account: &'a str,
    members: String,
    session: &'a str,
    starttime: String,
    status: &'static str,
}

/// Seconds of conversation and the legs' hang cause for an outcome, the call being cut at
/// `max_dur` as the real service does.
fn settle(outcome: &Outcome, max_dur: u32) -> (u64, &str) {
    match outcome {
        Outcome::Answered { duration_sec } => {
            ((*duration_sec).min(u64::from(max_dur)), NORMAL_CLEARING)
        }
        Outcome::NoAnswer { hang_cause } => (0, hang_cause.as_str()),
    }
}

/// The record of a two-party call placed at `now_ms` (Unix epoch milliseconds).
pub(crate) fn call_record(
    session: &str,
    call: &StartCall,
    outcome: &Outcome,
    now_ms: u64,
) -> Value {
    let (duration_sec, hang_cause) = settle(outcome, call.max_dur());
    let start_secs = now_ms / 1000;
    let end_time = beijing_time(start_secs.saturating_add(duration_sec));
    let leg = |endpoint| LegJson {
        end_time: end_time.clone(),
        endpoint,
        hang_cause,
    };
    to_value(&CallJson {
        callee: call.callee(),
        caller: call.caller(),
        createtime: now_ms,
        duration_sec,
        init_account: call.caller_acc(),
        legs: [leg(call.caller()), leg(call.callee())],
        session,
        starttime: beijing_time(start_secs),
        status: STATUS_SUCCESS,
    })
}

/// The record of a conference placed at `now_ms`; `members` lists the caller, then the callees.
pub(crate) fn conference_record(
    session: &str,
    conf: &StartConf,
    outcome: &Outcome,
    now_ms: u64,
) -> Value {
    let (duration_sec, _) = settle(outcome, conf.max_dur());
    let members: Vec<&str> = std::iter::once(conf.caller())
        .chain(conf.callees().iter().map(String::as_str))
        .collect();
    to_value(&ConferenceJson {
        createtime: now_ms,
        duration_sec,
        init_account: conf.caller_acc(),
        members: serde_json::to_string(&members).unwrap_or_default(),
        session,
        starttime: beijing_time(now_ms / 1000),
        status: STATUS_SUCCESS,
    })
}

/// These structs hold only strings and integers, which always serialize.
fn to_value(record: &impl Serialize) -> Value {
    serde_json::to_value(record).unwrap_or(Value::Null)
}

/// A fresh session id: a random (version 4) UUID, lowercase `8-4-4-4-12`, like the service's.
pub(crate) fn new_session_id() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8, no daylight saving) for a Unix time in seconds.
pub(crate) fn beijing_time(unix_secs: u64) -> String {
    let local = unix_secs.saturating_add(BEIJING_OFFSET_SECS);
    let days = i64::try_from(local / 86_400).unwrap_or(i64::MAX / 2);
    let rem = local % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), exact for every day and free of a date library.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both values are small and positive by construction.
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_times() {
        // The documented call example: createtime 1484118614911 ms.
        assert_eq!(beijing_time(1_484_118_614), "2017-01-11 15:10:14");
        assert_eq!(beijing_time(0), "1970-01-01 08:00:00");
        // 16:00 UTC is midnight in Beijing, on a leap day.
        assert_eq!(beijing_time(951_840_000), "2000-03-01 00:00:00");
        assert_eq!(beijing_time(951_839_999), "2000-02-29 23:59:59");
        assert_eq!(beijing_time(951_753_600), "2000-02-29 00:00:00");
        assert_eq!(beijing_time(4_102_415_999), "2099-12-31 23:59:59");
        let _ = beijing_time(u64::MAX);
    }

    #[test]
    fn session_ids_are_v4_uuids() {
        let id = new_session_id().unwrap();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
        assert!(
            id.bytes()
                .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_ne!(id, new_session_id().unwrap());
    }

    #[test]
    fn records_match_the_documented_shape() {
        let call = StartCall::new("abcd", "18605815000", "15967161000", 100).unwrap();
        let r = call_record(
            "7c4b7673-4f70-4164-82a0-decb84d77914",
            &call,
            &Outcome::no_answer("NO_USER_RESPONSE"),
            1_484_118_614_911,
        );
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"callee":"15967161000","caller":"18605815000","createtime":1484118614911,"durationSec":0,"initAccount":"abcd","legs":[{"endTime":"2017-01-11 15:10:14","endpoint":"18605815000","hangCause":"NO_USER_RESPONSE"},{"endTime":"2017-01-11 15:10:14","endpoint":"15967161000","hangCause":"NO_USER_RESPONSE"}],"session":"7c4b7673-4f70-4164-82a0-decb84d77914","starttime":"2017-01-11 15:10:14","status":"SUCCESS"}"#
        );
        let answered = call_record("s", &call, &Outcome::answered(500), 1_484_118_614_911);
        assert_eq!(answered["durationSec"], 100, "cut at maxDur");
        assert_eq!(answered["legs"][1]["endTime"], "2017-01-11 15:11:54");
        assert_eq!(answered["legs"][0]["hangCause"], "NORMAL_CLEARING");

        let conf =
            StartConf::new("call817", "18605811000", ["18158125678", "15967169000"], 60).unwrap();
        let r = conference_record("s", &conf, &Outcome::answered(30), 1_484_103_244_335);
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"createtime":1484103244335,"durationSec":30,"initAccount":"call817","members":"[\"18605811000\",\"18158125678\",\"15967169000\"]","session":"s","starttime":"2017-01-11 10:54:04","status":"SUCCESS"}"#
        );
    }
}
