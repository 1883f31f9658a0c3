//! Exit codes, errors, JSON output and the `--verbose` logger.
//!
//! Exit codes tell a script what to do next without parsing text: 1 means the answer was a
//! definite no (fix the request), 3 that it may or may not have happened (query before
//! retrying), 4 that nothing was sent at all.

use std::borrow::Cow;
use std::io::{self, Write};

use log::{Level, LevelFilter, Log, Metadata, Record};
use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
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
/// The mock's request lines use the same function, so the command escapes one way throughout.
pub fn escape(text: &str) -> Cow<'_, str> {
    yunxin_ecp_mock::console::printable(text)
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

/// The characters [`escape`] escapes, for JSON strings.
fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// serde_json's formatter, except that strings also escape DEL, the C1 controls, U+2028/2029
/// and the bidirectional controls as `\uXXXX`: serde_json escapes only C0, and a JSON document
/// printed on a terminal is read there too. The JSON value is unchanged.
struct Escaping<F>(F);

impl<F: Formatter> Formatter for Escaping<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some((at, c)) = rest.char_indices().find(|&(_, c)| is_unsafe_char(c)) {
            writer.write_all(&rest.as_bytes()[..at])?;
            // Every such character is in the Basic Multilingual Plane: one \u escape.
            write!(writer, "\\u{:04x}", u32::from(c))?;
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// `value` as JSON with [`Escaping`]: pretty (indented) or compact (one line).
pub fn to_json(value: &impl Serialize, pretty: bool) -> serde_json::Result<String> {
    let mut out = Vec::new();
    if pretty {
        let mut ser =
            serde_json::Serializer::with_formatter(&mut out, Escaping(PrettyFormatter::new()));
        value.serialize(&mut ser)?;
    } else {
        let mut ser = serde_json::Serializer::with_formatter(&mut out, Escaping(CompactFormatter));
        value.serialize(&mut ser)?;
    }
    // serde_json writes UTF-8, and the escapes are ASCII.
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
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
                    .any(|c| c != '\n' && c != ' ' && is_unsafe_char(c)),
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
