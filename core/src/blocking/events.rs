//! The client's log events, under the target [`TARGET`] (`yunxin_ecp`), through the `log`
//! facade.
//!
//! `log` rather than `tracing`: the Python package forwards events to the standard `logging`
//! module through pyo3-log, which speaks `log`; `log` is also the lighter dependency (no
//! subscriber machinery in a library that only emits a handful of lines per request), and
//! `tracing` subscribers read `log` records anyway through `tracing-log`.
//!
//! The events themselves (`request sent`, `response`, `no response`, `retry`, `gave up`) are
//! the exchange's, as data ([`crate::exchange::events`]); this logs them, and the client's own
//! first event:
//!
//! | level | message | fields |
//! |---|---|---|
//! | debug | `client ready` | `base_url`, `proxy` (the environment variable it came from, or `none`) |

use log::Level;

use crate::exchange::events::{self, Event};
use crate::mask::mask_numbers;
use crate::request::BaseUrl;

/// The target every event of the client is logged under.
pub const TARGET: &str = "yunxin_ecp";

/// The first event of a client: where its requests go, and through which proxy, so that a
/// base URL or a proxy taken from the environment is never a surprise.
pub(super) fn client_ready(base_url: &BaseUrl, proxy: Option<&str>) {
    log::debug!(target: TARGET, "{}", client_ready_text(base_url, proxy));
}

/// The text of the `client ready` event, for clients on other HTTP stacks (the Python
/// `AsyncClient`) that log it themselves.
pub fn client_ready_text(base_url: &BaseUrl, proxy: Option<&str>) -> String {
    format!(
        "client ready base_url={} proxy={}",
        mask_numbers(base_url.as_str()),
        proxy.unwrap_or("none")
    )
}

/// Logs an exchange's events (see [`crate::exchange::events`] for what they are and say).
pub(super) fn emit(events: Vec<Event>) {
    for event in events {
        let level = match event.level {
            events::Level::Debug => Level::Debug,
            events::Level::Info => Level::Info,
            events::Level::Warn => Level::Warn,
        };
        log::log!(target: TARGET, level, "{event}");
    }
}
