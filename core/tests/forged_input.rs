//! Verifiers against forged input: a signature header sent twice, a `CurTime` spelled with
//! leading zeros, and client settings that would overflow the clock arithmetic.

use std::time::Duration;

use yunxin_ecp::callback::sign_callback;
use yunxin_ecp::server::verify_request;
use yunxin_ecp::{CallbackError, CallbackVerifier, Credentials, checksum};

const NOW_MS: u64 = 1_700_000_000_000;
const BODY: &[u8] = br#"{"callback":"{\"durationSec\":61}","eventType":"10"}"#;

fn creds() -> Credentials {
    Credentials::new("appkey", "forged-input-secret").unwrap()
}

fn callback_headers() -> Vec<(String, String)> {
    let signed = sign_callback(&creds(), BODY, NOW_MS);
    signed
        .pairs()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_callback_signature_header_sent_twice_is_refused_in_either_order() {
    let verifier = CallbackVerifier::new(creds());
    assert_eq!(verifier.verify(BODY, callback_headers(), NOW_MS), Ok(()));
    for name in ["MD5", "CheckSum", "CurTime", "AppKey"] {
        let good = callback_headers();
        let value = |h: &[(String, String)]| h.iter().find(|(k, _)| k == name).unwrap().1.clone();
        let forged = (name.to_lowercase(), "0".repeat(40));
        // [bad, good] passed before: the last copy won.
        for headers in [
            [vec![forged.clone()], good.clone()].concat(),
            [good.clone(), vec![forged.clone()]].concat(),
            [good.clone(), vec![(name.to_uppercase(), value(&good))]].concat(),
        ] {
            let err = verifier.verify(BODY, headers, NOW_MS).unwrap_err();
            assert_eq!(err, CallbackError::DuplicateHeader { header: name });
            assert_eq!(err.reason(), "duplicate_header");
            assert!(err.to_string().contains(name));
        }
    }
}

#[test]
fn a_callback_cur_time_with_leading_zeros_is_refused() {
    let verifier = CallbackVerifier::new(creds());
    let md5 = yunxin_ecp::callback::body_md5(BODY);
    for cur_time in [format!("0{NOW_MS}"), format!("00{NOW_MS}")] {
        // Correctly signed over the zero-padded spelling: still refused.
        let sum = checksum("forged-input-secret", &md5, &cur_time);
        let headers = [
            ("MD5", md5.as_str()),
            ("CurTime", cur_time.as_str()),
            ("CheckSum", sum.as_str()),
        ];
        let err = verifier.verify(BODY, headers, NOW_MS).unwrap_err();
        assert_eq!(err, CallbackError::MalformedCurTime, "{cur_time}");
    }
}

#[test]
fn a_request_auth_header_sent_twice_is_refused() {
    let creds = creds();
    let now = 1_700_000_000;
    let auth = creds.sign("abc123", now).unwrap();
    let pairs: Vec<(String, String)> = auth
        .pairs()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let app = |key: &str| (key == "appkey").then_some(&creds);
    assert!(verify_request(pairs.clone(), app, now, 300).is_ok());
    for name in ["AppKey", "Nonce", "CurTime", "CheckSum"] {
        let mut headers = vec![(name.to_owned(), "forged".to_owned())];
        headers.extend(pairs.clone());
        let err = verify_request(headers, app, now, 300).unwrap_err();
        assert_eq!(err.reason(), "duplicate_header", "{name}");
        assert!(err.to_string().contains(name));
    }
}

#[test]
fn a_request_cur_time_with_leading_zeros_is_refused() {
    let creds = creds();
    let now = 1_700_000_000u64;
    // One signature, two (Nonce, CurTime) splits: "abc1" + "0…" and "abc" + "10…" hash alike.
    let nonce = "abc";
    let cur_time = format!("0{now}");
    let sum = checksum("forged-input-secret", nonce, &cur_time);
    let headers = [
        ("AppKey", "appkey"),
        ("Nonce", nonce),
        ("CurTime", cur_time.as_str()),
        ("CheckSum", sum.as_str()),
    ];
    let app = |key: &str| (key == "appkey").then_some(&creds);
    let err = verify_request(headers, app, now, 300).unwrap_err();
    assert_eq!(err.reason(), "malformed_cur_time");
}

#[cfg(feature = "blocking")]
#[test]
fn absurd_client_waits_are_refused_naming_the_setting() {
    use yunxin_ecp::Error;
    use yunxin_ecp::blocking::Client;
    let builder = || Client::builder(creds());
    let huge = Duration::from_secs(9_300_000_000_000_000_000);
    let cases = [
        (
            builder().connect_timeout(huge),
            "connect_timeout",
            "at_most",
        ),
        (builder().timeout(huge), "timeout", "at_most"),
        (builder().timeout(Duration::MAX), "timeout", "at_most"),
        (builder().backoff(huge), "backoff", "at_most"),
        (
            builder().timeout(Duration::from_secs(601)),
            "timeout",
            "at_most",
        ),
    ];
    for (b, field, rule) in cases {
        match b.build() {
            Err(Error::Validation(e)) => {
                assert_eq!((e.field, e.rule.code()), (field, rule));
                assert!(e.to_string().contains("at most 600 seconds"), "{e}");
            }
            other => panic!("{field}: expected a validation error, got {other:?}"),
        }
    }
    assert!(builder().timeout(Duration::from_secs(600)).build().is_ok());
    assert!(builder().backoff(Duration::ZERO).build().is_ok());
}
