//! `yunxin-ecp`: the operator's command for YunXin's server API. It signs, places and queries
//! ECP calls, verifies call-end callbacks, sends any other server API request, runs the local
//! mock, and diagnoses a 414, all through the `yunxin-ecp` library so that the terminal and the
//! application make the same decisions.
#![forbid(unsafe_code)]

mod args;
mod callback;
mod calls;
mod credentials;
mod doctor;
mod mock;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::install_logger(cli.global.verbose);
    let result = match &cli.command {
        Command::Sign(a) => calls::sign(&cli.global, a),
        Command::Call(a) => calls::call(&cli.global, a),
        Command::Conf(a) => calls::conf(&cli.global, a),
        Command::Query(a) => calls::query(&cli.global, a),
        Command::Request(a) => calls::request(&cli.global, a),
        Command::VerifyCallback(a) => callback::verify(&cli.global, a),
        Command::Mock(a) => mock::run(&cli.global, a),
        Command::Doctor(a) => doctor::run(&cli.global, a),
    };
    match result {
        Ok(code) => code,
        Err(failure) => failure.report(cli.global.json),
    }
}
