//! The JSON forms of complex results, produced by one serializer (serde_json) for every
//! language: a prepared request, a request's parameters, the code table, and the core's views
//! (`yunxin_ecp::views`) of a call record and a callback event, which the command and the
//! Python package print too.
//!
//! Field names are snake_case, absent values are `null`, numbers are JSON integers.

use std::ffi::c_char;

use serde::Serialize;

use crate::args::{self, Out};
use crate::error::{Fallible, yx_error, yx_result};
use crate::panic::fallible;

/// Serializes a view. Every view here holds only strings, integers, booleans and JSON values,
/// which always serialize; the error path is kept for safety's sake.
pub(crate) fn to_json(value: &impl Serialize) -> Fallible<String> {
    serde_json::to_string(value)
        .map_err(|e| yx_error::new(yx_result::YX_OTHER, format!("could not serialize: {e}")))
}

/// The body of every `_to_json` entry point: `json` of a live handle written to `*json_out`.
///
/// # Safety
/// `handle` must be NULL or a live handle of type `T`; `json_out` and `err_out` NULL or valid
/// for a write.
pub(crate) unsafe fn write_json<T>(
    handle: *const T,
    name: &'static str,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
    json: impl FnOnce(&T) -> Fallible<String>,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (h, out) = unsafe { (args::handle(handle, name)?, Out::new(json_out, "json_out")?) };
        out.string(json(h)?);
        Ok(())
    })
}
