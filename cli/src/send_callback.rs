//! `send-callback`: a signed call-end callback POSTed to the app's own receiver, the way the
//! service would send it, and the receiver's answer printed; `stripe trigger` for YunXin.
//!
//! The sample records are the mock's ([`yunxin_ecp_mock::call_record`]), so a receiver tested
//! with this command and with the mock sees one shape of record; the signature is the core's
//! [`sign_callback`], the one every language's test helper uses.

use std::io::Read;
use std::time::Duration;

use serde::Serialize;
use yunxin_ecp::callback::sign_callback;
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::{Rule, StartCall, StartConf, validate};
use yunxin_ecp_mock::{Outcome, SAMPLE_ACCIDS};

use crate::args::{Global, SendCallbackArgs};
use crate::callback::MAX_INPUT_BYTES;
use crate::credentials;
use crate::files::read_capped;
use crate::output::{self, Failure, clip, escape, print_json, say};

/// Most bytes of the receiver's answer read: enough for any error page, and a receiver that
/// streams without end cannot fill memory.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// The numbers of the sample records: the samples' own, mainland mobile numbers of no one.
const CALLER: &str = "13888888888";
const CALLEE: &str = "13777777777";
const THIRD: &str = "13666666666";

/// What was sent.
#[derive(Serialize)]
struct Sent {
    /// `call_end`, `conference_end` or `file`.
    kind: &'static str,
    /// The sample record's session; `None` for a file's body.
    session: Option<String>,
    bytes: usize,
    app_key: String,
    cur_time: String,
    md5: String,
}

/// The answer, as `--json` prints it.
#[derive(Serialize)]
struct Report<'a> {
    url: &'a str,
    sent: &'a Sent,
    http_status: u16,
    /// Whether the status is 2xx: the receiver took the callback.
    accepted: bool,
    /// Where a redirect pointed (not followed).
    location: Option<String>,
    /// The answer's body as text (invalid UTF-8 replaced), at most [`MAX_ANSWER_BYTES`].
    body: String,
    /// Whether the body went on past [`MAX_ANSWER_BYTES`].
    body_truncated: bool,
}

pub fn run(global: &Global, args: &SendCallbackArgs) -> Result<u8, Failure> {
    let url = check_url(&args.url)?;
    let timeout = validate::wait_secs_f64("--timeout", global.timeout, false)?;
    let creds = credentials::require(global.credentials_file()?)?;
    let (kind, session, body) = match &args.body_file {
        Some(path) => (
            "file",
            None,
            read_capped(path, "--body-file", MAX_INPUT_BYTES)?,
        ),
        None => {
            let (kind, session, body) = sample(args.conference)?;
            (kind, Some(session), body.into_bytes())
        }
    };
    let signed = sign_callback(&creds, &body, unix_millis_now());
    let sent = Sent {
        kind,
        session,
        bytes: body.len(),
        app_key: signed.app_key.clone(),
        cur_time: signed.cur_time.clone(),
        md5: signed.md5.clone(),
    };

    let agent = agent(&url, timeout)?;
    let mut request = agent.post(&url);
    for (name, value) in signed.pairs() {
        request = request.header(name, value);
    }
    let mut response = request
        .send(&body[..])
        .map_err(|e| unreachable(&url, timeout, &e))?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(ureq::http::header::LOCATION)
        .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
    let mut answer = Vec::new();
    // A failure while reading keeps what arrived: the status is the answer, the body detail.
    let _ = response
        .body_mut()
        .as_reader()
        .take(MAX_ANSWER_BYTES + 1)
        .read_to_end(&mut answer);
    let body_truncated = answer.len() as u64 > MAX_ANSWER_BYTES;
    answer.truncate(MAX_ANSWER_BYTES as usize);
    let report = Report {
        url: &url,
        sent: &sent,
        http_status: status,
        accepted: (200..300).contains(&status),
        location,
        body: String::from_utf8_lossy(&answer).into_owned(),
        body_truncated,
    };
    if global.json {
        print_json(&report);
    } else {
        print_human(&report);
    }
    Ok(output::exit(if report.accepted {
        output::OK
    } else {
        output::REFUSED
    }))
}

/// The URL to POST to: `http` or `https` with a host, as the `http` crate reads it. Anything
/// else is refused before a byte is sent, naming the rule.
fn check_url(url: &str) -> Result<String, Failure> {
    // The core's rule for a URL, whatever is wrong with it: the message says what.
    let refuse = |why: &str| Failure::Invalid {
        field: "URL",
        rule: Rule::Url.code(),
        message: format!("invalid URL {}: {why}", escape(url)),
    };
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|_| refuse("not a URL (expected http://HOST[:PORT]/PATH or https://...)"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            return Err(refuse(
                "the scheme must be http or https (e.g. http://127.0.0.1:8000/yunxin/callback)",
            ));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(refuse("it names no host"));
    }
    Ok(url.to_owned())
}

/// One POST, never redirected: a callback's headers are a five-minute signature of its body,
/// not to be handed to wherever a `Location` points. The proxy is chosen by the core's rule, as
/// every client of the library chooses it (`NO_PROXY` honoured).
fn agent(url: &str, timeout: Duration) -> Result<ureq::Agent, Failure> {
    let proxy = match yunxin_ecp::proxy::proxy_for(url, |n| std::env::var(n).ok()) {
        None => None,
        Some(p) => Some(ureq::Proxy::new(&p.url).map_err(|_| Failure::Invalid {
            field: p.variable,
            rule: Rule::Url.code(),
            message: format!("{} is not a proxy URL", p.variable),
        })?),
    };
    Ok(ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(timeout))
        .timeout_global(Some(timeout))
        .user_agent(concat!(
            "yunxin-ecp-send-callback/",
            env!("CARGO_PKG_VERSION")
        ))
        .proxy(proxy)
        .build()
        .into())
}

/// A sample call-end body as the mock would POST it: a fresh session, placed now, answered
/// for the mock's default duration.
fn sample(conference: bool) -> Result<(&'static str, String, String), Failure> {
    let session = yunxin_ecp_mock::new_session_id()
        .map_err(|e| Failure::usage_local(format!("cannot draw a session id: {e}")))?;
    let now_ms = unix_millis_now();
    let outcome = Outcome::default();
    let (kind, record) = if conference {
        let conf = StartConf::new(SAMPLE_ACCIDS[0], CALLER, [CALLEE, THIRD], 600)?;
        let record = yunxin_ecp_mock::conference_record(&session, &conf, &outcome, now_ms);
        ("conference_end", record)
    } else {
        let call = StartCall::new(SAMPLE_ACCIDS[0], CALLER, CALLEE, 600)?;
        (
            "call_end",
            yunxin_ecp_mock::call_record(&session, &call, &outcome, now_ms),
        )
    };
    let body = yunxin_ecp_mock::callback_body(&record.to_string());
    Ok((kind, session, body))
}

/// The failure to reach the receiver, said plainly: where, and what to check.
fn unreachable(url: &str, timeout: Duration, error: &ureq::Error) -> Failure {
    let why = match error {
        ureq::Error::Timeout(_) => {
            format!("no answer within {} s (--timeout)", timeout.as_secs_f64())
        }
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused: is the receiver running and listening there?".to_owned()
        }
        ureq::Error::HostNotFound => "host not found".to_owned(),
        other => other.to_string(),
    };
    Failure::Unreachable(format!("cannot deliver the callback to {url}: {why}"))
}

fn print_human(report: &Report<'_>) {
    let sent = report.sent;
    let what = match (sent.kind, &sent.session) {
        ("file", _) | (_, None) => "the file's body".to_owned(),
        ("conference_end", Some(s)) => format!("a conference's call-end record, session {s}"),
        (_, Some(s)) => format!("a call-end record, session {s}"),
    };
    say!(
        "POST {} ({what}, {} bytes, AppKey {})",
        escape(report.url),
        sent.bytes,
        escape(&sent.app_key)
    );
    let verdict = if report.accepted {
        "accepted"
    } else {
        "not accepted"
    };
    say!("HTTP {} ({verdict})", report.http_status);
    if let Some(location) = &report.location {
        say!("redirect to {} (not followed)", escape(location));
    }
    if !report.body.is_empty() {
        let more = if report.body_truncated {
            " (the answer goes on past 64 KiB, not read)"
        } else {
            ""
        };
        say!("{}{more}", clip(&escape(&report.body)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_with_a_host_are_taken() {
        assert!(check_url("http://127.0.0.1:8000/cb?x=1").is_ok());
        assert!(check_url("https://example.com/cb").is_ok());
        for (url, why) in [
            ("ftp://127.0.0.1/cb", "the scheme must be http or https"),
            ("127.0.0.1:8000/cb", "not a URL (expected http://"),
            ("/cb", "the scheme must be http or https"),
            ("http://", "not a URL"),
            ("http://exa mple.com/", "not a URL"),
        ] {
            match check_url(url) {
                Err(Failure::Invalid {
                    field,
                    rule,
                    message,
                }) => {
                    assert_eq!((field, rule), ("URL", "url"), "{url}");
                    assert!(message.contains(why), "{url}: {message}");
                }
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    #[test]
    fn samples_are_the_mocks_records_in_a_callback_body() {
        for (conference, kind) in [(false, "call_end"), (true, "conference_end")] {
            let (got, session, body) = sample(conference).unwrap();
            assert_eq!(got, kind);
            let event = yunxin_ecp::callback::parse_callback(body.as_bytes()).unwrap();
            let yunxin_ecp::CallbackEvent::CallEnd(record) = event else {
                panic!("{body}")
            };
            assert_eq!(record.session.as_deref(), Some(session.as_str()));
            assert_eq!(record.init_account.as_deref(), Some(SAMPLE_ACCIDS[0]));
            assert_eq!(record.members.is_some(), conference);
            assert_eq!(
                body,
                yunxin_ecp_mock::callback_body(&record.raw.to_string())
            );
        }
    }
}
