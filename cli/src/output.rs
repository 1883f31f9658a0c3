//! Exit codes, errors, JSON output and the `--verbose` logger.
//!
//! Exit codes tell a script what to do next without parsing text: 1 means the answer was a
//! definite no (fix the request), 3 that it may or may not have happened (query before
//! retrying), 4 that nothing was sent at all.

use std::borrow::Cow;
use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};
use serde::Serialize;
use yunxin_ecp::blocking::events::TARGET;
use yunxin_ecp::mask::mask_numbers;
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
    /// An argument or setting the command itself refuses before anything is sent: shown in
    /// JSON as a `validation` error naming the field and the rule's code, like the library's.
    Invalid {
        field: &'static str,
        rule: &'static str,
        message: String,
    },
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
            Failure::Local(_) | Failure::Invalid { .. } => LOCAL,
            Failure::Unreachable(_) => UNKNOWN,
            Failure::Error(e) => error_exit_code(e),
        }
    }

    /// The line printed for this failure, without the program's name. The library's errors
    /// carry text from the answer (a message, a raw body) and the request's path, so their
    /// phone numbers are masked as the `--verbose` events mask them; every message is escaped,
    /// since a file name or an answer can hold terminal control sequences.
    pub fn message(&self) -> String {
        clip(&escape(&self.text()))
    }

    /// The failure's text, numbers masked as in [`message`](Self::message) but not escaped,
    /// for a report that escapes what it prints.
    pub fn text(&self) -> String {
        match self {
            Failure::Error(e) => mask_numbers(&e.to_string()).into_owned(),
            Failure::Invalid { message, .. }
            | Failure::Local(message)
            | Failure::Unreachable(message) => message.clone(),
        }
    }

    /// Prints the failure (on standard error; also as `{"error": …}` on standard output with
    /// `--json`) and returns its exit code.
    pub fn report(self, json: bool) -> u8 {
        let code = self.exit_code();
        eprintln!("yunxin-ecp: {}", self.message());
        if json {
            let value = match &self {
                Failure::Error(e) => serde_json::to_value(ErrorView::new(e)),
                Failure::Invalid {
                    field,
                    rule,
                    message,
                } => {
                    let mut view = ErrorView::other("validation", message.clone(), Some(*field));
                    view.rule = Some(rule);
                    serde_json::to_value(view)
                }
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
        // An HTTP layer's 4xx page (an unknown path, a method or size it does not take): the
        // request never reached the service, and would be refused the same way again.
        Error::Response(ResponseError::Protocol(_)) if e.retry_advice() == RetryAdvice::Never => {
            REFUSED
        }
        Error::Transport(_) | Error::Response(ResponseError::Protocol(_)) => UNKNOWN,
        Error::Response(ResponseError::Api(_))
            if e.retry_advice() == RetryAdvice::OutcomeUnknown =>
        {
            UNKNOWN
        }
        _ => REFUSED,
    }
}

/// `text` safe to print on one line of a terminal: C0 and C1 controls, DEL, U+2028/2029 and
/// the bidi controls as `\u{…}`, a backslash doubled (so that text cannot pass for an escape).
/// Everything the command prints that it did not write itself (a server's answer, a file's
/// name, an argument, the environment) goes through here; JSON goes through [`print_json`].
/// The mock's request lines use the same function (the core's), so outside text is escaped one
/// way throughout.
pub fn escape(text: &str) -> Cow<'_, str> {
    yunxin_ecp::printable::printable(text)
}

/// Most characters of one value on a human line: an answer may be up to the client's limit
/// (1 MiB), all of it `desc`, and one error should not fill the scrollback. `--json` has it
/// whole.
pub const MAX_SHOWN_CHARS: usize = 2000;

/// `text` cut to [`MAX_SHOWN_CHARS`] characters, saying how many were left out.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        None => text.to_owned(),
        Some((at, _)) => {
            let left = text[at..].chars().count();
            format!(
                "{}... ({left} more characters; --json shows them all)",
                &text[..at]
            )
        }
    }
}

/// `value` as JSON safe for a terminal (the core's escaping): pretty or compact.
pub fn to_json(value: &impl Serialize, pretty: bool) -> serde_json::Result<String> {
    yunxin_ecp::printable::json(value, pretty)
}

/// Prints one JSON document on standard output.
pub fn print_json(value: &impl Serialize) {
    match to_json(value, true) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_what_serde_json_leaves_and_means_the_same() {
        let value = serde_json::json!({
            "desc": "\u{1b}[2J\r\n#1 FAKE\u{7f}\u{85}\u{9b}\u{2028}\u{2029}\u{202a}\u{202e}\u{2066}\u{2069}张三",
            "list": ["\u{202e}"],
        });
        for pretty in [true, false] {
            let text = to_json(&value, pretty).unwrap();
            assert!(
                !text
                    .chars()
                    .any(|c| c != '\n' && c != ' ' && yunxin_ecp::printable::is_unsafe(c)),
                "{text:?}"
            );
            for escape in [
                "\\u001b[2J\\r\\n#1 FAKE",
                "\\u007f\\u0085\\u009b\\u2028\\u2029\\u202a\\u202e\\u2066\\u2069张三",
            ] {
                assert!(text.contains(escape), "{escape} not in {text}");
            }
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, value);
        }
        // Otherwise serde_json's own layouts.
        let plain = serde_json::json!({"a": [1, "b\n"], "c": {"d": null}});
        assert_eq!(
            to_json(&plain, true).unwrap(),
            serde_json::to_string_pretty(&plain).unwrap()
        );
        assert_eq!(to_json(&plain, false).unwrap(), plain.to_string());
    }

    #[test]
    fn an_error_line_is_one_line_with_numbers_masked() {
        let failure = Failure::Local("cannot read --body a\nb\u{1b}[2J".to_owned());
        assert_eq!(failure.message(), "cannot read --body a\\u{a}b\\u{1b}[2J");
        let duplicate = yunxin_ecp::ValidationError::new(
            "callees",
            yunxin_ecp::Rule::Duplicate {
                number: "13888888888".to_owned(),
            },
        );
        let message = Failure::from(duplicate).message();
        let long = Failure::Local("x".repeat(MAX_SHOWN_CHARS + 5)).message();
        assert_eq!(
            long,
            format!(
                "{}... (5 more characters; --json shows them all)",
                "x".repeat(MAX_SHOWN_CHARS)
            )
        );
        assert!(message.contains("138****8888"), "{message}");
        assert!(!message.contains("13888888888"), "{message}");
    }
}
