//! Exit codes, errors, JSON output and the `--verbose` logger.
//!
//! Exit codes tell a script what to do next without parsing text: 1 means the answer was a
//! definite no (fix the request), 3 that it may or may not have happened (query before
//! retrying), 4 that nothing was sent at all.

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};
use serde::Serialize;
use yunxin_ecp::blocking::events::TARGET;
use yunxin_ecp::views::ErrorView;
use yunxin_ecp::{Error, ResponseError, RetryAdvice};

/// `println!` that ignores a closed standard output (`yunxin-ecp ... | head`) instead of
/// panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
pub(crate) use say;

/// Done (accepted, no problem found).
pub const OK: u8 = 0;
/// Refused by the service, or verification failed.
pub const REFUSED: u8 = 1;
/// Transport or protocol error, or outcome unknown.
pub const UNKNOWN: u8 = 3;
/// Refused locally before anything was sent.
pub const LOCAL: u8 = 4;

/// Why a subcommand stopped short.
#[derive(Debug)]
pub enum Failure {
    /// The library's error; its kind decides the exit code.
    Error(Error),
    /// Something local went wrong before anything was sent: a file, missing credentials.
    Local(String),
    /// The service (or a port to listen on) could not be reached.
    Unreachable(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

impl From<yunxin_ecp::ValidationError> for Failure {
    fn from(e: yunxin_ecp::ValidationError) -> Self {
        Failure::Error(e.into())
    }
}

impl Failure {
    /// A local refusal with this message (exit code 4).
    pub fn usage_local(message: String) -> Self {
        Failure::Local(message)
    }

    /// The exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Local(_) => LOCAL,
            Failure::Unreachable(_) => UNKNOWN,
            Failure::Error(e) => error_exit_code(e),
        }
    }

    /// Prints the failure (on standard error; also as `{"error": …}` on standard output with
    /// `--json`) and returns its exit code.
    pub fn report(self, json: bool) -> u8 {
        let code = self.exit_code();
        let message = match &self {
            Failure::Error(e) => e.to_string(),
            Failure::Local(m) | Failure::Unreachable(m) => m.clone(),
        };
        eprintln!("yunxin-ecp: {message}");
        if json {
            let value = match &self {
                Failure::Error(e) => serde_json::to_value(ErrorView::new(e)),
                Failure::Local(m) => Ok(serde_json::json!({"kind": "local", "message": m})),
                Failure::Unreachable(m) => {
                    Ok(serde_json::json!({"kind": "unreachable", "message": m}))
                }
            };
            if let Ok(value) = value {
                print_json(&serde_json::json!({ "error": value }));
            }
        }
        code
    }
}

/// 1 for a definite refusal, 3 for anything that may have happened, 4 for local refusals.
pub fn error_exit_code(e: &Error) -> u8 {
    match e {
        Error::Validation(_) | Error::Entropy(_) => LOCAL,
        Error::Transport(_) | Error::Response(ResponseError::Protocol(_)) => UNKNOWN,
        Error::Response(ResponseError::Api(_))
            if e.retry_advice() == RetryAdvice::OutcomeUnknown =>
        {
            UNKNOWN
        }
        _ => REFUSED,
    }
}

/// Prints one JSON document on standard output.
pub fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => say!("{text}"),
        Err(e) => eprintln!("yunxin-ecp: could not serialize the output: {e}"),
    }
}

/// Success with `code`.
pub fn exit(code: u8) -> u8 {
    code
}

/// The client's events (target `yunxin_ecp`) on standard error, for `--verbose`.
struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == TARGET && metadata.level() <= Level::Debug
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "[{} {}] {}", record.level(), TARGET, record.args());
        }
    }

    fn flush(&self) {}
}

/// Installs the `--verbose` logger; without `--verbose` logging stays off entirely. Where the
/// host process already has a logger (the Python package hands events to `logging`), the
/// events go to that one.
pub fn install_logger(verbose: bool) {
    static LOGGER: StderrLogger = StderrLogger;
    if verbose {
        let _ = log::set_logger(&LOGGER);
        log::set_max_level(LevelFilter::Debug);
    } else {
        log::set_max_level(LevelFilter::Off);
    }
}
