//! `yunxin-ecp send-callback` to a local endpoint: from starting the command to its exit with the
//! endpoint's answer printed, as an operator testing a receiver sees it. The endpoint is the
//! in-process mock's inbox (it answers 200); 40 runs after 3 warm-ups, median and worst.
//!
//! Run: `cargo build --release -p yunxin-ecp-cli && cargo run --release -p yunxin-ecp-bench --bin send-callback`

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use yunxin_ecp_mock::{MockConfig, MockServer};

fn command() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("release").join("yunxin-ecp")
}

fn main() {
    let binary = command();
    assert!(
        binary.exists(),
        "{} is missing: cargo build --release -p yunxin-ecp-cli first",
        binary.display()
    );
    let receiver = MockServer::start(MockConfig::default()).expect("the receiver starts");
    let app = receiver.config().apps[0].clone();
    let url = receiver.inbox_url();
    let run = || {
        let began = Instant::now();
        let out = Command::new(&binary)
            .args(["send-callback", &url])
            .env("YUNXIN_APP_KEY", app.app_key())
            .env("YUNXIN_APP_SECRET", app.expose_secret())
            .output()
            .expect("the command runs");
        let took = began.elapsed();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("HTTP 200"),
            "send-callback failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        took
    };
    for _ in 0..3 {
        run();
    }
    let mut times: Vec<Duration> = (0..40).map(|_| run()).collect();
    times.sort();
    let received = receiver.wait_for_inbox(43, Duration::from_secs(5)).len();
    receiver.stop();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "send-callback to a local endpoint, start to answer: median {:.1} ms, worst {:.1} ms of 40 runs ({received} deliveries received) (target under 10 ms)",
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
}
