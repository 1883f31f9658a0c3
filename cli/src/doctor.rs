//! `doctor`: the usual causes of code 414, one check each, in the order a person would look:
//! the credentials' shape, whether the base URL can be reached (DNS, TCP, TLS), the local clock
//! against the service's `Date` header, whether a signed request is accepted, and which rule a
//! failing client's captured headers break.
//!
//! The service answers every signature problem the same way (`bad http header`), so the only
//! way to tell them apart is to test each cause on its own.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use yunxin_ecp::callback::body_md5;
use yunxin_ecp::server::REQUEST_WINDOW_SECS;
use yunxin_ecp::signing::{MAX_NONCE_LEN, unix_seconds_now};
use yunxin_ecp::{
    BaseUrl, Credentials, EcpRequest, QueryBySession, ResponseError, SessionKind, checksum,
};

use crate::args::{DoctorArgs, Global};
use crate::callback::{read_input, split_request};
use crate::credentials::{self, RawCredentials};
use crate::output::{self, Failure, escape, print_json, say};

/// A made-up session for the signed probe: well formed, so only the signature can be refused.
const PROBE_SESSION: &str = "00000000-0000-4000-8000-000000000000";
/// A clock further off than this is worth a warning even inside the window.
const WARN_SKEW_SECS: u64 = 30;
/// Largest probe answer read: the service's answer to a query is a few hundred bytes.
const MAX_PROBE_ANSWER_BYTES: u64 = 64 * 1024;
/// Time allowed to connect, and for the probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    status: Status,
    detail: String,
}

#[derive(Debug, Default, Serialize)]
struct Report {
    base_url: String,
    checks: Vec<Check>,
    /// The service's clock minus this machine's, in seconds, when the answer had a `Date`.
    clock_skew_secs: Option<i64>,
    problems: usize,
    reachable: bool,
}

impl Report {
    fn add(&mut self, name: &'static str, status: Status, detail: impl Into<String>) {
        if status == Status::Fail {
            self.problems += 1;
        }
        self.checks.push(Check {
            name,
            status,
            detail: detail.into(),
        });
    }
}

pub fn run(global: &Global, args: &DoctorArgs) -> Result<u8, Failure> {
    let base = BaseUrl::new(&global.base_url()?)?;
    // Read before any network check, so that a wrong path fails at once.
    let captured = match &args.captured_headers {
        Some(source) => Some(parse_captured(&read_input(source, "--captured-headers")?)?),
        None => None,
    };
    let mut report = Report {
        base_url: base.as_str().to_owned(),
        ..Report::default()
    };

    let raw = credentials::load(global.credentials_file()?);
    let creds = check_credentials(&mut report, raw);
    report.reachable = check_network(&mut report, &base);
    if report.reachable {
        probe(&mut report, &base, creds.as_ref());
    } else {
        report.add("clock", Status::Skip, "the service cannot be reached");
        report.add("signature", Status::Skip, "the service cannot be reached");
    }
    if let Some(headers) = captured {
        check_captured(&mut report, &headers, creds.as_ref());
    }

    if global.json {
        print_json(&report);
    } else {
        for check in &report.checks {
            let status = match check.status {
                Status::Ok => "ok",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            // Details quote the answer (its message, its Date header) and the environment.
            say!("{:<11} {status:<5} {}", check.name, escape(&check.detail));
        }
        match (report.reachable, report.problems) {
            (false, _) => say!("the service cannot be reached from here"),
            (true, 0) => say!("no problem found"),
            (true, n) => say!("{n} problem(s) found"),
        }
    }
    Ok(output::exit(match (report.reachable, report.problems) {
        (false, _) => output::UNKNOWN,
        (true, 0) => output::OK,
        (true, _) => output::REFUSED,
    }))
}

fn check_credentials(
    report: &mut Report,
    raw: Result<Option<RawCredentials>, Failure>,
) -> Option<Credentials> {
    let raw = match raw {
        Ok(Some(raw)) => raw,
        Ok(None) => {
            report.add(
                "credentials",
                Status::Fail,
                "none: set $YUNXIN_APP_KEY and $YUNXIN_APP_SECRET, or pass --credentials-file",
            );
            return None;
        }
        Err(e) => {
            report.add("credentials", Status::Fail, e.text());
            return None;
        }
    };
    let key = raw.app_key.as_str();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    if key.trim() != key {
        problems.push("the app key has surrounding whitespace".to_owned());
    } else if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        warnings.push(format!(
            "the app key is {} characters, not the console's 32 hex characters",
            key.chars().count()
        ));
    } else if key.bytes().any(|b| b.is_ascii_uppercase()) {
        warnings
            .push("the app key has uppercase letters; the console shows it in lowercase".into());
    }
    let secret = raw.app_secret.as_str();
    if secret.is_empty() {
        problems.push("the app secret is empty".to_owned());
    } else if secret.trim() != secret {
        problems.push(
            "the app secret has surrounding whitespace (a space or line break copied with it)"
                .to_owned(),
        );
    }
    let creds = Credentials::new(key, secret);
    if let Err(e) = &creds {
        problems.push(e.to_string());
    }
    let summary = format!(
        "AppKey {key} from {}, secret of {} characters",
        raw.source,
        secret.chars().count()
    );
    if !problems.is_empty() {
        report.add(
            "credentials",
            Status::Fail,
            format!("{}; {summary}", problems.join("; ")),
        );
    } else if !warnings.is_empty() {
        report.add(
            "credentials",
            Status::Warn,
            format!("{}; {summary}", warnings.join("; ")),
        );
    } else {
        report.add("credentials", Status::Ok, summary);
    }
    creds.ok()
}

/// DNS, TCP and (for https) TLS; false when the service cannot be reached.
fn check_network(report: &mut Report, base: &BaseUrl) -> bool {
    let uri: ureq::http::Uri = match base.as_str().parse() {
        Ok(uri) => uri,
        Err(e) => {
            report.add(
                "dns",
                Status::Fail,
                format!("cannot read the base URL: {e}"),
            );
            return false;
        }
    };
    let https = uri.scheme_str() == Some("https");
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });

    let began = Instant::now();
    let addrs: Vec<_> = match (host.as_str(), port).to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(e) => {
            report.add("dns", Status::Fail, format!("{host} does not resolve: {e}"));
            return false;
        }
    };
    let listed: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
    report.add(
        "dns",
        Status::Ok,
        format!(
            "{host}: {} ({} ms)",
            listed.join(", "),
            began.elapsed().as_millis()
        ),
    );

    let began = Instant::now();
    let mut last_error = None;
    let connected =
        addrs.iter().find(
            |addr| match TcpStream::connect_timeout(addr, PROBE_TIMEOUT) {
                Ok(_) => true,
                Err(e) => {
                    last_error = Some(format!("{addr}: {e}"));
                    false
                }
            },
        );
    match connected {
        Some(addr) => report.add(
            "tcp",
            Status::Ok,
            format!("connected to {addr} ({} ms)", began.elapsed().as_millis()),
        ),
        None => {
            let why = last_error.unwrap_or_else(|| "no address".to_owned());
            report.add("tcp", Status::Fail, format!("cannot connect: {why}"));
            return false;
        }
    }
    if !https {
        report.add("tls", Status::Skip, "http:// base URL (a local mock?)");
    }
    true
}

/// One request to the service: signed when the credentials are usable (a query for a made-up
/// session, so 404 means the signature passed), unsigned otherwise. Its `Date` gives the clock.
fn probe(report: &mut Report, base: &BaseUrl, creds: Option<&Credentials>) {
    let https = base.as_str().starts_with("https://");
    let query = match QueryBySession::new(PROBE_SESSION, SessionKind::Call) {
        Ok(q) => q,
        Err(e) => {
            report.add("signature", Status::Skip, e.to_string());
            return;
        }
    };
    // The proxy by the core's rule, as every client chooses it (ureq's own would take
    // HTTP_PROXY for an https URL, and under CGI).
    let proxy = match yunxin_ecp::proxy::proxy_for(base.as_str(), |n| std::env::var(n).ok()) {
        None => None,
        Some(p) => match ureq::Proxy::new(&p.url) {
            Ok(proxy) => Some(proxy),
            Err(_) => {
                let why = format!("{} is not a proxy URL", p.variable);
                report.add("http", Status::Fail, why);
                report.reachable = false;
                return;
            }
        },
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(PROBE_TIMEOUT))
        .user_agent(concat!("yunxin-ecp-doctor/", env!("CARGO_PKG_VERSION")))
        .proxy(proxy)
        .build()
        .into();
    let signed = creds.map(|c| c.sign_now());
    let url = base.url(QueryBySession::ENDPOINT);
    let mut request = agent.post(&url);
    let mut headers = Vec::new();
    // What the answer must not carry back to the terminal: this probe's Nonce and CheckSum,
    // and the secret.
    let mut redacted: Vec<String> = creds
        .map(|c| c.expose_secret().to_owned())
        .into_iter()
        .collect();
    if let Some(Ok(auth)) = &signed {
        let prepared = query.prepare(base, auth);
        redacted.extend(prepared.signature_values().into_iter().map(str::to_owned));
        headers = prepared.headers;
    } else {
        headers.push((
            "Content-Type",
            yunxin_ecp::request::FORM_CONTENT_TYPE.to_owned(),
        ));
    }
    for (name, value) in &headers {
        request = request.header(*name, value.as_str());
    }
    let began = Instant::now();
    let mut response = match request.send(query.form_body().as_str()) {
        Ok(response) => response,
        Err(e) => {
            let tls = matches!(
                e,
                ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::TlsRequired
            );
            let name = if tls { "tls" } else { "http" };
            report.add(name, Status::Fail, format!("POST {url}: {e}"));
            report.reachable = false;
            report.add("clock", Status::Skip, "no answer to read the Date of");
            return;
        }
    };
    let received = SystemTime::now();
    let elapsed = began.elapsed().as_millis();
    if https {
        report.add("tls", Status::Ok, "handshake and certificate verified");
    }
    let status = response.status().as_u16();
    let date = response
        .headers()
        .get(ureq::http::header::DATE)
        .and_then(|d| d.to_str().ok())
        .map(str::to_owned);
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_PROBE_ANSWER_BYTES)
        .read_to_vec();
    report.add(
        "http",
        Status::Ok,
        format!("POST {url}: HTTP {status} in {elapsed} ms"),
    );
    check_clock(report, date.as_deref(), received);

    // An answer that could not be read whole is not an empty one: said as it is, not parsed.
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            let why = match e {
                ureq::Error::BodyExceedsLimit(limit) => format!(
                    "the answer is too large: larger than {limit} bytes, which no answer of \
                     the service is (a proxy's page, or not the service)"
                ),
                e => format!("the answer could not be read whole: {e}"),
            };
            report.add("signature", Status::Warn, why);
            return;
        }
    };

    match signed {
        None => report.add(
            "signature",
            Status::Skip,
            "no usable credentials to sign a probe with",
        ),
        Some(Err(e)) => report.add("signature", Status::Fail, format!("cannot sign: {e}")),
        Some(Ok(_)) => match QueryBySession::parse_response(status, &body).map_err(|mut e| {
            let values: Vec<&str> = redacted.iter().map(String::as_str).collect();
            e.redact(&values);
            e
        }) {
            Ok(_) => report.add("signature", Status::Ok, "a signed query was accepted"),
            Err(ResponseError::Api(e)) if e.code == 404 => report.add(
                "signature",
                Status::Ok,
                "accepted: a signed query for a made-up session got 404 (no such session)",
            ),
            Err(ResponseError::Api(e)) if e.code == 414 => {
                let message = e.message.clone().unwrap_or_default();
                let why = if message.contains("header") {
                    "the key, the secret or the clock is wrong (the service does not say which)"
                } else {
                    "the service refused a parameter, not necessarily the signature"
                };
                let status = if message.contains("header") {
                    Status::Fail
                } else {
                    Status::Warn
                };
                report.add(
                    "signature",
                    status,
                    format!("a signed query got 414 ({message}): {why}"),
                );
            }
            Err(e) => report.add("signature", Status::Warn, format!("a signed query: {e}")),
        },
    }
}

fn check_clock(report: &mut Report, date: Option<&str>, received: SystemTime) {
    let Some(date) = date else {
        report.add(
            "clock",
            Status::Warn,
            "the answer has no Date header: the clock cannot be checked from here",
        );
        return;
    };
    let Ok(service) = httpdate::parse_http_date(date) else {
        report.add(
            "clock",
            Status::Warn,
            format!("unreadable Date header {date:?}"),
        );
        return;
    };
    let skew: i64 = match service.duration_since(received) {
        Ok(ahead) => i64::try_from(ahead.as_secs()).unwrap_or(i64::MAX),
        Err(behind) => -i64::try_from(behind.duration().as_secs()).unwrap_or(i64::MAX),
    };
    report.clock_skew_secs = Some(skew);
    let direction = if skew >= 0 { "ahead of" } else { "behind" };
    let off = skew.unsigned_abs();
    let text = if off == 0 {
        format!("the service's clock agrees with this machine's to the second (Date: {date})")
    } else {
        format!("the service's clock is {off} s {direction} this machine's (Date: {date})")
    };
    if off > REQUEST_WINDOW_SECS {
        report.add(
            "clock",
            Status::Fail,
            format!(
                "{text}: outside the {REQUEST_WINDOW_SECS} s window, every signature is refused \
                 (414); sync this machine's clock (NTP)"
            ),
        );
    } else if off > WARN_SKEW_SECS {
        report.add(
            "clock",
            Status::Warn,
            format!("{text}: inside the {REQUEST_WINDOW_SECS} s window, but sync the clock (NTP)"),
        );
    } else {
        report.add("clock", Status::Ok, text);
    }
}

/// Captured headers: `Name: value` lines, or a whole HTTP request.
fn parse_captured(bytes: &[u8]) -> Result<Vec<(String, String)>, Failure> {
    let text = String::from_utf8_lossy(bytes);
    let first = text.lines().next().unwrap_or_default();
    if first.contains(" HTTP/1.") {
        return split_request(bytes)
            .map(|(headers, _)| headers)
            .map_err(|e| Failure::usage_local(format!("--captured-headers: {e}")));
    }
    Ok(text
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            let name = name.trim();
            (!name.is_empty() && !name.contains(' '))
                .then(|| (name.to_owned(), value.trim().to_owned()))
        })
        .collect())
}

/// Which rule the captured signature headers break.
fn check_captured(report: &mut Report, headers: &[(String, String)], creds: Option<&Credentials>) {
    let mut problems: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut get = |name: &'static str| -> Option<String> {
        let mut found = headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
        let first = found.next().map(|(_, v)| v.clone());
        if found.next().is_some() {
            problems.push(format!("{name} is sent more than once"));
        }
        if first.is_none() {
            problems.push(format!("{name} is missing"));
        }
        first
    };
    let (key, nonce, cur_time, sum) =
        (get("AppKey"), get("Nonce"), get("CurTime"), get("CheckSum"));

    if let (Some(key), Some(creds)) = (&key, creds)
        && key != creds.app_key()
    {
        problems.push(format!(
            "AppKey {key} is not your credentials' ({})",
            creds.app_key()
        ));
    }
    if let Some(nonce) = &nonce {
        let length = nonce.chars().count();
        if length > MAX_NONCE_LEN {
            problems.push(format!(
                "Nonce has {length} characters, over {MAX_NONCE_LEN} (a nonce that grows on each \
                 call, as in the PHP sample?)"
            ));
        } else if !nonce.bytes().all(|b| b.is_ascii_alphanumeric()) {
            notes.push("Nonce holds punctuation, which has caused intermittent 414s".to_owned());
        }
    }
    if let Some(t) = &cur_time {
        match t.parse::<u64>() {
            Err(_) => problems.push(format!("CurTime {t:?} is not a decimal number")),
            Ok(_) if t.len() > 1 && t.starts_with('0') => {
                problems.push(format!("CurTime {t:?} has leading zeros"));
            }
            Ok(v) if v >= 100_000_000_000 => problems.push(format!(
                "CurTime {t} is in milliseconds: requests are signed in seconds ({})",
                v / 1000
            )),
            Ok(v) => {
                let now = unix_seconds_now();
                let off = v.abs_diff(now);
                if off > REQUEST_WINDOW_SECS {
                    let when = if v < now { "old" } else { "in the future" };
                    problems.push(format!(
                        "CurTime is {off} s {when} by this machine's clock, outside the \
                         {REQUEST_WINDOW_SECS} s window (cached, or a clock off?)"
                    ));
                }
            }
        }
    }
    if let Some(sum) = &sum {
        if sum.bytes().any(|b| b.is_ascii_uppercase()) {
            problems.push("CheckSum is in uppercase hex: it must be lowercase".to_owned());
        }
        let lower = sum.to_ascii_lowercase();
        if lower.len() == 32 && lower.bytes().all(|b| b.is_ascii_hexdigit()) && creds.is_none() {
            problems.push("CheckSum has 32 hex characters: an MD5, not a SHA1".to_owned());
        } else if lower.len() != 40 && lower.len() != 32 {
            problems.push(format!(
                "CheckSum has {} characters, not the 40 of a hex SHA1",
                sum.chars().count()
            ));
        }
        match (creds, &nonce, &cur_time) {
            (Some(creds), Some(nonce), Some(cur_time)) => {
                match how_computed(creds.expose_secret(), nonce, cur_time, &lower) {
                    Some(Computed::Right) => {
                        notes.push("CheckSum = SHA1(AppSecret + Nonce + CurTime): right".into());
                    }
                    Some(Computed::Wrong(how)) => problems.push(format!(
                        "CheckSum is {how}: it must be lowercase hex SHA1(AppSecret + Nonce + CurTime)"
                    )),
                    None => problems.push(
                        "CheckSum matches no known computation with your secret: another \
                         secret, or the headers were changed after signing"
                            .to_owned(),
                    ),
                }
            }
            (None, _, _) => {
                notes.push("no credentials: the CheckSum itself was not checked".into())
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        let detail = if notes.is_empty() {
            "the captured headers break no rule".to_owned()
        } else {
            format!("the captured headers break no rule; {}", notes.join("; "))
        };
        report.add("captured", Status::Ok, detail);
    } else {
        for problem in problems {
            report.add("captured", Status::Fail, problem);
        }
        for note in notes {
            report.add("captured", Status::Warn, note);
        }
    }
}

enum Computed {
    Right,
    Wrong(&'static str),
}

/// Which computation of the CheckSum gives `sum` (lowercase): the right one, or a known mistake.
fn how_computed(secret: &str, nonce: &str, cur_time: &str, sum: &str) -> Option<Computed> {
    let (s, n, t) = (secret, nonce, cur_time);
    if checksum(s, n, t) == sum {
        return Some(Computed::Right);
    }
    let orders: [(&'static str, [&str; 3]); 5] = [
        ("SHA1(Nonce + AppSecret + CurTime)", [n, s, t]),
        ("SHA1(AppSecret + CurTime + Nonce)", [s, t, n]),
        ("SHA1(CurTime + AppSecret + Nonce)", [t, s, n]),
        ("SHA1(Nonce + CurTime + AppSecret)", [n, t, s]),
        ("SHA1(CurTime + Nonce + AppSecret)", [t, n, s]),
    ];
    for (how, [a, b, c]) in orders {
        if checksum(a, b, c) == sum {
            return Some(Computed::Wrong(how));
        }
    }
    if body_md5(format!("{s}{n}{t}").as_bytes()) == sum {
        return Some(Computed::Wrong(
            "MD5(AppSecret + Nonce + CurTime), not a SHA1",
        ));
    }
    if checksum(s.trim(), n, t) == sum || checksum(s, n.trim(), t) == sum {
        return Some(Computed::Wrong(
            "computed with whitespace trimmed from a value",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_mistakes_are_recognised() {
        let (s, n, t) = ("xxxxxxxx", "123456", "1440570500");
        let right = checksum(s, n, t).to_string();
        assert!(matches!(
            how_computed(s, n, t, &right),
            Some(Computed::Right)
        ));
        let swapped = checksum(n, s, t).to_string();
        assert!(matches!(
            how_computed(s, n, t, &swapped),
            Some(Computed::Wrong("SHA1(Nonce + AppSecret + CurTime)"))
        ));
        let md5 = body_md5(b"xxxxxxxx1234561440570500");
        assert!(
            matches!(how_computed(s, n, t, &md5), Some(Computed::Wrong(w)) if w.starts_with("MD5"))
        );
        assert!(how_computed(s, n, t, &"0".repeat(40)).is_none());
    }

    #[test]
    fn captured_headers_are_read_from_lines_or_a_request() {
        let lines = b"AppKey: k\nNonce:  n \n\nnot a header\nCurTime: 1\n";
        let got = parse_captured(lines).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1], ("Nonce".to_owned(), "n".to_owned()));
        let request = b"POST /x HTTP/1.1\r\nAppKey: k\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(parse_captured(request).unwrap()[0].0, "AppKey");
    }
}
