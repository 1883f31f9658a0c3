//! A tiny measuring harness for the benchmark programs: each side runs in the same process,
//! interleaved, several rounds, and the best round counts (the least disturbed by the rest of
//! the machine).

use std::time::Instant;

/// Nanoseconds per call of `f`: the best of `rounds` rounds of `iterations` calls.
pub fn ns_per_call(rounds: u32, iterations: u32, mut f: impl FnMut()) -> f64 {
    (0..rounds)
        .map(|_| {
            let began = Instant::now();
            for _ in 0..iterations {
                f();
            }
            began.elapsed().as_nanos() as f64 / f64::from(iterations)
        })
        .fold(f64::INFINITY, f64::min)
}

/// Prints one comparison line: both sides and the ratio `ours / baseline`.
pub fn report(what: &str, ours: f64, baseline_name: &str, baseline: f64, target: &str) {
    println!(
        "{what}: {ours:.1} ns/op vs {baseline_name} {baseline:.1} ns/op: ratio {:.2} (target {target})",
        ours / baseline
    );
}

/// Resident set size in KiB, from /proc/self/status.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
