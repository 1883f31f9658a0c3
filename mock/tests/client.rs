//! The blocking client of the core against the mock: every fault mode gives a typed error in
//! bounded time, a start is never sent twice once it may have arrived, and one client serves
//! many threads. Only 127.0.0.1 is contacted.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use yunxin_ecp::blocking::Client;
use yunxin_ecp::{
    CallbackEvent, CallbackVerifier, Credentials, Error, ProtocolErrorKind, QueryBySession,
    ResponseError, RetryAdvice, SessionKind, StartCall, StartConf, TransportErrorKind,
};
use yunxin_ecp_mock::{Fault, MockConfig, MockServer, Outcome, SAMPLE_APP_KEY, SAMPLE_APP_SECRET};

fn creds() -> Credentials {
    Credentials::new(SAMPLE_APP_KEY, SAMPLE_APP_SECRET).unwrap()
}

/// A client with short timeouts and backoff, so fault tests stay fast.
fn client_for(base_url: &str) -> Client {
    Client::builder(creds())
        .base_url(base_url)
        .connect_timeout(Duration::from_millis(500))
        .timeout(Duration::from_millis(800))
        .backoff(Duration::from_millis(10))
        .build()
        .unwrap()
}

fn call() -> StartCall {
    StartCall::new("liuxuanlin", "13888888888", "13777777777", 100).unwrap()
}

fn conf() -> StartConf {
    StartConf::new(
        "liuxuanlin",
        "13777777777",
        ["13888888888", "13666666666"],
        100,
    )
    .unwrap()
}

/// Runs `f`, asserting it returns within `limit`.
fn timed<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
    let began = Instant::now();
    let out = f();
    assert!(began.elapsed() < limit, "took {:?}", began.elapsed());
    out
}

#[test]
fn call_conference_and_queries_round_trip() {
    let mock = MockServer::start(MockConfig::default()).unwrap();
    mock.set_outcome("13777777777", Outcome::answered(61));
    let client = client_for(&mock.base_url());
    let started = client.start_call(&call()).unwrap();
    let record = client
        .query(&QueryBySession::new(&started.session, SessionKind::Call).unwrap())
        .unwrap();
    assert_eq!(record.session.as_deref(), Some(started.session.as_str()));
    assert_eq!(
        (record.duration_sec, record.billed_minutes()),
        (Some(61), 2)
    );
    assert_eq!(record.caller.as_deref(), Some("13888888888"));

    let conf_started = client.start_conf(&conf()).unwrap();
    let record = client
        .query(&QueryBySession::new(&conf_started.session, SessionKind::Conference).unwrap())
        .unwrap();
    assert_eq!(
        record.members.as_deref(),
        Some(
            &[
                "13777777777".to_owned(),
                "13888888888".to_owned(),
                "13666666666".to_owned()
            ][..]
        )
    );
    // Wrong type: the mock answers 404 like the service, and a 404 is never retried.
    let err = client
        .query(&QueryBySession::new(&conf_started.session, SessionKind::Call).unwrap())
        .unwrap_err();
    let Error::Response(ResponseError::Api(api)) = err else {
        panic!("{err:?}")
    };
    assert_eq!((api.code, api.retry_advice()), (404, RetryAdvice::Never));
}

#[test]
fn api_errors_are_typed_and_not_retried() {
    let mock = MockServer::start(MockConfig::default()).unwrap();
    let client = client_for(&mock.base_url());
    let unregistered = StartCall::new("nobody", "13888888888", "13777777777", 100).unwrap();
    let err = client.start_call(&unregistered).unwrap_err();
    let Error::Response(ResponseError::Api(api)) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (api.code, api.message.as_deref()),
        (414, Some("bad param 'callerAcc'"))
    );
    assert_eq!(mock.stats().requests, 1, "a 414 is not retried");

    let wrong = Client::builder(Credentials::new(SAMPLE_APP_KEY, "not-the-secret").unwrap())
        .base_url(mock.base_url())
        .build()
        .unwrap();
    let err = wrong.start_call(&call()).unwrap_err();
    let Error::Response(ResponseError::Api(api)) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (api.code, api.message.as_deref()),
        (414, Some("bad http header"))
    );
    assert!(!err.to_string().contains("not-the-secret"));

    mock.set_ecp_enabled(false);
    let err = client.start_call(&call()).unwrap_err();
    let Error::Response(ResponseError::Api(api)) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.code, 403);
}

/// After a failure that may have reached the service, a start is sent exactly once and the
/// error says the outcome is unknown.
#[test]
fn ambiguous_start_failures_are_never_retried() {
    let faults = [
        Fault::ResetBeforeResponse,
        Fault::ResetMidBody,
        Fault::ServerError,
        Fault::GarbageJson,
        Fault::EmptyBody,
        Fault::Html502,
        Fault::Delay(Duration::from_millis(1500)),
    ];
    for fault in faults {
        let mock = MockServer::start(MockConfig::default()).unwrap();
        let client = client_for(&mock.base_url());
        mock.inject_fault(fault.clone(), 10);
        let err = timed(Duration::from_secs(3), || {
            client.start_call(&call()).unwrap_err()
        });
        if let Fault::Delay(delay) = fault {
            // The mock records a delayed request once its delay is over.
            thread::sleep(delay);
        }
        assert_eq!(
            err.retry_advice(),
            RetryAdvice::OutcomeUnknown,
            "{fault:?}: {err}"
        );
        assert!(
            err.to_string().contains("may have been placed"),
            "{fault:?}: {err}"
        );
        assert_eq!(mock.stats().requests, 1, "{fault:?}: sent more than once");
        mock.clear_faults();
        mock.stop();
    }
}

#[test]
fn explicit_rejections_of_a_start_are_retried() {
    let mock = MockServer::start(MockConfig::default()).unwrap();
    let client = client_for(&mock.base_url());
    mock.inject_fault(Fault::RateLimited, 2);
    let started = client.start_call(&call()).unwrap();
    assert_eq!(mock.stats().requests, 3);
    assert_eq!(mock.sessions().len(), 1);
    assert_eq!(mock.sessions()[0]["session"], started.session.as_str());

    // 503: at most one retry.
    mock.inject_fault(Fault::Busy503, 5);
    let err = client.start_call(&call()).unwrap_err();
    let Error::Response(ResponseError::Api(api)) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.code, 503);
    assert_eq!(mock.stats().requests, 5, "503 on a start: one retry only");
}

#[test]
fn queries_retry_transient_failures() {
    let mock = MockServer::start(MockConfig::default()).unwrap();
    let client = client_for(&mock.base_url());
    let session = client.start_call(&call()).unwrap().session;
    let query = QueryBySession::new(&session, SessionKind::Call).unwrap();
    for fault in [
        Fault::ResetBeforeResponse,
        Fault::ServerError,
        Fault::Html502,
        Fault::GarbageJson,
        Fault::Busy503,
    ] {
        mock.inject_fault(fault.clone(), 1);
        let record = timed(Duration::from_secs(3), || client.query(&query))
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(record.session.as_deref(), Some(session.as_str()));
    }
    // Persisting failures end after the retry budget with the last error.
    mock.inject_fault(Fault::ServerError, 10);
    let before = mock.stats().requests;
    let err = client.query(&query).unwrap_err();
    assert_eq!(err.retry_advice(), RetryAdvice::Safe);
    assert_eq!(mock.stats().requests - before, 3, "1 attempt + 2 retries");
}

#[test]
fn oversized_answers_are_refused_without_reading_them_whole() {
    let mock = MockServer::start(MockConfig::default()).unwrap();
    let client = Client::builder(creds())
        .base_url(mock.base_url())
        .max_response_bytes(64 * 1024)
        .max_retries(0)
        .build()
        .unwrap();
    mock.inject_fault(Fault::Oversized(8 * 1024 * 1024), 1);
    let err = timed(Duration::from_secs(3), || {
        client.start_call(&call()).unwrap_err()
    });
    let Error::Response(ResponseError::Protocol(p)) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(p.kind, ProtocolErrorKind::TooLarge);
}

#[test]
fn connect_failures_say_nothing_was_sent_and_are_retried() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = client_for(&format!("http://127.0.0.1:{port}"));
    let err = timed(Duration::from_secs(3), || {
        client.start_call(&call()).unwrap_err()
    });
    let Error::Transport(t) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (t.kind, t.maybe_sent, t.attempts),
        (TransportErrorKind::Connect, false, 3)
    );
    assert!(err.to_string().contains("not sent"), "{err}");
}

#[test]
fn read_timeouts_of_a_query_are_retried_within_the_budget() {
    let mock = MockServer::start(MockConfig::default()).unwrap();
    let client = client_for(&mock.base_url());
    let session = client.start_call(&call()).unwrap().session;
    mock.inject_fault(Fault::Delay(Duration::from_secs(5)), 10);
    let err = timed(Duration::from_secs(4), || {
        client
            .query(&QueryBySession::new(&session, SessionKind::Call).unwrap())
            .unwrap_err()
    });
    let Error::Transport(t) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (t.kind, t.maybe_sent, t.attempts),
        (TransportErrorKind::Timeout, true, 3)
    );
}

/// One client shared by 16 threads, 100 requests each: all succeed, every request carries its
/// own nonce and a CurTime of the moment it was sent.
#[test]
fn one_client_serves_sixteen_threads() {
    let mock = MockServer::start(MockConfig::default()).unwrap();
    let client = Arc::new(client_for(&mock.base_url()));
    let session = client.start_call(&call()).unwrap().session;
    let began = yunxin_ecp::signing::unix_seconds_now();
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let client = Arc::clone(&client);
            let query = QueryBySession::new(&session, SessionKind::Call).unwrap();
            thread::spawn(move || (0..100).filter(|_| client.query(&query).is_ok()).count())
        })
        .collect();
    let ok: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let ended = yunxin_ecp::signing::unix_seconds_now();
    assert_eq!(ok, 1600);
    let requests = mock.requests();
    assert_eq!(requests.len(), 1601);
    let mut nonces = HashSet::new();
    for r in &requests {
        let header = |n: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(r.code, Some(200), "{r:?}");
        let cur_time: u64 = header("CurTime").unwrap().parse().unwrap();
        assert!(
            cur_time + 1 >= began && cur_time <= ended,
            "stale CurTime {cur_time}"
        );
        assert!(nonces.insert(header("Nonce").unwrap()), "nonce reused");
        assert!(!format!("{r:?}").contains(SAMPLE_APP_SECRET));
    }
    assert!(
        mock.stats().connections <= 32,
        "connections are pooled: {:?}",
        mock.stats()
    );
}

#[test]
fn callbacks_from_the_mock_verify_and_tampered_copies_do_not() {
    let receiver = MockServer::start(MockConfig::default()).unwrap();
    let mock = MockServer::start(MockConfig {
        callback_url: Some(receiver.inbox_url()),
        call_duration: Duration::from_millis(10),
        ..MockConfig::default()
    })
    .unwrap();
    mock.set_outcome("13888888888", Outcome::no_answer("USER_BUSY"));
    let client = client_for(&mock.base_url());
    let call_session = client.start_call(&call()).unwrap().session;
    let conf_session = client.start_conf(&conf()).unwrap().session;
    let inbox = receiver.wait_for_inbox(2, Duration::from_secs(5));
    assert_eq!(inbox.len(), 2);
    let verifier = CallbackVerifier::new(creds());
    let mut seen = HashSet::new();
    for cb in &inbox {
        let headers = || cb.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let now = yunxin_ecp::signing::unix_millis_now();
        let event = verifier.verify_and_parse(&cb.body, headers(), now).unwrap();
        let CallbackEvent::CallEnd(record) = event else {
            panic!("{event:?}")
        };
        seen.insert(record.session.clone().unwrap());
        if record.is_conference() {
            assert_eq!(record.members.as_ref().unwrap().len(), 3);
        } else {
            assert_eq!(record.legs.len(), 2);
        }
        // Tampered body, tampered header, other secret: all refused.
        let mut body = cb.body.clone();
        let middle = body.len() / 2;
        body[middle] ^= 1;
        assert!(verifier.verify(&body, headers(), now).is_err());
        let altered = cb.headers.iter().map(|(k, v)| {
            let v = if k.eq_ignore_ascii_case("CurTime") {
                format!("{v}1")
            } else {
                v.clone()
            };
            (k.clone(), v)
        });
        assert!(verifier.verify(&cb.body, altered, now).is_err());
        let other = CallbackVerifier::new(Credentials::new(SAMPLE_APP_KEY, "x").unwrap());
        assert!(other.verify(&cb.body, headers(), now).is_err());
    }
    assert_eq!(seen, HashSet::from([call_session, conf_session]));
}
