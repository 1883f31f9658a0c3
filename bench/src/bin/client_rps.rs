//! Sequential keep-alive queries from the Rust blocking client to the in-process mock: the
//! ceiling the Python client can reach, and where its time goes. Twice: with the mock's IP
//! address as the base URL, and with the host name `localhost`, which goes through the system
//! resolver (once a minute, thanks to the client's cache of names).
//!
//! Run: `cargo run --release -p yunxin-ecp-bench --bin client-rps`

use std::time::Instant;

use yunxin_ecp::blocking::Client;
use yunxin_ecp::{QueryBySession, SessionKind, StartCall};
use yunxin_ecp_mock::{MockConfig, MockServer};

const QUERIES: u32 = 5000;

/// Requests per second of `QUERIES` sequential queries through a client for `base_url`.
fn rate(mock: &MockServer, base_url: &str) -> Result<f64, Box<dyn std::error::Error>> {
    let client = Client::builder(mock.config().apps[0].clone())
        .base_url(base_url)
        .build()?;
    let call = StartCall::new("liuxuanlin", "13888888888", "13777777777", 100)?;
    let session = client.start_call(&call)?.session;
    let query = QueryBySession::new(&session, SessionKind::Call)?;
    let began = Instant::now();
    for _ in 0..QUERIES {
        client.query(&query)?;
    }
    Ok(f64::from(QUERIES) / began.elapsed().as_secs_f64())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockServer::start(MockConfig::default())?;
    let literal = rate(&mock, &mock.base_url())?;
    let by_name = rate(&mock, &format!("http://localhost:{}", mock.addr().port()))?;
    println!(
        "rust client, {QUERIES} sequential keep-alive queries to the in-process mock: \
         {literal:.0} req/s ({:.0} us/req) to 127.0.0.1, {by_name:.0} req/s ({:.0} us/req) \
         to localhost: {:.2}x",
        1e6 / literal,
        1e6 / by_name,
        by_name / literal
    );
    println!("connections opened: {}", mock.stats().connections);
    mock.stop();
    Ok(())
}
