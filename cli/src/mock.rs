//! `mock`: the library's mock server in the foreground, talkative. It prints the app it accepts,
//! one line per request with the verdict and why, so that an integration's 414 can be read off
//! the terminal instead of guessed at, and one line per callback delivery attempt with what the
//! receiver answered (the mock's [`console`] prints those, as `yunxin-ecp-mock` does).
//!
//! Lines come from polling [`MockServer::requests`]; every value shown goes through
//! [`mask_numbers`], since a terminal (or its scrollback, or a CI log) is no place for phone
//! numbers, and every line through [`console`], since a client's line feed or escape sequence
//! must not print a line or a screen of its own.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use yunxin_ecp::mask::mask_numbers;
use yunxin_ecp::server::Params;
use yunxin_ecp::{Endpoint, codes};
use yunxin_ecp_mock::{
    MockConfig, MockServer, RecordedRequest, SAMPLE_ACCIDS, SAMPLE_APP_KEY, SAMPLE_APP_SECRET,
    console,
};

use crate::args::{Global, MockArgs};
use crate::credentials;
use crate::output::{self, Failure};

/// How often the request log is read.
const POLL: Duration = Duration::from_millis(100);

pub fn run(global: &Global, args: &MockArgs) -> Result<u8, Failure> {
    let mut config = MockConfig {
        callback_url: args.callback_url.clone(),
        duplicate_callbacks: args.duplicate_callbacks,
        callback_retries: args.callback_retries,
        ecp_enabled: !args.ecp_disabled,
        clock_skew: args.clock_skew_secs,
        // Deliveries are printed as they happen, by the mock itself (see `console`).
        console: Some(console::Console::stdout(global.json)),
        ..MockConfig::default()
    };
    if let Some(ms) = args.call_duration_ms {
        config.call_duration = Duration::from_millis(ms);
    }
    let own_app = match credentials::load(global.credentials_file()?)? {
        Some(raw) => {
            config.apps = vec![raw.credentials()?];
            true
        }
        None => false,
    };
    if !args.accids.is_empty() {
        config.accids = args.accids.clone();
    }
    let accids = config.accids.clone();
    let app_key = config
        .apps
        .first()
        .map(|c| c.app_key().to_owned())
        .unwrap_or_default();
    let skew = config.clock_skew;
    let server = MockServer::start_on((args.host.as_str(), args.port), config).map_err(|e| {
        Failure::Unreachable(format!("cannot listen on {}:{}: {e}", args.host, args.port))
    })?;

    let mut out = std::io::stdout().lock();
    if global.json {
        let line = json!({
            "event": "listening",
            "url": server.base_url(),
            "app_key": app_key,
            "app_secret": if own_app { None } else { Some(SAMPLE_APP_SECRET) },
            "accids": accids,
            "clock_skew_secs": skew,
        });
        let _ = writeln!(out, "{line}");
    } else {
        let _ = writeln!(out, "listening on {}", server.base_url());
        if own_app {
            let _ = writeln!(
                out,
                "app key:   {app_key} (secret from your credentials, not shown)"
            );
        } else {
            let _ = writeln!(out, "app key:   {SAMPLE_APP_KEY} (the official samples')");
            let _ = writeln!(out, "secret:    {SAMPLE_APP_SECRET}");
        }
        let _ = writeln!(out, "accids:    {}", accids.join(", "));
        if skew != 0 {
            let _ = writeln!(out, "clock:     shifted by {skew} s");
        }
        let _ = writeln!(
            out,
            "try:       YUNXIN_APP_KEY={} YUNXIN_APP_SECRET={} yunxin-ecp --base-url {} call {} 13888888888 13777777777 --max-dur 60",
            if own_app { "..." } else { SAMPLE_APP_KEY },
            if own_app { "..." } else { SAMPLE_APP_SECRET },
            server.base_url(),
            accids.first().map_or(SAMPLE_ACCIDS[0], String::as_str),
        );
    }
    let _ = out.flush();
    drop(out);

    let stop = Arc::new(AtomicBool::new(false));
    if args.exit_on_stdin_eof {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut sink = [0u8; 1024];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            stop.store(true, Ordering::Release);
        });
    }
    let mut last_seq = 0;
    loop {
        let stopping = stop.load(Ordering::Acquire);
        for request in server.requests() {
            if request.seq <= last_seq {
                continue;
            }
            last_seq = request.seq;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", console_line(&request, &accids, global.json));
            let _ = out.flush();
        }
        if stopping {
            break;
        }
        std::thread::sleep(POLL);
    }
    server.stop();
    Ok(output::exit(output::OK))
}

/// What the mock made of a request: `accepted`, `refused`, `not found`...
fn verdict(request: &RecordedRequest) -> &'static str {
    match (request.endpoint, request.http_status, request.code) {
        (None, _, _) => "not an ECP endpoint",
        (_, None, _) => "reset (fault)",
        (_, Some(405), _) => "refused: only POST",
        (_, _, Some(200)) => "accepted",
        (_, _, Some(_)) => "refused",
        (_, Some(_), None) => "no JSON answer (fault)",
    }
}

/// Why a request was refused, as precisely as the service's answer allows: the signature's
/// refusal, the parameter the core's rules reject, or the code's meaning.
fn reason(request: &RecordedRequest, accids: &[String]) -> Option<String> {
    if let Some(refusal) = &request.refusal {
        return Some(format!("bad http header: {refusal}"));
    }
    let code = request.code.filter(|c| *c != 200)?;
    if code != 414 {
        return Some(format!("code {code}: {}", codes::meaning(code)));
    }
    let params = Params::parse(&request.query, request.body.as_bytes());
    let field = match request.endpoint? {
        Endpoint::StartCall => params.start_call().err().map(|e| e.field),
        Endpoint::StartConf => params.start_conf().err().map(|e| e.field),
        Endpoint::QueryBySession => params.query().err().map(|e| e.field),
        Endpoint::Api { .. } => None,
    };
    let field = field.or_else(|| {
        let acc = params.get("callerAcc")?;
        (!accids.iter().any(|a| a == acc)).then_some("callerAcc")
    });
    Some(match field {
        Some(field) => format!("bad param '{field}'"),
        None => format!("code 414: {}", codes::meaning(414)),
    })
}

/// A parameter's value as shown: phone numbers masked, except in a session id, which holds
/// no number and is needed whole to query it.
fn shown(name: &str, value: &str) -> String {
    if name == "session" {
        value.to_owned()
    } else {
        mask_numbers(value).into_owned()
    }
}

/// The request's form parameters, `name=value`.
fn params_text(request: &RecordedRequest) -> String {
    let params = Params::parse(&request.query, request.body.as_bytes());
    params
        .pairs()
        .iter()
        .map(|(name, value)| format!("{name}={}", shown(name, value)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What is printed for a request: one line, whatever its path and parameters hold (see
/// [`yunxin_ecp_mock::console`]).
fn console_line(request: &RecordedRequest, accids: &[String], json: bool) -> String {
    if json {
        console::json_line(&request_json(request, accids))
    } else {
        console::printable(&request_line(request, accids)).into_owned()
    }
}

fn request_line(request: &RecordedRequest, accids: &[String]) -> String {
    let mut line = format!(
        "#{} {} {} -> {}",
        request.seq,
        request.method,
        mask_numbers(&request.path),
        verdict(request)
    );
    if let Some(status) = request.http_status {
        line.push_str(&format!(" (HTTP {status}"));
        if let Some(code) = request.code {
            line.push_str(&format!(", code {code}"));
        }
        line.push(')');
    }
    if let Some(reason) = reason(request, accids) {
        line.push_str(&format!(": {reason}"));
    }
    if let Some(fault) = &request.fault {
        line.push_str(&format!(" [fault {}]", fault.kind()));
    }
    if let Some(session) = &request.session {
        line.push_str(&format!(" session={session}"));
    }
    let params = params_text(request);
    if !params.is_empty() {
        line.push_str(&format!(" | {params}"));
    }
    line
}

fn request_json(request: &RecordedRequest, accids: &[String]) -> serde_json::Value {
    let params = Params::parse(&request.query, request.body.as_bytes());
    let params: serde_json::Map<String, serde_json::Value> = params
        .pairs()
        .iter()
        .map(|(n, v)| (n.clone(), shown(n, v).into()))
        .collect();
    json!({
        "event": "request",
        "seq": request.seq,
        "method": request.method,
        "path": mask_numbers(&request.path),
        "endpoint": request.endpoint,
        "verdict": verdict(request),
        "http_status": request.http_status,
        "code": request.code,
        "reason": reason(request, accids),
        "refusal": request.refusal,
        "fault": request.fault.as_ref().map(|f| f.kind()),
        "session": request.session,
        "params": params,
    })
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    use super::*;

    /// An unsigned start whose callee forges a line of its own and clears the screen.
    #[test]
    fn a_request_prints_as_one_line_without_control_bytes() {
        let server = MockServer::start(MockConfig::default()).unwrap();
        let body = "callerAcc=liuxuanlin&caller=13888888888&maxDur=60\
                    &callee=1%0A%231%20FAKE%20-%3E%20accepted%1B%5B2J%1B%5D0%3Bpwned%07%C2%9B%E2%80%AE";
        let raw = format!(
            "POST /call/ecp/startcall.action HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(raw.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let accids = vec!["liuxuanlin".to_owned()];
        for json in [false, true] {
            let printed = format!("{}\n", console_line(&requests[0], &accids, json));
            assert_eq!(printed.lines().count(), 1, "{printed}");
            assert!(
                !printed.trim_end_matches('\n').chars().any(|c| c.is_control()
                    || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
                "{printed:?}"
            );
            assert!(
                printed.starts_with(if json { "{" } else { "#1 POST " }),
                "{printed}"
            );
            assert_eq!(
                printed.matches("#1 ").count(),
                usize::from(!json) + 1,
                "{printed}"
            );
        }
        let line = console_line(&requests[0], &accids, false);
        assert!(line.contains("refused"), "{line}");
        assert!(
            line.contains("\\u{a}#1 FAKE -> accepted\\u{1b}[2J"),
            "{line}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&console_line(&requests[0], &accids, true)).unwrap();
        assert_eq!(json["verdict"], "refused");
        assert!(
            json["params"]["callee"]
                .as_str()
                .unwrap()
                .ends_with("\n#1 FAKE -> accepted\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}\u{202e}")
        );
    }
}
