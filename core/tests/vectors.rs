//! Runs every golden vector of `tests/vectors/*.json` through the core crate. The same files are
//! run by the C, Python, PHP and C# suites.

use serde_json::{Value, json};
use yunxin_ecp::callback::parse_callback;
use yunxin_ecp::server::{Params, verify_request};
use yunxin_ecp::{
    BaseUrl, CallRecord, CallbackError, CallbackEvent, CallbackVerifier, Credentials, EcpRequest,
    Endpoint, PreparedRequest, QueryBySession, Rate, ResponseError, SessionKind, StartCall,
    StartConf, TimeCheck, ValidationError, checksum,
};

fn load(name: &str) -> Value {
    let path = format!("{}/../tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .expect("header list")
        .iter()
        .map(|p| (s(&p[0]).to_owned(), s(&p[1]).to_owned()))
        .collect()
}

fn error_json(e: &ValidationError) -> Value {
    let mut v = json!({ "field": e.field, "rule": e.rule.code() });
    if let Some(i) = e.index {
        v["index"] = json!(i);
    }
    json!({ "error": v })
}

/// Runs `check` over every case, reporting all failures at once.
fn run(cases: &Value, mut check: impl FnMut(&Value) -> Result<(), String>) -> usize {
    let cases = cases.as_array().expect("case list");
    assert!(!cases.is_empty(), "no cases");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| check(c).err().map(|e| format!("{}: {e}", c["name"])))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
    cases.len()
}

fn same(got: Value, want: &Value) -> Result<(), String> {
    if &got == want {
        Ok(())
    } else {
        Err(format!("got {got}, want {want}"))
    }
}

#[test]
fn signing_vectors() {
    let v = load("signing.json");
    run(&v["sign"], |c| {
        let creds =
            Credentials::new(s(&c["app_key"]), s(&c["secret"])).map_err(|e| e.to_string())?;
        let got = match creds.sign(s(&c["nonce"]), c["cur_time"].as_u64().unwrap()) {
            Ok(h) => json!({ "headers": h.pairs() }),
            Err(e) => error_json(&e),
        };
        same(got, &c["expect"])
    });
    run(&v["credentials"], |c| {
        let got = match Credentials::new(s(&c["app_key"]), s(&c["secret"])) {
            Ok(_) => json!("ok"),
            Err(e) => error_json(&e),
        };
        same(got, &c["expect"])
    });
    for c in v["checksum"].as_array().unwrap() {
        let got = checksum(s(&c["secret"]), s(&c["nonce"]), s(&c["cur_time"]));
        assert_eq!(got, s(&c["checksum"]));
    }
}

fn build_request(
    c: &Value,
    base: &BaseUrl,
    creds: &Credentials,
    v: &Value,
) -> Result<PreparedRequest, ValidationError> {
    let p = &c["params"];
    let auth = creds.sign(s(&v["nonce"]), v["cur_time"].as_u64().unwrap())?;
    let dur = |p: &Value| u32::try_from(p["max_dur"].as_u64().unwrap()).unwrap();
    Ok(match s(&c["request"]) {
        "start_call" => StartCall::new(
            s(&p["caller_acc"]),
            s(&p["caller"]),
            s(&p["callee"]),
            dur(p),
        )?
        .prepare(base, &auth),
        "start_conf" => {
            let callees = p["callees"].as_array().unwrap().iter().map(s);
            StartConf::new(s(&p["caller_acc"]), s(&p["caller"]), callees, dur(p))?
                .prepare(base, &auth)
        }
        "query" => {
            let kind = if s(&p["kind"]) == "call" {
                SessionKind::Call
            } else {
                SessionKind::Conference
            };
            QueryBySession::new(s(&p["session"]), kind)?.prepare(base, &auth)
        }
        other => panic!("unknown request {other}"),
    })
}

#[test]
fn request_vectors() {
    let v = load("requests.json");
    let creds = Credentials::new(s(&v["app_key"]), s(&v["secret"])).unwrap();
    run(&v["cases"], |c| {
        let got = c["base_url"]
            .as_str()
            .map_or_else(|| Ok(BaseUrl::default()), BaseUrl::new)
            .and_then(|base| build_request(c, &base, &creds, &v));
        let got = match got {
            Ok(r) => {
                json!({ "method": r.method, "url": r.url, "headers": r.headers, "body": r.body })
            }
            Err(e) => error_json(&e),
        };
        same(got, &c["expect"])
    });
}

fn record_json(r: &CallRecord) -> Value {
    json!({
        "session": r.session, "duration_sec": r.duration_sec, "answered": r.answered(),
        "billed_minutes": r.billed_minutes(), "cost_fen": r.cost(Rate::default()).fen,
        "legs": r.legs.len(), "members": r.members,
    })
}

fn response_error_json(e: &ResponseError) -> Value {
    match e {
        ResponseError::Api(a) => json!({ "error": {
            "kind": "api", "code": a.code, "message": a.message, "retry": a.retry_advice().code() } }),
        ResponseError::Protocol(p) => json!({ "error": {
            "kind": "protocol", "protocol": p.kind.code(), "retry": p.retry_advice().code() } }),
    }
}

#[test]
fn response_vectors() {
    let v = load("responses.json");
    run(&v["cases"], |c| {
        let status = u16::try_from(c["http_status"].as_u64().unwrap()).unwrap();
        let body = s(&c["body"]).as_bytes();
        let got = match s(&c["endpoint"]) {
            "start_call" => {
                StartCall::parse_response(status, body).map(|r| json!({ "session": r.session }))
            }
            "start_conf" => {
                StartConf::parse_response(status, body).map(|r| json!({ "session": r.session }))
            }
            "query_by_session" => {
                QueryBySession::parse_response(status, body).map(|r| record_json(&r))
            }
            other => panic!("unknown endpoint {other}"),
        };
        let got = match got {
            Ok(ok) => json!({ "ok": ok }),
            Err(e) => {
                // Whatever failed, the message must say which endpoint answered.
                if !e.to_string().contains("/call/ecp/") {
                    return Err(format!("message names no endpoint: {e}"));
                }
                response_error_json(&e)
            }
        };
        same(got, &c["expect"])
    });
}

#[test]
fn callback_vectors() {
    let v = load("callbacks.json");
    run(&v["verify"], |c| {
        let creds = Credentials::new(s(&c["app_key"]), s(&c["secret"])).unwrap();
        let check = match c["tolerance_ms"].as_u64() {
            Some(ms) => TimeCheck::ToleranceMs(ms),
            None => TimeCheck::SkipInsecure,
        };
        let verifier = CallbackVerifier::new(creds).with_time_check(check);
        let got = verifier.verify(
            s(&c["body"]).as_bytes(),
            pairs(&c["headers"]),
            c["now_ms"].as_u64().unwrap(),
        );
        let got = got.map_or_else(|e: CallbackError| e.reason(), |()| "ok");
        if got != "ok"
            && got != "missing_header"
            && format!("{:?}", verifier).contains(s(&c["secret"]))
        {
            return Err("secret in Debug output".into());
        }
        same(json!(got), &c["expect"])
    });
    run(&v["parse"], |c| {
        let got = match parse_callback(s(&c["body"]).as_bytes()) {
            Ok(CallbackEvent::CallEnd(r)) => json!({
                "type": "call_end", "session": r.session, "init_account": r.init_account,
                "caller": r.caller, "callee": r.callee, "create_time_ms": r.create_time_ms,
                "start_time": r.start_time, "status": r.status, "duration_sec": r.duration_sec,
                "answered": r.answered(), "billed_minutes": r.billed_minutes(),
                "cost_fen": r.cost(Rate::default()).fen, "members": r.members,
                "hang_causes": r.legs.iter().map(|l| l.hang_cause.clone()).collect::<Vec<_>>(),
            }),
            Ok(CallbackEvent::Other { event_type, raw }) => {
                json!({ "type": "other", "event_type": event_type, "raw": raw })
            }
            Err(e) => json!({ "error": e.reason() }),
        };
        same(got, &c["expect"])
    });
}

#[test]
fn server_vectors() {
    let v = load("server.json");
    let creds = Credentials::new(s(&v["app_key"]), s(&v["secret"])).unwrap();
    let window = v["window_secs"].as_u64().unwrap();
    run(&v["cases"], |c| {
        let lookup = |key: &str| (key == creds.app_key()).then_some(&creds);
        if let Err(refusal) = verify_request(
            pairs(&c["headers"]),
            lookup,
            c["now_secs"].as_u64().unwrap(),
            window,
        ) {
            let reply = yunxin_ecp::server::reply::bad_http_header();
            return same(
                json!({ "reply": reply, "refusal": refusal.reason() }),
                &c["expect"],
            );
        }
        let params = Params::parse(s(&c["query"]), s(&c["body"]).as_bytes());
        let endpoint = Endpoint::from_path(s(&c["path"])).expect("known path");
        let got = match endpoint {
            Endpoint::StartCall => params.start_call().map(|r| json!({ "request": "start_call", "params": {
                "caller_acc": r.caller_acc(), "caller": r.caller(), "callee": r.callee(), "max_dur": r.max_dur() } })),
            Endpoint::StartConf => params.start_conf().map(|r| json!({ "request": "start_conf", "params": {
                "caller_acc": r.caller_acc(), "caller": r.caller(), "callees": r.callees(), "max_dur": r.max_dur() } })),
            Endpoint::QueryBySession => params.query().map(|r| json!({ "request": "query", "params": {
                "session": r.session(),
                "kind": if r.kind() == SessionKind::Call { "call" } else { "conference" } } })),
            Endpoint::Api { .. } => unreachable!("from_path names only ECP endpoints"),
        };
        let got = got.unwrap_or_else(
            |e| json!({ "reply": yunxin_ecp::server::reply::bad_param(e.field), "field": e.field }),
        );
        same(got, &c["expect"])
    });
}

fn any_request(r: &Value) -> yunxin_ecp::exchange::AnyRequest {
    let str_list = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| s(x).to_owned())
            .collect()
    };
    let max_dur = || u32::try_from(r["max_dur"].as_u64().unwrap()).unwrap();
    match s(&r["kind"]) {
        "start_call" => StartCall::new(
            s(&r["caller_acc"]),
            s(&r["caller"]),
            s(&r["callee"]),
            max_dur(),
        )
        .unwrap()
        .into(),
        "start_conf" => StartConf::new(
            s(&r["caller_acc"]),
            s(&r["caller"]),
            str_list(&r["callees"]),
            max_dur(),
        )
        .unwrap()
        .into(),
        "query" => {
            let kind = match s(&r["type"]) {
                "call" => SessionKind::Call,
                _ => SessionKind::Conference,
            };
            QueryBySession::new(s(&r["session"]), kind).unwrap().into()
        }
        _ => yunxin_ecp::ApiRequest::new(s(&r["path"]), pairs(&r["params"]))
            .unwrap()
            .idempotent(r["idempotent"].as_bool().unwrap())
            .into(),
    }
}

fn exchange_result_json(result: &Result<yunxin_ecp::exchange::Answer, yunxin_ecp::Error>) -> Value {
    use yunxin_ecp::exchange::Answer;
    match result {
        Ok(Answer::Started(s)) => json!({ "started": { "session": s.session } }),
        Ok(Answer::Record(r)) => json!({ "record": {
            "session": r.session, "answered": r.answered(), "billed_minutes": r.billed_minutes() } }),
        Ok(Answer::Json(v)) => json!({ "json": v }),
        Err(yunxin_ecp::Error::Response(ResponseError::Api(a))) => {
            let mut e = json!({ "kind": "api", "code": a.code, "retry": a.retry_advice().code() });
            if let Some(m) = &a.message {
                e["message"] = json!(m);
            }
            json!({ "error": e })
        }
        Err(yunxin_ecp::Error::Response(ResponseError::Protocol(p))) => json!({ "error": {
            "kind": "protocol", "protocol": p.kind.code(), "retry": p.retry_advice().code() } }),
        Err(yunxin_ecp::Error::Transport(t)) => json!({ "error": {
            "kind": "transport", "transport": t.kind.code(), "maybe_sent": t.maybe_sent,
            "retry": t.retry_advice().code() } }),
        Err(other) => json!({ "unexpected": other.to_string() }),
    }
}

#[test]
fn exchange_vectors() {
    use std::time::Duration;
    use yunxin_ecp::TransportErrorKind;
    use yunxin_ecp::exchange::{Exchange, Next};
    use yunxin_ecp::settings::ClientSettings;

    let v = load("exchanges.json");
    let creds = Credentials::new(s(&v["app_key"]), s(&v["secret"])).unwrap();
    let n = run(&v["cases"], |c| {
        let expect = &c["expect"];
        let mut entropy = yunxin_ecp::exchange::FixedEntropy::new(
            expect["attempts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| s(&a["nonce"]).to_owned())
                .collect(),
            Some(v["now_secs"].as_u64().unwrap()),
            Some(u32::try_from(v["jitter"].as_u64().unwrap()).unwrap()),
        );
        let settings = ClientSettings {
            base_url: s(&v["base_url"]).to_owned(),
            max_retries: u32::try_from(c["settings"]["max_retries"].as_u64().unwrap()).unwrap(),
            backoff: Duration::from_millis(c["settings"]["backoff_ms"].as_u64().unwrap()),
            ..ClientSettings::default()
        };
        let mut exchange =
            Exchange::new(any_request(&c["request"]), creds.clone(), &settings).unwrap();
        let (mut attempts, mut waits) = (Vec::new(), Vec::new());
        let script = c["script"].as_array().unwrap();
        let result = loop {
            let attempt = exchange.send(&mut entropy).map_err(|e| e.to_string())?;
            let header = |name: &str| {
                attempt
                    .request
                    .headers
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
            };
            attempts.push(
                json!({ "url": attempt.request.url, "nonce": header("Nonce"),
                "cur_time": header("CurTime"), "checksum": header("CheckSum") }),
            );
            let Some(step) = script.get(attempts.len() - 1) else {
                return Err(format!("attempt {} was not scripted", attempts.len()));
            };
            let took = Duration::from_millis(1);
            let next = if let Some(a) = step.get("answer") {
                let status = u16::try_from(a["status"].as_u64().unwrap()).unwrap();
                let location = a.get("location").map(s);
                exchange.receive(
                    status,
                    location,
                    s(&a["body"]).as_bytes(),
                    took,
                    &mut entropy,
                )
            } else if let Some(f) = step.get("failure") {
                let kind = match s(&f["kind"]) {
                    "connect" => TransportErrorKind::Connect,
                    "timeout" => TransportErrorKind::Timeout,
                    "tls" => TransportErrorKind::Tls,
                    _ => TransportErrorKind::Io,
                };
                let sent = f["maybe_sent"].as_bool().unwrap();
                exchange.fail(kind, sent, "scripted", took, &mut entropy)
            } else {
                let status = u16::try_from(step["too_large"]["status"].as_u64().unwrap()).unwrap();
                exchange.too_large(status, took, &mut entropy)
            };
            match next {
                Next::Retry { after } => waits.push(json!(after.as_millis())),
                Next::Done(result) => break result,
            }
        };
        same(
            json!({ "attempts": attempts, "waits_ms": waits, "result": exchange_result_json(&result) }),
            expect,
        )
    });
    assert_eq!(n, 28);
}
