//! `_ClientConfig`: what the async client (`yunxin_ecp.AsyncClient`, Python on httpx) takes from
//! Rust so that it validates, retries and reports exactly as the blocking client does: the
//! settings checked by the same rules, the retry decision and its backoff, and the exceptions
//! for what only an HTTP stack sees (a transport failure, a redirect's `Location`, a body over
//! the size limit), built from the core's own error values and words.
//!
//! The retry decision is the core's sans-IO `RetryPolicy`, the one the blocking client drives,
//! and the proxy rule its `blocking::is_loopback`: nothing here decides anything of its own.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use yunxin_ecp::blocking::{USER_AGENT, is_loopback};
use yunxin_ecp::policy::Decision;

use yunxin_ecp::settings::ClientSettings;
use yunxin_ecp::{
    BaseUrl, EcpRequest, Endpoint, Error, ProtocolError, ProtocolErrorKind, QueryBySession,
    ResponseError, RetryAdvice, StartCall, StartConf, TransportError, TransportErrorKind, api,
};

use crate::client::{client_settings, resolve_credentials};
use crate::convert::{body_bytes, json_to_py};
use crate::errors::py_err;
use crate::records::{PyCallRecord, PyStarted, repr};
use crate::requests::PyPreparedRequest;
use crate::signing::PyCredentials;

/// The settings of a client that runs on a Python HTTP stack, validated as ``Client``'s are,
/// with the blocking client's retry policy and error reports. Private to ``AsyncClient``.
#[pyclass(module = "yunxin_ecp._native", name = "_ClientConfig", frozen)]
pub struct PyClientConfig {
    credentials: Py<PyCredentials>,
    settings: ClientSettings,
    base_url: BaseUrl,
}

#[pymethods]
impl PyClientConfig {
    #[new]
    #[pyo3(signature = (
        app_key = None,
        app_secret = None,
        *,
        credentials = None,
        base_url = None,
        connect_timeout = 5.0,
        timeout = 15.0,
        max_retries = 2,
        backoff = 0.2,
        max_response_bytes = 1_048_576,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        app_key: Option<String>,
        app_secret: Option<String>,
        credentials: Option<PyRef<'_, PyCredentials>>,
        base_url: Option<&str>,
        connect_timeout: f64,
        timeout: f64,
        #[pyo3(from_py_with = crate::convert::max_retries)] max_retries: u32,
        backoff: f64,
        #[pyo3(from_py_with = crate::convert::max_response_bytes)] max_response_bytes: u64,
    ) -> PyResult<Self> {
        let credentials = resolve_credentials(app_key, app_secret, credentials.as_deref())?;
        let (settings, base_url) = client_settings(
            base_url,
            connect_timeout,
            timeout,
            max_retries,
            backoff,
            max_response_bytes,
        )?;
        Ok(PyClientConfig {
            credentials: Py::new(py, PyCredentials { inner: credentials })?,
            settings,
            base_url,
        })
    }

    /// The credentials every attempt is signed with (afresh).
    #[getter]
    fn credentials(&self, py: Python<'_>) -> Py<PyCredentials> {
        self.credentials.clone_ref(py)
    }

    /// The base URL, without a trailing slash.
    #[getter]
    fn base_url(&self) -> &str {
        self.base_url.as_str()
    }

    /// Seconds allowed to open a connection.
    #[getter]
    fn connect_timeout(&self) -> f64 {
        self.settings.connect_timeout.as_secs_f64()
    }

    /// Seconds allowed for one whole attempt, connect to last body byte.
    #[getter]
    fn timeout(&self) -> f64 {
        self.settings.timeout.as_secs_f64()
    }

    /// Retries after the first attempt, where safe.
    #[getter]
    fn max_retries(&self) -> u32 {
        self.settings.max_retries
    }

    /// The first backoff delay, in seconds.
    #[getter]
    fn backoff(&self) -> f64 {
        self.settings.backoff.as_secs_f64()
    }

    /// The largest response body accepted.
    #[getter]
    fn max_response_bytes(&self) -> u64 {
        self.settings.max_response_bytes
    }

    /// Whether the base URL's host is this machine (``localhost`` or a loopback address):
    /// such a host is reached directly, whatever proxy the environment names.
    #[getter]
    fn loopback(&self) -> bool {
        is_loopback(&self.base_url)
    }

    /// The ``User-Agent`` of the blocking client.
    #[getter]
    fn user_agent(&self) -> &'static str {
        USER_AGENT
    }

    /// Seconds to wait before sending the request again after ``error`` ended attempt number
    /// ``attempt`` (1 for the first), or ``None`` to raise it. Decided from the error's
    /// ``retry_advice`` as the blocking client decides: ``"safe"`` and ``"backoff"`` while
    /// retries remain, ``"once_after_delay"`` after the first attempt only, never anything else
    /// (a start that may have been placed is never sent again). The delay doubles from
    /// ``backoff`` with each retry, capped at 5 s, half of it random ("equal jitter").
    fn retry_delay(&self, error: &Bound<'_, PyAny>, attempt: u32) -> PyResult<Option<f64>> {
        let advice = match error.getattr(pyo3::intern!(error.py(), "retry_advice")) {
            Ok(advice) => advice.extract::<String>().unwrap_or_default(),
            Err(_) => return Ok(None),
        };
        let Some(advice) = advice_named(&advice) else {
            return Ok(None);
        };
        Ok(
            match self
                .settings
                .retry_policy()
                .decide(attempt.max(1), advice, random_u32())
            {
                Decision::RetryAfter(delay) => Some(delay.as_secs_f64()),
                Decision::Stop(_) => None,
            },
        )
    }

    /// The ``TransportError`` (or ``TimeoutError``) the blocking client raises for a failure
    /// below HTTP: ``kind`` is ``"connect"``, ``"timeout"``, ``"tls"`` or ``"io"``, and
    /// ``maybe_sent`` false only when the request provably never left. Returned, not raised.
    #[pyo3(signature = (prepared, kind, *, maybe_sent, detail, attempts))]
    fn transport_error(
        &self,
        py: Python<'_>,
        prepared: PyRef<'_, PyPreparedRequest>,
        kind: &str,
        maybe_sent: bool,
        detail: String,
        attempts: u32,
    ) -> PyResult<Py<PyAny>> {
        let kind = match kind {
            "connect" => TransportErrorKind::Connect,
            "timeout" => TransportErrorKind::Timeout,
            "tls" => TransportErrorKind::Tls,
            "io" => TransportErrorKind::Io,
            other => {
                return Err(PyValueError::new_err(format!(
                    "no transport error kind {other:?}"
                )));
            }
        };
        let (endpoint, path) = self.endpoint_of(&prepared);
        let mut error = Error::from(TransportError {
            endpoint,
            path,
            kind,
            maybe_sent,
            detail,
            attempts,
        });
        error.redact(&self.redacted_values(&prepared));
        Ok(py_err(error).into_value(py).into_any())
    }

    /// The ``ProtocolError`` of kind ``"redirect"`` for a 3xx answer, with its ``Location``
    /// (never followed). Returned, not raised.
    #[pyo3(signature = (prepared, http_status, location))]
    fn redirect_error(
        &self,
        py: Python<'_>,
        prepared: PyRef<'_, PyPreparedRequest>,
        http_status: u16,
        location: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let (endpoint, path) = self.endpoint_of(&prepared);
        let mut e = ProtocolError::redirect(endpoint, http_status, location);
        e.path = path;
        let mut e = ResponseError::Protocol(e);
        e.redact(&self.redacted_values(&prepared));
        Ok(py_err(e).into_value(py).into_any())
    }

    /// The ``ProtocolError`` of kind ``"too_large"`` for a body over ``max_response_bytes``.
    /// Returned, not raised.
    #[pyo3(signature = (prepared, http_status))]
    fn too_large_error(
        &self,
        py: Python<'_>,
        prepared: PyRef<'_, PyPreparedRequest>,
        http_status: u16,
    ) -> PyResult<Py<PyAny>> {
        let (endpoint, path) = self.endpoint_of(&prepared);
        let mut e = ProtocolError::new(endpoint, ProtocolErrorKind::TooLarge, http_status, b"");
        e.path = path;
        e.detail = Some(format!("over {} bytes", self.settings.max_response_bytes));
        Ok(py_err(ResponseError::Protocol(e)).into_value(py).into_any())
    }

    /// The proxy the core's rule takes from the environment for this base URL, as
    /// ``(url, variable)``, or ``None`` to connect direct (see the README's proxy policy).
    #[getter]
    fn proxy(&self) -> Option<(String, &'static str)> {
        yunxin_ecp::proxy::proxy_for(self.base_url.as_str(), |name| std::env::var(name).ok())
            .map(|p| (p.url, p.variable))
    }

    /// The text of the client's first debug event, as the blocking client logs it.
    #[getter]
    fn ready_event(&self) -> String {
        let proxy = self.proxy().map(|(_, variable)| variable);
        yunxin_ecp::blocking::events::client_ready_text(&self.base_url, proxy)
    }

    /// Reads the answer to ``prepared`` with its endpoint's parser: ``Started``, ``CallRecord``
    /// or, for any other API, the JSON object; else raises the matching exception, with the
    /// attempt's ``Nonce`` and ``CheckSum`` and the secret replaced wherever the answer echoed
    /// them, as the blocking client does.
    #[pyo3(signature = (prepared, status, body))]
    fn parse_answer(
        &self,
        py: Python<'_>,
        prepared: PyRef<'_, PyPreparedRequest>,
        status: u16,
        body: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let body = body_bytes(body, true)?;
        let redact = |mut e: ResponseError| {
            e.redact(&self.redacted_values(&prepared));
            py_err(e)
        };
        Ok(match prepared.inner.endpoint {
            Endpoint::StartCall => PyStarted {
                inner: StartCall::parse_response(status, &body).map_err(redact)?,
            }
            .into_pyobject(py)?
            .into_any()
            .unbind(),
            Endpoint::StartConf => PyStarted {
                inner: StartConf::parse_response(status, &body).map_err(redact)?,
            }
            .into_pyobject(py)?
            .into_any()
            .unbind(),
            Endpoint::QueryBySession => PyCallRecord {
                inner: QueryBySession::parse_response(status, &body).map_err(redact)?,
            }
            .into_pyobject(py)?
            .into_any()
            .unbind(),
            Endpoint::Api { .. } => {
                let (endpoint, path) = self.endpoint_of(&prepared);
                let path = path.unwrap_or_default();
                let value =
                    api::parse_response_to(endpoint, &path, status, &body).map_err(redact)?;
                json_to_py(py, &value)?.unbind()
            }
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "_ClientConfig(app_key={}, base_url={})",
            repr(py, self.credentials.get().inner.app_key())?,
            repr(py, self.base_url.as_str())?
        ))
    }
}

impl PyClientConfig {
    /// What an answer must not carry back into an error: the attempt's signature values and
    /// the secret.
    fn redacted_values<'a>(&'a self, prepared: &'a PyPreparedRequest) -> Vec<&'a str> {
        let mut values = prepared.inner.signature_values();
        values.push(self.credentials.get().inner.expose_secret());
        values
    }

    /// The endpoint a prepared request goes to (a generic request's idempotency included), and
    /// for a generic request its path, which its errors name.
    fn endpoint_of(&self, prepared: &PyPreparedRequest) -> (Endpoint, Option<String>) {
        let endpoint = prepared.inner.endpoint;
        let path = matches!(endpoint, Endpoint::Api { .. })
            .then(|| prepared.inner.url.strip_prefix(self.base_url.as_str()))
            .flatten()
            .map(str::to_owned);
        (endpoint, path)
    }
}

/// The advice a `retry_advice` attribute names.
fn advice_named(code: &str) -> Option<RetryAdvice> {
    [
        RetryAdvice::Never,
        RetryAdvice::Safe,
        RetryAdvice::Backoff,
        RetryAdvice::OnceAfterDelay,
        RetryAdvice::OutcomeUnknown,
    ]
    .into_iter()
    .find(|a| a.code() == code)
}

/// Randomness for the backoff's jitter, from the OS; a failing generator only costs the spread.
fn random_u32() -> u32 {
    let mut random = [0u8; 4];
    match getrandom::fill(&mut random) {
        Ok(()) => u32::from_le_bytes(random),
        Err(_) => u32::MAX / 2,
    }
}
