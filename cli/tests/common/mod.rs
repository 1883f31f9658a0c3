//! What the command's test binaries share: the binary run with the samples' credentials and a
//! clean environment, and readers of what it printed.
#![allow(dead_code)] // each test binary uses its own part

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use yunxin_ecp_mock::{SAMPLE_APP_KEY, SAMPLE_APP_SECRET};

pub const BIN: &str = env!("CARGO_BIN_EXE_yunxin-ecp");

/// The variables the command (through the core) reads, removed so that the machine's own
/// settings cannot steer a test: credentials, base URL, proxies, and CGI's marker.
const OURS: &[&str] = &[
    "YUNXIN_APP_KEY",
    "YUNXIN_APP_SECRET",
    "YUNXIN_BASE_URL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "REQUEST_METHOD",
];

/// The binary with the samples' credentials in its environment and nothing else of ours.
pub fn bare_cmd() -> Command {
    let mut cmd = Command::new(BIN);
    for var in OURS {
        cmd.env_remove(var);
    }
    cmd.env("YUNXIN_APP_KEY", SAMPLE_APP_KEY)
        .env("YUNXIN_APP_SECRET", SAMPLE_APP_SECRET);
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("the binary runs")
}

pub fn code(output: &Output) -> i32 {
    output.status.code().expect("exited")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(output), stderr(output)))
}

/// A file in the temporary directory, removed when the returned path is dropped.
pub fn temp_file(contents: &[u8]) -> tempfile::TempPath {
    let mut file = tempfile::Builder::new()
        .prefix("yunxin-ecp-cli-test-")
        .tempfile()
        .unwrap();
    file.write_all(contents).unwrap();
    file.into_temp_path()
}
