//! A blocking HTTP client for the ECP API (feature `blocking`), on one pooled `ureq` agent.
//!
//! It signs every attempt afresh, verifies TLS, bounds every wait with a timeout and every body
//! with a size limit, and retries only where a retry cannot place a second billable call: a
//! start request is retried after a connect failure (nothing was sent) or an explicit 416/503
//! rejection, never after a read timeout, a reset or a 500.
//!
//! Any other YunXin server API goes through [`Client::request`] with the same signing, limits
//! and typed errors. Every attempt is logged through the `log` facade under the target
//! `yunxin_ecp` (see [`events`]): sent, answered, retried, given up, with phone numbers masked
//! and no header or body.
//!
//! ```no_run
//! use yunxin_ecp::{Credentials, StartCall, QueryBySession, SessionKind};
//! use yunxin_ecp::blocking::Client;
//!
//! let client = Client::builder(Credentials::from_env()?).build()?;
//! let started = client.start_call(&StartCall::new("liuxuanlin", "13888888888", "13777777777", 100)?)?;
//! let record = client.query(&QueryBySession::new(started.session, SessionKind::Call)?)?;
//! println!("answered: {}", record.answered());
//! # Ok::<(), yunxin_ecp::Error>(())
//! ```

pub mod events;
mod resolver;

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::api::ApiRequest;
use crate::error::Error;
use crate::exchange::{
    self, Answer, AnyRequest, Attempt, Exchange, FromAnswer, Next, SystemEntropy,
};
use crate::proxy;
use crate::record::CallRecord;
use crate::request::{BaseUrl, EcpRequest, QueryBySession, StartCall, StartConf};
use crate::response::Started;
use crate::settings::default_base_url;
use crate::signing::Credentials;
use crate::transport::TransportErrorKind;
use crate::validate::{Rule, ValidationError};

pub use crate::policy::{DEFAULT_BACKOFF, DEFAULT_MAX_RETRIES};
pub use crate::settings::{
    ClientSettings, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT,
};
/// Idle connections kept in the pool for reuse.
const MAX_IDLE_CONNECTIONS: usize = 32;
/// The `User-Agent` every request carries.
pub use crate::exchange::USER_AGENT;

/// Configures a [`Client`]: its credentials and its [`ClientSettings`], one setter each.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    credentials: Credentials,
    settings: ClientSettings,
    /// Whether the caller chose the base URL; if not, [`build`](ClientBuilder::build) reads
    /// [`BASE_URL_ENV`](crate::settings::BASE_URL_ENV).
    base_url_given: bool,
}

impl ClientBuilder {
    /// Where to send requests (default `https://api.netease.im`); a local mock's URL in tests.
    ///
    /// An absolute `http://` or `https://` URL ([`BaseUrl::new`]'s rules); one that is not makes
    /// [`build`](Self::build) fail with a [`ValidationError`] on the
    /// field `baseUrl`, before any other setting is checked.
    pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
        self.settings.base_url = url.as_ref().to_owned();
        self.base_url_given = true;
        self
    }

    /// Time allowed to open a connection (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// Time allowed for one whole attempt (default 15 s). Retries get the same again each.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// Retries after the first attempt, where safe (default 2). `0` disables retrying.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.settings.max_retries = retries;
        self
    }

    /// First backoff delay (default 200 ms); doubles per retry, capped at 5 s, with jitter.
    /// Zero retries at once.
    pub fn backoff(mut self, delay: Duration) -> Self {
        self.settings.backoff = delay;
        self
    }

    /// Largest response body accepted (default 1 MiB); larger ones are a protocol error.
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.settings.max_response_bytes = limit;
        self
    }

    /// Every setting at once, for bindings that receive them as data.
    pub fn settings(mut self, settings: ClientSettings) -> Self {
        self.settings = settings;
        self.base_url_given = true;
        self
    }

    /// Builds the client and its connection pool.
    pub fn build(mut self) -> Result<Client, Error> {
        if !self.base_url_given {
            self.settings.base_url = default_base_url()?;
        }
        let base_url = self.settings.check()?;
        // The proxy is the core's choice (see `crate::proxy`), not ureq's: ureq would take
        // HTTP_PROXY for every scheme, under CGI too.
        let env_proxy = proxy::proxy_for(base_url.as_str(), |name| std::env::var(name).ok());
        let proxy = match &env_proxy {
            Some(p) => Some(
                ureq::Proxy::new(&p.url)
                    .map_err(|_| ValidationError::new(p.variable, Rule::Url))?,
            ),
            None => None,
        };
        events::client_ready(&base_url, env_proxy.as_ref().map(|p| p.variable));
        let config = ureq::Agent::config_builder()
            .proxy(proxy)
            .http_status_as_error(false)
            // ureq follows up to 10 redirects by default, re-sending the signed headers to the
            // new host and a start a second time; a 3xx is reported instead (see `exchange`).
            .max_redirects(0)
            .timeout_connect(Some(self.settings.connect_timeout))
            .timeout_global(Some(self.settings.timeout))
            .user_agent(USER_AGENT)
            // Keep a connection per busy thread: ureq's default of 3 idle connections per host
            // makes a client shared by many threads reconnect on most requests.
            .max_idle_connections(MAX_IDLE_CONNECTIONS)
            .max_idle_connections_per_host(MAX_IDLE_CONNECTIONS)
            .build();
        Ok(Client {
            agent: ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::new(),
                resolver::HostResolver::default(),
            ),
            credentials: self.credentials,
            base_url,
            settings: self.settings,
        })
    }
}

/// A blocking ECP client. Cheap to share: use one per process, from any number of threads
/// (`&Client` is enough); connections are pooled and reused.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    credentials: Credentials,
    base_url: BaseUrl,
    settings: ClientSettings,
}

impl Client {
    /// Starts configuring a client with the given credentials.
    pub fn builder(credentials: Credentials) -> ClientBuilder {
        ClientBuilder {
            credentials,
            settings: ClientSettings::default(),
            base_url_given: false,
        }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base_url
    }

    /// Places a callback call. On an error whose advice is
    /// [`RetryAdvice::OutcomeUnknown`](crate::RetryAdvice::OutcomeUnknown), the call may exist: query before placing it again.
    pub fn start_call(&self, request: &StartCall) -> Result<Started, Error> {
        self.send(request)
    }

    /// Places a conference. Same retry rules as [`start_call`](Self::start_call).
    pub fn start_conf(&self, request: &StartConf) -> Result<Started, Error> {
        self.send(request)
    }

    /// Fetches the record of a call or conference; retried on transient failures.
    pub fn query(&self, request: &QueryBySession) -> Result<CallRecord, Error> {
        self.send(request)
    }

    /// Sends any ECP request, signing each attempt afresh and retrying only where safe.
    pub fn send<R>(&self, request: &R) -> Result<R::Output, Error>
    where
        R: EcpRequest + Clone + Into<AnyRequest>,
        R::Output: FromAnswer,
    {
        self.run(request.clone().into()).and_then(exchange::typed)
    }

    /// Sends a request to any YunXin server API and returns the whole JSON answer on code 200,
    /// with the same signing, timeouts, size limit, redirect refusal and typed errors as the
    /// ECP requests. Unless the request is marked
    /// [`idempotent`](ApiRequest::idempotent), it is retried only after a connect failure
    /// (nothing was sent); after anything else that may have reached the service the error's
    /// advice is [`RetryAdvice::OutcomeUnknown`](crate::RetryAdvice::OutcomeUnknown).
    ///
    /// ```no_run
    /// use yunxin_ecp::{ApiRequest, Credentials};
    /// use yunxin_ecp::blocking::Client;
    ///
    /// let client = Client::builder(Credentials::from_env()?).build()?;
    /// let user = ApiRequest::new("/nimserver/user/getUinfos.action", [("accids", r#"["demo"]"#)])?
    ///     .idempotent(true);
    /// println!("{}", client.request(&user)?["uinfos"]);
    /// # Ok::<(), yunxin_ecp::Error>(())
    /// ```
    pub fn request(&self, request: &ApiRequest) -> Result<Value, Error> {
        self.run(request.clone().into()).and_then(exchange::typed)
    }

    /// Drives the core's exchange over ureq: every decision (signing, redirects, retries,
    /// redaction, events) is the exchange's; this only sends, reads, sleeps and logs.
    fn run(&self, request: AnyRequest) -> Result<Answer, Error> {
        let logging = log::log_enabled!(target: events::TARGET, log::Level::Warn);
        let mut exchange =
            Exchange::new(request, self.credentials.clone(), &self.settings)?.with_events(logging);
        let mut entropy = SystemEntropy;
        loop {
            let attempt = exchange.send(&mut entropy);
            events::emit(exchange.take_events());
            let attempt = attempt?;
            let started = Instant::now();
            let next = match self.transfer(&attempt) {
                Transfer::Answer {
                    status,
                    location,
                    body,
                } => exchange.receive(
                    status,
                    location.as_deref(),
                    &body,
                    started.elapsed(),
                    &mut entropy,
                ),
                Transfer::TooLarge { status } => {
                    exchange.too_large(status, started.elapsed(), &mut entropy)
                }
                Transfer::Failed {
                    kind,
                    maybe_sent,
                    detail,
                } => exchange.fail(kind, maybe_sent, &detail, started.elapsed(), &mut entropy),
            };
            events::emit(exchange.take_events());
            match next {
                Next::Retry { after } => thread::sleep(after),
                Next::Done(result) => return result,
            }
        }
    }

    /// One HTTP exchange over ureq, within the attempt's limits: what came back, or why
    /// nothing did.
    fn transfer(&self, attempt: &Attempt) -> Transfer {
        let prepared = &attempt.request;
        let mut request = self.agent.post(&prepared.url);
        for (name, value) in &prepared.headers {
            request = request.header(*name, value.as_str());
        }
        let mut response = match request.send(prepared.body.as_str()) {
            Ok(response) => response,
            Err(e) => return failed(e),
        };
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get(ureq::http::header::LOCATION)
                .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
            return Transfer::Answer {
                status,
                location,
                body: Vec::new(),
            };
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(attempt.max_response_bytes)
            .read_to_vec();
        match body {
            Ok(body) => Transfer::Answer {
                status,
                location: None,
                body,
            },
            Err(ureq::Error::BodyExceedsLimit(_)) => Transfer::TooLarge { status },
            Err(e) => failed(e),
        }
    }
}

/// What one HTTP exchange gave.
enum Transfer {
    Answer {
        status: u16,
        location: Option<String>,
        body: Vec<u8>,
    },
    TooLarge {
        status: u16,
    },
    Failed {
        kind: TransportErrorKind,
        maybe_sent: bool,
        detail: String,
    },
}

/// A ureq failure as the exchange takes it: which step failed, and whether the request may
/// have been sent (only a failure to connect proves it was not).
fn failed(error: ureq::Error) -> Transfer {
    use TransportErrorKind::*;
    use ureq::Timeout as T;
    let (kind, maybe_sent) = match &error {
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => (Connect, false),
        ureq::Error::Timeout(T::Resolve | T::Connect) => (Connect, false),
        ureq::Error::Timeout(_) => (Timeout, true),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::TlsRequired => (Tls, false),
        ureq::Error::Io(e) if e.kind() == io::ErrorKind::ConnectionRefused => (Connect, false),
        ureq::Error::Io(e) if e.kind() == io::ErrorKind::TimedOut => (Timeout, true),
        _ => (Io, true),
    };
    Transfer::Failed {
        kind,
        maybe_sent,
        detail: error.to_string(),
    }
}

/// Whether `base_url`'s host is this machine (`localhost` or a loopback address), so that an
/// environment proxy, which cannot reach it on the caller's behalf, is bypassed. Public for
/// clients on other HTTP stacks that follow the same rule.
pub fn is_loopback(base_url: &BaseUrl) -> bool {
    resolver::is_loopback(base_url.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_setting_is_refused_naming_its_field() {
        let creds = || Credentials::new("key", "secret").unwrap();
        let field_of = |builder: ClientBuilder| match builder.build() {
            Err(Error::Validation(e)) => (e.field, e.rule.code()),
            other => panic!("expected a validation error, got {other:?}"),
        };
        let cases = [
            (
                Client::builder(creds()).connect_timeout(Duration::ZERO),
                "connect_timeout",
            ),
            (Client::builder(creds()).timeout(Duration::ZERO), "timeout"),
            (
                Client::builder(creds()).max_response_bytes(0),
                "max_response_bytes",
            ),
        ];
        for (builder, field) in cases {
            assert_eq!(field_of(builder), (field, "not_positive"));
        }
        assert!(
            Client::builder(creds())
                .max_response_bytes(1)
                .build()
                .is_ok()
        );
    }
}
