//! The JSON forms of complex results, produced by one serializer (serde_json) for every
//! language: a prepared request, a request's parameters, the code table, and the core's views
//! (`yunxin_ecp::views`) of a call record and a callback event, which the command and the
//! Python package print too.
//!
//! Field names are snake_case, absent values are `null`, numbers are JSON integers.

use serde::Serialize;

use crate::error::{Fallible, yx_error, yx_result};

/// Serializes a view. Every view here holds only strings, integers, booleans and JSON values,
/// which always serialize; the error path is kept for safety's sake.
pub(crate) fn to_json(value: &impl Serialize) -> Fallible<String> {
    serde_json::to_string(value)
        .map_err(|e| yx_error::new(yx_result::YX_OTHER, format!("could not serialize: {e}")))
}
