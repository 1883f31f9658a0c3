//! The command line, as clap derive types. Every subcommand's help ends with examples and the
//! exit codes, so that `--help` alone is enough to script it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use yunxin_ecp::Rule;

use crate::output::Failure;

/// The tail of every help page.
const EXIT_CODES: &str = "\
Exit codes:
  0  done (verify-callback: accepted; send-callback: answered 2xx; doctor: no problem found)
  1  refused by the service (an API code other than 200), or verification failed (a callback
     refused, a problem found by doctor; send-callback: the receiver answered another status)
  2  usage error (unknown option, missing argument)
  3  transport or protocol error, or outcome unknown: the request may have taken effect, so
     query (or check) before sending it again
  4  refused locally before anything was sent (invalid argument, missing or malformed
     credentials, unreadable file)";

const CREDENTIALS_HELP: &str = "\
Credentials come from $YUNXIN_APP_KEY and $YUNXIN_APP_SECRET, or from --credentials-file PATH:
a file of lines `app_key=...` and `app_secret=...` (or `YUNXIN_APP_KEY=...` and
`YUNXIN_APP_SECRET=...`, optionally after `export `; blank lines and `#` comments are
ignored; values are taken verbatim, without quotes). Never from a flag: other users of the
machine can read flags in the process list.";

/// A help page's tail: examples, notes, where credentials come from, and the exit codes.
fn page(examples: &str, notes: &str) -> String {
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!("{notes}\n\n")
    };
    format!("Examples:\n{examples}\n\n{notes}{CREDENTIALS_HELP}\n\n{EXIT_CODES}")
}

const TOP_EXAMPLES: &str =
    "  export YUNXIN_APP_KEY=fd460d34e786e7754e505bc4fab0f027 YUNXIN_APP_SECRET=xxxxxxxx
  yunxin-ecp mock --port 8080 &
  yunxin-ecp --base-url http://127.0.0.1:8080 call liuxuanlin 13888888888 13777777777 --max-dur 60
  yunxin-ecp --base-url http://127.0.0.1:8080 doctor";

/// NetEase YunXin server API from the terminal: sign, place and query ECP calls, verify
/// call-end callbacks, call any server API, run the local mock, diagnose a 414.
#[derive(Debug, Parser)]
#[command(
    name = "yunxin-ecp",
    version,
    after_help = page(TOP_EXAMPLES, "Each subcommand's --help has its own examples."),
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The service's base URL (a local mock's in tests) [env: YUNXIN_BASE_URL] [default:
    /// https://api.netease.im].
    // Not clap's `env`: clap counts a value from the environment as given on the command line
    // and lists `--base-url <URL>` in every usage line, as if it were required.
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,

    /// Read the app key and secret from this file instead of $YUNXIN_APP_KEY and
    /// $YUNXIN_APP_SECRET (lines `app_key=...` and `app_secret=...`). verify-callback takes it
    /// up to 8 times: a callback signed with any of them is accepted (a secret being rotated,
    /// several apps).
    #[arg(long, global = true, value_name = "PATH")]
    pub credentials_file: Vec<PathBuf>,

    /// Print one JSON document on standard output, for scripts (an error as
    /// {"error": {...}}).
    #[arg(long, global = true)]
    pub json: bool,

    /// Seconds allowed for each attempt of a request, connect to last byte.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 15.0)]
    pub timeout: f64,

    /// Log each attempt (sent, answered, retried, given up) on standard error; phone numbers
    /// masked, no header or body.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// Where the base URL comes from when `--base-url` is not given.
pub const ENV_BASE_URL: &str = "YUNXIN_BASE_URL";

impl Global {
    /// The one `--credentials-file` of a command that signs with one app (`None`: the
    /// environment's). Given more than once it is refused rather than one of them chosen.
    pub fn credentials_file(&self) -> Result<Option<&std::path::Path>, Failure> {
        match self.credentials_file.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.as_path())),
            many => Err(Failure::Invalid {
                field: "--credentials-file",
                rule: Rule::Count {
                    min: 0,
                    max: 1,
                    actual: many.len(),
                }
                .code(),
                message: format!(
                    "--credentials-file is given {} times; only verify-callback takes several \
                     (a callback signed with any of them is accepted)",
                    many.len()
                ),
            }),
        }
    }

    /// `--base-url`, else `$YUNXIN_BASE_URL`, else the service. A variable that is set but
    /// empty or not UTF-8 is refused: taken as unset, it would send what was meant for a test
    /// server to the real, billing service.
    pub fn base_url(&self) -> Result<String, Failure> {
        if let Some(url) = &self.base_url {
            return Ok(url.clone());
        }
        // The core's rule, the one every client library follows.
        yunxin_ecp::settings::default_base_url().map_err(|e| match e.rule {
            Rule::Empty => Failure::Invalid {
                field: ENV_BASE_URL,
                rule: e.rule.code(),
                message: format!(
                    "{ENV_BASE_URL} is set but empty: unset it to use {}, or set it to a URL",
                    yunxin_ecp::request::DEFAULT_BASE_URL
                ),
            },
            _ => Failure::from(e),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the four signature headers (AppKey, Nonce, CurTime, CheckSum) for a request.
    #[command(after_help = page(
        "  yunxin-ecp sign
  yunxin-ecp sign --nonce 123456 --cur-time 1440570500 --json
  curl -X POST $(yunxin-ecp sign | sed 's/^/-H /') ...",
        "A fresh nonce and one reading of the clock each time: sign every request afresh.",
    ))]
    Sign(SignArgs),

    /// Place a callback call: the service rings CALLER, then CALLEE, and bridges them.
    #[command(after_help = page(
        "  yunxin-ecp call liuxuanlin 13888888888 13777777777 --max-dur 60
  yunxin-ecp call liuxuanlin 13888888888 057186778825 --max-dur 600 --dry-run",
        "Billing: every started minute costs 0.12 yuan; --dry-run prints the signed request
(CheckSum redacted) and the worst case that --max-dur allows. After exit code 3 the call
may have been placed: check before placing it again.",
    ))]
    Call(CallArgs),

    /// Place a phone conference: CALLER and 2 to 7 CALLEEs.
    #[command(after_help = page(
        "  yunxin-ecp conf liuxuanlin 13888888888 13777777777 13666666666 --max-dur 600
  yunxin-ecp conf liuxuanlin 13888888888 13777777777 13666666666 --max-dur 600 --dry-run --json",
        "Billing: every started minute costs 0.12 yuan; --dry-run prints the worst case that
--max-dur allows, by the conference's duration as `query` reports it.",
    ))]
    Conf(ConfArgs),

    /// Show the record of a call or conference: answered or not, billed minutes, cost.
    #[command(after_help = page(
        "  yunxin-ecp query 7c4b7673-4f70-4164-82a0-decb84d77914
  yunxin-ecp query 4ea1e712-cfd5-4891-b66a-4aa71fe65383 --conference --json",
        "\"answered\" means durationSec > 0: the service reports status SUCCESS even when nobody
picked up. Cost: 0.12 yuan per started minute. An unknown session (or the wrong kind)
answers code 404: exit code 1.",
    ))]
    Query(QueryArgs),

    /// Send a request to any YunXin server API and print its JSON answer.
    #[command(after_help = page(
        "  yunxin-ecp request /nimserver/user/create.action accid=demo name=Demo
  yunxin-ecp request /nimserver/user/getUinfos.action 'accids=[\"demo\"]' --idempotent",
        "PATH is appended to --base-url; parameters are sent form-encoded in the order given.
Without --idempotent the request is sent again only when it provably never left (a
connect failure): after a read timeout or a 500 it ends with exit code 3, outcome unknown.",
    ))]
    Request(RequestArgs),

    /// Verify a call-end callback's signature and print its event.
    #[command(after_help = page(
        "  yunxin-ecp verify-callback --body body.json -H 'CurTime: 1440570500855' \\
      -H 'MD5: 5556767e4727e5582025ab1fff82753b' \\
      -H 'CheckSum: 6949a942f8477bb839a74ac5726ec4c28a762686' --now-ms 1440570500855
  yunxin-ecp verify-callback --raw-request captured.http --skip-time-check
  yunxin-ecp --credentials-file old.env --credentials-file new.env \\
      verify-callback --raw-request captured.http     # during a secret rotation: says which matched",
        "The body is verified as raw bytes, never re-serialized: MD5 of the body, CheckSum =
SHA1(AppSecret + MD5 + CurTime), AppKey when sent, CurTime (ms) within the tolerance. A
refusal prints its reason (md5_mismatch, checksum_mismatch, stale, ...) and exits 1.",
    ))]
    VerifyCallback(VerifyArgs),

    /// POST a signed test callback to a receiver (the app's own endpoint) and print its answer.
    #[command(after_help = page(
        "  yunxin-ecp send-callback http://127.0.0.1:8000/yunxin/callback
  yunxin-ecp send-callback http://127.0.0.1:8000/yunxin/callback --conference --json
  yunxin-ecp send-callback https://staging.example.com/cb --body-file captured-body.json",
        "The body is a call-end record as the mock sends it (a call, or with --conference a
conference; a fresh session each time), or the bytes of --body-file as they are (at most
1 MiB). It is signed as the service signs its callbacks: MD5 of the body, CheckSum =
SHA1(AppSecret + MD5 + CurTime), CurTime in milliseconds, with the AppKey. The answer's
status and body are printed (escaped, the body cut to 2000 characters; --json has up to
64 KiB of it). A redirect is shown, never followed. --timeout bounds the connection and
the whole exchange. Exit code 0 for a 2xx answer, 1 for any other, 3 when the receiver
cannot be reached.",
    ))]
    SendCallback(SendCallbackArgs),

    /// Run the local mock of the ECP API, printing one line per request it receives and per
    /// callback it delivers.
    #[command(after_help = page(
        "  yunxin-ecp mock
  yunxin-ecp mock --port 8080 --callback-url http://127.0.0.1:8000/cb
  yunxin-ecp mock --clock-skew-secs -3600      # a service clock an hour behind",
        "Without credentials the mock accepts the official samples' app (printed at start); with
credentials it accepts that app instead. Each request line shows the verdict and why
(checksum_mismatch, outside_window, bad param 'callee'), phone numbers masked. Each
callback delivery attempt prints a line: the URL, delivered / refused (HTTP status) / failed
(the connection error), the receiver's reason when its answer is JSON {\"reason\": ...},
and the session. The control API is under /_mock on the same port (GET /_mock lists it).
Runs until killed; exit code 3 when it cannot listen.",
    ))]
    Mock(MockArgs),

    /// Diagnose the usual causes of code 414: credentials, clock, reachability, and captured
    /// request headers.
    #[command(after_help = page(
        "  yunxin-ecp doctor
  yunxin-ecp --base-url http://127.0.0.1:8080 doctor --json
  yunxin-ecp doctor --captured-headers headers.txt     # lines `Name: value`",
        "Checks: the credentials' shape (an app key of 32 lowercase hex characters, a secret
without surrounding whitespace); DNS, TCP and TLS reachability of the base URL; the local
clock against the service's Date header (a CurTime over 300 s off is refused); a signed
query for a made-up session (404: the signature was accepted, 414: it was not); and, given
captured headers, which rule they break (nonce over 128 characters, uppercase CheckSum,
CurTime in milliseconds or stale, CheckSum computed in another order or with MD5).
Exit code 1 when a problem is found, 3 when the service cannot be reached.",
    ))]
    Doctor(DoctorArgs),
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// Use this nonce (1 to 128 characters of [A-Za-z0-9]) instead of a random one.
    #[arg(long, value_name = "N")]
    pub nonce: Option<String>,

    /// Use this CurTime (UTC Unix seconds) instead of the clock.
    #[arg(long, value_name = "T")]
    pub cur_time: Option<u64>,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The YunXin accid the call is placed for (callerAcc).
    pub caller_acc: String,
    /// The number rung first (mainland, no country code).
    pub caller: String,
    /// The number rung second.
    pub callee: String,

    /// The longest the call may last, in seconds (maxDur).
    #[arg(long, value_name = "N")]
    pub max_dur: u32,

    /// Print the signed request (CheckSum redacted) and the worst-case cost; send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ConfArgs {
    /// The YunXin accid the conference is placed for (callerAcc).
    pub caller_acc: String,
    /// The caller's number.
    pub caller: String,
    /// The other participants' numbers (2 to 7).
    #[arg(required = true, num_args = 1..)]
    pub callees: Vec<String>,

    /// The longest the conference may last, in seconds (maxDur).
    #[arg(long, value_name = "N")]
    pub max_dur: u32,

    /// Print the signed request (CheckSum redacted) and the worst-case cost; send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The session id a start returned.
    pub session: String,

    /// The session is a conference (type=2), not a call (type=1).
    #[arg(long)]
    pub conference: bool,
}

#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The API's path below the base URL, e.g. /nimserver/user/create.action.
    pub path: String,

    /// Form parameters, sent in this order.
    #[arg(value_name = "NAME=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,

    /// The request may be sent twice without harm (a read): retry it like a query.
    #[arg(long)]
    pub idempotent: bool,
}

/// `name=value`, split at the first `=`.
fn parse_param(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((name, value)) => Ok((name.to_owned(), value.to_owned())),
        // clap quotes the value itself (escaped when it needs to be).
        None => Err("expected NAME=VALUE (no '=')".to_owned()),
    }
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["body", "raw_request"])))]
pub struct VerifyArgs {
    /// The raw body, from a file or - for standard input.
    #[arg(long, value_name = "FILE|-", requires = "headers")]
    pub body: Option<String>,

    /// A header of the callback, as `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,

    /// The whole HTTP request as received (request line, headers, blank line, body), from a
    /// file or - for standard input.
    #[arg(long, value_name = "FILE|-", conflicts_with_all = ["body", "headers"])]
    pub raw_request: Option<String>,

    /// Verify as of this time, Unix epoch milliseconds (default: now).
    #[arg(long, value_name = "MS")]
    pub now_ms: Option<u64>,

    /// How far CurTime may be from now, in milliseconds [default: 300000]. 0 accepts only the
    /// same millisecond.
    #[arg(long, value_name = "MS", conflicts_with = "skip_time_check")]
    pub tolerance_ms: Option<u64>,

    /// Do not compare CurTime with the clock (replays are then accepted): only for
    /// re-verifying stored callbacks.
    #[arg(long)]
    pub skip_time_check: bool,
}

/// `Name: value`, split at the first `:`, both sides trimmed.
fn parse_header(arg: &str) -> Result<(String, String), String> {
    match arg.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err("expected 'Name: value' (a name, then ':')".to_owned()),
    }
}

#[derive(Debug, Args)]
pub struct SendCallbackArgs {
    /// Where to POST the callback: an http or https URL.
    pub url: String,

    /// Send a conference's call-end record instead of a two-party call's.
    #[arg(long, conflicts_with = "body_file")]
    pub conference: bool,

    /// Send the bytes of this file as the body instead of a sample record (a regular file of at
    /// most 1 MiB).
    #[arg(long, value_name = "PATH")]
    pub body_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MockArgs {
    /// Address to bind.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to bind (0: a free port, printed on start).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub port: u16,

    /// POST call-end callbacks there.
    #[arg(long, value_name = "URL")]
    pub callback_url: Option<String>,

    /// Register this accid instead of the samples' (repeatable).
    #[arg(long = "accid", value_name = "ACCID")]
    pub accids: Vec<String>,

    /// Real time from a start to its callback, in milliseconds [default: 20].
    #[arg(long, value_name = "N")]
    pub call_duration_ms: Option<u64>,

    /// Send every callback twice.
    #[arg(long)]
    pub duplicate_callbacks: bool,

    /// Try a delivery again this many times (after 1 s, then 2 s, ...) when the receiver is
    /// unreachable or answers 5xx; never after a 4xx. 0: one try.
    #[arg(long, value_name = "N", default_value_t = yunxin_ecp_mock::DEFAULT_COMMAND_CALLBACK_RETRIES,
          value_parser = clap::value_parser!(u32).range(0..=10))]
    pub callback_retries: u32,

    /// Answer every start with 403 no authorization.
    #[arg(long)]
    pub ecp_disabled: bool,

    /// Shift the mock's clock (its Date header and its signature window) by this many
    /// seconds; negative: behind.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub clock_skew_secs: i64,

    /// Stop when standard input closes (for a parent process).
    #[arg(long)]
    pub exit_on_stdin_eof: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Request headers captured from a failing client (lines `Name: value`; a whole HTTP
    /// request works too): says which signing rule they break.
    #[arg(long, value_name = "FILE|-")]
    pub captured_headers: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_has_examples_and_exit_codes() {
        for sub in Cli::command().get_subcommands() {
            let help = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(help.contains("Examples:"), "{}", sub.get_name());
            assert!(help.contains("Exit codes"), "{}", sub.get_name());
        }
    }
}
