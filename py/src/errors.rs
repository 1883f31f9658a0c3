//! Core errors to Python exceptions.
//!
//! The exception classes are plain Python classes in `yunxin_ecp/_errors.py` (so that they can
//! inherit from both `YunxinError` and a builtin such as `ValueError` on every Python version);
//! this module only fills in their attributes from the core's error values. Messages are the
//! core's own `Display`, so every language reports the same words, except that a
//! `ValidationError` names the Python argument the caller used beside the wire field
//! (`invalid max_dur (maxDur): ...`).

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};
use yunxin_ecp::server::AuthRefusal;
use yunxin_ecp::signing::{ENV_APP_KEY, ENV_APP_SECRET};
use yunxin_ecp::views::ErrorView;
use yunxin_ecp::{Error, ValidationError};

const ERRORS_MODULE: &str = "yunxin_ecp._errors";

/// Whose words a `ValidationError` is reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Words {
    /// The Python API's: a wire field is named as the argument the caller gave it in
    /// (`maxDur` as `max_dur`), with the wire name beside it.
    Python,
    /// A conference's: as [`Words::Python`], and the callee list is the argument `callees`.
    Conference,
    /// The wire's: the error is about an incoming request's parameters (server side), which
    /// no Python argument carries.
    Wire,
}

impl Words {
    /// The Python argument that carries `field`; `field` itself where the names agree.
    pub fn argument(self, field: &'static str) -> &'static str {
        if self == Words::Wire {
            return field;
        }
        match field {
            "callerAcc" => "caller_acc",
            "maxDur" => "max_dur",
            "callee" if self == Words::Conference => "callees",
            "type" => "kind",
            "baseUrl" => "base_url",
            "appKey" | ENV_APP_KEY => "app_key",
            "appSecret" | ENV_APP_SECRET => "app_secret",
            "CurTime" => "cur_time",
            other => other,
        }
    }
}

/// Converts any core error into the matching Python exception; a `ValidationError` names the
/// Python argument (see [`Words::Python`]).
pub fn py_err(error: impl Into<Error>) -> PyErr {
    err_in(Words::Python, error)
}

/// [`py_err`] for the arguments of a conference (`callees`).
pub fn conference_err(error: impl Into<Error>) -> PyErr {
    err_in(Words::Conference, error)
}

/// [`py_err`] for an incoming request's parameters: wire names only.
pub fn wire_err(error: impl Into<Error>) -> PyErr {
    err_in(Words::Wire, error)
}

/// Converts a core error, naming a refused value in `words`.
pub fn err_in(words: Words, error: impl Into<Error>) -> PyErr {
    let error = error.into();
    Python::attach(|py| build(py, &error, words).unwrap_or_else(|e| e))
}

/// A `ValidationError` the core has no rule for (a Python argument's own check), with its own
/// message: `field` is the name the caller used, `rule` a stable code.
pub fn validation_err(field: &str, rule: &str, message: String) -> PyErr {
    Python::attach(|py| {
        let kwargs = PyDict::new(py);
        kwargs
            .set_item("field", field)
            .and_then(|()| kwargs.set_item("argument", field))
            .and_then(|()| kwargs.set_item("rule", rule))
            .and_then(|()| instantiate(py, "ValidationError", message, &kwargs))
            .unwrap_or_else(|e| e)
    })
}

/// The core's `ValidationError` with its own message replaced (same field, rule and argument).
pub fn validation_err_saying(e: &ValidationError, words: Words, message: String) -> PyErr {
    Python::attach(|py| {
        let kwargs = PyDict::new(py);
        validation_kwargs(&kwargs, e, words)
            .and_then(|()| instantiate(py, "ValidationError", message, &kwargs))
            .unwrap_or_else(|e| e)
    })
}

/// A delivery store's failure as `DeliveryStoreError`.
pub fn delivery_store_err(message: &str) -> PyErr {
    Python::attach(|py| {
        instantiate(
            py,
            "DeliveryStoreError",
            message.to_owned(),
            &PyDict::new(py),
        )
        .unwrap_or_else(|e| e)
    })
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

/// Builds the exception from the core's one report of the error ([`ErrorView`], what the C
/// ABI and the command print); an `Err` only if the exception classes themselves are broken.
fn build(py: Python<'_>, error: &Error, words: Words) -> PyResult<PyErr> {
    if let Error::Validation(e) = error {
        // The one kind reported in the caller's words rather than the core's.
        let kwargs = PyDict::new(py);
        validation_kwargs(&kwargs, e, words)?;
        return instantiate(py, "ValidationError", validation_message(e, words), &kwargs);
    }
    if let Error::Auth(refusal) = error {
        return Ok(auth_err(refusal));
    }
    let view = ErrorView::new(error);
    let kwargs = PyDict::new(py);
    kwargs.set_item("retry_advice", view.retry)?;
    kwargs.set_item("retryable", error.retry_advice().is_safe())?;
    let endpoint = view.endpoint.map(|e| e.code());
    let class = match view.kind {
        "api" => {
            kwargs.set_item("endpoint", endpoint)?;
            kwargs.set_item("code", view.code)?;
            kwargs.set_item("message", view.api_message)?;
            kwargs.set_item("http_status", view.http_status)?;
            kwargs.set_item("meaning", view.meaning)?;
            kwargs.set_item("raw_body", view.raw_body)?;
            "ApiError"
        }
        "protocol" => {
            kwargs.set_item("endpoint", endpoint)?;
            kwargs.set_item("kind", view.reason)?;
            kwargs.set_item("detail", view.detail)?;
            kwargs.set_item("http_status", view.http_status)?;
            kwargs.set_item("raw_body", view.raw_body)?;
            "ProtocolError"
        }
        "transport" => {
            kwargs.set_item("endpoint", endpoint)?;
            kwargs.set_item("kind", view.reason)?;
            kwargs.set_item("maybe_sent", view.maybe_sent)?;
            kwargs.set_item("attempts", view.attempts)?;
            kwargs.set_item("detail", view.detail)?;
            if view.reason == Some("timeout") {
                "TimeoutError"
            } else {
                "TransportError"
            }
        }
        "callback" => {
            kwargs.set_item("reason", view.reason)?;
            kwargs.set_item("header", view.field)?;
            "CallbackVerificationError"
        }
        _ => "YunxinError",
    };
    instantiate(py, class, view.message, &kwargs)
}

fn validation_kwargs(
    kwargs: &Bound<'_, PyDict>,
    e: &ValidationError,
    words: Words,
) -> PyResult<()> {
    kwargs.set_item("field", e.field)?;
    kwargs.set_item("argument", words.argument(e.field))?;
    kwargs.set_item("rule", e.rule.code())?;
    kwargs.set_item("index", e.index)
}

/// The core's message, with the Python argument first where it differs from the wire field:
/// `invalid max_dur (maxDur): must be a positive integer`.
fn validation_message(e: &ValidationError, words: Words) -> String {
    let argument = words.argument(e.field);
    if argument == e.field {
        return e.to_string();
    }
    match e.index {
        Some(i) => format!("invalid {argument}[{i}] ({}[{i}]): {}", e.field, e.rule),
        None => format!("invalid {argument} ({}): {}", e.field, e.rule),
    }
}

/// Calls `yunxin_ecp._errors.<class>(message, **kwargs)`: the exception, not yet raised.
pub fn instantiate(
    py: Python<'_>,
    class: &str,
    message: String,
    kwargs: &Bound<'_, PyDict>,
) -> PyResult<PyErr> {
    // Imported once: a refused callback or a retried request builds one exception per attempt.
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let class = MODULE
        .get_or_try_init(py, || py.import(ERRORS_MODULE).map(Bound::unbind))
        .and_then(|m| m.bind(py).getattr(class))
        .map_err(|e| {
            PyRuntimeError::new_err(format!(
                "{ERRORS_MODULE} is unavailable ({e}); original error: {message}"
            ))
        })?;
    Ok(PyErr::from_value(class.call((message,), Some(kwargs))?))
}
