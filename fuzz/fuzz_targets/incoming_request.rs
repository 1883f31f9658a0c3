//! What the mock (or a proxy) reads from an incoming request: the auth headers, and the form
//! parameters from the query string and the body. Input: header lines, NUL, query, NUL, body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yunxin_ecp::Credentials;
use yunxin_ecp::server::{Params, REQUEST_WINDOW_SECS, parse_callee_list, verify_request};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let head = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let query = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let body = parts.next().unwrap_or_default();
    let headers = head.lines().filter_map(|l| l.split_once(':'));
    let Ok(creds) = Credentials::new("fd460d34e786e7754e505bc4fab0f027", "xxxxxxxx") else {
        return;
    };
    let lookup = |key: &str| (key == creds.app_key()).then_some(&creds);
    let _ = verify_request(headers, lookup, 1_700_000_000, REQUEST_WINDOW_SECS);
    let params = Params::parse(&query, body);
    let _ = (params.start_call(), params.start_conf(), params.query());
    if let Some(callee) = params.get("callee") {
        let _ = parse_callee_list(callee);
    }
});
