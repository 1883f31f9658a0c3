//! `_ClientConfig`: what the async client (`yunxin_ecp.AsyncClient`, Python on httpx) takes from
//! Rust: its settings checked by the same rules as `Client`'s, the proxy the core's rule picks,
//! its first log event, and one [`Exchange`](crate::exchange::PyExchange) per request, which
//! makes every decision (signing, redirects, the size cap's error, retries, events, the advice
//! for a cancelled attempt). Nothing here decides anything of its own.

use pyo3::prelude::*;
use yunxin_ecp::BaseUrl;
use yunxin_ecp::exchange::USER_AGENT;
use yunxin_ecp::settings::ClientSettings;

use crate::client::{client_settings, resolve_credentials};
use crate::exchange::{PyExchange, any_request};
use crate::records::repr;
use crate::signing::PyCredentials;

/// The settings of a client that runs on a Python HTTP stack, validated as ``Client``'s are;
/// each request's exchange is made here. Private to ``AsyncClient``.
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

    /// The ``User-Agent`` of the blocking client.
    #[getter]
    fn user_agent(&self) -> &'static str {
        USER_AGENT
    }

    /// A new exchange for ``request`` under these settings; ``events``: whether to record its
    /// log events (off when the ``yunxin_ecp`` logger would drop them all).
    #[pyo3(signature = (request, *, events))]
    fn exchange(&self, request: &Bound<'_, PyAny>, events: bool) -> PyResult<PyExchange> {
        PyExchange::build(
            any_request(request)?,
            self.credentials.get().inner.clone(),
            &self.settings,
            events,
        )
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

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "_ClientConfig(app_key={}, base_url={})",
            repr(py, self.credentials.get().inner.app_key())?,
            repr(py, self.base_url.as_str())?
        ))
    }
}
