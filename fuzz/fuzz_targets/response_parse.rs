//! Any HTTP status and body, through the three response parsers: a typed result or a typed
//! error, never a panic, and every error answers the retry question and renders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yunxin_ecp::{EcpRequest, QueryBySession, StartCall, StartConf};

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]), rest),
        _ => (200, data),
    };
    if let Err(e) = StartCall::parse_response(status, body) {
        let _ = (e.retry_advice(), e.to_string());
    }
    if let Err(e) = StartConf::parse_response(status, body) {
        let _ = (e.retry_advice(), e.to_string());
    }
    match QueryBySession::parse_response(status, body) {
        Ok(record) => {
            let _ = (record.answered(), record.billed_minutes(), record.cost(Default::default()));
        }
        Err(e) => {
            let _ = (e.retry_advice(), e.to_string());
        }
    }
});
