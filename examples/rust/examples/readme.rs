use std::time::Duration;

use yunxin_ecp::blocking::Client;
use yunxin_ecp::{CallbackEvent, CallbackVerifier, QueryBySession, SessionKind, StartCall};
use yunxin_ecp_mock::{MockConfig, MockServer};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Your web server, which the call-end callbacks are POSTed to: here a second mock's inbox.
    let web_server = MockServer::start(MockConfig::default())?;
    let mock = MockServer::start(MockConfig {
        callback_url: Some(web_server.inbox_url()),
        ..MockConfig::default()
    })?;
    // The samples' app, known to the mock. For the real API: Credentials::from_env()?
    // and no base_url (https://api.netease.im is the default).
    let creds = mock.config().apps[0].clone();

    let client = Client::builder(creds.clone())
        .base_url(mock.base_url())
        .timeout(Duration::from_secs(5))
        .build()?;
    let call = StartCall::new("liuxuanlin", "13888888888", "13777777777", 100)?;
    let session = client.start_call(&call)?.session;
    let record = client.query(&QueryBySession::new(&session, SessionKind::Call)?)?;
    println!(
        "answered: {}, {} s",
        record.answered(),
        record.duration_sec.unwrap_or(0)
    );

    // In the web handler: the raw body bytes and the headers, exactly as received.
    let verifier = CallbackVerifier::new(creds);
    for callback in web_server.wait_for_inbox(1, Duration::from_secs(5)) {
        match verifier.verify_and_parse_now(&callback.body, &callback.headers)? {
            CallbackEvent::CallEnd(record) => println!(
                "call ended: billed {} minute(s), {} yuan",
                record.billed_minutes(),
                record.cost(Default::default())
            ),
            CallbackEvent::Other { event_type, .. } => println!("other event {event_type:?}"),
        }
    }
    Ok(())
}
