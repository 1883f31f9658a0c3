//! Property tests: the parsers and verifiers that read bytes from the network return a value or a
//! typed error for any input, and never panic.

use proptest::prelude::*;
use yunxin_ecp::callback::{parse_callback, sign_callback};
use yunxin_ecp::server::{Params, parse_callee_list, verify_request};
use yunxin_ecp::{
    CallbackVerifier, Credentials, EcpRequest, Endpoint, QueryBySession, ResponseError, StartCall,
    StartConf, TimeCheck,
};

/// Bytes that look like what the service or a proxy might send: JSON fragments, numbers, quotes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        "[{}\\[\\]\":,0-9a-z \\\\\\-.eE+<>]{0,200}".prop_map(String::into_bytes),
        (any::<i64>(), ".{0,40}", ".{0,40}").prop_map(|(code, msg, obj)| {
            format!(r#"{{"code":{code},"msg":{msg:?},"obj":{obj}}}"#).into_bytes()
        }),
        (".{0,20}", any::<u64>()).prop_map(|(s, d)| {
            let record = format!(r#"{{"session":{s:?},"durationSec":{d},"members":"[\"1\",2"}}"#);
            format!(r#"{{"code":"200","obj":{record:?}}}"#).into_bytes()
        }),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("MD5".to_owned()),
        Just("checksum".to_owned()),
        Just("CURTIME".to_owned()),
        Just("AppKey".to_owned()),
        Just("Nonce".to_owned()),
        ".{0,8}",
    ];
    proptest::collection::vec((name, ".{0,140}"), 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn response_parsers_never_panic(status in any::<u16>(), body in body()) {
        let checks: [Result<(), ResponseError>; 3] = [
            StartCall::parse_response(status, &body).map(drop),
            StartConf::parse_response(status, &body).map(drop),
            QueryBySession::parse_response(status, &body).map(drop),
        ];
        for r in checks {
            if let Err(e) = r {
                // Every error renders and answers the retry question.
                prop_assert!(!e.to_string().is_empty());
                let _ = e.retry_advice();
            }
        }
    }

    #[test]
    fn callback_verify_and_parse_never_panic(
        body in body(), hs in headers(), now in any::<u64>(), tol in any::<u64>(),
    ) {
        let creds = Credentials::new("k", "云信").unwrap();
        let v = CallbackVerifier::new(creds).with_time_check(TimeCheck::ToleranceMs(tol));
        let _ = v.verify_and_parse(&body, hs, now);
        let _ = parse_callback(&body);
    }

    #[test]
    fn signed_callbacks_verify_for_any_body(body in body(), t in 0u64..4_000_000_000_000) {
        let creds = Credentials::new("k", "s").unwrap();
        let h = sign_callback(&creds, &body, t);
        let v = CallbackVerifier::new(creds).with_time_check(TimeCheck::ToleranceMs(0));
        prop_assert_eq!(v.verify(&body, h.pairs(), t), Ok(()));
    }

    #[test]
    fn incoming_requests_never_panic(
        query in ".{0,200}", body in body(), hs in headers(), now in any::<u64>(), window in any::<u64>(),
    ) {
        let creds = Credentials::new("k", "s").unwrap();
        let _ = verify_request(hs, |_| Some(&creds), now, window);
        let p = Params::parse(&query, &body);
        let _ = p.start_call();
        let _ = p.start_conf();
        let _ = p.query();
        let _ = parse_callee_list(&query);
        for e in Endpoint::ALL {
            let _ = Endpoint::from_path(e.path());
        }
    }
}
