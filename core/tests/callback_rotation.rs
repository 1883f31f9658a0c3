//! Several credentials per verifier (an AppSecret rotation, or several apps on one endpoint),
//! and the guard against handling one delivery twice.

use std::sync::{Arc, Barrier};

use yunxin_ecp::callback::{MAX_CREDENTIALS, sign_callback};
use yunxin_ecp::deliveries::{Claim, DeliveryGuard, DeliveryStore, MemoryStore};
use yunxin_ecp::{CallbackError, CallbackVerifier, Credentials, TimeCheck};

const BODY: &[u8] = br#"{"callback":"{\"durationSec\":61,\"session\":\"s-1\"}","eventType":"10"}"#;
const NOW: u64 = 1_700_000_000_000;

fn creds(key: &str, secret: &str) -> Credentials {
    Credentials::new(key, secret).unwrap()
}

#[test]
fn during_a_rotation_both_secrets_are_accepted_and_the_match_is_named() {
    let old = creds("app", "old-secret");
    let new = creds("app", "new-secret");
    let verifier = CallbackVerifier::with_credentials([old.clone(), new.clone()]).unwrap();
    for (signer, index) in [(&old, 0), (&new, 1)] {
        let signed = sign_callback(signer, BODY, NOW);
        let verified = verifier.verify_delivery(BODY, signed.pairs(), NOW).unwrap();
        assert_eq!(
            (verified.credential, verified.app_key.as_str()),
            (index, "app")
        );
        assert_eq!(verified.cur_time_ms, NOW);
        assert_eq!(verified.expires_at_ms, NOW + 300_000);
    }
    let stranger = sign_callback(&creds("app", "someone-else"), BODY, NOW);
    assert_eq!(
        verifier.verify(BODY, stranger.pairs(), NOW),
        Err(CallbackError::ChecksumMismatch)
    );
}

#[test]
fn several_apps_each_match_by_their_own_key() {
    let a = creds("app-a", "secret-a");
    let b = creds("app-b", "secret-b");
    let verifier = CallbackVerifier::with_credentials([a.clone(), b.clone()]).unwrap();
    let by_b = sign_callback(&b, BODY, NOW);
    assert_eq!(
        verifier
            .verify_delivery(BODY, by_b.pairs(), NOW)
            .unwrap()
            .credential,
        1
    );
    // b's signature under a's AppKey: the signature holds, the key does not.
    let mut relabelled = by_b.clone();
    relabelled.app_key = "app-a".into();
    assert_eq!(
        verifier.verify(BODY, relabelled.pairs(), NOW),
        Err(CallbackError::AppKeyMismatch)
    );
    // Without an AppKey header the signature alone decides.
    let pairs: Vec<_> = by_b
        .pairs()
        .into_iter()
        .filter(|(n, _)| *n != "AppKey")
        .collect();
    assert_eq!(
        verifier
            .verify_delivery(BODY, pairs, NOW)
            .unwrap()
            .credential,
        1
    );
}

#[test]
fn the_checks_keep_their_order_whatever_the_number_of_credentials() {
    let a = creds("app", "secret-a");
    let verifier =
        CallbackVerifier::with_credentials([creds("app", "secret-z"), a.clone()]).unwrap();
    let signed = sign_callback(&a, BODY, NOW);
    assert_eq!(
        verifier.verify(b"{}", signed.pairs(), NOW),
        Err(CallbackError::Md5Mismatch)
    );
    assert_eq!(
        verifier.verify(BODY, signed.pairs(), NOW + 300_001),
        Err(CallbackError::Stale {
            age_ms: 300_001,
            tolerance_ms: 300_000
        })
    );
    let skip = verifier.clone().with_time_check(TimeCheck::SkipInsecure);
    assert_eq!(
        skip.verify_delivery(BODY, signed.pairs(), 0)
            .unwrap()
            .expires_at_ms,
        u64::MAX
    );
}

#[test]
fn the_number_of_credentials_is_bounded() {
    let none: [Credentials; 0] = [];
    assert_eq!(
        CallbackVerifier::with_credentials(none)
            .unwrap_err()
            .to_string(),
        format!("invalid credentials: must hold 1 to {MAX_CREDENTIALS} entries, got 0")
    );
    let many = (0..=MAX_CREDENTIALS).map(|n| creds("app", &format!("secret-{n}")));
    assert!(CallbackVerifier::with_credentials(many).is_err());
    let most = (0..MAX_CREDENTIALS).map(|n| creds("app", &format!("secret-{n}")));
    let verifier = CallbackVerifier::with_credentials(most).unwrap();
    let last = creds("app", &format!("secret-{}", MAX_CREDENTIALS - 1));
    let signed = sign_callback(&last, BODY, NOW);
    assert_eq!(
        verifier
            .verify_delivery(BODY, signed.pairs(), NOW)
            .unwrap()
            .credential,
        MAX_CREDENTIALS - 1
    );
}

#[test]
fn a_repeated_delivery_is_the_same_key_and_a_re_signed_one_is_not() {
    let app = creds("app", "secret");
    let verifier = CallbackVerifier::new(app.clone());
    let first = sign_callback(&app, BODY, NOW);
    let again = sign_callback(&app, BODY, NOW);
    let resigned = sign_callback(&app, BODY, NOW + 1);
    let key = |h: &yunxin_ecp::callback::CallbackHeaders| {
        verifier
            .verify_delivery(BODY, h.pairs(), NOW + 10)
            .unwrap()
            .key
    };
    assert_eq!(key(&first), key(&again));
    assert_ne!(key(&first), key(&resigned));
}

#[test]
fn two_deliveries_at_once_get_one_handler_call() {
    let app = creds("app", "secret");
    let verifier = Arc::new(CallbackVerifier::new(app.clone()));
    for round in 0..200u64 {
        let guard = Arc::new(DeliveryGuard::default());
        let signed = sign_callback(&app, BODY, NOW + round);
        let barrier = Arc::new(Barrier::new(2));
        let claims: Vec<Claim> = (0..2)
            .map(|_| {
                let (verifier, guard, barrier, signed) = (
                    verifier.clone(),
                    guard.clone(),
                    barrier.clone(),
                    signed.clone(),
                );
                std::thread::spawn(move || {
                    let verified = verifier.verify_delivery(BODY, signed.pairs(), NOW).unwrap();
                    barrier.wait();
                    guard.claim(&verified, NOW).unwrap()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        let firsts = claims.iter().filter(|c| **c == Claim::First).count();
        assert_eq!(firsts, 1, "round {round}: {claims:?}");
        assert!(
            claims.contains(&Claim::InProgress),
            "round {round}: {claims:?}"
        );
    }
}

#[test]
fn a_failed_handler_releases_and_a_completed_one_makes_duplicates() {
    let app = creds("app", "secret");
    let verifier = CallbackVerifier::new(app.clone());
    let guard = DeliveryGuard::default();
    let verified = verifier
        .verify_delivery(BODY, sign_callback(&app, BODY, NOW).pairs(), NOW)
        .unwrap();
    assert_eq!(guard.claim(&verified, NOW), Ok(Claim::First));
    guard.release(&verified).unwrap();
    assert_eq!(guard.claim(&verified, NOW), Ok(Claim::First));
    guard.complete(&verified).unwrap();
    assert_eq!(guard.claim(&verified, NOW + 1), Ok(Claim::Duplicate));
    // Past the tolerance a repeat is refused as stale by the verifier, and the store forgets it
    // by the end of that second.
    let store = MemoryStore::default();
    store
        .claim(&verified.key, verified.expires_at_ms, NOW)
        .unwrap();
    store
        .complete(&verified.key, verified.expires_at_ms)
        .unwrap();
    let other = yunxin_ecp::deliveries::DeliveryKey::new("app", "x", "1", "m");
    store
        .claim(&other, u64::MAX, verified.expires_at_ms + 1000)
        .unwrap();
    assert_eq!(store.len(), 1);
}
