//! `yunxin_ecp.testing`: the mock ECP server, in-process on an ephemeral port of 127.0.0.1.

use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use yunxin_ecp::Credentials;
use yunxin_ecp::server::Params;
use yunxin_ecp_mock::{
    CallbackDelivery, Fault, MockConfig, MockServer, Outcome, RecordedRequest, SAMPLE_ACCIDS,
    SAMPLE_APP_KEY, SAMPLE_APP_SECRET,
};

use crate::client::{PyClient, client_settings};
use crate::convert::{json_to_py, seconds};
use crate::errors::py_err;
use crate::records::{opt_repr, repr};
use crate::signing::PyCredentials;

/// How a simulated call ends. Build one with ``Outcome.answered(duration_sec)`` or
/// ``Outcome.no_answer(hang_cause)``.
#[pyclass(module = "yunxin_ecp.testing", name = "Outcome", frozen, eq)]
#[derive(PartialEq)]
pub struct PyOutcome {
    inner: Outcome,
}

#[pymethods]
impl PyOutcome {
    /// Someone picked up and talked for ``duration_sec`` seconds (capped by ``maxDur``).
    #[staticmethod]
    #[pyo3(signature = (duration_sec))]
    fn answered(duration_sec: u64) -> Self {
        PyOutcome {
            inner: Outcome::answered(duration_sec),
        }
    }

    /// Nobody talked (``durationSec`` 0); both legs end with ``hang_cause``. The record's
    /// ``status`` is still ``SUCCESS``, as on the real service.
    #[staticmethod]
    #[pyo3(signature = (hang_cause = "NO_USER_RESPONSE"))]
    fn no_answer(hang_cause: &str) -> Self {
        PyOutcome {
            inner: Outcome::no_answer(hang_cause),
        }
    }

    /// ``"answered"`` or ``"no_answer"``.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.inner {
            Outcome::Answered { .. } => "answered",
            Outcome::NoAnswer { .. } => "no_answer",
        }
    }

    /// Seconds of conversation (0 when not answered).
    #[getter]
    fn duration_sec(&self) -> u64 {
        match self.inner {
            Outcome::Answered { duration_sec } => duration_sec,
            Outcome::NoAnswer { .. } => 0,
        }
    }

    /// The legs' ``hangCause`` when not answered.
    #[getter]
    fn hang_cause(&self) -> Option<&str> {
        match &self.inner {
            Outcome::Answered { .. } => None,
            Outcome::NoAnswer { hang_cause } => Some(hang_cause),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(match &self.inner {
            Outcome::Answered { duration_sec } => format!("Outcome.answered({duration_sec})"),
            Outcome::NoAnswer { hang_cause } => {
                format!("Outcome.no_answer({})", repr(py, hang_cause)?)
            }
        })
    }
}

/// One request as the mock received it, and what it did with it.
#[pyclass(module = "yunxin_ecp.testing", name = "RecordedRequest", frozen)]
pub struct PyRecordedRequest {
    inner: RecordedRequest,
}

#[pymethods]
impl PyRecordedRequest {
    /// Position among all requests the server received, from 1.
    #[getter]
    fn seq(&self) -> u64 {
        self.inner.seq
    }

    /// The HTTP method.
    #[getter]
    fn method(&self) -> &str {
        &self.inner.method
    }

    /// The path, without the query string.
    #[getter]
    fn path(&self) -> &str {
        &self.inner.path
    }

    /// The raw query string (empty when there is none).
    #[getter]
    fn query(&self) -> &str {
        &self.inner.query
    }

    /// ``"start_call"``, ``"start_conf"``, ``"query_by_session"``, or ``None`` for other paths.
    #[getter]
    fn endpoint(&self) -> Option<&'static str> {
        self.inner.endpoint.map(|e| e.code())
    }

    /// Every header, in the order received.
    #[getter]
    fn headers(&self) -> Vec<(String, String)> {
        self.inner.headers.clone()
    }

    /// The value of header ``name`` (case-insensitive), or ``None``.
    #[pyo3(signature = (name))]
    fn header(&self, name: &str) -> Option<&str> {
        self.inner
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body, decoded as UTF-8.
    #[getter]
    fn body(&self) -> &str {
        &self.inner.body
    }

    /// The form parameters from the query string and the body, decoded; where a name appears
    /// twice, the last value (the body's) wins, as on the service.
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in Params::parse(&self.inner.query, self.inner.body.as_bytes()).pairs() {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }

    /// The fault applied to this request (one of ``FAULT_KINDS``), if any.
    #[getter]
    fn fault(&self) -> Option<&'static str> {
        self.inner.fault.as_ref().map(Fault::kind)
    }

    /// The HTTP status written on the wire; ``None`` when the connection was reset first.
    #[getter]
    fn http_status(&self) -> Option<u16> {
        self.inner.http_status
    }

    /// The API code the mock decided on, even when a fault then mangled the answer.
    #[getter]
    fn code(&self) -> Option<i64> {
        self.inner.code
    }

    /// Why the signature was refused (``"checksum_mismatch"``, ...), for debugging a 414.
    #[getter]
    fn refusal(&self) -> Option<&str> {
        self.inner.refusal.as_deref()
    }

    /// The session this request placed, if it placed one.
    #[getter]
    fn session(&self) -> Option<&str> {
        self.inner.session.as_deref()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let r = &self.inner;
        Ok(format!(
            "RecordedRequest(seq={}, method={}, path={}, code={}, fault={})",
            r.seq,
            repr(py, &r.method)?,
            repr(py, &r.path)?,
            r.code.map_or_else(|| "None".to_owned(), |c| c.to_string()),
            opt_repr(py, r.fault.as_ref().map(Fault::kind))?,
        ))
    }
}

/// One POST of a call-end callback made by the mock.
#[pyclass(module = "yunxin_ecp.testing", name = "CallbackDelivery", frozen)]
pub struct PyCallbackDelivery {
    inner: CallbackDelivery,
}

#[pymethods]
impl PyCallbackDelivery {
    /// The session the record describes.
    #[getter]
    fn session(&self) -> &str {
        &self.inner.session
    }

    /// Where it was POSTed.
    #[getter]
    fn url(&self) -> &str {
        &self.inner.url
    }

    /// 1 for the first delivery of a record, 2 for its duplicate.
    #[getter]
    fn attempt(&self) -> u32 {
        self.inner.attempt
    }

    /// The body bytes sent.
    #[getter]
    fn body(&self) -> &[u8] {
        self.inner.body.as_bytes()
    }

    /// The headers sent (``Content-Type``, ``AppKey``, ``CurTime``, ``MD5``, ``CheckSum``).
    #[getter]
    fn headers(&self) -> Vec<(String, String)> {
        self.inner.headers.clone()
    }

    /// The receiver's HTTP status, when it answered.
    #[getter]
    fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// Why the POST failed, when it did.
    #[getter]
    fn error(&self) -> Option<&str> {
        self.inner.error.as_deref()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "CallbackDelivery(session={}, attempt={}, status={})",
            repr(py, &self.inner.session)?,
            self.inner.attempt,
            self.inner
                .status
                .map_or_else(|| "None".to_owned(), |s| s.to_string()),
        ))
    }
}

/// The mock's counters.
#[pyclass(module = "yunxin_ecp.testing", name = "MockStats", frozen, get_all)]
pub struct PyMockStats {
    /// Requests received (control routes excluded).
    requests: u64,
    /// Start requests that reached the service handler, whatever the answer.
    start_count: u64,
    /// Calls and conferences placed.
    sessions: usize,
    /// Callback POSTs made (duplicates included).
    callbacks: usize,
    /// TCP connections accepted.
    connections: u64,
    /// Requests the queued faults will still apply to.
    faults_pending: usize,
    /// Requests that reached where the ``redirect`` fault points: non-zero means a client
    /// followed the redirect, signed headers and all.
    redirect_target_hits: u64,
}

#[pymethods]
impl PyMockStats {
    fn __repr__(&self) -> String {
        format!(
            "MockStats(requests={}, start_count={}, sessions={}, callbacks={}, connections={}, faults_pending={}, redirect_target_hits={})",
            self.requests,
            self.start_count,
            self.sessions,
            self.callbacks,
            self.connections,
            self.faults_pending,
            self.redirect_target_hits
        )
    }
}

/// A faithful local ECP server on an ephemeral port of 127.0.0.1, running from construction
/// until ``stop()`` (or the end of a ``with`` block).
///
/// It checks signatures strictly (5-minute window, nonce length, lowercase hex), validates
/// every parameter, records every request, answers ``queryBySession`` from the calls it placed,
/// POSTs signed call-end callbacks to ``callback_url``, and misbehaves on demand
/// (``inject_fault``). The default app is the official samples' (``SAMPLE_APP_KEY``,
/// ``SAMPLE_APP_SECRET``) with the accids ``SAMPLE_ACCIDS``.
#[pyclass(module = "yunxin_ecp.testing", name = "MockServer", frozen)]
pub struct PyMockServer {
    server: RwLock<Option<MockServer>>,
    base_url: String,
    credentials: Credentials,
}

impl PyMockServer {
    /// Whether the server has not been stopped.
    fn is_running(&self) -> bool {
        Python::attach(|py| {
            py.detach(|| {
                self.server
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .is_some()
            })
        })
    }

    /// Runs `f` on the running server without holding the GIL, so that no Python thread waits
    /// on the server's locks while holding it (a callback receiver in this process needs it).
    fn with<T: Send>(&self, f: impl FnOnce(&MockServer) -> T + Send) -> PyResult<T> {
        Python::attach(|py| {
            py.detach(|| {
                let guard = self.server.read().unwrap_or_else(PoisonError::into_inner);
                guard.as_ref().map(f)
            })
        })
        .ok_or_else(|| PyRuntimeError::new_err("the mock server was stopped"))
    }
}

#[pymethods]
impl PyMockServer {
    #[new]
    #[pyo3(signature = (
        *,
        app_key = SAMPLE_APP_KEY,
        app_secret = SAMPLE_APP_SECRET,
        accids = None,
        callback_url = None,
        call_duration = 0.02,
        default_outcome = None,
        duplicate_callbacks = false,
        ecp_enabled = true,
        window_secs = 300,
        fixed_clock_secs = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        app_key: &str,
        app_secret: &str,
        accids: Option<Vec<String>>,
        callback_url: Option<String>,
        call_duration: f64,
        default_outcome: Option<PyRef<'_, PyOutcome>>,
        duplicate_callbacks: bool,
        ecp_enabled: bool,
        window_secs: u64,
        fixed_clock_secs: Option<u64>,
    ) -> PyResult<Self> {
        // The defaults above are spelled out so that they show in the signature Python sees.
        const _: () = assert!(
            yunxin_ecp::server::REQUEST_WINDOW_SECS == 300
                && yunxin_ecp_mock::DEFAULT_CALL_DURATION.as_millis() == 20
        );
        let credentials = Credentials::new(app_key, app_secret).map_err(py_err)?;
        let defaults = MockConfig::default();
        let config = MockConfig {
            apps: vec![credentials.clone()],
            accids: accids.unwrap_or(defaults.accids.clone()),
            callback_url,
            call_duration: seconds("call_duration", call_duration, true)?,
            default_outcome: default_outcome
                .map_or(defaults.default_outcome.clone(), |o| o.inner.clone()),
            duplicate_callbacks,
            ecp_enabled,
            window_secs,
            fixed_clock_secs,
            ..defaults
        };
        let server = py
            .detach(|| MockServer::start(config))
            .map_err(|e| PyRuntimeError::new_err(format!("the mock server did not start: {e}")))?;
        Ok(PyMockServer {
            base_url: server.base_url(),
            server: RwLock::new(Some(server)),
            credentials,
        })
    }

    /// The base URL to give a client, e.g. ``http://127.0.0.1:41234``.
    #[getter]
    fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The mock app's credentials (sign requests or verify callbacks with them).
    #[getter]
    fn credentials(&self) -> PyCredentials {
        PyCredentials {
            inner: self.credentials.clone(),
        }
    }

    /// Whether the server is still running.
    #[getter]
    fn running(&self) -> bool {
        self.is_running()
    }

    /// A ``Client`` for this server, signed with its app's credentials.
    #[pyo3(signature = (
        *,
        connect_timeout = 5.0,
        timeout = 15.0,
        max_retries = 2,
        backoff = 0.2,
        max_response_bytes = 1_048_576,
    ))]
    fn client(
        &self,
        connect_timeout: f64,
        timeout: f64,
        #[pyo3(from_py_with = crate::convert::max_retries)] max_retries: u32,
        backoff: f64,
        #[pyo3(from_py_with = crate::convert::max_response_bytes)] max_response_bytes: u64,
    ) -> PyResult<PyClient> {
        let (settings, _) = client_settings(
            Some(&self.base_url),
            connect_timeout,
            timeout,
            max_retries,
            backoff,
            max_response_bytes,
        )?;
        PyClient::build(self.credentials.clone(), settings)
    }

    /// Stops the server: frees the port and joins its threads. Calling it again does nothing.
    fn stop(&self, py: Python<'_>) {
        // Without the GIL: a callback POST in flight may be waiting on a receiver in this very
        // process, and a wait_for_callbacks() on another thread holds the server until it ends.
        py.detach(|| {
            let server = self
                .server
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(server) = server {
                server.stop();
            }
        });
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (exc_type, exc_value, traceback))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: &Bound<'_, PyAny>,
        exc_value: &Bound<'_, PyAny>,
        traceback: &Bound<'_, PyAny>,
    ) {
        // Exceptions are never suppressed.
        let _ = (exc_type, exc_value, traceback);
        self.stop(py);
    }

    /// Decides how calls to ``number`` end (for a conference, the first callee decides).
    #[pyo3(signature = (number, outcome))]
    fn set_outcome(&self, number: &str, outcome: &PyOutcome) -> PyResult<()> {
        self.with(|s| s.set_outcome(number, outcome.inner.clone()))
    }

    /// Decides how calls to numbers without an outcome of their own end.
    #[pyo3(signature = (outcome))]
    fn set_default_outcome(&self, outcome: &PyOutcome) -> PyResult<()> {
        self.with(|s| s.set_default_outcome(outcome.inner.clone()))
    }

    /// Applies a fault to the next ``times`` requests to the ECP endpoints, after any queued:
    /// ``"delay"`` (needs ``ms``), ``"reset_before_response"``, ``"reset_mid_body"``,
    /// ``"html_502"``, ``"empty_body"``, ``"garbage_json"``, ``"oversized"`` (needs ``size``,
    /// bytes), ``"rate_limited"``, ``"server_error"``, ``"busy_503"``, ``"redirect"`` (a 302 to
    /// the mock's own ``/_mock/redirect-target``; ``stats().redirect_target_hits`` counts the
    /// clients that followed it).
    #[pyo3(signature = (kind, *, times = 1, ms = None, size = None))]
    fn inject_fault(
        &self,
        kind: &str,
        times: usize,
        ms: Option<u64>,
        size: Option<usize>,
    ) -> PyResult<()> {
        let fault = Fault::from_kind(kind, ms, size).map_err(PyValueError::new_err)?;
        self.with(|s| s.inject_fault(fault, times))
    }

    /// Drops every queued fault.
    fn clear_faults(&self) -> PyResult<()> {
        self.with(MockServer::clear_faults)
    }

    /// Adds ``seconds`` of latency to every ECP request; 0 turns it off.
    #[pyo3(signature = (seconds))]
    fn set_latency(&self, seconds: f64) -> PyResult<()> {
        let latency = crate::convert::seconds("seconds", seconds, true)?;
        self.with(|s| s.set_latency(latency))
    }

    /// Where call-end callbacks go from now on; ``None`` stops them.
    #[pyo3(signature = (url))]
    fn set_callback_url(&self, url: Option<String>) -> PyResult<()> {
        self.with(|s| s.set_callback_url(url))
    }

    /// Turns the ECP service on or off (off: starts get ``403 no authorization``).
    #[pyo3(signature = (enabled))]
    fn set_ecp_enabled(&self, enabled: bool) -> PyResult<()> {
        self.with(|s| s.set_ecp_enabled(enabled))
    }

    /// Every recorded request, oldest first.
    fn requests(&self) -> PyResult<Vec<PyRecordedRequest>> {
        let requests = self.with(MockServer::requests)?;
        Ok(requests
            .into_iter()
            .map(|inner| PyRecordedRequest { inner })
            .collect())
    }

    /// How many start requests reached the service handler, whatever their answer (a start
    /// whose connection was reset still counts: the call was placed).
    #[getter]
    fn start_count(&self) -> PyResult<u64> {
        self.with(MockServer::start_count)
    }

    /// The record of every placed call and conference, in placement order.
    fn sessions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let sessions = self.with(MockServer::sessions)?;
        let list = PyList::empty(py);
        for record in &sessions {
            list.append(json_to_py(py, record)?)?;
        }
        Ok(list)
    }

    /// Every callback POST made so far.
    fn callbacks(&self) -> PyResult<Vec<PyCallbackDelivery>> {
        let callbacks = self.with(MockServer::callbacks)?;
        Ok(wrap_callbacks(callbacks))
    }

    /// Waits (without holding the GIL) until at least ``count`` callback POSTs were made or
    /// ``timeout`` seconds passed, and returns them all.
    #[pyo3(signature = (count, *, timeout = 5.0))]
    fn wait_for_callbacks(&self, count: usize, timeout: f64) -> PyResult<Vec<PyCallbackDelivery>> {
        let timeout: Duration = seconds("timeout", timeout, true)?;
        let callbacks = self.with(|s| s.wait_for_callbacks(count, timeout))?;
        Ok(wrap_callbacks(callbacks))
    }

    /// The counters.
    fn stats(&self) -> PyResult<PyMockStats> {
        let s = self.with(MockServer::stats)?;
        Ok(PyMockStats {
            requests: s.requests,
            start_count: s.start_count,
            sessions: s.sessions,
            callbacks: s.callbacks,
            connections: s.connections,
            faults_pending: s.faults_pending,
            redirect_target_hits: s.redirect_target_hits,
        })
    }

    /// Back to the state the server started in: outcomes, faults, latency, callback URL and the
    /// ECP switch as configured; requests, sessions, callbacks and counters emptied.
    fn reset(&self) -> PyResult<()> {
        self.with(MockServer::reset)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let state = if self.is_running() { "" } else { ", stopped" };
        Ok(format!(
            "MockServer(base_url={}{state})",
            repr(py, &self.base_url)?
        ))
    }
}

impl Drop for PyMockServer {
    fn drop(&mut self) {
        let server = self
            .server
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(server) = server {
            // Dropped by the garbage collector with the GIL held: stop on another thread, so
            // that a callback POST to a receiver in this process cannot wait on this one.
            let _ = std::thread::Builder::new()
                .name("ecp-mock-stop".into())
                .spawn(move || server.stop());
        }
    }
}

fn wrap_callbacks(callbacks: Vec<CallbackDelivery>) -> Vec<PyCallbackDelivery> {
    callbacks
        .into_iter()
        .map(|inner| PyCallbackDelivery { inner })
        .collect()
}

/// The module constants of `yunxin_ecp.testing`.
pub fn add_constants(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("SAMPLE_APP_KEY", SAMPLE_APP_KEY)?;
    m.add("SAMPLE_APP_SECRET", SAMPLE_APP_SECRET)?;
    m.add("SAMPLE_ACCIDS", PyTuple::new(m.py(), SAMPLE_ACCIDS)?)?;
    m.add(
        "FAULT_KINDS",
        PyTuple::new(m.py(), yunxin_ecp_mock::FAULT_KINDS)?,
    )?;
    Ok(())
}
