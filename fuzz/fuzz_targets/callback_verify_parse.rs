//! Any headers and body, through the callback verifier and parser. The input is header lines
//! (`Name: value`), a NUL byte, then the body; half the runs sign the body properly first, so
//! the parser behind a successful verification is reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yunxin_ecp::callback::{parse_callback, sign_callback};
use yunxin_ecp::{CallbackEvent, CallbackVerifier, Credentials, TimeCheck};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let (head, body) = (&data[..split], data.get(split + 1..).unwrap_or_default());
    let head = String::from_utf8_lossy(head);
    let mut headers: Vec<(String, String)> = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let Ok(creds) = Credentials::new("fuzz", "云信 secret") else { return };
    let now = 1_700_000_000_000;
    if data.first().is_some_and(|b| b & 1 == 1) {
        let signed = sign_callback(&creds, body, now);
        headers.extend(signed.pairs().map(|(k, v)| (k.to_owned(), v.to_owned())));
    }
    let verifier = CallbackVerifier::new(creds).with_time_check(TimeCheck::ToleranceMs(1000));
    match verifier.verify_and_parse(body, headers.iter().map(|(k, v)| (k, v)), now) {
        Ok(CallbackEvent::CallEnd(record)) => {
            let _ = (record.answered(), record.billed_minutes(), record.is_conference());
        }
        Ok(CallbackEvent::Other { .. }) => {}
        Err(e) => {
            let _ = (e.reason(), e.to_string());
        }
    }
    let _ = parse_callback(body);
});
