//! The record of one call or conference, as the call-end callback and `queryBySession` return it.
//!
//! The service documents these fields loosely (numbers sometimes arrive as strings, conference
//! members as a JSON array inside a string), so every field is optional, read leniently, and the
//! raw JSON is kept for anything this type does not model.

use serde::Serialize;
use serde_json::Value;

use crate::billing::{Cost, Rate, billed_minutes};
use crate::validate::parse_decimal;

/// One participant's leg of a two-party call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leg {
    /// The number of this leg.
    pub endpoint: Option<String>,
    /// When this leg ended, `yyyy-MM-dd HH:mm:ss` Beijing time.
    pub end_time: Option<String>,
    /// Why it ended, e.g. `NORMAL_CLEARING`, `NO_USER_RESPONSE`.
    pub hang_cause: Option<String>,
}

/// A call or conference record. Use [`CallRecord::answered`], not `status`: the service reports
/// `SUCCESS` even when nobody picked up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    /// The session id the start request returned.
    pub session: Option<String>,
    /// The `callerAcc` the call was placed for (`initAccount`).
    pub init_account: Option<String>,
    /// The caller's number (two-party calls).
    pub caller: Option<String>,
    /// The callee's number (two-party calls).
    pub callee: Option<String>,
    /// Every participant's number (conferences).
    pub members: Option<Vec<String>>,
    /// When the session was created, Unix epoch milliseconds (`createtime`).
    pub create_time_ms: Option<u64>,
    /// When the call started, `yyyy-MM-dd HH:mm:ss` Beijing time (`starttime`).
    pub start_time: Option<String>,
    /// Seconds of conversation (`durationSec`).
    pub duration_sec: Option<u64>,
    /// The service's status word, e.g. `SUCCESS`.
    pub status: Option<String>,
    /// The legs of a two-party call; empty for conferences.
    pub legs: Vec<Leg>,
    /// The record exactly as decoded, including fields this type does not model.
    pub raw: Value,
}

impl CallRecord {
    /// Reads a record from its JSON object. Never fails: what cannot be read stays `None` and is
    /// still in `raw`.
    pub fn from_json(raw: Value) -> CallRecord {
        let legs = raw
            .get("legs")
            .and_then(Value::as_array)
            .map(|legs| {
                legs.iter()
                    .map(|leg| Leg {
                        endpoint: text(leg, "endpoint"),
                        end_time: text(leg, "endTime"),
                        hang_cause: text(leg, "hangCause"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        CallRecord {
            session: text(&raw, "session"),
            init_account: text(&raw, "initAccount"),
            caller: text(&raw, "caller"),
            callee: text(&raw, "callee"),
            members: members(&raw),
            create_time_ms: number(&raw, "createtime"),
            start_time: text(&raw, "starttime"),
            duration_sec: number(&raw, "durationSec"),
            status: text(&raw, "status"),
            legs,
            raw,
        }
    }

    /// True when someone talked: `durationSec > 0`.
    pub fn answered(&self) -> bool {
        self.duration_sec.unwrap_or(0) > 0
    }

    /// Minutes billed: every started minute counts.
    pub fn billed_minutes(&self) -> u64 {
        billed_minutes(self.duration_sec.unwrap_or(0))
    }

    /// What the call cost at `rate`.
    pub fn cost(&self, rate: Rate) -> Cost {
        rate.cost(self.duration_sec.unwrap_or(0))
    }

    /// True for a conference record (it lists `members`).
    pub fn is_conference(&self) -> bool {
        self.members.is_some()
    }
}

/// A string field; numbers are accepted and kept as their decimal text.
fn text(obj: &Value, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-negative integer field, as a JSON number or a decimal string.
fn number(obj: &Value, key: &str) -> Option<u64> {
    match obj.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => parse_decimal(s),
        _ => None,
    }
}

/// `members`: a JSON array, or (as documented) a string holding one.
fn members(obj: &Value) -> Option<Vec<String>> {
    let decoded;
    let list = match obj.get("members")? {
        Value::String(s) => {
            decoded = serde_json::from_str::<Value>(s).ok()?;
            &decoded
        }
        other => other,
    };
    list.as_array()?
        .iter()
        .map(|m| match m {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_fields() {
        let r = CallRecord::from_json(json!({
            "durationSec": "61", "createtime": 1484118614911u64,
            "members": "[\"1\", 2]", "legs": [{"endpoint": 13800000000u64}]
        }));
        assert_eq!(r.duration_sec, Some(61));
        assert!(r.answered());
        assert_eq!(r.billed_minutes(), 2);
        assert_eq!(r.members, Some(vec!["1".into(), "2".into()]));
        assert_eq!(r.legs[0].endpoint.as_deref(), Some("13800000000"));
        let empty = CallRecord::from_json(json!("not an object"));
        assert_eq!(
            (&empty.session, empty.answered(), empty.legs.len()),
            (&None, false, 0)
        );
    }
}
