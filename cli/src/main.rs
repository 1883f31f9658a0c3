//! `yunxin-ecp`: the operator's command for YunXin's server API (see the library's
//! documentation for what it does; this is only its entry point).
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(yunxin_ecp_cli::run(std::env::args_os()))
}
