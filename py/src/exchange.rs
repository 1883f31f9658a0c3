//! `Exchange`: the core's sans-IO exchange (the whole attempt loop of one request) for a Python
//! program that brings its own HTTP stack; `AsyncClient` drives it over httpx.
//!
//! Every decision is the core's (`yunxin_ecp::exchange`): signing each attempt afresh, refusing
//! a redirect, the size cap's error, the retry and its backoff, redaction, the log events and
//! the advice for an abandoned attempt. This module converts values and nothing else.

use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyType;
use yunxin_ecp::exchange::{Answer, AnyRequest, Exchange, FixedEntropy, Next};
use yunxin_ecp::settings::ClientSettings;
use yunxin_ecp::{Credentials, Rule, TransportErrorKind, ValidationError};

use crate::client::{client_settings, resolve_credentials};
use crate::convert::{body_bytes, json_to_py};
use crate::errors::py_err;
use crate::records::{PyCallRecord, PyStarted};
use crate::requests::{
    PyApiRequest, PyPreparedRequest, PyQueryBySession, PyStartCall, PyStartConference,
};
use crate::signing::PyCredentials;

/// The core's request behind one of the package's request objects.
pub fn any_request(request: &Bound<'_, PyAny>) -> PyResult<AnyRequest> {
    if let Ok(r) = request.cast::<PyStartCall>() {
        return Ok(r.get().inner.clone().into());
    }
    if let Ok(r) = request.cast::<PyStartConference>() {
        return Ok(r.get().inner.clone().into());
    }
    if let Ok(r) = request.cast::<PyQueryBySession>() {
        return Ok(r.get().inner.clone().into());
    }
    if let Ok(r) = request.cast::<PyApiRequest>() {
        return Ok(r.get().inner.clone().into());
    }
    Err(PyTypeError::new_err(format!(
        "an Exchange carries a StartCall, StartConference, QueryBySession or ApiRequest, not {}",
        request.get_type().name()?
    )))
}

/// `_entropy=(nonces, now_secs, jitter)`, for tests only.
fn fixed_entropy(entropy: Option<(Vec<String>, u64, u32)>) -> PyResult<FixedEntropy> {
    Ok(match entropy {
        None => FixedEntropy::default(),
        Some((nonces, _, _)) if nonces.is_empty() => {
            return Err(PyValueError::new_err("_entropy needs at least one nonce"));
        }
        Some((nonces, now_secs, jitter)) => FixedEntropy::new(nonces, Some(now_secs), Some(jitter)),
    })
}

/// Seconds from the driver's clock as a duration, for the events; a negative or NaN reading
/// counts as zero (it only ever reaches a log line).
fn elapsed_of(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or_default()
}

/// One request's exchange with the service, from its first attempt to its result, for any HTTP
/// stack: the exchange decides, the caller only sends and reads.
///
/// Built from a ``StartCall``, ``StartConference``, ``QueryBySession`` or ``ApiRequest``, with
/// ``credentials`` (``None``: the ``YUNXIN_APP_KEY``/``YUNXIN_APP_SECRET`` environment variables)
/// and ``Client``'s keyword settings, checked by the same rules (``base_url=None``:
/// ``YUNXIN_BASE_URL`` when set, else the service). Drive it in a loop::
///
///     exchange = Exchange(StartCall(...), credentials)
///     while True:
///         attempt = exchange.send()             # signed now, with a fresh nonce
///         ...                                   # POST attempt.prepared, within attempt.timeout,
///         step = exchange.receive(status, body, location=location)   # or too_large / fail
///         if step.retry_after is None:
///             return step.result                # Started, CallRecord or dict; raises on error
///         time.sleep(step.retry_after)
///
/// After each ``send()``, report exactly one of: ``receive(status, body, location=...)`` for any
/// HTTP answer (a 3xx included, with its ``Location``: a redirect is never to be followed),
/// ``too_large(status)`` when the body went past ``attempt.max_response_bytes`` (stop reading
/// there), or ``fail(kind, maybe_sent=...)`` when no complete answer came (``kind``:
/// ``"connect"``, ``"timeout"``, ``"tls"`` or ``"io"``; ``maybe_sent`` false only when the
/// request provably never left). Each returns a ``Next``: ``retry_after`` seconds to wait
/// before the next ``send()``, or ``None`` when done, with ``result`` (or ``error``). An
/// attempt abandoned mid-way (a cancelled task) is reported with ``cancel(maybe_sent=...)``.
/// ``elapsed`` is the attempt's duration in seconds, for the events only.
///
/// ``take_events()`` returns what happened as ``(level, line)`` pairs, the blocking client's
/// log lines (``request sent``, ``response``, ``retry``, ``gave up``, ``cancelled``): pass them
/// to ``logging``. ``_entropy=(nonces, now_secs, jitter)`` fixes the nonces, the clock and the
/// backoff's jitter, for tests only; by default they are the OS CSPRNG and the system clock.
#[pyclass(module = "yunxin_ecp", name = "Exchange")]
pub struct PyExchange {
    inner: Exchange,
    entropy: FixedEntropy,
}

impl PyExchange {
    /// An exchange for a request already converted, under settings already checked.
    pub fn build(
        request: AnyRequest,
        credentials: Credentials,
        settings: &ClientSettings,
        events: bool,
    ) -> PyResult<Self> {
        let inner = Exchange::new(request, credentials, settings)
            .map_err(py_err)?
            .with_events(events);
        Ok(PyExchange {
            inner,
            entropy: FixedEntropy::default(),
        })
    }

    fn next(&mut self, py: Python<'_>, next: Next) -> PyResult<PyNext> {
        Ok(match next {
            Next::Retry { after } => PyNext {
                retry_after: Some(after.as_secs_f64()),
                outcome: Ok(py.None()),
            },
            Next::Done(Ok(answer)) => PyNext {
                retry_after: None,
                outcome: Ok(answer_to_py(py, answer)?),
            },
            Next::Done(Err(error)) => PyNext {
                retry_after: None,
                outcome: Err(py_err(error)),
            },
        })
    }
}

/// A result as the package's own class: `Started`, `CallRecord`, or the JSON as a `dict`.
fn answer_to_py(py: Python<'_>, answer: Answer) -> PyResult<Py<PyAny>> {
    Ok(match answer {
        Answer::Started(inner) => Py::new(py, PyStarted { inner })?.into_any(),
        Answer::Record(inner) => Py::new(py, PyCallRecord { inner: *inner })?.into_any(),
        Answer::Json(value) => json_to_py(py, &value)?.unbind(),
    })
}

#[pymethods]
impl PyExchange {
    #[new]
    #[pyo3(signature = (
        request,
        credentials = None,
        *,
        base_url = None,
        connect_timeout = 5.0,
        timeout = 15.0,
        max_retries = 2,
        backoff = 0.2,
        max_response_bytes = 1_048_576,
        _entropy = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        request: &Bound<'_, PyAny>,
        credentials: Option<PyRef<'_, PyCredentials>>,
        base_url: Option<&str>,
        connect_timeout: f64,
        timeout: f64,
        #[pyo3(from_py_with = crate::convert::max_retries)] max_retries: u32,
        backoff: f64,
        #[pyo3(from_py_with = crate::convert::max_response_bytes)] max_response_bytes: u64,
        _entropy: Option<(Vec<String>, u64, u32)>,
    ) -> PyResult<Self> {
        let request = any_request(request)?;
        let credentials = resolve_credentials(None, None, credentials.as_deref())?;
        let (settings, _) = client_settings(
            base_url,
            connect_timeout,
            timeout,
            max_retries,
            backoff,
            max_response_bytes,
        )?;
        let mut exchange = PyExchange::build(request, credentials, &settings, true)?;
        exchange.entropy = fixed_entropy(_entropy)?;
        Ok(exchange)
    }

    /// ``Exchange[Started]`` and the like, in annotations.
    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        generic_alias(cls, item)
    }

    /// The endpoint the request goes to: ``"start_call"``, ``"start_conf"``,
    /// ``"query_by_session"`` or ``"api"``.
    #[getter]
    fn endpoint(&self) -> &'static str {
        self.inner.request().endpoint().code()
    }

    /// Attempts handed out so far.
    #[getter]
    fn attempts(&self) -> u32 {
        self.inner.attempts()
    }

    /// The next attempt, signed now with a fresh nonce: first, and after each ``Next`` whose
    /// ``retry_after`` has passed. Raises ``ValidationError`` (field ``"exchange"``) while an
    /// attempt's outcome is awaited or once the exchange is done.
    fn send(&mut self, py: Python<'_>) -> PyResult<PyAttempt> {
        let a = self.inner.send(&mut self.entropy).map_err(py_err)?;
        Ok(PyAttempt {
            number: a.number,
            prepared: Py::new(py, PyPreparedRequest { inner: a.request })?,
            connect_timeout: a.connect_timeout.as_secs_f64(),
            timeout: a.timeout.as_secs_f64(),
            max_response_bytes: a.max_response_bytes,
        })
    }

    /// The HTTP answer to the attempt: its status, its body (read whole, within the cap), and
    /// for a 3xx its ``Location`` (refused, never followed).
    #[pyo3(signature = (status, body, *, location = None, elapsed = 0.0))]
    fn receive(
        &mut self,
        py: Python<'_>,
        status: u16,
        body: &Bound<'_, PyAny>,
        location: Option<&str>,
        elapsed: f64,
    ) -> PyResult<PyNext> {
        let body = body_bytes(body, true)?;
        let next = self.inner.receive(
            status,
            location,
            &body,
            elapsed_of(elapsed),
            &mut self.entropy,
        );
        self.next(py, next)
    }

    /// The attempt's answer went past ``max_response_bytes``; reading stopped there.
    #[pyo3(signature = (status, *, elapsed = 0.0))]
    fn too_large(&mut self, py: Python<'_>, status: u16, elapsed: f64) -> PyResult<PyNext> {
        let next = self
            .inner
            .too_large(status, elapsed_of(elapsed), &mut self.entropy);
        self.next(py, next)
    }

    /// No complete answer came: ``kind`` is the step that failed (``"connect"``, ``"timeout"``,
    /// ``"tls"`` or ``"io"``), ``maybe_sent`` false only when the request provably never left,
    /// ``detail`` what the HTTP stack said (it becomes the error's ``detail``).
    #[pyo3(signature = (kind, *, maybe_sent, detail = "", elapsed = 0.0))]
    fn fail(
        &mut self,
        py: Python<'_>,
        kind: &str,
        maybe_sent: bool,
        detail: &str,
        elapsed: f64,
    ) -> PyResult<PyNext> {
        let kind = TransportErrorKind::from_code(kind).ok_or_else(|| {
            PyValueError::new_err(format!(
                "kind must be \"connect\", \"timeout\", \"tls\" or \"io\", not {kind:?}"
            ))
        })?;
        let next = self.inner.fail(
            kind,
            maybe_sent,
            detail,
            elapsed_of(elapsed),
            &mut self.entropy,
        );
        self.next(py, next)
    }

    /// The attempt in flight was abandoned (a cancelled task, an outer timeout); the exchange
    /// is over. Returns the request's retry advice: ``"outcome_unknown"`` when it may have been
    /// sent and may have taken effect (a start, an ``ApiRequest`` not marked idempotent; a
    /// ``cancelled`` event then says so), else ``"safe"``.
    #[pyo3(signature = (*, maybe_sent))]
    fn cancel(&mut self, maybe_sent: bool) -> &'static str {
        self.inner.cancel(maybe_sent).code()
    }

    /// The events since the last call, oldest first, as ``(level, line)``: level ``"debug"``,
    /// ``"info"`` or ``"warn"``, line the blocking client's log line (``request sent id=...``).
    fn take_events(&mut self) -> Vec<(&'static str, String)> {
        self.inner
            .take_events()
            .into_iter()
            .map(|e| (e.level.code(), e.to_string()))
            .collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "Exchange(endpoint='{}', attempts={})",
            self.inner.request().endpoint().code(),
            self.inner.attempts()
        )
    }
}

/// `types.GenericAlias(cls, item)`: what `list[int]` is, for a class generic in the stubs only.
fn generic_alias(cls: &Bound<'_, PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let py = cls.py();
    let alias = py.import("types")?.getattr("GenericAlias")?;
    Ok(alias.call1((cls, item))?.unbind())
}

/// One attempt to send: ``prepared`` (method, URL, headers, body; signed for this attempt
/// only), with ``connect_timeout`` and ``timeout`` (seconds: to connect, and for the whole
/// attempt up to the answer's last byte) and ``max_response_bytes`` (read no further).
#[pyclass(module = "yunxin_ecp", name = "Attempt", frozen)]
pub struct PyAttempt {
    number: u32,
    prepared: Py<PyPreparedRequest>,
    connect_timeout: f64,
    timeout: f64,
    max_response_bytes: u64,
}

#[pymethods]
impl PyAttempt {
    /// 1 for the first attempt.
    #[getter]
    fn number(&self) -> u32 {
        self.number
    }

    /// What to send: a ``PreparedRequest``.
    #[getter]
    fn prepared(&self, py: Python<'_>) -> Py<PyPreparedRequest> {
        self.prepared.clone_ref(py)
    }

    /// Seconds allowed to open the connection.
    #[getter]
    fn connect_timeout(&self) -> f64 {
        self.connect_timeout
    }

    /// Seconds allowed for the whole attempt, connect to the answer's last byte.
    #[getter]
    fn timeout(&self) -> f64 {
        self.timeout
    }

    /// The most answer bytes to read: past it, stop and call ``Exchange.too_large``.
    #[getter]
    fn max_response_bytes(&self) -> u64 {
        self.max_response_bytes
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Attempt(number={}, url={})",
            self.number,
            crate::records::repr(py, &self.prepared.get().inner.url)?
        ))
    }
}

/// What to do after an attempt. ``retry_after`` is the seconds to wait before the next
/// ``Exchange.send()``, or ``None`` when the exchange is done; then ``result`` is the result
/// (``Started``, ``CallRecord`` or, for an ``ApiRequest``, the JSON ``dict``) and raises the
/// package's exception when it ended in an error, which ``error`` also holds (``None`` on
/// success).
#[pyclass(module = "yunxin_ecp", name = "Next", frozen)]
pub struct PyNext {
    retry_after: Option<f64>,
    outcome: Result<Py<PyAny>, PyErr>,
}

#[pymethods]
impl PyNext {
    /// ``Next[Started]`` and the like, in annotations.
    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        generic_alias(cls, item)
    }

    /// Seconds to wait before sending again, or ``None`` when done.
    #[getter]
    fn retry_after(&self) -> Option<f64> {
        self.retry_after
    }

    /// Whether the exchange is over (``retry_after`` is ``None``).
    #[getter]
    fn done(&self) -> bool {
        self.retry_after.is_none()
    }

    /// The result; raises the exchange's error, or ``ValidationError`` (field ``"exchange"``)
    /// when the exchange is not done.
    #[getter]
    fn result(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if self.retry_after.is_some() {
            let with = "a retry still to send (wait retry_after, then send())";
            return Err(py_err(ValidationError::new(
                "exchange",
                Rule::Conflict { with },
            )));
        }
        match &self.outcome {
            Ok(value) => Ok(value.clone_ref(py)),
            Err(e) => Err(e.clone_ref(py)),
        }
    }

    /// The exception the exchange ended with, or ``None``.
    #[getter]
    fn error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        match &self.outcome {
            Ok(_) => None,
            Err(e) => Some(e.value(py).clone().into_any().unbind()),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(match (&self.retry_after, &self.outcome) {
            (Some(after), _) => format!("Next(retry_after={after})"),
            (None, Ok(value)) => format!("Next(result={})", value.bind(py).repr()?),
            (None, Err(e)) => format!("Next(error={})", e.value(py).repr()?),
        })
    }
}
