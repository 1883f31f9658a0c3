//! A client's settings as plain data, with the rules they must meet. Every client shares them:
//! the blocking client, the Python `AsyncClient` on httpx, and the bindings that configure a
//! client from C, PHP or C#; so a setting is refused by the same rule, with the same words,
//! whichever client it was given to.

use std::time::Duration;

use crate::policy::{DEFAULT_BACKOFF, DEFAULT_MAX_RETRIES, RetryPolicy};
use crate::request::{BaseUrl, DEFAULT_BASE_URL};
use crate::validate::{self, Rule, ValidationError};

/// Default time allowed to open a connection (DNS, TCP, TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time allowed for one whole attempt, connect to last body byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Default response size limit: ECP answers are a few hundred bytes.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

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
    /// Retries after the first attempt, where safe (default 2); 0 never retries.
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
    /// Checks every setting, the base URL first, and returns the parsed base URL. A zero wait
    /// would fail every request later and less clearly; a wait of centuries would overflow the
    /// clock arithmetic of every request: both are refused here, naming the setting.
    pub fn check(&self) -> Result<BaseUrl, ValidationError> {
        let base_url = BaseUrl::new(&self.base_url)?;
        validate::wait("connect_timeout", self.connect_timeout, false)?;
        validate::wait("timeout", self.timeout, false)?;
        validate::wait("backoff", self.backoff, true)?;
        if self.max_response_bytes == 0 {
            return Err(ValidationError::new(
                "max_response_bytes",
                Rule::NotPositive,
            ));
        }
        Ok(base_url)
    }

    /// The retry policy these settings describe.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.max_retries,
            backoff: self.backoff,
        }
    }
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
        assert_eq!(
            with(|s| s.max_response_bytes = 0),
            ("max_response_bytes", "not_positive")
        );
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
