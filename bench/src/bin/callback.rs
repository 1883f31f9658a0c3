//! Callback verification of a 1 KiB body: `CallbackVerifier::verify` (header lookup, MD5 of the
//! body, SHA1 CheckSum, two constant-time comparisons, time check) against a bare MD5 + SHA1 of
//! the same bytes, which is the lower limit.
//!
//! Run: `cargo run --release -p yunxin-ecp-bench --bin callback`

use std::hint::black_box;

use md5::Md5;
use sha1::{Digest, Sha1};
use yunxin_ecp::callback::sign_callback;
use yunxin_ecp::{CallbackVerifier, Credentials};
use yunxin_ecp_bench::{ns_per_call, report};

fn main() {
    let creds = Credentials::new("fd460d34e786e7754e505bc4fab0f027", "xxxxxxxx").unwrap();
    let record = format!(
        r#"{{"session":"s","durationSec":61,"pad":"{}"}}"#,
        "x".repeat(960)
    );
    let body = serde_json::json!({ "callback": record, "eventType": "10" }).to_string();
    let body = body.as_bytes();
    assert!((1000..1100).contains(&body.len()), "{}", body.len());
    let now = 1_700_000_000_000;
    let signed = sign_callback(&creds, body, now);
    let headers: Vec<(&str, &str)> = signed.pairs().to_vec();
    let verifier = CallbackVerifier::new(creds);
    verifier.verify(body, headers.iter().copied(), now).unwrap();

    let (rounds, n) = (7, 100_000);
    let mut ours = f64::INFINITY;
    let mut bare = f64::INFINITY;
    for _ in 0..3 {
        bare = bare.min(ns_per_call(rounds, n, || {
            let md5 = Md5::digest(black_box(body));
            let mut sha = Sha1::new();
            sha.update(b"xxxxxxxx");
            sha.update(md5);
            sha.update(b"1700000000000");
            black_box(sha.finalize());
        }));
        ours = ours.min(ns_per_call(rounds, n, || {
            black_box(verifier.verify(black_box(body), headers.iter().copied(), now)).ok();
        }));
    }
    report(
        &format!("rust callback verify ({} B body)", body.len()),
        ours,
        "bare MD5 + SHA1",
        bare,
        "close to 1",
    );
}
