//! The whole attempt loop of a request as a sans-IO state machine: sign each attempt afresh,
//! refuse any redirect, cap the answer, read it, decide whether to go again and after how long,
//! report what happened as [`events`], and say whether a failed request may have been sent.
//!
//! It does no I/O and reads no clock or randomness of its own (those come in through
//! [`Entropy`]): a driver opens the connection, sends the [`Attempt`] it is given, reads the
//! answer within the attempt's deadline and size cap, and feeds back what happened. The blocking
//! client, the Python `AsyncClient` on httpx and the C ABI's `yx_exchange_*` are such drivers, so
//! a program on its own HTTP stack gets exactly their decisions. Like ureq-proto's `Call`: the
//! state machine decides, the I/O layer only drives.
//!
//! ```
//! use std::time::Duration;
//! use yunxin_ecp::exchange::{Exchange, Next, SystemEntropy};
//! use yunxin_ecp::settings::ClientSettings;
//! use yunxin_ecp::{Credentials, QueryBySession, SessionKind};
//!
//! let settings = ClientSettings { base_url: "http://127.0.0.1:9".into(), ..ClientSettings::default() };
//! let query = QueryBySession::new("s-1", SessionKind::Call)?;
//! let mut exchange = Exchange::new(query, Credentials::new("key", "secret")?, &settings)?;
//! let attempt = exchange.send(&mut SystemEntropy)?;
//! assert_eq!(attempt.request.url, "http://127.0.0.1:9/call/ecp/queryBySession.action");
//! // ... the driver POSTs attempt.request; say the service was busy:
//! let next = exchange.receive(200, None, br#"{"code":503}"#, Duration::from_millis(3), &mut SystemEntropy);
//! assert!(matches!(next, Next::Retry { .. }));
//! # Ok::<(), yunxin_ecp::Error>(())
//! ```

pub mod events;

use std::time::Duration;

use serde_json::Value;

use crate::api::ApiRequest;
use crate::error::Error;
use crate::policy::Decision;
use crate::record::CallRecord;
use crate::redact;
use crate::request::{
    BaseUrl, EcpRequest, Endpoint, PreparedRequest, QueryBySession, StartCall, StartConf,
};
use crate::response::{ProtocolError, ProtocolErrorKind, ResponseError, Started};
use crate::settings::ClientSettings;
use crate::signing::{Credentials, DEFAULT_NONCE_LEN, generate_nonce, unix_seconds_now};
use crate::transport::{TransportError, TransportErrorKind};
use crate::validate::{Rule, ValidationError};
use crate::{RetryAdvice, codes::RequestKind};

use events::{Event, Reporter};

/// The `User-Agent` every driver sends: `yunxin-ecp/<version>` (a driver may append its own
/// stack, as the Python `AsyncClient` appends `httpx/<version>`).
pub const USER_AGENT: &str = concat!("yunxin-ecp/", env!("CARGO_PKG_VERSION"));

/// Where an exchange's nonces, clock and jitter come from. [`SystemEntropy`] is the OS CSPRNG
/// and the system clock; tests pass fixed values, so that a scripted conversation is exact.
pub trait Entropy {
    /// A fresh nonce for one attempt's signature.
    fn nonce(&mut self) -> Result<String, Error>;
    /// The current time, Unix seconds, for `CurTime`.
    fn now_secs(&mut self) -> u64;
    /// Any random `u32`, for the backoff's jitter.
    fn jitter(&mut self) -> u32;
}

/// The OS CSPRNG (a 32-hex-character nonce per attempt) and the system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemEntropy;

impl Entropy for SystemEntropy {
    fn nonce(&mut self) -> Result<String, Error> {
        generate_nonce(DEFAULT_NONCE_LEN)
    }

    fn now_secs(&mut self) -> u64 {
        unix_seconds_now()
    }

    fn jitter(&mut self) -> u32 {
        // A failing OS generator only costs the spread (the middle of the range is used).
        let mut random = [0u8; 4];
        match getrandom::fill(&mut random) {
            Ok(()) => u32::from_le_bytes(random),
            Err(_) => u32::MAX / 2,
        }
    }
}

/// Entropy with parts fixed, for tests that replay a scripted conversation exactly (the
/// vectors of `tests/vectors/exchanges.json`): the nonces in order (the last one repeated once
/// they run out), the clock, the jitter. A part left unset comes from [`SystemEntropy`], so
/// `FixedEntropy::default()` is the system's. Never for production: a fixed nonce is what makes
/// copied sample code replayable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixedEntropy {
    /// Nonces, used in order; empty for fresh ones.
    pub nonces: Vec<String>,
    /// `CurTime`, Unix seconds; `None` for the clock.
    pub now_secs: Option<u64>,
    /// The jitter; `None` for random.
    pub jitter: Option<u32>,
    next: usize,
}

impl FixedEntropy {
    /// Entropy with these parts fixed.
    pub fn new(nonces: Vec<String>, now_secs: Option<u64>, jitter: Option<u32>) -> Self {
        FixedEntropy {
            nonces,
            now_secs,
            jitter,
            next: 0,
        }
    }

    /// The parts from a JSON object, as the bindings take them from a test:
    /// `{"nonces": [...], "now_secs": 1440570500, "jitter": 0}`, each optional. Anything else
    /// (an unknown key, an empty or non-string nonce list, a zero clock, a jitter over 32 bits)
    /// is refused naming the argument `field`.
    pub fn from_json(text: &str, field: &'static str) -> Result<Self, ValidationError> {
        let refuse = || ValidationError::new(field, Rule::JsonObject);
        let value: Value = serde_json::from_str(text).map_err(|_| refuse())?;
        let members = value.as_object().ok_or_else(refuse)?;
        let mut fixed = FixedEntropy::default();
        for (key, value) in members {
            match key.as_str() {
                "nonces" => {
                    fixed.nonces = value
                        .as_array()
                        .filter(|a| !a.is_empty())
                        .and_then(|a| a.iter().map(|n| n.as_str().map(str::to_owned)).collect())
                        .ok_or_else(refuse)?;
                }
                "now_secs" => {
                    fixed.now_secs = Some(value.as_u64().filter(|n| *n > 0).ok_or_else(refuse)?)
                }
                "jitter" => {
                    let jitter = value.as_u64().and_then(|j| u32::try_from(j).ok());
                    fixed.jitter = Some(jitter.ok_or_else(refuse)?);
                }
                _ => return Err(refuse()),
            }
        }
        Ok(fixed)
    }
}

impl Entropy for FixedEntropy {
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

/// Any request an exchange can carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyRequest {
    /// `startcall`.
    StartCall(StartCall),
    /// `startconf`.
    StartConf(StartConf),
    /// `queryBySession`.
    Query(QueryBySession),
    /// Any other YunXin server API.
    Api(ApiRequest),
}

impl From<StartCall> for AnyRequest {
    fn from(r: StartCall) -> Self {
        AnyRequest::StartCall(r)
    }
}

impl From<StartConf> for AnyRequest {
    fn from(r: StartConf) -> Self {
        AnyRequest::StartConf(r)
    }
}

impl From<QueryBySession> for AnyRequest {
    fn from(r: QueryBySession) -> Self {
        AnyRequest::Query(r)
    }
}

impl From<ApiRequest> for AnyRequest {
    fn from(r: ApiRequest) -> Self {
        AnyRequest::Api(r)
    }
}

impl AnyRequest {
    /// The endpoint it goes to (an API request's idempotency included).
    pub fn endpoint(&self) -> Endpoint {
        match self {
            AnyRequest::StartCall(_) => StartCall::ENDPOINT,
            AnyRequest::StartConf(_) => StartConf::ENDPOINT,
            AnyRequest::Query(_) => QueryBySession::ENDPOINT,
            AnyRequest::Api(r) => r.endpoint(),
        }
    }

    /// The path below the base URL.
    pub fn path(&self) -> &str {
        match self {
            AnyRequest::Api(r) => r.path(),
            other => other.endpoint().path(),
        }
    }

    fn prepare(&self, base_url: &BaseUrl, auth: &crate::AuthHeaders) -> PreparedRequest {
        match self {
            AnyRequest::StartCall(r) => r.prepare(base_url, auth),
            AnyRequest::StartConf(r) => r.prepare(base_url, auth),
            AnyRequest::Query(r) => r.prepare(base_url, auth),
            AnyRequest::Api(r) => r.prepare(base_url, auth),
        }
    }

    fn parse(&self, status: u16, body: &[u8]) -> Result<Answer, ResponseError> {
        Ok(match self {
            AnyRequest::StartCall(_) => Answer::Started(StartCall::parse_response(status, body)?),
            AnyRequest::StartConf(_) => Answer::Started(StartConf::parse_response(status, body)?),
            AnyRequest::Query(_) => {
                Answer::Record(Box::new(QueryBySession::parse_response(status, body)?))
            }
            AnyRequest::Api(r) => Answer::Json(r.parse_response(status, body)?),
        })
    }

    /// An error about this request names its path when it is another API's.
    fn named(&self, error: ResponseError) -> ResponseError {
        match self {
            AnyRequest::Api(r) => error.with_path(r.path()),
            _ => error,
        }
    }
}

/// What an exchange that succeeded gives: the result its request's kind carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A start's session.
    Started(Started),
    /// A query's record (boxed: it is by far the largest).
    Record(Box<CallRecord>),
    /// Another API's whole JSON answer.
    Json(Value),
}

/// A typed result taken out of an [`Answer`].
pub trait FromAnswer: Sized {
    /// `Some` when the answer is of this type.
    fn from_answer(answer: Answer) -> Option<Self>;
}

impl FromAnswer for Started {
    fn from_answer(answer: Answer) -> Option<Self> {
        match answer {
            Answer::Started(s) => Some(s),
            _ => None,
        }
    }
}

impl FromAnswer for CallRecord {
    fn from_answer(answer: Answer) -> Option<Self> {
        match answer {
            Answer::Record(r) => Some(*r),
            _ => None,
        }
    }
}

impl FromAnswer for Value {
    fn from_answer(answer: Answer) -> Option<Self> {
        match answer {
            Answer::Json(v) => Some(v),
            _ => None,
        }
    }
}

/// One attempt for the driver to send: the signed request (method, URL, headers, body, fresh
/// for this attempt), and the limits to send it within.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// 1 for the first attempt.
    pub number: u32,
    /// What to send. Redirects must not be followed: a 3xx is fed back as it came.
    pub request: PreparedRequest,
    /// Time allowed to open the connection.
    pub connect_timeout: Duration,
    /// Time allowed for the whole attempt, connect to the last byte of the answer.
    pub timeout: Duration,
    /// The most answer bytes to read: past it, stop reading and call
    /// [`Exchange::too_large`].
    pub max_response_bytes: u64,
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Wait this long, then call [`Exchange::send`] for the next attempt.
    Retry {
        /// The delay before the next attempt.
        after: Duration,
    },
    /// The exchange is over: the result, or the error with its retry advice and whether the
    /// request may have been sent.
    Done(Result<Answer, Error>),
}

/// Where an exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// An attempt may be sent (the first, or one after a `Retry`).
    Ready,
    /// An attempt was handed out; its outcome is awaited.
    Sent,
    /// A result or an error was given.
    Done,
}

/// One request's exchange with the service, from the first attempt to its result.
///
/// Not `Clone`: two copies of one exchange would each hand out the same attempt, and a start
/// could go out twice. Its `Debug` leaves out the attempt in flight's signature.
pub struct Exchange {
    request: AnyRequest,
    credentials: Credentials,
    base_url: BaseUrl,
    settings: ClientSettings,
    attempt: u32,
    state: State,
    /// The signature values of the attempt in flight, kept out of whatever its answer echoes.
    in_flight: Vec<String>,
    /// How the exchange ended, once it has: what `cancel` says afterwards.
    ended: Option<RetryAdvice>,
    /// A code that allows one more send only (a start answered 503) was already sent again.
    once_spent: bool,
    record_events: bool,
    reporter: Option<Reporter>,
    events: Vec<Event>,
}

impl Exchange {
    /// An exchange for `request`, signed with `credentials`, under `settings` (checked here: a
    /// setting that breaks a rule is refused naming it). Events are recorded; see
    /// [`with_events`](Self::with_events).
    pub fn new(
        request: impl Into<AnyRequest>,
        credentials: Credentials,
        settings: &ClientSettings,
    ) -> Result<Self, ValidationError> {
        let base_url = settings.check()?;
        Ok(Exchange {
            request: request.into(),
            credentials,
            base_url,
            settings: settings.clone(),
            attempt: 0,
            state: State::Ready,
            in_flight: Vec::new(),
            ended: None,
            once_spent: false,
            record_events: true,
            reporter: None,
            events: Vec::new(),
        })
    }

    /// Whether to record [`events`]: a driver whose logger is off saves their formatting.
    pub fn with_events(mut self, record: bool) -> Self {
        self.record_events = record;
        self
    }

    /// The request this exchange carries.
    pub fn request(&self) -> &AnyRequest {
        &self.request
    }

    /// Attempts handed out so far.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// The events recorded since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// The next attempt, signed now with a fresh nonce. Call it first, and after each
    /// [`Next::Retry`] once its delay has passed. Refused (field `exchange`) while an attempt's
    /// outcome is awaited or once the exchange is done; an entropy failure ends the exchange.
    pub fn send(&mut self, entropy: &mut dyn Entropy) -> Result<Attempt, Error> {
        if self.state != State::Ready {
            let with = match self.state {
                State::Sent => "an attempt whose outcome was not fed back",
                _ => "an exchange that is done",
            };
            return Err(ValidationError::new("exchange", Rule::Conflict { with }).into());
        }
        let signed = entropy
            .nonce()
            .and_then(|nonce| Ok(self.credentials.sign(&nonce, entropy.now_secs())?));
        let auth = match signed {
            Ok(auth) => auth,
            Err(e) => {
                self.state = State::Done;
                return Err(e);
            }
        };
        if self.record_events && self.reporter.is_none() {
            // From the jitter source, not the nonces: whether events are recorded must not
            // change which nonce an attempt is signed with.
            let id = format!("{:08x}", entropy.jitter());
            let reporter = Reporter::new(id, self.request.endpoint(), self.request.path());
            self.reporter = Some(reporter);
        }
        self.attempt += 1;
        let request = self.request.prepare(&self.base_url, &auth);
        self.in_flight = request
            .signature_values()
            .into_iter()
            .map(str::to_owned)
            .collect();
        self.state = State::Sent;
        if let Some(r) = &self.reporter {
            self.events.push(r.sent(self.attempt));
        }
        Ok(Attempt {
            number: self.attempt,
            request,
            connect_timeout: self.settings.connect_timeout,
            timeout: self.settings.timeout,
            max_response_bytes: self.settings.max_response_bytes,
        })
    }

    /// The answer to the attempt in flight: its HTTP status, its `Location` header (for a 3xx,
    /// which is refused, never followed) and its body, read whole within the cap; `elapsed` is
    /// how long the attempt took, for the events.
    pub fn receive(
        &mut self,
        status: u16,
        location: Option<&str>,
        body: &[u8],
        elapsed: Duration,
        entropy: &mut dyn Entropy,
    ) -> Next {
        if let Some(misuse) = self.awaiting() {
            return misuse;
        }
        let result = if (300..400).contains(&status) {
            // Redacted before `redirect` cuts it, so that a cut cannot leave part of a value.
            let location = location.map(|l| {
                let mut l = l.to_owned();
                redact::redact(&mut l, &self.redacted_values());
                l
            });
            let e = ProtocolError::redirect(self.request.endpoint(), status, location.as_deref());
            Err(Error::from(self.request.named(ResponseError::Protocol(e))))
        } else {
            self.request.parse(status, body).map_err(Error::from)
        };
        self.conclude(result, status, elapsed, entropy)
    }

    /// The attempt's answer was longer than [`Attempt::max_response_bytes`]: its reading was
    /// stopped there.
    pub fn too_large(&mut self, status: u16, elapsed: Duration, entropy: &mut dyn Entropy) -> Next {
        if let Some(misuse) = self.awaiting() {
            return misuse;
        }
        let mut e = ProtocolError::new(
            self.request.endpoint(),
            ProtocolErrorKind::TooLarge,
            status,
            b"",
        );
        e.detail = Some(format!("over {} bytes", self.settings.max_response_bytes));
        let e = Error::from(self.request.named(ResponseError::Protocol(e)));
        self.conclude(Err(e), status, elapsed, entropy)
    }

    /// No complete answer came: `kind` is the step that failed, and `maybe_sent` false only when
    /// the request provably never left (the connection was never opened); `detail` is what the
    /// HTTP stack said.
    pub fn fail(
        &mut self,
        kind: TransportErrorKind,
        maybe_sent: bool,
        detail: &str,
        elapsed: Duration,
        entropy: &mut dyn Entropy,
    ) -> Next {
        if let Some(misuse) = self.awaiting() {
            return misuse;
        }
        let e = TransportError {
            endpoint: self.request.endpoint(),
            path: matches!(self.request, AnyRequest::Api(_))
                .then(|| self.request.path().to_owned()),
            kind,
            maybe_sent,
            detail: detail.to_owned(),
            attempts: self.attempt,
        };
        self.conclude(Err(Error::from(e)), 0, elapsed, entropy)
    }

    /// The driver's caller abandoned the attempt in flight (a cancelled task, an outer
    /// timeout). Returns the advice for the request: `OutcomeUnknown` when it may have been sent
    /// and may have taken effect (a start, a request not marked idempotent), in which case a
    /// `cancelled` event says so; the exchange is done either way.
    pub fn cancel(&mut self, maybe_sent: bool) -> RetryAdvice {
        // Done already: the advice it ended with (after success, sending again is a new call).
        if let Some(advice) = self.ended {
            return advice;
        }
        let was_sent = self.state == State::Sent;
        self.state = State::Done;
        let kind = self.request.endpoint().kind();
        let advice = if !(was_sent && maybe_sent) || kind == RequestKind::Query {
            RetryAdvice::Safe
        } else {
            if let Some(r) = &self.reporter {
                let event = r.cancelled(self.attempt, RetryAdvice::OutcomeUnknown.code());
                self.events.push(event);
            }
            RetryAdvice::OutcomeUnknown
        };
        // A second cancel says the same.
        self.ended = Some(advice);
        advice
    }

    /// What an answer must not carry back: the attempt's signature values and the secret.
    fn redacted_values(&self) -> Vec<&str> {
        let mut values: Vec<&str> = self.in_flight.iter().map(String::as_str).collect();
        values.push(self.credentials.expose_secret());
        values
    }

    /// `Some(Done(error))` when no attempt's outcome is awaited.
    fn awaiting(&mut self) -> Option<Next> {
        if self.state == State::Sent {
            return None;
        }
        let with = "no attempt in flight (call send first)";
        Some(Next::Done(Err(ValidationError::new(
            "exchange",
            Rule::Conflict { with },
        )
        .into())))
    }

    /// Ends an attempt: redacts what the answer echoed, records the events, and decides.
    fn conclude(
        &mut self,
        result: Result<Answer, Error>,
        status: u16,
        elapsed: Duration,
        entropy: &mut dyn Entropy,
    ) -> Next {
        let result = result.map_err(|mut error| {
            error.redact(&self.redacted_values());
            error
        });
        if let Some(r) = &self.reporter {
            let event = r.outcome(self.attempt, &result, status, elapsed.as_millis());
            self.events.push(event);
        }
        let mut error = match result {
            Ok(answer) => {
                self.state = State::Done;
                self.ended = Some(RetryAdvice::Never);
                return Next::Done(Ok(answer));
            }
            Err(error) => error,
        };
        let once = error.retry_advice() == RetryAdvice::OnceAfterDelay;
        if once
            && self.once_spent
            && let Error::Response(ResponseError::Api(api)) = &mut error
        {
            api.resend_spent = true;
        }
        let policy = self.settings.retry_policy();
        match policy.decide(self.attempt, error.retry_advice(), entropy.jitter()) {
            Decision::RetryAfter(after) => {
                self.once_spent |= once;
                if let Some(r) = &self.reporter {
                    let event = r.retry(self.attempt, &error, after.as_millis());
                    self.events.push(event);
                }
                self.state = State::Ready;
                Next::Retry { after }
            }
            Decision::Stop(_) => {
                if let Some(r) = &self.reporter {
                    self.events.push(r.gave_up(self.attempt, &error));
                }
                self.state = State::Done;
                self.ended = Some(error.retry_advice());
                Next::Done(Err(error))
            }
        }
    }
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("request", &self.request)
            .field("credentials", &self.credentials)
            .field("base_url", &self.base_url)
            .field("attempt", &self.attempt)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The answer's typed result for a driver that knows what it asked for; an answer of another
/// type (impossible for a request of that type) is reported, never a panic.
pub fn typed<T: FromAnswer>(answer: Answer) -> Result<T, Error> {
    T::from_answer(answer).ok_or_else(|| {
        let with = "an answer of another kind than the request's";
        ValidationError::new("exchange", Rule::Conflict { with }).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_entropy_is_read_strictly_and_falls_back_to_the_system() {
        for bad in [
            "[]",
            "{\"nonces\":[]}",
            "{\"nonces\":[1]}",
            "{\"now_secs\":0}",
            "{\"jitter\":4294967296}",
            "{\"seed\":1}",
            "{",
        ] {
            let e = FixedEntropy::from_json(bad, "entropy_json").unwrap_err();
            assert_eq!(
                (e.field, e.rule.code()),
                ("entropy_json", "json_object"),
                "{bad}"
            );
        }
        let mut s =
            FixedEntropy::from_json("{\"nonces\":[\"a\",\"b\"],\"jitter\":7}", "entropy_json")
                .unwrap();
        let drawn: Vec<String> = (0..3).map(|_| s.nonce().unwrap()).collect();
        assert_eq!(drawn, ["a", "b", "b"]);
        assert_eq!(s.jitter(), 7);
        assert!(s.now_secs() > 1_700_000_000);
        assert_eq!(FixedEntropy::default().nonce().unwrap().len(), 32);
    }

    fn exchange_for_a_start() -> (Exchange, FixedEntropy) {
        let start = StartCall::new("liuxuanlin", "13888888888", "13777777777", 60).unwrap();
        let settings = ClientSettings {
            base_url: "http://127.0.0.1:9".into(),
            ..ClientSettings::default()
        };
        let creds = Credentials::new("key", "review-secret").unwrap();
        let entropy = FixedEntropy::new(
            vec!["0123456789abcdef0123456789abcdef".into()],
            Some(1_440_570_500),
            Some(0),
        );
        (Exchange::new(start, creds, &settings).unwrap(), entropy)
    }

    #[test]
    fn cancel_after_the_end_says_how_it_ended() {
        let ms = Duration::from_millis(1);
        let (mut ex, mut entropy) = exchange_for_a_start();
        ex.send(&mut entropy).unwrap();
        let next = ex.fail(TransportErrorKind::Io, true, "reset", ms, &mut entropy);
        assert!(matches!(next, Next::Done(Err(_))));
        // The start may have placed its call: cancelling now must not say "safe".
        assert_eq!(ex.cancel(true), RetryAdvice::OutcomeUnknown);
        let (mut ex, mut entropy) = exchange_for_a_start();
        ex.send(&mut entropy).unwrap();
        assert_eq!(ex.cancel(true), RetryAdvice::OutcomeUnknown);
        assert_eq!(
            ex.cancel(false),
            RetryAdvice::OutcomeUnknown,
            "a second cancel"
        );

        let (mut ex, mut entropy) = exchange_for_a_start();
        ex.send(&mut entropy).unwrap();
        let placed = br#"{"code":200,"obj":{"session":"c0ffee00-0000-4000-8000-000000000001"}}"#;
        assert!(matches!(
            ex.receive(200, None, placed, ms, &mut entropy),
            Next::Done(Ok(_))
        ));
        assert_eq!(ex.cancel(true), RetryAdvice::Never);
    }

    #[test]
    fn a_location_is_redacted_before_it_is_cut_and_debug_shows_no_signature() {
        let (mut ex, mut entropy) = exchange_for_a_start();
        let attempt = ex.send(&mut entropy).unwrap();
        let sum = attempt
            .request
            .headers
            .iter()
            .find(|(n, _)| *n == "CheckSum")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert!(!format!("{ex:?}").contains(&sum), "{ex:?}");
        // The CheckSum straddles the 512-character cut.
        let location = format!("https://x.example/{}{sum}", "a".repeat(512 - 18 - 30));
        let next = ex.receive(302, Some(&location), b"", Duration::ZERO, &mut entropy);
        let Next::Done(Err(e)) = next else {
            panic!("a redirect is refused")
        };
        let text = format!("{e:?}");
        assert!(!text.contains(&sum[..10]), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }
}
