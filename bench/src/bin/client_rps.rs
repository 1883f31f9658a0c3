//! Sequential keep-alive queries from the Rust blocking client to the in-process mock: the
//! ceiling the Python client can reach, and where its time goes.
//!
//! Run: `cargo run --release -p yunxin-ecp-bench --bin client-rps`

use std::time::Instant;

use yunxin_ecp::blocking::Client;
use yunxin_ecp::{QueryBySession, SessionKind, StartCall};
use yunxin_ecp_mock::{MockConfig, MockServer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockServer::start(MockConfig::default())?;
    let client = Client::builder(mock.config().apps[0].clone())
        .base_url(&mock.base_url())?
        .build()?;
    let call = StartCall::new("liuxuanlin", "13888888888", "13777777777", 100)?;
    let session = client.start_call(&call)?.session;
    let query = QueryBySession::new(&session, SessionKind::Call)?;
    let n = 5000;
    let began = Instant::now();
    for _ in 0..n {
        client.query(&query)?;
    }
    let secs = began.elapsed().as_secs_f64();
    println!(
        "rust client, {n} sequential keep-alive queries to the in-process mock: {:.0} req/s ({:.0} us/req)",
        f64::from(n) / secs,
        secs * 1e6 / f64::from(n)
    );
    println!("connections opened: {}", mock.stats().connections);
    mock.stop();
    Ok(())
}
