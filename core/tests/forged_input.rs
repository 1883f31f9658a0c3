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

#[cfg(feature = "blocking")]
#[test]
fn an_invalid_base_url_fails_the_build_naming_base_url_before_any_other_setting() {
    use yunxin_ecp::Error;
    use yunxin_ecp::blocking::Client;
    for url in [
        "ftp://example.com",
        "api.netease.im",
        "https://",
        "https://h/?q=1",
    ] {
        // The builder chains; the URL is refused by build(), ahead of an absurd timeout.
        let built = Client::builder(creds())
            .base_url(url)
            .timeout(Duration::ZERO)
            .build();
        match built {
            Err(Error::Validation(e)) => assert_eq!((e.field, e.rule.code()), ("baseUrl", "url")),
            other => panic!("{url}: expected a baseUrl validation error, got {other:?}"),
        }
    }
    // A later valid URL replaces a refused one, and the last one set is the one used.
    let client = Client::builder(creds())
        .base_url("not a url")
        .base_url("http://127.0.0.1:9/prefix/")
        .build()
        .unwrap();
    assert_eq!(client.base_url().as_str(), "http://127.0.0.1:9/prefix");
    let refused_last = Client::builder(creds())
        .base_url("http://127.0.0.1:9")
        .base_url("not a url")
        .build();
    assert!(matches!(refused_last, Err(Error::Validation(_))));
}

#[test]
fn callback_headers_are_read_from_references_to_pairs_and_verify_and_parse_now_reads_the_clock() {
    let now = yunxin_ecp::signing::unix_millis_now();
    let received: Vec<(String, String)> = sign_callback(&creds(), BODY, now)
        .pairs()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let verifier = CallbackVerifier::new(creds());
    let slice: &[(String, String)] = &received;
    assert_eq!(verifier.verify(BODY, slice, now), Ok(()));
    assert_eq!(verifier.verify(BODY, &received, now), Ok(()));
    assert_eq!(verifier.verify_now(BODY, received.iter()), Ok(()));
    let event = verifier.verify_and_parse_now(BODY, slice).unwrap();
    let yunxin_ecp::CallbackEvent::CallEnd(record) = event else {
        panic!("a call-end event")
    };
    assert_eq!(record.duration_sec, Some(61));
    // Still refused when stale, on the clock.
    let old: Vec<(String, String)> = sign_callback(&creds(), BODY, now - 3_600_000)
        .pairs()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        verifier
            .verify_and_parse_now(BODY, &old)
            .unwrap_err()
            .reason(),
        "stale"
    );
}

/// A tolerance wide enough to switch the time check off is refused: a callback signed in 2001
/// could otherwise be replayed today under a tolerance of 10^12 ms.
#[test]
fn a_tolerance_over_an_hour_is_refused_naming_it() {
    for ms in [3_600_001, 1_000_000_000_000, u64::MAX] {
        let e = yunxin_ecp::TimeCheck::tolerance(ms).unwrap_err();
        assert_eq!(
            (e.field, e.rule.code()),
            ("tolerance_ms", "at_most"),
            "{ms}"
        );
        assert_eq!(
            e.to_string(),
            "invalid tolerance_ms: must be at most 3600000 milliseconds (an hour)"
        );
    }
    assert_eq!(
        yunxin_ecp::TimeCheck::tolerance(3_600_000),
        Ok(yunxin_ecp::TimeCheck::ToleranceMs(3_600_000))
    );
}
