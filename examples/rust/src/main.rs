//! The end-to-end demo: sign, place a call and a conference, query both, receive both call-end
//! callbacks, verify them, and print what happened and what it cost.
//!
//! By default everything runs against the embedded local mock, so the demo needs no account and
//! costs nothing. `--real` sends the same requests to the real API with the credentials in
//! `YUNXIN_APP_KEY` / `YUNXIN_APP_SECRET`: real calls that ring real phones and are billed.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use yunxin_ecp::blocking::Client;
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::{
    CallRecord, CallbackEvent, CallbackVerifier, Credentials, Error, QueryBySession, Rate,
    SessionKind, StartCall, StartConf,
};
use yunxin_ecp_mock::{MockConfig, MockServer, Outcome};

const USAGE: &str = "\
usage: yunxin-ecp-demo [--real --accid ACCID --caller NUMBER --callee NUMBER --conf NUMBER,NUMBER[,...]]

Without arguments: runs the whole flow on a local mock ECP server (no account, no cost).
--real     use the real API at https://api.netease.im with YUNXIN_APP_KEY / YUNXIN_APP_SECRET.
           This places real, billed calls; callbacks then go to the URL YunXin staff configured.";

/// The numbers the demo dials.
struct Plan {
    accid: String,
    caller: String,
    callee: String,
    conference: Vec<String>,
}

impl Plan {
    fn sample() -> Plan {
        Plan {
            accid: "liuxuanlin".into(),
            caller: "13888888888".into(),
            callee: "13777777777".into(),
            conference: vec!["13666666666".into(), "13777777777".into()],
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match parse_args(&args) {
        Ok(None) => run_on_mock(),
        Ok(Some(plan)) => run_on_real_api(&plan),
        Err(message) => {
            eprintln!("{message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `None`: the mock demo. `Some(plan)`: the real API with these numbers.
fn parse_args(args: &[String]) -> Result<Option<Plan>, String> {
    if args.is_empty() {
        return Ok(None);
    }
    let mut plan = Plan::sample();
    let mut real = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--real" => real = true,
            "--accid" => plan.accid = value()?,
            "--caller" => plan.caller = value()?,
            "--callee" => plan.callee = value()?,
            "--conf" => plan.conference = value()?.split(',').map(str::to_owned).collect(),
            "-h" | "--help" => return Err("yunxin-ecp-demo".into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !real {
        return Err("numbers are only used with --real".into());
    }
    Ok(Some(plan))
}

fn run_on_mock() -> Result<(), Box<dyn std::error::Error>> {
    let began = Instant::now();
    // The app's web server, which YunXin POSTs call-end callbacks to: here a second mock,
    // whose inbox records what arrives.
    let receiver = MockServer::start(MockConfig::default())?;
    let mock = MockServer::start(MockConfig {
        callback_url: Some(receiver.inbox_url()),
        call_duration: Duration::from_millis(50),
        ..MockConfig::default()
    })?;
    // The simulated outcomes, decided by the (first) callee: the call is answered and lasts
    // 61 s (two billed minutes); nobody picks up the conference.
    mock.set_outcome("13777777777", Outcome::answered(61));
    mock.set_outcome("13666666666", Outcome::no_answer("NO_USER_RESPONSE"));
    let creds = mock.config().apps[0].clone();

    println!(
        "yunxin-ecp demo on the local mock ECP server at {}",
        mock.base_url()
    );
    println!(
        "  app {}, callbacks received at {}",
        creds,
        receiver.inbox_url()
    );
    let client = Client::builder(creds.clone())
        .base_url(&mock.base_url())?
        .build()?;
    let sessions = place_and_query(&client, &Plan::sample())?;

    println!("\nwaiting for the call-end callbacks ...");
    let received = receiver.wait_for_inbox(sessions.len(), Duration::from_secs(10));
    let verifier = CallbackVerifier::new(creds);
    let mut records = Vec::new();
    for callback in &received {
        let headers = callback
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()));
        match verifier.verify_and_parse(&callback.body, headers, unix_millis_now())? {
            CallbackEvent::CallEnd(record) => records.push(*record),
            CallbackEvent::Other { event_type, .. } => {
                println!("  (ignored event type {event_type:?})")
            }
        }
    }
    println!(
        "  {} of {} callbacks received and verified (MD5 of the raw body, CheckSum, CurTime)",
        records.len(),
        sessions.len()
    );
    let tampered = received.first().map(|c| {
        let mut body = c.body.clone();
        body.extend_from_slice(b" ");
        let headers = c.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        verifier.verify(&body, headers, unix_millis_now())
    });
    if let Some(Err(refusal)) = tampered {
        println!("  a tampered copy is refused: {refusal}");
    }
    print_summary(&records);
    mock.stop();
    receiver.stop();
    if records.len() != sessions.len() {
        return Err(format!(
            "expected {} callbacks, got {}",
            sessions.len(),
            records.len()
        )
        .into());
    }
    println!("\ndone in {:.2} s", began.elapsed().as_secs_f64());
    Ok(())
}

fn run_on_real_api(plan: &Plan) -> Result<(), Box<dyn std::error::Error>> {
    let creds = Credentials::from_env()?;
    println!("yunxin-ecp demo on the REAL API (billed calls), app {creds}");
    let client = Client::builder(creds).build()?;
    let sessions = place_and_query(&client, plan)?;
    println!(
        "\n{} sessions placed. Call-end callbacks go to the URL configured for the app by YunXin \
         staff; verify them there with CallbackVerifier.",
        sessions.len()
    );
    Ok(())
}

/// Places the call and the conference, then queries both. Returns their sessions.
fn place_and_query(client: &Client, plan: &Plan) -> Result<Vec<String>, Error> {
    let call = StartCall::new(&plan.accid, &plan.caller, &plan.callee, 100)?;
    let conf = StartConf::new(&plan.accid, &plan.caller, plan.conference.clone(), 300)?;

    let call_session = client.start_call(&call)?.session;
    println!(
        "\nstart call        {} -> {} (maxDur 100 s): session {call_session}",
        call.caller(),
        call.callee()
    );
    let conf_session = client.start_conf(&conf)?.session;
    println!(
        "start conference  {} + {:?} (maxDur 300 s): session {conf_session}",
        conf.caller(),
        conf.callees()
    );
    for (session, kind) in [
        (&call_session, SessionKind::Call),
        (&conf_session, SessionKind::Conference),
    ] {
        let record = client.query(&QueryBySession::new(session.as_str(), kind)?)?;
        println!(
            "query {:<11} {session}: status {}, {} s",
            format!("{kind:?}").to_lowercase(),
            record.status.as_deref().unwrap_or("?"),
            record.duration_sec.unwrap_or(0)
        );
    }
    Ok(vec![call_session, conf_session])
}

fn print_summary(records: &[CallRecord]) {
    let rate = Rate::default();
    println!(
        "\n{:<38} {:<11} {:<9} {:>9} {:>7} {:>7}",
        "session", "kind", "answered", "duration", "billed", "cost"
    );
    let (mut minutes, mut fen) = (0, 0);
    for r in records {
        let kind = if r.is_conference() {
            "conference"
        } else {
            "call"
        };
        let who = match (&r.members, &r.legs[..]) {
            (Some(members), _) => members.join(", "),
            (None, legs) => legs
                .iter()
                .map(|l| {
                    format!(
                        "{} {}",
                        l.endpoint.as_deref().unwrap_or("?"),
                        l.hang_cause.as_deref().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        };
        println!(
            "{:<38} {:<11} {:<9} {:>7} s {:>3} min {:>7}",
            r.session.as_deref().unwrap_or("?"),
            kind,
            if r.answered() { "yes" } else { "no" },
            r.duration_sec.unwrap_or(0),
            r.billed_minutes(),
            r.cost(rate).to_string()
        );
        println!("    {who}");
        minutes += r.billed_minutes();
        fen += r.cost(rate).fen;
    }
    println!(
        "total: {minutes} billed minutes, {} yuan at {} fen per started minute",
        yunxin_ecp::Cost { fen },
        rate.fen_per_minute
    );
}
