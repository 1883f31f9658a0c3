//! A client's settings as plain data, with the rules they must meet. Every client shares them:
//! the blocking client, the Python `AsyncClient` on httpx, and the bindings that configure a
//! client from C, PHP or C#; so a setting is refused by the same rule, with the same words,
//! whichever client it was given to.

use std::time::Duration;

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::policy::{DEFAULT_BACKOFF, DEFAULT_MAX_RETRIES, RetryPolicy};
use crate::request::{BaseUrl, DEFAULT_BASE_URL};
use crate::validate::{self, Rule, ValidationError};

/// Default time allowed to open a connection (DNS, TCP, TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time allowed for one whole attempt, connect to last body byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Most retries a client may make after the first attempt: with the backoff capped at 5 s,
/// more would keep a caller waiting for minutes on a service that is down.
pub const MAX_RETRIES: u32 = 10;
/// Default response size limit: ECP answers are a few hundred bytes.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;
/// Largest response size limit a client takes: 64 MiB, far above any YunXin answer. The limit
/// is what keeps a hostile or broken server from filling the caller's memory, so it cannot be
/// raised out of existence.
pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;
/// Longest unknown settings key quoted back in an error: the key comes from the caller's input
/// and may be megabytes long.
pub const MAX_QUOTED_KEY_CHARS: usize = 64;

/// The environment variable that names the base URL of a client whose caller gives none, in
/// every language and the command: a developer who exports it to work against the mock must not
/// have one client go to the mock and another to the production host.
pub const BASE_URL_ENV: &str = "YUNXIN_BASE_URL";

/// The base URL when the caller names none: [`BASE_URL_ENV`] when it is set (checked, and
/// refused naming the variable), else the service's. A variable set but empty, or not UTF-8, is
/// refused rather than taken as unset: what was meant for a test server would otherwise go to
/// the real service, which bills.
pub fn default_base_url() -> Result<String, ValidationError> {
    match std::env::var(BASE_URL_ENV) {
        Ok(url) if url.is_empty() => Err(ValidationError::new(BASE_URL_ENV, Rule::Empty)),
        Ok(url) => {
            BaseUrl::new(&url).map_err(|e| ValidationError::new(BASE_URL_ENV, e.rule))?;
            Ok(url)
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(ValidationError::new(BASE_URL_ENV, Rule::NotUnicode))
        }
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_BASE_URL.to_owned()),
    }
}

/// How a client reaches the service and how long it waits. Build one with `Default` and set
/// fields; [`check`](Self::check) says whether a client may be built from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    /// Where requests go (default `https://api.netease.im`); a local mock's URL in tests.
    pub base_url: String,
    /// Time allowed to open a connection (default 5 s).
    pub connect_timeout: Duration,
    /// Time allowed for one whole attempt (default 15 s); each retry gets as much again.
    pub timeout: Duration,
    /// Retries after the first attempt, where safe (default 2, at most [`MAX_RETRIES`]); 0 never
    /// retries.
    pub max_retries: u32,
    /// First delay before a retry (default 200 ms), doubled per retry, capped at 5 s, jittered.
    pub backoff: Duration,
    /// Largest answer accepted (default 1 MiB); a longer one is a protocol error, unread.
    pub max_response_bytes: u64,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            base_url: DEFAULT_BASE_URL.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            backoff: DEFAULT_BACKOFF,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl ClientSettings {
    /// The defaults, with the base URL from [`BASE_URL_ENV`] when it is set.
    pub fn from_env() -> Result<Self, ValidationError> {
        Ok(ClientSettings {
            base_url: default_base_url()?,
            ..ClientSettings::default()
        })
    }

    /// Checks every setting, the base URL first, and returns the parsed base URL. A zero wait
    /// would fail every request later and less clearly; a wait of centuries would overflow the
    /// clock arithmetic of every request: both are refused here, naming the setting.
    pub fn check(&self) -> Result<BaseUrl, ValidationError> {
        let base_url = BaseUrl::new(&self.base_url)?;
        validate::wait("connect_timeout", self.connect_timeout, false)?;
        validate::wait("timeout", self.timeout, false)?;
        validate::wait("backoff", self.backoff, true)?;
        check_max_response_bytes("max_response_bytes", self.max_response_bytes)?;
        if self.max_retries > MAX_RETRIES {
            let rule = Rule::AtMost {
                max: u64::from(MAX_RETRIES),
                unit: "retries",
            };
            return Err(ValidationError::new("max_retries", rule));
        }
        Ok(base_url)
    }

    /// Settings given as one JSON object, as the C ABI (hence PHP and C#) passes them:
    /// `{"base_url":"http://127.0.0.1:8080","timeout_ms":5000}`. Absent keys keep their
    /// defaults (an absent `base_url` is [`BASE_URL_ENV`] when set); waits are in milliseconds. An unknown key, a value of the wrong type or a value
    /// that breaks a rule is refused naming the key, and the result passes [`check`](Self::check).
    pub fn from_json(text: &str) -> Result<Self, ValidationError> {
        let members = json_object(text, "settings", CLIENT_SETTING_KEYS)?;
        let mut settings = if members.iter().any(|(key, _)| *key == "base_url") {
            ClientSettings::default()
        } else {
            ClientSettings::from_env()?
        };
        for (key, value) in members {
            match key {
                "base_url" => {
                    let url = value
                        .as_str()
                        .ok_or_else(|| ValidationError::new(key, Rule::Url))?;
                    // Checked here too, so that the refusal names the JSON key.
                    BaseUrl::new(url).map_err(|e| ValidationError::new(key, e.rule))?;
                    settings.base_url = url.to_owned();
                }
                "connect_timeout_ms" => settings.connect_timeout = millis(key, &value, false)?,
                "timeout_ms" => settings.timeout = millis(key, &value, false)?,
                "backoff_ms" => settings.backoff = millis(key, &value, true)?,
                "max_retries" => {
                    settings.max_retries = u32::try_from(json_u64(key, &value)?)
                        .map_err(|_| ValidationError::new(key, Rule::NotInteger))?;
                }
                _ => {
                    settings.max_response_bytes = json_u64(key, &value)?;
                    check_max_response_bytes(key, settings.max_response_bytes)?;
                }
            }
        }
        settings.check()?;
        Ok(settings)
    }

    /// The retry policy these settings describe.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.max_retries,
            backoff: self.backoff,
        }
    }
}

/// A response size limit: positive and at most [`MAX_RESPONSE_BYTES`].
fn check_max_response_bytes(key: &'static str, bytes: u64) -> Result<(), ValidationError> {
    if bytes == 0 {
        return Err(ValidationError::new(key, Rule::NotPositive));
    }
    if bytes > MAX_RESPONSE_BYTES {
        let rule = Rule::AtMost {
            max: MAX_RESPONSE_BYTES,
            unit: "bytes",
        };
        return Err(ValidationError::new(key, rule));
    }
    Ok(())
}

/// The keys [`ClientSettings::from_json`] reads.
pub const CLIENT_SETTING_KEYS: &[&str] = &[
    "base_url",
    "connect_timeout_ms",
    "timeout_ms",
    "max_retries",
    "backoff_ms",
    "max_response_bytes",
];

/// The members of a JSON object of settings (the argument `field`), each key checked against
/// `known` (and returned as the `known` entry, so that errors can name it). Settings JSON is small
/// and written by hand: an unknown key is far more likely a typo than an extension, and a key
/// given twice (which a JSON parser would quietly resolve to its last value) more likely a
/// mistake than an intent.
pub fn json_object(
    text: &str,
    field: &'static str,
    known: &'static [&'static str],
) -> Result<Vec<(&'static str, Value)>, ValidationError> {
    let Members(members) =
        serde_json::from_str(text).map_err(|_| ValidationError::new(field, Rule::JsonObject))?;
    let mut seen: Vec<&'static str> = Vec::with_capacity(members.len());
    members
        .into_iter()
        .map(|(name, value)| {
            let Some(key) = known.iter().copied().find(|k| *k == name) else {
                let mut quoted: String = name.chars().take(MAX_QUOTED_KEY_CHARS).collect();
                if quoted.len() < name.len() {
                    quoted.push('…');
                }
                return Err(ValidationError::new(
                    field,
                    Rule::UnknownSetting {
                        name: quoted,
                        known,
                    },
                ));
            };
            if seen.contains(&key) {
                return Err(ValidationError::new(
                    field,
                    Rule::Duplicate { number: name },
                ));
            }
            seen.push(key);
            Ok((key, value))
        })
        .collect()
}

/// A JSON object's members in order, repeated keys kept, so that they can be refused.
struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;

        impl<'de> Visitor<'de> for Entries {
            type Value = Members;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }

        deserializer.deserialize_map(Entries)
    }
}

/// A setting that must be a non-negative JSON integer.
pub fn json_u64(key: &'static str, value: &Value) -> Result<u64, ValidationError> {
    value
        .as_u64()
        .ok_or_else(|| ValidationError::new(key, Rule::NotInteger))
}

/// A wait in milliseconds, within the bounds of every wait ([`validate::wait`]), refused under
/// its JSON key in its own unit.
fn millis(key: &'static str, value: &Value, zero_ok: bool) -> Result<Duration, ValidationError> {
    let ms = json_u64(key, value)?;
    if ms == 0 && !zero_ok {
        return Err(ValidationError::new(key, Rule::NotPositive));
    }
    let max = validate::MAX_WAIT_SECS * 1000;
    if ms > max {
        let unit = "milliseconds";
        return Err(ValidationError::new(key, Rule::AtMost { max, unit }));
    }
    Ok(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_and_each_rule_names_its_setting() {
        assert_eq!(
            ClientSettings::default().check().unwrap().as_str(),
            DEFAULT_BASE_URL
        );
        let with = |change: fn(&mut ClientSettings)| {
            let mut s = ClientSettings::default();
            change(&mut s);
            let e = s.check().unwrap_err();
            (e.field, e.rule.code())
        };
        assert_eq!(with(|s| s.base_url = "ftp://x".into()), ("baseUrl", "url"));
        assert_eq!(
            with(|s| s.timeout = Duration::ZERO),
            ("timeout", "not_positive")
        );
        assert_eq!(
            with(|s| s.connect_timeout = Duration::from_secs(601)),
            ("connect_timeout", "at_most")
        );
        assert_eq!(with(|s| s.backoff = Duration::MAX), ("backoff", "at_most"));
        assert_eq!(with(|s| s.max_retries = 11), ("max_retries", "at_most"));
        assert_eq!(
            with(|s| s.max_response_bytes = 0),
            ("max_response_bytes", "not_positive")
        );
        // The same rules from JSON, naming the JSON key.
        let from = |text: &str| {
            let e = ClientSettings::from_json(text).unwrap_err();
            (e.field, e.rule.code())
        };
        let parsed = ClientSettings::from_json(
            r#"{"base_url":"http://127.0.0.1:1","timeout_ms":2500,"max_retries":0,"backoff_ms":0}"#,
        )
        .unwrap();
        assert_eq!(parsed.timeout, Duration::from_millis(2500));
        assert_eq!((parsed.max_retries, parsed.backoff), (0, Duration::ZERO));
        assert_eq!(parsed.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(from("[1]"), ("settings", "json_object"));
        assert_eq!(from(r#"{"timeout":5}"#), ("settings", "unknown_setting"));
        assert_eq!(
            from(r#"{"timeout_ms":0,"timeout_ms":1000}"#),
            ("settings", "duplicate")
        );
        assert_eq!(from(r#"{"timeout_ms":0}"#), ("timeout_ms", "not_positive"));
        assert_eq!(from(r#"{"timeout_ms":-1}"#), ("timeout_ms", "not_integer"));
        assert_eq!(from(r#"{"timeout_ms":"5"}"#), ("timeout_ms", "not_integer"));
        assert_eq!(
            from(r#"{"connect_timeout_ms":18446744073709551615}"#),
            ("connect_timeout_ms", "at_most")
        );
        assert_eq!(
            from(r#"{"max_retries":4294967296}"#),
            ("max_retries", "not_integer")
        );
        assert_eq!(
            from(r#"{"max_response_bytes":0}"#),
            ("max_response_bytes", "not_positive")
        );
        assert_eq!(from(r#"{"base_url":1}"#), ("base_url", "url"));
        assert_eq!(from(r#"{"base_url":"ftp://x"}"#), ("base_url", "url"));
        let at_most = ClientSettings::from_json(r#"{"timeout_ms":600001}"#).unwrap_err();
        assert_eq!(
            at_most.to_string(),
            "invalid timeout_ms: must be at most 600000 milliseconds"
        );
        let unknown = ClientSettings::from_json(r#"{"timout_ms":5}"#).unwrap_err();
        assert!(unknown.to_string().contains("\"timout_ms\""), "{unknown}");
        // A huge unknown key is named by its start, not echoed whole.
        let long = format!(r#"{{"{}":1}}"#, "k".repeat(10_000_000));
        let said = ClientSettings::from_json(&long).unwrap_err().to_string();
        assert!(said.len() < 400, "{} bytes", said.len());
        assert!(said.contains(&format!("\"{}…\"", "k".repeat(64))), "{said}");
        // The size limit has a ceiling as well as a floor.
        assert_eq!(
            from(r#"{"max_response_bytes":67108865}"#),
            ("max_response_bytes", "at_most")
        );
        assert_eq!(
            with(|s| s.max_response_bytes = u64::MAX),
            ("max_response_bytes", "at_most")
        );
        assert!(ClientSettings::from_json(r#"{"max_response_bytes":67108864}"#).is_ok());
        // The base URL is checked first, whatever else is wrong.
        assert_eq!(
            with(|s| {
                s.base_url = "nope".into();
                s.timeout = Duration::ZERO;
            }),
            ("baseUrl", "url")
        );
    }
}
