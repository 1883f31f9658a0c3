//! Repeated deliveries of one callback: the core's bounded in-memory store behind a handle, claimed
//! by the key and expiry `yx_callback_verifier_verify_delivery()` gives.
//!
//! A store of the program's own (Redis, a database table) is not called through the library: a
//! program, or a wrapper (PHP, C#), calls it itself with the same key and expiry, so that no
//! code of theirs ever runs under a library frame.

use std::ffi::c_char;

use yunxin_ecp::deliveries::{Claim, DeliveryKey, DeliveryStore, MemoryStore, StoreError};
use yunxin_ecp::settings::{json_object, json_u64};
use yunxin_ecp::signing::unix_millis_now;
use yunxin_ecp::{Rule, ValidationError};

use crate::args::{self, Out, opt_str_arg, str_arg};
use crate::error::{Fallible, yx_error, yx_result};
use crate::panic::fallible;

/// What a duplicate guard says of a delivery it is asked to claim.
/// `yx_delivery_guard_claim()` writes it as an `int32_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum yx_claim {
    /// Not seen before (or released): it is now in progress; handle it, then
    /// `yx_delivery_guard_complete()` it, or `yx_delivery_guard_release()` it if handling failed.
    YX_CLAIM_FIRST = 1,
    /// Handled before: answer 200 (`yx_callback_answer("duplicate")`) and do not handle it again.
    YX_CLAIM_DUPLICATE = 2,
    /// Being handled right now by another request: answer 409
    /// (`yx_callback_answer("in_progress")`), so that the sender tries again later.
    YX_CLAIM_IN_PROGRESS = 3,
}

impl From<Claim> for yx_claim {
    fn from(claim: Claim) -> Self {
        match claim {
            Claim::First => yx_claim::YX_CLAIM_FIRST,
            Claim::Duplicate => yx_claim::YX_CLAIM_DUPLICATE,
            Claim::InProgress => yx_claim::YX_CLAIM_IN_PROGRESS,
        }
    }
}

/// Deliveries already accepted, kept in this process: each only while a repeat of it would pass
/// the verifier's time check, and at most a capacity of them (when full, the one closest to
/// being forgotten makes room, counted by `yx_delivery_guard_evicted()`). Create with
/// `yx_delivery_guard_new()`, free with `yx_delivery_guard_free()`.
///
/// Each claim, completion and release is atomic: any number of threads may use one guard at
/// once, and two requests carrying the same delivery at once get one `YX_CLAIM_FIRST` between
/// them. With several processes, keep deliveries in a shared store of your own instead (Redis
/// `SET key pending NX PXAT expires_at_ms`, then `SET key done`, or `DEL`), with the same key
/// and expiry.
pub struct yx_delivery_guard {
    inner: MemoryStore,
}

/// The keys of a guard's options.
const GUARD_OPTIONS: &[&str] = &["capacity"];

/// A guard of deliveries kept in memory.
///
/// `options_json` is NULL for the defaults, or a JSON object:
/// - `"capacity"`: the most deliveries held (default 100000, about 330 a second for the five
///   minutes a repeat passes the time check; some 20 MiB at most). 0 is `YX_VALIDATION`
///   (field `capacity`).
///
/// An unknown or repeated key (field `options`), or a value of the wrong type, is
/// `YX_VALIDATION` naming it.
///
/// # Safety
/// `options_json` must be NULL or NUL-terminated; `guard_out` and `err_out` NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_delivery_guard_new(
    options_json: *const c_char,
    guard_out: *mut *mut yx_delivery_guard,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (options, out) = unsafe {
            (
                opt_str_arg(options_json, "options_json")?,
                Out::new(guard_out, "guard_out")?,
            )
        };
        let mut capacity = yunxin_ecp::deliveries::DEFAULT_CAPACITY;
        for (key, value) in json_object(options.unwrap_or("{}"), "options", GUARD_OPTIONS)? {
            let wanted = json_u64(key, &value)?;
            capacity =
                usize::try_from(wanted).map_err(|_| ValidationError::new(key, Rule::NotInteger))?;
        }
        out.handle(yx_delivery_guard {
            inner: MemoryStore::new(capacity)?,
        });
        Ok(())
    })
}

/// Frees a guard and what it holds. `NULL` is a no-op.
///
/// # Safety
/// `guard` must be NULL or a live handle, not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_delivery_guard_free(guard: *mut yx_delivery_guard) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(guard) }
}

/// The key argument: the 40 hex characters of a `yx_delivery`'s `key`.
///
/// # Safety
/// `key` must be NULL or NUL-terminated.
unsafe fn key_arg(key: *const c_char) -> Fallible<DeliveryKey> {
    // SAFETY: forwarded from this function's contract.
    let text = unsafe { str_arg(key, "key")? };
    DeliveryKey::from_hex(text).ok_or_else(|| {
        yx_error::invalid_argument(
            "key",
            "is not a delivery key (the 40 hex characters of a yx_delivery's key)",
        )
    })
}

/// The memory store cannot fail; the type says it could.
fn stored<T>(result: Result<T, StoreError>) -> Fallible<T> {
    result.map_err(|e| yx_error::new(yx_result::YX_OTHER, e.to_string()))
}

/// Claims a verified delivery before handling it: `key` and `expires_at_ms` as
/// `yx_callback_verifier_verify_delivery()` gave them, `now_ms` 0 to read the clock (what a web
/// handler passes) or Unix epoch milliseconds. Writes a `yx_claim` value to `*claim_out`:
/// `YX_CLAIM_FIRST` (handle it, then complete or release it), `YX_CLAIM_DUPLICATE` or
/// `YX_CLAIM_IN_PROGRESS` (answer with `yx_callback_answer()` of `"duplicate"` or
/// `"in_progress"`, without handling it).
///
/// A `key` that is not 40 hex characters is `YX_INVALID_ARGUMENT` naming `key`.
///
/// # Safety
/// `guard` must be NULL or a live handle; `key` NULL or NUL-terminated; `claim_out` and
/// `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_delivery_guard_claim(
    guard: *const yx_delivery_guard,
    key: *const c_char,
    expires_at_ms: u64,
    now_ms: u64,
    claim_out: *mut i32,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (guard, key, out) = unsafe {
            (
                args::handle(guard, "guard")?,
                key_arg(key)?,
                Out::new(claim_out, "claim_out")?,
            )
        };
        let now_ms = if now_ms == 0 {
            unix_millis_now()
        } else {
            yunxin_ecp::validate::epoch_millis("now_ms", now_ms)?
        };
        let claim = stored(guard.inner.claim(&key, expires_at_ms, now_ms))?;
        out.write(yx_claim::from(claim) as i32);
        Ok(())
    })
}

/// The handler of a claimed delivery succeeded: every later claim of `key` is
/// `YX_CLAIM_DUPLICATE`, until `expires_at_ms` (as the delivery gave it).
///
/// # Safety
/// `guard` must be NULL or a live handle; `key` NULL or NUL-terminated; `err_out` NULL or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_delivery_guard_complete(
    guard: *const yx_delivery_guard,
    key: *const c_char,
    expires_at_ms: u64,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (guard, key) = unsafe { (args::handle(guard, "guard")?, key_arg(key)?) };
        stored(guard.inner.complete(&key, expires_at_ms))
    })
}

/// The handler of a claimed delivery failed: the guard forgets `key`, so that the sender's next
/// attempt is handled rather than acknowledged unprocessed.
///
/// # Safety
/// `guard` must be NULL or a live handle; `key` NULL or NUL-terminated; `err_out` NULL or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_delivery_guard_release(
    guard: *const yx_delivery_guard,
    key: *const c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (guard, key) = unsafe { (args::handle(guard, "guard")?, key_arg(key)?) };
        stored(guard.inner.release(&key))
    })
}

/// Deliveries the guard holds now (in progress or handled, not yet forgotten); 0 when `guard`
/// is NULL.
///
/// # Safety
/// `guard` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_delivery_guard_held(guard: *const yx_delivery_guard) -> usize {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(guard, 0, |g| g.inner.len()) }
}

/// Deliveries dropped to stay within the capacity before they were due to be forgotten: a
/// repeat of one of them would be handled again, so above 0 the capacity is too small for the
/// traffic. 0 when `guard` is NULL.
///
/// # Safety
/// `guard` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_delivery_guard_evicted(guard: *const yx_delivery_guard) -> u64 {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(guard, 0, |g| g.inner.evicted()) }
}
