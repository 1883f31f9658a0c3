//! Receiving callbacks in production: what several credentials and the duplicate guard cost.
//!
//! - verifying a 1 KiB callback against 3 credentials (signed by the last, so every one is
//!   tried) vs against 1, both through `CallbackVerifier::verify_delivery`;
//! - verify + claim + complete in the in-memory guard vs verify alone, every delivery distinct;
//! - the guard's resident memory after 100k distinct deliveries, then after 100k more (the
//!   store is bounded: it must not grow past its capacity).
//!
//! Rounds alternate between the two sides; each figure is the best round.
//!
//! Run: `cargo run --release -p yunxin-ecp-bench --bin rotation`

use std::hint::black_box;

use yunxin_ecp::callback::{CallbackHeaders, sign_callback};
use yunxin_ecp::deliveries::{DeliveryGuard, MemoryStore};
use yunxin_ecp::{CallbackVerifier, Credentials};
use yunxin_ecp_bench::{ns_per_call, report, rss_kib};

const NOW: u64 = 1_700_000_000_000;

fn main() {
    let record = format!(
        r#"{{"session":"s","durationSec":61,"pad":"{}"}}"#,
        "x".repeat(960)
    );
    let body = serde_json::json!({ "callback": record, "eventType": "10" }).to_string();
    let body = body.as_bytes();
    let creds: Vec<Credentials> = (0..3)
        .map(|n| {
            Credentials::new("fd460d34e786e7754e505bc4fab0f027", format!("secret-{n}")).unwrap()
        })
        .collect();
    let signer = creds[2].clone();
    let one = CallbackVerifier::new(signer.clone());
    let three = CallbackVerifier::with_credentials(creds).unwrap();
    let signed = sign_callback(&signer, body, NOW);
    let headers: Vec<(&str, &str)> = signed.pairs().to_vec();
    assert_eq!(
        three
            .verify_delivery(body, headers.iter().copied(), NOW)
            .unwrap()
            .credential,
        2
    );

    let (rounds, n) = (5, 50_000);
    let (mut with_one, mut with_three) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..4 {
        with_one = with_one.min(ns_per_call(rounds, n, || {
            black_box(one.verify_delivery(black_box(body), headers.iter().copied(), NOW)).ok();
        }));
        with_three = with_three.min(ns_per_call(rounds, n, || {
            black_box(three.verify_delivery(black_box(body), headers.iter().copied(), NOW)).ok();
        }));
    }
    report(
        "verify against 3 credentials",
        with_three,
        "against 1",
        with_one,
        "<= 1.2",
    );

    // Distinct deliveries: one signature per CurTime, made before timing.
    let count = 100_000u64;
    let deliveries: Vec<CallbackHeaders> = (0..count)
        .map(|i| sign_callback(&signer, body, NOW + i))
        .collect();
    let (mut bare, mut guarded) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..4 {
        let mut i = 0usize;
        bare = bare.min(ns_per_call(1, count as u32, || {
            let h = &deliveries[i];
            i += 1;
            black_box(one.verify_delivery(black_box(body), h.pairs(), NOW)).ok();
        }));
        let guard = DeliveryGuard::default();
        let mut i = 0usize;
        guarded = guarded.min(ns_per_call(1, count as u32, || {
            let h = &deliveries[i];
            i += 1;
            if let Ok(v) = one.verify_delivery(black_box(body), h.pairs(), NOW) {
                if guard.claim(&v, NOW).is_ok() {
                    guard.complete(&v).ok();
                }
            }
        }));
    }
    report(
        "verify + duplicate guard (memory)",
        guarded,
        "verify alone",
        bare,
        "<= 1.1",
    );

    let store = std::sync::Arc::new(MemoryStore::default());
    let guard = DeliveryGuard::new(store.clone());
    let before = rss_kib();
    let fill = |offset: u64| {
        for i in 0..count {
            let h = sign_callback(&signer, body, NOW + offset + i);
            let v = one.verify_delivery(body, h.pairs(), NOW + offset).unwrap();
            guard.claim(&v, NOW + offset).unwrap();
            guard.complete(&v).unwrap();
        }
    };
    fill(0);
    let after_first = rss_kib();
    // 100k more, each still inside its window: the capacity holds by evicting.
    fill(count);
    let after_second = rss_kib();
    fill(2 * count);
    let after_third = rss_kib();
    println!(
        "duplicate guard memory: {} entries held, {} evicted; RSS {} KiB before, +{} KiB after 100k deliveries, +{} KiB after 200k, +{} KiB after 300k (bounded: past the capacity it levels off)",
        store.len(),
        store.evicted(),
        before,
        after_first.saturating_sub(before),
        after_second.saturating_sub(before),
        after_third.saturating_sub(before)
    );
}
