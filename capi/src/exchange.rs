//! The core's sans-IO exchange for a C program with its own HTTP stack (libcurl, an event
//! loop, ...): the library signs each attempt afresh, refuses redirects, caps and reads the
//! answer, decides whether and when to send again, and reports events; the program only sends
//! what it is given and says what happened. Its decisions are the blocking client's, which
//! drives the same exchange.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use serde::Serialize;
use yunxin_ecp::exchange::{Answer, AnyRequest, Exchange, FixedEntropy, Next};
use yunxin_ecp::settings::ClientSettings;
use yunxin_ecp::views::RecordView;
use yunxin_ecp::{CallRecord, TransportErrorKind};

use crate::args::{self, Out, bytes_arg, opt_str_arg};
use crate::error::{Fallible, yx_error, yx_result, yx_retry_advice};
use crate::json::to_json;
use crate::panic::fallible;
use crate::requests::{Request, yx_prepared_request, yx_request};
use crate::responses::yx_call_record;
use crate::signing::yx_credentials;

/// One request's exchange with the service, from its first attempt to its answer or error.
/// Create with `yx_exchange_new()`, free with `yx_exchange_free()`.
///
/// The loop a program writes (error handling of its own HTTP code left out):
///
/// ```c
/// yx_exchange *ex = NULL;
/// yx_prepared_request *req = NULL;
/// yx_attempt_limits limits;
/// yx_error *err = NULL;
/// char *answer = NULL;
/// int64_t wait_ms = -1;
/// yx_result r = yx_exchange_new(creds, request, NULL, NULL, &ex, &err);
/// while (r == YX_OK && (r = yx_exchange_send(ex, &req, &limits, &err)) == YX_OK) {
///   // POST yx_prepared_request_body(req) to yx_prepared_request_url(req) with its headers,
///   // redirects off, within limits; then exactly one of:
///   if (answered)
///     r = yx_exchange_receive(ex, status, location, body, body_len, ms, &wait_ms, &answer, &err);
///   else if (body_over_limit)
///     r = yx_exchange_too_large(ex, status, ms, &wait_ms, &answer, &err);
///   else
///     r = yx_exchange_fail(ex, YX_TRANSPORT_TIMEOUT, maybe_sent, "timed out", ms, &wait_ms,
///                          &answer, &err);
///   yx_prepared_request_free(req);
///   if (r != YX_OK || wait_ms < 0) break;  // done: the error in err, or the answer
///   sleep_ms(wait_ms);                     // then the next attempt
/// }
/// // r == YX_OK: answer holds the result; else err says why, with its retry advice and
/// // whether the request may have been sent.
/// ```
///
/// Not shareable: one thread at a time (it may move between threads). Events (what the
/// `yx_set_log_callback()` logger receives from the client) are read with
/// `yx_exchange_events_json()`.
pub struct yx_exchange {
    inner: Exchange,
    entropy: FixedEntropy,
    /// The record a query's exchange ended with, for `yx_exchange_record()`.
    record: Option<CallRecord>,
}

/// What an attempt must be sent within, from the settings: written by `yx_exchange_send()`
/// beside the request.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct yx_attempt_limits {
    /// Time allowed to open the connection (libcurl: `CURLOPT_CONNECTTIMEOUT_MS`).
    pub connect_timeout_ms: u64,
    /// Time allowed for the whole attempt, connect to the last byte (`CURLOPT_TIMEOUT_MS`).
    pub timeout_ms: u64,
    /// The most answer bytes to read: past it, stop reading and call `yx_exchange_too_large()`.
    pub max_response_bytes: u64,
}

/// Why no complete answer came, for `yx_exchange_fail()`, which takes it as an `int32_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum yx_transport_kind {
    /// Resolving the host or opening the connection failed.
    YX_TRANSPORT_CONNECT = 1,
    /// A timeout expired (connect, send, or waiting for the answer).
    YX_TRANSPORT_TIMEOUT = 2,
    /// The TLS handshake or certificate verification failed.
    YX_TRANSPORT_TLS = 3,
    /// The connection broke (reset, closed early) or another I/O error.
    YX_TRANSPORT_IO = 4,
}

fn transport_kind(value: i32) -> Fallible<TransportErrorKind> {
    Ok(match value {
        1 => TransportErrorKind::Connect,
        2 => TransportErrorKind::Timeout,
        3 => TransportErrorKind::Tls,
        4 => TransportErrorKind::Io,
        _ => {
            return Err(yx_error::invalid_argument(
                "kind",
                "is not a yx_transport_kind value",
            ));
        }
    })
}

/// A new exchange for `request` (any kind: a start, a query or another API's request; copied,
/// so it may be freed afterwards), signed with `credentials` (copied too).
///
/// `settings_json` is as for `yx_client_new()` (NULL for the defaults, the base URL from
/// `YUNXIN_BASE_URL` when set): the base URL, the timeouts and size cap each attempt is given,
/// the retries and their backoff. Refused settings are `YX_VALIDATION` naming the setting.
///
/// `entropy_json` is NULL in production: each attempt gets a fresh nonce from the OS, the
/// clock's time and random jitter. Tests that reproduce a conversation exactly (as
/// `tests/vectors/exchanges.json` scripts them) fix any of them with a JSON object:
/// `"nonces"` (strings, one per attempt in order, the last one repeated), `"now_secs"` (the
/// `CurTime` of every attempt) and `"jitter"` (the 32-bit value every backoff's spread and the
/// events' id are drawn from). A fixed nonce must never be sent to the service: a nonce is for
/// one request only. Anything else in it is `YX_INVALID_ARGUMENT` naming `entropy_json`.
///
/// # Safety
/// `credentials` and `request` must be NULL or live handles; `settings_json` and
/// `entropy_json` NULL or NUL-terminated; `exchange_out` and `err_out` NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_exchange_new(
    credentials: *const yx_credentials,
    request: *const yx_request,
    settings_json: *const c_char,
    entropy_json: *const c_char,
    exchange_out: *mut *mut yx_exchange,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (creds, request, settings, entropy, out) = unsafe {
            (
                args::handle(credentials, "credentials")?,
                args::handle(request, "request")?,
                opt_str_arg(settings_json, "settings_json")?,
                opt_str_arg(entropy_json, "entropy_json")?,
                Out::new(exchange_out, "exchange_out")?,
            )
        };
        let settings = match settings {
            Some(json) => ClientSettings::from_json(json)?,
            None => ClientSettings::from_env()?,
        };
        let entropy = match entropy {
            // A test's fixing, refused as an invalid argument: it is no setting of the service.
            Some(json) => FixedEntropy::from_json(json, "entropy_json")
                .map_err(|e| yx_error::invalid_argument(e.field, &e.rule.to_string()))?,
            None => FixedEntropy::default(),
        };
        let request: AnyRequest = match &request.inner {
            Request::Call(r) => r.clone().into(),
            Request::Conf(r) => r.clone().into(),
            Request::Query(r) => r.clone().into(),
            Request::Api(r) => r.clone().into(),
        };
        let inner = Exchange::new(request, creds.inner.clone(), &settings)?;
        out.handle(yx_exchange {
            inner,
            entropy,
            record: None,
        });
        Ok(())
    })
}

/// Frees an exchange (done or not: freeing one in flight abandons it; call
/// `yx_exchange_cancel()` first to learn whether a start may have been placed). `NULL` is a
/// no-op.
///
/// # Safety
/// `exchange` must be NULL or a live handle, not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_exchange_free(exchange: *mut yx_exchange) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(exchange) }
}

/// The next attempt, signed now with a fresh nonce: writes the request to send to
/// `*prepared_out` (read it with the `yx_prepared_request_*` accessors, free it with
/// `yx_prepared_request_free()`) and the limits to send it within to `*limits_out`. Call it
/// first, and again after a retry's wait. Never follow a redirect: a 3xx goes to
/// `yx_exchange_receive()` as it came.
///
/// Errors: `YX_VALIDATION` with field `exchange`, rule `"conflict"`, while an attempt's
/// outcome has not been fed back or once the exchange is done; `YX_ENTROPY` (which ends it).
///
/// # Safety
/// `exchange` must be NULL or a live handle not used by another thread during the call;
/// `prepared_out`, `limits_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_exchange_send(
    exchange: *mut yx_exchange,
    prepared_out: *mut *mut yx_prepared_request,
    limits_out: *mut yx_attempt_limits,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (ex, prepared, limits) = unsafe {
            (
                args::handle_mut(exchange, "exchange")?,
                Out::new(prepared_out, "prepared_out")?,
                Out::new(limits_out, "limits_out")?,
            )
        };
        let attempt = ex.inner.send(&mut ex.entropy)?;
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        prepared.handle(yx_prepared_request::new(&attempt.request));
        limits.write(yx_attempt_limits {
            connect_timeout_ms: millis(attempt.connect_timeout),
            timeout_ms: millis(attempt.timeout),
            max_response_bytes: attempt.max_response_bytes,
        });
        Ok(())
    })
}

/// The out-parameters every step writes: the wait, and the answer when done.
struct NextOut {
    retry_after_ms: Out<i64>,
    answer: Out<*mut c_char>,
}

impl NextOut {
    /// Checks the two out-parameters.
    ///
    /// # Safety
    /// Each must be NULL or valid for a write.
    unsafe fn new(retry_after_ms_out: *mut i64, answer_out: *mut *mut c_char) -> Fallible<Self> {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            Ok(NextOut {
                retry_after_ms: Out::new(retry_after_ms_out, "retry_after_ms_out")?,
                answer: Out::new(answer_out, "answer_out")?,
            })
        }
    }

    /// Writes what `next` says: a wait, or the answer (and keeps a query's record); an error
    /// that ended the exchange is returned.
    fn write(self, ex: &mut yx_exchange, next: Next) -> Fallible<()> {
        let answer = match next {
            Next::Retry { after } => {
                let ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
                self.retry_after_ms.write(ms);
                return Ok(());
            }
            Next::Done(result) => result?,
        };
        let text = match answer {
            Answer::Started(started) => started.session,
            Answer::Record(record) => {
                let json = to_json(&RecordView::new(&record))?;
                ex.record = Some(*record);
                json
            }
            Answer::Json(value) => to_json(&value)?,
        };
        self.retry_after_ms.write(-1);
        self.answer.string(text);
        Ok(())
    }
}

/// The answer to the attempt in flight: its HTTP `status`, its `Location` header (NULL when
/// absent; only a 3xx's is used, to name where a refused redirect pointed), its whole body
/// (`body_len` bytes, at most the attempt's `max_response_bytes`), and `elapsed_ms`, how long
/// the attempt took (for the events).
///
/// On `YX_OK`, `*retry_after_ms_out` says what next:
/// - `>= 0`: wait that many milliseconds, then call `yx_exchange_send()` again;
/// - `-1`: done, and `*answer_out` holds the answer (free with `yx_string_free`): for a start
///   the session id (as `yx_client_start()` writes it), for a query the record's JSON (as
///   `yx_call_record_to_json()`; `yx_exchange_record()` gives the record itself), for another
///   API's request its whole JSON body (as `yx_client_request()`).
///
/// Any other result means the exchange is done and failed: `*err_out` has the error, with
/// its retry advice and whether the request may have been sent (a start whose error says
/// `YX_RETRY_OUTCOME_UNKNOWN` may have placed a call: query before placing it again). Called
/// with no attempt in flight (before `yx_exchange_send()`, twice for one attempt, or once
/// done): `YX_VALIDATION` with field `exchange`, rule `"conflict"`.
///
/// # Safety
/// `exchange` must be NULL or a live handle not used by another thread during the call;
/// `location` NULL or NUL-terminated; `body` NULL or valid for reads of `body_len` bytes (NULL
/// only when `body_len` is 0); `retry_after_ms_out`, `answer_out` and `err_out` NULL or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_exchange_receive(
    exchange: *mut yx_exchange,
    status: u16,
    location: *const c_char,
    body: *const c_void,
    body_len: usize,
    elapsed_ms: u64,
    retry_after_ms_out: *mut i64,
    answer_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (ex, location, body, out) = unsafe {
            (
                args::handle_mut(exchange, "exchange")?,
                opt_str_arg(location, "location")?,
                bytes_arg(body, body_len, "body")?,
                NextOut::new(retry_after_ms_out, answer_out)?,
            )
        };
        let elapsed = Duration::from_millis(elapsed_ms);
        let next = ex
            .inner
            .receive(status, location, body, elapsed, &mut ex.entropy);
        out.write(ex, next)
    })
}

/// The attempt's answer (HTTP `status`) was longer than its `max_response_bytes`, and its
/// reading was stopped there. What next, as for `yx_exchange_receive()`.
///
/// # Safety
/// `exchange` must be NULL or a live handle not used by another thread during the call;
/// `retry_after_ms_out`, `answer_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_exchange_too_large(
    exchange: *mut yx_exchange,
    status: u16,
    elapsed_ms: u64,
    retry_after_ms_out: *mut i64,
    answer_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (ex, out) = unsafe {
            (
                args::handle_mut(exchange, "exchange")?,
                NextOut::new(retry_after_ms_out, answer_out)?,
            )
        };
        let elapsed = Duration::from_millis(elapsed_ms);
        let next = ex.inner.too_large(status, elapsed, &mut ex.entropy);
        out.write(ex, next)
    })
}

/// No complete answer came: `kind` (a `yx_transport_kind` value) is the step that failed;
/// `maybe_sent` is 0 only when the request provably never left (the host did not resolve or
/// the connection was never opened: with libcurl `CURLE_COULDNT_RESOLVE_HOST` or
/// `CURLE_COULDNT_CONNECT` with `CURLINFO_REQUEST_SIZE` 0), else 1, since a start that may have
/// arrived may have placed a call. Let the HTTP stack send each attempt once: no silent re-send
/// (libcurl: `CURLOPT_FRESH_CONNECT` and `CURLOPT_FORBID_REUSE`, or it re-sends a POST whose kept
/// connection closed, then reports a connect failure of that re-send); `detail` is what the HTTP stack said (NULL for none; it goes into the error, never
/// into the events). What next, as for `yx_exchange_receive()`.
///
/// # Safety
/// `exchange` must be NULL or a live handle not used by another thread during the call;
/// `detail` NULL or NUL-terminated; `retry_after_ms_out`, `answer_out` and `err_out` NULL or
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_exchange_fail(
    exchange: *mut yx_exchange,
    kind: i32,
    maybe_sent: i32,
    detail: *const c_char,
    elapsed_ms: u64,
    retry_after_ms_out: *mut i64,
    answer_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (ex, detail, out) = unsafe {
            (
                args::handle_mut(exchange, "exchange")?,
                opt_str_arg(detail, "detail")?,
                NextOut::new(retry_after_ms_out, answer_out)?,
            )
        };
        let kind = transport_kind(kind)?;
        let elapsed = Duration::from_millis(elapsed_ms);
        let next = ex.inner.fail(
            kind,
            maybe_sent != 0,
            detail.unwrap_or(""),
            elapsed,
            &mut ex.entropy,
        );
        out.write(ex, next)
    })
}

/// The program gives up on the exchange (a shutdown, an outer deadline), with an attempt
/// possibly in flight: `maybe_sent` 1 if that attempt may have left. Writes the advice for the
/// request to `*advice_out`: `YX_RETRY_OUTCOME_UNKNOWN` when it may have taken effect (a
/// start, or a request not marked idempotent, that may have been sent: query before sending
/// it again; a `cancelled` event says so), else `YX_RETRY_SAFE`. The exchange is done after.
///
/// # Safety
/// `exchange` must be NULL or a live handle not used by another thread during the call;
/// `advice_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_exchange_cancel(
    exchange: *mut yx_exchange,
    maybe_sent: i32,
    advice_out: *mut yx_retry_advice,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (ex, out) = unsafe {
            (
                args::handle_mut(exchange, "exchange")?,
                Out::new(advice_out, "advice_out")?,
            )
        };
        out.write(ex.inner.cancel(maybe_sent != 0).into());
        Ok(())
    })
}

/// One event, as `yx_exchange_events_json()` writes it.
#[derive(Serialize)]
struct EventLine {
    level: &'static str,
    line: String,
}

/// Writes the events recorded since the last call (oldest first) as a JSON array to
/// `*json_out` (free with `yx_string_free`), and forgets them: `[{"level":"debug","line":
/// "request sent id=1f0c9a2e endpoint=start_call path=/call/ecp/startcall.action attempt=1"},
/// ...]`. `level` is `"debug"` (each attempt: `request sent`, `response`, `no response`),
/// `"info"` (`retry`) or `"warn"` (`gave up`, `cancelled`); `line` is what the client logs
/// through `yx_set_log_callback()`: no header, body or secret, phone numbers masked. Call it
/// after each step to log as the exchange goes.
///
/// # Safety
/// `exchange` must be NULL or a live handle not used by another thread during the call;
/// `json_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_exchange_events_json(
    exchange: *mut yx_exchange,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (ex, out) = unsafe {
            (
                args::handle_mut(exchange, "exchange")?,
                Out::new(json_out, "json_out")?,
            )
        };
        let lines: Vec<EventLine> = ex
            .inner
            .take_events()
            .into_iter()
            .map(|e| EventLine {
                level: e.level.code(),
                line: e.to_string(),
            })
            .collect();
        out.string(to_json(&lines)?);
        Ok(())
    })
}

/// The record a query's exchange ended with, as a handle for the `yx_call_record_*`
/// accessors (a copy: free it with `yx_call_record_free()`). `YX_INVALID_ARGUMENT` for an
/// exchange that has not ended with a record (another request's, or one not done or failed).
///
/// # Safety
/// `exchange` must be NULL or a live handle not used by another thread during the call;
/// `record_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_exchange_record(
    exchange: *const yx_exchange,
    record_out: *mut *mut yx_call_record,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (ex, out) = unsafe {
            (
                args::handle(exchange, "exchange")?,
                Out::new(record_out, "record_out")?,
            )
        };
        let record = ex.record.clone().ok_or_else(|| {
            yx_error::invalid_argument("exchange", "has not ended with a call record")
        })?;
        out.handle(yx_call_record::new(record));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::yx_error_free;
    use crate::requests::{yx_request_free, yx_start_call_new};
    use crate::signing::{yx_credentials_free, yx_credentials_new};
    use crate::strings::yx_string_free;
    use std::ffi::CStr;
    use std::ptr;

    /// Runs `body` with a start-call exchange on fixed entropy, then frees everything.
    fn with_exchange(body: impl FnOnce(*mut yx_exchange)) {
        let (mut creds, mut call, mut ex) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        // SAFETY: literals and valid out-parameters; every handle is freed once below.
        unsafe {
            let mut err = ptr::null_mut();
            let r = yx_credentials_new(c"key".as_ptr(), c"secret".as_ptr(), &mut creds, &mut err);
            assert_eq!(r, yx_result::YX_OK);
            let r = yx_start_call_new(
                c"liuxuanlin".as_ptr(),
                c"13888888888".as_ptr(),
                c"13777777777".as_ptr(),
                100,
                &mut call,
                &mut err,
            );
            assert_eq!(r, yx_result::YX_OK);
            let r = yx_exchange_new(
                creds,
                call,
                cr#"{"base_url":"http://127.0.0.1:9","backoff_ms":200}"#.as_ptr(),
                cr#"{"nonces":["n1","n2"],"now_secs":1440570500,"jitter":0}"#.as_ptr(),
                &mut ex,
                &mut err,
            );
            assert_eq!(r, yx_result::YX_OK);
            yx_request_free(call);
            yx_credentials_free(creds);
            body(ex);
            yx_exchange_free(ex);
        }
    }

    fn kind_of(r: yx_result, err: *mut yx_error) -> yx_result {
        assert!(!err.is_null());
        // SAFETY: an error object just returned, freed once.
        unsafe {
            assert_eq!((*err).kind, r);
            yx_error_free(err);
        }
        r
    }

    #[test]
    fn a_start_rate_limited_then_placed() {
        with_exchange(|ex| {
            let mut prepared = ptr::null_mut();
            let mut limits = yx_attempt_limits {
                connect_timeout_ms: 0,
                timeout_ms: 0,
                max_response_bytes: 0,
            };
            let (mut wait, mut answer, mut err) = (7i64, ptr::null_mut(), ptr::null_mut());
            // SAFETY: a live exchange and valid out-parameters.
            unsafe {
                let r = yx_exchange_send(ex, &mut prepared, &mut limits, &mut err);
                assert_eq!(r, yx_result::YX_OK);
                assert_eq!(limits.connect_timeout_ms, 5000);
                assert_eq!(limits.timeout_ms, 15000);
                assert_eq!(limits.max_response_bytes, 1 << 20);
                crate::requests::yx_prepared_request_free(prepared);
                let busy = br#"{"code":416}"#;
                let r = yx_exchange_receive(
                    ex,
                    200,
                    ptr::null(),
                    busy.as_ptr().cast(),
                    busy.len(),
                    1,
                    &mut wait,
                    &mut answer,
                    &mut err,
                );
                assert_eq!((r, wait), (yx_result::YX_OK, 100));
                assert!(answer.is_null());
                let r = yx_exchange_send(ex, &mut prepared, &mut limits, &mut err);
                assert_eq!(r, yx_result::YX_OK);
                crate::requests::yx_prepared_request_free(prepared);
                let ok = br#"{"code":200,"obj":{"session":"s-1"}}"#;
                let r = yx_exchange_receive(
                    ex,
                    200,
                    ptr::null(),
                    ok.as_ptr().cast(),
                    ok.len(),
                    1,
                    &mut wait,
                    &mut answer,
                    &mut err,
                );
                assert_eq!((r, wait), (yx_result::YX_OK, -1));
                assert_eq!(CStr::from_ptr(answer).to_str().unwrap(), "s-1");
                yx_string_free(answer);
                // A start has no record; and the exchange is over.
                let mut record = ptr::null_mut();
                let r = yx_exchange_record(ex, &mut record, &mut err);
                assert_eq!(kind_of(r, err), yx_result::YX_INVALID_ARGUMENT);
                let r = yx_exchange_send(ex, &mut prepared, &mut limits, &mut err);
                assert_eq!(kind_of(r, err), yx_result::YX_VALIDATION);
                let mut json = ptr::null_mut();
                let r = yx_exchange_events_json(ex, &mut json, &mut err);
                assert_eq!(r, yx_result::YX_OK);
                let events: serde_json::Value =
                    serde_json::from_str(CStr::from_ptr(json).to_str().unwrap()).unwrap();
                yx_string_free(json);
                let levels: Vec<&str> = events
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["level"].as_str().unwrap())
                    .collect();
                assert_eq!(levels, ["debug", "debug", "info", "debug", "debug"]);
                let retry = events[2]["line"].as_str().unwrap();
                assert!(retry.starts_with("retry id=00000000 attempt=1 reason=api_416"));
            }
        });
    }

    #[test]
    fn misuse_and_null_arguments_are_named_errors() {
        with_exchange(|ex| {
            let (mut wait, mut answer, mut err) = (0i64, ptr::null_mut(), ptr::null_mut());
            // SAFETY: a live exchange, NULL where tested, valid out-parameters elsewhere.
            unsafe {
                // Before any send.
                let r = yx_exchange_too_large(ex, 200, 1, &mut wait, &mut answer, &mut err);
                assert_eq!(kind_of(r, err), yx_result::YX_VALIDATION);
                let r = yx_exchange_fail(
                    ptr::null_mut(),
                    1,
                    0,
                    ptr::null(),
                    1,
                    &mut wait,
                    &mut answer,
                    &mut err,
                );
                assert_eq!(kind_of(r, err), yx_result::YX_NULL_ARGUMENT);
                let r =
                    yx_exchange_fail(ex, 9, 0, ptr::null(), 1, &mut wait, &mut answer, &mut err);
                assert_eq!(kind_of(r, err), yx_result::YX_INVALID_ARGUMENT);
                let r = yx_exchange_too_large(ex, 200, 1, ptr::null_mut(), &mut answer, &mut err);
                assert_eq!(kind_of(r, err), yx_result::YX_NULL_ARGUMENT);
                let mut advice = yx_retry_advice::YX_RETRY_NEVER;
                let r = yx_exchange_cancel(ex, 1, &mut advice, &mut err);
                // Nothing was in flight: nothing can have been placed.
                assert_eq!(
                    (r, advice),
                    (yx_result::YX_OK, yx_retry_advice::YX_RETRY_SAFE)
                );
            }
        });
    }
}
