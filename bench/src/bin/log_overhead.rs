//! What the client's log events cost on a request: sequential keep-alive queries to the
//! in-process mock with the `log` facade off, then at Debug with a logger that formats every
//! record of the `yunxin_ecp` target as a real one would (level, target, message) and writes it
//! to a sink, as `RUST_LOG=yunxin_ecp=debug` would. A third mode logs every target at Debug,
//! which adds the HTTP stack's own lines (ureq's, about a dozen per request), for comparison.
//! The modes alternate round by round in one process and the best round of each counts.
//!
//! Run: `cargo run --release -p yunxin-ecp-bench --bin log-overhead`

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use log::{LevelFilter, Log, Metadata, Record};
use yunxin_ecp::blocking::Client;
use yunxin_ecp::blocking::events::TARGET;
use yunxin_ecp::{QueryBySession, SessionKind, StartCall};
use yunxin_ecp_mock::{MockConfig, MockServer};

const ROUNDS: u32 = 7;
const QUERIES: u32 = 1000;

/// Formats each record into a reused line buffer and writes it to `io::sink()`; counts the
/// client's own lines.
struct SinkLogger {
    lines: AtomicU64,
    all_targets: AtomicBool,
}

thread_local! {
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

impl Log for SinkLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == TARGET || self.all_targets.load(Ordering::Relaxed)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        LINE.with(|line| {
            let mut line = line.borrow_mut();
            line.clear();
            let _ = write!(
                line,
                "{} {} {}",
                record.level(),
                record.target(),
                record.args()
            );
            let _ = std::io::sink().write_all(line.as_bytes());
        });
        if record.target() == TARGET {
            self.lines.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn flush(&self) {}
}

static LOGGER: SinkLogger = SinkLogger {
    lines: AtomicU64::new(0),
    all_targets: AtomicBool::new(false),
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    log::set_logger(&LOGGER).map_err(|e| e.to_string())?;
    let mock = MockServer::start(MockConfig::default())?;
    let client = Client::builder(mock.config().apps[0].clone())
        .base_url(mock.base_url())
        .build()?;
    let call = StartCall::new("liuxuanlin", "13888888888", "13777777777", 100)?;
    let session = client.start_call(&call)?.session;
    let query = QueryBySession::new(&session, SessionKind::Call)?;

    let round = |level: LevelFilter| -> Result<f64, yunxin_ecp::Error> {
        log::set_max_level(level);
        let began = Instant::now();
        for _ in 0..QUERIES {
            client.query(&query)?;
        }
        Ok(began.elapsed().as_nanos() as f64 / f64::from(QUERIES) / 1000.0)
    };
    let (mut off, mut debug, mut everything) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    round(LevelFilter::Off)?; // warm-up: connection, pools
    for _ in 0..ROUNDS {
        off = off.min(round(LevelFilter::Off)?);
        let before = LOGGER.lines.load(Ordering::Relaxed);
        debug = debug.min(round(LevelFilter::Debug)?);
        let lines = LOGGER.lines.load(Ordering::Relaxed) - before;
        assert_eq!(lines, u64::from(QUERIES) * 2, "two events per query");
        LOGGER.all_targets.store(true, Ordering::Relaxed);
        everything = everything.min(round(LevelFilter::Debug)?);
        LOGGER.all_targets.store(false, Ordering::Relaxed);
    }
    log::set_max_level(LevelFilter::Off);
    println!(
        "client log events, {QUERIES} sequential keep-alive queries to the in-process mock, \
         best of {ROUNDS} rounds: disabled {off:.1} us/req, yunxin_ecp at debug (2 lines/req, \
         formatted to a sink) {debug:.1} us/req: ratio {:.3} (+{:.2} us/req)",
        debug / off,
        debug - off
    );
    println!(
        "every target at debug (the HTTP stack's lines too): {everything:.1} us/req: ratio {:.3} \
         to disabled",
        everything / off
    );
    mock.stop();
    Ok(())
}
