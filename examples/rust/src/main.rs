//! The end-to-end demo: sign, place a call and a conference, query both, receive both call-end
//! callbacks, verify them, and print what happened and what it cost.
//!
//! By default everything runs against the embedded local mock, so the demo needs no account and
//! costs nothing. `--real` sends the same requests to the real API with the credentials in
//! `YUNXIN_APP_KEY` / `YUNXIN_APP_SECRET`: real calls that ring real phones and are billed.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use yunxin_ecp::blocking::Client;
use yunxin_ecp::{
    CallRecord, CallbackEvent, CallbackVerifier, Cost, Credentials, Error, QueryBySession, Rate,
    SessionKind, StartCall, StartConf,
};
use yunxin_ecp_mock::{MockConfig, MockServer, Outcome};

/// The whole ECP flow (sign, place a call and a conference, query both, receive and verify the
/// call-end callbacks, sum the cost), on a local mock of the API: no account, nothing billed.
#[derive(Parser, Debug)]
#[command(
    name = "yunxin-ecp-demo",
    version,
    after_help = "Examples:\n  \
        cargo run --release -p yunxin-ecp-demo\n  \
        YUNXIN_APP_KEY=... YUNXIN_APP_SECRET=... cargo run --release -p yunxin-ecp-demo -- \\\n      \
        --real --accid ACCID --caller 138... --callee 137... --conf 136...,137..."
)]
struct Args {
    /// Use the real API (api.netease.im) with YUNXIN_APP_KEY / YUNXIN_APP_SECRET. This
    /// places real, billed calls; their callbacks go to the URL YunXin staff configured.
    #[arg(long)]
    real: bool,
    /// The accid that places the calls (with --real).
    #[arg(long, requires = "real", default_value = "liuxuanlin")]
    accid: String,
    /// The number rung first, in both the call and the conference (with --real).
    #[arg(long, requires = "real", default_value = "13888888888")]
    caller: String,
    /// The number the call connects the caller to (with --real).
    #[arg(long, requires = "real", default_value = "13777777777")]
    callee: String,
    /// The conference's other members, comma-separated: 2 to 7 numbers (with --real).
    #[arg(
        long,
        requires = "real",
        value_delimiter = ',',
        default_value = "13666666666,13777777777"
    )]
    conf: Vec<String>,
}

/// The numbers the demo dials.
struct Plan {
    accid: String,
    caller: String,
    callee: String,
    conference: Vec<String>,
}

/// The outcomes the demo sets on the mock, by callee: on the real API, people decide.
const ANSWERED_SECS: u64 = 61;
const ANSWERS: &str = "13777777777";
const DOES_NOT_ANSWER: &str = "13666666666";
const NO_ANSWER_CAUSE: &str = "NO_USER_RESPONSE";

fn main() -> ExitCode {
    let args = Args::parse();
    let plan = Plan {
        accid: args.accid,
        caller: args.caller,
        callee: args.callee,
        conference: args.conf,
    };
    let result = if args.real {
        run_on_real_api(&plan)
    } else {
        run_on_mock(&plan)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_on_mock(plan: &Plan) -> Result<(), Box<dyn std::error::Error>> {
    let began = Instant::now();
    // The app's web server, which YunXin POSTs call-end callbacks to: here a second mock,
    // whose inbox records what arrives.
    let receiver = MockServer::start(MockConfig::default())?;
    let mock = MockServer::start(MockConfig {
        callback_url: Some(receiver.inbox_url()),
        call_duration: Duration::from_millis(50),
        ..MockConfig::default()
    })?;
    // The simulated outcomes, decided by the (first) callee.
    mock.set_outcome(ANSWERS, Outcome::answered(ANSWERED_SECS));
    mock.set_outcome(DOES_NOT_ANSWER, Outcome::no_answer(NO_ANSWER_CAUSE));
    let creds = mock.config().apps[0].clone();

    println!(
        "yunxin-ecp demo: the whole ECP flow on a local mock of the API (no account, nothing billed)"
    );
    println!("  mock ECP API       {}", mock.base_url());
    println!("  app                {creds}: the official samples' app, known to the mock");
    println!(
        "  your web server    {} (a second mock, whose inbox receives the call-end callbacks)",
        receiver.inbox_url()
    );
    println!("  outcomes the demo sets on the mock (on the real API, the people called decide):");
    println!("    - {ANSWERS} answers and talks for {ANSWERED_SECS} s");
    println!("    - {DOES_NOT_ANSWER} does not pick up (hang cause {NO_ANSWER_CAUSE})");

    let client = Client::builder(creds.clone())
        .base_url(mock.base_url())
        .build()?;
    let sessions = place_and_query(&client, plan)?;

    println!("\n4. receive and verify the call-end callbacks the mock POSTs to your web server");
    let received = receiver.wait_for_inbox(sessions.len(), Duration::from_secs(10));
    let verifier = CallbackVerifier::new(creds);
    let mut records = Vec::new();
    for callback in &received {
        match verifier.verify_and_parse_now(&callback.body, &callback.headers)? {
            CallbackEvent::CallEnd(record) => records.push(*record),
            CallbackEvent::Other { event_type, .. } => {
                println!("   (ignored event type {event_type:?})")
            }
        }
    }
    println!(
        "   {} of {} callbacks received and verified (MD5 of the raw body, CheckSum, CurTime)",
        records.len(),
        sessions.len()
    );
    if let Some(first) = received.first() {
        let mut body = first.body.clone();
        body.push(b' ');
        if let Err(refusal) = verifier.verify_now(&body, &first.headers) {
            println!("   a tampered copy (one byte added to the body) is refused: {refusal}");
        }
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

    println!(
        "\n1. place a call (signed startcall.action): {} rings first, then {}; at most {} s",
        call.caller(),
        call.callee(),
        call.max_dur()
    );
    let call_session = client.start_call(&call)?.session;
    println!("   session {call_session}");
    println!(
        "2. place a conference (startconf.action): host {}, at most {} s, callees:",
        conf.caller(),
        conf.max_dur()
    );
    for callee in conf.callees() {
        println!("     - {callee}");
    }
    let conf_session = client.start_conf(&conf)?.session;
    println!("   session {conf_session}");
    println!("3. query both records (queryBySession.action)");
    for (session, kind) in [
        (&call_session, SessionKind::Call),
        (&conf_session, SessionKind::Conference),
    ] {
        let record = client.query(&QueryBySession::new(session.as_str(), kind)?)?;
        println!(
            "   {:<11} {session}: status {}, lasted {} s",
            kind_name(kind == SessionKind::Conference),
            record.status.as_deref().unwrap_or("?"),
            record.duration_sec.unwrap_or(0)
        );
    }
    println!(
        "   (status SUCCESS means the service handled the request, not that anyone answered: \
         answered means durationSec > 0)"
    );
    Ok(vec![call_session, conf_session])
}

fn kind_name(conference: bool) -> &'static str {
    if conference { "conference" } else { "call" }
}

/// `0.24 yuan (24 fen)`.
fn money(cost: Cost) -> String {
    format!("{cost} yuan ({} fen)", cost.fen)
}

/// Why a record was not answered, in the demo's terms: the outcome it set on the mock.
fn why_not_answered(record: &CallRecord) -> String {
    // The mock decides by the callee: a conference's first callee, else the call's.
    let decisive = record
        .members
        .as_ref()
        .and_then(|m| m.get(1))
        .or(record.callee.as_ref());
    let causes: Vec<&str> = record
        .legs
        .iter()
        .filter_map(|l| l.hang_cause.as_deref())
        .collect();
    match decisive {
        Some(number) if number == DOES_NOT_ANSWER => format!(
            "not answered because the demo set that outcome: it told the mock that {number}{} \
             does not pick up (hang cause {NO_ANSWER_CAUSE}); nothing is billed",
            if record.is_conference() {
                ", the conference's first callee,"
            } else {
                ""
            }
        ),
        _ if !causes.is_empty() => format!(
            "not answered: durationSec is 0 (hang causes: {}); nothing is billed",
            causes.join(", ")
        ),
        _ => "not answered: durationSec is 0; nothing is billed".to_owned(),
    }
}

fn print_summary(records: &[CallRecord]) {
    let rate = Rate::default();
    println!(
        "\nsummary (billing: every started minute costs {} fen; 100 fen = 1 yuan)",
        rate.fen_per_minute
    );
    let (mut minutes, mut fen) = (0, 0);
    for r in records {
        let cost = r.cost(rate);
        println!(
            "- {} {}",
            kind_name(r.is_conference()),
            r.session.as_deref().unwrap_or("?")
        );
        if r.answered() {
            println!("    answered, lasted {} s", r.duration_sec.unwrap_or(0));
        } else {
            println!("    {}", why_not_answered(r));
        }
        println!(
            "    billed {} started minute(s) x {} fen = {}",
            r.billed_minutes(),
            rate.fen_per_minute,
            money(cost)
        );
        match &r.members {
            Some(members) => {
                println!("    members:");
                for m in members {
                    println!("      - {m}");
                }
            }
            None => {
                println!("    legs:");
                for l in &r.legs {
                    println!(
                        "      - {}: {}",
                        l.endpoint.as_deref().unwrap_or("?"),
                        l.hang_cause.as_deref().unwrap_or("no hang cause given")
                    );
                }
            }
        }
        minutes += r.billed_minutes();
        fen += cost.fen;
    }
    println!("total: {minutes} billed minute(s), {}", money(Cost { fen }));
}
