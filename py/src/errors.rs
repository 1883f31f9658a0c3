//! Core errors to Python exceptions.
//!
//! The exception classes are plain Python classes in `yunxin_ecp/_errors.py` (so that they can
//! inherit from both `YunxinError` and a builtin such as `ValueError` on every Python version);
//! this module only fills in their attributes from the core's error values. Messages are the
//! core's own `Display`, so every language reports the same words.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use yunxin_ecp::server::AuthRefusal;
use yunxin_ecp::{
    CallbackError, Error, ResponseError, TransportError, TransportErrorKind, ValidationError,
};

const ERRORS_MODULE: &str = "yunxin_ecp._errors";

/// Converts any core error into the matching Python exception.
pub fn py_err(error: impl Into<Error>) -> PyErr {
    let error = error.into();
    Python::attach(|py| build(py, &error).unwrap_or_else(|e| e))
}

/// Converts a refused incoming request (server side) into `AuthRefusedError`.
pub fn auth_err(refusal: &AuthRefusal) -> PyErr {
    Python::attach(|py| {
        let kwargs = PyDict::new(py);
        let header = match refusal {
            AuthRefusal::MissingHeader { header } | AuthRefusal::DuplicateHeader { header } => {
                Some(*header)
            }
            _ => None,
        };
        kwargs
            .set_item("reason", refusal.reason())
            .and_then(|()| kwargs.set_item("header", header))
            .and_then(|()| instantiate(py, "AuthRefusedError", refusal.to_string(), &kwargs))
            .unwrap_or_else(|e| e)
    })
}

/// Builds the exception; an `Err` only if the exception classes themselves are broken.
fn build(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    let kwargs = PyDict::new(py);
    let advice = error.retry_advice();
    kwargs.set_item("retry_advice", advice.code())?;
    kwargs.set_item("retryable", advice.is_safe())?;
    let class = match error {
        Error::Validation(e) => {
            validation_kwargs(&kwargs, e)?;
            "ValidationError"
        }
        Error::Response(ResponseError::Api(e)) => {
            kwargs.set_item("endpoint", e.endpoint.code())?;
            kwargs.set_item("code", e.code)?;
            kwargs.set_item("message", e.message.as_deref())?;
            kwargs.set_item("http_status", e.http_status)?;
            kwargs.set_item("meaning", e.meaning())?;
            kwargs.set_item("raw_body", &e.raw_body)?;
            "ApiError"
        }
        Error::Response(ResponseError::Protocol(e)) => {
            kwargs.set_item("endpoint", e.endpoint.code())?;
            kwargs.set_item("kind", e.kind.code())?;
            kwargs.set_item("detail", e.detail.as_deref())?;
            kwargs.set_item("http_status", e.http_status)?;
            kwargs.set_item("raw_body", &e.raw_body)?;
            "ProtocolError"
        }
        Error::Transport(e) => transport_kwargs(&kwargs, e)?,
        Error::Callback(e) => {
            callback_kwargs(&kwargs, e)?;
            "CallbackVerificationError"
        }
        Error::Auth(refusal) => return Ok(auth_err(refusal)),
        _ => "YunxinError",
    };
    instantiate(py, class, error.to_string(), &kwargs)
}

fn validation_kwargs(kwargs: &Bound<'_, PyDict>, e: &ValidationError) -> PyResult<()> {
    kwargs.set_item("field", e.field)?;
    kwargs.set_item("rule", e.rule.code())?;
    kwargs.set_item("index", e.index)
}

fn transport_kwargs(kwargs: &Bound<'_, PyDict>, e: &TransportError) -> PyResult<&'static str> {
    kwargs.set_item("endpoint", e.endpoint.code())?;
    kwargs.set_item("kind", e.kind.code())?;
    kwargs.set_item("maybe_sent", e.maybe_sent)?;
    kwargs.set_item("attempts", e.attempts)?;
    kwargs.set_item("detail", &e.detail)?;
    Ok(if e.kind == TransportErrorKind::Timeout {
        "TimeoutError"
    } else {
        "TransportError"
    })
}

fn callback_kwargs(kwargs: &Bound<'_, PyDict>, e: &CallbackError) -> PyResult<()> {
    kwargs.set_item("reason", e.reason())?;
    let header = match e {
        CallbackError::MissingHeader { header } | CallbackError::DuplicateHeader { header } => {
            Some(*header)
        }
        _ => None,
    };
    kwargs.set_item("header", header)
}

/// Calls `yunxin_ecp._errors.<class>(message, **kwargs)`.
fn instantiate(
    py: Python<'_>,
    class: &str,
    message: String,
    kwargs: &Bound<'_, PyDict>,
) -> PyResult<PyErr> {
    let class = py
        .import(ERRORS_MODULE)
        .and_then(|m| m.getattr(class))
        .map_err(|e| {
            PyRuntimeError::new_err(format!(
                "{ERRORS_MODULE} is unavailable ({e}); original error: {message}"
            ))
        })?;
    Ok(PyErr::from_value(class.call((message,), Some(kwargs))?))
}
