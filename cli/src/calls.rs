//! `sign`, `call`, `conf`, `query` and `request`: the library's requests, from the terminal.

use serde::Serialize;
use serde_json::json;
use yunxin_ecp::billing::billed_minutes;
use yunxin_ecp::blocking::Client;
use yunxin_ecp::views::RecordView;
use yunxin_ecp::{
    ApiRequest, AuthHeaders, BaseUrl, CallRecord, EcpRequest, PreparedRequest, QueryBySession,
    Rate, SessionKind, StartCall, StartConf, Started, validate,
};

use crate::args::{CallArgs, ConfArgs, Global, QueryArgs, RequestArgs, SignArgs};
use crate::credentials;
use crate::output::{self, Failure, clip, escape, print_json, say};

/// The client the global options describe.
pub fn client(global: &Global) -> Result<Client, Failure> {
    let creds = credentials::require(global.credentials_file()?)?;
    let timeout = validate::wait_secs_f64("--timeout", global.timeout, false)?;
    Ok(Client::builder(creds)
        .base_url(&global.base_url()?)
        .timeout(timeout)
        .build()?)
}

/// The headers in the documentation's order, under their header names.
#[derive(Serialize)]
struct SignedHeaders<'a> {
    #[serde(rename = "AppKey")]
    app_key: &'a str,
    #[serde(rename = "Nonce")]
    nonce: &'a str,
    #[serde(rename = "CurTime")]
    cur_time: &'a str,
    #[serde(rename = "CheckSum")]
    checksum: &'a str,
}

pub fn sign(global: &Global, args: &SignArgs) -> Result<u8, Failure> {
    let creds = credentials::require(global.credentials_file()?)?;
    let auth = match (&args.nonce, args.cur_time) {
        (None, None) => creds.sign_now()?,
        (nonce, cur_time) => {
            let nonce = match nonce {
                Some(n) => n.clone(),
                None => {
                    yunxin_ecp::signing::generate_nonce(yunxin_ecp::signing::DEFAULT_NONCE_LEN)?
                }
            };
            let cur_time = cur_time.unwrap_or_else(yunxin_ecp::signing::unix_seconds_now);
            creds.sign(&nonce, cur_time)?
        }
    };
    if global.json {
        print_json(&SignedHeaders {
            app_key: &auth.app_key,
            nonce: &auth.nonce,
            cur_time: &auth.cur_time,
            checksum: &auth.checksum,
        });
    } else {
        for (name, value) in auth.pairs() {
            say!("{name}: {value}");
        }
    }
    Ok(output::exit(output::OK))
}

pub fn call(global: &Global, args: &CallArgs) -> Result<u8, Failure> {
    let request = StartCall::new(
        args.caller_acc.as_str(),
        args.caller.as_str(),
        args.callee.as_str(),
        args.max_dur,
    )?;
    if args.dry_run {
        return dry_run(global, &request, args.max_dur);
    }
    let started = client(global)?.start_call(&request)?;
    print_started(global, &started, SessionKind::Call);
    Ok(output::exit(output::OK))
}

pub fn conf(global: &Global, args: &ConfArgs) -> Result<u8, Failure> {
    let request = StartConf::new(
        args.caller_acc.as_str(),
        args.caller.as_str(),
        args.callees.iter().map(String::as_str),
        args.max_dur,
    )?;
    if args.dry_run {
        return dry_run(global, &request, args.max_dur);
    }
    let started = client(global)?.start_conf(&request)?;
    print_started(global, &started, SessionKind::Conference);
    Ok(output::exit(output::OK))
}

fn print_started(global: &Global, started: &Started, kind: SessionKind) {
    if global.json {
        print_json(started);
        return;
    }
    say!("placed: session {}", escape(&started.session));
    let flag = match kind {
        SessionKind::Call => "",
        SessionKind::Conference => " --conference",
    };
    say!(
        "record: yunxin-ecp query {}{flag}",
        escape(&started.session)
    );
}

/// The most a start may cost: `maxDur` seconds, every started minute billed.
#[derive(Serialize)]
struct WorstCase {
    max_dur_sec: u32,
    billed_minutes: u64,
    cost_fen: u64,
    cost_yuan: String,
    fen_per_minute: u64,
}

impl WorstCase {
    fn new(max_dur: u32) -> Self {
        let rate = Rate::default();
        let cost = rate.cost(u64::from(max_dur));
        WorstCase {
            max_dur_sec: max_dur,
            billed_minutes: billed_minutes(u64::from(max_dur)),
            cost_fen: cost.fen,
            cost_yuan: cost.to_string(),
            fen_per_minute: rate.fen_per_minute,
        }
    }
}

/// A prepared request as printed: the `CheckSum` replaced, since with its `Nonce` and
/// `CurTime` it would sign any request of the app for five minutes.
#[derive(Serialize)]
struct Shown<'a> {
    method: &'a str,
    url: &'a str,
    headers: Vec<(&'a str, String)>,
    body: &'a str,
}

/// Shows a request without the live signature.
fn redacted(prepared: &PreparedRequest) -> Shown<'_> {
    let headers = prepared
        .headers
        .iter()
        .map(|(name, value)| match *name {
            "CheckSum" => (*name, format!("<redacted, {} characters>", value.len())),
            _ => (*name, value.clone()),
        })
        .collect();
    Shown {
        method: prepared.method,
        url: &prepared.url,
        headers,
        body: &prepared.body,
    }
}

fn dry_run(global: &Global, request: &impl EcpRequest, max_dur: u32) -> Result<u8, Failure> {
    let creds = credentials::require(global.credentials_file()?)?;
    let base = BaseUrl::new(&global.base_url()?)?;
    let auth: AuthHeaders = creds.sign_now()?;
    let prepared = request.prepare(&base, &auth);
    let shown = redacted(&prepared);
    let worst = WorstCase::new(max_dur);
    if global.json {
        print_json(&json!({ "dry_run": true, "request": shown, "worst_case": worst }));
    } else {
        say!("{} {}", shown.method, escape(shown.url));
        for (name, value) in &shown.headers {
            say!("{name}: {}", escape(value));
        }
        say!();
        say!("{}", escape(shown.body));
        say!();
        say!(
            "worst case: maxDur {} s = {} started minute(s) x {}.{:02} yuan = {} yuan",
            worst.max_dur_sec,
            worst.billed_minutes,
            worst.fen_per_minute / 100,
            worst.fen_per_minute % 100,
            worst.cost_yuan
        );
        say!("not sent (--dry-run)");
    }
    Ok(output::exit(output::OK))
}

pub fn query(global: &Global, args: &QueryArgs) -> Result<u8, Failure> {
    let kind = if args.conference {
        SessionKind::Conference
    } else {
        SessionKind::Call
    };
    let request = QueryBySession::new(args.session.as_str(), kind)?;
    let record = client(global)?.query(&request)?;
    if global.json {
        print_json(&RecordView::new(&record));
    } else {
        print_record(&record);
    }
    Ok(output::exit(output::OK))
}

/// The record as aligned `name value` lines, every value escaped: the record is the service's
/// (or a callback sender's) text.
pub fn print_record(record: &CallRecord) {
    let line = |name: &str, value: &str| say!("{name:<10} {}", clip(&escape(value)));
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    line("session", &or_dash(&record.session));
    let kind = if record.is_conference() {
        "conference"
    } else {
        "call"
    };
    line("kind", kind);
    line("status", &or_dash(&record.status));
    let answered = match record.duration_sec {
        Some(d) if d > 0 => format!("yes, {d} s"),
        Some(_) => "no (durationSec 0)".to_owned(),
        None => "no (no durationSec)".to_owned(),
    };
    line("answered", &answered);
    line(
        "billed",
        &format!(
            "{} minute(s), {} yuan",
            record.billed_minutes(),
            record.cost(Rate::default())
        ),
    );
    line("account", &or_dash(&record.init_account));
    if let Some(members) = &record.members {
        line("members", &members.join(", "));
    } else {
        line("caller", &or_dash(&record.caller));
        line("callee", &or_dash(&record.callee));
    }
    if let Some(start) = &record.start_time {
        line("started", &format!("{start} (Beijing time)"));
    }
    for leg in &record.legs {
        let text = format!(
            "{} ended {} ({})",
            leg.endpoint.as_deref().unwrap_or("-"),
            leg.end_time.as_deref().unwrap_or("-"),
            leg.hang_cause.as_deref().unwrap_or("-")
        );
        line("leg", &text);
    }
}

pub fn request(global: &Global, args: &RequestArgs) -> Result<u8, Failure> {
    let request = ApiRequest::new(args.path.as_str(), args.params.iter().cloned())?
        .idempotent(args.idempotent);
    let answer = client(global)?.request(&request)?;
    print_json(&answer);
    Ok(output::exit(output::OK))
}
