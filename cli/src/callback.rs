//! `verify-callback`: the library's callback verifier on a body and headers from files, or on a
//! whole captured HTTP request.

use std::io::Read;
use std::path::Path;

use serde_json::json;
use yunxin_ecp::callback::DEFAULT_TOLERANCE_MS;
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::views::{ErrorView, EventView};
use yunxin_ecp::{CallbackEvent, CallbackVerifier, Credentials, Error, TimeCheck};

use crate::args::{Global, VerifyArgs};
use crate::calls::print_record;
use crate::credentials;
use crate::files::read_capped;
use crate::output::{self, Failure, escape, print_json, say};

/// Largest input read: a call-end callback is a few kilobytes.
pub const MAX_INPUT_BYTES: u64 = 1 << 20;

/// The bytes of `FILE` (a regular file), or of standard input for `-`.
pub fn read_input(source: &str, what: &str) -> Result<Vec<u8>, Failure> {
    if source != "-" {
        return read_capped(Path::new(source), what, MAX_INPUT_BYTES);
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            Failure::usage_local(format!("cannot read {what} from standard input: {e}"))
        })?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(Failure::usage_local(format!(
            "cannot read {what} from standard input: larger than {MAX_INPUT_BYTES} bytes"
        )));
    }
    Ok(bytes)
}

/// `--now-ms`, refused when it is plainly seconds (`date +%s` where `date +%s%3N` was meant):
/// every callback would then read as decades in the future, and the refusal would blame the
/// callback.
fn now_ms(given: Option<u64>) -> Result<u64, Failure> {
    match given {
        // The core's rule; the words name the shell's way to the right value.
        Some(ms) if yunxin_ecp::validate::epoch_millis("now_ms", ms).is_err() => {
            Err(Failure::Invalid {
                field: "--now-ms",
                rule: "seconds",
                message: format!(
                    "invalid --now-ms: {ms} looks like seconds; --now-ms takes Unix milliseconds \
                 (date +%s%3N)"
                ),
            })
        }
        Some(ms) => Ok(ms),
        None => Ok(unix_millis_now()),
    }
}

/// Headers as (name, value) pairs, in the order received.
pub type Headers = Vec<(String, String)>;

/// The headers and body of a whole HTTP request; the body is cut at `Content-Length` when the
/// request has one (a trailing line break an editor added is not part of it).
pub fn split_request(raw: &[u8]) -> Result<(Headers, Vec<u8>), String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(raw) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            return Err("the request ends before the blank line after its headers".to_owned());
        }
        Err(e) => return Err(format!("not an HTTP request: {e}")),
    };
    let headers: Headers = request
        .headers
        .iter()
        .map(|h| {
            let value = String::from_utf8_lossy(h.value).into_owned();
            (h.name.to_owned(), value)
        })
        .collect();
    let mut body = raw[head_len..].to_vec();
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    if let Some(length) = length {
        if body.len() < length {
            return Err(format!(
                "the body has {} bytes, Content-Length says {length}",
                body.len()
            ));
        }
        body.truncate(length);
    }
    Ok((headers, body))
}

pub fn verify(global: &Global, args: &VerifyArgs) -> Result<u8, Failure> {
    let now_ms = now_ms(args.now_ms)?;
    let (creds, sources) = verifier_credentials(global)?;
    let (headers, body) = match (&args.raw_request, &args.body) {
        (Some(raw), _) => {
            let raw = read_input(raw, "--raw-request")?;
            split_request(&raw).map_err(|e| Failure::usage_local(format!("--raw-request: {e}")))?
        }
        (None, Some(body)) => (args.headers.clone(), read_input(body, "--body")?),
        // clap requires one of the two.
        (None, None) => return Err(Failure::usage_local("no --body or --raw-request".into())),
    };
    let time_check = if args.skip_time_check {
        TimeCheck::SkipInsecure
    } else {
        // The ceiling every binding applies (an hour): a wider one would accept replays.
        TimeCheck::tolerance(args.tolerance_ms.unwrap_or(DEFAULT_TOLERANCE_MS)).map_err(|e| {
            Failure::Invalid {
                field: "--tolerance-ms",
                rule: e.rule.code(),
                message: format!("invalid --tolerance-ms: {}", e.rule),
            }
        })?
    };
    let several = creds.len() > 1;
    let verifier = CallbackVerifier::with_credentials(creds)
        .map_err(|e| Failure::from(Error::from(e)))?
        .with_time_check(time_check);
    let pairs = headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    match verifier.verify_and_parse_delivery(&body, pairs, now_ms) {
        Ok((delivery, event)) => {
            let source = &sources[delivery.credential];
            if global.json {
                print_json(&json!({
                    "accepted": true,
                    "credential": delivery.credential,
                    "app_key": delivery.app_key,
                    "credentials_source": source,
                    "delivery_key": delivery.key.hex(),
                    "event": EventView::new(&event),
                }));
            } else {
                say!("accepted");
                if several {
                    say!(
                        "matched    credentials {} of {} (app key {}, from {})",
                        delivery.credential + 1,
                        sources.len(),
                        escape(&delivery.app_key),
                        escape(source)
                    );
                }
                print_event(&event);
            }
            Ok(output::exit(output::OK))
        }
        Err(refusal) => {
            let reason = refusal.reason();
            let error = Error::from(refusal);
            if global.json {
                print_json(&json!({
                    "accepted": false,
                    "reason": reason,
                    "error": ErrorView::new(&error),
                }));
            } else {
                say!("refused: {reason}");
                say!("{}", escape(&error.to_string()));
            }
            Ok(output::exit(output::REFUSED))
        }
    }
}

/// The credentials to verify with, and where each came from: every `--credentials-file` (1 to
/// [`MAX_CREDENTIALS`](yunxin_ecp::callback::MAX_CREDENTIALS), as the verifier takes), else the
/// environment's.
fn verifier_credentials(global: &Global) -> Result<(Vec<Credentials>, Vec<String>), Failure> {
    if global.credentials_file.len() > yunxin_ecp::callback::MAX_CREDENTIALS {
        // The verifier's own rule, before any file is read.
        let refused = CallbackVerifier::with_credentials(Vec::new()).map(drop);
        let error = refused.err().map(|mut e| {
            if let yunxin_ecp::Rule::Count { actual, .. } = &mut e.rule {
                *actual = global.credentials_file.len();
            }
            e
        });
        if let Some(error) = error {
            return Err(Failure::Invalid {
                field: "--credentials-file",
                rule: error.rule.code(),
                message: format!("--credentials-file: {}", error.rule),
            });
        }
    }
    if global.credentials_file.is_empty() {
        let creds = credentials::require(None)?;
        return Ok((vec![creds], vec!["the environment".to_owned()]));
    }
    let mut creds = Vec::with_capacity(global.credentials_file.len());
    let mut sources = Vec::with_capacity(global.credentials_file.len());
    for path in &global.credentials_file {
        creds.push(credentials::require(Some(path))?);
        sources.push(path.display().to_string());
    }
    Ok((creds, sources))
}

fn print_event(event: &CallbackEvent) {
    match event {
        CallbackEvent::CallEnd(record) => {
            say!("event      call end (eventType 10)");
            print_record(record);
        }
        CallbackEvent::Other { event_type, raw } => {
            say!(
                "event      eventType {} (not a call end; passed through untouched)",
                escape(event_type.as_deref().unwrap_or("absent"))
            );
            say!("{}", escape(&raw.to_string()));
        }
    }
}
