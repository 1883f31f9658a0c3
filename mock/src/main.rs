//! `yunxin-ecp-mock`: runs the mock ECP server until it is killed, for test suites in other
//! languages and for trying a client by hand. It prints one line, `listening on <base URL>`, once
//! the port is open, so a parent process can read the port it picked; then one line per callback
//! delivery attempt (the URL, the verdict with the HTTP status or the connection error, the
//! receiver's reason, the session), so that a developer sees what their endpoint answered.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use yunxin_ecp::Credentials;
use yunxin_ecp_mock::console::Console;
use yunxin_ecp_mock::{DEFAULT_COMMAND_CALLBACK_RETRIES, MockConfig, MockServer};

/// Most retries `--callback-retries` takes: the waits double, and ten already add up to
/// seventeen minutes.
const MAX_CALLBACK_RETRIES: i64 = 10;

/// The environment variables the rest of the project reads credentials from, so that a client
/// and the mock started from the same shell agree on the app.
const KEY_VAR: &str = "YUNXIN_APP_KEY";
const SECRET_VAR: &str = "YUNXIN_APP_SECRET";

const EXAMPLES: &str = "\
Examples:
  yunxin-ecp-mock --port 0 --callback-url http://127.0.0.1:8000/cb
  YUNXIN_APP_KEY=0123456789abcdef0123456789abcdef YUNXIN_APP_SECRET=s3cret yunxin-ecp-mock
  yunxin-ecp-mock --app-key 0123456789abcdef0123456789abcdef --app-secret-file ./secret.txt

Without an app, the mock accepts the official samples' app: key fd460d34e786e7754e505bc4fab0f027,
secret xxxxxxxx. The control API is under /_mock on the same port (GET /_mock lists it).";

/// Serves a local mock of the YunXin ECP API until killed, and prints `listening on <URL>` once
/// the port is open, then a line per callback delivery attempt.
#[derive(Debug, Parser)]
#[command(name = "yunxin-ecp-mock", version, after_help = EXAMPLES)]
struct Cli {
    /// Address to bind.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    host: String,

    /// Port to bind (0: a free port, printed on start).
    #[arg(long, value_name = "N", default_value_t = 0)]
    port: u16,

    /// POST call-end callbacks there.
    #[arg(long, value_name = "URL")]
    callback_url: Option<String>,

    /// Accept this app instead of the samples' (repeatable; each key takes the secret at the
    /// same position). Default: $YUNXIN_APP_KEY.
    #[arg(long = "app-key", value_name = "KEY")]
    app_keys: Vec<String>,

    /// The secret of the --app-key at the same position. Other users of this machine can read
    /// it in the process list: prefer --app-secret-file or $YUNXIN_APP_SECRET.
    #[arg(long = "app-secret", value_name = "SECRET")]
    app_secrets: Vec<String>,

    /// Reads the secret of the --app-key at the same position from this file: a regular file
    /// of at most 64 KiB (a trailing line break is ignored).
    #[arg(
        long = "app-secret-file",
        value_name = "PATH",
        conflicts_with = "app_secrets"
    )]
    app_secret_files: Vec<PathBuf>,

    /// Register this accid instead of the samples' (repeatable).
    #[arg(long = "accid", value_name = "ACCID")]
    accids: Vec<String>,

    /// Real time from a start to its callback [default: 20].
    #[arg(long, value_name = "N")]
    call_duration_ms: Option<u64>,

    /// Send every callback twice.
    #[arg(long)]
    duplicate_callbacks: bool,

    /// Try a delivery again this many times (after 1 s, then 2 s, ...) when the receiver is
    /// unreachable or answers 5xx; never after a 4xx. 0: one try.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_COMMAND_CALLBACK_RETRIES,
          value_parser = clap::value_parser!(u32).range(0..=MAX_CALLBACK_RETRIES))]
    callback_retries: u32,

    /// Answer every start with 403 no authorization.
    #[arg(long)]
    ecp_disabled: bool,

    /// Shift the mock's clock (the Date header and the signature window) by this many seconds;
    /// negative: behind.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    clock_skew_secs: i64,

    /// Stop when standard input closes (for a parent process).
    #[arg(long)]
    exit_on_stdin_eof: bool,
}

/// An environment variable, `None` when unset or empty.
fn env_var(name: &str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(value) if value.is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("${name} is not valid UTF-8")),
    }
}

/// Most bytes a secret file may hold: a secret is a few dozen characters, and a larger file
/// is not one (or is `/dev/zero`, read until memory runs out).
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// The secret in `path`, a trailing line break removed. Only a regular file is opened: a FIFO
/// or a terminal would block the start until someone writes to it, and a device may never end.
/// Errors name the file and the rule, never the content.
fn read_secret_file(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let metadata = std::fs::metadata(path)
        .map_err(|e| format!("cannot read --app-secret-file {shown}: {e}"))?;
    if !metadata.is_file() {
        return Err(format!(
            "--app-secret-file {shown} must be a regular file (not a directory, FIFO or device)"
        ));
    }
    let file =
        File::open(path).map_err(|e| format!("cannot read --app-secret-file {shown}: {e}"))?;
    let mut bytes = Vec::new();
    // One byte over the cap tells a file at the cap from a larger one, which may have grown
    // since its metadata was read.
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read --app-secret-file {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(format!(
            "--app-secret-file {shown} must hold at most {} KiB",
            MAX_SECRET_FILE_BYTES / 1024
        ));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("--app-secret-file {shown} must be UTF-8 text"))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

/// The apps given on the command line or in the environment, `None` for the samples' app.
fn apps(cli: &Cli) -> Result<Option<Vec<Credentials>>, String> {
    let keys: Vec<String> = if cli.app_keys.is_empty() {
        env_var(KEY_VAR)?.into_iter().collect()
    } else {
        cli.app_keys.clone()
    };
    let secrets: Vec<String> = if !cli.app_secret_files.is_empty() {
        cli.app_secret_files
            .iter()
            .map(|path| read_secret_file(path))
            .collect::<Result<_, _>>()?
    } else if !cli.app_secrets.is_empty() {
        cli.app_secrets.clone()
    } else {
        env_var(SECRET_VAR)?.into_iter().collect()
    };
    if keys.is_empty() && secrets.is_empty() {
        return Ok(None);
    }
    if keys.len() != secrets.len() {
        return Err(format!(
            "{} app key(s) and {} secret(s): each --app-key (or ${KEY_VAR}) needs one secret \
             (--app-secret, --app-secret-file or ${SECRET_VAR}), in the same order",
            keys.len(),
            secrets.len()
        ));
    }
    keys.into_iter()
        .zip(secrets)
        .map(|(key, secret)| Credentials::new(key, secret).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()
        .map(Some)
}

/// The server configuration the command line asks for.
fn config(cli: &Cli) -> Result<MockConfig, String> {
    let mut config = MockConfig {
        callback_url: cli.callback_url.clone(),
        duplicate_callbacks: cli.duplicate_callbacks,
        callback_retries: cli.callback_retries,
        ecp_enabled: !cli.ecp_disabled,
        clock_skew: cli.clock_skew_secs,
        console: Some(Console::stdout(false)),
        ..MockConfig::default()
    };
    if let Some(ms) = cli.call_duration_ms {
        config.call_duration = Duration::from_millis(ms);
    }
    if let Some(apps) = apps(cli)? {
        config.apps = apps;
    }
    if !cli.accids.is_empty() {
        config.accids = cli.accids.clone();
    }
    Ok(config)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match config(&cli) {
        Ok(config) => config,
        // Prints the message with the usage line and exits 2, like clap's own errors.
        Err(message) => Cli::command()
            .error(ErrorKind::ValueValidation, message)
            .exit(),
    };
    let server = match MockServer::start_on((cli.host.as_str(), cli.port), config) {
        Ok(server) => server,
        Err(e) => {
            eprintln!(
                "yunxin-ecp-mock: cannot listen on {}:{}: {e}",
                cli.host, cli.port
            );
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", server.base_url());
    let _ = stdout.flush();
    if cli.exit_on_stdin_eof {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// The apps a command line gives, or the error.
    fn apps_of(args: &[&str]) -> Result<Option<Vec<Credentials>>, String> {
        let cli =
            Cli::try_parse_from(std::iter::once("yunxin-ecp-mock").chain(args.iter().copied()))
                .unwrap();
        apps(&cli)
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    /// A fresh directory for this test's files.
    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("yunxin-ecp-mock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn a_secret_file_is_read_and_its_line_break_dropped() {
        let dir = temp_dir("secret-ok");
        let path = dir.join("secret");
        std::fs::write(&path, "s3cret\r\n").unwrap();
        let apps = apps_of(&[
            "--app-key",
            KEY,
            "--app-secret-file",
            path.to_str().unwrap(),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(apps[0].expose_secret(), "s3cret");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_device_is_refused_before_it_is_read() {
        let error = apps_of(&["--app-key", KEY, "--app-secret-file", "/dev/zero"]).unwrap_err();
        assert_eq!(
            error,
            "--app-secret-file /dev/zero must be a regular file (not a directory, FIFO or device)"
        );
    }

    #[test]
    fn a_fifo_is_refused_without_being_opened() {
        let dir = temp_dir("secret-fifo");
        let path = dir.join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        // A writer waits for a reader; had the mock opened the FIFO, it would have read this.
        let writer = {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut fifo = std::fs::OpenOptions::new().write(true).open(path)?;
                fifo.write_all(b"fifo-secret")
            })
        };
        let refused = apps_of(&[
            "--app-key",
            KEY,
            "--app-secret-file",
            path.to_str().unwrap(),
        ]);
        if refused.is_err() {
            // The writer is still waiting for its reader: this one.
            let mut unread = String::new();
            File::open(&path)
                .unwrap()
                .read_to_string(&mut unread)
                .unwrap();
            assert_eq!(unread, "fifo-secret");
        }
        // Either read to its end by now, or the FIFO was read above.
        writer.join().unwrap().unwrap();
        assert_eq!(
            refused.map(|apps| apps.is_some()),
            Err(format!(
                "--app-secret-file {} must be a regular file (not a directory, FIFO or device)",
                path.display()
            ))
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_secret_file_over_64_kib_is_refused() {
        let dir = temp_dir("secret-large");
        let path = dir.join("secret");
        std::fs::write(&path, vec![b'x'; 65 * 1024]).unwrap();
        let error = apps_of(&[
            "--app-key",
            KEY,
            "--app-secret-file",
            path.to_str().unwrap(),
        ])
        .unwrap_err();
        assert_eq!(
            error,
            format!(
                "--app-secret-file {} must hold at most 64 KiB",
                path.display()
            )
        );
        // The content never appears in the message.
        assert!(!error.contains("xxxx"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
