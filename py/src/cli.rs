//! The `yunxin-ecp` console script (the command's own code, not a second implementation) and
//! the bridge that hands the client's log events to Python's `logging`.

use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3_log::{Caching, Logger, ResetHandle};

/// The bridge's cache of Python loggers and their levels, to be dropped when the application
/// changes its logging configuration after the first event.
static LOGGING: OnceLock<ResetHandle> = OnceLock::new();

/// Sends the events of the target `yunxin_ecp` (request sent, response, retry, gave up: never a
/// header, a body or a phone number) to the Python logger of the same name. Loggers and levels
/// are cached, so a disabled level costs no GIL; if another extension already installed a
/// `log` logger, that one keeps the events.
pub fn install_logging(py: Python<'_>) {
    if LOGGING.get().is_some() {
        return;
    }
    if let Ok(logger) = Logger::new(py, Caching::LoggersAndLevels)
        && let Ok(handle) = logger.install()
    {
        let _ = LOGGING.set(handle);
    }
}

/// Makes the log bridge read Python's logging configuration again: needed only when levels or
/// handlers change after the library has logged (the bridge caches them for speed).
#[pyfunction]
pub fn refresh_logging() {
    if let Some(handle) = LOGGING.get() {
        handle.reset();
    }
}

/// Runs the command line ``argv`` (program name first) with the GIL released, and returns the
/// exit code.
#[pyfunction]
pub fn run_cli(py: Python<'_>, argv: Vec<String>) -> u8 {
    refresh_logging();
    py.detach(|| yunxin_ecp_cli::run(argv))
}
