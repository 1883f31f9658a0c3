//! `yunxin-ecp-mock`: runs the mock ECP server until it is killed, for test suites in other
//! languages and for trying a client by hand. It prints one line, `listening on <base URL>`, once
//! the port is open, so a parent process can read the port it picked.
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use yunxin_ecp::Credentials;
use yunxin_ecp_mock::{MockConfig, MockServer};

const USAGE: &str = "\
usage: yunxin-ecp-mock [options]

Serves a local mock of the YunXin ECP API until killed.

options:
  --host ADDR              address to bind (default 127.0.0.1)
  --port N                 port to bind (default 0: a free port, printed on start)
  --callback-url URL       POST call-end callbacks there
  --app-key KEY --app-secret SECRET
                           accept this app instead of the samples' (repeatable, in pairs)
  --accid ACCID            register this accid instead of the samples' (repeatable)
  --call-duration-ms N     real time from a start to its callback (default 20)
  --duplicate-callbacks    send every callback twice
  --ecp-disabled           answer every start with 403 no authorization
  --exit-on-stdin-eof      stop when standard input closes (for a parent process)
  -h, --help               show this help
";

/// What the command line asked for.
struct Options {
    host: String,
    port: u16,
    config: MockConfig,
    exit_on_stdin_eof: bool,
}

/// Parses the arguments; `Err` holds the message to print before the usage.
fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        host: "127.0.0.1".to_owned(),
        port: 0,
        config: MockConfig::default(),
        exit_on_stdin_eof: false,
    };
    let mut keys: Vec<String> = Vec::new();
    let mut secrets: Vec<String> = Vec::new();
    let mut accids: Vec<String> = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--host" => options.host = value("--host")?,
            "--port" => {
                options.port = value("--port")?
                    .parse()
                    .map_err(|_| "--port must be a number from 0 to 65535".to_owned())?;
            }
            "--callback-url" => options.config.callback_url = Some(value("--callback-url")?),
            "--app-key" => keys.push(value("--app-key")?),
            "--app-secret" => secrets.push(value("--app-secret")?),
            "--accid" => accids.push(value("--accid")?),
            "--call-duration-ms" => {
                let ms: u64 = value("--call-duration-ms")?
                    .parse()
                    .map_err(|_| "--call-duration-ms must be a number".to_owned())?;
                options.config.call_duration = Duration::from_millis(ms);
            }
            "--duplicate-callbacks" => options.config.duplicate_callbacks = true,
            "--ecp-disabled" => options.config.ecp_enabled = false,
            "--exit-on-stdin-eof" => options.exit_on_stdin_eof = true,
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    if keys.len() != secrets.len() {
        return Err("--app-key and --app-secret must come in pairs".to_owned());
    }
    if !keys.is_empty() {
        options.config.apps = keys
            .into_iter()
            .zip(secrets)
            .map(|(key, secret)| Credentials::new(key, secret).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
    }
    if !accids.is_empty() {
        options.config.accids = accids;
    }
    Ok(Some(options))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("yunxin-ecp-mock: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match MockServer::start_on((options.host.as_str(), options.port), options.config) {
        Ok(server) => server,
        Err(e) => {
            eprintln!(
                "yunxin-ecp-mock: cannot listen on {}:{}: {e}",
                options.host, options.port
            );
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", server.base_url());
    let _ = stdout.flush();
    if options.exit_on_stdin_eof {
        let mut sink = [0u8; 1024];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        server.stop();
        return ExitCode::SUCCESS;
    }
    loop {
        std::thread::park();
    }
}
