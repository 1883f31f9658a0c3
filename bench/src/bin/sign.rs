//! Signing in Rust: `checksum` (SHA1 over secret + nonce + CurTime, lowercase hex) against a bare
//! SHA1 of the same bytes already concatenated, which is the lower limit; and `Credentials::sign`
//! (validation included) for reference.
//!
//! Run: `cargo run --release -p yunxin-ecp-bench --bin sign`

use std::hint::black_box;

use sha1::{Digest, Sha1};
use yunxin_ecp::{Credentials, checksum};
use yunxin_ecp_bench::{ns_per_call, report};

fn main() {
    let (secret, nonce, cur_time) = ("xxxxxxxx", "0123456789abcdef0123456789abcdef", "1700000000");
    let joined = format!("{secret}{nonce}{cur_time}");
    assert_eq!(
        checksum(secret, nonce, cur_time),
        hex::encode(Sha1::digest(joined.as_bytes()))
    );
    let creds = Credentials::new("fd460d34e786e7754e505bc4fab0f027", secret).unwrap();
    let (rounds, n) = (7, 400_000);
    let mut ours = f64::INFINITY;
    let mut bare = f64::INFINITY;
    // Interleaved rounds, so both sides see the same machine.
    for _ in 0..3 {
        bare = bare.min(ns_per_call(rounds, n, || {
            black_box(Sha1::digest(black_box(joined.as_bytes())));
        }));
        ours = ours.min(ns_per_call(rounds, n, || {
            black_box(checksum(
                black_box(secret),
                black_box(nonce),
                black_box(cur_time),
            ));
        }));
    }
    let sign = ns_per_call(rounds, n, || {
        black_box(creds.sign(black_box(nonce), black_box(1_700_000_000)).ok());
    });
    let sign_now = ns_per_call(rounds, n / 4, || {
        black_box(creds.sign_now().ok());
    });
    report("rust checksum()", ours, "bare SHA1 digest", bare, "<= 1.5");
    println!("rust Credentials::sign (validated nonce and time, four headers): {sign:.1} ns/op");
    println!("rust Credentials::sign_now (CSPRNG nonce + clock + sign): {sign_now:.1} ns/op");
}
