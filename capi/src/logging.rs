//! The client's log events (request sent, response, retry, gave up: the core's `log` records
//! under the target `yunxin_ecp`, phone numbers masked, never a header, body or secret) handed
//! to a C function. One callback per process, as the `log` facade has one logger.

use std::ffi::{c_char, c_void};
use std::sync::RwLock;

use log::{Level, LevelFilter, Log, Metadata, Record};
use yunxin_ecp::blocking::events::TARGET;

use crate::error::{yx_error, yx_result};
use crate::panic::fallible;
use crate::strings::c_string;

/// How much a log event matters. Functions take and pass it as an `int32_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum yx_log_level {
    /// Nothing is logged (as a maximum level only).
    YX_LOG_OFF = 0,
    /// Not used by the client today.
    YX_LOG_ERROR = 1,
    /// A call gave up: `gave up` with the attempts, the reason and the advice.
    YX_LOG_WARN = 2,
    /// A retry: the reason and the delay.
    YX_LOG_INFO = 3,
    /// Each attempt: `request sent`, `response` or `no response`, with the elapsed time.
    YX_LOG_DEBUG = 4,
    /// Not used by the client today.
    YX_LOG_TRACE = 5,
}

/// A function that receives one log event: its level (a `yx_log_level` value), its target
/// (`"yunxin_ecp"`), the message with its `key=value` fields (e.g. `"retry id=1f0c9a2e
/// attempt=1 reason=api_503 delay_ms=200"`), and the `userdata` given to
/// `yx_set_log_callback()`. The strings are valid only during the call. It is called on the
/// thread that makes the request, and must return normally: no `longjmp`, no C++ exception and
/// no PHP `exit()` out of it, which would jump over the library's frames. A client call made
/// from inside it logs to it again.
pub type yx_log_callback = Option<
    unsafe extern "C" fn(
        level: i32,
        target: *const c_char,
        message: *const c_char,
        userdata: *mut c_void,
    ),
>;

#[derive(Clone, Copy)]
struct Sink {
    callback: unsafe extern "C" fn(i32, *const c_char, *const c_char, *mut c_void),
    /// Only handed back to the callback, never dereferenced here.
    userdata: usize,
}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// Not zero-sized: its address tells it apart from any other logger installed in the process
/// (zero-sized statics need not have distinct addresses).
struct CallbackLogger {
    _addressable: u8,
}

impl Log for CallbackLogger {
    /// Only the client's own events: the HTTP stack's debug lines (a dozen a request, some from
    /// other threads) are not part of the promise the callback's documentation makes.
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level() && metadata.target() == TARGET
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // Copied out, so that no lock is held while foreign code runs: a callback that never
        // returns (a PHP `exit()` inside it jumps past this frame) must not leave
        // `yx_set_log_callback` waiting forever.
        let sink = match SINK.read() {
            Ok(sink) => *sink,
            Err(poisoned) => *poisoned.into_inner(),
        };
        let Some(sink) = sink else { return };
        let level = match record.level() {
            Level::Error => yx_log_level::YX_LOG_ERROR,
            Level::Warn => yx_log_level::YX_LOG_WARN,
            Level::Info => yx_log_level::YX_LOG_INFO,
            Level::Debug => yx_log_level::YX_LOG_DEBUG,
            Level::Trace => yx_log_level::YX_LOG_TRACE,
        };
        let target = c_string(record.target());
        let message = c_string(record.args().to_string());
        // SAFETY: `yx_set_log_callback`'s contract: the function is callable with these
        // arguments from any thread for as long as it is set.
        unsafe {
            (sink.callback)(
                level as i32,
                target.as_ptr(),
                message.as_ptr(),
                sink.userdata as *mut c_void,
            );
        }
    }

    fn flush(&self) {}
}

static LOGGER: CallbackLogger = CallbackLogger { _addressable: 0 };

/// Sends the client's log events up to `max_level` (a `yx_log_level` value; `YX_LOG_DEBUG`
/// for every attempt, `YX_LOG_INFO` for retries and failures) to `callback`, with `userdata`
/// handed back on every call. A NULL `callback` or `YX_LOG_OFF` stops logging. Replaces any
/// earlier callback. No event starts after this returns; one already being delivered on another
/// thread may still finish (no lock is held while the callback runs, so the callback may itself
/// call this function), so keep what `userdata` points to alive a little longer.
///
/// `YX_INVALID_ARGUMENT` for a level outside `yx_log_level`, and when another logger of the
/// `log` facade owns the process (a Rust program linking the library statically that set its
/// own).
///
/// # Safety
/// `callback` must be NULL or a function safe to call from any thread, with `userdata`, until
/// it is replaced or removed; `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_set_log_callback(
    callback: yx_log_callback,
    userdata: *mut c_void,
    max_level: i32,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        let filter = [
            LevelFilter::Off,
            LevelFilter::Error,
            LevelFilter::Warn,
            LevelFilter::Info,
            LevelFilter::Debug,
            LevelFilter::Trace,
        ]
        .get(usize::try_from(max_level).unwrap_or(usize::MAX))
        .copied()
        .ok_or_else(|| yx_error::invalid_argument("max_level", "is not a yx_log_level value"))?;
        // Installing is idempotent: a second call finds our own logger in place.
        if log::set_logger(&LOGGER).is_err() && !std::ptr::addr_eq(log::logger(), &LOGGER) {
            return Err(yx_error::invalid_argument(
                "callback",
                "cannot be installed: another logger owns this process",
            ));
        }
        let sink = callback.map(|callback| Sink {
            callback,
            userdata: userdata as usize,
        });
        let filter = if sink.is_some() {
            filter
        } else {
            LevelFilter::Off
        };
        *SINK
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = sink;
        log::set_max_level(filter);
        Ok(())
    })
}
