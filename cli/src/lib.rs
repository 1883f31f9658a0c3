//! The `yunxin-ecp` command as a library, so that the same code runs as the Rust binary and as
//! the Python package's console script (through the native module): one implementation, one
//! set of exit codes.
//! `yunxin-ecp`: the operator's command for YunXin's server API. It signs, places and queries
//! ECP calls, verifies call-end callbacks and sends signed test ones, sends any other server API
//! request, runs the local mock, and diagnoses a 414, all through the `yunxin-ecp` library so that the terminal and the
//! application make the same decisions.
#![forbid(unsafe_code)]

mod args;
mod callback;
mod calls;
mod credentials;
mod doctor;
mod files;
mod mock;
mod output;
mod send_callback;

use std::ffi::OsString;

use clap::Parser;

use crate::args::{Cli, Command};

/// Runs the command line `args` (the program name first) and returns the exit code: 0 done,
/// 1 refused, 2 usage, 3 outcome unknown, 4 refused locally (see `--help`). Help and usage
/// errors are printed by clap, as the binary prints them.
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> u8 {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            print_usage_error(&e, &args);
            return u8::try_from(e.exit_code()).unwrap_or(2);
        }
    };
    output::install_logger(cli.global.verbose);
    let result = match &cli.command {
        Command::Sign(a) => calls::sign(&cli.global, a),
        Command::Call(a) => calls::call(&cli.global, a),
        Command::Conf(a) => calls::conf(&cli.global, a),
        Command::Query(a) => calls::query(&cli.global, a),
        Command::Request(a) => calls::request(&cli.global, a),
        Command::VerifyCallback(a) => callback::verify(&cli.global, a),
        Command::SendCallback(a) => send_callback::run(&cli.global, a),
        Command::Mock(a) => mock::run(&cli.global, a),
        Command::Doctor(a) => doctor::run(&cli.global, a),
    };
    match result {
        Ok(code) => code,
        Err(failure) => failure.report(cli.global.json),
    }
}

/// Prints clap's error (or help). clap quotes a refused value as it is, so an argument holding
/// a line break or an escape sequence (a value passed on from elsewhere) would reach the
/// terminal raw: the arguments are then parsed again escaped, and that error, about the same
/// argument, is the one shown.
fn print_usage_error(error: &clap::Error, args: &[OsString]) {
    if !error.use_stderr() {
        let _ = error.print();
        return;
    }
    let escaped: Vec<OsString> = args
        .iter()
        .map(|arg| {
            let text = arg.to_string_lossy();
            match output::escape(&text) {
                std::borrow::Cow::Owned(shown) => OsString::from(shown),
                std::borrow::Cow::Borrowed(_) => arg.clone(),
            }
        })
        .collect();
    if escaped == args {
        let _ = error.print();
        return;
    }
    match Cli::try_parse_from(&escaped) {
        Err(again) if again.kind() == error.kind() => {
            let _ = again.print();
        }
        _ => eprintln!(
            "error: an argument holds control characters or line breaks, and the command line \
             is not valid (see --help)"
        ),
    }
}
