//! Prints, for every fault the mock can inject, what the blocking client reports for a start
//! and for a query, how long it took, and how many requests reached the mock. Then checks that
//! no call-end callback was lost: every call the mock placed, faults or not, must have its
//! callback received (and acknowledged) by the mock's inbox and verified.
//!
//! Run: `cargo run --release -p yunxin-ecp-demo --bin fault-table` (add `-- --rows` for the
//! tab-separated rows that `scripts/fault-table.py` gathers from every language).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use yunxin_ecp::blocking::Client;
use yunxin_ecp::deliveries::{Claim, DeliveryGuard};
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::{
    CallbackEvent, CallbackVerifier, Error, QueryBySession, ResponseError, SessionKind, StartCall,
};
use yunxin_ecp_mock::{Fault, MockConfig, MockServer, ReceivedCallback};

/// Client settings for the table: timeouts short enough that the delay fault trips them.
const TIMEOUT: Duration = Duration::from_millis(1000);
/// How long the callbacks of the last calls may take to arrive.
const CALLBACK_WAIT: Duration = Duration::from_secs(10);

fn faults() -> Vec<Fault> {
    vec![
        Fault::Delay(Duration::from_millis(1500)),
        Fault::ResetBeforeResponse,
        Fault::ResetMidBody,
        Fault::Html502,
        Fault::EmptyBody,
        Fault::GarbageJson,
        Fault::Oversized(4 * 1024 * 1024),
        Fault::RateLimited,
        Fault::ServerError,
        Fault::Busy503,
        Fault::Redirect,
    ]
}

/// What an outcome looks like in one table cell; the same words in every language.
fn describe(result: &Result<String, Error>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(Error::Response(ResponseError::Api(e))) => {
            format!("api {} [{}]", e.code, e.retry_advice().code())
        }
        Err(Error::Response(ResponseError::Protocol(e))) => {
            format!("protocol {} [{}]", e.kind.code(), e.retry_advice().code())
        }
        Err(Error::Transport(e)) => format!(
            "transport {} sent={} [{}]",
            e.kind.code(),
            e.maybe_sent,
            e.retry_advice().code()
        ),
        Err(other) => format!("{other}"),
    }
}

/// The first callback received, delivered twice to a handler behind the duplicate guard, as a
/// sender that got no answer in time delivers it again: `handled 1 of 2 deliveries`.
fn duplicate_outcome(verifier: &CallbackVerifier, first: Option<&ReceivedCallback>) -> String {
    let Some(callback) = first else {
        return "no callback received".to_owned();
    };
    let guard = DeliveryGuard::default();
    let mut handled = 0;
    for _ in 0..2 {
        let headers = callback
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let Ok(delivery) = verifier.verify_delivery(&callback.body, headers, unix_millis_now())
        else {
            return "refused".to_owned();
        };
        if guard.claim(&delivery, unix_millis_now()) == Ok(Claim::First) {
            handled += 1; // the handler
            let _ = guard.complete(&delivery);
        }
    }
    format!("handled {handled} of 2 deliveries")
}

/// Waits for the callback of every call the mock placed and verifies each: `all N verified`,
/// else how many were lost or refused (the same words in every language).
fn callbacks_outcome(
    mock: &MockServer,
    verifier: &CallbackVerifier,
) -> (String, Option<ReceivedCallback>) {
    let placed: BTreeSet<String> = mock
        .sessions()
        .iter()
        .filter_map(|record| record["session"].as_str().map(str::to_owned))
        .collect();
    let mut verified = BTreeSet::new();
    let mut refused = 0;
    let inbox = mock.wait_for_inbox(placed.len(), CALLBACK_WAIT);
    let first = inbox.first().cloned();
    for callback in inbox {
        let headers = callback
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()));
        match verifier.verify_and_parse(&callback.body, headers, unix_millis_now()) {
            Ok(CallbackEvent::CallEnd(record)) => {
                verified.insert(record.session.unwrap_or_default());
            }
            _ => refused += 1,
        }
    }
    let lost = placed.difference(&verified).count();
    let outcome = if lost == 0 && refused == 0 {
        format!("all {} verified", placed.len())
    } else {
        format!("{lost} lost, {refused} refused of {}", placed.len())
    };
    (outcome, first)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows = std::env::args().any(|a| a == "--rows");
    let mock = MockServer::start(MockConfig::default())?;
    mock.set_callback_url(Some(mock.inbox_url()));
    let creds = mock.config().apps[0].clone();
    let verifier = CallbackVerifier::new(creds.clone());
    let client = Client::builder(creds)
        .base_url(mock.base_url())
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .backoff(Duration::from_millis(50))
        .max_response_bytes(1024 * 1024)
        .build()?;
    let call = StartCall::new("liuxuanlin", "13888888888", "13777777777", 100)?;
    let session = client.start_call(&call)?.session;
    let query = QueryBySession::new(&session, SessionKind::Call)?;

    if !rows {
        println!(
            "client: timeout {} ms, 2 retries where safe; each fault applies to the next request only\n",
            TIMEOUT.as_millis()
        );
        println!(
            "{:<22} | {:<44} {:>8} {:>5} | {:<44} {:>8} {:>5}",
            "fault", "start call", "time", "sent", "query", "time", "sent"
        );
        println!("{}", "-".repeat(150));
    }
    for fault in faults() {
        let mut cells = Vec::new();
        for start in [true, false] {
            mock.clear_faults();
            mock.inject_fault(fault.clone(), 1);
            let before = mock.stats().requests;
            let began = Instant::now();
            let result = if start {
                client.start_call(&call).map(|s| s.session)
            } else {
                client.query(&query).map(|r| r.session.unwrap_or_default())
            };
            let took = began.elapsed();
            // A delayed request is recorded by the mock once its delay is over.
            if let Fault::Delay(d) = fault {
                std::thread::sleep(d.saturating_sub(took) + Duration::from_millis(100));
            }
            let sent = mock.stats().requests - before;
            if rows {
                let operation = if start { "start_call" } else { "query" };
                println!(
                    "ROW\t{}\t{operation}\t{}\t{}",
                    fault.kind(),
                    describe(&result),
                    took.as_millis()
                );
            }
            cells.push(format!(
                "{:<44} {:>6} ms {:>5}",
                describe(&result),
                took.as_millis(),
                sent
            ));
        }
        let name = format!("{fault:?}");
        if !rows {
            let name: String = name.chars().take(22).collect();
            println!("{name:<22} | {} | {}", cells[0], cells[1]);
        }
    }
    // Where the redirect fault pointed: nothing may have reached it, signed headers and all.
    let location_host = format!("{} requests", mock.redirect_target_hits());
    let began = Instant::now();
    let (callbacks, first) = callbacks_outcome(&mock, &verifier);
    let took = began.elapsed().as_millis();
    let began = Instant::now();
    let duplicate = duplicate_outcome(&verifier, first.as_ref());
    let duplicate_took = began.elapsed().as_millis();
    mock.stop();
    if rows {
        println!("ROW\tredirect\tlocation_host\t{location_host}\t0");
        println!("ROW\tcallbacks\tdelivered\t{callbacks}\t{took}");
        println!("ROW\tduplicate_delivery\thandler\t{duplicate}\t{duplicate_took}");
        println!("DONE");
        return Ok(());
    }
    println!(
        "\nA start is sent again only after an explicit 416/503 rejection; every other failure\n\
         of a start reports outcome_unknown after exactly one request. Queries retry.\n\
         Call-end callbacks of every placed call, received and verified: {callbacks} ({took} ms).\n\
         One of them delivered twice to a handler behind the duplicate guard: {duplicate}.\n\
         Requests that reached the redirect's Location: {location_host}."
    );
    Ok(())
}
